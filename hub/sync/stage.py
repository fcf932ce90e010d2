"""The mapping stage of an inbound run: map and validate batch k+1 in a second process while batch k is written.

Mapping (phone numbers, dates, lookups) and field validation are pure CPU work on the source records;
writing is the store's transaction. On a machine with more than one core they can run side by side, so
a run forks one helper process that receives batches of source records through a pipe and answers each
with one ``Outcome`` per record. The helper is forked, so it shares the compiled mapping and the module's
field definitions without pickling them; it touches no database, file or socket it inherited, and it
exits when its pipe closes (the run ended, or the worker died). If it dies or fails, the run maps in its
own process from that batch on: the parent keeps every record until its batch commits, so nothing is lost.

Values that the stage validated come back as the canonical output of ``FieldDef.clean`` for the module's
definitions at the start of the run; the write path trusts them only while the module's definitions are
unchanged (``Lander`` compares them in each batch's transaction) and validates again otherwise.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection, Pipe
from typing import Any, NamedTuple

from hub.core.binding import BoundId
from hub.core.fields import SENSITIVE_VALUE, UNSURE
from hub.core.modules import ModuleDef
from hub.errors import HubError, MappingError
from hub.sync.heap import Collector

log = logging.getLogger("hub.sync")


class Outcome(NamedTuple):
    """What mapping one source record gave.

    ``kind`` is ``ok`` (``values`` are the mapped values; ``validated`` when they are already the
    field's canonical values), ``skip`` (the mapping filtered the record out) or ``error`` (``error``
    says why the mapping refused it).
    """

    kind: str
    values: dict[str, Any] | None = None
    validated: bool = False
    error: str | None = None


def validate(mod: ModuleDef, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """``values`` cleaned by their fields, or None when any is not a writable field or is invalid
    (then the write path validates them and reports the problem with the record)."""
    writable, name, out = mod.writable, mod.name, {}
    try:
        for key, value in values.items():
            f = writable.get(key)
            if f is None:
                return None
            if type(value) is BoundId:  # the run resolves it to a record id (the canonical value) before writing
                if f.ref_module is None:
                    return None
                out[key] = value
                continue
            quick = f.quick(value)
            out[key] = quick if quick is not UNSURE else f.clean(name, value)
    except HubError:
        return None
    return out


def outcomes(mapping: Callable[[Any], Any], mod: ModuleDef | None,
             sources: Sequence[Mapping[str, Any]]) -> list[Outcome]:
    """Map (and validate, with ``mod``) each source record."""
    out = []
    for data in sources:
        try:
            values = mapping(data)
        except MappingError as exc:
            out.append(Outcome("error", error=_error_text(exc, mod)))
            continue
        if values is None:
            out.append(Outcome("skip"))
            continue
        clean = validate(mod, values) if mod is not None else None
        out.append(Outcome("ok", values if clean is None else clean, clean is not None))
    return out


def _error_text(exc: MappingError, mod: ModuleDef | None) -> str:
    """What a dead letter keeps of a mapping failure: without the value when it is bound for a sensitive field."""
    target = mod.fields.get(exc.field) if mod is not None else None
    if target is None or not target.sensitive:
        return str(exc)
    return f"{exc.field}: {exc.transform}: {target.unquoted(exc.problem, exc.value)} (value {SENSITIVE_VALUE})"


class MappingStage:
    """Maps batches in a forked helper (``forked=True`` where the platform can fork), else in this process.

    ``submit(sources)`` hands a batch over; ``result()`` returns its outcomes. One batch is in flight at a
    time: submit, then result, then submit the next.
    """

    def __init__(self, mapping: Callable[[Any], Any], mod: ModuleDef | None, forked: bool = True) -> None:
        self.mapping, self.mod = mapping, mod
        self._pending: Sequence[Mapping[str, Any]] | None = None
        self._conn: Connection | None = None
        self._pid: int | None = None
        if forked and hasattr(os, "fork"):
            self.start()

    @property
    def forked(self) -> bool:
        """Whether batches are mapped in the helper process (False after it failed)."""
        return self._conn is not None

    def start(self) -> None:
        """Fork the helper (between batches); on failure batches go on being mapped in this process."""
        if self._conn is not None or self._pending is not None:
            return
        parent, child = Pipe(duplex=True)
        try:
            pid = os.fork()
        except OSError as exc:
            log.warning("mapping stage: cannot fork (%s); mapping in this process", exc)
            parent.close()
            child.close()
            return
        if pid == 0:  # the helper: map what comes through the pipe until it closes, then leave at once
            parent.close()
            gc.freeze()  # what it inherited is never collected here: no copy-on-write of it by the collector
            gc.disable()  # and its batches' cycles are collected every few batches (see hub.sync.heap)
            _serve(child, self.mapping, self.mod)
        child.close()
        self._conn, self._pid = parent, pid

    def submit(self, sources: Sequence[Mapping[str, Any]]) -> None:
        if self._pending is not None:
            raise RuntimeError("mapping stage: take the result of the last batch before submitting another")
        self._pending = sources
        if self._conn is not None:
            try:
                self._conn.send(list(sources))
            except (OSError, ValueError) as exc:
                self._fail(f"cannot send a batch: {exc}")

    def result(self) -> list[Outcome]:
        sources, self._pending = self._pending, None
        if sources is None:
            raise RuntimeError("mapping stage: no batch was submitted")
        if self._conn is not None:
            try:
                reply = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._fail(f"the helper process ended ({exc or 'no reply'})")
            else:
                if isinstance(reply, list) and len(reply) == len(sources):
                    return [Outcome(*o) for o in reply]
                self._fail(f"the helper process failed: {reply}")
        return outcomes(self.mapping, self.mod, sources)

    def _fail(self, why: str) -> None:
        log.warning("mapping stage: %s; mapping in this process from now on", why)
        self.close()

    def close(self) -> None:
        """End the helper process (it exits when its pipe closes)."""
        conn, pid, self._conn, self._pid = self._conn, self._pid, None, None
        if conn is not None:
            conn.close()
        if pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    def __enter__(self) -> MappingStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Connection, mapping: Callable[[Any], Any], mod: ModuleDef | None) -> None:
    """The helper's loop. It never returns: ``os._exit`` skips the parent's cleanup handlers, which
    would otherwise close database connections the helper inherited but does not own."""
    code, heap = 0, Collector()
    try:
        while True:
            try:
                sources = conn.recv()
            except EOFError:
                break
            try:
                reply: Any = [tuple(o) for o in outcomes(mapping, mod, sources)]
            except BaseException as exc:  # reported to the parent, which maps the batch itself
                reply = f"{type(exc).__name__}: {exc}"
            conn.send(reply)
            heap.batch_done()
    except BaseException:
        code = 1
    finally:
        os._exit(code)
