"""A test connector for outages: the file connector behind a real server that may be down.

A test plugin (``HUB_PLUGINS=tests.sync.outage``), like tests.sync.chaos:

* ``remote-files``: before it reads, it connects to its ``server`` (``host:port``) over TCP, as a client
  of a remote API would. A refused connection (the server is down) is a RetryableError carrying the
  config's ``retry_after`` (as a 503 with Retry-After would). Each refused try is noted in
  ``<path>/outage.log`` (one line: the time), so a test sees when the retries came.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from connectors.files import FilesConnector
from hub.errors import RetryableError
from hub.hookspecs import hookimpl
from hub.sync.connector import Checkpoint, Record
from tests.sync.chaos import extended_schema

JOURNAL = "outage.log"


class RemoteFilesConnector(FilesConnector):
    """The file connector that first reaches its server; a refused connection is a transient error."""

    type_name = "remote-files"
    title = "Files behind a server that may be down (tests)"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({
        "server": {"type": "string", "description": "host:port to connect to before reading"},
        "retry_after": {"type": "number", "minimum": 0, "description": "Retry-After of a refused connection"},
    })

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        host, _, port = str(self.config["server"]).rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError as e:
            with open(self.root / JOURNAL, "a", encoding="utf-8") as fh:
                fh.write(f"{time.time():.3f}\n")
            raise RetryableError(f"remote-files: {self.config['server']}: {e}",
                                 retry_after=self.config.get("retry_after")) from e
        yield from super().read(stream, state)


TYPES: dict[str, type[FilesConnector]] = {RemoteFilesConnector.type_name: RemoteFilesConnector}


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The outage connectors, registered like any plugin connector."""
    return dict(TYPES)
