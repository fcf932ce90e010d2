"""Plugins add transforms through the ``register_transforms`` hook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy
import pytest

from hub.errors import ConfigError
from hub.hookspecs import hookimpl
from hub.mappings.compiler import compile_mapping
from hub.mappings.problems import SpecError
from hub.mappings.registry import OptionError, Transform, TransformRegistry, handles_null
from hub.plugins import plugin_manager

SPEC = {
    "mapping": "t",
    "source": {"connector": "c", "stream": "s"},
    "target": {"module": "accounts"},
    "fields": {"name": {"from": "n", "transform": ["strip", "reverse"]}},
}


def reverse(options: Any) -> Transform:
    if options is not None:
        raise OptionError(None, "reverse takes no options")

    def run(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"cannot reverse a {type(value).__name__}")
        return value[::-1]

    return run


def shout(options: Any) -> Transform:
    marks = "!" if options is None else options
    if not isinstance(marks, str):
        raise ValueError("the option is the text to append")

    @handles_null
    def run(value: Any) -> Any:
        return "SILENCE" + marks if value is None else f"{value}{marks}"

    return run


class ReversePlugin:
    @hookimpl
    def register_transforms(self) -> Mapping[str, Any]:
        return {"reverse": reverse, "shout": shout}


class DuplicatePlugin:
    @hookimpl
    def register_transforms(self) -> Mapping[str, Any]:
        return {"strip": reverse}


class ReservedPlugin:
    @hookimpl
    def register_transforms(self) -> Mapping[str, Any]:
        return {"lookup": reverse}


class MisspeltPlugin:
    @hookimpl
    def register_transfroms(self) -> Mapping[str, Any]:
        return {"reverse": reverse}


def test_a_plugin_transform_works_in_a_spec() -> None:
    pm = plugin_manager(extra=[ReversePlugin()], entry_points=False)
    m = compile_mapping(SPEC, plugins=pm)
    assert m({"n": " abc "}) == {"name": "cba"}
    registry = TransformRegistry.from_plugins(pm)
    assert registry.owners["strip"] == "hub.mappings.builtin_transforms"
    assert "reverse" in registry and registry.owners["reverse"] != registry.owners["strip"]


def test_plugin_value_errors_become_mapping_errors() -> None:
    m = compile_mapping(
        {**SPEC, "fields": {"name": {"from": "n", "transform": ["reverse"]}}},
        plugins=plugin_manager(extra=[ReversePlugin()], entry_points=False),
    )
    with pytest.raises(Exception) as info:
        m({"n": 12})
    assert type(info.value).__name__ == "MappingError"
    assert str(info.value) == "name: reverse: cannot reverse a int (value 12)"


def test_plugin_option_errors_are_spec_problems() -> None:
    pm = plugin_manager(extra=[ReversePlugin()], entry_points=False)
    spec = {**SPEC, "fields": {"name": {"from": "n", "transform": [{"reverse": 1}, {"shout": 2}]}}}
    with pytest.raises(SpecError) as info:
        compile_mapping(spec, plugins=pm)
    assert [str(p) for p in info.value.problems] == [
        "fields.name.transform[0].reverse: reverse takes no options",
        "fields.name.transform[1].shout: bad options for shout: the option is the text to append",
    ]


def test_handles_null_lets_a_plugin_see_nulls() -> None:
    pm = plugin_manager(extra=[ReversePlugin()], entry_points=False)
    m = compile_mapping({**SPEC, "fields": {"name": {"from": "n", "transform": [{"shout": "?"}]}}}, plugins=pm)
    assert m({}) == {"name": "SILENCE?"}
    assert m({"n": "hi"}) == {"name": "hi?"}


def test_without_the_plugin_the_transform_is_unknown() -> None:
    with pytest.raises(SpecError, match=r"fields\.name\.transform\[1\]: unknown transform 'reverse'"):
        compile_mapping(SPEC, plugins=plugin_manager(entry_points=False))


def test_a_name_registered_twice_is_a_config_error() -> None:
    pm = plugin_manager(extra=[DuplicatePlugin()], entry_points=False)
    with pytest.raises(ConfigError, match="transform 'strip' is registered twice"):
        TransformRegistry.from_plugins(pm)


def test_language_names_are_reserved() -> None:
    pm = plugin_manager(extra=[ReservedPlugin()], entry_points=False)
    with pytest.raises(ConfigError, match="'lookup' is part of the mapping language"):
        TransformRegistry.from_plugins(pm)


def test_a_misspelt_hookimpl_is_rejected_by_check_pending() -> None:
    with pytest.raises(pluggy.PluginValidationError, match="register_transfroms"):
        plugin_manager(extra=[MisspeltPlugin()], entry_points=False)


def test_builtins_come_through_the_hook_too() -> None:
    pm = plugin_manager(entry_points=False)
    (builtins,) = pm.hook.register_transforms()
    assert {"strip", "phone", "decimal", "datetime", "expr"} <= set(builtins)
