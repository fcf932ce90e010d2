"""Reading a CSV file for import (hub.imports.csv_reading, hub.imports.csv_encoding): quotes, long cells, encodings.

Each case goes through `import_csv`, so it asserts what ends up in the store and in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.actor import Context
from hub.core.read import Condition
from hub.core.store import Store
from hub.errors import ValidationError
from hub.imports.csv_import import import_csv
from hub.imports.csv_reading import MAX_FIELD


def names(store: Store, ctx: Context, module: str = "contacts", field: str = "last_name") -> list[Any]:
    with store.reading(ctx) as tx:
        return sorted(r[field] for r in tx.query(module))


def test_doubled_quotes_survive_in_a_crlf_file(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'email,last_name\r\na@example.cn,"Says ""hi"""\r\n')  # the sniffer: doublequote off
    report = import_csv(store, ctx, "contacts", path)
    assert (report.created, report.rejected) == (1, 0)
    assert names(store, ctx) == ['Says "hi"']


def test_a_stray_quote_is_reported_at_its_line(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_text('last_name,email\nLi,li@example.cn\n"Wang"er,wang@example.cn\nZhao,zhao@example.cn\n',
                    encoding="utf-8")
    report = import_csv(store, ctx, "contacts", path)
    assert report.created == 2
    [reject] = report.rejects
    assert reject.line == 3
    assert reject.reason.startswith("a quote ends a field before its end (a stray quote?)")
    assert names(store, ctx) == ["Li", "Zhao"]


def test_an_unclosed_quote_is_reported_where_it_starts(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "unclosed.csv"
    path.write_text('last_name,email\nLi,li@example.cn\n"Wang,wang@example.cn\nZhao,zhao@example.cn\n'
                    'Sun,sun@example.cn\n', encoding="utf-8")
    report = import_csv(store, ctx, "contacts", path)
    assert report.created == 1
    [reject] = report.rejects
    assert reject.line == 3
    assert reject.reason.startswith("a quoted field starts in this row and is never closed (lines 3-5 not read)")


def test_a_cell_over_the_limit_is_a_rejected_line_and_a_long_one_is_imported(store: Store, ctx: Context,
                                                                              tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    long_text, too_long = "x" * 200_000, "y" * (MAX_FIELD + 1)  # the csv module's own limit is 131072
    path.write_text(f'sku,name,description\nA-1,Alpha,short\nA-2,Beta,"{too_long}"\nA-3,Gamma,"{long_text}"\n'
                    "A-4,Delta,\n", encoding="utf-8")
    report = import_csv(store, ctx, "products", path, batch_size=1)
    assert (report.created, report.rejected) == (3, 1)
    [reject] = report.rejects
    assert (reject.line, reject.reason) == (3, f"column 'description' has {MAX_FIELD + 1} characters; "
                                               f"at most {MAX_FIELD} are accepted")
    assert names(store, ctx, "products", "sku") == ["A-1", "A-3", "A-4"]
    with store.reading(ctx) as tx:
        [gamma] = tx.query("products", [Condition("sku", "=", "A-3")])
    assert gamma["description"] == long_text


def test_a_latin1_file_is_not_guessed(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("last_name,email\nMüller,m@example.de\nSchmidt,s@example.de\n".encode("cp1252"))
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path)
    message = str(err.value)
    assert message.startswith("file: is not UTF-8 (from line 2 (byte 17, 0xfc)), and its encoding cannot be told "
                              "for sure; at line 2 it reads as")
    assert "'Müller,m@example.de'" in message and "Pass --encoding" in message
    assert names(store, ctx) == []
    report = import_csv(store, ctx, "contacts", path, encoding="cp1252")
    assert (report.created, report.encoding) == (2, "cp1252")
    assert names(store, ctx) == ["Müller", "Schmidt"]


def test_undecodable_bytes_under_a_named_encoding_are_located(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    data = b"last_name,email\nLi,li@example.cn\nM\xfcller,m@example.de\n"
    path.write_bytes(data)
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path, encoding="utf-8")
    offset = data.index(b"\xfc")
    assert str(err.value) == (f"file: line 3 (byte {offset}, 0xfc) is not valid utf-8 "
                              "(invalid start byte); is --encoding right?")
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path, encoding="klingon")
    assert str(err.value) == "--encoding: 'klingon' is not an encoding Python knows"
    assert names(store, ctx) == []


def test_a_confidently_detected_encoding_is_used(store: Store, ctx: Context, tmp_path: Path) -> None:
    surnames, given = ["王", "李", "歐陽", "司馬", "張"], ["偉", "芳", "娜娜", "懿"]
    cities = ["台北", "高雄", "台中", "新竹"]
    path = tmp_path / "big5.csv"
    path.write_bytes(("last_name,first_name,city,email\n" + "".join(
        f"{surnames[i % 5]},{given[i % 4]},{cities[i * 7 % 4]},u{i}@example.tw\n" for i in range(60))).encode("big5"))
    report = import_csv(store, ctx, "contacts", path)
    assert (report.created, report.rejected, report.encoding) == (60, 0, "big5")
    assert set(names(store, ctx)) == set(surnames)


def test_a_detection_that_a_wrong_encoding_wins_is_refused(store: Store, ctx: Context, tmp_path: Path) -> None:
    """charset-normalizer scores this Big5 file best as Shift-JIS (half-width katakana): too close to call."""
    rows = [("歐陽", "台北"), ("司馬", "高雄"), ("張", "台中"), ("陳", "新竹")] * 10
    path = tmp_path / "big5.csv"
    path.write_bytes(("last_name,city,email\n" + "".join(
        f"{n},{c},u{i}@example.tw\n" for i, (n, c) in enumerate(rows))).encode("big5"))
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path)
    assert "big5: '歐陽,台北,u0@example.tw'" in str(err.value) and "Pass --encoding" in str(err.value)
    assert names(store, ctx) == []
    assert import_csv(store, ctx, "contacts", path, encoding="big5").created == 40
    assert "歐陽" in names(store, ctx)
