"""The e-mail fast path for plainly valid ASCII domains never disagrees with email-validator."""

from __future__ import annotations

from typing import Any

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core import fields
from hub.core.fields import FieldDef, _plain_domain
from hub.errors import ValidationError

EMAIL = FieldDef(name="email", kind="email")
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
LABEL_CHARS = LETTERS + "0123456789-"
SPECIAL = list(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def library(address: str) -> str | None:
    """email-validator's normalised address, or None when it rejects it."""
    try:
        return str(email_validator.validate_email(address, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError:
        return None


def cleaned(address: str) -> str | None:
    try:
        result: str | None = EMAIL.clean("contacts", address)
    except ValidationError:
        return None
    return result


def _fixed_length(n: int) -> str:
    """A domain of exactly ``n`` characters: labels of 63 and a letters-only top-level label."""
    labels: list[str] = []
    while n - sum(len(x) + 1 for x in labels) > 63 + 1 + 3:
        labels.append("a" * 62 + str(len(labels) % 10))
    tld = n - sum(len(x) + 1 for x in labels)
    return ".".join([*labels, "c" * tld])


LABEL = st.one_of(
    st.text(LABEL_CHARS, min_size=1, max_size=8),
    st.integers(61, 65).flatmap(lambda n: st.text(LABEL_CHARS, min_size=n, max_size=n)),  # around the 63 limit
    st.sampled_from(["xn--bcher-kva", "Xn--Mnchen-3ya", "xn--", "ab--cd", "a--b", "a-", "-a", "", "1", "ü", "\u212a"]),
)
TLD = st.one_of(
    st.text(LETTERS, min_size=1, max_size=4),
    st.sampled_from(SPECIAL),
    st.sampled_from(SPECIAL).map(str.upper),
    st.sampled_from(["LocalHost", "Onion", "com", "DE", "c0m", "1", "co-uk", "xn--p1ai", "museum"]),
    LABEL,
)
DOMAIN = st.one_of(
    st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, max_size=5), TLD),
    st.builds(lambda n, upper: _fixed_length(n).upper() if upper else _fixed_length(n), st.integers(248, 258),
              st.booleans()),  # around the 253 limit
    st.builds(lambda stem, special: f"{stem}.{special}" if stem else special, st.text(LABEL_CHARS, max_size=6),
              st.sampled_from(SPECIAL)),
    st.text(LABEL_CHARS + ".", max_size=20),
)
LOCAL = st.one_of(
    st.sampled_from(["Info", "INFO", "info", "Postmaster", "Sales", "Sales.Team", "li.wei", "a", "x" * 64, "x" * 65]),
    st.text("abcXYZ019.+-_!#'~\"()<>\\ @ü", max_size=12),
)


@settings(max_examples=1500, deadline=None)
@given(domain=DOMAIN)
def test_a_domain_the_fast_path_accepts_the_library_accepts_the_same(domain: str) -> None:
    fast = _plain_domain(domain)
    if fast is not None:
        result = email_validator.validate_email(f"a@{domain}", check_deliverability=False)
        assert result.domain == result.ascii_domain == fast, domain
    expected = library(f"a@{domain}")
    try:
        got: str | None = f"a@{fields._email_domain(domain)}"
    except fields.Invalid:
        got = None
    assert got == expected, domain


@settings(max_examples=1500, deadline=None)
@given(local=LOCAL, domain=DOMAIN)
def test_a_field_cleans_an_address_as_the_library_does(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert cleaned(address) == library(address.strip()), address


@pytest.mark.parametrize(("address", "expected"), [
    (" Sales.Team@Company12.DE ", "Sales.Team@company12.de"),
    ("Li.Wei@Sub.Example.CO.UK", "Li.Wei@sub.example.co.uk"),
    ("Info@Company12.DE", "info@company12.de"),  # RFC 2142 names are case-insensitive: the library lower-cases them
    ("POSTMASTER@a-1.b2.org", "postmaster@a-1.b2.org"),
])
def test_plain_domains_are_lower_cased_without_the_library(
    monkeypatch: pytest.MonkeyPatch, address: str, expected: str
) -> None:
    assert library(address.strip()) == expected
    calls: list[Any] = []
    monkeypatch.setattr(email_validator, "validate_email", lambda *a, **k: calls.append(a))
    monkeypatch.setitem(fields._CANONICAL, "email", {})
    assert EMAIL.clean("contacts", address) == expected
    assert calls == []


@pytest.mark.parametrize("address", ["x@a--b.com", "x@münchen.de", "x@xn--mnchen-3ya.de", "x@\u212aa.com",
                                     "x@Ab--cd.com", "x@b.c0m"])
def test_other_domains_are_left_to_the_library(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    expected = library(address)
    fields._email_domain_checked.cache_clear()
    fields._email_full.cache_clear()
    monkeypatch.setitem(fields._CANONICAL, "email", {})
    calls: list[str] = []
    validate = email_validator.validate_email

    def spy(email: str, **kwargs: Any) -> Any:
        calls.append(email)
        return validate(email, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", spy)
    assert cleaned(address) == expected
    assert calls


def test_examples_from_the_brief() -> None:
    assert EMAIL.clean("contacts", "x@a--b.com") == "x@a--b.com"
    assert EMAIL.clean("contacts", "x@münchen.de") == library("x@münchen.de") == "x@münchen.de"
    assert EMAIL.clean("contacts", "x@xn--mnchen-3ya.de") == "x@münchen.de"
    for address in ("x@localhost", "x@foo.test", "x@foo.TEST", "x@a.b.onion", "x@foo.invalid"):
        with pytest.raises(ValidationError) as err:
            EMAIL.clean("contacts", address)
        assert str(err.value) == f"contacts.email: {address!r} is not a valid e-mail address"


def test_special_use_names_come_from_the_library() -> None:
    assert SPECIAL  # e.g. arpa, invalid, local, localhost, onion, test
    for name in SPECIAL:
        assert _plain_domain(name) is None
        assert _plain_domain(f"mail.{name}") is None
        assert _plain_domain(f"mail.{name}x") == f"mail.{name}x"  # only the name itself and what is under it


def test_length_limits() -> None:
    assert _plain_domain(_fixed_length(252)) == _fixed_length(252)
    assert _plain_domain(_fixed_length(253)) is None  # a valid domain, but no address can have it (254 at most)
    assert library(f"a@{_fixed_length(252)}") == f"a@{_fixed_length(252)}"
    assert library(f"a@{_fixed_length(253)}") is None
    assert _plain_domain(_fixed_length(254)) is None
    assert _plain_domain(f"{'a' * 63}.com") == f"{'a' * 63}.com"
    assert _plain_domain(f"{'a' * 64}.com") is None
