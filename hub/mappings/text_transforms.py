"""Built-in text and list transforms: strip, case, truncate, replace, regex, split, join, null handling."""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hub.mappings.expressions import Expression
from hub.mappings.options import (
    REQUIRED,
    bool_option,
    int_option,
    no_options,
    read_options,
    text_option,
)
from hub.mappings.registry import OptionError, Transform, handles_null

_REGEX_FLAGS = {"ignorecase": re.IGNORECASE, "multiline": re.MULTILINE, "dotall": re.DOTALL}


def need_text(value: Any) -> str:
    """``value`` when it is text; ValueError otherwise."""
    if isinstance(value, str):
        return value
    raise ValueError(f"needs text, got {type(value).__name__}")


def as_text(value: Any) -> str:
    """A scalar written as text: numbers as digits, booleans as true/false, ids and dates in ISO form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.date):  # datetime included
        return value.isoformat()
    raise ValueError(f"cannot write a {type(value).__name__} as text")


def is_empty(value: Any) -> bool:
    """Null, empty text, an empty list or an empty object."""
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def strip(options: Any) -> Transform:
    if options is None:
        return str.strip
    chars = text_option("chars", options)

    def strip_chars(value: Any) -> Any:
        return need_text(value).strip(chars)

    return strip_chars


def lower(options: Any) -> Transform:
    no_options("lower", options)
    return str.lower


def upper(options: Any) -> Transform:
    no_options("upper", options)
    return str.upper


def title(options: Any) -> Transform:
    no_options("title", options)
    return str.title


def truncate(options: Any) -> Transform:
    opts = read_options("truncate", options, {"length": REQUIRED, "suffix": ""}, shorthand="length")
    length = int_option("length", opts["length"], minimum=1)
    suffix = text_option("suffix", opts["suffix"], allow_empty=True)
    if len(suffix) >= length:
        raise OptionError("suffix", "must be shorter than length")
    keep = length - len(suffix)

    def truncate_text(value: Any) -> Any:
        text = need_text(value)
        return text if len(text) <= length else text[:keep] + suffix

    return truncate_text


def replace(options: Any) -> Transform:
    opts = read_options("replace", options, {"old": REQUIRED, "new": ""})
    old = text_option("old", opts["old"])
    new = text_option("new", opts["new"], allow_empty=True)

    def replace_text(value: Any) -> Any:
        return need_text(value).replace(old, new)

    return replace_text


def _check_template(pattern: re.Pattern[str], template: str) -> None:
    for match in re.finditer(r"\\(?:g<([^>]*)>|(\d{1,2}))", template):
        name, number = match.groups()
        ref: str = name if name is not None else number
        if ref.isdigit():
            if int(ref) > pattern.groups:
                raise OptionError("replace", f"refers to group {ref} but the pattern has {pattern.groups}")
        elif ref not in pattern.groupindex:
            raise OptionError("replace", f"refers to unknown group {ref!r}")


def regex(options: Any) -> Transform:
    opts = read_options("regex", options, {"pattern": REQUIRED, "replace": None, "flags": []}, "pattern")
    text_option("pattern", opts["pattern"])
    flags = 0
    for flag in opts["flags"] if isinstance(opts["flags"], list) else [opts["flags"]]:
        if flag not in _REGEX_FLAGS:
            raise OptionError("flags", f"unknown flag {flag!r} (known: {', '.join(_REGEX_FLAGS)})")
        flags |= _REGEX_FLAGS[flag]
    try:
        pattern = re.compile(opts["pattern"], flags)
    except re.error as exc:
        raise OptionError("pattern", f"bad regex {opts['pattern']!r}: {exc}") from None
    template = opts["replace"]
    if template is not None:
        text_option("replace", template, allow_empty=True)
        _check_template(pattern, template)

        def substitute(value: Any) -> Any:
            return pattern.sub(template, need_text(value))

        return substitute
    group = 1 if pattern.groups else 0

    def extract(value: Any) -> Any:
        found = pattern.search(need_text(value))
        return None if found is None else found.group(group)

    return extract


def split(options: Any) -> Transform:
    opts = read_options("split", options, {"sep": ",", "strip": True, "skip_empty": True}, "sep")
    sep = text_option("sep", opts["sep"])
    do_strip = bool_option("strip", opts["strip"])
    skip_empty = bool_option("skip_empty", opts["skip_empty"])

    if do_strip and skip_empty:

        def split_clean(value: Any) -> Any:
            return [text for part in need_text(value).split(sep) if (text := part.strip())]

        return split_clean

    def split_text(value: Any) -> Any:
        parts = need_text(value).split(sep)
        if do_strip:
            parts = [part.strip() for part in parts]
        if skip_empty:
            parts = [part for part in parts if part]
        return parts

    return split_text


def _joiner(sep: str, skip_empty: bool) -> Transform:
    def join_parts(value: Any) -> Any:
        parts = value if isinstance(value, list | tuple) else [value]
        texts = [as_text(part) for part in parts if part is not None]
        if skip_empty:
            texts = [text for text in texts if text]
        return sep.join(texts)

    return join_parts


def join(options: Any) -> Transform:
    opts = read_options("join", options, {"sep": "", "skip_empty": True}, shorthand="sep")
    return _joiner(text_option("sep", opts["sep"], allow_empty=True), bool_option("skip_empty", opts["skip_empty"]))


def concat(options: Any) -> Transform:
    no_options("concat", options)
    return _joiner("", True)


def coalesce(options: Any) -> Transform:
    no_options("coalesce", options)

    @handles_null
    def first_present(value: Any) -> Any:
        if isinstance(value, list | tuple):
            for item in value:
                if not is_empty(item):
                    return item
            return None
        return None if is_empty(value) else value

    return first_present


def default(options: Any) -> Transform:
    if options is None:
        raise OptionError(None, "default needs a value: {default: <value>}")
    fallback = options
    mutable = isinstance(fallback, list | dict)

    @handles_null
    def or_default(value: Any) -> Any:
        if is_empty(value):
            return copy.deepcopy(fallback) if mutable else fallback
        return value

    return or_default


def null_if(options: Any) -> Transform:
    values = options if isinstance(options, list) else [options]
    if not values or not all(v is None or isinstance(v, str | int | float | bool) for v in values):
        raise OptionError(None, "null_if takes a value or a list of values (text, numbers, true/false)")
    typed = {(type(v), v) for v in values}

    def nullify(value: Any) -> Any:
        try:
            return None if (type(value), value) in typed else value
        except TypeError:  # an unhashable value (list, object) never equals a listed scalar
            return value

    return nullify


def required(options: Any) -> Transform:
    no_options("required", options)

    @handles_null
    def present(value: Any) -> Any:
        if is_empty(value):
            raise ValueError("a value is required")
        return value

    return present


def text(options: Any) -> Transform:
    no_options("text", options)
    return as_text


def expr(options: Any) -> Transform:
    try:
        expression = Expression(text_option("expr", options), names=frozenset({"value"}))
    except ValueError as exc:
        raise OptionError(None, str(exc)) from None

    @handles_null
    def evaluate(value: Any) -> Any:
        try:
            return expression.evaluate(None, {"value": value})
        except Exception as exc:
            raise ValueError(f"expression {expression.text!r} failed: {exc}") from exc

    return evaluate


FACTORIES: dict[str, Callable[[Any], Transform]] = {
    "strip": strip,
    "lower": lower,
    "upper": upper,
    "title": title,
    "truncate": truncate,
    "replace": replace,
    "regex": regex,
    "split": split,
    "join": join,
    "concat": concat,
    "coalesce": coalesce,
    "default": default,
    "null_if": null_if,
    "required": required,
    "text": text,
    "expr": expr,
}

__all__ = ["FACTORIES", "as_text", "is_empty", "need_text"]
