"""The finance connector's CSV writer (connectors.finance.invoice_csv.render): formulas neutralised, numbers kept."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from connectors.finance.invoice_csv import Dialect, render


def test_rendered_text_is_neutralised_and_numbers_are_not() -> None:
    rows = [{"name": "=HYPERLINK(\"http://evil\")", "city": " @SUM(A1)", "note": "\uff1dcmd", "tags": ["-x", "y"],
             "credit_limit": Decimal("-5.00"), "plain": "Acme GmbH"}]
    content, failures = render(rows, ["name", "city", "note", "tags", "credit_limit", "plain"],
                               Dialect(delimiter=";", encoding="utf-8-sig"))
    assert failures == {}
    header, row = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert header == ["name", "city", "note", "tags", "credit_limit", "plain"]
    assert row == ["'=HYPERLINK(\"http://evil\")", "' @SUM(A1)", "'\uff1dcmd", "'-x;y", "-5.00", "Acme GmbH"]
