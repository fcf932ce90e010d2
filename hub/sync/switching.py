"""The interpreter's thread switch interval while a run works.

A run on PostgreSQL keeps two threads of one interpreter busy: the run's own thread reads and checks the
next batches, the commit thread writes the current one (``hub.sync.committer``). When both want the
interpreter lock, the holder must hand it over every ``sys.getswitchinterval()`` (5 ms by default), and
each forced handover costs both threads time. Waits for the database or the helper release the lock at
once whatever the interval, so the reading thread still runs whenever the commit thread waits. While a run
works the interval is therefore 20 ms: on two cores that made first loads about 5% faster (interleaved
runs of ``bench/sync.py``'s data). A thread of the same process that needs the lock while a run computes
may wait up to that long; the interval is restored when the last run of the process ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RUN_INTERVAL = 0.02


class _Switching:
    """How many runs of this process are working, and the interval from before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs = 0
        self.before = sys.getswitchinterval()


_STATE = _Switching()


@contextmanager
def run_switching(interval: float = RUN_INTERVAL) -> Iterator[None]:
    """Lengthen the switch interval to ``interval`` (never shorten it) while the block runs."""
    with _STATE.lock:
        if _STATE.runs == 0:
            _STATE.before = sys.getswitchinterval()
            sys.setswitchinterval(max(interval, _STATE.before))
        _STATE.runs += 1
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.runs -= 1
            if _STATE.runs == 0:
                sys.setswitchinterval(_STATE.before)
