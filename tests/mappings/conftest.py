"""Fixtures for the mapping language tests: a registry of the built-ins, a catalog, spec helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from hub.mappings.compiler import CompiledMapping, compile_mapping
from hub.mappings.registry import TransformRegistry
from hub.plugins import plugin_manager
from tests.mappings.samples import CATALOG, EXAMPLE


@pytest.fixture(scope="session")
def registry() -> TransformRegistry:
    """The built-in transforms only (installed plugins left out)."""
    return TransformRegistry.from_plugins(plugin_manager(entry_points=False))


@pytest.fixture(scope="session")
def catalog() -> dict[str, set[str]]:
    return CATALOG


@pytest.fixture
def example() -> dict[str, Any]:
    return dict(yaml.safe_load(EXAMPLE))


@pytest.fixture
def make(registry: TransformRegistry) -> Callable[..., CompiledMapping]:
    """Compile a spec from its ``fields`` (plus any top-level keys) with the built-in registry."""

    def build(fields: dict[str, Any], **top: Any) -> CompiledMapping:
        spec = {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"}}
        spec.update(top)
        spec["fields"] = fields
        return compile_mapping(spec, plugins=registry)

    return build


@pytest.fixture
def apply(make: Callable[..., CompiledMapping]) -> Callable[[Any, Any], Any]:
    """Run one step (``"strip"`` or ``{name: options}``) on one value through a compiled mapping."""

    def run(step: Any, value: Any) -> Any:
        mapped = make({"out": {"from": "v", "transform": [step]}})({"v": value})
        assert mapped is not None
        return mapped["out"]

    return run


@pytest.fixture
def option_problems(registry: TransformRegistry) -> Callable[[Any], list[str]]:
    """The spec problems (``path: problem``) of a one-step spec."""
    from hub.mappings.problems import SpecError
    from hub.mappings.spec import validate

    def problems(step: Any) -> list[str]:
        spec = {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
                "fields": {"out": {"from": "v", "transform": [step]}}}  # fmt: skip
        try:
            validate(spec, plugins=registry)
        except SpecError as exc:
            return [str(p) for p in exc.problems]
        return []

    return problems
