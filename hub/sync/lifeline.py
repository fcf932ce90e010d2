"""Child processes die with their parent: the kernel's parent-death signal, or a watchdog thread.

A worker's embedded beat, the worker ``hub serve --with-worker`` starts, the demo's sshd: each is a
child that must not outlive the process that started it, however that process ends (kill -9 included),
or it goes on under init: a second scheduler, a worker nobody stops, a server on a port. On Linux the
child asks the kernel for SIGTERM when its parent ends (``prctl(PR_SET_PDEATHSIG)``; kept across exec).
Elsewhere a daemon thread polls the parent's pid. ``preexec`` is the form for ``subprocess.Popen``.
``sigterm_unwinds`` makes SIGTERM end a command as Ctrl-C does, so its ``with`` blocks stop its children.

The signal comes when the *thread* that started the child ends: start such children from a thread that
lives as long as the parent does (the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, or None."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _prctl_pdeathsig(sig: int) -> bool:
    prctl = _prctl()
    return prctl is not None and int(prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have this process receive ``sig`` when its parent process ends (at once if it has already)."""
    parent = os.getppid()
    if sys.platform.startswith("linux") and _prctl_pdeathsig(sig):
        if os.getppid() != parent or parent == 1:  # the parent ended before the request
            os.kill(os.getpid(), sig)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        with contextlib.suppress(OSError):
            os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for Popen that makes the child die with this process (None where there is no prctl)."""
    prctl = _prctl() if sys.platform.startswith("linux") else None
    if prctl is None:
        return None
    parent = os.getpid()

    def child() -> None:  # runs in the child between fork and exec: nothing but system calls
        if int(prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0 and os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return child


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block (in the main thread), SIGTERM ends the process as Ctrl-C does, but with exit status 0:
    ``with`` blocks and ``finally`` clauses run, so a worker started beside is stopped and waited for."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
