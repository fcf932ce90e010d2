"""Payment matching: payments are matched to invoices by remittance reference and amount; the rest wait for review.

    outcomes = match_payments(tx, [payment_id, ...])     # inside store.writing(ctx): validated, audited
    for item in review_queue(tx): item.payment, item.reason, item.candidates
    assign(tx, payment_id, invoice_id)                   # a reviewer's decision

**Reference.** A payment's ``reference`` (the remittance text of a bank transfer) is split into words
(runs of letters and digits); every run of one to four consecutive words, joined, is a key. An invoice
is a candidate when its ``number``, upper-cased (ASCII letters) and without the separators ``- / . _``,
space, ``#`` and ``:``, equals one of the keys. So ``"Rechnung INV 2024/0001, danke"`` finds invoice
``INV-2024-0001``, while ``"INV-10"`` never finds ``INV-1``. Candidates are live invoices that are
``open`` or ``partially_paid``, in the payment's currency (when both have one).

**Amount.** ``outstanding = total_amount - amount_paid``. A payment within ``tolerance`` of the
outstanding amount pays the invoice (``paid``); a smaller one pays part of it (``partially_paid``); a
larger one does not fit (an overpayment or a payment made twice: left for review). The tolerance is
exact (0.00) by default; callers may pass another (for example ``Decimal("0.05")`` for rounding). When
several candidates fit, the one whose outstanding amount equals the payment wins if it is the only one;
otherwise the payment is ambiguous and left for review.

**Outcome.** A match sets the payment's ``invoice_id``, ``account_id`` (the invoice's account) and
``status = matched``, and adds the amount to the invoice's ``amount_paid`` with its new status; any
other payment becomes ``unmatched``, listed by ``review_queue`` with the reason. Every change goes
through ``tx.write_many``, so it is validated, access-checked and audited like any other write.

**When.** ``on_records_changed`` (the ``record_changed`` hook of the finance connector plugin) matches
payments as they are created, in the transaction that creates them; when new invoices arrive, unmatched
payments whose reference names them are tried again. Only actors that may update both payments and
invoices trigger it (connectors and the system do).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hub.core.models.commerce import Invoice
from hub.core.read import Condition
from hub.core.write import Row
from hub.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from hub.core.store import Tx

log = logging.getLogger("hub.payments")

DEFAULT_TOLERANCE = Decimal("0.00")
SEPARATORS = "-/._ #:"
MAX_WORDS = 4
OPEN = ("open", "partially_paid")
_WORD = re.compile(r"[^\W_]+")
_CHUNK = 500


def _ascii_upper(text: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in text)


def normalise(number: str) -> str:
    """An invoice number as compared: ASCII upper case, without the separators - / . _ space # :."""
    return _ascii_upper(number).translate({ord(c): None for c in SEPARATORS})


def reference_keys(reference: str | None) -> set[str]:
    """The keys of a remittance text: each run of 1..MAX_WORDS consecutive words, joined and upper-cased."""
    words = [_ascii_upper(w) for w in _WORD.findall(reference or "")]
    return {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(i + MAX_WORDS, len(words)) + 1)}


@dataclass(frozen=True)
class Outcome:
    """What matching decided for one payment."""

    payment_id: uuid.UUID
    status: str  # matched | unmatched
    reason: str
    invoice_id: uuid.UUID | None = None
    invoice_status: str | None = None


@dataclass(frozen=True)
class Review:
    """An unmatched payment waiting for a person: the payment, why it did not match, the near misses."""

    payment: dict[str, Any]
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _show(amount: Decimal) -> str:
    """An amount for people: at least two decimal places, no trailing zeros beyond them."""
    text = format(amount.normalize(), "f")
    whole, _, places = text.partition(".")
    return f"{whole}.{places.ljust(2, '0')}"


@dataclass
class _Ledger:
    """Candidate invoices by normalised number, with the amounts paid so far (as this matching changes them)."""

    by_key: dict[str, list[dict[str, Any]]]
    paid: dict[uuid.UUID, Decimal] = field(default_factory=dict)

    def outstanding(self, invoice: dict[str, Any]) -> Decimal:
        return _money(invoice.get("total_amount")) - self.paid.get(invoice["id"], _money(invoice.get("amount_paid")))


