"""Identifier transforms: phone numbers, e-mail addresses, currencies, countries and bound references."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from hub.core.binding import BoundId
from hub.errors import MappingError

GOOD = [
    ({"phone": {"region": "CN"}}, "138 0013 8000", "+8613800138000"),
    ({"phone": "DE"}, "030 1234567", "+49301234567"),
    ("phone", "+49 (0)30 1234567", "+49301234567"),
    ({"phone": {"region": "de", "format": "international"}}, "0301234567", "+49 30 1234567"),
    ({"phone": {"region": "DE", "format": "national"}}, "+49301234567", "030 1234567"),
    ({"phone": {"region": "DE", "check": "possible"}}, "030 123", "+4930123"),
    ({"phone": {"region": "US"}}, 2025550143, "+12025550143"),
    ("email", "Info@Example.COM", "info@example.com"),
    ("email", "ada.lovelace+crm@example.co.uk", "ada.lovelace+crm@example.co.uk"),
    ("currency", "eur", "EUR"),
    ("currency", " CNY ", "CNY"),
    ("currency", "978", "EUR"),
    ("currency", 840, "USD"),
    ("country", "Germany", "DE"),
    ("country", "deu", "DE"),
    ("country", "cn", "CN"),
    ({"country": "alpha3"}, "France", "FRA"),
    ({"country": {"format": "name"}}, "DE", "Germany"),
    ({"bound": "companies"}, " K-17 ", BoundId("companies", "K-17")),
    ({"bound": {"stream": "companies"}}, 1042, BoundId("companies", "1042")),
]


@pytest.mark.parametrize(("step", "value", "expected"), GOOD)
def test_good_values(apply: Callable[[Any, Any], Any], step: Any, value: Any, expected: Any) -> None:
    got = apply(step, value)
    assert got == expected and type(got) is type(expected)


def test_a_bound_reference_survives_the_pipe_to_the_mapping_helper(apply: Callable[[Any, Any], Any]) -> None:
    got = apply({"bound": "companies"}, "K-17")
    assert type(pickle.loads(pickle.dumps(got))) is BoundId


BAD = [
    ("phone", "030 1234567", "not a phone number"),  # no region and no +country code
    ({"phone": "DE"}, "12", "not a valid phone number"),
    ({"phone": "DE"}, "call me", "not a phone number"),
    ({"phone": "DE"}, ["0301234567"], "needs text, got list"),
    ({"phone": "DE"}, True, "needs text, got bool"),
    ("email", "not-an-address", "not an e-mail address"),
    ("email", "a@b@c.de", "not an e-mail address"),
    ("email", 5, "needs text, got int"),
    ("currency", "EURO", "is not an ISO 4217 currency code"),
    ("currency", "XYZ", "is not an ISO 4217 currency code"),
    ("currency", 1.5, "needs text, got float"),
    ("country", "Atlantis", "is not a known country"),
    ("country", [1], "needs text, got list"),
    ({"bound": "companies"}, "  ", "an empty external id"),
    ({"bound": "companies"}, True, "needs text, got bool"),
    ({"bound": "companies"}, {"id": 1}, "needs text, got dict"),
]


@pytest.mark.parametrize(("step", "value", "problem"), BAD)
def test_bad_values_raise_mapping_error(apply: Callable[[Any, Any], Any], step: Any, value: Any, problem: str) -> None:
    with pytest.raises(MappingError) as info:
        apply(step, value)
    assert problem in info.value.problem


OPTIONS = [
    ({"phone": {"region": "XX"}}, "phone.region: unknown region 'XX'"),
    ({"phone": {"region": "DE", "format": "e.164"}}, "phone.format: must be one of e164, international, national"),
    ({"phone": {"check": "strict"}}, "phone.check: must be one of valid, possible"),
    ({"email": {"deliverable": True}}, "email: email takes no options"),
    ({"currency": "EUR"}, "currency: currency takes no options"),
    ({"country": "iso2"}, "country.format: must be one of alpha2, alpha3, name"),
    ("bound", "transform[0].stream: bound needs option 'stream'"),
    ({"bound": {"stream": ""}}, "bound.stream: must be non-empty text"),
    ({"bound": {"module": "accounts"}}, "bound.module: unknown option"),
]


@pytest.mark.parametrize(("step", "message"), OPTIONS)
def test_bad_options_are_spec_problems(option_problems: Callable[[Any], list[str]], step: Any, message: str) -> None:
    problems = option_problems(step)
    assert len(problems) == 1
    assert message in problems[0]
