"""CPU time of the PostgreSQL server on this machine, for a benchmark's loads.

A sync run's cost is not only the client's: the server parses rows, checks constraints and fills indexes,
on the same cores when it runs on the same machine. ``server_cpu()`` is the CPU time (user + system) the
server has used so far: its postmaster's own, its ended children's (which the kernel adds to the
postmaster's once it has reaped them) and its live children's (backends, WAL writer, checkpointer). The
difference of two readings taken around a load, from another process, is what the server spent on it,
if nothing else used the server meanwhile: no sampling, nothing running in the measured process. Where
the server is not a local process (or there is no /proc), it is None.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # no /proc there: never used


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the process name, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _name(pid: int | str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def postmaster() -> int | None:
    """The pid of the local PostgreSQL server's postmaster (the postgres process whose parent is not
    one), or None."""
    for entry in Path("/proc").glob("[0-9]*"):
        if _name(entry.name) != "postgres":
            continue
        fields = _stat(entry.name)
        if fields is not None and _name(fields[1]) != "postgres":  # fields[1]: the parent's pid
            return int(entry.name)
    return None


def server_cpu(pm: int | None) -> float | None:
    """CPU seconds the server of postmaster ``pm`` has used so far, ended backends included."""
    if pm is None:
        return None
    own = _stat(pm)
    if own is None:
        return None
    ticks = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime (its reaped children's)
    try:
        children = Path(f"/proc/{pm}/task/{pm}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        fields = _stat(child)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _TICK
