"""The committer: batch transactions one at a time, in order, in a thread or in place."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from hub.sync.committer import Committer


@dataclass
class FakeBatch:
    ids: tuple[str, ...]

    @property
    def external_ids(self) -> frozenset[str]:
        return frozenset(self.ids)


@pytest.mark.parametrize("overlap", [True, False])
def test_batches_commit_in_order_and_settle_returns_each_once(overlap: bool) -> None:
    done: list[str] = []
    with Committer[FakeBatch](overlap) as committer:
        assert committer.settle() is None
        for name in ("a", "b", "c"):
            batch = FakeBatch((name,))
            committer.submit(batch, lambda n=name: done.append(n))
            assert committer.in_flight == frozenset({name})
            assert committer.settle() is batch
            assert committer.in_flight == frozenset()
            assert committer.settle() is None
    assert done == ["a", "b", "c"]


def test_the_transaction_runs_beside_the_caller_with_overlap() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def transaction() -> None:
        seen.append(threading.current_thread().name)
        started.set()
        release.wait(5)

    with Committer[FakeBatch](True) as committer:
        committer.submit(FakeBatch(("x",)), transaction)
        assert started.wait(5)  # submit returned while the transaction is still running
        assert committer.in_flight == frozenset({"x"})
        release.set()
        committer.settle()
    assert seen[0].startswith("hub-commit")


def test_without_overlap_the_transaction_runs_at_submit_in_this_thread() -> None:
    seen: list[threading.Thread] = []
    with Committer[FakeBatch](False) as committer:
        committer.submit(FakeBatch(("x",)), lambda: seen.append(threading.current_thread()))
        assert seen == [threading.current_thread()]
        committer.settle()


@pytest.mark.parametrize("overlap", [True, False])
def test_a_failed_transaction_is_raised_by_settle_and_the_next_may_follow(overlap: bool) -> None:
    def fail() -> None:
        raise RuntimeError("the database went away")

    with Committer[FakeBatch](overlap) as committer:
        committer.submit(FakeBatch(("a",)), fail)
        with pytest.raises(RuntimeError, match="went away"):
            committer.settle()
        assert committer.in_flight == frozenset()
        committer.submit(FakeBatch(("b",)), lambda: None)
        assert committer.settle() == FakeBatch(("b",))


def test_only_one_batch_is_in_flight() -> None:
    with Committer[FakeBatch](True) as committer:
        committer.submit(FakeBatch(("a",)), lambda: None)
        with pytest.raises(RuntimeError, match="settle the last batch"):
            committer.submit(FakeBatch(("b",)), lambda: None)
        committer.settle()


def test_closing_waits_for_the_batch_in_flight_and_drops_its_error() -> None:
    release = threading.Event()
    finished: list[bool] = []

    def slow_failure() -> None:
        release.wait(5)
        finished.append(True)
        raise RuntimeError("late")

    committer = Committer[FakeBatch](True)
    committer.submit(FakeBatch(("a",)), slow_failure)
    threading.Timer(0.05, release.set).start()
    committer.close()  # no exception: the attempt is already ending with its own
    assert finished == [True]
