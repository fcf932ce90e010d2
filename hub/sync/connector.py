"""The connector contract: one class per external system, small overridable methods, errors by intent.

    class Odoo(Connector):
        type_name = "odoo"
        config_schema = {...}                       # JSON Schema; secret properties carry "secret": true
        def check(self) -> None: ...                # test the connection; AuthError / RetryableError
        def discover(self) -> list[Stream]: ...     # the streams and their fields
        def read(self, stream, state) -> Iterator[Record | Checkpoint]: ...
        def write(self, stream, records, idempotency_key) -> list[WriteResult]: ...
        def parse_webhook(self, headers, body) -> list[Record]: ...   # where it applies

``read`` yields records and, after them, checkpoints: opaque JSON state that ``read`` accepts back to
continue after the records it covers. The engine commits a checkpoint in the same transaction as the
records before it, so a run that dies resumes from its last checkpoint without loss or duplication.
Library exceptions are translated at this boundary into RetryableError or PermanentError; the engine
catches only those.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonschema

from hub.errors import ConfigError, PermanentError

SECRET_MASK = "********"
#: A record a connector could not parse carries ``{ERROR_FIELD: reason, RAW_FIELD: raw text}`` as its data;
#: the engine quarantines it with that reason and the run goes on (see Record.failed).
ERROR_FIELD = "__error__"
RAW_FIELD = "__raw__"


@dataclass(frozen=True)
class Stream:
    """A kind of record a connector reads or writes: its fields (name -> JSON type) and key."""

    name: str
    fields: Mapping[str, str]
    key: str = "id"
    cursor: str | None = None
    writable: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a stream, with its external id and, where the system has one, its version."""

    stream: str
    external_id: str
    data: Mapping[str, Any]
    version: str | None = None
    deleted: bool = False

    @classmethod
    def failed(cls, stream: str, external_id: str, reason: str, raw: str | bytes | None = None) -> Record:
        """A record that could not be parsed: the engine quarantines it with ``reason``."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return cls(stream, external_id, {ERROR_FIELD: reason, RAW_FIELD: text})

    @property
    def error(self) -> str | None:
        """The parse error of a failed record."""
        value = self.data.get(ERROR_FIELD)
        return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """State that resumes ``read`` after every record yielded before it."""

    state: Mapping[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """The outcome of writing one record: its external id, or the error (and whether a retry may help)."""

    external_id: str | None
    ok: bool = True
    error: str | None = None
    retryable: bool = False
    version: str | None = None


@dataclass
class Connector:
    """Base class of every connector. Subclasses set ``type_name`` and ``config_schema`` and override
    what their system supports; the defaults refuse clearly."""

    config: Mapping[str, Any]
    name: str = "unnamed"
    options: dict[str, Any] = field(default_factory=dict)

    type_name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def __post_init__(self) -> None:
        validate_config(type(self), self.config)

    def __repr__(self) -> str:
        """Never shows secrets (reprs end up in tracebacks and logs)."""
        return f"{type(self).__name__}(name={self.name!r}, config={masked(self.config_schema, self.config)!r})"

    # -- the contract ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Test the connection and credentials; raise AuthError, ConfigError or RetryableError."""

    def discover(self) -> list[Stream]:
        """The streams this system offers."""
        return []

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """Records of ``stream`` changed since ``state`` (None: from the start), with checkpoints."""
        raise PermanentError(f"{self.type_name}: stream {stream!r} cannot be read")

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        """Create or update ``records`` in the system; repeating a key must not write twice."""
        raise PermanentError(f"{self.type_name}: stream {stream!r} cannot be written")

    def committed(self, stream: str, state: Mapping[str, Any] | None) -> None:
        """Called after the batch ending at checkpoint ``state`` has committed in the hub.

        A connector that consumes its source (moves processed files, acknowledges messages) does it
        here, never before: a crash between read and commit must leave the source untouched. Errors
        raised here are logged, not fatal; the work is repeated after the next commit. It is called
        from the thread that reads, in commit order, while ``read`` may be up to two batches further on.
        """

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Record]:
        """Verify a webhook's signature and return the records it carries."""
        raise PermanentError(f"{self.type_name}: does not receive webhooks")

    def close(self) -> None:
        """Release connections."""

    def stream(self, name: str) -> Stream:
        """The discovered stream called ``name``, or ConfigError listing the ones there are."""
        streams = {s.name: s for s in self.discover()}
        if name not in streams:
            raise ConfigError(f"{self.type_name}: no stream {name!r}; streams: {', '.join(streams) or 'none'}")
        return streams[name]


def secret_fields(schema: Mapping[str, Any]) -> set[str]:
    """Top-level properties of a config schema marked ``"secret": true``."""
    return {k for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict) and v.get("secret")}


def _mask(schema: Any, value: Any) -> Any:
    if not isinstance(schema, Mapping):
        return copy.deepcopy(value)
    if schema.get("secret") and value is not None:
        return SECRET_MASK
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return {k: _mask(props.get(k, extra), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(schema.get("items"), v) for v in value]
    return copy.deepcopy(value)


def masked(schema: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every secret value, at any depth, replaced by a mask (for show, logs and the API)."""
    return dict(_mask(schema, config))


def secret_values(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Every secret value in ``config`` (at any depth), for redaction."""
    found: list[str] = []

    def walk(original: Any, mask: Any) -> None:
        if mask == SECRET_MASK and original is not None and original != SECRET_MASK:
            found.append(str(original))
        elif isinstance(original, Mapping) and isinstance(mask, Mapping):
            for k in original:
                walk(original[k], mask.get(k))
        elif isinstance(original, list) and isinstance(mask, list):
            for o, m in zip(original, mask, strict=False):
                walk(o, m)

    walk(config, masked(schema, config))
    return found


def validate_config(cls: type[Connector], config: Mapping[str, Any]) -> None:
    """ConfigError naming the path and problem when ``config`` does not fit the connector's schema."""
    validator = jsonschema.Draft202012Validator(cls.config_schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        secrets = sorted(secret_values(cls.config_schema, config), key=len, reverse=True)
        problems = []
        for e in errors:
            path = ".".join(str(p) for p in e.absolute_path) or "config"
            message = e.message
            for secret in secrets:  # a message may quote the instance, secrets and all
                message = message.replace(repr(secret), repr(SECRET_MASK)).replace(secret, SECRET_MASK)
            problems.append(f"{path}: {message}")
        raise ConfigError(f"{cls.type_name} config: " + "; ".join(problems))
