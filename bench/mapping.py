"""Benchmark: a compiled mapping against a hand-written Python function doing the same work.

Generates N ERP-like partner records of 16 fields (renames, trims, lower/upper/title case, a phone
number to E.164, decimals with two locales' separators, datetimes in two formats and a time zone, a
date, a lookup, tag splitting), checks both paths give equal output, then times each (best of 3,
interleaved) and prints one line:

    RESULT compiled_per_s=... handwritten_per_s=... ratio=...

where ratio = compiled time / hand-written time (target: at most 1.25).

    .venv/bin/python bench/mapping.py --records 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from hub.mappings import compile_mapping

SPEC = """
mapping: bench_partner
source: {connector: erp, stream: partner}
target: {module: accounts}
tables:
  states: {A: active, I: inactive, B: blocked}
fields:
  erp_id:       {from: id}
  name:         {from: name, transform: [strip]}
  legal_name:   {from: legal_name, transform: [strip]}
  email:        {from: email, transform: [strip, lower]}
  website:      {from: website, transform: [strip, lower]}
  phone:        {from: phone, transform: [{phone: {region: DE}}]}
  credit_limit: {from: credit_limit, transform: [{decimal: {thousands: ","}}]}
  balance:      {from: balance, transform: [{decimal: {thousands: ".", point: ","}}]}
  created_at:
    from: create_date
    transform: [{datetime: {formats: ["%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S"], tz: Europe/Berlin}}]
  founded:      {from: founded, transform: [{date: "%d/%m/%Y"}]}
  status:       {from: state, lookup: states}
  tags:         {from: tags, transform: [split]}
  city:         {from: city, transform: [strip, title]}
  country:      {from: country_code, transform: [upper]}
  tax_id:       {from: vat, transform: [strip, upper]}
  industry:     {from: industry}
"""

_STATES = {"A": "active", "I": "inactive", "B": "blocked"}
_BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
_UTC = dt.UTC
_E164 = phonenumbers.PhoneNumberFormat.E164


def _decimal(text: str, thousands: str, point: str) -> Decimal:
    text = text.replace(thousands, "")
    if point != ".":
        text = text.replace(point, ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _created(text: str) -> dt.datetime:
    for fmt in ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=_BERLIN).astimezone(_UTC)
    raise ValueError(f"{text!r} matches no format")


def _phone(text: str) -> str:
    number = phonenumbers.parse(text, "DE")
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, _E164)


def handwritten(r: dict[str, Any]) -> dict[str, Any]:
    """The same mapping written by hand, as directly as a careful programmer would."""
    name = r.get("name")
    legal = r.get("legal_name")
    email = r.get("email")
    website = r.get("website")
    phone = r.get("phone")
    credit = r.get("credit_limit")
    balance = r.get("balance")
    created = r.get("create_date")
    founded = r.get("founded")
    state = r.get("state")
    tags = r.get("tags")
    city = r.get("city")
    country = r.get("country_code")
    vat = r.get("vat")
    if state is not None:
        if state not in _STATES:
            raise ValueError(f"{state!r} is not in table 'states'")
        state = _STATES[state]
    return {
        "erp_id": r.get("id"),
        "name": None if name is None else name.strip(),
        "legal_name": None if legal is None else legal.strip(),
        "email": None if email is None else email.strip().lower(),
        "website": None if website is None else website.strip().lower(),
        "phone": None if phone is None else _phone(phone),
        "credit_limit": None if credit is None else _decimal(credit, ",", "."),
        "balance": None if balance is None else _decimal(balance, ".", ","),
        "created_at": None if created is None else _created(created),
        "founded": None if founded is None else dt.datetime.strptime(founded, "%d/%m/%Y").date(),
        "status": state,
        "tags": None if tags is None else [t for t in (p.strip() for p in tags.split(",")) if t],
        "city": None if city is None else city.strip().title(),
        "country": None if country is None else country.upper(),
        "tax_id": None if vat is None else vat.strip().upper(),
        "industry": r.get("industry"),
    }


def make_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cities = ["  berlin ", "munich", " hamburg", "KÖLN  ", "frankfurt am main"]
    words = ["vip", "wholesale", "eu", "retail", "partner", "new"]
    records = []
    for i in range(n):
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1990, 2024)
        hour, minute = rng.randint(0, 23), rng.randint(0, 59)
        created = (
            f"{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}"
            if i % 2
            else f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{rng.randint(0, 59):02d}"
        )
        records.append(
            {
                "id": 100000 + i,
                "name": f"  Company {i} GmbH ",
                "legal_name": f"Company {i} Gesellschaft mbH  ",
                "email": f" Info{i}@Company{i}.DE ",
                "website": f" WWW.Company{i}.de",
                "phone": f"030 {rng.randint(1000000, 9999999)}",
                "credit_limit": f"{rng.randint(0, 9_999_999):,}.{rng.randint(0, 99):02d}",
                "balance": f"{rng.randint(0, 999_999):,}".replace(",", ".") + f",{rng.randint(0, 99):02d}",
                "create_date": created,
                "founded": f"{day:02d}/{month:02d}/{year}",
                "state": rng.choice("AIB"),
                "tags": ", ".join(rng.sample(words, rng.randint(0, 4))),
                "city": rng.choice(cities),
                "country_code": "de",
                "vat": f" de{rng.randint(100000000, 999999999)} ",
                "industry": rng.choice(["retail", "manufacturing", None]),
            }
        )
    return records


def _time(fn: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for record in records:
        fn(record)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    records = make_records(args.records)
    compiled = compile_mapping(SPEC)
    for record in records:
        expected, got = handwritten(record), compiled(record)
        if expected != got:
            raise SystemExit(f"outputs differ for {record}:\n  hand-written {expected}\n  compiled     {got}")

    best_compiled = best_hand = float("inf")
    for _ in range(args.rounds):
        best_compiled = min(best_compiled, _time(compiled, records))
        best_hand = min(best_hand, _time(handwritten, records))
    n = len(records)
    print(f"records: {n}, rounds: {args.rounds} (best of, interleaved)")
    print(f"compiled mapping:    {n / best_compiled:12,.0f} records/s  ({best_compiled:.3f} s)")
    print(f"hand-written Python: {n / best_hand:12,.0f} records/s  ({best_hand:.3f} s)")
    ratio = best_compiled / best_hand
    print(f"RESULT compiled_per_s={n / best_compiled:.0f} handwritten_per_s={n / best_hand:.0f} ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
