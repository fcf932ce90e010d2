"""The mapping docs are executable: every transform is documented, every example row is true."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.errors import MappingError
from hub.mappings.compiler import compile_mapping
from hub.mappings.registry import TransformRegistry
from hub.mappings.testcases import run_tests, values_match
from tests.mappings.samples import CATALOG

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEXT = (DOCS / "mappings.md").read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    parts = re.split(r"^### (\w+)\s*$", TEXT, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def rows() -> list[tuple[str, str, str, str]]:
    out = []
    for name, body in sections().items():
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if len(cells) == 3 and all(c.startswith("`") and c.endswith("`") for c in cells):
                out.append((name, *(c[1:-1] for c in cells)))
    return out


def test_every_transform_is_documented_with_examples(registry: TransformRegistry) -> None:
    documented = {name for name, *_ in rows()}
    assert set(registry) | {"lookup"} <= documented


@pytest.mark.parametrize(("name", "step", "value", "result"), rows())
def test_example_rows_hold(apply: Callable[[Any, Any], Any], name: str, step: str, value: str, result: str) -> None:
    parsed_step = yaml.safe_load(step)
    assert (parsed_step if isinstance(parsed_step, str) else next(iter(parsed_step))) == name
    parsed_value = yaml.safe_load(value)
    if result.startswith("error: "):
        with pytest.raises(MappingError) as info:
            apply(parsed_step, parsed_value)
        assert result.removeprefix("error: ") in info.value.problem
    else:
        actual = apply(parsed_step, parsed_value)
        assert values_match(yaml.safe_load(result), actual), actual


def test_full_examples_validate_and_their_tests_pass(registry: TransformRegistry) -> None:
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S) if b.startswith("mapping:")]
    assert blocks
    for block in blocks:
        results = run_tests(compile_mapping(block, catalog=CATALOG, plugins=registry))
        assert results and all(r.passed for r in results)


def test_hooks_doc_has_the_register_transforms_section() -> None:
    hooks = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert "\n## register_transforms\n" in hooks
