"""The finance-over-SFTP connector (``sftp-finance``): invoice CSV and CAMT.053 in, customer master CSV out.

    {"host": "sftp.finance.example", "port": 22, "username": "hub",
     "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----...", "known_hosts": "sftp.finance.example ssh-ed25519 AAAA...",
     "invoices": {"path": "export/invoices", "pattern": "*.csv", "delimiter": ";", "encoding": "gb18030"},
     "bank_transactions": {"path": "export/camt053"},
     "customers": {"path": "import/customers"}}

**Streams.** ``invoices`` (rows of the CSV exports in ``invoices.path``, key ``invoices.key``),
``bank_transactions`` (one record per transaction of the CAMT.053 statements in ``bank_transactions.path``;
see camt053.py) and ``customers`` (writable only: each ``write`` uploads one CSV file).

**Exactly once.** Files are read in name order once their size and modification time have stayed the
same across two looks ``stable_seconds`` apart (a file still being uploaded is left for the next run).
The state is ``{"done": {file: [fingerprint, outcome]}, "file": f, "fp": fingerprint, "at": n}``: the files
consumed (fingerprint ``size:mtime``) and, inside a file, how many records of it were. A checkpoint
follows every record. ``committed()`` moves the files of the committed state to ``processed/`` (or
``failed/`` for an unusable file) beside them, so a crash before the commit leaves every file where it
was and a crash after it leaves them listed as done in the state until they are moved. A file uploaded
again under a used name has another fingerprint, so it is read again.

**Malformed input** does not stop a run: a file that cannot be read at all (bad XML, a DTD, an undecodable
byte, a bad header, too large) is one failed record with external id ``<file>``; a bad CSV row or CAMT
entry is a failed record ``<file>:<line or id>`` (see Record.failed). The engine quarantines them.

**Writing** ``customers`` uploads ``<path>/<prefix>-<digest of the idempotency key>.csv`` under a temporary
name, then renames it, and records the results in ``<path>/.hub-sent/<digest>.json``; a repeated key
returns those results and uploads nothing.

**Security.** The host must pass the instance's SSRF guard (hub.sync.net) before any connection, and the
socket is opened by the guard to an address it checked (``Guard.connect``: no second DNS lookup); host keys
are pinned (``known_hosts`` lines, paramiko's RejectPolicy: an unknown or changed key is an AuthError and
nothing is read); connect, banner and authentication have timeouts, and so has every SFTP operation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import posixpath
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import paramiko

from connectors.finance import camt053, invoice_csv
from connectors.finance.sftp_remote import (
    Remote,
    fingerprint,
    free_name,
    load_private_key,
    makedirs,
    parse_known_hosts,
    read_json,
    upload,
)
from hub.errors import AuthError, ConfigError, HubError, PermanentError, RetryableError
from hub.finance import payment_matching
from hub.hookspecs import hookimpl
from hub.sync import net
from hub.sync.connector import Checkpoint, Connector, Record, Stream, WriteResult, masked
from hub.sync.demo import DemoSystem

TYPE_NAME = "sftp-finance"
INVOICES, TRANSACTIONS, CUSTOMERS = "invoices", "bank_transactions", "customers"
DEFAULT_PATHS = {INVOICES: "invoices", TRANSACTIONS: "statements", CUSTOMERS: "customers"}
SENT = ".hub-sent"
_ID_NAMESPACE = uuid.UUID("2f0a5a52-57e4-4f6b-9a43-0b1c3c1d8e61")

_FOLDER = {"type": "string", "minLength": 1, "pattern": r"^[^\x00]+$"}
_DIALECT = {
    "encoding": {"enum": list(invoice_csv.ENCODINGS), "default": "utf-8-sig"},
    "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
    "quotechar": {"type": "string", "minLength": 1, "maxLength": 1, "default": '"'},
}
_INBOUND = {
    "enabled": {"type": "boolean", "default": True},
    "path": {**_FOLDER, "description": "the folder the finance system drops files in"},
    "pattern": {"type": "string", "minLength": 1, "description": "file names to read (glob)"},
    "processed": {**_FOLDER, "default": "processed", "description": "where read files go (relative to path)"},
    "failed": {**_FOLDER, "default": "failed", "description": "where unusable files go (relative to path)"},
}


def _stream_schema(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": props}


class SftpFinanceConnector(Connector):
    """A finance system's SFTP drop: invoice CSV exports and CAMT.053 statements in, customer CSV out."""

    type_name = TYPE_NAME
    title = "Finance system over SFTP (invoice CSV, CAMT.053, customer master CSV)"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["host", "username", "known_hosts"],
        "additionalProperties": False,
        "properties": {
            "host": {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9.:_-]+$"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
            "username": {"type": "string", "minLength": 1},
            "password": {"type": "string", "minLength": 1, "secret": True},
            "private_key": {"type": "string", "minLength": 1, "secret": True,
                            "description": "an OpenSSH or PEM private key (ed25519, ECDSA or RSA)"},
            "private_key_passphrase": {"type": "string", "secret": True},
            "known_hosts": {"type": "string", "minLength": 1,
                            "description": "OpenSSH known_hosts lines pinning the server's host key(s)"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 15,
                        "description": "seconds to connect, and for each SFTP operation"},
            "banner_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 15},
            "auth_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 15},
            "stable_seconds": {"type": "number", "minimum": 0, "maximum": 600, "default": 5,
                               "description": "a file is read once unchanged across two looks this far apart"},
            "max_file_mb": {"type": "number", "exclusiveMinimum": 0, "maximum": 1024, "default": 50},
            INVOICES: _stream_schema({**_INBOUND, **_DIALECT,
                                      "key": {"type": "string", "minLength": 1, "default": "invoice_no"},
                                      "columns": {"type": "array", "items": {"type": "string", "minLength": 1}}}),
            TRANSACTIONS: _stream_schema(_INBOUND),
            CUSTOMERS: _stream_schema({
                **_DIALECT, "enabled": {"type": "boolean", "default": True},
                "path": {**_FOLDER, "description": "the folder customer files are uploaded to"},
                "key": {"type": "string", "minLength": 1, "default": "customer_id"},
                "columns": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                "prefix": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,60}$", "default": "customers"},
                "deleted": {"type": "string", "minLength": 1, "default": "deleted"}}),
            **net.SCHEMA_PROPERTIES,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        c = self.config
        if not c.get("password") and not c.get("private_key"):
            raise ConfigError(f"{TYPE_NAME} config: password, private_key: give one of them (or both)")
        self.host, self.port, self.username = c["host"], int(c.get("port", 22)), c["username"]
        self.where = f"{TYPE_NAME} {self.name} ({self.host}:{self.port})"
        self.known_hosts = parse_known_hosts(c["known_hosts"])
        self.pkey = load_private_key(c["private_key"], c.get("private_key_passphrase")) if c.get("private_key") \
            else None
        self.timeout = float(c.get("timeout", 15))
        self.stable_seconds = float(c.get("stable_seconds", 5))
        self.max_bytes = int(float(c.get("max_file_mb", 50)) * 1024 * 1024)
        self.specs = {s: dict(c.get(s) or {}) for s in (INVOICES, TRANSACTIONS, CUSTOMERS)}
        for s, spec in self.specs.items():
            spec.setdefault("path", DEFAULT_PATHS[s])
        self.sleep: Callable[[float], None] = time.sleep  # the wait between the two looks (tests replace it)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._moved: set[tuple[str, str, str]] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, config={masked(self.config_schema, self.config)!r})"

    # -- the connection ---------------------------------------------------------------------------------
    def _open(self) -> paramiko.SFTPClient:
        """The SFTP session, connected (after the SSRF guard) when there is none or it dropped."""
        transport = self._client.get_transport() if self._client is not None else None
        if self._sftp is not None and transport is not None and transport.is_active():
            return self._sftp
        self.close()
        sock = net.Guard.from_config(dict(self.config)).connect(self.host, self.port, self.timeout, what=self.where)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        pinned = client.get_host_keys()
        for names, key in self.known_hosts:
            for name in names:
                pinned.add(name, key.get_name(), key)
        try:
            client.connect(self.host, self.port, username=self.username, password=self.config.get("password"),
                           pkey=self.pkey, sock=sock, timeout=self.timeout,
                           banner_timeout=float(self.config.get("banner_timeout", 15)),
                           auth_timeout=float(self.config.get("auth_timeout", 15)), channel_timeout=self.timeout,
                           allow_agent=False, look_for_keys=False)
            sftp = client.open_sftp()
        except BaseException:
            client.close()
            sock.close()
            raise
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(self.timeout)
        self._client, self._sftp = client, sftp
        return sftp

    def close(self) -> None:
        """Close the SFTP session and the SSH connection (safe to call twice)."""
        sftp, client, self._sftp, self._client = self._sftp, self._client, None, None
        for thing in (sftp, client):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()

    @contextlib.contextmanager
    def _remote(self, what: str) -> Iterator[None]:
        """Translate paramiko and socket errors of ``what`` into the hub's errors (dropping a broken session)."""
        try:
            yield
        except HubError:
            raise
        except paramiko.BadHostKeyException as e:
            self.close()
            got, pinned = fingerprint(e.key), fingerprint(e.expected_key)
            raise AuthError(f"{self.where}: the server's host key has CHANGED: it presents {e.key.get_name()} "
                            f"{got}, but known_hosts pins {pinned}. Nothing was read. If the finance system really "
                            "replaced its key, check the new fingerprint with them and update known_hosts.") from None
        except paramiko.AuthenticationException as e:
            self.close()
            raise AuthError(f"{self.where}: the server refused the credentials of {self.username!r} ({e})") from None
        except paramiko.SSHException as e:
            self.close()
            if "not found in known_hosts" in str(e):
                raise AuthError(f"{self.where}: the server's host key is not pinned in known_hosts; add its "
                                "known_hosts line (check the fingerprint with the finance system)") from None
            raise RetryableError(f"{self.where}: {what}: SSH error: {e}") from e
        except FileNotFoundError as e:
            raise PermanentError(f"{self.where}: {what}: no such file or folder ({e})") from None
        except PermissionError as e:
            raise PermanentError(f"{self.where}: {what}: permission denied ({e})") from None
        except (OSError, EOFError, paramiko.SFTPError) as e:  # timeouts, resets, refused or dropped connections
            self.close()
            raise RetryableError(f"{self.where}: {what}: {type(e).__name__}: {e or 'connection lost'}") from e

    # -- the contract -----------------------------------------------------------------------------------
    def check(self) -> None:
        """Connect, authenticate and list every enabled stream's folder (ConfigError naming a missing one)."""
        with self._remote("checking the folders"):
            sftp = self._open()
            for name, spec in self.specs.items():
                if spec.get("enabled", True) and name != CUSTOMERS:
                    self._list(sftp, name, spec)

    def discover(self) -> list[Stream]:
        """The enabled streams: invoices (fields from ``columns`` or a file's header), bank transactions, customers."""
        out = []
        inv, cus = self.specs[INVOICES], self.specs[CUSTOMERS]
        if inv.get("enabled", True):
            key = inv.get("key", "invoice_no")
            columns = inv.get("columns") or self._sample_header()
            fields = {c: "string" for c in [key, *columns]}
            out.append(Stream(INVOICES, fields, key=key, cursor="file",
                              description=f"invoice CSV exports in {inv['path']}"))
        if self.specs[TRANSACTIONS].get("enabled", True):
            out.append(Stream(TRANSACTIONS, dict(camt053.FIELDS), key="id", cursor="file",
                              description=f"CAMT.053 statements in {self.specs[TRANSACTIONS]['path']}"))
        if cus.get("enabled", True):
            key = cus.get("key", "customer_id")
            out.append(Stream(CUSTOMERS, {c: "string" for c in [key, *(cus.get("columns") or [])]}, key=key,
                              writable=True, description=f"customer master CSV files uploaded to {cus['path']}"))
        return out

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """The records of the files not yet consumed, in name order, a checkpoint after each."""
        spec = self._inbound(stream)
        done, current = _parse_state(stream, state)
        with self._remote(f"listing {spec['path']!r}"):
            first = self._list(self._open(), stream, spec)
        done = {n: v for n, v in done.items() if n in first and first[n].fp == v[0]}
        if current is not None and (current["file"] not in first or first[current["file"]].fp != current["fp"]):
            current = None
        waiting = {n: r for n, r in first.items() if n not in done}
        eligible = waiting
        if waiting and self.stable_seconds > 0:
            self.sleep(self.stable_seconds)
            with self._remote(f"listing {spec['path']!r}"):
                second = self._list(self._open(), stream, spec)
            eligible = {n: r for n, r in second.items() if waiting.get(n) == r}
        order = sorted(eligible)
        if current is not None and current["file"] in eligible:
            order.remove(current["file"])
            order.insert(0, current["file"])
        yielded = False
        for name in order:
            remote = eligible[name]
            parsed = self._file_records(stream, spec, remote)
            if parsed is None:
                continue  # gone or changed since it was listed: the next run sees it
            records, outcome = parsed
            skip = int(current["at"]) if current is not None and current["file"] == name else 0
            for index in range(skip, len(records)):
                yield records[index]
                if index + 1 < len(records):
                    yield Checkpoint(_state(done, {"file": name, "fp": remote.fp, "at": index + 1}))
            done[name] = [remote.fp, outcome]
            current = None
            yielded = True
            yield Checkpoint(_state(done, None))
        if not yielded:
            yield Checkpoint(_state(done, current))

    def committed(self, stream: str, state: Mapping[str, Any] | None) -> None:
        """Move the files the committed state consumed to ``processed/`` (``failed/`` when unusable)."""
        if stream not in (INVOICES, TRANSACTIONS) or not state:
            return
        spec = self._inbound(stream)
        done, _ = _parse_state(stream, state)
        todo = [(n, fp, outcome) for n, (fp, outcome) in sorted(done.items()) if (stream, n, fp) not in self._moved]
        if not todo:
            return
        with self._remote(f"moving consumed files out of {spec['path']!r}"):
            sftp = self._open()
            for name, fp, outcome in todo:
                source = posixpath.join(spec["path"], name)
                try:
                    attrs = sftp.stat(source)
                except FileNotFoundError:
                    self._moved.add((stream, name, fp))
                    continue
                if Remote.of(name, attrs).fp != fp:
                    continue  # uploaded again under the same name since: that one is new
                folder = posixpath.join(spec["path"], spec.get(outcome, outcome))
                makedirs(sftp, folder)
                sftp.posix_rename(source, free_name(sftp, folder, name, fp))
                self._moved.add((stream, name, fp))

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        """Upload ``records`` as one CSV file (temp name, then rename), once per idempotency key."""
        spec = self._outbound(stream)
        digest = hashlib.sha256(f"{stream}\n{idempotency_key}".encode()).hexdigest()[:24]
        folder, key = spec["path"], spec.get("key", "customer_id")
        marker = posixpath.join(folder, SENT, f"{digest}.json")
        with self._remote(f"uploading to {folder!r}"):
            sftp = self._open()
            sent = read_json(sftp, marker)
            if sent is not None:
                return [WriteResult(**r) for r in sent["results"]]
            rows, results = _rows(stream, records, idempotency_key, key, spec.get("deleted", "deleted"))
            columns = list(dict.fromkeys([key, *(spec.get("columns") or [c for r in rows for c in r])]))
            if any(r.deleted for r in records):
                columns = list(dict.fromkeys([*columns, spec.get("deleted", "deleted")]))
            content, failures = invoice_csv.render(rows, columns, invoice_csv.Dialect.from_config(spec))
            for index, why in failures.items():
                results[index] = WriteResult(results[index].external_id, ok=False, error=why)
            name = f"{spec.get('prefix', 'customers')}-{digest}.csv"
            if len(failures) < len(rows):
                makedirs(sftp, folder)
                upload(sftp, folder, name, content)
            makedirs(sftp, posixpath.join(folder, SENT))
            body = {"key": idempotency_key, "file": name, "results": [dataclasses.asdict(r) for r in results]}
            upload(sftp, posixpath.join(folder, SENT), f"{digest}.json", json.dumps(body).encode())
        return results

    # -- streams ----------------------------------------------------------------------------------------
    def _inbound(self, stream: str) -> dict[str, Any]:
        if stream == CUSTOMERS:
            raise PermanentError(f"{self.where}: stream {stream!r} is written, not read")
        if stream not in (INVOICES, TRANSACTIONS) or not self.specs[stream].get("enabled", True):
            raise ConfigError(f"{self.where}: no stream {stream!r}; streams: {', '.join(self._enabled())}")
        return self.specs[stream]

    def _outbound(self, stream: str) -> dict[str, Any]:
        if stream in (INVOICES, TRANSACTIONS):
            raise PermanentError(f"{self.where}: stream {stream!r} is read-only")
        if stream != CUSTOMERS or not self.specs[CUSTOMERS].get("enabled", True):
            raise ConfigError(f"{self.where}: no stream {stream!r}; streams: {', '.join(self._enabled())}")
        return self.specs[CUSTOMERS]

    def _enabled(self) -> list[str]:
        return [s for s, spec in self.specs.items() if spec.get("enabled", True)]

    def _list(self, sftp: paramiko.SFTPClient, stream: str, spec: Mapping[str, Any]) -> dict[str, Remote]:
        """The stream's files in its folder (not sub-folders), by name; ConfigError if the folder is missing."""
        pattern = spec.get("pattern") or ("*.csv" if stream == INVOICES else "*.xml")
        try:
            entries = sftp.listdir_attr(spec["path"])
        except FileNotFoundError:
            raise ConfigError(f"{self.where}: the folder {spec['path']!r} of stream {stream!r} does not exist"
                              ) from None
        return {e.filename: Remote.of(e.filename, e) for e in entries
                if stat.S_ISREG(e.st_mode or 0) and fnmatch(e.filename, pattern) and not e.filename.startswith(".")}

    def _sample_header(self) -> list[str]:
        spec = self.specs[INVOICES]
        with self._remote(f"sampling {spec['path']!r}"):
            sftp = self._open()
            files = sorted(self._list(sftp, INVOICES, spec))
            if not files:
                return []
            with sftp.open(posixpath.join(spec["path"], files[0]), "rb") as fh:
                head = fh.read(65536)
        return [h for h in invoice_csv.header(head, invoice_csv.Dialect.from_config(spec)) if h]

    def _file_records(self, stream: str, spec: Mapping[str, Any], remote: Remote
                      ) -> tuple[list[Record], str] | None:
        """The records of one file and where it goes once committed; None when it vanished or changed."""
        name = remote.name
        if remote.size > self.max_bytes:
            return [Record.failed(stream, name, f"file {name}: {remote.size} bytes, more than max_file_mb "
                                  f"({self.max_bytes // (1024 * 1024)} MB)")], "failed"
        with self._remote(f"downloading {name!r}"):
            buffer = io.BytesIO()
            try:
                self._open().getfo(posixpath.join(spec["path"], name), buffer)
            except FileNotFoundError:
                return None
        data = buffer.getvalue()
        if len(data) != remote.size:
            return None
        if stream == INVOICES:
            return _invoice_records(name, data, spec)
        return _transaction_records(name, data, self.max_bytes)


