"""Chaos, tampering: an intruder with write access to the database (not Hub's keys) edits the audit trail.

A fresh SQLite database gets 30 events, a signed checkpoint (`hub audit checkpoint --out`), then 10 more.
Each case copies that database, tampers with the copy the way tests/core/audit_tamper.py describes (the
intruder's best effort: re-chaining what follows as an unkeyed SHA-256 chain), and runs the real
`hub audit verify --since-checkpoint FILE`. A case is detected when the command exits non-zero and names
the sequence number of the first event that was tampered with.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench.hub_shell import HubShell
from tests.core import audit_tamper as tamper

BEFORE, AFTER = 30, 10


@dataclass
class TamperReport:
    tried: int = 0
    detected: int = 0
    problems: list[str] = field(default_factory=list)


def _import(sh: HubShell, start: int, n: int) -> None:
    rows = (f"t{i}@example.com,T{i}" for i in range(start, start + n))
    sh.must("import", "contacts", sh.csv("email,last_name", *rows))


def _edit_field(column: str, value: str, seq: int) -> Callable[[sa.Engine], None]:
    def edit(engine: sa.Engine) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE audit_events SET {column} = :v WHERE seq = :s"), {"v": value, "s": seq})
    return edit


def _forge_checkpoint(path: Path) -> None:
    data = json.loads(path.read_text())
    data["seq"] = int(data["seq"]) - 5
    path.write_text(json.dumps(data))


def cases() -> list[tuple[str, Callable[[sa.Engine], None], int | None]]:
    """(name, tamper, the seq that must be named; None where the checkpoint itself is what is forged)."""
    head = BEFORE + AFTER
    return [
        ("changed_without_rechain", _edit_field("changes", '{"last_name":[null,"Forged"]}', 7), 7),
        ("forged_and_rechained", lambda e: tamper.forge(e, 7), 7),
        ("actor_rewritten", lambda e: (_edit_field("actor_name", "someone-else", 3)(e), tamper.rechain_from(e, 3)), 3),
        ("time_rewritten", lambda e: (_edit_field("at", "2020-01-01 00:00:00.000000", 15)(e),
                                      tamper.rechain_from(e, 15)), 15),
        ("removed_with_gap", lambda e: tamper.remove(e, 12), 12),
        ("removed_and_renumbered", lambda e: tamper.remove(e, 12, renumber=True), 12),
        ("reordered", lambda e: tamper.swap(e, 8, 9), 8),
        ("appended_after_head", lambda e: tamper.append(e), head + 1),
        ("forged_after_checkpoint", lambda e: tamper.forge(e, BEFORE + 4), BEFORE + 4),
        ("tail_cut_into_checkpoint", lambda e: tamper.cut_tail(e, BEFORE - 5), BEFORE - 4),
        ("all_rechained_from_genesis", lambda e: tamper.forge(e, 1), 1),
    ]


def run() -> TamperReport:
    report = TamperReport()
    with tempfile.TemporaryDirectory(prefix="chaos-tamper-") as tmp:
        base = Path(tmp)
        sh = HubShell(base)
        _import(sh, 0, BEFORE)
        checkpoint = base / "checkpoint.json"
        sh.must("audit", "checkpoint", "--out", str(checkpoint))
        _import(sh, BEFORE, AFTER)
        pristine = base / "pristine.db"
        shutil.copyfile(sh.database, pristine)
        clean = sh.run("audit", "verify", "--since-checkpoint", str(checkpoint))
        if clean.returncode:
            report.problems.append(f"tamper: the untouched chain does not verify: {clean.stdout}{clean.stderr}")
        for name, edit, seq in [*cases(), ("checkpoint_forged", lambda e: None, None)]:
            shutil.copyfile(pristine, sh.database)
            kept = base / f"checkpoint-{name}.json"
            shutil.copyfile(checkpoint, kept)
            if seq is None:
                _forge_checkpoint(kept)
            engine = sa.create_engine(sh.env["HUB_DATABASE_URL"])
            try:
                edit(engine)
            finally:
                engine.dispose()
            done = sh.run("audit", "verify", "--since-checkpoint", str(kept))
            out = done.stdout + done.stderr
            report.tried += 1
            named = re.search(r"sequence number (\d+)", out)
            if done.returncode == 0:
                report.problems.append(f"tamper {name}: verify exited 0: {out.strip()[-300:]}")
            elif "Traceback" in out:
                report.problems.append(f"tamper {name}: traceback: {out.strip()[-300:]}")
            elif seq is not None and (named is None or int(named.group(1)) != seq):
                report.problems.append(f"tamper {name}: expected seq {seq}, got: {out.strip()[-300:]}")
            else:
                report.detected += 1
    return report