def _ledger(tx: Tx, keys: Iterable[str], statuses: Sequence[str] = OPEN) -> _Ledger:
    """Live invoices whose normalised number is one of ``keys`` (read through the store's read path)."""
    number: Any = func.upper(Invoice.number)
    for sep in SEPARATORS:
        number = func.replace(number, sep, "")
    wanted = sorted(set(keys))
    ids: list[uuid.UUID] = []
    for start in range(0, len(wanted), _CHUNK):
        ids += tx.session.scalars(select(Invoice.id).where(
            number.in_(wanted[start:start + _CHUNK]), Invoice.deleted_at.is_(None),
            Invoice.status.in_(list(statuses)))).all()
    by_key: dict[str, list[dict[str, Any]]] = {}
    for invoice in tx.get_many("invoices", ids).values():
        by_key.setdefault(normalise(invoice["number"]), []).append(invoice)
    return _Ledger(by_key)


def _decide(payment: dict[str, Any], ledger: _Ledger, tolerance: Decimal
            ) -> tuple[dict[str, Any] | None, str, list[dict[str, Any]]]:
    """(the invoice to match or None, why, the candidates considered) for one payment."""
    keys = reference_keys(payment.get("reference"))
    named = {inv["id"]: inv for k in keys for inv in ledger.by_key.get(k, [])}
    if not named:
        return None, f"no open invoice is named in the reference {payment.get('reference')!r}", []
    amount, currency = _money(payment.get("amount")), payment.get("currency")
    candidates = sorted(named.values(), key=lambda inv: str(inv["number"]))
    if amount <= 0:
        return None, f"the payment amount {_show(amount)} is not positive", candidates
    fits, misses = [], []
    for inv in candidates:
        outstanding = ledger.outstanding(inv)
        if currency and inv.get("currency") and inv["currency"] != currency:
            misses.append(f"{inv['number']} is in {inv['currency']}, the payment in {currency}")
        elif inv.get("total_amount") is None:
            misses.append(f"{inv['number']} has no total amount")
        elif amount > outstanding + tolerance:
            misses.append(f"{inv['number']}: pays {_show(amount)}, only {_show(outstanding)} is outstanding")
        else:
            fits.append(inv)
    if len(fits) > 1:
        exact = [inv for inv in fits if abs(ledger.outstanding(inv) - amount) <= tolerance]
        if len(exact) == 1:
            return exact[0], "reference and exact amount", candidates
        names = ", ".join(str(inv["number"]) for inv in fits)
        return None, f"ambiguous: the reference names several open invoices that fit ({names})", candidates
    if fits:
        return fits[0], "reference and amount", candidates
    return None, "; ".join(misses), candidates


def match_payments(tx: Tx, payment_ids: Sequence[uuid.UUID] | None = None, *,
                   tolerance: Decimal = DEFAULT_TOLERANCE, retry_unmatched: bool = False) -> list[Outcome]:
    """Match payments (the given ones, else every pending one) that are ``pending`` (or ``unmatched``, with
    ``retry_unmatched``) and have no invoice yet. Writes through ``tx.write_many``; returns the outcomes."""
    statuses = ("pending", "unmatched") if retry_unmatched else ("pending",)
    if payment_ids is None:
        found = [p for s in statuses for p in tx.iterate("payments", [Condition("status", "=", s)])]
    else:
        found = list(tx.get_many("payments", list(payment_ids)).values())
    payments = sorted((p for p in found if p.get("status") in statuses and p.get("invoice_id") is None),
                      key=lambda p: (str(p.get("paid_on") or ""), str(p["created_at"]), str(p["id"])))
    if not payments:
        return []
    ledger = _ledger(tx, set().union(*(reference_keys(p.get("reference")) for p in payments)))
    outcomes: list[Outcome] = []
    pay_rows: list[Row] = []
    invoice_rows: dict[uuid.UUID, dict[str, Any]] = {}
    for payment in payments:
        invoice, reason, _ = _decide(payment, ledger, tolerance)
        if invoice is None:
            outcomes.append(Outcome(payment["id"], "unmatched", reason))
            if payment.get("status") != "unmatched":
                pay_rows.append(Row({"status": "unmatched"}, id=payment["id"]))
            continue
        paid = ledger.paid.get(invoice["id"], _money(invoice.get("amount_paid"))) + _money(payment["amount"])
        ledger.paid[invoice["id"]] = paid
        done = paid >= _money(invoice["total_amount"]) - tolerance
        status = "paid" if done else "partially_paid"
        invoice_rows[invoice["id"]] = {"amount_paid": paid, "status": status}
        values: dict[str, Any] = {"status": "matched", "invoice_id": invoice["id"]}
        if invoice.get("account_id") is not None:
            values["account_id"] = invoice["account_id"]
        pay_rows.append(Row(values, id=payment["id"]))
        outcomes.append(Outcome(payment["id"], "matched", reason, invoice["id"], status))
    if invoice_rows:
        _write(tx, "invoices", [Row(v, id=k) for k, v in invoice_rows.items()])
    _write(tx, "payments", pay_rows)
    return outcomes


