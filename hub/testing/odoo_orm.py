"""The fake Odoo's database: Odoo's models, ORM methods, domains and faults, in memory (no network).

``Odoo`` holds the records of res.partner, product.product, sale.order (and its lines), account.move,
res.country, res.currency and uom.uom, and answers ``/xmlrpc/2/common`` (``version``, ``authenticate``) and
``/xmlrpc/2/object`` (``execute_kw``) as Odoo does: ``search``, ``search_read``, ``search_count``, ``read``,
``create``, ``write``, ``unlink`` and ``fields_get`` with Odoo's signatures; domains in prefix notation (``&``,
``|``, ``!``; ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``, ``not in``, ``like``, ``ilike``, ``not like``,
``not ilike``, ``=like``, ``=ilike``, ``=?``; dotted paths through many2one fields; negative operators match
empty values too); ``order`` strings; archived records hidden unless ``context={'active_test': False}``;
many2one values as ``[id, display_name]``, dates and datetimes as text, ``False`` for empty values.
Datetimes are stored with microseconds and shown to the second, as Odoo's are. Errors are Odoo's faults:
``Fault(3, 'Access Denied')``; ``Fault(2, ...)`` for UserError, ValidationError and MissingError ("Record
does not exist or has been deleted."); ``Fault(4, ...)`` for AccessError; ``Fault(1, <traceback>)`` for
anything else (an invalid field, a wrong value). hub.testing.odoo_server serves it over HTTP.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import traceback
import xmlrpc.client
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DB = "odoo"
#: login -> (uid, password or API key)
USERS = {"admin": (2, "admin"), "hub": (6, "s3cret")}
DATETIME = "%Y-%m-%d %H:%M:%S"
#: model -> "field:type[=relation]" with "!" for required and "~" for computed (read-only) fields.
SCHEMA = {
    "res.country": "name:char! code:char!",
    "res.currency": "name:char! symbol:char",
    "uom.uom": "name:char!",
    "res.partner": "name:char! is_company:boolean parent_id:many2one=res.partner type:selection ref:char vat:char "
                   "email:char phone:char mobile:char website:char function:char street:char street2:char city:char "
                   "zip:char country_id:many2one=res.country country_code:char~ lang:selection active:boolean "
                   "customer_rank:integer supplier_rank:integer comment:text x_hub_key:char",
    "product.product": "name:char! default_code:char barcode:char list_price:float standard_price:float "
                       "currency_id:many2one=res.currency uom_id:many2one=uom.uom type:selection sale_ok:boolean "
                       "active:boolean description_sale:text",
    "sale.order": "name:char partner_id:many2one=res.partner! date_order:datetime state:selection "
                  "currency_id:many2one=res.currency client_order_ref:char amount_untaxed:monetary~ "
                  "amount_tax:monetary~ amount_total:monetary~ order_line:one2many=sale.order.line",
    "sale.order.line": "order_id:many2one=sale.order! sequence:integer product_id:many2one=product.product "
                       "name:text product_uom_qty:float price_unit:float discount:float price_subtotal:monetary~ "
                       "price_tax:monetary~ price_total:monetary~",
    "account.move": "name:char move_type:selection partner_id:many2one=res.partner invoice_date:date "
                    "invoice_date_due:date invoice_origin:char ref:char currency_id:many2one=res.currency "
                    "amount_untaxed:monetary amount_tax:monetary amount_total:monetary amount_residual:monetary "
                    "state:selection payment_state:selection",
}
SELECTIONS = {
    "res.partner.type": ("contact", "invoice", "delivery", "other"),
    "res.partner.lang": ("en_US", "zh_CN", "de_DE"),
    "product.product.type": ("consu", "service", "product"),
    "sale.order.state": ("draft", "sent", "sale", "done", "cancel"),
    "account.move.move_type": ("entry", "out_invoice", "out_refund", "in_invoice", "in_refund"),
    "account.move.state": ("draft", "posted", "cancel"),
    "account.move.payment_state": ("not_paid", "in_payment", "paid", "partial", "reversed"),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "res.partner": {"active": True, "is_company": False, "type": "contact", "lang": "en_US", "customer_rank": 0,
                    "supplier_rank": 0},
    "product.product": {"active": True, "type": "consu", "sale_ok": True, "list_price": 1.0, "standard_price": 0.0},
    "sale.order": {"state": "draft"},
    "sale.order.line": {"sequence": 10, "product_uom_qty": 1.0, "price_unit": 0.0, "discount": 0.0},
    "account.move": {"state": "draft", "move_type": "entry", "payment_state": "not_paid", "name": "/"},
}
MODEL_ORDER = {"res.partner": "display_name, id desc", "sale.order": "date_order desc, id desc",
               "account.move": "invoice_date desc, name desc, id desc", "sale.order.line": "order_id, sequence, id"}
TAX = {"CNY": 0.13, "EUR": 0.19}
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike", "not like", "not ilike", "=like",
             "=ilike", "=?")
NEGATIVE = ("!=", "not in", "not like", "not ilike")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    relation: str | None = None
    required: bool = False
    computed: bool = False


def _fields(spec: str) -> dict[str, Field]:
    out = {"id": Field("id", "integer", computed=True), "display_name": Field("display_name", "char", computed=True),
           "create_date": Field("create_date", "datetime", computed=True),
           "write_date": Field("write_date", "datetime", computed=True)}
    for item in spec.split():
        name, kind = item.split(":")
        flags = kind.lstrip("abcdefghijklmnopqrstuvwxyz2=.")
        kind = kind.rstrip("!~")
        kind, _, relation = kind.partition("=")
        out[name] = Field(name, kind, relation or None, "!" in flags, "~" in flags)
    return out


FIELDS = {model: _fields(spec) for model, spec in SCHEMA.items()}


class OdooError(Exception):
    """An Odoo exception that becomes a fault with its own code: 2 UserError, ValidationError and
    MissingError, 3 AccessDenied, 4 AccessError (anything else is code 1 with the traceback)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def missing(model: str, ids: Iterable[int], uid: int) -> OdooError:
    return OdooError(2, f"Record does not exist or has been deleted.\n(Record: {model}({', '.join(map(str, ids))},), "
                        f"User: {uid})")


