"""The garbage collector during a run.

A run allocates millions of short-lived objects (records, mapped values, rows), and nearly all of them
are freed by reference counting the moment their batch is done. Left to its thresholds, the cyclic
collector would still walk every batch in flight hundreds of times per run and, on each full collection,
the whole long-lived heap (modules, metadata, caches): about a sixth of a run's time in the writing
process, all of it holding the interpreter lock. So while a run works, the heap that existed before it is
frozen (never scanned), automatic collection is off, and ``Collector.batch_done`` collects once every
``every`` batches: what cycles a batch leaves (sessions, tracebacks) are freed soon enough to keep memory
flat, at a small fraction of the cost.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

COLLECT_EVERY = 20


class Collector:
    """Collects cycles every ``every`` batches (while automatic collection is off)."""

    def __init__(self, every: int = COLLECT_EVERY) -> None:
        self.every, self.batches = every, 0

    def batch_done(self) -> None:
        self.batches += 1
        if self.batches % self.every == 0:
            gc.collect()


@contextmanager
def run_heap(every: int = COLLECT_EVERY) -> Iterator[Collector]:
    """Freeze what exists, turn automatic collection off, and hand out the run's ``Collector``; all is
    restored after (collection is turned back on only if it was on)."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield Collector(every)
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()
