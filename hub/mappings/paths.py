"""Nested field paths such as ``country_id.code`` and ``bank_ids[0].acc_number``.

A path is a key followed by any number of ``.key`` and ``[index]`` parts. Reading is lenient: a
path that does not resolve (a missing key, a null on the way, an index out of range, or a value that
is not an object or list where one is needed) reads as ``None``. ``has_path`` tells "missing" apart
from "present but null", which the preview uses to report source fields a sample never contains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

#: One step of a path: a key (str) into an object or an index (int) into a list.
PathStep = str | int
Path = tuple[PathStep, ...]

_TOKEN = re.compile(r"\.?([^.\[\]\s]+)|\[(-?\d+)\]")


def parse_path(text: str) -> Path:
    """``"bank_ids[0].acc_number"`` -> ``("bank_ids", 0, "acc_number")``; ValueError if malformed."""
    if not isinstance(text, str) or not text:
        raise ValueError("a path is a non-empty text like 'country_id.code' or 'bank_ids[0].acc_number'")
    steps: list[PathStep] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or (pos == 0 and match.group(0).startswith((".", "["))):
            raise ValueError(f"bad path {text!r} at position {pos + 1}")
        key, index = match.groups()
        if key is not None:
            if pos > 0 and not match.group(0).startswith("."):
                raise ValueError(f"bad path {text!r} at position {pos + 1}")
            steps.append(key)
        else:
            steps.append(int(index))
        pos = match.end()
    return tuple(steps)


def format_path(path: Path) -> str:
    """The inverse of ``parse_path``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def is_plain(path: Path) -> bool:
    """True when the path has only keys (no list indexes)."""
    return all(isinstance(step, str) for step in path)


def get_path(record: Any, path: Path) -> Any:
    """The value at ``path`` in ``record``, or None when the path does not resolve."""
    value = record
    for step in path:
        if isinstance(step, str):
            if type(value) is not dict and not isinstance(value, Mapping):  # a dict spares the ABC check
                return None
            value = value.get(step)
        else:
            if not isinstance(value, list | tuple):
                return None
            if -len(value) <= step < len(value):
                value = value[step]
            else:
                return None
    return value


def has_path(record: Any, path: Path) -> bool:
    """True when every step of ``path`` exists in ``record`` (the final value may be null)."""
    value = record
    for step in path:
        if isinstance(step, str):
            if not isinstance(value, Mapping) or step not in value:
                return False
            value = value[step]
        else:
            if not isinstance(value, list | tuple) or not -len(value) <= step < len(value):
                return False
            value = value[step]
    return True


def set_path(target: MutableMapping[str, Any], path: Path, value: Any) -> None:
    """Set ``value`` at a plain (keys only) ``path``, creating objects on the way."""
    node: MutableMapping[str, Any] = target
    for step in path[:-1]:
        if not isinstance(step, str):
            raise ValueError("only key paths can be written")
        child = node.get(step)
        if not isinstance(child, MutableMapping):
            child = {}
            node[step] = child
        node = child
    last = path[-1]
    if not isinstance(last, str):
        raise ValueError("only key paths can be written")
    node[last] = value


def path_getter(path: Path) -> Callable[[Any], Any]:
    """A fast function ``record -> value`` for ``path`` (used by compiled mappings)."""
    if len(path) == 1 and isinstance(path[0], str):
        key = path[0]

        def get_one(record: Mapping[str, Any]) -> Any:
            return record.get(key)

        return get_one

    if len(path) == 2 and isinstance(path[0], str) and isinstance(path[1], str):
        outer, inner = path

        def get_two(record: Any) -> Any:  # ``contact.email``: the common nested path, in two lookups
            if type(record) is dict:
                value = record.get(outer)
                if type(value) is dict:
                    return value.get(inner)
            return get_path(record, path)

        return get_two

    def get_nested(record: Any) -> Any:
        return get_path(record, path)

    return get_nested
