"""Mapping versions in the store: save, list, get, diff, pin, unpin, rollback."""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.db import make_engine, transaction
from hub.core.models.base import Base
from hub.errors import NotFound
from hub.mappings import versions
from hub.mappings.problems import SpecError
from hub.mappings.testcases import TestsFailed
from hub.mappings.versions import MappingPin, MappingVersion
from tests.mappings.samples import CATALOG, EXAMPLE

V2 = EXAMPLE.replace("transform: [strip]}", "transform: [strip, title]}").replace(
    'expect: {name: "Acme GmbH"', 'expect: {name: "Acme Gmbh"')  # its embedded test follows the change


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(engine, tables=[MappingVersion.__table__, MappingPin.__table__])  # type: ignore[list-item]
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with transaction(engine) as session:
        yield session


def test_save_creates_versions_only_when_content_changes(session: Session) -> None:
    first = versions.save(session, EXAMPLE, "alice", comment="first cut")
    assert (first.name, first.version, first.created_by, first.comment) == ("erp_partner_to_account", 1, "alice",
                                                                            "first cut")  # fmt: skip
    assert first.created_at.tzinfo is not None
    assert yaml.safe_load(first.spec)["mapping"] == "erp_partner_to_account"
    assert len(first.spec_hash) == 64
    again = versions.save(session, EXAMPLE + "\n# only a comment\n", "bob")
    assert again.id == first.id  # same content, same version
    second = versions.save(session, V2, "bob")
    assert second.version == 2
    assert [v.version for v in versions.versions(session, "erp_partner_to_account")] == [1, 2]
    assert versions.names(session) == ["erp_partner_to_account"]


def test_save_validates_first(session: Session) -> None:
    with pytest.raises(SpecError, match="unknown target field 'created_on'"):
        versions.save(session, EXAMPLE, "alice", catalog={"accounts": CATALOG["accounts"] - {"created_on"}})
    assert versions.versions(session, "erp_partner_to_account") == []


def test_a_spec_whose_embedded_tests_fail_is_not_saved_unless_forced(session: Session) -> None:
    broken = EXAMPLE.replace("transform: [strip]}", "transform: [strip, upper]}")
    with pytest.raises(TestsFailed) as caught:
        versions.save(session, broken, "alice")
    assert "1 of 2 embedded tests fail: a company: name: expected 'Acme GmbH', got 'ACME GMBH'" in str(caught.value)
    assert [r.passed for r in caught.value.results] == [False, True]
    assert versions.versions(session, "erp_partner_to_account") == []
    forced = versions.save(session, broken, "alice", force=True)
    assert forced.version == 1


def test_unknown_names_and_versions_say_so(session: Session) -> None:
    versions.save(session, EXAMPLE, "alice")
    with pytest.raises(NotFound, match=r"^no mapping named 'erp_partner'; did you mean erp_partner_to_account\?$"):
        versions.get(session, "erp_partner")
    with pytest.raises(NotFound, match=r"^no mapping named 'zzz'$"):
        versions.get(session, "zzz")
    with pytest.raises(NotFound, match=r"^mapping 'erp_partner_to_account' has no version 4; versions: 1$"):
        versions.get(session, "erp_partner_to_account", 4)


def test_get_latest_pinned_and_missing(session: Session) -> None:
    versions.save(session, EXAMPLE, "alice")
    versions.save(session, V2, "alice")
    assert versions.get(session, "erp_partner_to_account").version == 2
    assert versions.get(session, "erp_partner_to_account", 1).version == 1
    versions.pin(session, "erp_partner_to_account", 1, "carol")
    assert versions.pinned(session, "erp_partner_to_account") == 1
    assert versions.get(session, "erp_partner_to_account").version == 1
    pin = session.get(MappingPin, "erp_partner_to_account")
    assert pin is not None and pin.pinned_by == "carol"
    versions.pin(session, "erp_partner_to_account", 2, "carol")
    assert versions.get(session, "erp_partner_to_account").version == 2
    assert versions.unpin(session, "erp_partner_to_account") is True
    assert versions.unpin(session, "erp_partner_to_account") is False
    with pytest.raises(NotFound):
        versions.get(session, "erp_partner_to_account", 9)
    with pytest.raises(NotFound):
        versions.get(session, "nope")
    with pytest.raises(NotFound):
        versions.pin(session, "erp_partner_to_account", 9, "carol")


def test_diff(session: Session) -> None:
    versions.save(session, EXAMPLE, "alice")
    versions.save(session, V2, "alice")
    text = versions.diff(session, "erp_partner_to_account", 1, 2)
    assert text.startswith("--- erp_partner_to_account v1\n+++ erp_partner_to_account v2\n")
    assert "+    - title\n" in text
    assert versions.diff(session, "erp_partner_to_account", 2, 2) == ""


def test_rollback_adds_a_version_with_old_content(session: Session) -> None:
    v1 = versions.save(session, EXAMPLE, "alice")
    versions.save(session, V2, "alice")
    back = versions.rollback(session, "erp_partner_to_account", 1, "dave")
    assert back.version == 3
    assert (back.spec, back.spec_hash) == (v1.spec, v1.spec_hash)
    assert (back.created_by, back.comment) == ("dave", "rollback to v1")
    assert versions.rollback(session, "erp_partner_to_account", 3, "dave").version == 3  # already current
    assert versions.get(session, "erp_partner_to_account").spec == v1.spec


def test_versions_survive_the_transaction(engine: Engine) -> None:
    with transaction(engine) as session:
        versions.save(session, EXAMPLE, "alice")
    with transaction(engine) as session:
        row = versions.get(session, "erp_partner_to_account")
        assert row.version == 1
        assert row.created_at.tzinfo == dt.UTC


def test_name_and_version_are_unique(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        for _ in range(2):
            session.add(MappingVersion(name="x", version=1, spec="", spec_hash="", created_by="a"))
            session.flush()


def test_a_pin_must_name_an_existing_version(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(MappingPin(name="ghost", version=1, pinned_by="a"))
        session.flush()


def test_the_module_imports_only_the_store_basics() -> None:
    """Alembic collects the models: versions.py must not pull in the mapping language."""
    tree = ast.parse(Path(versions.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in tree.body:  # module level only; TYPE_CHECKING and function-level imports are not run on import
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    hub_modules = {name for name in imported if name.startswith("hub")}
    assert hub_modules == {"hub.core.models.base", "hub.core.types"}
    assert {name.split(".")[0] for name in imported} <= {"__future__", "datetime", "difflib", "uuid", "typing",
                                                          "sqlalchemy", "hub"}  # fmt: skip
    code = "import sys, hub.mappings.versions; print(sorted(m for m in sys.modules if m.startswith('hub.mappings')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['hub.mappings', 'hub.mappings.versions']"
