"""Reading a transform's options: shorthand forms, unknown keys, and typed values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.mappings.problems import did_you_mean
from hub.mappings.registry import OptionError

_MISSING: Any = object()
REQUIRED: Any = object()


def no_options(name: str, options: Any) -> None:
    """Refuse options for a transform that takes none."""
    if options is not None:
        raise OptionError(None, f"{name} takes no options")


def read_options(name: str, options: Any, defaults: Mapping[str, Any], shorthand: str | None = None) -> dict[str, Any]:
    """Options as a dict: ``defaults`` filled in, unknown keys refused, REQUIRED keys checked.

    A non-mapping ``options`` is the value of the ``shorthand`` key (``{split: ";"}`` is
    ``{split: {sep: ";"}}``).
    """
    if options is None:
        given: Mapping[str, Any] = {}
    elif isinstance(options, Mapping):
        # YAML reads the keys true/false as booleans; they can only mean the option names.
        given = {("true" if k else "false") if isinstance(k, bool) else k: v for k, v in options.items()}
    elif shorthand is not None:
        given = {shorthand: options}
    else:
        raise OptionError(None, f"{name} options must be a mapping of {', '.join(defaults)}")
    result: dict[str, Any] = {}
    for key in given:
        if key not in defaults:
            raise OptionError(str(key), f"unknown option{did_you_mean(str(key), defaults)}")
    for key, default in defaults.items():
        value = given.get(key, _MISSING)
        if value is _MISSING:
            if default is REQUIRED:
                raise OptionError(key, f"{name} needs option {key!r}")
            value = default
        result[key] = value
    return result


def text_option(key: str, value: Any, *, allow_empty: bool = False, allow_none: bool = False) -> Any:
    """``value`` if it is text (non-empty unless allowed), else OptionError."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or (not value and not allow_empty):
        raise OptionError(key, "must be " + ("text" if allow_empty else "non-empty text"))
    return value


def bool_option(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(key, "must be true or false")
    return value


def int_option(key: str, value: Any, *, minimum: int = 0, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(key, f"must be a whole number of at least {minimum}")
    return value


def choice_option(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(key, f"must be one of {', '.join(choices)}{did_you_mean(str(value), choices)}")
    return str(value)


def text_list_option(key: str, value: Any) -> list[str]:
    """A list of non-empty texts (a single text is a list of one)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise OptionError(key, "must be a text or a non-empty list of texts")
    return list(items)
