"""The mapping language: specs (YAML/JSON) validated on load and compiled once into fast callables.

Public API (imported lazily, so ``hub.mappings.versions`` and the built-in transforms load without
the whole language):

    spec = load(path, catalog=field_names(session))        # or validate(text_or_dict, ...)
    mapping = compile_mapping(spec)                         # once per spec version
    values = mapping(record)                                # dict | None (filtered); MappingError
    mapping.outbound(hub_record); mapping.changes(current, values, source_newer=...)
    preview(mapping, records); run_tests(mapping)
    hub.mappings.versions: save / versions / get / diff / pin / unpin / rollback
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CompiledDirection": "hub.mappings.compiler",
    "CompiledMapping": "hub.mappings.compiler",
    "MapResult": "hub.mappings.compiler",
    "compile_mapping": "hub.mappings.compiler",
    "ConflictPolicy": "hub.mappings.policies",
    "MatchRule": "hub.mappings.policies",
    "MappingWarning": "hub.mappings.runtime",
    "OptionError": "hub.mappings.registry",
    "TransformRegistry": "hub.mappings.registry",
    "handles_null": "hub.mappings.registry",
    "PreviewReport": "hub.mappings.previews",
    "preview": "hub.mappings.previews",
    "read_jsonl": "hub.mappings.previews",
    "render_json": "hub.mappings.previews",
    "render_table": "hub.mappings.previews",
    "Problem": "hub.mappings.problems",
    "SpecError": "hub.mappings.problems",
    "Spec": "hub.mappings.model",
    "Catalog": "hub.mappings.spec",
    "load": "hub.mappings.spec",
    "parse_text": "hub.mappings.spec",
    "validate": "hub.mappings.spec",
    "TestResult": "hub.mappings.testcases",
    "render_results": "hub.mappings.testcases",
    "run_tests": "hub.mappings.testcases",
}

__all__ = [
    "Catalog",
    "CompiledDirection",
    "CompiledMapping",
    "ConflictPolicy",
    "MapResult",
    "MappingWarning",
    "MatchRule",
    "OptionError",
    "PreviewReport",
    "Problem",
    "Spec",
    "SpecError",
    "TestResult",
    "TransformRegistry",
    "compile_mapping",
    "handles_null",
    "load",
    "parse_text",
    "preview",
    "read_jsonl",
    "render_json",
    "render_results",
    "render_table",
    "run_tests",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.mappings' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from hub.mappings.compiler import CompiledDirection, CompiledMapping, MapResult, compile_mapping
    from hub.mappings.model import Spec
    from hub.mappings.policies import ConflictPolicy, MatchRule
    from hub.mappings.previews import PreviewReport, preview, read_jsonl, render_json, render_table
    from hub.mappings.problems import Problem, SpecError
    from hub.mappings.registry import OptionError, TransformRegistry, handles_null
    from hub.mappings.runtime import MappingWarning
    from hub.mappings.spec import Catalog, load, parse_text, validate
    from hub.mappings.testcases import TestResult, render_results, run_tests
