"""Built-in date and time transforms: date, datetime (formats, time zones), format_date, format_datetime.

Formats are strftime patterns, checked when the spec loads (an unknown directive such as ``%Q`` is
refused), or the words ``iso`` (ISO 8601), ``epoch`` and ``epoch_ms`` (seconds or milliseconds since
1970, datetime only). Datetimes come out timezone-aware in UTC; a naive input is read in ``tz``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hub.mappings.options import REQUIRED, read_options, text_option
from hub.mappings.registry import OptionError, Transform

#: The directives both strptime and strftime understand on every platform.
DIRECTIVES = frozenset("aAbBcdfGHIjmMpSuUVwWxXyYzZ%")
_WORDS_DATE = ("iso",)
_WORDS_DATETIME = ("iso", "epoch", "epoch_ms")


def check_format(fmt: str) -> str | None:
    """The problem with a strftime/strptime pattern, or None."""
    i = 0
    found = False
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                return f"bad format {fmt!r}: it ends with a lone '%'"
            directive = fmt[i + 1]
            if directive not in DIRECTIVES:
                return f"bad format {fmt!r}: unknown directive %{directive}"
            found = found or directive != "%"
            i += 2
        else:
            i += 1
    return None if found else f"bad format {fmt!r}: it has no % directive"


def time_zone(key: str, name: Any) -> dt.tzinfo:
    """A zoneinfo time zone by IANA name; OptionError for an unknown one."""
    text_option(key, name)
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise OptionError(key, f"unknown time zone {name!r}") from None


def _formats(options: Any, words: tuple[str, ...], extra: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    opts = read_options("formats", options, {"formats": ["iso"], **extra}, shorthand="formats")
    formats = opts["formats"]
    formats = [formats] if isinstance(formats, str) else formats
    if not isinstance(formats, list) or not formats:
        raise OptionError("formats", "must be a format or a non-empty list of formats")
    for fmt in formats:
        if not isinstance(fmt, str):
            raise OptionError("formats", f"{fmt!r} is not a format")
        if fmt in words:
            continue
        if fmt.isidentifier():
            raise OptionError("formats", f"unknown format word {fmt!r} (known: {', '.join(words)})")
        problem = check_format(fmt)
        if problem:
            raise OptionError("formats", problem)
    return formats, opts


def _parse_text(text: str, formats: list[str]) -> dt.date | dt.datetime:
    for fmt in formats:
        try:
            if fmt == "iso":
                return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
            if fmt == "epoch":
                return dt.datetime.fromtimestamp(float(text), dt.UTC)
            if fmt == "epoch_ms":
                return dt.datetime.fromtimestamp(float(text) / 1000, dt.UTC)
            return dt.datetime.strptime(text, fmt)
        except (ValueError, OverflowError, OSError):
            continue
    raise ValueError(f"{text!r} matches none of the formats {formats}")


_NUMERIC_DIRECTIVES = frozenset("YmdHMS")


def _numeric_pattern(fmt: str) -> re.Pattern[str] | None:
    """The regex ``strptime`` matches ``fmt`` with, for a format of numeric year, month and day (and hours,
    minutes, seconds) only, or None. Matching it and building the datetime from its groups gives exactly
    what strptime gives (the same regex, the same integers, the same ValueError for a day out of range),
    several times faster; strptime itself stays the judge of every other format."""
    directives = set(re.findall(r"%(.)", fmt))
    if "%%" in fmt or not directives <= _NUMERIC_DIRECTIVES or not {"Y", "m", "d"} <= directives:
        return None
    try:
        import _strptime

        pattern: re.Pattern[str] = _strptime._TimeRE_cache.compile(fmt)
    except Exception:  # a private module: if it ever changes, strptime does the work
        return None
    return pattern


def _text_parser(formats: list[str]) -> Callable[[str], dt.date | dt.datetime]:
    """A parser for ``formats``; plain strptime patterns get a loop without the format words."""
    if any(fmt in _WORDS_DATETIME for fmt in formats):
        return lambda text: _parse_text(text, formats)
    strptime, datetime = dt.datetime.strptime, dt.datetime
    patterns = tuple((fmt, _numeric_pattern(fmt)) for fmt in formats)

    def parse(text: str) -> dt.datetime:
        for fmt, numeric in patterns:
            if numeric is not None:  # strptime's own regex, without the rest of strptime's work
                found = numeric.match(text)
                if found is None or found.end() != len(text):
                    continue
                g = found.groupdict()
                try:
                    return datetime(int(g["Y"]), int(g["m"]), int(g["d"]), int(g.get("H") or 0),
                                    int(g.get("M") or 0), int(g.get("S") or 0))
                except ValueError:
                    continue
            try:
                return strptime(text, fmt)
            except ValueError:
                continue
        raise ValueError(f"{text!r} matches none of the formats {formats}")

    return parse


def date(options: Any) -> Transform:
    formats, _ = _formats(options, _WORDS_DATE, {})
    parse = _text_parser(formats)

    def to_date(value: Any) -> Any:
        if value.__class__ is str:
            value = parse(value)
            return value.date() if value.__class__ is dt.datetime else value
        if isinstance(value, str):
            value = parse(value)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        raise ValueError(f"needs text or a date, got {type(value).__name__}")

    return to_date


def datetime(options: Any) -> Transform:
    formats, opts = _formats(options, _WORDS_DATETIME, {"tz": "UTC"})
    zone = time_zone("tz", opts["tz"])
    epoch_scale = 1.0 if "epoch" in formats else (0.001 if "epoch_ms" in formats else None)
    utc = dt.UTC
    parse = _text_parser(formats)

    def to_datetime(value: Any) -> Any:
        if value.__class__ is str:
            value = parse(value)
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            if epoch_scale is None:
                raise ValueError("a number needs the format 'epoch' or 'epoch_ms'")
            try:
                return dt.datetime.fromtimestamp(float(value) * epoch_scale, utc)
            except (OverflowError, OSError, ValueError):
                raise ValueError(f"{value!r} is out of range for a time") from None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=zone)
            return value.astimezone(utc)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(utc)
        raise ValueError(f"needs text, a number or a date, got {type(value).__name__}")

    return to_datetime


def _output_format(fmt: Any) -> str:
    text_option("format", fmt)
    if fmt != "iso":
        problem = check_format(fmt)
        if problem:
            raise OptionError("format", problem)
    return str(fmt)


def format_date(options: Any) -> Transform:
    opts = read_options("format_date", options, {"format": REQUIRED}, shorthand="format")
    fmt = _output_format(opts["format"])

    def write_date(value: Any) -> Any:
        if not isinstance(value, dt.date):
            raise ValueError(f"needs a date, got {type(value).__name__}")
        day = value.date() if isinstance(value, dt.datetime) else value
        return day.isoformat() if fmt == "iso" else day.strftime(fmt)

    return write_date


def format_datetime(options: Any) -> Transform:
    opts = read_options("format_datetime", options, {"format": REQUIRED, "tz": "UTC"}, shorthand="format")
    fmt = _output_format(opts["format"])
    zone = time_zone("tz", opts["tz"])

    def write_datetime(value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            raise ValueError(f"needs a datetime, got {type(value).__name__}")
        moment = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(zone)
        return moment.isoformat() if fmt == "iso" else moment.strftime(fmt)

    return write_datetime


FACTORIES: dict[str, Callable[[Any], Transform]] = {
    "date": date,
    "datetime": datetime,
    "format_date": format_date,
    "format_datetime": format_datetime,
}
