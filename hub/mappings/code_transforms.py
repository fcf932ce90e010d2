"""Built-in identifier transforms: phone (E.164 via phonenumbers), email, currency (ISO 4217), country, and
bound (another stream's record, by its external id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import email_validator
import phonenumbers
import pycountry

from hub.core.binding import BoundId
from hub.core.fields import known_canonical
from hub.mappings.options import REQUIRED, choice_option, no_options, read_options, text_option
from hub.mappings.problems import did_you_mean
from hub.mappings.registry import OptionError, Transform
from hub.mappings.text_transforms import need_text

_PHONE_FORMATS = {
    "e164": phonenumbers.PhoneNumberFormat.E164,
    "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    "national": phonenumbers.PhoneNumberFormat.NATIONAL,
}
_CACHE_LIMIT = 4096


def phone(options: Any) -> Transform:
    opts = read_options("phone", options, {"region": None, "format": "e164", "check": "valid"}, "region")
    region = text_option("region", opts["region"], allow_none=True)
    if region is not None:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            hint = did_you_mean(region, phonenumbers.SUPPORTED_REGIONS)
            raise OptionError("region", f"unknown region {opts['region']!r}{hint}")
    style = _PHONE_FORMATS[choice_option("format", opts["format"], tuple(_PHONE_FORMATS))]
    e164 = style == phonenumbers.PhoneNumberFormat.E164
    strict = choice_option("check", opts["check"], ("valid", "possible")) == "valid"
    parse = phonenumbers.parse
    is_ok = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    write = phonenumbers.format_number

    def to_phone(value: Any) -> Any:
        if value.__class__ is not str:
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            else:
                need_text(value)
        try:
            number = parse(value, region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"not a phone number: {exc._msg}") from None
        if not is_ok(number):
            raise ValueError(f"not a {'valid' if strict else 'possible'} phone number")
        result = write(number, style)
        if e164:
            known_canonical("phone", result)  # the store will not parse it a second time
        return result

    return to_phone


def email(options: Any) -> Transform:
    no_options("email", options)
    validate = email_validator.validate_email

    def to_email(value: Any) -> Any:
        try:
            result = validate(need_text(value), check_deliverability=False).normalized
        except email_validator.EmailNotValidError as exc:
            raise ValueError(f"not an e-mail address: {exc}") from None
        known_canonical("email", result)  # the store will not validate it a second time
        return str(result)

    return to_email


def _cached(resolve: Callable[[str], str]) -> Transform:
    cache: dict[str, str] = {}

    def lookup(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:03d}"
        key = need_text(value).strip()
        found = cache.get(key)
        if found is None:
            found = resolve(key)
            if len(cache) < _CACHE_LIMIT:
                cache[key] = found
        return found

    return lookup


def currency(options: Any) -> Transform:
    no_options("currency", options)

    def resolve(key: str) -> str:
        found = pycountry.currencies.get(numeric=key) if key.isdigit() else None
        if found is None and len(key) == 3 and key.isalpha():
            found = pycountry.currencies.get(alpha_3=key.upper())
        if found is None:
            raise ValueError(f"{key!r} is not an ISO 4217 currency code")
        return str(found.alpha_3)

    return _cached(resolve)


def country(options: Any) -> Transform:
    opts = read_options("country", options, {"format": "alpha2"}, shorthand="format")
    attribute = {"alpha2": "alpha_2", "alpha3": "alpha_3", "name": "name"}[
        choice_option("format", opts["format"], ("alpha2", "alpha3", "name"))
    ]

    def resolve(key: str) -> str:
        try:
            found = pycountry.countries.lookup(key)
        except LookupError:
            raise ValueError(f"{key!r} is not a known country") from None
        return str(getattr(found, attribute))

    return _cached(resolve)


def bound(options: Any) -> Transform:
    """``{bound: STREAM}``: the value is the external id of a record of ``STREAM`` of the same connector
    instance; the hub record bound to it is what the field refers to (resolved by the run)."""
    stream = text_option("stream", read_options("bound", options, {"stream": REQUIRED}, "stream")["stream"])

    def to_bound(value: Any) -> BoundId:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = need_text(value).strip()
        if not text:
            raise ValueError("an empty external id")
        return BoundId(stream, text)

    return to_bound


FACTORIES: dict[str, Callable[[Any], Transform]] = {
    "bound": bound,
    "phone": phone,
    "email": email,
    "currency": currency,
    "country": country,
}
