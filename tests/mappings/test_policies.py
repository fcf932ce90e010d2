"""Match rules and the per-field conflict policy."""

from __future__ import annotations

from hub.mappings.compiler import compile_mapping
from hub.mappings.policies import ConflictPolicy, MatchRule
from hub.mappings.registry import TransformRegistry
from tests.mappings.samples import EXAMPLE


def test_match_rules_give_normalised_keys(registry: TransformRegistry) -> None:
    m = compile_mapping(
        {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "contacts"},
         "fields": {"first_name": {"from": "f"}, "last_name": {"from": "l"}, "email": {"from": "e"}},
         "match": ["binding", {"fields": ["first_name", "last_name"], "normalize": ["strip", "lower"]},
                   {"field": "email", "normalize": "lower"}]},
        plugins=registry,
    )  # fmt: skip
    binding, names, email = m.match
    assert binding.kind == "binding" and binding.key({"email": "x"}) is None
    assert names.key({"first_name": " Ada ", "last_name": "LOVELACE"}) == ("ada", "lovelace")
    assert names.key({"first_name": "Ada", "last_name": None}) is None  # an empty part never matches
    assert email.key({"email": "A@B.DE"}) == ("a@b.de",)
    assert email.normalize(None) is None


def test_without_match_the_binding_is_used(registry: TransformRegistry) -> None:
    m = compile_mapping(
        {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
         "fields": {"name": {"from": "n"}}},
        plugins=registry,
    )  # fmt: skip
    assert m.match == (MatchRule("binding"),)
    assert m.conflict == ConflictPolicy("source", {})


def test_conflict_changes() -> None:
    policy = ConflictPolicy("newest", {"email": "hub", "credit_limit": "source"})
    current = {"name": "Old", "email": "hub@x", "credit_limit": 1, "status": "active", "erp_ref": "R1"}
    incoming = {"name": "New", "email": "erp@x", "credit_limit": 2, "status": "active", "erp_ref": "R2"}
    assert policy.changes(current, incoming, source_newer=True, only_create={"erp_ref"}) == {
        "name": "New",
        "credit_limit": 2,
    }
    # the hub changed last: newest fields stay, source-owned ones still follow the source
    assert policy.changes(current, incoming, source_newer=False, only_create={"erp_ref"}) == {"credit_limit": 2}
    assert policy.changes({}, {"x": 1}) == {"x": 1}


def test_compiled_changes_apply_only_create_and_hub_ownership(registry: TransformRegistry) -> None:
    m = compile_mapping(EXAMPLE, plugins=registry)
    current = {"email": "kept@hub.de", "erp_ref": "FIRST", "name": "Old"}
    incoming = {"email": "new@erp.de", "erp_ref": "SECOND", "name": "New", "credit_limit": 5}
    assert m.changes(current, incoming, source_newer=True) == {"name": "New", "credit_limit": 5}
    assert m.changes(current, incoming, source_newer=False) == {"credit_limit": 5}
    assert m.conflict.owned_by("source", m.fields) == {"credit_limit"}
