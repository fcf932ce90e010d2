"""ISO 20022 CAMT.053 bank-to-customer statements, parsed safely: one transaction dict per booked item.

    statement = parse(data)                 # CamtError: the file is not a usable CAMT.053 document
    for item in statement.items:            # in document order
        item.data | item.error              # a transaction, or why that entry could not be read

**Safety.** The XML is parsed with lxml and a parser that never resolves entities, never touches the
network, keeps libxml2's size limits (``huge_tree=False``) and does not load DTDs; a document that has
a DOCTYPE at all is refused (no internal subsets, so no entity expansion attacks), and so is one
larger than ``max_bytes``.

**Versions.** Any ``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN`` namespace is accepted (02 to 13
differ in where a few elements live; both places are tried: ``Sts`` or ``Sts/Cd``, ``Dbtr/Nm`` or
``Dbtr/Pty/Nm``, the transaction amount in ``TxDtls/Amt`` or ``AmtDtls/TxAmt/Amt``).

**Items.** Each ``Ntry`` gives one item per ``NtryDtls/TxDtls`` (a batch booking gives several), or one
item when it has none. The item's id is ``<account>/<bank reference>``: the transaction's
``Refs/AcctSvcrRef``, else the entry's ``AcctSvcrRef`` or ``NtryRef`` (with ``/<n>`` for the n-th
transaction of a batch), else ``<statement id>/<entry>/<transaction>`` (positions from 1). The same
statement delivered twice therefore gives the same ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2}$")
MAX_BYTES = 50 * 1024 * 1024
_DOCTYPE = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
#: The fields of a transaction record (JSON types), as the connector's discover() lists them.
FIELDS = {
    "id": "string", "statement_id": "string", "account": "string", "statement_date": "string",
    "entry_ref": "string", "booking_date": "string", "value_date": "string", "status": "string",
    "reversal": "boolean", "bank_transaction_code": "string", "additional_info": "string", "amount": "string",
    "currency": "string", "credit_debit": "string", "end_to_end_id": "string", "transaction_id": "string",
    "debtor_name": "string", "debtor_iban": "string", "creditor_name": "string", "creditor_iban": "string",
    "remittance": "string", "structured_reference": "string",
}


class CamtError(ValueError):
    """The document as a whole cannot be read (not XML, a DTD, not CAMT.053, no statement)."""


@dataclass(frozen=True)
class Item:
    """One transaction of a statement (``data``), or the reason its entry could not be read (``error``)."""

    id: str
    data: dict[str, Any] | None = None
    error: str | None = None
    raw: str | None = None


@dataclass
class Statement:
    """The transactions of every ``Stmt`` of a document, in document order."""

    message_id: str | None
    items: list[Item] = field(default_factory=list)


def safe_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entities, reads no DTD and never uses the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_pis=True, remove_comments=True, collect_ids=False)


def parse_xml(data: bytes, max_bytes: int = MAX_BYTES) -> etree._Element:
    """The root element of ``data``; CamtError for malformed XML, a DOCTYPE or an oversized document."""
    if len(data) > max_bytes:
        raise CamtError(f"the document has {len(data)} bytes, more than the limit of {max_bytes}")
    if any(marker in data for marker in _DOCTYPE):
        raise CamtError("the document has a DOCTYPE; DTDs are not allowed")
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as e:
        raise CamtError(f"not well-formed XML: {e}") from None
    if root is None:
        raise CamtError("the document is empty")
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise CamtError("the document has a DOCTYPE; DTDs are not allowed")
    return root


class _Doc:
    """Namespace-qualified lookups in one document."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, el: etree._Element, *paths: str) -> etree._Element | None:
        for path in paths:
            found = el.find(self.q(path))
            if found is not None:
                return found
        return None

    def text(self, el: etree._Element, *paths: str) -> str | None:
        found = self.find(el, *paths)
        if found is None or found.text is None:
            return None
        value = " ".join(found.text.split())
        return value or None

    def texts(self, el: etree._Element, path: str) -> list[str]:
        return [" ".join(e.text.split()) for e in el.iterfind(self.q(path)) if e.text and e.text.strip()]

    def date(self, el: etree._Element, path: str) -> str | None:
        value = self.text(el, f"{path}/Dt", f"{path}/DtTm")
        return value[:10] if value else None


def parse(data: bytes, max_bytes: int = MAX_BYTES) -> Statement:
    """Every transaction of a CAMT.053 document; CamtError when the document as a whole is unusable."""
    root = parse_xml(data, max_bytes)
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or not NAMESPACE.match(ns):
        raise CamtError(f"not a CAMT.053 document: the root is {root.tag!r}")
    doc = _Doc(ns)
    body = doc.find(root, "BkToCstmrStmt")
    if body is None:
        raise CamtError("no BkToCstmrStmt element")
    statements = list(body.iterfind(doc.q("Stmt")))
    if not statements:
        raise CamtError("no Stmt element: the document holds no statement")
    result = Statement(doc.text(body, "GrpHdr/MsgId"))
    for s_index, stmt in enumerate(statements, 1):
        stmt_id = doc.text(stmt, "Id") or f"{result.message_id or 'statement'}-{s_index}"
        account = doc.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id") or "unknown-account"
        context = {"statement_id": stmt_id, "account": account,
                   "statement_date": (doc.text(stmt, "CreDtTm") or "")[:10] or None}
        for e_index, entry in enumerate(stmt.iterfind(doc.q("Ntry")), 1):
            result.items.extend(_entry(doc, entry, context, e_index))
    return result