# -- files and state ------------------------------------------------------------------------------------
def _state(done: Mapping[str, list[str]], current: Mapping[str, Any] | None) -> dict[str, Any]:
    state: dict[str, Any] = {"done": {n: list(v) for n, v in sorted(done.items())}}
    if current is not None:
        state.update(file=current["file"], fp=current["fp"], at=current["at"])
    return state


def _parse_state(stream: str, state: Mapping[str, Any] | None
                 ) -> tuple[dict[str, list[str]], dict[str, Any] | None]:
    """(consumed files, the file being read or None); PermanentError for a state this connector did not make."""
    if not state:
        return {}, None
    done = state.get("done", {})
    ok = isinstance(done, dict) and all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v) for v in done.values())
    current = None
    if ok and state.get("file") is not None:
        current = {"file": state.get("file"), "fp": state.get("fp"), "at": state.get("at")}
        ok = isinstance(current["file"], str) and isinstance(current["fp"], str) and type(current["at"]) is int \
            and current["at"] >= 0
    if not ok:
        raise PermanentError(f"{TYPE_NAME}: not a {stream} state: {dict(state)!r}; reset the stream's state")
    return {n: list(v) for n, v in done.items()}, current


def _invoice_records(name: str, data: bytes, spec: Mapping[str, Any]) -> tuple[list[Record], str]:
    key = spec.get("key", "invoice_no")
    try:
        rows = invoice_csv.parse(data, invoice_csv.Dialect.from_config(spec), key)
    except invoice_csv.FileProblem as e:
        return [Record.failed(INVOICES, name, f"file {name}: {e}", data[:2000])], "failed"
    return [Record(INVOICES, row.data[key].strip(), row.data) if row.data is not None
            else Record.failed(INVOICES, f"{name}:{row.line}", f"file {name} line {row.line}: {row.error}", row.raw)
            for row in rows], "processed"


