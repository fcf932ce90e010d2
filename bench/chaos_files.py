"""Chaos, files: hostile CSV and XML, and CSV injection, each handled without traceback or partial commit.

CSV files go through the real `hub import contacts FILE` (a subprocess on a fresh SQLite database): a file is
handled when the command exits 0 or 1 without a traceback, the database holds exactly the records the
summary says were created, and, where the file has one right reading, the stored text is that reading.
XML documents go through the CAMT.053 parser the SFTP finance connector uses: each is refused with its own
error (CamtError), never another exception. Export: records whose text starts a formula in a spreadsheet
(also behind a space, a BOM, a line feed or a full-width sign) are exported, and every such cell must come
out neutralised (a leading apostrophe, the OWASP rule).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.hub_shell import HubShell
from connectors.finance import camt053

HEADER = "email,last_name,job_title\r\n"


def _rows(n: int, start: int = 0) -> str:
    return "".join(f"p{i}@example.com,Person{i},Engineer\r\n" for i in range(start, start + n))


def _stored(text: str) -> Callable[[sqlite3.Connection], bool]:
    """A check: some contact's job_title is exactly ``text``."""
    return lambda db: db.execute("SELECT count(*) FROM contacts WHERE job_title = ?", (text,)).fetchone()[0] == 1


def _never(text: str) -> Callable[[sqlite3.Connection], bool]:
    """A check: no contact's last_name contains ``text`` (a wrong decoding)."""
    return lambda db: db.execute("SELECT count(*) FROM contacts WHERE last_name LIKE ?",
                                 (f"%{text}%",)).fetchone()[0] == 0


@dataclass
class CsvCase:
    name: str
    data: bytes
    check: Callable[[sqlite3.Connection], bool] | None = None  # where the file has one right reading
    line: int | None = None  # the line an error must name, where the file has one bad place


def csv_cases() -> list[CsvCase]:
    big = "x" * (200 * 1024)
    return [
        CsvCase("field_over_128k", (HEADER + _rows(1500) + f'big@example.com,Big,"{big}"\r\n' + _rows(600, 1500))
                .encode(), line=1502),
        CsvCase("crlf_doubled_quotes", (HEADER + 'q@example.com,Quote,"Says ""hi"""\r\n' + _rows(3)).encode(),
                check=_stored('Says "hi"')),
        CsvCase("stray_quote", (HEADER + _rows(2) + 's@example.com,Mül"ler,Engineer\r\n' + _rows(2, 2)).encode(),
                check=lambda db: db.execute("SELECT count(*) FROM contacts WHERE last_name = 'Mül\"ler'")
                .fetchone()[0] == 1, line=4),
        CsvCase("unterminated_quote", (HEADER + _rows(2) + 'u@example.com,"Open,Engineer\r\n' + _rows(5, 2)).encode(),
                line=4),
        CsvCase("latin1_file", (HEADER + "m@example.com,Müller,Ingenieur\r\n" + "n@example.com,Straße,Büro\r\n")
                .encode("cp1252"), check=_never("黮")),
        CsvCase("nul_byte", (HEADER + "z@example.com,Nul\x00l,Engineer\r\n" + _rows(2)).encode(), line=2),
        CsvCase("binary_garbage", bytes(range(256)) * 64),
        CsvCase("empty_file", b""),
        CsvCase("header_only", HEADER.encode()),
        CsvCase("duplicate_header", ("email,last_name,last_name\r\n" + "d@example.com,A,B\r\n").encode()),
        CsvCase("utf16_with_bom", (HEADER + "w@example.com,Wang 王,工程师\r\n").encode("utf-16"),
                check=_stored("工程师")),
        CsvCase("ten_thousand_columns", (",".join(f"c{i}" for i in range(10_000)) + "\r\n"
                                         + ",".join("v" for _ in range(10_000)) + "\r\n").encode()),
        CsvCase("bad_row_among_good", (HEADER + _rows(3) + "not-an-email,Bad,Engineer\r\n" + _rows(3, 3)).encode(),
                line=5),
    ]