def _entry(doc: _Doc, entry: etree._Element, context: dict[str, Any], e_index: int) -> list[Item]:
    account, stmt_id = context["account"], context["statement_id"]
    entry_ref = doc.text(entry, "AcctSvcrRef") or doc.text(entry, "NtryRef")
    txs = [tx for details in entry.iterfind(doc.q("NtryDtls")) for tx in details.iterfind(doc.q("TxDtls"))]
    raw = etree.tostring(entry, encoding="unicode")
    if len(raw) > 4000:
        raw = raw[:4000] + "..."
    base = {
        **context,
        "entry_ref": entry_ref,
        "booking_date": doc.date(entry, "BookgDt"),
        "value_date": doc.date(entry, "ValDt"),
        "status": doc.text(entry, "Sts/Cd", "Sts"),
        "reversal": (doc.text(entry, "RvslInd") or "").lower() == "true",
        "bank_transaction_code": _bank_code(doc, entry),
        "additional_info": doc.text(entry, "AddtlNtryInf"),
    }
    out = []
    for t_index, tx in enumerate(txs or [None], 1):
        if tx is not None and doc.text(tx, "Refs/AcctSvcrRef"):
            ref = doc.text(tx, "Refs/AcctSvcrRef")
        elif entry_ref:
            ref = entry_ref if len(txs) <= 1 else f"{entry_ref}/{t_index}"
        else:
            ref = f"{stmt_id}/{e_index}/{t_index}"
        item_id = f"{account}/{ref}"
        try:
            out.append(Item(item_id, _transaction(doc, entry, tx, base, single=len(txs) <= 1)))
        except ValueError as e:
            out.append(Item(item_id, error=f"entry {e_index} ({ref}): {e}", raw=raw))
    return out


def _bank_code(doc: _Doc, entry: etree._Element) -> str | None:
    parts = [doc.text(entry, "BkTxCd/Domn/Cd"), doc.text(entry, "BkTxCd/Domn/Fmly/Cd"),
             doc.text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd")]
    if all(parts):
        return "-".join(p for p in parts if p)
    return doc.text(entry, "BkTxCd/Prtry/Cd")


def _amount(el: etree._Element | None, what: str) -> tuple[str, str]:
    """(amount, currency) of an ``Amt`` element; ValueError naming ``what`` when it is not usable."""
    if el is None:
        raise ValueError(f"no {what}")
    text = (el.text or "").strip()
    currency = (el.get("Ccy") or "").strip().upper()
    if not _AMOUNT.match(text):
        raise ValueError(f"{what} {text!r} is not an amount")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not an amount") from None
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"{what} has no currency (Ccy={currency!r})")
    return str(value), currency


def _transaction(doc: _Doc, entry: etree._Element, tx: etree._Element | None, base: dict[str, Any],
                 single: bool) -> dict[str, Any]:
    direction = (tx is not None and doc.text(tx, "CdtDbtInd")) or doc.text(entry, "CdtDbtInd")
    if direction not in ("CRDT", "DBIT"):
        raise ValueError(f"CdtDbtInd is {direction!r}, not CRDT or DBIT")
    amount_el = None
    if tx is not None:
        amount_el = doc.find(tx, "Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt")
    if amount_el is None and single:
        amount_el = doc.find(entry, "Amt")
    amount, currency = _amount(amount_el, "amount")
    data = {**base, "amount": amount, "currency": currency, "credit_debit": direction,
            "end_to_end_id": None, "transaction_id": None, "debtor_name": None, "debtor_iban": None,
            "creditor_name": None, "creditor_iban": None, "remittance": None, "structured_reference": None}
    if tx is None:
        data["remittance"] = base.get("additional_info")
        return data
    e2e = doc.text(tx, "Refs/EndToEndId")
    data["end_to_end_id"] = None if e2e == "NOTPROVIDED" else e2e
    data["transaction_id"] = doc.text(tx, "Refs/TxId")
    data["debtor_name"] = doc.text(tx, "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm")
    data["debtor_iban"] = doc.text(tx, "RltdPties/DbtrAcct/Id/IBAN")
    data["creditor_name"] = doc.text(tx, "RltdPties/Cdtr/Nm", "RltdPties/Cdtr/Pty/Nm")
    data["creditor_iban"] = doc.text(tx, "RltdPties/CdtrAcct/Id/IBAN")
    structured = doc.texts(tx, "RmtInf/Strd/CdtrRefInf/Ref")
    unstructured = doc.texts(tx, "RmtInf/Ustrd")
    data["structured_reference"] = structured[0] if structured else None
    text = " ".join([*structured, *unstructured]) or doc.text(tx, "AddtlTxInf") or base.get("additional_info")
    data["remittance"] = text
    return data
