"""A pytest plugin that records which of Hub's hooks the suite calls (in this process and in xdist workers).

With HUB_CHECK_HOOK_CALLS=1 (``make test`` sets it) a run that never called one of the hooks in
hub/hookspecs.py fails, naming the hook: a hook that is only *named* in a test, never called, may be
dead. Hooks called only in child processes (a CLI subprocess, a Celery worker) are not seen here; each
hook needs at least one in-process test.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from hub import hookspecs

HOOKS = frozenset(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "hub_spec"))
CALLED: set[str] = set()
_DIR = "HUB_HOOK_CALLS_DIR"
_original_call = pluggy.HookCaller.__call__


def _recording_call(self: pluggy.HookCaller, *args: Any, **kwargs: Any) -> Any:
    if self.name in HOOKS and self.spec is not None and self.spec.namespace is hookspecs:
        CALLED.add(self.name)
    return _original_call(self, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    pluggy.HookCaller.__call__ = _recording_call  # type: ignore[method-assign]
    if not hasattr(config, "workerinput") and _DIR not in os.environ:
        os.environ[_DIR] = tempfile.mkdtemp(prefix="hub-hook-calls-")  # xdist workers inherit it


def _worker_files() -> Iterator[Path]:
    folder = os.environ.get(_DIR)
    return Path(folder).glob("*.json") if folder else iter(())


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    worker = getattr(session.config, "workerinput", None)
    if worker is not None:
        folder = os.environ.get(_DIR)
        if folder:
            Path(folder, f"{worker['workerid']}.json").write_text(json.dumps(sorted(CALLED)))
        return
    called = set(CALLED)
    for path in _worker_files():
        called |= set(json.loads(path.read_text()))
    missing = sorted(HOOKS - called)
    if os.environ.get("HUB_CHECK_HOOK_CALLS") == "1" and missing and session.exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"hooks never called by any test: {', '.join(missing)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