def _transaction_records(name: str, data: bytes, max_bytes: int) -> tuple[list[Record], str]:
    try:
        statement = camt053.parse(data, max_bytes)
    except camt053.CamtError as e:
        return [Record.failed(TRANSACTIONS, name, f"file {name}: {e}", data[:2000])], "failed"
    return [Record(TRANSACTIONS, item.id, {"id": item.id, **item.data}) if item.data is not None
            else Record.failed(TRANSACTIONS, f"{name}:{item.id}", f"file {name}: {item.error}", item.raw)
            for item in statement.items], "processed"


def _rows(stream: str, records: Sequence[Record], key: str, key_field: str, deleted: str
          ) -> tuple[list[dict[str, Any]], list[WriteResult]]:
    """The CSV rows of records (external id in the key column) and a result per record."""
    rows, results = [], []
    for index, record in enumerate(records):
        external_id = record.external_id or str(record.data.get(key_field) or "") or \
            str(uuid.uuid5(_ID_NAMESPACE, f"{stream}\n{key}\n{index}"))
        row = {**record.data, key_field: external_id}
        if record.deleted:
            row[deleted] = True
        rows.append(row)
        results.append(WriteResult(external_id))
    return rows, results


# -- plugin hooks -----------------------------------------------------------------------------------------
@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The finance-over-SFTP connector."""
    return {TYPE_NAME: SftpFinanceConnector}


@hookimpl
def record_changed(tx: Any, module: str, changes: Sequence[Any]) -> None:
    """Payments from bank statements are matched to invoices as they land (hub.finance.payment_matching)."""
    payment_matching.on_records_changed(tx, module, changes)


def _demo(store: Any, var_dir: Path) -> str:
    from connectors.finance.sftp_demo import demo

    return demo(store, var_dir)


def _stop(var_dir: Path) -> None:
    from connectors.finance.sftp_demo import stop

    stop(var_dir)


@hookimpl
def register_demo_systems() -> list[DemoSystem]:
    """The sample finance SFTP server (OpenSSH's sshd, a child process) behind ``demo-finance``."""
    return [DemoSystem("finance (SFTP)", "demo-finance", _demo, stop=_stop, order=30)]
