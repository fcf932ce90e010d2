"""Nested paths: parsing, lenient reading, presence, writing."""

from __future__ import annotations

import pytest

from hub.mappings.paths import format_path, get_path, has_path, parse_path, set_path


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("name", ("name",)),
        ("country_id.code", ("country_id", "code")),
        ("bank_ids[0].acc_number", ("bank_ids", 0, "acc_number")),
        ("lines[-1]", ("lines", -1)),
        ("a[0][1].b", ("a", 0, 1, "b")),
    ],
)
def test_parse_and_format_round_trip(text: str, steps: tuple[object, ...]) -> None:
    assert parse_path(text) == steps
    assert format_path(steps) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", ".a", "a..b", "a[x]", "[0]", "a b", "a.[0]", "a]", "a["])
def test_malformed_paths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(text)


def test_reading_is_lenient() -> None:
    record = {"bank_ids": [{"acc_number": "DE89"}], "country_id": False, "empty": [], "n": None}
    assert get_path(record, ("bank_ids", 0, "acc_number")) == "DE89"
    assert get_path(record, ("bank_ids", 5, "acc_number")) is None  # index out of range
    assert get_path(record, ("country_id", "code")) is None  # Odoo's False for an empty many2one
    assert get_path(record, ("empty", 0)) is None
    assert get_path(record, ("n", "x")) is None
    assert get_path(record, ("missing",)) is None
    assert get_path(record, ("bank_ids", "x")) is None  # a key into a list


def test_has_path_tells_missing_from_null() -> None:
    record = {"a": {"b": None}, "l": [1]}
    assert has_path(record, ("a", "b"))
    assert not has_path(record, ("a", "c"))
    assert has_path(record, ("l", 0))
    assert not has_path(record, ("l", 1))


def test_set_path_creates_objects() -> None:
    out: dict[str, object] = {"country_id": "not an object"}
    set_path(out, ("country_id", "code"), "DE")
    set_path(out, ("x", "y", "z"), 1)
    assert out == {"country_id": {"code": "DE"}, "x": {"y": {"z": 1}}}
    with pytest.raises(ValueError, match="key paths"):
        set_path(out, ("a", 0), 1)


def test_a_path_getter_reads_as_get_path_does() -> None:
    from collections import OrderedDict
    from types import MappingProxyType

    from hub.mappings.paths import path_getter

    records = [
        {"contact": {"email": "a@b.cn"}},
        {"contact": MappingProxyType({"email": "proxy@b.cn"})},
        OrderedDict(contact=OrderedDict(email="ordered@b.cn")),
        MappingProxyType({"contact": {"email": "outer-proxy@b.cn"}}),
        {"contact": None}, {"contact": False}, {"contact": ["x"]}, {"contact": "text"}, {},
    ]  # a compiled mapping hands getters a mapping (it makes one of any other record first)
    for path in (("contact", "email"), ("contact",), ("contact", 0), ("contact", "email", "x")):
        get = path_getter(path)
        for record in records:
            assert get(record) == get_path(record, path), (path, record)
