"""Date and time transforms: formats, ISO, epochs, time zones, and their output counterparts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import MappingError
from hub.mappings.date_transforms import check_format

UTC = dt.UTC
SHANGHAI = {"formats": ["%d.%m.%Y %H:%M", "%Y-%m-%d"], "tz": "Asia/Shanghai"}

GOOD = [
    ("date", "2024-02-29", dt.date(2024, 2, 29)),
    ("date", "2024-02-29T23:10:00", dt.date(2024, 2, 29)),
    ({"date": "%d.%m.%Y"}, "01.02.2024", dt.date(2024, 2, 1)),
    ({"date": ["%d/%m/%Y", "%Y%m%d"]}, "20240102", dt.date(2024, 1, 2)),
    ("date", dt.datetime(2024, 5, 6, 7, 8), dt.date(2024, 5, 6)),
    ("date", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
    ("datetime", "2024-02-01T10:00:00+01:00", dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC)),
    ("datetime", "2024-02-01T10:00:00Z", dt.datetime(2024, 2, 1, 10, 0, tzinfo=UTC)),
    ("datetime", "2024-02-01", dt.datetime(2024, 2, 1, tzinfo=UTC)),
    ({"datetime": SHANGHAI}, "01.02.2024 10:00", dt.datetime(2024, 2, 1, 2, 0, tzinfo=UTC)),
    ({"datetime": SHANGHAI}, "2024-02-01", dt.datetime(2024, 1, 31, 16, 0, tzinfo=UTC)),
    ({"datetime": {"formats": ["%d.%m.%Y %H:%M"], "tz": "Europe/Berlin"}}, "01.07.2024 12:00",
     dt.datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),  # summer time
    ({"datetime": {"formats": ["%Y-%m-%d %H:%M %z"]}}, "2024-01-01 08:00 +0800", dt.datetime(2024, 1, 1, tzinfo=UTC)),
    ({"datetime": ["epoch"]}, 1700000000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ({"datetime": ["epoch_ms"]}, "1700000000000", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ({"datetime": {"tz": "Asia/Shanghai"}}, dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, tzinfo=UTC)),
    ({"datetime": {"tz": "Asia/Shanghai"}}, dt.date(2024, 1, 2), dt.datetime(2024, 1, 1, 16, tzinfo=UTC)),
    ({"format_date": "%d.%m.%Y"}, dt.date(2024, 2, 1), "01.02.2024"),
    ({"format_date": "iso"}, dt.datetime(2024, 2, 1, 5), "2024-02-01"),
    ({"format_datetime": {"format": "%d.%m.%Y %H:%M", "tz": "Asia/Shanghai"}},
     dt.datetime(2024, 2, 1, 2, 0, tzinfo=UTC), "01.02.2024 10:00"),
    ({"format_datetime": "iso"}, dt.datetime(2024, 2, 1, 2, 0), "2024-02-01T02:00:00+00:00"),
]  # fmt: skip


@pytest.mark.parametrize(("step", "value", "expected"), GOOD)
def test_good_values(apply: Callable[[Any, Any], Any], step: Any, value: Any, expected: Any) -> None:
    result = apply(step, value)
    assert result == expected
    assert type(result) is type(expected)
    if isinstance(result, dt.datetime):
        assert result.tzinfo is UTC


BAD = [
    ("date", "01.02.2024", "matches none of the formats ['iso']"),
    ({"date": "%d.%m.%Y"}, "31.02.2024", "matches none of the formats"),
    ("date", 20240101, "needs text or a date, got int"),
    ("datetime", "yesterday", "matches none of the formats"),
    ("datetime", 1700000000, "a number needs the format 'epoch' or 'epoch_ms'"),
    ({"datetime": ["epoch"]}, 1e20, "out of range"),
    ("datetime", True, "needs text, a number or a date, got bool"),
    ({"format_date": "%Y"}, "2024-01-01", "needs a date, got str"),
    ({"format_datetime": "%Y"}, dt.date(2024, 1, 1), "needs a datetime, got date"),
]


@pytest.mark.parametrize(("step", "value", "problem"), BAD)
def test_bad_values_raise_mapping_error(apply: Callable[[Any, Any], Any], step: Any, value: Any, problem: str) -> None:
    with pytest.raises(MappingError) as info:
        apply(step, value)
    assert problem in info.value.problem


OPTIONS = [
    ({"date": "%d.%Q.%Y"}, "date.formats: bad format '%d.%Q.%Y': unknown directive %Q"),
    ({"date": "%d.%m.%"}, "ends with a lone '%'"),
    ({"date": "dd.mm.yyyy"}, "date.formats: bad format 'dd.mm.yyyy': it has no % directive"),
    ({"date": "epoch"}, "date.formats: unknown format word 'epoch' (known: iso)"),
    ({"date": []}, "date.formats: must be a format or a non-empty list of formats"),
    ({"datetime": {"formats": ["iso"], "tz": "Asia/Shangai"}}, "datetime.tz: unknown time zone 'Asia/Shangai'"),
    ({"datetime": {"tz": "../etc/passwd"}}, "datetime.tz: unknown time zone"),
    ({"datetime": {"zone": "UTC"}}, "datetime.zone: unknown option"),
    ({"format_date": None}, "format_date.format: format_date needs option 'format'"),
    ({"format_datetime": {"format": "%H:%i"}}, "format_datetime.format: bad format '%H:%i': unknown directive %i"),
]


@pytest.mark.parametrize(("step", "message"), OPTIONS)
def test_bad_options_are_spec_problems(option_problems: Callable[[Any], list[str]], step: Any, message: str) -> None:
    problems = option_problems(step)
    assert len(problems) == 1
    assert message in problems[0]


def test_check_format() -> None:
    assert check_format("%Y-%m-%dT%H:%M:%S.%f%z") is None
    assert check_format("100%% at %H") is None
    assert check_format("%-d") is not None  # platform-specific, refused


# -- the numeric fast path gives exactly what strptime gives -------------------------------------------------
_NUMERIC_FORMATS = ["%d.%m.%Y", "%Y-%m-%d", "%Y%m%d", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S", "%m-%d-%Y %H:%M:%S"]
_DATE_CHARS = "0123456789 .-/:Tt"


def _strptime_or_none(text: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


@settings(max_examples=800, deadline=None)
@given(fmt=st.sampled_from(_NUMERIC_FORMATS),
       text=st.one_of(st.text(alphabet=_DATE_CHARS, max_size=20),
                      st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(str),
                      st.builds(lambda d, m, y, sep: f"{d}{sep}{m}{sep}{y}", st.integers(0, 40), st.integers(0, 14),
                                st.integers(0, 10000), st.sampled_from([".", "-", "/", ""]))))
def test_the_numeric_date_parser_agrees_with_strptime(fmt: str, text: str) -> None:
    from hub.mappings.date_transforms import _numeric_pattern, _text_parser

    assert _numeric_pattern(fmt) is not None
    expected = _strptime_or_none(text, fmt)
    parse = _text_parser([fmt])
    try:
        got: dt.datetime | None = parse(text)  # type: ignore[assignment]
    except ValueError:
        got = None
    assert got == expected, (fmt, text)


def test_formats_with_words_or_other_directives_are_left_to_strptime() -> None:
    from hub.mappings.date_transforms import _numeric_pattern

    for fmt in ("%d %b %Y", "%y-%m-%d", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d%%", "%H:%M", "%Y-%m"):
        assert _numeric_pattern(fmt) is None, fmt
    assert _numeric_pattern("%d.%m.%Y") is not None
