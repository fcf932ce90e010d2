"""Probing other users' records through imports and upserts: `hub --as USER import` learns nothing of them.

An own-scoped user imports rows whose match value is held by another user's record, and rows whose value
nobody holds. Matching sees only what the user may read, so the two answer the same; an external id bound to
another user's record is refused without naming that record or any of its values.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core.actor import Actor, Context
from hub.core.models import Binding, Contact
from hub.core.store import Store
from hub.root import Hub

BOB_EMAIL = "bob.secret@example.cn"
BOB_NATIONAL_ID = "110101199001011234"
BOB_EXTERNAL_ID = "CRM-7731"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bob_record(hub_env: str, tmp_path: Path) -> str:
    """Users alice and bob, each with contacts on their own records only; bob's contact, with an external id."""
    for args in (("roles", "create", "rep"),
                 ("roles", "grant", "rep", "contacts", "--actions", "read,create,update,export", "--scope", "own"),
                 ("users", "create", "alice", "--no-password", "--role", "rep"),
                 ("users", "create", "bob", "--no-password", "--role", "rep")):
        code, _, err = _run(*args)
        assert code == 0, err
    src = tmp_path / "bob.csv"
    src.write_text(f"external_id,last_name,email,national_id\n{BOB_EXTERNAL_ID},Bobson,{BOB_EMAIL},"
                   f"{BOB_NATIONAL_ID}\n", encoding="utf-8")
    code, out, _ = _run("--as", "bob", "import", "contacts", str(src))
    assert code == 0 and "created 1" in out
    store = Hub.from_settings().store
    with Session(store.engine) as session:
        return str(session.scalars(select(Contact.id)).one())


def _probe(tmp_path: Path, name: str, header: str, value: str, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / f"{name}.csv"
    path.write_text(f"{header},last_name\n{value},Probe\n", encoding="utf-8")
    return _run("--as", "alice", "import", "contacts", str(path), *extra)


def _bob_unchanged(bob_id: str) -> None:
    store = Hub.from_settings().store
    bob = Actor.for_user(_user_id(store, "bob"), "bob")
    with store.reading(Context(bob, "test")) as tx:
        record = tx.get("contacts", bob_id)
    assert (record["last_name"], record["email"], record["national_id"], record["version"]) == (
        "Bobson", BOB_EMAIL, BOB_NATIONAL_ID, 1)
    with Session(store.engine) as session:
        assert session.scalars(select(Binding.record_id)).all() == [uuid.UUID(bob_id)]


def _user_id(store: Store, username: str) -> uuid.UUID:
    from hub.core.models import User

    with Session(store.engine) as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def _reveals_nothing(bob_id: str, *texts: str) -> None:
    for text in texts:
        for secret in (bob_id, BOB_EMAIL, BOB_NATIONAL_ID, "Bobson"):
            assert secret not in text


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
@pytest.mark.parametrize(("header", "held", "free"), [
    ("national_id", BOB_NATIONAL_ID, "220102198507070011"),
    ("email", BOB_EMAIL, "nobody.here@example.cn"),
])
def test_a_value_held_by_another_users_record_answers_like_a_value_nobody_holds(
        bob_record: str, tmp_path: Path, header: str, held: str, free: str, dry_run: bool) -> None:
    extra = (["--match", header] if header == "national_id" else []) + (["--dry-run"] if dry_run else [])
    held_answer = _probe(tmp_path, "held", header, held, *extra)
    free_answer = _probe(tmp_path, "free", header, free, *extra)
    assert held_answer == free_answer
    code, out, err = held_answer
    assert code == 0 and "created 1, updated 0, unchanged 0, rejected 0" in out
    _reveals_nothing(bob_record, out, err)
    _bob_unchanged(bob_record)  # matched nothing of bob's: his record is neither read nor changed


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_an_external_id_bound_to_another_users_record_is_refused_naming_nothing_of_it(
        bob_record: str, tmp_path: Path, dry_run: bool) -> None:
    extra = ["--dry-run"] if dry_run else []
    _, out, err = _probe(tmp_path, "held", "external_id", BOB_EXTERNAL_ID, *extra)
    assert "created 0, updated 0, unchanged 0, rejected 1" in out
    assert (f"line 2: contacts.external_id: {BOB_EXTERNAL_ID!r} of csv-import/contacts is bound to a record you "
            "may not change") in err
    _reveals_nothing(bob_record, out, err)
    _bob_unchanged(bob_record)  # neither updated nor duplicated, and no second binding


def test_the_same_content_as_another_users_record_is_not_confirmed_unchanged(
        bob_record: str, tmp_path: Path) -> None:
    """A re-import of exactly bob's row by alice would answer "unchanged" if the content hash were compared
    before the scope check, confirming every value of bob's record."""
    path = tmp_path / "copy.csv"
    path.write_text(f"external_id,last_name,email,national_id\n{BOB_EXTERNAL_ID},Bobson,{BOB_EMAIL},"
                    f"{BOB_NATIONAL_ID}\n", encoding="utf-8")
    _, out, err = _run("--as", "alice", "import", "contacts", str(path), "--dry-run")
    assert "unchanged 0, rejected 1" in out
    _reveals_nothing(bob_record, err)
