"""Module rules come from the register_module_rules hook (the built-in pipeline and deal rules too), and
polymorphic references from the model, so the write path special-cases no module."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.models import Activity, CampaignMember, Contact
from hub.core.rules import Edit, module_rules
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import ConfigError, ValidationError
from hub.hookspecs import hookimpl
from hub.plugins import plugin_manager

SEEN: list[tuple[str, Edit]] = []


class NoFreeMail:
    """A plugin's rule: contacts may not use a free-mail address; it records each edit it sees."""

    @hookimpl
    def register_module_rules(self) -> dict[str, Any]:
        def rule(session: Session, row: dict[str, Any], cache: dict[Any, Any], edit: Edit) -> None:
            cache["calls"] = cache.get("calls", 0) + 1
            SEEN.append((row["last_name"], edit))
            if (row.get("email") or "").endswith("@freemail.example.com"):
                raise ValidationError("contacts.email", "free-mail addresses are not accepted")
        return {"contacts": [rule]}


def test_the_builtin_rules_are_declared_through_the_hook() -> None:
    rules = module_rules(plugin_manager(entry_points=False))
    assert set(rules) == {"pipelines", "deals"}
    assert Activity.polymorphic == ("related_module", "related_id")
    assert CampaignMember.polymorphic == ("member_module", "member_id") and Contact.polymorphic is None


def test_a_plugin_rule_refuses_its_row_alone_and_sees_what_changed(store: Store, ctx: Context) -> None:
    own = Store(store.engine, store.keyring, plugins=plugin_manager([NoFreeMail()], entry_points=False))
    SEEN.clear()
    with own.writing(ctx) as tx:
        result = tx.write_many("contacts", [Row({"last_name": "Li", "email": "li@example.cn"}),
                                            Row({"last_name": "Wu", "email": "wu@freemail.example.com"})])
        assert [r.status for r in result.results] == ["created", "rejected"]
        assert "contacts.email: free-mail addresses are not accepted" in str(result.results[1].error)
        li = result.results[0].id
        tx.update("contacts", li, {"first_name": "Wei"})
    assert SEEN[0] == ("Li", Edit(frozenset({"last_name", "email"})))
    assert SEEN[-1] == ("Li", Edit(frozenset({"first_name"}), frozenset({"first_name"})))
    with pytest.raises(ValidationError, match="free-mail"), own.writing(ctx) as tx:
        tx.update("contacts", li, {"email": "li@freemail.example.com"})
    with store.reading(ctx) as tx:  # the refused update changed nothing
        assert tx.get("contacts", li)["email"] == "li@example.cn"


def test_a_rule_that_is_not_callable_is_a_configuration_error() -> None:
    class Broken:
        @hookimpl
        def register_module_rules(self) -> dict[str, Any]:
            return {"contacts": "not a function"}

    with pytest.raises(ConfigError, match="module rule for 'contacts'"):
        module_rules(plugin_manager([Broken()], entry_points=False))


def test_a_deal_moved_to_a_new_stage_takes_its_probability_unless_given(store: Store, ctx: Context,
                                                                       pipeline: dict[str, Any]) -> None:
    with store.writing(ctx) as tx:
        deal = tx.create("deals", {"name": "Big", "pipeline_id": pipeline["id"], "stage": "lead"})
        assert deal["probability"] == 10
        moved = tx.update("deals", deal["id"], {"stage": "proposal"})
        assert (moved["probability"], moved["status"]) == (60, "open")
        held = tx.update("deals", deal["id"], {"stage": "won", "probability": 90})
        assert (held["probability"], held["status"]) == (90, "won")
        with pytest.raises(ValidationError, match=r"deals\.stage"):
            tx.update("deals", deal["id"], {"stage": "nowhere"})
