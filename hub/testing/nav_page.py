"""The NAV-style Customer page behind the sample SOAP service: its records, Keys, filters and validation.

Records are dicts by ``No``; each change gives the record a new ``Key`` (which also names the record, so
it serves as ReadMultiple's bookmark) and today's ``Last_Date_Modified``. ``SoapFault`` is what the
operations raise for the service to answer with (Client: bad data; Server: the service's own trouble).
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

#: The Customer fields in XSD order: name -> (XSD type, maximum length of text or None).
FIELDS: dict[str, tuple[str, int | None]] = {
    "Key": ("string", None), "No": ("string", 20), "Name": ("string", 100), "Address": ("string", 100),
    "City": ("string", 30), "Post_Code": ("string", 20), "Country_Region_Code": ("string", 10),
    "Phone_No": ("string", 30), "E_Mail": ("string", 80), "Home_Page": ("string", 80),
    "VAT_Registration_No": ("string", 20), "Currency_Code": ("string", 10), "Credit_Limit_LCY": ("decimal", None),
    "Blocked": ("tns:Blocked", None), "Last_Date_Modified": ("date", None), "Hub_Ref": ("string", 30),
}
BLOCKED = ("_blank_", "Ship", "Invoice", "All")
CONFLICT = ("Another user has modified the record for this Customer after you retrieved it from the database. "
            "Enter your changes again in the updated window, or start the interrupted activity again.")


class SoapFault(Exception):
    """A SOAP fault to answer with: ``code`` is ``Client`` (bad request data) or ``Server``."""

    def __init__(self, message: str, code: str = "Client") -> None:
        self.code = code
        super().__init__(message)


def _key(no: str, version: int) -> str:
    """A NAV-like record Key: it names the record (the bookmark part) and changes with every version."""
    enc = base64.b64encode(no.encode()).decode()
    return f"{len(enc)};{enc}{version};"


def _no_of_key(key: str) -> str:
    try:
        length, rest = key.split(";", 1)
        return base64.b64decode(rest[:int(length)], validate=True).decode()
    except (ValueError, UnicodeDecodeError) as e:
        raise SoapFault(f"The bookmark key is not valid: {key!r}") from e


CITIES = [("上海", "CN", "+86 21 5{n:07d}", "CNY"), ("Berlin", "DE", "+49 30 2{n:06d}", ""),
          ("深圳", "CN", "+86 755 8{n:07d}", "CNY"), ("London", "GB", "+44 20 7{n:07d}", "GBP")]
WORDS = ["华信", "Nordlicht", "远航", "Thames", "瑞丰", "Spree", "东方", "Hanse"]


def sample_customer(i: int) -> dict[str, Any]:
    """The i-th sample customer (Chinese and English names; a blocked one now and then)."""
    city, country, phone, currency = CITIES[i % len(CITIES)]
    word = WORDS[i % len(WORDS)]
    name = f"{city}{word}贸易有限公司 NAV-{i:04d}" if country == "CN" else f"{word} Trading Ltd NAV-{i:04d}"
    return {"No": f"C{i:05d}", "Name": name, "Address": f"{i} Market Street", "City": city,
            "Post_Code": f"{10000 + i}", "Country_Region_Code": country, "Phone_No": phone.format(n=1000 + i),
            "E_Mail": f"buyer{i}@nav-customer{i}.example.com", "Currency_Code": currency,
            "Credit_Limit_LCY": Decimal(1000 * (i % 40)), "Blocked": "All" if i % 23 == 0 else "_blank_"}


@dataclass
class CustomerPage:
    """The page's table: customers by No, each with a version (its Key) and a modification date."""

    today: dt.date = field(default_factory=dt.date.today)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _version: int = 0
    _next_no: int = 1

    def seed(self, n: int, start: dt.date | None = None, days: int = 5) -> None:
        """``n`` sample customers, modified over ``days`` days ending ``start`` (default today)."""
        end = start or self.today
        with self.lock:
            for i in range(1, n + 1):
                row = sample_customer(i)
                self._store(row, end - dt.timedelta(days=(n - i) * days // max(n, 1)))

    def _store(self, row: dict[str, Any], date: dt.date | None = None) -> dict[str, Any]:
        self._version += 1
        row["Key"] = _key(row["No"], self._version)
        row["Last_Date_Modified"] = date or self.today
        self.rows[row["No"]] = row
        if row["No"].startswith("C") and row["No"][1:].isdigit():
            self._next_no = max(self._next_no, int(row["No"][1:]) + 1)
        return dict(row)

    def customers(self) -> list[dict[str, Any]]:
        """Every customer in No order (copies)."""
        with self.lock:
            return [dict(self.rows[k]) for k in sorted(self.rows)]

    def modify(self, no: str, **values: Any) -> dict[str, Any]:
        """Change a customer as a NAV user would: a new Key and today's modification date."""
        with self.lock:
            return self._store({**self.rows[no], **values})

    # -- the operations ---------------------------------------------------------------------------------
    def read(self, no: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.rows.get(no)
            return None if row is None else dict(row)

    def read_multiple(self, filters: list[tuple[str, str]], bookmark: str | None, size: int) -> list[dict[str, Any]]:
        tests = [(f, _criteria(f, c)) for f, c in filters]
        after = _no_of_key(bookmark) if bookmark else None
        with self.lock:
            out = []
            for no in sorted(self.rows):
                if after is not None and no <= after:
                    continue
                row = self.rows[no]
                if all(test(row.get(f)) for f, test in tests):
                    out.append(dict(row))
                    if size and len(out) >= size:
                        break
            return out

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            no = values.get("No") or f"C{self._next_no:05d}"
            if no in self.rows:
                raise SoapFault(f"The Customer already exists. Identification fields and values: No='{no}'")
            row = {"Blocked": "_blank_", **{k: v for k, v in values.items() if k not in ("Key", "Last_Date_Modified")},
                   "No": no}
            _validate(row, creating=True)
            return self._store(row)

    def update(self, values: dict[str, Any]) -> dict[str, Any]:
        key = values.get("Key")
        if not key:
            raise SoapFault("Update needs the Key of the record")
        with self.lock:
            row = self.rows.get(_no_of_key(key))
            if row is None:
                raise SoapFault(f"The Customer does not exist. Identification fields and values: Key='{key}'")
            if row["Key"] != key:
                raise SoapFault(CONFLICT)
            new = {**row, **{k: v for k, v in values.items() if k not in ("Key", "No", "Last_Date_Modified")}}
            _validate(new, creating=False)
            return self._store(new)


def _validate(row: dict[str, Any], creating: bool) -> None:
    if creating and not str(row.get("Name") or "").strip():
        raise SoapFault("Name must have a value in Customer: No.=" + str(row.get("No")))
    for name, value in row.items():
        length = FIELDS[name][1]
        if length is not None and isinstance(value, str) and len(value) > length:
            raise SoapFault(f"The length of the string is {len(value)}, but it must be less than or equal to "
                            f"{length} characters. Value: {value}")
    if row.get("Blocked") not in BLOCKED:
        raise SoapFault(f"The value {row.get('Blocked')!r} is not valid for Blocked (options: {', '.join(BLOCKED)})")
    limit = row.get("Credit_Limit_LCY")
    if limit is not None and limit < 0:
        raise SoapFault(f"Credit_Limit_LCY must not be negative in Customer No.={row['No']}")


def typed(name: str, text: str) -> Any:
    kind = FIELDS[name][0]
    try:
        if kind == "decimal":
            return Decimal(text)
        if kind == "date":
            return dt.date.fromisoformat(text)
    except (InvalidOperation, ValueError) as e:
        raise SoapFault(f"The value {text!r} of {name} is not a valid {kind}") from e
    return text


def _criteria(name: str, criteria: str) -> Callable[[Any], bool]:
    """A test of one field against NAV filter criteria (alternatives joined by |)."""
    if name not in FIELDS:
        raise SoapFault(f"The field {name!r} is not found on the page Customer")
    tests = [_criterion(name, part.strip()) for part in criteria.split("|")]
    return lambda value: any(t(value) for t in tests)


def _criterion(name: str, text: str) -> Callable[[Any], bool]:
    def value(v: str) -> Any:
        return typed(name, v.strip("'"))

    def compare(op: str, right: Any) -> Callable[[Any], bool]:
        ops: dict[str, Callable[[Any, Any], bool]] = {
            ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<>": lambda a, b: a != b,
            ">": lambda a, b: a > b, "<": lambda a, b: a < b, "=": lambda a, b: a == b}
        return lambda v: v is not None and ops[op](v, right)

    if text == "":
        return lambda v: True  # an empty criteria: no filter on the field (as SETFILTER(Field, ''))
    if text == "''":
        return lambda v: v in (None, "")
    if ".." in text:
        low, high = text.split("..", 1)
        tests = ([compare(">=", value(low))] if low else []) + ([compare("<=", value(high))] if high else [])
        return lambda v: all(t(v) for t in tests)
    for op in (">=", "<=", "<>", ">", "<", "="):
        if text.startswith(op):
            return compare(op, value(text[len(op):]))
    if "*" in text:
        return lambda v: isinstance(v, str) and fnmatch.fnmatchcase(v.lower(), text.lower())
    return compare("=", value(text))
