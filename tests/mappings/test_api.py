"""The public API of hub.mappings: lazily imported names that are what they say."""

from __future__ import annotations

import importlib
import types

import hub.mappings
from hub.mappings import compile_mapping, load, preview, run_tests, validate


def test_every_exported_name_resolves_to_an_object_not_a_module() -> None:
    for module in ("compiler", "previews", "testcases", "spec", "versions"):
        importlib.import_module(f"hub.mappings.{module}")  # importing submodules must not shadow exports
    for name in hub.mappings.__all__:
        value = getattr(hub.mappings, name)
        assert not isinstance(value, types.ModuleType), name


def test_the_main_entry_points_are_callables() -> None:
    for fn in (compile_mapping, load, preview, run_tests, validate):
        assert callable(fn)


def test_unknown_names_raise_attribute_error() -> None:
    try:
        hub.mappings.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
