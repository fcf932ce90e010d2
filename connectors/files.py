"""The file connector: a folder of JSON Lines or CSV files, one set of files per stream.

    {"path": "/data/drop",
     "streams": {"contacts": {"pattern": "contacts*.jsonl", "key": "id", "version": "updated_at"},
                 "orders": {"pattern": "orders-*.csv", "format": "csv", "encoding": "gb18030",
                            "deleted": "is_deleted"}},
     "outbox": "outbox"}

**Reading.** The files matching a stream's ``pattern`` (relative to ``path``; sub-folders allowed,
the outbox excluded) are read in sorted name order, in binary, line by line. The state is
``{"file": name, "offset": bytes, "line": lines}``: everything in files sorted before ``file`` and the
first ``offset`` bytes of ``file`` are consumed. A checkpoint follows every record and points right
after it, so any prefix of a read can be committed. Lines appended to that file and files sorted
after it are picked up by the next read; files sorted before it are not looked at again. A last line
without its newline is still being written: in the last file it is left for the next read; in an
earlier file (its writer has moved on to a later one) it is read. A file shorter than its checkpoint,
or not ending a line there, was rewritten: PermanentError (reset the state to read it again).

**Malformed lines** (bad JSON, not an object, bad encoding, a CSV row with the wrong number of cells,
a missing or empty key) do not stop the read. Each is yielded as a record whose data is
``{"__error__": "file X line N: problem", "__raw__": "<the raw text>"}`` with external id ``"X:N"``;
the engine treats ``"__error__"`` in data as a permanent error of that record (quarantine) and goes on.

**Values.** JSON values are kept as parsed; CSV values are strings (the header names the fields). The
``deleted`` field marks a deletion when truthy; the strings ``"", "0", "false", "no", "n", "f", "off"``
(any case) count as false. The ``version`` field, when set, becomes the record's version (as text).

**Writing** appends records as JSON lines to ``<path>/<outbox>/<stream>.jsonl``: the record's data with
its external id under the stream's ``key`` (records without one get an id derived from the idempotency
key and their index) and, for deletions, the ``deleted`` field (default ``"deleted"``) set to true. The
manifest ``<outbox>/.keys`` remembers each idempotency key's results and the committed size of every
outbox file; it is replaced atomically after the data is fsynced. A repeated key writes nothing and
returns the same results; the tail of a write that died before its manifest update is cut off before
the next write, so a retried write lands once.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import decimal
import fcntl
import json
import os
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from hub.errors import ConfigError, PermanentError, RetryableError
from hub.hookspecs import hookimpl
from hub.sync.connector import Checkpoint, Connector, Record, Stream, WriteResult

ENCODINGS = ("utf-8-sig", "utf-8", "gb18030", "latin-1", "cp1252")
FALSE_WORDS = frozenset({"", "0", "false", "no", "n", "f", "off"})
SAMPLE_SIZE = 100
MANIFEST = ".keys"
_JSON = json.JSONDecoder()
_ID_NAMESPACE = uuid.UUID("6f1d5c3e-2b7a-4d4e-9a53-1c0f7e2b9d10")

_STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["pattern"],
    "additionalProperties": False,
    "properties": {
        "pattern": {"type": "string", "minLength": 1, "description": "glob relative to path, e.g. contacts*.jsonl"},
        "format": {"enum": ["jsonl", "csv"], "description": "default: from the pattern's extension"},
        "key": {"type": "string", "minLength": 1, "default": "id", "description": "field holding the external id"},
        "version": {"type": "string", "minLength": 1, "description": "field holding the remote version"},
        "deleted": {"type": "string", "minLength": 1, "description": "field whose truthy value marks a deletion"},
        "encoding": {"enum": list(ENCODINGS), "default": "utf-8-sig"},
        "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
    },
}


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    """One configured stream, with defaults applied."""

    name: str
    pattern: str
    format: str
    key: str
    version: str | None
    deleted: str | None
    encoding: str
    delimiter: str

    @classmethod
    def from_config(cls, name: str, conf: Mapping[str, Any]) -> StreamSpec:
        pattern = conf["pattern"]
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ConfigError(f"files config: streams.{name}.pattern: must stay inside path (pattern {pattern!r})")
        fmt = conf.get("format") or _format_of(pattern)
        if fmt is None:
            raise ConfigError(f"files config: streams.{name}.format: is required when the pattern does not end in "
                              f".jsonl, .ndjson or .csv (pattern {pattern!r})")
        return cls(name, pattern, fmt, conf.get("key", "id"), conf.get("version"), conf.get("deleted"),
                   conf.get("encoding", "utf-8-sig"), conf.get("delimiter", ","))


def _format_of(pattern: str) -> str | None:
    lowered = pattern.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "csv" if lowered.endswith(".csv") else None


class FilesConnector(Connector):
    """A folder of JSON Lines or CSV files, read incrementally by file and byte offset; writes to an outbox."""

    type_name = "files"
    title = "Files (JSON Lines / CSV folder)"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": "string", "minLength": 1, "description": "the folder holding the files"},
            "streams": {"type": "object", "additionalProperties": _STREAM_SCHEMA, "default": {},
                        "propertyNames": {"pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"}},
            "outbox": {"type": "string", "minLength": 1, "default": "outbox",
                       "description": "sub-folder of path that writes go to"},
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        self.root = Path(self.config["path"])
        outbox = Path(self.config.get("outbox", "outbox"))
        if outbox.is_absolute() or ".." in outbox.parts:
            raise ConfigError(f"files config: outbox: must be a sub-folder of path, not {str(outbox)!r}")
        self.outbox = self.root / outbox
        self.specs = {name: StreamSpec.from_config(name, conf) for name, conf in self.config.get("streams", {}).items()}

    # -- the contract ---------------------------------------------------------------------------------
    def check(self) -> None:
        """ConfigError naming the folder when it is missing, not a folder, or not readable."""
        if not self.root.exists():
            raise ConfigError(f"files: folder {str(self.root)!r} does not exist")
        if not self.root.is_dir():
            raise ConfigError(f"files: {str(self.root)!r} is not a folder")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise ConfigError(f"files: folder {str(self.root)!r} is not readable")

    def discover(self) -> list[Stream]:
        """One stream per configured stream; fields sampled from the first records of its first file."""
        return [
            Stream(name=spec.name, fields=self._sample_fields(spec), key=spec.key, writable=True,
                   description=f"{spec.format} files {spec.pattern!r} in {self.root}")
            for spec in self.specs.values()
        ]

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """The records after ``state`` in file-name order, a checkpoint after each, then a final one."""
        spec = self._spec(stream)
        start_file, start_offset, start_line = _parse_state(state)
        try:
            files = self._files(spec)
        except OSError as e:
            raise RetryableError(f"files: cannot list {str(self.root)!r}: {e}") from e
        position: Mapping[str, Any] = state or {}
        moved = False
        pending = [f for f in files if start_file is None or f >= start_file]
        for i, name in enumerate(pending):
            resume = name == start_file
            offset, line = (start_offset, start_line) if resume else (0, 0)
            try:
                with open(self.root / name, "rb") as fh:
                    if resume:
                        _verify_offset(fh, name, offset)
                    after = yield from _parse_file(spec, name, fh, offset, line, last=i == len(pending) - 1)
            except FileNotFoundError:
                continue  # removed since listing: nothing of it left to read
            except OSError as e:
                raise RetryableError(f"files: cannot read {name!r}: {e}") from e
            if after is not None:
                position, moved = after, True
        if not moved:
            yield Checkpoint(position)  # nothing read: the state as it was

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        """Append ``records`` to ``<outbox>/<stream>.jsonl`` once per idempotency key."""
        spec = self._spec(stream)
        try:
            if not self.root.is_dir():
                raise FileNotFoundError(f"no folder {self.root}")
            self.outbox.mkdir(parents=True, exist_ok=True)
            with _locked(self.outbox / ".lock"):
                return self._write_locked(spec, records, idempotency_key)
        except OSError as e:
            raise RetryableError(f"files: cannot write to {str(self.outbox)!r}: {e}") from e

    # -- reading --------------------------------------------------------------------------------------
    def _spec(self, stream: str) -> StreamSpec:
        if stream not in self.specs:
            raise ConfigError(f"files: no stream {stream!r}; streams: {', '.join(self.specs) or 'none'}")
        return self.specs[stream]

    def _files(self, spec: StreamSpec) -> list[str]:
        """Relative names of the stream's files, sorted; the outbox is never read."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"no folder {self.root}")
        outbox = self.outbox.resolve()
        names = []
        for p in self.root.glob(spec.pattern):
            if p.is_file() and outbox not in p.resolve().parents:
                names.append(p.relative_to(self.root).as_posix())
        return sorted(names)

    def _sample_fields(self, spec: StreamSpec) -> dict[str, str]:
        try:
            files = self._files(spec)
            if not files:
                return {}
            with open(self.root / files[0], "rb") as fh:
                records = []
                for item in _parse_file(spec, files[0], fh, 0, 0, last=False):
                    if isinstance(item, Record) and "__error__" not in item.data:
                        records.append(item.data)
                        if len(records) == SAMPLE_SIZE:
                            break
        except OSError as e:
            raise RetryableError(f"files: cannot sample {spec.name!r} files: {e}") from e
        fields: dict[str, str] = {}
        for data in records:
            for k, v in data.items():
                kind = _json_type(v)
                seen = fields.get(k)
                if seen is None or seen == "null":
                    fields[k] = kind
                elif {seen, kind} == {"integer", "number"}:
                    fields[k] = "number"
        return fields

    # -- writing --------------------------------------------------------------------------------------
    def _write_locked(self, spec: StreamSpec, records: Sequence[Record], key: str) -> list[WriteResult]:
        manifest = _load_manifest(self.outbox / MANIFEST)
        done = manifest["keys"].get(spec.name, {}).get(key)
        if done is not None:
            return [WriteResult(**r) for r in done]
        target = self.outbox / f"{spec.name}.jsonl"
        committed = int(manifest["sizes"].get(spec.name, 0))
        results: list[WriteResult] = []
        lines: list[bytes] = []
        for index, record in enumerate(records):
            external_id = record.external_id or str(uuid.uuid5(_ID_NAMESPACE, f"{spec.name}\n{key}\n{index}"))
            data = {**record.data, spec.key: external_id}
            if record.deleted:
                data[spec.deleted or "deleted"] = True
            if record.version is not None and spec.version:
                data[spec.version] = record.version
            try:
                lines.append(json.dumps(data, ensure_ascii=False, default=_json_default).encode("utf-8") + b"\n")
            except (TypeError, ValueError) as e:
                results.append(WriteResult(external_id, ok=False, error=f"cannot write as JSON: {e}"))
                continue
            results.append(WriteResult(external_id))
        with open(target, "ab") as fh:
            if fh.tell() > committed:  # the tail of a write that died before its manifest update
                fh.truncate(committed)
            fh.seek(0, os.SEEK_END)
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
            size = fh.tell()
        manifest["sizes"][spec.name] = size
        manifest["keys"].setdefault(spec.name, {})[key] = [dataclasses.asdict(r) for r in results]
        _replace_atomically(self.outbox / MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
        return results


# -- parsing ------------------------------------------------------------------------------------------
#: The generators below yield a file's records, each followed by its checkpoint, and return the state of
#: the last checkpoint (None when they yielded none).
Parsed = Generator[Record | Checkpoint, None, Mapping[str, Any] | None]


def _parse_file(spec: StreamSpec, name: str, fh: IO[bytes], offset: int, line: int, last: bool) -> Parsed:
    """Records (and a checkpoint after each) of one open file, from ``offset`` (``line`` lines in)."""
    parse = _parse_csv if spec.format == "csv" else _parse_jsonl
    return parse(spec, name, fh, offset, line, last)


def _start(fh: IO[bytes], encoding: str, offset: int) -> tuple[int, str]:
    """Seek to ``offset``, past a UTF-8 byte-order mark at the start; the offset and the per-line codec."""
    if encoding != "utf-8-sig":
        fh.seek(offset)
        return offset, encoding
    if offset == 0:  # the mark can only start the file: decode lines as plain UTF-8 (the fast path)
        fh.seek(0)
        offset = 3 if fh.read(3) == codecs.BOM_UTF8 else 0
    fh.seek(offset)
    return offset, "utf-8"


def _decoder(encoding: str) -> Any:
    """One JSON line (bytes) to a value: orjson for UTF-8 (several times faster), the json module for what orjson
    refuses but JSON Lines writers produce (NaN, huge integers, lone surrogates) and for other encodings; errors
    are the json module's (UnicodeDecodeError, JSONDecodeError with its message and position)."""
    slow = _JSON.decode

    def decode(raw: bytes) -> Any:
        if encoding == "utf-8":
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
        return slow(raw.decode(encoding))

    return decode


def _parse_jsonl(spec: StreamSpec, name: str, fh: IO[bytes], offset: int, line: int, last: bool) -> Parsed:
    pos, encoding = _start(fh, spec.encoding, offset)
    state: Mapping[str, Any] | None = None
    decode = _decoder(encoding)
    for raw in fh:
        if last and raw[-1:] != b"\n":
            break  # still being written
        pos += len(raw)
        line += 1
        if raw.isspace():
            continue
        try:
            data = decode(raw)
        except UnicodeDecodeError as e:
            yield _bad(spec, name, line, raw, f"cannot decode as {spec.encoding} ({e.reason})")
        except json.JSONDecodeError as e:
            yield _bad(spec, name, line, raw, f"invalid JSON: {e.msg} at character {e.pos + 1}")
        else:
            if type(data) is dict:
                yield _record(spec, name, line, raw, data)
            else:
                yield _bad(spec, name, line, raw, f"not a JSON object but {_json_type(data)}")
        state = {"file": name, "offset": pos, "line": line}
        yield Checkpoint(state)
    return state


class _Lines:
    """The csv reader's input: one file's decoded lines, counting bytes and lines as the reader takes them.

    The reader takes exactly the lines of one record per row, so after a row ``pos`` is right after it.
    In the last file an unfinished line ends the input (it is still being written)."""

    def __init__(self, fh: IO[bytes], encoding: str, last: bool) -> None:
        self.fh, self.file_encoding, self.last = fh, encoding, last
        self.seek(0, 0)

    def seek(self, offset: int, line: int) -> None:
        self.pos, self.encoding = _start(self.fh, self.file_encoding, offset)
        self.line, self.at_end = line, False
        self.begin()

    def begin(self) -> None:
        """Start a record: forget the text and problem of the one before."""
        self.first = self.line + 1
        self.text: list[str] = []
        self.problem: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = b"" if self.at_end else self.fh.readline()
        if not raw or (self.last and raw[-1:] != b"\n"):
            self.at_end = True
            raise StopIteration
        self.pos += len(raw)
        self.line += 1
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as e:
            text = raw.decode(self.encoding, errors="replace")
            self.problem = self.problem or f"cannot decode line {self.line} as {self.file_encoding} ({e.reason})"
        self.text.append(text)
        return text


def _parse_csv(spec: StreamSpec, name: str, fh: IO[bytes], offset: int, line: int, last: bool) -> Parsed:
    lines = _Lines(fh, spec.encoding, last)
    state: Mapping[str, Any] | None = None
    reader = csv.reader(lines, delimiter=spec.delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return None  # no complete header yet
    except csv.Error as e:
        if lines.at_end and last:
            return None
        header, lines.problem = [], f"bad header ({e})"
    broken = _header_problem(header, lines.problem)
    if offset > 0:
        lines.seek(offset, line)
    while True:
        lines.begin()
        try:
            row = next(reader)
        except StopIteration:
            return state
        except csv.Error as e:
            if lines.at_end and last:
                return state  # a record still being written (its quoted field is not closed yet)
            yield _bad(spec, name, lines.first, "".join(lines.text), f"bad CSV ({e})")
        else:
            text = "".join(lines.text)
            if not lines.problem and (not row or (len(row) == 1 and not row[0].strip())):
                continue  # a blank line
            problem = broken or lines.problem
            if problem is None and len(row) != len(header):
                problem = f"{len(row)} cells, the header has {len(header)}"
            if problem is None:
                yield _record(spec, name, lines.first, text, dict(zip(header, row, strict=True)))
            else:
                yield _bad(spec, name, lines.first, text, problem)
        state = {"file": name, "offset": lines.pos, "line": lines.line}
        yield Checkpoint(state)


def _header_problem(header: list[str], problem: str | None) -> str | None:
    """What makes every row of a file unreadable: a bad, empty or repetitive header."""
    if problem:
        return f"header: {problem}"
    if not any(c.strip() for c in header):
        return "the header is empty"
    if len(set(header)) != len(header):
        return f"the header repeats a column: {header}"
    return None


def _record(spec: StreamSpec, name: str, line: int, raw: bytes | str, data: dict[str, Any]) -> Record:
    key = data.get(spec.key)
    if key is None or key == "" or isinstance(key, dict | list):
        problem = "no" if spec.key not in data else "an empty" if key in (None, "") else "a structured"
        return _bad(spec, name, line, raw, f"{problem} key field {spec.key!r}")
    version = data.get(spec.version) if spec.version else None
    deleted = _truthy(data.get(spec.deleted)) if spec.deleted else False
    return Record(spec.name, str(key), data, None if version is None else str(version), deleted)


def _bad(spec: StreamSpec, name: str, line: int, raw: bytes | str, problem: str) -> Record:
    text = raw.decode(spec.encoding, errors="replace") if isinstance(raw, bytes) else raw
    return Record(spec.name, f"{name}:{line}",
                  {"__error__": f"file {name} line {line}: {problem}", "__raw__": text.rstrip("\r\n")})


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_WORDS
    return bool(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "string"


# -- state --------------------------------------------------------------------------------------------
def _parse_state(state: Mapping[str, Any] | None) -> tuple[str | None, int, int]:
    if not state:
        return None, 0, 0
    name, offset, line = state.get("file"), state.get("offset", 0), state.get("line", 0)
    if not isinstance(name, str) or type(offset) is not int or offset < 0 or type(line) is not int or line < 0:
        raise PermanentError(f"files: not a files state: {dict(state)!r}")
    return name, offset, line


def _verify_offset(fh: IO[bytes], name: str, offset: int) -> None:
    """PermanentError when the file no longer has a line ending at ``offset`` (it was rewritten)."""
    if offset == 0:
        return
    fh.seek(offset - 1)
    if fh.read(1) != b"\n":
        raise PermanentError(f"files: {name!r} changed under its checkpoint (no line ends at byte {offset}); "
                             "it was truncated or rewritten: reset the stream's state to read it again")


# -- the outbox ---------------------------------------------------------------------------------------
def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"keys": {}, "sizes": {}}
    except ValueError as e:
        raise PermanentError(f"files: the write manifest {str(path)!r} is corrupt: {e}") from e
    return {"keys": manifest.get("keys", {}), "sizes": manifest.get("sizes", {})}


def _replace_atomically(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), so concurrent writers take turns."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The file connector, registered like any plugin connector."""
    return {"files": FilesConnector}