XML_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def xml_cases() -> dict[str, bytes]:
    doc = f'<?xml version="1.0"?><Document xmlns="{XML_NS}"><BkToCstmrStmt>{{}}</BkToCstmrStmt></Document>'
    return {
        "billion_laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                          b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                          b'<Document>&c;</Document>',
        "xxe_file": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>',
        "xxe_network": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
                       b'<Document>&x;</Document>',
        "parameter_entity": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
                            b'<Document/>',
        "external_dtd": b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://127.0.0.1:9/d.dtd"><Document/>',
        "doctype_in_utf16": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM '
                            '"file:///etc/passwd">]><Document>&x;</Document>'.encode("utf-16"),
        "xinclude": f'<Document xmlns="{XML_NS}" xmlns:xi="http://www.w3.org/2001/XInclude">'
                    '<xi:include href="file:///etc/passwd" parse="text"/></Document>'.encode(),
        "deep_nesting": b"<a>" * 100_000 + b"</a>" * 100_000,
        "oversized": doc.format("x" * (60 * 1024 * 1024)).encode(),
        "many_attributes": b"<Document " + b" ".join(b'a%d="1"' % i for i in range(200_000)) + b"/>",
        "many_namespaces": b"<Document " + b" ".join(b'xmlns:n%d="urn:%d"' % (i, i) for i in range(100_000)) + b"/>",
        "invalid_utf8": doc.format("").encode().replace(b"<BkToCstmrStmt>", b"<BkToCstmrStmt>\xff\xfe\xfa"),
        "not_xml": b"PK\x03\x04 this is a zip",
        "empty": b"",
        "stylesheet_pi": b'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>'
                         b'<Document/>',
        "cdata_bomb": doc.format("<![CDATA[" + "]" * 5_000_000 + "]]>").encode(),
    }


#: Text that a spreadsheet would run as a formula, and the tricks that slip past a naive first-character test.
INJECTIONS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", " =1+1", "\u3000=1+1", "\uff1d1+1",
              "\ufeff=1+1", "\n=1+1", "\uff0b1+1", "\uff0d1+1", "\uff201+1"]


@dataclass
class FilesReport:
    csv_tried: int = 0
    csv_handled: int = 0
    xml_tried: int = 0
    xml_refused: int = 0
    injections_tried: int = 0
    injections_neutralised: int = 0
    problems: list[str] = field(default_factory=list)


def _csv_case(base: Path, case: CsvCase, report: FilesReport) -> None:
    sh = HubShell(base, case.name)
    path = base / f"{case.name}.csv"
    path.write_bytes(case.data)
    done = sh.run("import", "contacts", str(path))
    out = done.stdout + done.stderr
    problems = []
    if done.returncode not in (0, 1):
        problems.append(f"exit {done.returncode}")
    if "Traceback" in out:
        problems.append("traceback")
    db = sqlite3.connect(sh.database)
    try:
        stored = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
        created = re.search(r"created (\d+)", done.stdout)
        if stored != (int(created.group(1)) if created else 0):
            problems.append(f"{stored} records stored, the report says {created.group(0) if created else 'nothing'}")
        if case.check is not None and stored and not case.check(db):
            problems.append("stored text differs from the file's")
    finally:
        db.close()
    if case.line is not None and case.check is None and f"line {case.line}" not in out:
        problems.append(f"no report naming line {case.line}")
    if case.check is not None and case.line is not None and f"line {case.line}" not in out and done.returncode:
        problems.append(f"refused without naming line {case.line}")
    if problems:
        report.problems.append(f"csv {case.name}: {'; '.join(problems)}: {out.strip()[-300:]}")
    else:
        report.csv_handled += 1
    report.csv_tried += 1


def _export_injections(base: Path, report: FilesReport) -> None:
    sh = HubShell(base, "injections")
    source = base / "injections.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "last_name", "job_title"])
        for i, text in enumerate(INJECTIONS):
            writer.writerow([f"inj{i}@example.com", f"Inj{i}", text])
    imported = sh.run("import", "contacts", str(source))
    exported = sh.run("export", "contacts", "--fields", "email,job_title")
    rows = {r["email"]: r["job_title"] for r in csv.DictReader(io.StringIO(exported.stdout.lstrip("\ufeff")))}
    for i, text in enumerate(INJECTIONS):
        report.injections_tried += 1
        cell = rows.get(f"inj{i}@example.com")
        if cell is None:
            report.problems.append(f"injection {text!r}: not exported ({imported.stdout.strip()[-200:]})")
        elif cell.startswith("'"):
            report.injections_neutralised += 1
        else:
            report.problems.append(f"injection {text!r}: exported raw as {cell!r}")


def run() -> FilesReport:
    report = FilesReport()
    with tempfile.TemporaryDirectory(prefix="chaos-files-") as tmp:
        base = Path(tmp)
        for case in csv_cases():
            _csv_case(base, case, report)
        _export_injections(base, report)
    for name, data in xml_cases().items():
        report.xml_tried += 1
        try:
            camt053.parse(data)
            report.problems.append(f"xml {name}: accepted")
        except camt053.CamtError:
            report.xml_refused += 1
        except Exception as exc:  # anything else is what is being counted
            report.problems.append(f"xml {name}: {type(exc).__name__}: {exc}")
    return report
