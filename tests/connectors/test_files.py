"""The file connector: the standard contract, then incremental reads, malformed lines, encodings and the outbox."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.files import FilesConnector
from hub.errors import ConfigError, PermanentError, RetryableError
from hub.hookspecs import hookimpl
from hub.plugins import plugin_manager
from hub.sync.connector import Checkpoint, Connector, Record
from hub.sync.connector_types import connector_types
from hub.testing import ConnectorContract

CONTACTS = [{"id": i, "name": f"Name {i}", "score": i * 1.5, "vip": i % 2 == 0} for i in range(1, 6)]


def jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def files(tmp_path: Path, **streams: dict[str, Any]) -> FilesConnector:
    return FilesConnector({"path": str(tmp_path), "streams": streams})


def read(connector: Connector, stream: str, state: Any = None) -> tuple[list[Record], Any]:
    """The records of a read and the state of its last checkpoint."""
    items = list(connector.read(stream, state))
    last = items[-1]
    assert isinstance(last, Checkpoint)
    return [i for i in items if isinstance(i, Record)], json.loads(json.dumps(last.state))


def ids(records: list[Record]) -> list[str]:
    return [r.external_id for r in records]


class TestFilesContract(ConnectorContract):
    stream = "contacts"
    write_stream = "contacts"

    @pytest.fixture
    def connector(self, tmp_path: Path) -> FilesConnector:
        (tmp_path / "contacts-1.jsonl").write_text(jsonl(*CONTACTS[:3]) + "\n", encoding="utf-8")
        (tmp_path / "contacts-2.jsonl").write_text(jsonl(*CONTACTS[3:]) + "{broken\n", encoding="utf-8")
        (tmp_path / "orders.csv").write_text('id,total\n1,"9.50"\n2,3\n', encoding="utf-8")
        return files(tmp_path, contacts={"pattern": "contacts-*.jsonl"}, orders={"pattern": "orders.csv"})

    @pytest.fixture
    def broken_connector(self, tmp_path: Path) -> FilesConnector:
        return files(tmp_path / "missing", contacts={"pattern": "*.jsonl"})

    def sample_records(self) -> list[Record]:
        return [Record("contacts", "w1", {"name": "Ada"}), Record("contacts", "", {"name": "Grace"})]

    def written_count(self, connector: Connector, stream: str) -> int:
        assert isinstance(connector, FilesConnector)
        outbox = connector.outbox / f"{stream}.jsonl"
        return len(outbox.read_bytes().splitlines()) if outbox.exists() else 0


# -- configuration and discovery ------------------------------------------------------------------------
def test_registered_through_the_hook() -> None:
    assert connector_types(plugin_manager(entry_points=False))["files"] is FilesConnector


def test_a_plugin_registering_files_again_is_a_config_error() -> None:
    class Again:
        @hookimpl
        def register_connectors(self) -> dict[str, Any]:
            return {"files": FilesConnector}

    with pytest.raises(ConfigError, match="'files' is registered twice"):
        connector_types(plugin_manager([Again()], entry_points=False))


def test_check_names_a_path_that_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match=r"plain.*is not a folder"):
        files(tmp_path / "plain").check()


def test_check_names_an_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # chmod 000 does not stop root
    with pytest.raises(ConfigError, match=f"{tmp_path.name}.*not readable"):
        files(tmp_path).check()


@pytest.mark.parametrize(("stream", "problem"), [
    ({"pattern": "/etc/*.csv"}, "must stay inside path"),
    ({"pattern": "../*.csv"}, "must stay inside path"),
    ({"pattern": "contacts*"}, "format: is required"),
    ({"pattern": "a.csv", "encoding": "utf-16"}, "encoding"),
    ({"pattern": "a.csv", "delimiter": ";;"}, "delimiter"),
])
def test_bad_stream_config_is_a_config_error(tmp_path: Path, stream: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        files(tmp_path, s=stream)


def test_discover_samples_json_types_from_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(jsonl({"id": 1, "n": None, "x": 1}, {"id": 2, "n": "b", "x": 2.5, "t": [1]}))
    (tmp_path / "b.jsonl").write_text(jsonl({"id": 3, "late": True}))
    (stream,) = files(tmp_path, s={"pattern": "*.jsonl", "key": "id"}).discover()
    assert dict(stream.fields) == {"id": "integer", "n": "string", "x": "number", "t": "array"}
    assert (stream.name, stream.key, stream.writable) == ("s", "id", True)


# -- incremental reads ----------------------------------------------------------------------------------
def test_a_new_file_and_appended_lines_are_picked_up_by_the_next_read(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "c-*.jsonl"})
    (tmp_path / "c-1.jsonl").write_text(jsonl({"id": 1}, {"id": 2}))
    records, state = read(connector, "c")
    assert ids(records) == ["1", "2"]
    assert state == {"file": "c-1.jsonl", "offset": len(jsonl({"id": 1}, {"id": 2})), "line": 2}

    with open(tmp_path / "c-1.jsonl", "a") as fh:
        fh.write(jsonl({"id": 3}))
    (tmp_path / "c-2.jsonl").write_text(jsonl({"id": 4}))
    records, state = read(connector, "c", state)
    assert ids(records) == ["3", "4"]
    assert state["file"] == "c-2.jsonl"

    assert read(connector, "c", state) == ([], state)


def test_files_sorted_before_the_checkpoint_are_not_read_again(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "*.jsonl"})
    (tmp_path / "b.jsonl").write_text(jsonl({"id": "b"}))
    _, state = read(connector, "c")
    (tmp_path / "a.jsonl").write_text(jsonl({"id": "a"}))
    assert read(connector, "c", state)[0] == []


def test_a_partial_last_line_is_left_for_the_next_read(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "*.jsonl"})
    path = tmp_path / "c.jsonl"
    path.write_text(jsonl({"id": 1}) + '{"id": 2, "na')
    records, state = read(connector, "c")
    assert ids(records) == ["1"]
    with open(path, "a") as fh:
        fh.write('me": "done"}\n')
    records, _ = read(connector, "c", state)
    assert [(r.external_id, r.data) for r in records] == [("2", {"id": 2, "name": "done"})]


def test_a_last_line_without_newline_in_an_earlier_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "1.jsonl").write_text(jsonl({"id": 1}) + '{"id": 2}')
    (tmp_path / "2.jsonl").write_text(jsonl({"id": 3}))
    assert ids(read(files(tmp_path, c={"pattern": "*.jsonl"}), "c")[0]) == ["1", "2", "3"]


def test_a_csv_record_with_an_open_quote_at_the_end_waits_for_its_close(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "*.csv"})
    path = tmp_path / "c.csv"
    path.write_text('id,note\n1,plain\n2,"two\n')
    records, state = read(connector, "c")
    assert ids(records) == ["1"]
    with open(path, "a") as fh:
        fh.write('lines"\n')
    records, _ = read(connector, "c", state)
    assert [r.data for r in records] == [{"id": "2", "note": "two\nlines"}]


def test_a_rewritten_file_under_its_checkpoint_is_a_permanent_error(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "*.jsonl"})
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1}, {"id": 2}))
    _, state = read(connector, "c")
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1}))
    with pytest.raises(PermanentError, match="truncated or rewritten"):
        read(connector, "c", state)
    with pytest.raises(PermanentError, match="not a files state"):
        read(connector, "c", {"file": "c.jsonl", "offset": "12"})


def test_a_missing_folder_while_reading_is_retryable(tmp_path: Path) -> None:
    connector = files(tmp_path / "unmounted", c={"pattern": "*.jsonl"})
    with pytest.raises(RetryableError, match="cannot list"):
        read(connector, "c")


def test_os_error_on_open_is_retryable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1}))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("connectors.files.open", refuse, raising=False)
    with pytest.raises(RetryableError, match=r"cannot read 'c\.jsonl'.*Permission denied"):
        read(files(tmp_path, c={"pattern": "*.jsonl"}), "c")


def test_the_outbox_is_never_read(tmp_path: Path) -> None:
    connector = files(tmp_path, c={"pattern": "**/*.jsonl"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "c.jsonl").write_text(jsonl({"id": 1}))
    connector.write("c", [Record("c", "9", {"x": 1})], "k")
    assert ids(read(connector, "c")[0]) == ["1"]


# -- malformed lines ------------------------------------------------------------------------------------
def test_malformed_json_lines_become_error_records_and_the_rest_continue(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1}) + "{not json\n[1, 2]\n" + jsonl({"name": "no id"}, {"id": 5}))
    records, _ = read(files(tmp_path, c={"pattern": "*.jsonl"}), "c")
    assert ids(records) == ["1", "c.jsonl:2", "c.jsonl:3", "c.jsonl:4", "5"]
    errors = [r.data for r in records if "__error__" in r.data]
    assert errors[0]["__error__"].startswith("file c.jsonl line 2: invalid JSON")
    assert errors[0]["__raw__"] == "{not json"
    assert errors[1]["__error__"] == "file c.jsonl line 3: not a JSON object but array"
    assert errors[2] == {"__error__": "file c.jsonl line 4: no key field 'id'", "__raw__": '{"name": "no id"}'}


def test_bad_csv_rows_become_error_records_and_the_rest_continue(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text('id,name\n1,Ada\n2,Bob,extra\n3\n4,"Cy"x\n,empty\n5,O"Brien\n')
    records, _ = read(files(tmp_path, c={"pattern": "*.csv"}), "c")
    assert ids(records) == ["1", "c.csv:3", "c.csv:4", "c.csv:5", "c.csv:6", "5"]
    problems = [r.data["__error__"] for r in records if "__error__" in r.data]
    assert problems[:2] == ["file c.csv line 3: 3 cells, the header has 2",
                            "file c.csv line 4: 1 cells, the header has 2"]
    assert problems[2].startswith("file c.csv line 5: bad CSV")
    assert problems[3] == "file c.csv line 6: an empty key field 'id'"
    assert records[-1].data == {"id": "5", "name": 'O"Brien'}


def test_a_bad_csv_header_makes_every_row_an_error_record(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,id\n1,2\n")
    (records,), _ = read(files(tmp_path, c={"pattern": "*.csv"}), "c")
    assert records.data["__error__"] == "file c.csv line 2: the header repeats a column: ['id', 'id']"


def test_an_undecodable_line_is_an_error_record(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(b"id,name\n1,\xff\xfe\n2,ok\n")
    (tmp_path / "c.jsonl").write_bytes(b'{"id": "\xff"}\n{"id": 2}\n')
    connector = files(tmp_path, c={"pattern": "*.csv", "encoding": "utf-8"}, j={"pattern": "*.jsonl"})
    records, _ = read(connector, "c")
    assert ids(records) == ["c.csv:2", "2"]
    assert records[0].data["__error__"].startswith("file c.csv line 2: cannot decode line 2 as utf-8")
    assert records[0].data["__raw__"] == "1,\ufffd\ufffd"
    records, _ = read(connector, "j")
    assert ids(records) == ["c.jsonl:1", "2"]
    assert records[0].data["__error__"] == "file c.jsonl line 1: cannot decode as utf-8-sig (invalid start byte)"


def test_error_lines_resume_with_their_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1}) + "oops\n")
    connector = files(tmp_path, c={"pattern": "*.jsonl"})
    first = next(i for i in connector.read("c", None) if isinstance(i, Checkpoint))
    (error,), _ = read(connector, "c", first.state)
    assert error.data["__error__"].startswith("file c.jsonl line 2:")


# -- values, encodings, deletions -----------------------------------------------------------------------
def test_gb18030_csv_with_a_semicolon_delimiter(tmp_path: Path) -> None:
    text = "编号;姓名;城市\n1;张伟;北京\n2;\"李, 娜\";上海\n"
    (tmp_path / "客户.csv").write_bytes(text.encode("gb18030"))
    connector = files(tmp_path, c={"pattern": "*.csv", "encoding": "gb18030", "delimiter": ";", "key": "编号"})
    records, state = read(connector, "c")
    assert [r.data for r in records] == [{"编号": "1", "姓名": "张伟", "城市": "北京"},
                                         {"编号": "2", "姓名": "李, 娜", "城市": "上海"}]
    assert state["offset"] == len(text.encode("gb18030"))
    assert dict(connector.discover()[0].fields) == {"编号": "string", "姓名": "string", "城市": "string"}


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_field(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(b"\xef\xbb\xbfid,name\n1,Ada\n")
    (tmp_path / "c.jsonl").write_bytes(b'\xef\xbb\xbf{"id": 1}\n')
    connector = files(tmp_path, c={"pattern": "*.csv"}, j={"pattern": "*.jsonl"})
    assert read(connector, "c")[0][0].data == {"id": "1", "name": "Ada"}
    assert read(connector, "j")[0][0].data == {"id": 1}


def test_deletion_flag_and_version(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,gone,rev\n1,true,7\n2,false,8\n3,,9\n4,1,10\n5,No,11\n")
    (tmp_path / "c.jsonl").write_text(jsonl({"id": 1, "gone": True, "rev": 3}, {"id": 2, "gone": 0}))
    connector = files(tmp_path, c={"pattern": "*.csv", "deleted": "gone", "version": "rev"},
                      j={"pattern": "*.jsonl", "deleted": "gone", "version": "rev"})
    csv_records, _ = read(connector, "c")
    assert [(r.external_id, r.deleted, r.version) for r in csv_records] == [
        ("1", True, "7"), ("2", False, "8"), ("3", False, "9"), ("4", True, "10"), ("5", False, "11")]
    json_records, _ = read(connector, "j")
    assert [(r.deleted, r.version) for r in json_records] == [(True, "3"), (False, None)]


# -- the outbox -----------------------------------------------------------------------------------------
@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[FilesConnector]:
    yield files(tmp_path, c={"pattern": "*.jsonl", "key": "ref", "deleted": "gone"})


def outbox_lines(connector: FilesConnector) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (connector.outbox / "c.jsonl").read_text(encoding="utf-8").splitlines()]


def test_write_appends_json_lines_with_external_ids(outbox: FilesConnector) -> None:
    results = outbox.write("c", [Record("c", "r1", {"n": "Zoë"}), Record("c", "r2", {}, deleted=True)], "k1")
    assert [(r.external_id, r.ok) for r in results] == [("r1", True), ("r2", True)]
    assert outbox_lines(outbox) == [{"n": "Zoë", "ref": "r1"}, {"ref": "r2", "gone": True}]


def test_a_repeated_key_writes_nothing_and_returns_the_same_results(outbox: FilesConnector) -> None:
    batch = [Record("c", "", {"n": 1}), Record("c", "", {"n": 2})]
    first = outbox.write("c", batch, "k1")
    assert first == outbox.write("c", batch, "k1")
    assert len(outbox_lines(outbox)) == 2
    assert len({r.external_id for r in first}) == 2 and all(r.external_id for r in first)
    manifest = json.loads((outbox.outbox / ".keys").read_text())
    assert manifest["sizes"] == {"c": (outbox.outbox / "c.jsonl").stat().st_size}
    assert list(manifest["keys"]["c"]) == ["k1"]

    again = files(Path(outbox.config["path"]), c={"pattern": "*.jsonl", "key": "ref"})  # a new instance
    assert again.write("c", batch, "k1") == first
    second = outbox.write("c", batch, "k2")
    assert {r.external_id for r in second}.isdisjoint(r.external_id for r in first)
    assert len(outbox_lines(outbox)) == 4


def test_the_tail_of_a_write_that_died_before_its_manifest_is_cut_off(outbox: FilesConnector) -> None:
    outbox.write("c", [Record("c", "r1", {})], "k1")
    with open(outbox.outbox / "c.jsonl", "ab") as fh:  # a write that died before its manifest update
        fh.write(b'{"ref": "r2"}\n{"ref": "r3"')
    outbox.write("c", [Record("c", "r2", {})], "k2")
    assert [line["ref"] for line in outbox_lines(outbox)] == ["r1", "r2"]


def test_a_record_that_is_not_json_fails_alone(outbox: FilesConnector) -> None:
    results = outbox.write("c", [Record("c", "a", {"x": object()}), Record("c", "b", {"x": 1})], "k")
    assert [(r.ok, r.retryable) for r in results] == [(False, False), (True, False)]
    assert "cannot write as JSON" in (results[0].error or "")
    assert outbox_lines(outbox) == [{"x": 1, "ref": "b"}]


def test_write_os_errors_are_retryable(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the outbox folder should be")
    with pytest.raises(RetryableError, match="cannot write"):
        files(tmp_path, c={"pattern": "*.jsonl"}).write("c", [Record("c", "1", {})], "k")
