"""External-id bindings: which outbound writes a binding still recognises when they come back."""

from __future__ import annotations

import uuid

from hub.core.binding import EARLIER_OUTBOUND, BoundRecord, after_sending
from hub.core.models import Binding


def bound(binding: Binding) -> BoundRecord:
    return BoundRecord(uuid.uuid4(), uuid.uuid4(), None, None, binding.outbound_hash, binding.earlier_outbound_hashes)


def test_the_last_hash_and_a_few_before_it_are_recognised_newest_first() -> None:
    binding = Binding()
    sent = [f"{i:064x}" for i in range(EARLIER_OUTBOUND + 3)]
    for digest in sent:
        after_sending(binding, digest)
    assert binding.outbound_hash == sent[-1]
    assert binding.earlier_outbound_hashes == " ".join(reversed(sent[-1 - EARLIER_OUTBOUND:-1]))
    record = bound(binding)
    assert [record.sent(d) for d in sent] == [False] * 2 + [True] * (EARLIER_OUTBOUND + 1)
    assert not record.sent(None)
    assert not record.sent("f" * 64)


def test_sending_the_same_payload_again_keeps_the_earlier_hashes_as_they_were() -> None:
    binding = Binding()
    for digest in ("a" * 64, "b" * 64, "b" * 64):
        after_sending(binding, digest)
    assert (binding.outbound_hash, binding.earlier_outbound_hashes) == ("b" * 64, "a" * 64)


def test_a_hash_sent_again_is_the_last_one_and_not_also_an_earlier_one() -> None:
    binding = Binding()
    for digest in ("a" * 64, "b" * 64, "a" * 64):
        after_sending(binding, digest)
    assert (binding.outbound_hash, binding.earlier_outbound_hashes) == ("a" * 64, "b" * 64)


def test_a_binding_that_never_sent_recognises_nothing() -> None:
    record = BoundRecord(uuid.uuid4(), uuid.uuid4(), "in", None, None)
    assert not record.sent("in")
