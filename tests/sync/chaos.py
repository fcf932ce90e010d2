"""Chaos connectors for the sync tests: the file connector made flaky, murderous or slow.

A test plugin (``HUB_PLUGINS=tests.sync.chaos``), registered in every process that names it, including
the Celery workers the tests start:

* ``flaky-files``: every ``fail_every`` records a read resets its connection (RetryableError) with
  probability ``fail_rate``, at a random record of the block; a write fails with that probability,
  before or after its data landed (the second is the nasty case: the retry must not write twice).
  ``seed`` makes the failures repeatable; each failure is noted in ``<path>/chaos.log`` (one line).
* ``killer-files``: SIGKILLs its own process after yielding ``kill_after`` records (or at the end of
  the stream, if that comes first): a run of it kills its worker every time; with ``kill_after_write``
  it kills once, right after its first write landed and before the engine heard back. Only where
  HUB_CHAOS_ALLOW_KILL=1 (the test workers), never in pytest itself.
* ``slow-files``: sleeps ``delay`` seconds per record read or written, so runs last long enough to
  overlap, or to be killed in the middle.
"""

from __future__ import annotations

import copy
import os
import random
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from connectors.files import FilesConnector
from hub.errors import RetryableError
from hub.hookspecs import hookimpl
from hub.sync.connector import Checkpoint, Record, WriteResult

JOURNAL = "chaos.log"


def extended_schema(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The file connector's config schema with the chaos properties ``extra`` allowed too."""
    schema = copy.deepcopy(FilesConnector.config_schema)
    schema["properties"].update(copy.deepcopy(dict(extra)))
    return schema


class FlakyFilesConnector(FilesConnector):
    """The file connector over a connection that resets now and then, on reads and on writes."""

    type_name = "flaky-files"
    title = "Files, over a flaky connection (tests)"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({
        "fail_rate": {"type": "number", "minimum": 0, "maximum": 1, "description": "probability per block / write"},
        "fail_every": {"type": "integer", "minimum": 1, "default": 500, "description": "records per block"},
        "seed": {"type": "integer", "description": "makes the failures repeatable"},
    })

    def __post_init__(self) -> None:
        super().__post_init__()
        self.fail_rate = float(self.config.get("fail_rate", 0.3))
        self.fail_every = int(self.config.get("fail_every", 500))
        seed = self.config.get("seed")
        self.rng = random.Random(seed) if seed is not None else random.Random()
        self.failures = 0

    def reset(self, where: str) -> RetryableError:
        """The error of a reset connection, noted in the folder's chaos.log."""
        self.failures += 1
        with open(self.root / JOURNAL, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {where}\n")
        return RetryableError(f"connection reset by peer ({where}, failure {self.failures})")

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """The records, but the connection may reset at a random record of every block."""
        fail_at = self._next_failure(0)
        seen = 0
        for item in super().read(stream, state):
            if isinstance(item, Record):
                seen += 1
                if seen == fail_at:
                    raise self.reset(f"read, record {seen} of this call")
                if seen % self.fail_every == 0:
                    fail_at = self._next_failure(seen)
            yield item

    def _next_failure(self, seen: int) -> int | None:
        """The record of the next block at which the connection resets, or None (it holds)."""
        if self.rng.random() >= self.fail_rate:
            return None
        return seen + self.rng.randint(1, self.fail_every)

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        """A write that may fail before it reaches the files, or after (its answer lost on the way back)."""
        roll = self.rng.random()
        if roll < self.fail_rate / 2:
            raise self.reset("write, before sending")
        results = super().write(stream, records, idempotency_key)
        if roll < self.fail_rate:
            raise self.reset("write, answer lost")
        return results


class KillerFilesConnector(FilesConnector):
    """The file connector that SIGKILLs the process reading it after ``kill_after`` records, or (with
    ``kill_after_write``) the process writing to it right after its first write landed."""

    type_name = "killer-files"
    title = "Files, killing its worker (tests)"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({
        "kill_after": {"type": "integer", "minimum": 0, "description": "records yielded before the kill"},
        "kill_after_write": {"type": "boolean", "description": "kill once, after the first write landed"},
    })

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        limit = self.config.get("kill_after")
        seen = 0
        for item in super().read(stream, state):
            if isinstance(item, Record):
                if limit is not None and seen >= limit:
                    self.kill()
                seen += 1
            yield item
        if limit is not None:
            self.kill()

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        results = super().write(stream, records, idempotency_key)
        marker = self.root / "killed-after-write"
        if self.config.get("kill_after_write") and not marker.exists():
            marker.touch()
            self.kill()
        return results

    def kill(self) -> None:
        if os.environ.get("HUB_CHAOS_ALLOW_KILL") != "1":
            raise RuntimeError("killer-files: refusing to SIGKILL a process without HUB_CHAOS_ALLOW_KILL=1")
        os.kill(os.getpid(), signal.SIGKILL)


class SlowFilesConnector(FilesConnector):
    """The file connector taking ``delay`` seconds per record read or written."""

    type_name = "slow-files"
    title = "Files, slowly (tests)"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({
        "delay": {"type": "number", "minimum": 0, "description": "seconds per record"},
    })

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        delay = float(self.config.get("delay", 0.01))
        for item in super().read(stream, state):
            if isinstance(item, Record):
                time.sleep(delay)
            yield item

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        time.sleep(float(self.config.get("delay", 0.01)) * len(records))
        return super().write(stream, records, idempotency_key)


TYPES: dict[str, type[FilesConnector]] = {
    c.type_name: c for c in (FlakyFilesConnector, KillerFilesConnector, SlowFilesConnector)
}


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The chaos connectors, registered like any plugin connector."""
    return dict(TYPES)
