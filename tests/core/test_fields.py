"""Field validation: each kind with good and bad values, the e-mail fast path against the library, and the
quick path against the general steps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.fields import FieldDef, _email, _email_full, known_canonical
from hub.errors import ValidationError

GOOD = [
    ("email", " Li.Wei@Example.COM ", "Li.Wei@example.com"),
    ("phone", "+86 138 0013 8000", "+8613800138000"),
    ("url", "www.example.cn", "https://www.example.cn"),
    ("integer", "42", 42),
    ("integer", "4.0", 4),
    ("decimal", "1234.5", Decimal("1234.5")),
    ("boolean", "是", True),
    ("boolean", "No", False),
    ("date", "2026-11-25", dt.date(2026, 11, 25)),
    ("datetime", "2026-11-25T10:00:00+08:00", dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)),
    ("country", "deu", "DE"),
    ("currency", "cny", "CNY"),
    ("language", "zh_CN", "zh-CN"),
    ("tags", "vip; new;vip", ["new", "vip"]),
]
BAD = [
    ("email", "foo@", "'foo@' is not a valid e-mail address"),
    ("phone", "12", "'12' is not a phone number"),
    ("url", "not a url", "'not a url' is not a web address"),
    ("url", "https://[::1/x", "'https://[::1/x' is not a web address"),
    ("integer", "4.5", "'4.5' is not a whole number"),
    ("integer", "Infinity", "'Infinity' is not a whole number"),
    ("integer", "sNaN", "'sNaN' is not a whole number"),
    ("decimal", "1,5", "'1,5' is not a number"),
    ("boolean", "maybe", "'maybe' is not yes or no"),
    ("date", "25.11.2026", "'25.11.2026' is not a date (YYYY-MM-DD)"),
    ("datetime", "yesterday", "'yesterday' is not a date and time (ISO 8601)"),
    ("country", "XX", "'XX' is not an ISO 3166 country code"),
    ("currency", "EURO", "'EURO' is not an ISO 4217 currency code"),
]


@pytest.mark.parametrize(("kind", "value", "expected"), GOOD)
def test_good_values_are_normalised(kind: str, value: str, expected: object) -> None:
    assert FieldDef("f", kind=kind).clean("m", value) == expected


@pytest.mark.parametrize(("kind", "value", "problem"), BAD)
def test_bad_values_name_module_field_and_problem(kind: str, value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as err:
        FieldDef("f", kind=kind).clean("m", value)
    assert str(err.value) == f"m.f: {problem}"


def test_choice_pattern_length_required() -> None:
    status = FieldDef("status", kind="choice", choices=("open", "closed"))
    with pytest.raises(ValidationError, match=r"^t.status: 'done' is not one of open, closed$"):
        status.clean("t", "done")
    code = FieldDef("code", pattern=r"[A-Z]{3}")
    with pytest.raises(ValidationError, match="does not match the pattern"):
        code.clean("t", "abcd")
    with pytest.raises(ValidationError, match="is 5 characters long; at most 3"):
        FieldDef("x", max_length=3).clean("t", "abcde")
    with pytest.raises(ValidationError, match=r"^t.x: is required$"):
        FieldDef("x", required=True).clean("t", "")


def test_phone_region_for_local_numbers() -> None:
    assert FieldDef("p", kind="phone", default_region="CN").clean("m", "138 0013 8000") == "+8613800138000"
    with pytest.raises(ValidationError):
        FieldDef("p", kind="phone").clean("m", "138 0013 8000")


LOCAL = st.text(alphabet="abcXYZ019.+-_!#'~\"() @", min_size=0, max_size=12)
DOMAIN = st.sampled_from(["example.com", "EXAMPLE.com", "sub.example.co.uk", "localhost", "b.invalid", "b.test",
                          "-b.com", "b..com", "123", "xn--bcher-kva.ch", "bücher.de", "a", "[1.2.3.4]", "b.c0m"])


@settings(max_examples=400, deadline=None)
@given(local=LOCAL, domain=DOMAIN)
def test_email_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    try:
        expected: str | None = _email_full.__wrapped__(address)
    except Exception:
        expected = None
    try:
        got: str | None = _email(address)
    except Exception:
        got = None
    assert got == expected, address


def test_email_library_is_the_reference() -> None:
    assert email_validator.validate_email("a@b.com", check_deliverability=False).normalized == _email("a@b.com")


# -- web addresses: the plain fast path returns what urlsplit would --------------------------------------------
_URL_CHARS = "abcXYZ019.-_~/%:?#@ "


@settings(max_examples=800, deadline=None)
@given(st.one_of(st.text(alphabet=_URL_CHARS, max_size=30).map(lambda t: "https://" + t),
                 st.text(alphabet=_URL_CHARS, max_size=30).map(lambda t: "http://" + t),
                 st.text(alphabet=_URL_CHARS + "HTPS", max_size=40)))
def test_plain_web_addresses_are_what_urlsplit_gives(text: str) -> None:
    from urllib.parse import urlsplit

    from hub.core.fields import _PLAIN_URL

    f = FieldDef("website", "url")
    try:
        got: str | None = f.clean("accounts", text)
    except ValidationError:
        got = None
    if _PLAIN_URL.fullmatch(text.strip()):
        assert got == urlsplit(text.strip()).geturl()


def test_web_addresses() -> None:
    f = FieldDef("website", "url")
    assert f.clean("accounts", " https://www.company1.de ") == "https://www.company1.de"
    assert f.clean("accounts", "https://shop.example.cn:8443/a/b-c_d~e%20") == "https://shop.example.cn:8443/a/b-c_d~e%20"
    assert f.clean("accounts", "HTTPS://Example.com/x?y=1") == "https://Example.com/x?y=1"
    assert f.clean("accounts", "example.com") == "https://example.com"
    with pytest.raises(ValidationError, match="not a web address"):
        f.clean("accounts", "ftp://example.com")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12), st.sampled_from([None, 5]), st.sampled_from([None, r"[a-z]*"]),
       st.booleans())
def test_plain_text_is_kept_as_it_is_within_its_limits(value: str, max_length: int | None, pattern: str | None,
                                                      required: bool) -> None:
    f = FieldDef("label", "text", required=required, max_length=max_length, pattern=pattern)
    too_long = max_length is not None and len(value) > max_length
    mismatch = pattern is not None and not all("a" <= c <= "z" for c in value)
    nul = "\x00" in value  # PostgreSQL cannot store it: refused on every database
    if value == "":
        if required:
            with pytest.raises(ValidationError, match="is required"):
                f.clean("m", value)
        else:
            assert f.clean("m", value) is None
    elif too_long or mismatch or nul:
        with pytest.raises(ValidationError, match=r"m\.label"):
            f.clean("m", value)
    else:
        assert f.clean("m", value) == value


# -- the quick path: the same answers as the general steps ------------------------------------------------------
#: A pattern every value matches: it turns the quick path off and changes nothing else.
_ANYTHING = r"(?s).*"
_VALUES = st.one_of(
    st.text(max_size=8), st.sampled_from(["open", " open", "closed", "DE", "de", "deu", "EUR", "eur", "XX", "中国",
                                          "+8613800138000", "sales.1@example.com", "https://www.example.cn",
                                          "https://Example.cn", "a" * 70, " ", ""]),
    st.integers(-10**16, 10**16), st.booleans(), st.none(),
    st.decimals(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
    st.lists(st.sampled_from(["vip", " new", "", "x" * 65, "eu"]), max_size=3), st.lists(st.integers(), max_size=2),
)


@settings(max_examples=1500, deadline=None)
@given(kind=st.sampled_from(["text", "longtext", "email", "phone", "url", "integer", "decimal", "boolean", "date",
                             "choice", "country", "currency", "tags"]),
       max_length=st.sampled_from([None, 3, 20]), value=_VALUES)
def test_the_quick_path_answers_as_the_general_steps(kind: str, max_length: int | None, value: object) -> None:
    known_canonical("phone", "+8613800138000")
    known_canonical("email", "sales.1@example.com")
    choices = ("open", "closed", " spaced") if kind == "choice" else ()
    quick = FieldDef("f", kind, max_length=max_length, choices=choices)
    general = FieldDef("f", kind, max_length=max_length, choices=choices, pattern=_ANYTHING)
    try:
        expected = general.clean("m", value)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as err:
            quick.clean("m", value)
        assert str(err.value) == str(exc)
        return
    got = quick.clean("m", value)
    assert got == expected and type(got) is type(expected)


def test_a_field_definition_pickles_without_its_quick_path() -> None:
    import pickle

    f = FieldDef("status", "choice", choices=("open", "closed"))
    assert f.clean("m", "open") == "open"  # the quick path is made
    copy = pickle.loads(pickle.dumps(f))
    assert copy == f and copy.clean("m", "closed") == "closed"
    with pytest.raises(ValidationError, match="is not one of"):
        copy.clean("m", "done")
