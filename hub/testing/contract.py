"""The connector contract suite: standard tests every connector's own test module inherits.

A connector's test module subclasses ``ConnectorContract`` and provides two fixtures and a few
attributes; pytest then runs every standard ``test_*`` method against it::

    import pytest
    from hub.sync.connector import Record
    from hub.testing import ConnectorContract

    class TestOdoo(ConnectorContract):
        stream = "contacts"            # a readable stream holding at least a few records
        write_stream = "contacts"      # a writable stream, or None when the connector cannot write

        @pytest.fixture
        def connector(self, fake_odoo):         # a configured instance whose system holds data
            return Odoo({"url": fake_odoo.url, "user": "hub", "password": "s3cret"})

        @pytest.fixture
        def broken_connector(self, fake_odoo):  # bad credentials or an unreachable system
            return Odoo({"url": fake_odoo.url, "user": "hub", "password": "wrong"})

        def sample_records(self) -> list[Record]:  # records new to the system, for the write test
            return [Record("contacts", "", {"name": "Ada"})]

        def written_count(self, connector, stream) -> int:  # optional: default reads the stream back
            return fake_odoo_count(stream)

The standard checks: the config schema is a valid Draft 2020-12 JSON Schema and ``masked()`` hides
its secret fields; an invalid config raises ConfigError naming the field (and never the secret value);
``check()`` passes on the good instance and fails on the broken one with a Hub error only;
``discover()`` lists ``stream`` with its fields; ``read`` from None yields records and ends with a
checkpoint whose state survives a JSON round trip; reading from any checkpoint yields exactly the
records after it (no loss, no duplicate) and from the last one none; repeating a write's idempotency
key writes nothing more and returns equal results; an unknown stream fails with PermanentError or
ConfigError. Each test method takes the fixtures as arguments, so it can also be called directly on an
instance (that is how the suite's own tests prove it catches broken connectors). A failed check
raises AssertionError with a message saying what the connector did wrong.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import jsonschema
import pytest

from hub.errors import ConfigError, ConnectorError, PermanentError
from hub.sync.connector import SECRET_MASK, Checkpoint, Connector, Record, Stream, WriteResult, masked, secret_fields

#: What a connector may raise: the hub's own errors (RetryableError, PermanentError, AuthError, ConfigError).
HUB_ERRORS: tuple[type[Exception], ...] = (ConnectorError, ConfigError)
#: Values tried against each config property to build a config the schema must reject.
WRONG_VALUES: tuple[Any, ...] = (12345, "\x00contract-invalid", ["contract"], {"contract": True}, None, True, -1.5)
SECRET_SENTINEL = "contract-secret-\u2603"
UNKNOWN_STREAM = "__contract_no_such_stream__"

Item = Record | Checkpoint
Shape = tuple[str, dict[str, Any], str | None, bool]


class ConnectorContract:
    """Base class of a connector's contract tests; subclasses give the fixtures and attributes above."""

    #: A readable stream holding at least a few records.
    stream: ClassVar[str] = ""
    #: A writable stream, or None when the connector cannot write (the write test is then skipped).
    write_stream: ClassVar[str | None] = None
    #: Resume from at most this many checkpoints of the full read, spread evenly, first and last included.
    max_resume_points: ClassVar[int] = 200

    # -- hooks a subclass overrides ---------------------------------------------------------------------
    def sample_records(self) -> list[Record]:
        """Records new to the system, for the write test; required when ``write_stream`` is set."""
        raise AssertionError(f"{type(self).__name__} sets write_stream but does not define sample_records()")

    def written_count(self, connector: Connector, stream: str) -> int:
        """How many records of ``stream`` the system holds; by default, read back through the connector."""
        return sum(1 for item in connector.read(stream, None) if isinstance(item, Record))

    # -- configuration ----------------------------------------------------------------------------------
    def test_config_schema_is_a_valid_json_schema(self, connector: Connector) -> None:
        schema = type(connector).config_schema
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise AssertionError(f"{type(connector).__name__}.config_schema is not a valid JSON Schema: {e}") from e
        assert schema.get("type") == "object", "config_schema must describe an object"
        properties = schema.get("properties") or {}
        unknown = secret_fields(schema) - set(properties)
        assert not unknown, f"secret fields that are not properties: {sorted(unknown)}"
        assert type(connector).type_name, f"{type(connector).__name__} has no type_name"

    def test_secret_fields_are_masked(self, connector: Connector) -> None:
        schema = type(connector).config_schema
        secrets = secret_fields(schema)
        config = {**connector.config, **{name: SECRET_SENTINEL for name in secrets}}
        shown = masked(schema, config)
        assert SECRET_SENTINEL not in json.dumps(shown, default=str), f"masked() shows a secret: {shown}"
        for name in secrets:
            assert shown[name] == SECRET_MASK, f"secret field {name!r} is not masked: {shown[name]!r}"
        for name in set(config) - secrets:
            assert shown[name] == config[name], f"masked() changed the non-secret field {name!r}"

    def test_invalid_config_raises_config_error_naming_the_field(self, connector: Connector) -> None:
        cases = self.invalid_configs(connector)
        if not cases:
            pytest.skip("config_schema requires nothing and constrains no property: no invalid config to try")
        secrets = secret_fields(type(connector).config_schema)
        for bad, field_name in cases:
            error = _expect_error(functools.partial(type(connector), bad), (ConfigError,),
                                  f"a config with {field_name!r} wrong or missing")
            assert field_name in str(error), f"ConfigError does not name the field {field_name!r}: {error}"
            if field_name in secrets and field_name in bad:
                assert str(bad[field_name]) not in str(error), f"ConfigError shows the secret: {error}"

    def invalid_configs(self, connector: Connector) -> list[tuple[dict[str, Any], str]]:
        """(config, the field it gets wrong): each required property left out, each property of a wrong type."""
        schema = type(connector).config_schema
        good = dict(connector.config)
        cases = [({k: v for k, v in good.items() if k != name}, name) for name in schema.get("required", [])]
        for name, sub in (schema.get("properties") or {}).items():
            validator = jsonschema.Draft202012Validator(sub)
            wrong = next((v for v in WRONG_VALUES if not validator.is_valid(v)), _NOTHING)
            if wrong is not _NOTHING:
                cases.append(({**good, name: wrong}, name))
        return cases

    # -- check and discover -----------------------------------------------------------------------------
    def test_check_passes(self, connector: Connector) -> None:
        try:
            connector.check()
        except Exception as e:
            raise AssertionError(f"check() failed on the working connector: {type(e).__name__}: {e}") from e

    def test_check_fails_cleanly_when_broken(self, broken_connector: Connector) -> None:
        _expect_error(broken_connector.check, HUB_ERRORS, "check() on the broken connector")

    def test_discover_lists_the_stream_with_fields(self, connector: Connector) -> None:
        streams = connector.discover()
        assert all(isinstance(s, Stream) for s in streams), f"discover() returned non-Stream items: {streams}"
        names = [s.name for s in streams]
        assert len(set(names)) == len(names), f"discover() repeats a stream: {names}"
        found = {s.name: s for s in streams}
        assert self.stream in found, f"discover() does not list {self.stream!r}: {names}"
        for s in streams:
            assert isinstance(s.fields, Mapping), f"stream {s.name!r}: fields is not a mapping"
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in s.fields.items()), \
                f"stream {s.name!r}: fields must map names to JSON type names: {s.fields}"
            assert isinstance(s.key, str) and s.key, f"stream {s.name!r} has no key"
        assert found[self.stream].fields, f"stream {self.stream!r} has no fields"
        if self.write_stream is not None:
            assert self.write_stream in found, f"discover() does not list the write stream {self.write_stream!r}"
            assert found[self.write_stream].writable, f"stream {self.write_stream!r} is not marked writable"

    # -- read -------------------------------------------------------------------------------------------
    def test_read_yields_records_then_a_checkpoint(self, connector: Connector) -> None:
        items = list(connector.read(self.stream, None))
        strays = [i for i in items if not isinstance(i, Record | Checkpoint)]
        assert not strays, f"read() yielded something other than Record or Checkpoint: {strays[:3]}"
        records = [i for i in items if isinstance(i, Record)]
        assert records, f"read({self.stream!r}, None) yielded no records: give the fixture some data"
        assert isinstance(items[-1], Checkpoint), "read() must end with a checkpoint covering every record"
        for r in records:
            assert r.stream == self.stream, f"a record of stream {r.stream!r} in a read of {self.stream!r}"
            assert isinstance(r.external_id, str) and r.external_id, f"a record without an external id: {r}"
        for c in items:
            if isinstance(c, Checkpoint):
                assert _round_trip(c.state) == c.state, f"checkpoint state does not survive JSON: {c.state!r}"

    def test_read_resumes_from_every_checkpoint(self, connector: Connector) -> None:
        full = list(connector.read(self.stream, None))
        points = [k for k, item in enumerate(full) if isinstance(item, Checkpoint)]
        assert points, "read() yielded no checkpoint"
        for n, k in enumerate(_spread(points, self.max_resume_points)):
            state = _round_trip(_state(full[k]))
            expected = _shapes(full[k + 1:])
            actual = _shapes(connector.read(self.stream, state))
            if actual != expected:
                raise AssertionError(f"resuming from checkpoint {n + 1} (item {k}, state {state!r}): "
                                     + _difference(expected, actual))

    def test_read_from_the_last_checkpoint_yields_no_records(self, connector: Connector) -> None:
        items = list(connector.read(self.stream, None))
        assert items and isinstance(items[-1], Checkpoint), "read() must end with a checkpoint"
        again = _shapes(connector.read(self.stream, _round_trip(_state(items[-1]))))
        assert not again, f"reading from the last checkpoint yielded records again: {[s[0] for s in again][:10]}"

    # -- write ------------------------------------------------------------------------------------------
    def test_write_is_idempotent_for_a_repeated_key(self, connector: Connector) -> None:
        if self.write_stream is None:
            pytest.skip("the connector cannot write (write_stream is None)")
        stream, records = self.write_stream, self.sample_records()
        assert records, "sample_records() returned no records"
        key = f"contract-{uuid.uuid4().hex}"
        before = self.written_count(connector, stream)
        first = connector.write(stream, records, key)
        _check_results(first, records)
        held = self.written_count(connector, stream)
        assert held == before + len(records), f"the system held {before} records, then {held} after writing " \
            f"{len(records)}"
        second = connector.write(stream, records, key)
        assert second == first, f"repeating the idempotency key returned other results: {first} then {second}"
        after = self.written_count(connector, stream)
        assert after == held, f"repeating the idempotency key wrote again: {held} records became {after}"

    # -- errors -----------------------------------------------------------------------------------------
    def test_unknown_stream_raises_permanent_or_config_error(self, connector: Connector) -> None:
        allowed = (PermanentError, ConfigError)
        _expect_error(lambda: list(connector.read(UNKNOWN_STREAM, None)), allowed, "reading an unknown stream")
        sample = [Record(UNKNOWN_STREAM, "contract-1", {"contract": True})]
        _expect_error(lambda: connector.write(UNKNOWN_STREAM, sample, f"contract-{uuid.uuid4().hex}"), allowed,
                      "writing an unknown stream")

    def test_close_can_be_called_twice(self, connector: Connector) -> None:
        connector.close()
        connector.close()