class OperationalError(Exception):
    """What psycopg2 raises for an unknown database (shown in the fault's traceback as Odoo's would)."""


OperationalError.__module__ = "psycopg2"


def _when(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    text = value.strip()
    return dt.datetime.fromisoformat(text if len(text) > 10 else text + " 00:00:00")


def _like(pattern: str, text: str, insensitive: bool) -> bool:
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, re.S | (re.I if insensitive else 0)) is not None


class Odoo:
    """The in-memory database and the ORM methods of the object endpoint."""

    def __init__(self, db: str = DB, users: Mapping[str, tuple[int, str]] = USERS) -> None:
        self.db, self.users = db, dict(users)
        self.tables: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in FIELDS}
        self.ids = {m: itertools.count(1) for m in FIELDS}
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.corrupted: dict[tuple[str, int, str], Any] = {}
        self.denied: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.RLock()

    # -- test controls ------------------------------------------------------------------------------
    def freeze(self, when: str | dt.datetime | None) -> None:
        """Stamp later writes with ``when`` (None: the real clock again)."""
        if when is None:
            self.clock = lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
        else:
            moment = _when(when)
            self.clock = lambda: moment

    def touch(self, model: str, ids: Iterable[int], when: str | dt.datetime) -> None:
        """Set the write_date of records directly (microseconds allowed)."""
        for i in ids:
            self.tables[model][i]["write_date"] = _when(when)

    def corrupt(self, model: str, rid: int, field: str, value: Any) -> None:
        """Make reads return ``value`` for this field of this record (a malformed response)."""
        self.corrupted[(model, rid, field)] = value

    def deny(self, model: str) -> None:
        """Refuse every access to ``model`` with Odoo's AccessError."""
        self.denied.add(model)

    # -- endpoints ----------------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                "server_serie": "17.0", "protocol_version": 1}

    def authenticate(self, db: str, login: str, password: str, env: Any = None) -> int | bool:
        self._db(db)
        uid, secret = self.users.get(login, (0, None))
        return uid if uid and password == secret else False

    def execute_kw(self, db: str, uid: int, password: str, model: str, method: str, args: list[Any] | None = None,
                   kwargs: dict[str, Any] | None = None) -> Any:
        try:
            self._db(db)
            if not any(u == uid and p == password for u, p in self.users.values()):
                raise OdooError(3, "Access Denied")
            if model not in FIELDS:
                raise KeyError(model)
            call = getattr(self, f"rpc_{method}", None)
            if call is None:
                raise AttributeError(f"The method '{model}.{method}' does not exist")
            if model in self.denied:
                raise OdooError(4, f"You are not allowed to access '{model}' records.\n\nThis operation is allowed "
                                  "for the following groups:\n\t- Accounting/Billing\n\nContact your administrator "
                                  "to request access if necessary.")
            kw = dict(kwargs or {})
            context = kw.pop("context", None) or {}
            with self.lock:
                self.calls.append((model, method))
                result = call(model, context, uid, *(args or []), **kw)
            return result
        except xmlrpc.client.Fault:
            raise
        except OdooError as exc:
            raise xmlrpc.client.Fault(exc.code, str(exc)) from None
        except Exception as exc:
            raise xmlrpc.client.Fault(1, "".join(traceback.format_exception(exc))) from None

    def _db(self, db: str) -> None:
        if db != self.db:
            try:
                raise OperationalError(f'connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
                                       f'database "{db}" does not exist')
            except OperationalError as exc:
                raise xmlrpc.client.Fault(1, "".join(traceback.format_exception(exc))) from None

    # -- ORM methods (model, context, uid, then Odoo's own arguments) --------------------------------
    def rpc_search(self, model: str, context: dict[str, Any], uid: int, domain: list[Any] | None = None,
                   offset: int = 0, limit: int | None = None, order: str | None = None) -> list[int]:
        rows = [r for r in self.tables[model].values() if self._domain(model, domain or [], context)(r)]
        rows = self._sorted(model, rows, order or MODEL_ORDER.get(model, "id"))
        rows = rows[offset or 0:]
        return [r["id"] for r in (rows[:limit] if limit else rows)]

    def rpc_search_count(self, model: str, context: dict[str, Any], uid: int, domain: list[Any] | None = None,
                         limit: int | None = None) -> int:
        return len(self.rpc_search(model, context, uid, domain, 0, limit))

    def rpc_search_read(self, model: str, context: dict[str, Any], uid: int, domain: list[Any] | None = None,
                        fields: list[str] | None = None, offset: int = 0, limit: int | None = None,
                        order: str | None = None) -> list[dict[str, Any]]:
        ids = self.rpc_search(model, context, uid, domain, offset, limit, order)
        return self.rpc_read(model, context, uid, ids, fields)

    def rpc_read(self, model: str, context: dict[str, Any], uid: int, ids: list[int],
                 fields: list[str] | None = None) -> list[dict[str, Any]]:
        table, spec = self.tables[model], FIELDS[model]
        self._exist(model, ids, uid)
        names = list(fields or [f for f in spec if f != "id"])
        for name in names:
            if name not in spec:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        return [{"id": i, **{n: self._out(model, table[i], spec[n]) for n in names if n != "id"}} for i in ids]

    def rpc_create(self, model: str, context: dict[str, Any], uid: int,
                   vals_list: dict[str, Any] | list[dict[str, Any]]) -> int | list[int]:
        many = isinstance(vals_list, list)
        ids = []
        for vals in vals_list if isinstance(vals_list, list) else [vals_list]:
            rid = next(self.ids[model])
            rec: dict[str, Any] = {"id": rid, **DEFAULTS.get(model, {})}
            if model == "sale.order":
                rec["name"], rec["date_order"] = f"S{rid:05d}", self.clock()
            commands = self._assign(model, rec, vals)
            self._check(model, rec)
            rec["create_date"] = rec["write_date"] = self.clock()
            self.tables[model][rid] = rec
            self._after(model, rec, commands)
            ids.append(rid)
        return ids if many else ids[0]

    def rpc_write(self, model: str, context: dict[str, Any], uid: int, ids: list[int], vals: dict[str, Any]) -> bool:
        self._exist(model, ids, uid)
        for i in ids:
            rec = dict(self.tables[model][i])
            commands = self._assign(model, rec, vals)
            self._check(model, rec)
            rec["write_date"] = self.clock()
            self.tables[model][i] = rec
            self._after(model, rec, commands)
        return True

    def rpc_unlink(self, model: str, context: dict[str, Any], uid: int, ids: list[int]) -> bool:
        self._exist(model, ids, uid)
        for i in ids:
            del self.tables[model][i]
        return True

    def rpc_fields_get(self, model: str, context: dict[str, Any], uid: int, allfields: list[str] | None = None,
                       attributes: list[str] | None = None) -> dict[str, dict[str, Any]]:
        out = {}
        for f in FIELDS[model].values():
            if allfields and f.name not in allfields:
                continue
            desc: dict[str, Any] = {"type": f.type, "string": f.name.replace("_", " ").title(),
                                    "required": f.required, "readonly": f.computed}
            if f.relation:
                desc["relation"] = f.relation
            if f.type == "selection":
                desc["selection"] = [[v, v] for v in SELECTIONS[f"{model}.{f.name}"]]
            out[f.name] = {k: v for k, v in desc.items() if not attributes or k in attributes}
        return out

    # -- values -------------------------------------------------------------------------------------
    def _exist(self, model: str, ids: list[int], uid: int) -> None:
        gone = [i for i in ids if i not in self.tables[model]]
        if gone:
            raise missing(model, gone, uid)

    def _display(self, model: str, rec: dict[str, Any]) -> str:
        name = rec.get("name") or ""
        if model == "res.partner" and rec.get("parent_id") and not rec.get("is_company"):
            return f"{self.tables[model][rec['parent_id']]['name']}, {name}"
        if model == "product.product" and rec.get("default_code"):
            return f"[{rec['default_code']}] {name}"
        if model == "account.move" and name in ("/", ""):
            return f"Draft Invoice (* {rec['id']})"
        return str(name)

    def _value(self, model: str, rec: dict[str, Any], f: Field) -> Any:
        """The stored value (ids for relations, datetimes with microseconds; None for empty)."""
        if f.name == "display_name":
            return self._display(model, rec)
        if f.name == "country_code":
            return self.tables["res.country"][rec["country_id"]]["code"] if rec.get("country_id") else None
        if f.type == "one2many":
            return sorted(r["id"] for r in self.tables[f.relation or ""].values() if r.get("order_id") == rec["id"])
        return rec.get(f.name)

    def _out(self, model: str, rec: dict[str, Any], f: Field) -> Any:
        """A value as Odoo's read() returns it."""
        if (model, rec["id"], f.name) in self.corrupted:
            return self.corrupted[(model, rec["id"], f.name)]
        v = self._value(model, rec, f)
        if f.type == "many2one":
            return [v, self._display(f.relation or "", self.tables[f.relation or ""][v])] if v else False
        if f.type == "datetime":
            return v.strftime(DATETIME) if v else False
        if f.type in ("integer", "float", "monetary"):
            return v if v is not None else (0 if f.type == "integer" else 0.0)
        if f.type == "boolean":
            return bool(v)
        return v if v not in (None, "") else False

    def _assign(self, model: str, rec: dict[str, Any], vals: Mapping[str, Any]) -> list[Any]:
        """Convert and set ``vals`` on ``rec`` as Odoo's ORM would; returns one2many commands."""
        spec, commands = FIELDS[model], []
        for name, v in vals.items():
            f = spec.get(name)
            if f is None:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
            if f.type == "one2many":
                commands += list(v or [])
                continue
            if f.computed:
                continue
            if v is False or v is None:
                value: Any = False if f.type == "boolean" else (0 if f.type == "integer" else None)
            elif f.type in ("char", "text", "selection"):
                value = str(v)
                if f.type == "selection" and value not in SELECTIONS[f"{model}.{name}"]:
                    raise ValueError(f"Wrong value for {model}.{name}: {v!r}")
            elif f.type == "boolean":
                value = bool(v)
            elif f.type == "integer":
                value = int(v)
            elif f.type in ("float", "monetary"):
                value = float(v)
            elif f.type == "many2one":
                value = int(v)
                if value not in self.tables[f.relation or ""]:
                    raise OdooError(2, f"The operation cannot be completed: {f.relation}({value},) does not "
                                          f"exist (field {name} of {model}).")
            elif f.type == "date":
                value = dt.date.fromisoformat(str(v)).isoformat()
            else:
                value = _when(str(v))
            rec[name] = value
        return commands

    def _check(self, model: str, rec: dict[str, Any]) -> None:
        for f in FIELDS[model].values():
            if f.required and not f.computed and rec.get(f.name) in (None, ""):
                raise OdooError(2, "The operation cannot be completed:\n- Create/update: a mandatory field is "
                                      "not set.\n- Delete: another model requires the record being deleted. If "
                                      f"possible, archive it instead.\n\nModel: {model}, Field: {f.name}")
        vat = rec.get("vat") or ""
        if model == "res.partner" and vat.upper().startswith("DE") and not re.fullmatch(r"DE\d{9}", vat.upper()):
            raise OdooError(2, f"The VAT number [{vat}] for partner [{rec.get('name')}] does not seem to be "
                                  "valid. \nNote: the expected format is DE123456788")

    def _after(self, model: str, rec: dict[str, Any], commands: list[Any]) -> None:
        """One2many commands (only (0, 0, vals): create a line), then computed amounts."""
        for command in commands:
            if not (isinstance(command, list | tuple) and len(command) == 3 and command[0] == 0):
                raise ValueError(f"Unsupported one2many command {command!r}")
            self.rpc_create("sale.order.line", {}, 0, {**command[2], "order_id": rec["id"]})
        if model == "sale.order.line":
            rate = self._tax(rec["order_id"])
            gross = rec.get("product_uom_qty", 0) * rec.get("price_unit", 0)
            sub = round(gross * (1 - rec.get("discount", 0) / 100), 2)
            rec.update(price_subtotal=sub, price_tax=round(sub * rate, 2), price_total=round(sub * (1 + rate), 2))
            self._amounts(rec["order_id"])
        elif model == "sale.order" and not commands:
            self._amounts(rec["id"], touch=False)

    def _tax(self, order_id: int) -> float:
        currency = self.tables["sale.order"][order_id].get("currency_id")
        return TAX.get(self.tables["res.currency"][currency]["name"], 0.0) if currency else 0.0

    def _amounts(self, order_id: int, touch: bool = True) -> None:
        order = self.tables["sale.order"][order_id]
        lines = [r for r in self.tables["sale.order.line"].values() if r["order_id"] == order_id]
        untaxed, tax = sum(r["price_subtotal"] for r in lines), sum(r["price_tax"] for r in lines)
        order.update(amount_untaxed=round(untaxed, 2), amount_tax=round(tax, 2), amount_total=round(untaxed + tax, 2))
        if touch:  # lines edited through the order form write the order too
            order["write_date"] = self.clock()

    # -- domains and order ---------------------------------------------------------------------------
    def _domain(self, model: str, domain: list[Any], context: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool]:
        items, pos = list(domain), 0

        def parse() -> Callable[[dict[str, Any]], bool]:
            nonlocal pos
            if pos >= len(items):
                raise ValueError(f"Invalid domain {domain!r}: an operator lacks its operands")
            item = items[pos]
            pos += 1
            if item == "!":
                inner = parse()
                return lambda r: not inner(r)
            if item in ("&", "|"):
                a, b = parse(), parse()
                return (lambda r: a(r) and b(r)) if item == "&" else (lambda r: a(r) or b(r))
            return self._leaf(model, item)

        parts = []
        while pos < len(items):
            parts.append(parse())
        mentions_active = any(isinstance(i, list | tuple) and str(i[0]).split(".")[0] == "active" for i in items)
        if "active" in FIELDS[model] and context.get("active_test", True) and not mentions_active:
            parts.append(lambda r: bool(r.get("active")))
        return lambda r: all(p(r) for p in parts)

    def _leaf(self, model: str, leaf: Any) -> Callable[[dict[str, Any]], bool]:
        if not (isinstance(leaf, list | tuple) and len(leaf) == 3 and isinstance(leaf[1], str)):
            raise ValueError(f"Invalid leaf {leaf!r}")
        path, op, value = str(leaf[0]), leaf[1].lower(), leaf[2]
        if op not in OPERATORS:
            raise ValueError(f"Invalid leaf {tuple(leaf)!r}: unknown operator {op!r}")
        chain, m = [], model
        for n, name in enumerate(path.split(".")):
            f = FIELDS[m].get(name)
            if f is None or (n < path.count(".") and f.type != "many2one"):
                raise ValueError(f"Invalid field {m}.{name} in leaf {tuple(leaf)!r}")
            chain.append((m, f))
            m = f.relation or m

        def test(rec: dict[str, Any]) -> bool:
            r: dict[str, Any] | None = rec
            for i, (mm, f) in enumerate(chain):
                have = self._value(mm, r, f) if r is not None else None
                if i < len(chain) - 1:
                    r = self.tables[f.relation or ""].get(have) if have else None
            last = chain[-1][1]
            if last.type == "many2one" and have and (isinstance(value, str) or
                                                     (isinstance(value, list) and value and isinstance(value[0], str))):
                have = self._display(last.relation or "", self.tables[last.relation or ""][have])
            return self._compare(last, have, op, value)
        return test

    def _compare(self, f: Field, have: Any, op: str, value: Any) -> bool:
        if op == "=?":
            if value is False or value is None:
                return True
            op = "="
        if f.type == "datetime":
            value = [_when(v) if isinstance(v, str) else v for v in value] if isinstance(value, list) else (
                _when(value) if isinstance(value, str) else value)
        empty = have is None or have is False or have == "" or have == []
        if op in ("in", "not in"):
            values = list(value) if isinstance(value, list | tuple) else [value]
            hit = (not empty and have in values) or (empty and False in values)
            return hit if op == "in" else not hit
        if value is False or value is None:
            return empty if op == "=" else not empty if op == "!=" else False
        if empty:
            return op in NEGATIVE
        if op in ("=", "!="):
            return (have == value) == (op == "=")
        if op in (">", ">=", "<", "<="):
            return {">": have > value, ">=": have >= value, "<": have < value, "<=": have <= value}[op]
        pattern = str(value) if op.startswith("=") else f"%{value}%"
        found = _like(pattern, str(have), "ilike" in op)
        return not found if op.startswith("not") else found

    def _sorted(self, model: str, rows: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
        keys = []
        for part in order.split(","):
            name, _, direction = part.strip().partition(" ")
            if name not in FIELDS[model] or direction.strip().lower() not in ("", "asc", "desc"):
                raise ValueError(f"Invalid \"order\" specified ({order}).")
            keys.append((FIELDS[model][name], direction.strip().lower() == "desc"))
        for f, desc in reversed(keys):  # NULLS LAST ascending, NULLS FIRST descending, as PostgreSQL
            values = {id(r): self._value(model, r, f) for r in rows}
            rows = sorted(rows, key=lambda r: (values[id(r)] is None, values[id(r)] or 0), reverse=desc)
        return rows
