"""Batch transactions of a run, one at a time and in order, optionally in a thread beside the reading.

A batch's transaction spends about a third of its time waiting for the database (COPY, index updates,
the commit's flush). PostgreSQL's driver lets other threads run while it waits, so a run that commits
in a thread of its own reads, checks and maps the next batches meanwhile. Only one transaction is in
flight at a time: ``submit`` takes the next only after ``settle`` has taken the last one's outcome, so
batches commit in their order, each exactly once, and a failed one stops the run where it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

log = logging.getLogger("hub.sync")


class Batch(Protocol):
    @property
    def external_ids(self) -> frozenset[str]: ...


B = TypeVar("B", bound=Batch)


class Committer(Generic[B]):
    """Runs one batch transaction at a time: in a worker thread when ``overlap``, else at ``submit``."""

    def __init__(self, overlap: bool) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-commit") if overlap else None
        self._future: Future[None] | None = None
        self._batch: B | None = None

    @property
    def in_flight(self) -> frozenset[str]:
        """The external ids of the batch submitted and not settled yet (its bindings may still change)."""
        return self._batch.external_ids if self._batch is not None else frozenset()

    def submit(self, batch: B, transaction: Callable[[], None]) -> None:
        """Start ``batch``'s transaction (or run it now, without overlap)."""
        if self._batch is not None:
            raise RuntimeError("committer: settle the last batch before submitting another")
        self._batch = batch
        if self._pool is not None:
            self._future = self._pool.submit(transaction)
            return
        future: Future[None] = Future()
        try:
            transaction()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)
        self._future = future

    def settle(self) -> B | None:
        """Wait for the batch in flight; return it once committed (None if there is none), or raise
        what its transaction raised (it rolled back)."""
        batch, future, self._batch, self._future = self._batch, self._future, None, None
        if future is None:
            return None
        future.result()
        return batch

    def close(self) -> None:
        """Wait for a transaction still in flight (its outcome is dropped) and end the thread."""
        future, self._batch, self._future = self._future, None, None
        if future is not None:
            try:
                future.result()
            except BaseException as exc:  # the attempt is ending with another error already
                log.debug("committer: a batch in flight failed while the run ended: %s", exc)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> Committer[B]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
