"""The contract suite passes a correct connector and catches each kind of broken one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest

from hub.errors import AuthError, ConfigError
from hub.sync.connector import Checkpoint, Connector, Record, Stream, WriteResult
from hub.testing import ConnectorContract


class Memory(Connector):
    """A correct in-memory connector: one stream of ``size`` rows; a checkpoint after every ``every`` rows."""

    type_name = "memory"
    config_schema = {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string", "secret": True}, "size": {"type": "integer", "minimum": 0}},
    }
    every = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rows = [Record("people", str(i), {"id": i, "name": f"P{i}"}) for i in range(self.config.get("size", 5))]
        self.done: dict[str, list[WriteResult]] = {}

    def check(self) -> None:
        if self.config["token"] != "good":
            raise AuthError("memory: token refused")

    def discover(self) -> list[Stream]:
        return [Stream("people", {"id": "integer", "name": "string"}, writable=True)]

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        self.stream(stream)
        start = self.resume_at(state["pos"]) if state else 0
        for pos in range(start, len(self.rows)):
            yield self.rows[pos]
            if (pos + 1) % self.every == 0:
                yield Checkpoint(self.state(pos + 1))
        yield Checkpoint(self.state(len(self.rows)))

    def resume_at(self, pos: int) -> int:
        return pos

    def state(self, pos: int) -> dict[str, Any]:
        return {"pos": pos}

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        self.stream(stream)
        if idempotency_key not in self.done:
            self.rows.extend(records)
            self.done[idempotency_key] = [WriteResult(r.external_id) for r in records]
        return self.done[idempotency_key]


class MemoryContract(ConnectorContract):
    stream = "people"
    write_stream: ClassVar[str | None] = "people"

    @pytest.fixture
    def connector(self) -> Connector:
        return Memory({"token": "good"})

    @pytest.fixture
    def broken_connector(self) -> Connector:
        return Memory({"token": "bad"})

    def sample_records(self) -> list[Record]:
        return [Record("people", "new-1", {"id": 100}), Record("people", "new-2", {"id": 101})]


class TestMemoryPassesTheContract(MemoryContract):
    """The same suite run by pytest: the fake is correct, so the failures below come from each defect."""


class TestBatchedCheckpointsPassTheContract(MemoryContract):
    @pytest.fixture
    def connector(self) -> Connector:
        connector = Memory({"token": "good", "size": 7})
        connector.every = 3
        return connector


def fails(test: str, connector: Connector, match: str, suite: ConnectorContract | None = None) -> None:
    """Run one contract test directly and require it to fail with ``match`` in its message."""
    with pytest.raises(AssertionError, match=match):
        getattr(suite or MemoryContract(), test)(connector)


# -- read and resume ------------------------------------------------------------------------------------
def test_a_resume_that_skips_a_record_fails() -> None:
    class Skips(Memory):
        def resume_at(self, pos: int) -> int:
            return pos + 1

    fails("test_read_resumes_from_every_checkpoint", Skips({"token": "good"}), r"lost \['1'\]")


def test_a_resume_that_repeats_a_record_fails() -> None:
    class Repeats(Memory):
        def resume_at(self, pos: int) -> int:
            return max(pos - 1, 0)

    fails("test_read_resumes_from_every_checkpoint", Repeats({"token": "good"}), r"duplicated or unexpected \['0'\]")
    fails("test_read_from_the_last_checkpoint_yields_no_records", Repeats({"token": "good"}), "yielded records again")


def test_a_resume_that_changes_the_order_fails() -> None:
    class Reversed(Memory):
        def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
            items = list(super().read(stream, state))
            if state is None:
                return iter(items)
            records = [i for i in items if isinstance(i, Record)][::-1]
            return iter([*records, items[-1]])

    fails("test_read_resumes_from_every_checkpoint", Reversed({"token": "good"}), "record 0 differs")


def test_a_read_without_a_final_checkpoint_fails() -> None:
    class NoCheckpoints(Memory):
        def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
            return iter(self.rows)

    fails("test_read_yields_records_then_a_checkpoint", NoCheckpoints({"token": "good"}), "must end with a checkpoint")
    fails("test_read_resumes_from_every_checkpoint", NoCheckpoints({"token": "good"}), "no checkpoint")


def test_a_state_that_does_not_survive_json_fails() -> None:
    class DatedState(Memory):
        def state(self, pos: int) -> dict[str, Any]:
            return {"pos": pos, "at": dt.datetime(2024, 1, 1)}

    fails("test_read_yields_records_then_a_checkpoint", DatedState({"token": "good"}), "not JSON-serialisable")


def test_a_read_of_nothing_fails() -> None:
    fails("test_read_yields_records_then_a_checkpoint", Memory({"token": "good", "size": 0}), "yielded no records")


@pytest.mark.parametrize("bad", [1, 501])
def test_a_long_read_resumes_from_points_spread_over_it(bad: int) -> None:
    class SkipsOnce(Memory):
        def resume_at(self, pos: int) -> int:
            return pos + 1 if pos == bad else pos

    class Few(MemoryContract):
        max_resume_points = 5  # checkpoints 1, 251, 501, 751 and the last of 1000

    connector = SkipsOnce({"token": "good", "size": 1000})
    fails("test_read_resumes_from_every_checkpoint", connector, rf"lost \['{bad}'\]", Few())


# -- write ----------------------------------------------------------------------------------------------
def test_a_write_that_ignores_the_idempotency_key_fails() -> None:
    class WritesTwice(Memory):
        def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
            self.rows.extend(records)
            return [WriteResult(r.external_id) for r in records]

    fails("test_write_is_idempotent_for_a_repeated_key", WritesTwice({"token": "good"}), "wrote again")


def test_a_write_that_writes_nothing_fails() -> None:
    class Forgets(Memory):
        def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
            return [WriteResult(r.external_id) for r in records]

    fails("test_write_is_idempotent_for_a_repeated_key", Forgets({"token": "good"}), "held 5 records, then 5")


def test_a_write_with_too_few_results_fails() -> None:
    class Short(Memory):
        def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
            return super().write(stream, records, idempotency_key)[:1]

    fails("test_write_is_idempotent_for_a_repeated_key", Short({"token": "good"}), "one WriteResult per record")


def test_the_write_test_is_skipped_without_a_write_stream() -> None:
    class ReadOnly(MemoryContract):
        write_stream = None

    with pytest.raises(pytest.skip.Exception):
        ReadOnly().test_write_is_idempotent_for_a_repeated_key(Memory({"token": "good"}))


# -- check, config, discover, errors --------------------------------------------------------------------
def test_a_check_that_leaks_a_library_error_fails() -> None:
    class Leaks(Memory):
        def check(self) -> None:
            raise TimeoutError("timed out")

    fails("test_check_fails_cleanly_when_broken", Leaks({"token": "bad"}), "raised TimeoutError.*translate")
    fails("test_check_passes", Leaks({"token": "good"}), "check\\(\\) failed")


def test_a_check_that_passes_when_broken_fails() -> None:
    class Trusting(Memory):
        def check(self) -> None:
            return None

    fails("test_check_fails_cleanly_when_broken", Trusting({"token": "bad"}), "raised nothing")


def test_an_invalid_schema_fails() -> None:
    class BadSchema(Memory):
        config_schema = {"type": "objekt"}

    connector = Memory({"token": "good"})
    connector.__class__ = BadSchema
    fails("test_config_schema_is_a_valid_json_schema", connector, "not a valid JSON Schema")


def test_a_config_error_that_does_not_name_the_field_fails() -> None:
    class Vague(Memory):
        def __post_init__(self) -> None:
            if not isinstance(self.config.get("token"), str):
                raise ConfigError("memory: the config is wrong")
            super().__post_init__()

    fails("test_invalid_config_raises_config_error_naming_the_field", Vague({"token": "good"}), "does not name")


def test_a_config_that_is_not_checked_fails() -> None:
    class Lax(Memory):
        def __post_init__(self) -> None:
            self.rows, self.done = [], {}

    fails("test_invalid_config_raises_config_error_naming_the_field", Lax({"token": "good"}), "raised nothing")


def test_a_secret_in_a_config_error_fails() -> None:
    class Tells(Memory):
        def __post_init__(self) -> None:
            if not isinstance(self.config.get("token"), str):
                raise ConfigError(f"memory: token: {self.config.get('token')!r} is not a string")
            super().__post_init__()

    fails("test_invalid_config_raises_config_error_naming_the_field", Tells({"token": "good"}), "shows the secret")


def test_discover_without_the_stream_or_its_fields_fails() -> None:
    class Empty(Memory):
        def discover(self) -> list[Stream]:
            return [Stream("people", {})]

    class Elsewhere(Memory):
        def discover(self) -> list[Stream]:
            return [Stream("others", {"id": "integer"})]

    fails("test_discover_lists_the_stream_with_fields", Empty({"token": "good"}), "has no fields")
    fails("test_discover_lists_the_stream_with_fields", Elsewhere({"token": "good"}), "does not list 'people'")


def test_an_unknown_stream_raising_a_library_error_fails() -> None:
    class KeyErrors(Memory):
        def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
            return iter([{"people": self.rows[0]}[stream]])

    fails("test_unknown_stream_raises_permanent_or_config_error", KeyErrors({"token": "good"}), "raised KeyError")


def test_a_write_to_an_unknown_stream_that_succeeds_fails() -> None:
    class Accepts(Memory):
        def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
            return [WriteResult(r.external_id) for r in records]

    fails("test_unknown_stream_raises_permanent_or_config_error", Accepts({"token": "good"}),
          "writing an unknown stream raised nothing")
