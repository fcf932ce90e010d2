"""The garbage collector during a run: off, with a collection every few batches, and restored after."""

from __future__ import annotations

import gc
import weakref

from hub.sync.heap import Collector, run_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_a_run_turns_automatic_collection_off_and_restores_it() -> None:
    assert gc.isenabled()
    with run_heap():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_collection_stays_off_after_a_run_if_it_was_off_before() -> None:
    gc.disable()
    try:
        with run_heap():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_are_freed_every_few_batches() -> None:
    with run_heap(every=3) as heap:
        node = Node()
        ref = weakref.ref(node)
        del node
        heap.batch_done()
        heap.batch_done()
        assert ref() is not None, "no collection before the third batch"
        heap.batch_done()
        assert ref() is None


def test_the_collector_counts_batches() -> None:
    heap = Collector(every=2)
    for _ in range(5):
        heap.batch_done()
    assert heap.batches == 5
