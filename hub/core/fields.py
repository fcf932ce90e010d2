"""Field definitions and the validation that turns an input value into a stored one.

A field's rules come from its column (type, nullability, length) and the column's ``info``
(kind, choices, pattern, sensitive, reference), or, for custom fields, from their definition row.
``FieldDef.clean`` is what the write path calls: it accepts the forms an API, a CSV file or a
mapping produce (strings included) and returns the canonical Python value, or raises
ValidationError naming ``module.field`` and the problem.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlsplit

import email_validator
import phonenumbers
import pycountry
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from hub.errors import ValidationError

#: Every kind of field a module or custom field can have.
KINDS = (
    "text", "longtext", "email", "phone", "url", "integer", "decimal", "boolean", "date", "datetime",
    "choice", "country", "currency", "language", "reference", "user", "team", "tags", "json",
)
#: Kinds a custom field may take (references to other records are built-in only).
CUSTOM_KINDS = (
    "text", "longtext", "email", "phone", "url", "integer", "decimal", "boolean", "date", "datetime",
    "choice", "country", "currency",
)
# A hub checks numbers from many regions: keep every compiled metadata pattern instead of re-compiling them
# through the re module's small cache (about a tenth of the time of checking a number).
phonenumbers.enable_pattern_cache()

_TRUE = {"true", "t", "yes", "y", "1", "on", "是"}
_FALSE = {"false", "f", "no", "n", "0", "off", "否"}


#: Values known to be in canonical form already (an E.164 number, a normalised e-mail address), because
#: the store or a mapping transform produced them with the same library. Checking one again would give
#: it back unchanged, so it is accepted as it is. Bounded; cleared when full.
_CANONICAL: dict[str, dict[str, None]] = {"phone": {}, "email": {}}
_CANONICAL_MAX = 50_000


def known_canonical(kind: str, value: str) -> None:
    """Remember that ``value`` is a canonical ``kind`` value (``phone`` E.164 or ``email`` normalised)."""
    if value != value.strip():  # never the case for what the libraries give; the quick path relies on it
        return
    seen = _CANONICAL[kind]
    if len(seen) >= _CANONICAL_MAX:
        seen.clear()
    seen[value] = None


class Invalid(ValueError):
    """A value a field rejects; the write path adds the module and field name."""


#: What an error text says in place of a sensitive field's value.
SENSITIVE_VALUE = "(sensitive value withheld)"


@dataclass(frozen=True)
class FieldDef:
    """One field of a module: how it is validated, stored and shown."""

    name: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    sensitive: bool = False
    max_length: int | None = None
    ref_module: str | None = None
    readonly: bool = False
    custom: bool = False
    label: str = ""
    default_region: str | None = field(default=None, compare=False)

    def clean(self, module: str, value: Any) -> Any:
        """The canonical stored value of ``value``, or ValidationError ``module.field: problem``."""
        quick = self.quick(value)
        if quick is not UNSURE:
            return quick
        if isinstance(value, str) and self.kind not in ("text", "longtext") and not value.strip():
            value = None
        if value is None or value == "":
            if self.required:
                raise ValidationError(f"{module}.{self.name}", "is required")
            return None
        if _has_nul(value):
            raise ValidationError(f"{module}.{self.name}", NUL_PROBLEM)
        try:
            cleaned = _CLEANERS[self.kind](self, value)
        except Invalid as exc:
            raise ValidationError(f"{module}.{self.name}", self.unquoted(str(exc), value)) from None
        if isinstance(cleaned, str):
            if self.max_length is not None and len(cleaned) > self.max_length:
                raise ValidationError(
                    f"{module}.{self.name}", f"is {len(cleaned)} characters long; at most {self.max_length}"
                )
            if self.pattern and not _regex(self.pattern).fullmatch(cleaned):
                shown = "the value" if self.sensitive else repr(cleaned)
                raise ValidationError(f"{module}.{self.name}", f"{shown} does not match the pattern {self.pattern!r}")
        return cleaned

    def unquoted(self, problem: str, value: Any) -> str:
        """``problem`` as it may be kept and shown: for a sensitive field, without the value it quotes.

        Error texts end up in places the field's encryption does not reach (dead letters, import reports,
        logs), so a sensitive value never goes into one.
        """
        if not self.sensitive or value is None:
            return problem
        for quoted in sorted({repr(value), repr(str(value)), str(value)}, key=len, reverse=True):
            if quoted:
                problem = problem.replace(quoted, SENSITIVE_VALUE)
        return problem

    @cached_property
    def quick(self) -> Callable[[Any], Any]:
        """The field's quick path: ``value -> `` its canonical value when it is already in canonical form,
        else ``UNSURE`` (then ``clean`` decides). ``clean`` tries it first; a hot loop may call it itself."""
        return _quick_path(self)

    def __getstate__(self) -> dict[str, Any]:  # the quick path is a closure: made again after unpickling
        return {k: v for k, v in self.__dict__.items() if k != "quick"}


#: Why a value holding U+0000 is refused: PostgreSQL cannot store it in text or JSON (SQLite could), so
#: every database refuses it alike, here, with the field named.
NUL_PROBLEM = "contains a NUL character (U+0000), which cannot be stored"


def _has_nul(value: Any) -> bool:
    """Whether ``value`` (text, or a list or object of them, as tags and JSON fields hold) contains U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _text(f: FieldDef, v: Any) -> str:
    if isinstance(v, bool | dict | list):
        raise Invalid(f"{v!r} is not text")
    return str(v)


