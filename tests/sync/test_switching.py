"""The thread switch interval while runs work: lengthened, never shortened, restored after the last run."""

from __future__ import annotations

import sys
import threading

from pytest import approx

from hub.sync.switching import RUN_INTERVAL, run_switching


def test_a_run_lengthens_the_interval_and_restores_it() -> None:
    before = sys.getswitchinterval()
    assert before < RUN_INTERVAL
    with run_switching():
        assert sys.getswitchinterval() == approx(RUN_INTERVAL, abs=1e-5)
    assert sys.getswitchinterval() == approx(before, abs=1e-5)


def test_a_longer_interval_set_by_the_application_is_kept() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.1)
    try:
        with run_switching():
            assert sys.getswitchinterval() == approx(0.1, abs=1e-5)
        assert sys.getswitchinterval() == approx(0.1, abs=1e-5)
    finally:
        sys.setswitchinterval(before)


def test_overlapping_runs_restore_the_interval_only_when_the_last_ends() -> None:
    before = sys.getswitchinterval()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[float] = []
    inner: list[float] = []

    def second() -> None:
        first_in.wait(5)
        with run_switching():
            inner.append(sys.getswitchinterval())
        second_done.set()

    other = threading.Thread(target=second)
    other.start()
    with run_switching():
        first_in.set()
        assert second_done.wait(5)
        seen.append(sys.getswitchinterval())  # the other run ended first: still a run's interval
    other.join(5)
    assert inner == seen == [approx(RUN_INTERVAL, abs=1e-5)]
    assert sys.getswitchinterval() == approx(before, abs=1e-5)