def _write(tx: Tx, module: str, rows: list[Row]) -> None:
    if not rows:
        return
    for res in tx.write_many(module, rows).rejected:
        log.warning("payment matching: %s row %s was refused: %s", module, res.index, res.error)


def review_queue(tx: Tx, limit: int = 100, *, tolerance: Decimal = DEFAULT_TOLERANCE) -> list[Review]:
    """Unmatched payments, oldest first, each with why it is unmatched and the invoices its reference names."""
    payments = tx.query("payments", [Condition("status", "=", "unmatched")], order_by="paid_on", limit=limit)
    keys = set().union(*(reference_keys(p.get("reference")) for p in payments)) if payments else set()
    ledger = _ledger(tx, keys, statuses=("draft", "open", "partially_paid", "paid", "cancelled"))
    out = []
    for payment in payments:
        open_ledger = _Ledger({k: [i for i in v if i.get("status") in OPEN] for k, v in ledger.by_key.items()})
        _, reason, _ = _decide(payment, open_ledger, tolerance)
        named = {i["id"]: i for k in reference_keys(payment.get("reference")) for i in ledger.by_key.get(k, [])}
        candidates = [{"id": i["id"], "number": i["number"], "status": i.get("status"),
                       "currency": i.get("currency"), "total_amount": i.get("total_amount"),
                       "outstanding": ledger.outstanding(i)} for i in sorted(named.values(), key=lambda i: i["number"])]
        out.append(Review(payment, reason, candidates))
    return out


def assign(tx: Tx, payment_id: uuid.UUID, invoice_id: uuid.UUID) -> Outcome:
    """A reviewer's match: the payment pays (part of) the invoice, whatever the matching rules said."""
    payment = tx.get("payments", payment_id)
    if payment.get("invoice_id") is not None or payment.get("status") == "matched":
        raise ValidationError("payments.invoice_id", f"payment {payment_id} is already matched")
    invoice = tx.get("invoices", invoice_id)
    if invoice.get("status") not in OPEN:
        raise ValidationError("invoices.status", f"invoice {invoice['number']} is {invoice.get('status')}, not open")
    paid = _money(invoice.get("amount_paid")) + _money(payment["amount"])
    status = "paid" if paid >= _money(invoice.get("total_amount")) else "partially_paid"
    tx.update("invoices", invoice_id, {"amount_paid": paid, "status": status})
    values: dict[str, Any] = {"status": "matched", "invoice_id": invoice_id}
    if invoice.get("account_id") is not None:
        values["account_id"] = invoice["account_id"]
    tx.update("payments", payment_id, values)
    return Outcome(payment_id, "matched", "assigned by a reviewer", invoice_id, status)


def on_records_changed(tx: Tx, module: str, changes: Sequence[Any]) -> None:
    """Match payments as they are created; retry unmatched payments whose reference names new invoices."""
    if module not in ("payments", "invoices"):
        return
    created = [c.record_id for c in changes if c.action == "created"]
    if not created or not all("update" in tx.profile.module(m).actions for m in ("payments", "invoices")):
        return
    try:
        if module == "payments":
            match_payments(tx, created)
            return
        numbers = {normalise(str(i["number"])) for i in tx.get_many("invoices", created).values()}
        waiting = [p["id"] for p in tx.iterate("payments", [Condition("status", "=", "unmatched")])
                   if reference_keys(p.get("reference")) & numbers]
        if waiting:
            match_payments(tx, waiting, retry_unmatched=True)
    except NotFound as exc:  # a record outside the actor's scope: leave matching to someone who can see it
        log.info("payment matching skipped: %s", exc)
