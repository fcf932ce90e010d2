"""SCIM filter expressions (RFC 7644 section 3.4.2.2) for the test SCIM server: parse once, test resources.

    test = parse_filter('meta.lastModified gt "2024-01-08T09:00:05Z" and emails.value co "@hub.example"')
    matching = [r for r in resources if test(r)]

Operators ``eq ne co sw ew gt ge lt le pr``, ``and``, ``or``, ``not``, parentheses. Attribute paths may be
dotted (``name.familyName``), reach into multi-valued attributes (``emails.value`` matches if any value
does) and start with a schema URN (``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber``).
Text compares case-insensitively; date attributes (``lastModified``, ``created``, ``hireDate``,
``terminationDate``) compare as dates. A malformed filter is a ScimError 400 ``invalidFilter``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any


class ScimError(Exception):
    """An error answer: HTTP status, scimType and detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        self.status, self.detail, self.scim_type = status, detail, scim_type
        super().__init__(detail)


_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()"]+))')
_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
_DATES = ("lastmodified", "created", "hiredate", "terminationdate")
Test = Callable[[dict[str, Any]], bool]


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ScimError(400, f"bad filter at position {pos}: {text!r}", "invalidFilter")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


def parse_filter(text: str) -> Test:
    """A predicate over resources for a SCIM filter expression; ScimError(400, invalidFilter) if malformed."""
    tokens = _tokens(text)
    test, rest = _or(tokens)
    if rest:
        raise ScimError(400, f"unexpected {rest[0]!r} in filter {text!r}", "invalidFilter")
    return test


def _or(tokens: list[str]) -> tuple[Test, list[str]]:
    left, tokens = _and(tokens)
    while tokens and tokens[0].lower() == "or":
        right, tokens = _and(tokens[1:])
        left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
    return left, tokens


def _and(tokens: list[str]) -> tuple[Test, list[str]]:
    left, tokens = _unary(tokens)
    while tokens and tokens[0].lower() == "and":
        right, tokens = _unary(tokens[1:])
        left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
    return left, tokens


def _unary(tokens: list[str]) -> tuple[Test, list[str]]:
    if not tokens:
        raise ScimError(400, "the filter ends too early", "invalidFilter")
    if tokens[0].lower() == "not":
        inner, rest = _unary(tokens[1:])
        return (lambda r: not inner(r)), rest
    if tokens[0] == "(":
        inner, rest = _or(tokens[1:])
        if not rest or rest[0] != ")":
            raise ScimError(400, "a '(' is not closed", "invalidFilter")
        return inner, rest[1:]
    if len(tokens) >= 2 and tokens[1].lower() == "pr":
        path = tokens[0]
        return (lambda r: bool(values_at(r, path))), tokens[2:]
    if len(tokens) < 3 or tokens[1].lower() not in _OPS:
        raise ScimError(400, f"expected 'attribute operator value' at {' '.join(tokens[:3])!r}", "invalidFilter")
    path, op, raw = tokens[0], tokens[1].lower(), tokens[2]
    try:
        value = json.loads(raw)
    except ValueError:
        raise ScimError(400, f"bad value {raw!r} in filter", "invalidFilter") from None
    want = sort_key(path, value, strict=True)
    return (lambda r: any(_compare(op, sort_key(path, v), want) for v in values_at(r, path))), tokens[3:]


def _compare(op: str, have: Any, want: Any) -> bool:
    try:
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        if op in ("co", "sw", "ew"):
            h, w = str(have), str(want)
            return w in h if op == "co" else h.startswith(w) if op == "sw" else h.endswith(w)
        return bool({"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[op])
    except TypeError:
        return False


def sort_key(path: str, value: Any, strict: bool = False) -> Any:
    """Dates as datetimes, text case-insensitively, the rest as it is. A date attribute holding something
    else is None (it matches nothing), or, for a filter's own value (``strict``), a 400 invalidValue."""
    if isinstance(value, str) and path.lower().rsplit(".", 1)[-1].rsplit(":", 1)[-1] in _DATES:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            if strict:
                raise ScimError(400, f"{value!r} is not a dateTime", "invalidValue") from None
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value.lower() if isinstance(value, str) else value


def _get(node: dict[str, Any], key: str) -> Any:
    for k, v in node.items():
        if k.lower() == key.lower():
            return v
    return None


def values_at(resource: dict[str, Any], path: str) -> list[Any]:
    """The values at an attribute path (``meta.lastModified``, ``emails.value``, ``urn:...:User:manager.value``)."""
    if path.lower().startswith("urn:"):
        urn, _, attr = path.rpartition(":")
        nodes: list[Any] = [_get(resource, urn)]
    else:
        attr, nodes = path, [resource]
    for part in attr.split("."):
        found: list[Any] = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict):
                    value = _get(item, part)
                    if value is not None:
                        found.extend(value if isinstance(value, list) else [value])
        nodes = found
    return [n for n in nodes if n is not None]
