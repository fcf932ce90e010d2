"""Built-in number transforms: decimal and integer with locale separators, boolean, format_number."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from hub.mappings.options import int_option, read_options, text_option
from hub.mappings.registry import OptionError, Transform

_TRUE = ["true", "yes", "y", "1", "on", "t", "x"]
_FALSE = ["false", "no", "n", "0", "off", "f", ""]


def _separators(name: str, options: Any) -> tuple[str | None, str, int | None]:
    opts = read_options(name, options, {"thousands": None, "point": ".", "places": None})
    thousands = text_option("thousands", opts["thousands"], allow_none=True)
    point = text_option("point", opts["point"])
    if thousands is not None and len(thousands) != 1:
        raise OptionError("thousands", "must be a single character")
    if len(point) != 1:
        raise OptionError("point", "must be a single character")
    if thousands == point:
        raise OptionError("thousands", "must differ from point")
    if point.isdigit() or (thousands or "").isdigit() or point in "+-":
        raise OptionError("point", "must not be a digit or a sign")
    places = int_option("places", opts["places"], allow_none=True)
    return thousands, point, places


def _to_decimal(value: Any, thousands: str | None, point: str) -> Decimal:
    if isinstance(value, str):
        text = value
        if thousands is not None:
            text = text.replace(thousands, "")
        if point != ".":
            text = text.replace(".", "\x00").replace(point, ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    elif isinstance(value, bool):
        raise ValueError("true/false is not a number")
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise ValueError(f"needs a number or text, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def decimal(options: Any) -> Transform:
    thousands, point, places = _separators("decimal", options)
    if places is None:
        if thousands is None and point == ".":
            # The common case without per-call option checks.
            def plain_decimal(value: Any) -> Any:
                if value.__class__ is str:
                    try:
                        number = Decimal(value)
                    except InvalidOperation:
                        raise ValueError(f"{value!r} is not a number") from None
                    if number.is_finite():
                        return number
                    raise ValueError(f"{value!r} is not a finite number")
                return _to_decimal(value, None, ".")

            return plain_decimal

        def to_decimal(value: Any) -> Any:
            if value.__class__ is str:
                text = value if thousands is None else value.replace(thousands, "")
                if point != ".":
                    text = text.replace(".", "\x00").replace(point, ".")
                try:
                    number = Decimal(text)
                except InvalidOperation:
                    raise ValueError(f"{value!r} is not a number") from None
                if number.is_finite():
                    return number
                raise ValueError(f"{value!r} is not a finite number")
            return _to_decimal(value, thousands, point)

        return to_decimal
    quantum = Decimal(1).scaleb(-places)

    def rounded(value: Any) -> Any:
        try:
            return _to_decimal(value, thousands, point).quantize(quantum, rounding=ROUND_HALF_EVEN)
        except InvalidOperation:
            raise ValueError(f"{value!r} is too large for {places} decimal places") from None

    return rounded


def integer(options: Any) -> Transform:
    thousands, point, places = _separators("integer", options)
    if places is not None:
        raise OptionError("places", "integer takes no places")

    def to_integer(value: Any) -> Any:
        if value.__class__ is int:
            return value
        if value.__class__ is str:
            text = value if thousands is None else value.replace(thousands, "")
            try:
                return int(text)
            except ValueError:
                pass
        number = _to_decimal(value, thousands, point)
        if number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)

    return to_integer


def _words(key: str, value: Any) -> set[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise OptionError(key, "must be a text or a non-empty list of texts")
    return {item.strip().casefold() for item in items}


def boolean(options: Any) -> Transform:
    opts = read_options("boolean", options, {"true": _TRUE, "false": _FALSE})
    truthy = _words("true", opts["true"])
    falsy = _words("false", opts["false"])
    if truthy & falsy:
        raise OptionError("false", f"{sorted(truthy & falsy)} listed as both true and false")

    def to_boolean(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            key = value.strip().casefold()
            if key in truthy:
                return True
            if key in falsy:
                return False
        raise ValueError(f"{value!r} is not one of the true or false values")

    return to_boolean


def format_number(options: Any) -> Transform:
    thousands, point, places = _separators("format_number", options)
    quantum = None if places is None else Decimal(1).scaleb(-places)
    table = str.maketrans({",": thousands or "", ".": point})

    def write_number(value: Any) -> Any:
        number = _to_decimal(value, None, ".")
        if quantum is not None:
            try:
                number = number.quantize(quantum, rounding=ROUND_HALF_EVEN)
            except InvalidOperation:
                raise ValueError(f"{value!r} is too large for {places} decimal places") from None
        return format(number, ",f" if thousands else "f").translate(table)

    return write_number


FACTORIES: dict[str, Callable[[Any], Transform]] = {
    "decimal": decimal,
    "integer": integer,
    "boolean": boolean,
    "format_number": format_number,
}
