"""Chaos, scopes: a user whose role sees only her own contacts probes for someone else's.

Bob owns a contact with a national id, an e-mail and a phone. Alice's role (scope `own`, phone hidden,
national id masked) runs each probe twice through the real `hub` CLI: once with Bob's value or id, once
with a value or id nobody holds. A probe leaks when the two answers differ (after the probe's own value
and any fresh ids are blanked out) or when an answer shows any of Bob's values or his record's id. Alice's
own record is probed too: its hidden phone must not appear in her record, its history or an export.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.hub_shell import HubShell

BOB = {"email": "bob.secret@example.com", "last_name": "Geheim", "national_id": "BOB-NID-99317",
       "phone": "+49 30 9876543"}
ALICE_PHONE = "+49 30 1112223"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class ScopeReport:
    tried: int = 0
    leaked: int = 0
    problems: list[str] = field(default_factory=list)


def _setup(sh: HubShell) -> tuple[str, str]:
    """Users, the role, Bob's contact and Alice's; their ids."""
    sh.must("roles", "create", "rep")
    sh.must("roles", "grant", "rep", "contacts", "--actions", "all", "--scope", "own")
    sh.must("roles", "field", "rep", "contacts", "phone", "hidden")
    sh.must("roles", "field", "rep", "contacts", "national_id", "masked")
    sh.must("roles", "create", "owner")
    sh.must("roles", "grant", "owner", "contacts", "--actions", "all", "--scope", "own")
    sh.must("users", "create", "alice", "--no-password", "--role", "rep")
    sh.must("users", "create", "bob", "--no-password", "--role", "owner")
    sh.must("import", "contacts", sh.csv("email,last_name,national_id,phone",
                                          ",".join(BOB.values())), user="bob")
    sh.must("import", "contacts", sh.csv("email,last_name", "alice.own@example.com,Eigen"), user="alice")
    ids = {}
    for name in ("alice", "bob"):
        out = sh.must("records", "list", "contacts", user=name)
        found = UUID.findall(out)
        if not found:
            raise RuntimeError(f"{name} sees no contact of their own: {out}")
        ids[name] = found[0]
    # An administrator sets and changes Alice's hidden phone, so her record's history holds phone values.
    sh.must("import", "contacts", sh.csv("email,last_name,phone", f"alice.own@example.com,Eigen,{ALICE_PHONE}"))
    sh.must("import", "contacts", sh.csv("email,last_name,phone", "alice.own@example.com,Eigen,+49 30 4445556"))
    return ids["alice"], ids["bob"]


def _answer(sh: HubShell, args: list[str]) -> tuple[int, str]:
    """Alice's answer to ``args``: exit status and everything printed."""
    done = sh.run(*args, user="alice")
    return done.returncode, done.stdout + done.stderr


def _blank(text: str, *values: str) -> str:
    for v in values:
        text = text.replace(v, "<probe>")
    return UUID.sub("<id>", text)


def run() -> ScopeReport:
    report = ScopeReport()
    with tempfile.TemporaryDirectory(prefix="chaos-scope-") as tmp:
        sh = HubShell(Path(tmp))
        alice_id, bob_id = _setup(sh)
        secrets = [*BOB.values(), BOB["phone"].replace(" ", ""), bob_id]
        nobody_id = str(uuid.uuid4())
        pairs: list[tuple[str, list[str], list[str], tuple[str, str]]] = []

        def probe(name: str, held: list[str], free: list[str], values: tuple[str, str]) -> None:
            pairs.append((name, held, free, values))

        nid, other_nid = BOB["national_id"], "NOBODY-NID-11111"
        probe("import --match national_id --dry-run",
              ["import", "contacts", sh.csv("national_id,last_name", f"{nid},Probe"), "--match", "national_id",
               "--dry-run"],
              ["import", "contacts", sh.csv("national_id,last_name", f"{other_nid},Probe"), "--match", "national_id",
               "--dry-run"], (nid, other_nid))
        probe("import by e-mail --dry-run",
              ["import", "contacts", sh.csv("email,last_name", f"{BOB['email']},Probe"), "--dry-run"],
              ["import", "contacts", sh.csv("email,last_name", "nobody.at.all@example.com,Probe"), "--dry-run"],
              (BOB["email"], "nobody.at.all@example.com"))
        probe("import by e-mail",
              ["import", "contacts", sh.csv("email,last_name", f"{BOB['email']},Probe")],
              ["import", "contacts", sh.csv("email,last_name", "nobody.else@example.com,Probe")],
              (BOB["email"], "nobody.else@example.com"))
        probe("import --match id", ["import", "contacts", sh.csv("id,last_name", f"{bob_id},Probe"), "--dry-run"],
              ["import", "contacts", sh.csv("id,last_name", f"{nobody_id},Probe"), "--dry-run"], (bob_id, nobody_id))
        probe("records show", ["records", "show", "contacts", bob_id], ["records", "show", "contacts", nobody_id],
              (bob_id, nobody_id))
        probe("records search", ["records", "search", "contacts", BOB["last_name"]],
              ["records", "search", "contacts", "Niemand"], (BOB["last_name"], "Niemand"))
        probe("records list --where national_id", ["records", "list", "contacts", "--where", f"national_id={nid}"],
              ["records", "list", "contacts", "--where", f"national_id={other_nid}"], (nid, other_nid))
        probe("records list --where phone", ["records", "list", "contacts", "--where", f"phone={BOB['phone']}"],
              ["records", "list", "contacts", "--where", "phone=+49 30 0000000"], (BOB["phone"], "+49 30 0000000"))
        probe("audit log", ["audit", "log", "contacts", bob_id], ["audit", "log", "contacts", nobody_id],
              (bob_id, nobody_id))
        probe("lineage", ["lineage", "contacts", bob_id], ["lineage", "contacts", nobody_id], (bob_id, nobody_id))
        for name, held, free, values in pairs:
            report.tried += 1
            a, b = _answer(sh, held), _answer(sh, free)
            shown = [s for s in secrets if s in a[1] and s not in values]
            if a[0] != b[0] or _blank(a[1], *values) != _blank(b[1], *values) or shown:
                report.leaked += 1
                report.problems.append(f"scope {name}: held -> exit {a[0]} {a[1].strip()[-200:]!r}; "
                                       f"nobody -> exit {b[0]} {b[1].strip()[-200:]!r}"
                                       + (f"; shows {shown}" if shown else ""))
        own = [("records show (own)", ["records", "show", "contacts", alice_id]),
               ("audit log (own)", ["audit", "log", "contacts", alice_id]),
               ("audit log --json (own)", ["audit", "log", "contacts", alice_id, "--json"]),
               ("lineage (own)", ["lineage", "contacts", alice_id]),
               ("export (own)", ["export", "contacts"])]
        for name, args in own:
            report.tried += 1
            code, out = _answer(sh, args)
            plain = json.dumps(out)  # also catches the value inside escaped JSON
            # Bob's e-mail is left out here: the real import-by-e-mail probe gave Alice a record of her own
            # with it (no match in her scope is no match), which she may of course see.
            mine = [s for s in secrets if s != BOB["email"]]
            hidden = [p for p in (ALICE_PHONE, "+49 30 4445556", "+49301112223", "+49304445556", *mine)
                      if p in out or p in plain]
            if code or hidden:
                report.leaked += 1
                report.problems.append(f"scope {name}: exit {code}, shows {hidden}: {out.strip()[-200:]!r}")
    return report
