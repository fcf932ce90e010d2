"""The installed `hub` command on a fresh SQLite database of its own, for benchmarks that drive the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class HubShell:
    """`hub` with HUB_VAR_DIR and HUB_DATABASE_URL set to ``base``/``name`` (created, schema upgraded)."""

    def __init__(self, base: Path, name: str = "var") -> None:
        self.base = base
        self.var = base / name
        self.var.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        self.env.update({"HUB_VAR_DIR": str(self.var), "HUB_DATABASE_URL": f"sqlite:///{self.database}"})
        self._files = 0
        self.must("db", "upgrade")

    @property
    def database(self) -> Path:
        return self.var / "hub.db"

    def run(self, *args: str, user: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``hub [--as user] args...``; its exit status and output, whatever they are."""
        hub = str(Path(sys.executable).with_name("hub"))
        argv = [hub, *(["--as", user] if user else []), *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)

    def must(self, *args: str, user: str | None = None) -> str:
        """The output of a command that must succeed; RuntimeError with its output otherwise."""
        done = self.run(*args, user=user)
        if done.returncode:
            raise RuntimeError(f"hub {' '.join(args)}: exit {done.returncode}: {done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def csv(self, header: str, *rows: str) -> str:
        """A new CSV file in ``base`` with ``header`` and ``rows``; its path."""
        self._files += 1
        path = self.base / f"{self.var.name}-{self._files}.csv"
        path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
        return str(path)
