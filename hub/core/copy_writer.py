"""A COPY writer that lets its thread work while the server stores the rows.

PostgreSQL buffers up to 1,000 rows of a binary COPY before it inserts them (a binary row does not count
towards the buffer's byte limit), so for a batch of that size nearly all of the server's work (heap, index
entries, constraint triggers) starts at the end of the COPY. psycopg's own writer sends the end and waits
for the outcome in one step; this one sends the end, runs ``meanwhile`` (work that does not use the
connection), and only then waits, so the client's next work and the server's insertions overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from psycopg import errors, pq
from psycopg.copy import LibpqWriter
from psycopg.generators import fetch_many
from psycopg.waiting import Wait


class WorkWhileStoring(LibpqWriter):
    """``LibpqWriter`` whose ``finish`` runs ``meanwhile`` between sending the end and taking the outcome."""

    def __init__(self, cursor: Any, meanwhile: Callable[[], None]) -> None:
        super().__init__(cursor)
        self.meanwhile = meanwhile

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is not None:  # the COPY is being aborted: psycopg's way
            super().finish(exc)
            return
        self.connection.wait(_send_end(self._pgconn))
        try:
            self.meanwhile()
        finally:  # the outcome is taken whatever ``meanwhile`` did: the connection stays usable
            results = self.connection.wait(fetch_many(self._pgconn))
        if not results:
            raise errors.InternalError("the server sent no outcome for the COPY")
        result = results[-1]
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(result, encoding=getattr(self._pgconn, "_encoding", "utf-8"))
        self.cursor._results = [result]


def _send_end(pgconn: Any) -> Generator[Wait, Any, None]:
    """Queue the end of the COPY and flush it to the server (psycopg's ``copy_end`` without the wait for
    the result)."""
    while pgconn.put_copy_end(None) == 0:
        yield Wait.W
    while pgconn.flush() != 0:
        yield Wait.W