_NOTHING = object()


def _expect_error(call: Callable[[], object], allowed: tuple[type[Exception], ...], what: str) -> Exception:
    """The error ``call`` raises, which must be one of ``allowed``; AssertionError otherwise."""
    try:
        call()
    except allowed as e:
        return e
    except Exception as e:
        names = ", ".join(a.__name__ for a in allowed)
        raise AssertionError(f"{what} raised {type(e).__name__}: {e} (expected {names}: connectors translate "
                             "library errors at the boundary)") from e
    raise AssertionError(f"{what} raised nothing")


def _state(item: Item) -> Mapping[str, Any]:
    assert isinstance(item, Checkpoint)
    return item.state


def _round_trip(state: Mapping[str, Any]) -> Any:
    """The state as the engine gets it back from the database: through JSON."""
    try:
        return json.loads(json.dumps(state))
    except (TypeError, ValueError) as e:
        raise AssertionError(f"checkpoint state is not JSON-serialisable: {state!r} ({e})") from e


def _shapes(items: Iterable[Item]) -> list[Shape]:
    """What a read delivered, comparable across reads: (external id, data, version, deleted) per record."""
    return [(i.external_id, dict(i.data), i.version, i.deleted) for i in items if isinstance(i, Record)]


def _spread(points: list[int], limit: int) -> list[int]:
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return sorted({points[round(n * step)] for n in range(limit)})


