"""The customer records of ``bench/sync.py`` and the hand-written transform its baselines use.

``make_record`` makes customer ``i`` (companies in six countries, phone numbers in their local formats,
e-mail addresses and web sites in mixed case, amounts with thousands separators, dates in two formats),
``write_files`` writes N of them as JSON Lines files, ``read_records`` reads them back, and ``transform``
does by hand what the benchmark's Hub mapping does (``sync.check_mapping`` holds the two to each other).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import phonenumbers

PATTERN = "customers-*.jsonl"


# -- the same mapping, by hand ----------------------------------------------------------------------------
_COUNTRIES = {"Germany": "DE", "Deutschland": "DE", "China": "CN", "中国": "CN", "United States": "US",
              "USA": "US", "United Kingdom": "GB", "France": "FR"}
_TYPES = {"C": "customer", "P": "partner", "V": "vendor", "X": "prospect"}
_STATES = {"A": "active", "I": "inactive", "B": "blocked"}
_E164 = phonenumbers.PhoneNumberFormat.E164
phonenumbers.enable_pattern_cache()  # as Hub does: the baselines get every speed-up the library offers
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
COLUMNS = ("external_id", "name", "email", "phone", "website", "street", "postal_code", "city", "country",
           "currency", "credit_limit", "industry", "account_type", "status", "tags", "customer_since")


def _at(record: dict[str, Any], outer: str, inner: str) -> Any:
    value = record.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _phone(text: str) -> str:
    number = phonenumbers.parse(text, "DE")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, _E164)


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _date(text: str) -> dt.date:
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} matches none of the date formats")


def _lookup(table: dict[str, str], value: str, default: str | None = None) -> str:
    found = table.get(value, default)
    if found is None:
        raise ValueError(f"{value!r} is not in the table")
    return found


def transform(r: dict[str, Any]) -> dict[str, Any]:
    """What the Hub mapping ``SPEC`` does, written by hand (null passes through every step)."""
    name, web, currency, credit, industry = (r.get(k) for k in ("company", "web", "currency", "credit_limit",
                                                                 "industry"))
    email, phone = _at(r, "contact", "email"), _at(r, "contact", "phone")
    street, zip_code, city, country = (_at(r, "address", k) for k in ("street", "zip", "city", "country"))
    kind, state, labels, since = r.get("kind"), r.get("state"), r.get("labels"), r.get("since")
    return {
        "external_id": str(r["id"]),
        "name": None if name is None else name.strip(),
        "email": None if email is None else email.strip().lower(),
        "phone": None if phone is None else _phone(phone),
        "website": None if web is None else web.strip().lower(),
        "street": None if street is None else street.strip(),
        "postal_code": None if zip_code is None else zip_code.strip(),
        "city": None if city is None else city.strip().title(),
        "country": None if country is None else _lookup(_COUNTRIES, country.strip()),
        "currency": None if currency is None else currency.strip().upper(),
        "credit_limit": None if credit is None else _decimal(credit),
        "industry": None if industry is None else industry.strip().lower(),
        "account_type": None if kind is None else _lookup(_TYPES, kind),
        "status": None if state is None else _lookup(_STATES, state, "active"),
        "tags": None if labels is None else [t for t in (p.strip() for p in labels.split(",")) if t],
        "customer_since": None if since is None else _date(since),
    }


# -- the data ---------------------------------------------------------------------------------------------
_PLACES = {  # country key as the source writes it -> (ISO code, cities, currency)
    "Germany": ("DE", [" berlin", "MÜNCHEN ", "hamburg", "frankfurt am main", "köln"], "EUR"),
    "Deutschland": ("DE", ["stuttgart", " DÜSSELDORF", "leipzig"], "EUR"),
    "China": ("CN", ["shanghai", " BEIJING ", "shenzhen", "上海"], "CNY"),
    "中国": ("CN", ["广州", "hangzhou"], "CNY"),
    "United States": ("US", ["new york", "BOSTON", " san francisco "], "USD"),
    "USA": ("US", ["chicago"], "USD"),
    "United Kingdom": ("GB", ["london", " MANCHESTER"], "GBP"),
    "France": ("FR", ["paris", "LYON "], "EUR"),
}
_COUNTRY_KEYS = list(_PLACES)
_INDUSTRIES = [" Retail ", "MANUFACTURING", "software", "Logistics", None]
_LABELS = ["eu", "key-account", "new", "partner", "retail", "vip", "wholesale"]
_MAILERS = ["gmail.com", "web.de", "qq.com", "163.com", "outlook.com"]
_CN_MOBILE = ["135", "138", "139", "150", "151", "186", "188"]


def _phone_text(rng: random.Random, iso: str) -> str:
    if iso == "DE":
        n = rng.randint(1_000_000, 9_999_999)
        return rng.choice([f"030 {n}", f"+49 89 {n}", f"0049 40 {n}", f"0151 {n}{rng.randint(0, 9)}"])
    if iso == "CN":
        return f"+86 {rng.choice(_CN_MOBILE)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    if iso == "US":
        return f"+1 (212) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    if iso == "GB":
        return f"+44 20 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return f"+33 1 42 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def make_record(i: int, rng: random.Random, changed: bool) -> dict[str, Any]:
    """Customer ``i``; the same rng sequence gives the same record, ``changed`` alters every tenth one."""
    key = rng.choice(_COUNTRY_KEYS)
    iso, cities, currency = _PLACES[key]
    chinese = iso == "CN" and rng.random() < 0.5
    company = f"  上海{i}贸易有限公司 " if chinese else f" Company {i} {rng.choice(['GmbH', 'Ltd', 'Inc', 'SAS'])} "
    domain = f"company{i}.{iso.lower()}"
    email = (f" Sales.{i}@{rng.choice(_MAILERS).upper()}" if rng.random() < 0.3 else f" Info@Company{i}.{iso} ")
    year, month, day = rng.randint(1995, 2024), rng.randint(1, 12), rng.randint(1, 28)
    labels = ", ".join(sorted(rng.sample(_LABELS, rng.randint(0, 3))))
    record: dict[str, Any] = {
        "id": f"C{i:08d}",
        "company": company,
        "contact": {"email": email, "phone": _phone_text(rng, iso)},
        "web": f" HTTPS://www.{domain.upper() if i % 3 == 0 else domain}",
        "address": {"street": f" {rng.choice(['Hauptstraße', 'Main St', 'Nanjing Rd'])} {rng.randint(1, 300)} ",
                    "zip": f"{rng.randint(10000, 99999)}", "city": rng.choice(cities), "country": key},
        "currency": rng.choice([currency, currency.lower(), f" {currency}"]),
        "credit_limit": f"{rng.randint(0, 9_999_999):,}.{rng.randint(0, 99):02d}",
        "industry": rng.choice(_INDUSTRIES),
        "kind": rng.choice("CCCPVX"),
        "state": rng.choice("AAAAIBZ"),  # Z is not in the table: the lookup's default (active)
        "labels": labels,
        "since": f"{day:02d}.{month:02d}.{year}" if i % 2 else f"{year}-{month:02d}-{day:02d}",
        "updated": f"{year}-{month:02d}-{day:02d}T10:00:00Z",
    }
    if changed and i % 10 == 3:
        record["credit_limit"] = f"{(i * 7919) % 10_000_000:,}.50"
        record["address"]["street"] = f" Neue Straße {i % 500} "
    return record


def write_files(folder: Path, n: int, files: int, changed: bool, seed: int = 11) -> None:
    """N records in ``files`` JSON Lines files (replacing what is there)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_file = -(-n // files)
    for f in range(files):
        with open(folder / f"customers-{f + 1:02d}.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps(make_record(i, rng, changed), ensure_ascii=False) + "\n"
                           for i in range(f * per_file, min(n, (f + 1) * per_file)))


def read_records(folder: Path) -> Iterator[dict[str, Any]]:
    """The records of every file, in file-name order (the baselines' reader)."""
    loads = json.loads
    for path in sorted(folder.glob(PATTERN)):
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    yield loads(line)
