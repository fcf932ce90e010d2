"""Every hook is declared with a docstring, documented in docs/hooks.md, and exercised by a test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from hub import hookspecs
from hub.plugins import plugin_manager

ROOT = Path(__file__).parent.parent
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "hub_spec")]


def test_there_are_hooks() -> None:
    assert {"register_transforms", "register_connectors", "record_changed"} <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name: str) -> None:
    assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name: str) -> None:
    headings = re.findall(r"^## (\w+)", (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8"), re.M)
    assert name in headings, f"docs/hooks.md has no '## {name}' section"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_exercised_by_a_test(name: str) -> None:
    here = Path(__file__).resolve()
    found = [p for p in (ROOT / "tests").rglob("test_*.py") if p.resolve() != here and name in p.read_text("utf-8")]
    assert found, f"no test mentions the hook {name}"


def test_a_misspelt_hook_implementation_is_rejected() -> None:
    from hub.hookspecs import hookimpl

    class Plugin:
        @hookimpl
        def register_connecters(self) -> dict[str, object]:  # sic
            return {}

    with pytest.raises(Exception, match="unknown hook 'register_connecters'"):
        plugin_manager(extra=[Plugin()], entry_points=False)



def test_the_suite_records_each_hook_it_calls() -> None:
    """tests/hook_calls.py sees calls of Hub's hooks (with HUB_CHECK_HOOK_CALLS=1 a hook never called fails the
    run); here, a call through a fresh plugin manager is recorded."""
    from tests import hook_calls

    hook_calls.CALLED.discard("register_system_roles")
    plugin_manager(entry_points=False).hook.register_system_roles()
    assert "register_system_roles" in hook_calls.CALLED
    assert set(HOOKS) == hook_calls.HOOKS
