"""Sandboxed expressions: what they can do, and what they refuse at load and at run time."""

from __future__ import annotations

import pytest

from hub.mappings.expressions import FUNCTIONS, Expression, check_expression


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("is_company and active", {"is_company": True, "active": True}, True),
        ("is_company and active", {"is_company": True}, None),  # a missing name is null
        ("country_id.code == 'DE'", {"country_id": {"code": "DE"}}, True),
        ("country_id.code == 'DE'", {"country_id": False}, False),  # a.b on a non-object is null
        ("state in ['A', 'B']", {"state": "B"}, True),
        ("len(name) > 3 if name else False", {"name": "Acme"}, True),
        ("upper(strip(x)) + '!'", {"x": " hi "}, "HI!"),
        ("coalesce(mobile, phone)", {"mobile": "", "phone": "123"}, "123"),
        ("decimal('1.50') * 2", {}, 3),
        ("lines[0].qty", {"lines": [{"qty": 2}]}, 2),
        ("startswith(ref, 'X') and not empty(ref)", {"ref": "X1"}, True),
    ],
)
def test_expressions_evaluate(text: str, record: dict[str, object], expected: object) -> None:
    assert Expression(text).evaluate(record) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a +", "bad expression syntax"),
        ("", "non-empty"),
        ("x.__class__", "'__' are not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("name.upper()", "not methods"),
        ("[x for x in y]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("f'{x}'", "JoinedStr is not allowed"),
        ("(x := 1)", "NamedExpr is not allowed"),
        ("{x for x in y}", "SetComp is not allowed"),
    ],
)
def test_dangerous_or_broken_expressions_are_refused_at_load(text: str, problem: str) -> None:
    found = check_expression(text)
    assert found is not None and problem in found
    with pytest.raises(ValueError) as info:
        Expression(text)
    assert str(info.value) == found


def test_test_is_truthiness() -> None:
    assert Expression("is_company and active").test({"is_company": True}) is False
    assert Expression("is_company and active").test({"is_company": 1, "active": "y"}) is True


def test_names_can_be_restricted() -> None:
    assert check_expression("value * 2", frozenset({"value"})) is None
    found = check_expression("valeu * 2", frozenset({"value"}))
    assert found is not None and "unknown name 'valeu'" in found


def test_runtime_limits_come_from_simpleeval() -> None:
    with pytest.raises(Exception, match="long"):
        Expression("'x' * 10000000").evaluate({})
    with pytest.raises(Exception, match="Sorry"):
        Expression("2 ** 100000000").evaluate({})


def test_attribute_access_never_reaches_python_attributes() -> None:
    # 'a.b' is a key read: methods and internals of values are unreachable.
    assert Expression("name.upper").evaluate({"name": "x"}) is None
    assert Expression("record.items").evaluate({"record": {"a": 1}}) is None


def test_whitelist_is_small_and_harmless() -> None:
    assert set(FUNCTIONS) >= {"len", "lower", "upper", "coalesce", "decimal"}
    assert not {"eval", "exec", "open", "getattr", "type", "__import__"} & set(FUNCTIONS)