def _difference(expected: list[Shape], actual: list[Shape]) -> str:
    """Which records a resumed read lost, repeated or changed, in words."""
    want, got = [s[0] for s in expected], [s[0] for s in actual]
    lost = [i for i in want if i not in got]
    extra = [i for i in got if got.count(i) > want.count(i)]
    parts = [f"expected {len(want)} records, got {len(got)}"]
    if lost:
        parts.append(f"lost {lost[:10]}")
    if extra:
        parts.append(f"duplicated or unexpected {sorted(set(extra))[:10]}")
    if not lost and not extra:
        n = next(n for n, (w, g) in enumerate(zip(expected, actual, strict=False)) if w != g)
        parts.append(f"record {n} differs (or the order does): expected {expected[n]}, got {actual[n]}")
    return "; ".join(parts)


def _check_results(results: list[WriteResult], records: Sequence[Record]) -> None:
    assert isinstance(results, list) and len(results) == len(records), \
        f"write() must return one WriteResult per record: {len(records)} records, {results!r}"
    assert all(isinstance(r, WriteResult) for r in results), f"write() returned non-WriteResult items: {results}"
    failed = [r for r in results if not r.ok]
    assert not failed, f"writing sample_records() failed: {failed}"
    assert all(isinstance(r.external_id, str) and r.external_id for r in results), \
        f"a written record has no external id: {results}"