#: An ASCII dot-atom local part (RFC 5322): what nearly every real address has.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
#: Local parts the library lower-cases because RFC 2142 makes them case-insensitive (``Info@`` is ``info@``).
_CASE_INSENSITIVE_LOCAL = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)

#: A plainly valid lower-case ASCII domain: labels of letters, digits and inner hyphens, 1 to 63 long, at least
#: one dot, and a top-level label of letters only. The caller also rules out "--" anywhere (Punycode "xn--" and
#: the reserved R-LDH labels of RFC 5890, which the library decodes or rejects), a length over 252, and the
#: special-use names below.
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
#: Names (and everything under them) the library rejects as special-use; read from it, not copied.
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_SUFFIXES = tuple(f".{name}" for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
#: The library allows a domain of 253, but an address is at most 254 with at least "a@" before the domain: so
#: ``_email_domain`` (which asks the library about ``a@domain``) gives the same verdict for every length.
_PLAIN_DOMAIN_MAX_LENGTH = 252


def _plain_domain(domain: str) -> str | None:
    """The library's normalised form of ``domain`` when it is plainly valid ASCII (it is lower-cased), else None.

    A subset of what email-validator accepts with ``check_deliverability=False``: for such a domain its UTS-46
    mapping only lower-cases, every syntax, length and special-use check passes, and with no "xn--" label there is
    no IDNA round trip. Anything else is None, and the library decides (with its own messages).
    """
    if not domain.isascii() or len(domain) > _PLAIN_DOMAIN_MAX_LENGTH or "--" in domain:
        return None
    lowered = domain.lower()
    if not _PLAIN_DOMAIN.fullmatch(lowered) or lowered in _SPECIAL_USE or lowered.endswith(_SPECIAL_USE_SUFFIXES):
        return None
    return lowered


@lru_cache(maxsize=4096)  # distinct customers rarely repeat: a big cache would only grow the memory
def _email_full(v: str) -> str:
    try:
        result = email_validator.validate_email(v, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise Invalid(f"{v!r} is not a valid e-mail address") from None
    return str(result.normalized)


@lru_cache(maxsize=16384)  # only domains that are not plainly valid (IDN, Punycode, unusual or bad ones) get here
def _email_domain_checked(domain: str) -> str:
    return _email_full(f"a@{domain}").rsplit("@", 1)[1]


def _email_domain(domain: str) -> str:
    """The normalised domain, or Invalid: a plainly valid ASCII domain here, any other by the library."""
    plain = _plain_domain(domain)
    return plain if plain is not None else _email_domain_checked(domain)


def _email(v: str) -> str:
    """email-validator's verdict and normalisation; a domain the library would only lower-case is checked here.

    A plain ASCII local part is checked here against the same dot-atom grammar the library uses (and lower-cased,
    as the library does, when it is an RFC 2142 name such as ``info``); a plainly valid ASCII domain is checked
    and lower-cased here, any other domain by the library itself (cached); anything else goes to the library whole.
    """
    local, at, domain = v.rpartition("@")
    if at and len(local) <= 64 and len(v) <= 254 and _LOCAL.fullmatch(local):
        if local.lower() in _CASE_INSENSITIVE_LOCAL:
            local = local.lower()
        try:
            return f"{local}@{_email_domain(domain)}"
        except Invalid:
            raise Invalid(f"{v!r} is not a valid e-mail address") from None
    return _email_full(v)


def _clean_email(f: FieldDef, v: Any) -> str:
    text = _text(f, v).strip()
    if text in _CANONICAL["email"]:
        return text
    result = _email(text)
    known_canonical("email", result)
    return result


@lru_cache(maxsize=4096)
def _phone(v: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(v, region)
    except phonenumbers.NumberParseException:
        raise Invalid(f"{v!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise Invalid(f"{v!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _clean_phone(f: FieldDef, v: Any) -> str:
    text = _text(f, v).strip()
    if text in _CANONICAL["phone"]:
        return text
    result = _phone(text, f.default_region)
    known_canonical("phone", result)
    return result


#: A web address ``urlsplit(...).geturl()`` gives back unchanged: lower-case scheme and host, optional port, and a
#: path of unreserved characters (the common case, checked without splitting).
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/%-]*)?")


def _url(f: FieldDef, v: Any) -> str:
    text = _text(f, v).strip()
    if _PLAIN_URL.fullmatch(text):
        return text
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
    except ValueError:  # an unbalanced IPv6 bracket
        raise Invalid(f"{text!r} is not a web address") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise Invalid(f"{text!r} is not a web address")
    return parts.geturl()


def _integer(f: FieldDef, v: Any) -> int:
    if isinstance(v, bool):
        raise Invalid(f"{v!r} is not a whole number")
    if isinstance(v, int):
        return v
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise Invalid(f"{v!r} is not a whole number") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise Invalid(f"{v!r} is not a whole number")
    return int(d)


def _decimal(f: FieldDef, v: Any) -> Decimal:
    if isinstance(v, bool):
        raise Invalid(f"{v!r} is not a number")
    try:
        d = Decimal(str(v).strip()) if not isinstance(v, Decimal) else v
    except InvalidOperation:
        raise Invalid(f"{v!r} is not a number") from None
    if not d.is_finite():
        raise Invalid(f"{v!r} is not a finite number")
    if abs(d) >= Decimal(10) ** 14:
        raise Invalid(f"{v!r} is too large")
    exponent = d.as_tuple().exponent
    return d.quantize(Decimal("0.0001")) if isinstance(exponent, int) and exponent < -4 else d


def _boolean(f: FieldDef, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(f"{v!r} is not yes or no")


def _date(f: FieldDef, v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v).strip())
    except ValueError:
        raise Invalid(f"{v!r} is not a date (YYYY-MM-DD)") from None


def _datetime(f: FieldDef, v: Any) -> dt.datetime:
    if not isinstance(v, dt.datetime):
        try:
            v = dt.datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"{v!r} is not a date and time (ISO 8601)") from None
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.UTC)
    return v.astimezone(dt.UTC)


def _choice(f: FieldDef, v: Any) -> str:
    text = _text(f, v).strip()
    if text not in f.choices:
        raise Invalid(f"{text!r} is not one of {', '.join(f.choices)}")
    return text


@lru_cache(maxsize=1024)
def _country(v: str) -> str:
    match = pycountry.countries.get(alpha_2=v.upper()) if len(v) == 2 else None
    if match is None and len(v) == 3:
        match = pycountry.countries.get(alpha_3=v.upper())
    if match is None:
        raise Invalid(f"{v!r} is not an ISO 3166 country code")
    return str(match.alpha_2)


@lru_cache(maxsize=1024)
def _currency(v: str) -> str:
    if pycountry.currencies.get(alpha_3=v.upper()) is None:
        raise Invalid(f"{v!r} is not an ISO 4217 currency code")
    return v.upper()


@lru_cache(maxsize=1024)
def _language(v: str) -> str:
    primary = v.replace("_", "-").split("-")[0].lower()
    if pycountry.languages.get(alpha_2=primary) is None:
        raise Invalid(f"{v!r} is not a language code (ISO 639-1, e.g. en or zh-CN)")
    return v.replace("_", "-")


def _uuid(f: FieldDef, v: Any) -> uuid.UUID:
    if isinstance(v, uuid.UUID):
        return v
    try:
        return uuid.UUID(str(v).strip())
    except ValueError:
        raise Invalid(f"{v!r} is not a record id") from None


def _tags(f: FieldDef, v: Any) -> list[str]:
    items: Sequence[Any] = v if isinstance(v, list | tuple) else re.split(r"[;,]", str(v))
    tags = sorted({str(t).strip() for t in items if str(t).strip()})
    if any(len(t) > 64 for t in tags):
        raise Invalid("a tag is longer than 64 characters")
    return tags


def _json(f: FieldDef, v: Any) -> Any:
    if not isinstance(v, dict | list):
        raise Invalid(f"{v!r} is not a JSON object or list")
    return v


_CLEANERS: dict[str, Callable[[FieldDef, Any], Any]] = {
    "text": lambda f, v: _text(f, v),
    "longtext": lambda f, v: _text(f, v),
    "email": _clean_email,
    "phone": _clean_phone,
    "url": _url,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "choice": _choice,
    "country": lambda f, v: _country(_text(f, v).strip()),
    "currency": lambda f, v: _currency(_text(f, v).strip()),
    "language": lambda f, v: _language(_text(f, v).strip()),
    "reference": _uuid,
    "user": _uuid,
    "team": _uuid,
    "tags": _tags,
    "json": _json,
}


# -- the quick path -------------------------------------------------------------------------------------
#: What a quick path answers when it cannot tell: the full steps of ``FieldDef.clean`` decide.
UNSURE: Any = object()
_DECIMAL_LIMIT = Decimal(10) ** 14


def _quick_path(f: FieldDef) -> Callable[[Any], Any]:
    """``f``'s quick path: for a value already in its canonical form (what mappings, forms and the store's
    own round trips nearly always give) the value itself, found with a type check and a lookup or two
    instead of the general steps; for anything else ``UNSURE``. Whatever it returns is exactly what
    ``FieldDef.clean`` would return; every problem is left to the general steps, which name it."""
    limit, kind = f.max_length, f.kind
    if f.pattern is not None:
        return lambda v: UNSURE

    def fits(v: str) -> bool:
        return limit is None or len(v) <= limit

    if kind in ("text", "longtext"):
        return lambda v: (v if type(v) is str and v and (limit is None or len(v) <= limit) and "\x00" not in v
                          else UNSURE)
    if kind in ("email", "phone"):
        known = _CANONICAL[kind]  # canonical values carry no surrounding space: strip would keep them
        return lambda v: v if type(v) is str and v in known and (limit is None or len(v) <= limit) else UNSURE
    if kind == "url":
        plain = _PLAIN_URL.fullmatch
        return lambda v: v if type(v) is str and plain(v) and (limit is None or len(v) <= limit) else UNSURE
    if kind == "choice":
        ok = frozenset(c for c in f.choices if c and c == c.strip() and fits(c))
        return lambda v: v if type(v) is str and v in ok else UNSURE
    if kind == "date":
        return lambda v: v if type(v) is dt.date else UNSURE
    if kind == "integer":
        return lambda v: v if type(v) is int else UNSURE
    if kind == "boolean":
        return lambda v: v if type(v) is bool else UNSURE
    if kind == "decimal":
        def decimal(v: Any) -> Any:
            if type(v) is not Decimal or not v.is_finite() or abs(v) >= _DECIMAL_LIMIT:
                return UNSURE
            exponent = v.as_tuple().exponent
            return v if isinstance(exponent, int) and exponent >= -4 else UNSURE
        return decimal
    if kind in ("country", "currency"):
        known_code = _country if kind == "country" else _currency

        def code(v: Any) -> Any:
            if type(v) is not str or len(v) not in (2, 3) or not v.isalpha():
                return UNSURE
            try:
                found = known_code(v)
            except Invalid:
                return UNSURE
            return found if fits(found) else UNSURE
        return code
    if kind == "tags":
        def tags(v: Any) -> Any:
            if type(v) is not list:
                return UNSURE
            if not v:
                return []  # no tags (what a mapping's split gives for an empty source): stored as []
            if any(type(t) is not str or "\x00" in t for t in v):
                return UNSURE
            try:
                return _tags(f, v)
            except Invalid:
                return UNSURE
        return tags
    return lambda v: UNSURE


def to_json(value: Any) -> Any:
    """A stored value in JSON form (for audit, custom fields, hashing and export)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
