"""The README's commands run as written on a fresh demo database, with the exit status each line promises.

`hub demo` runs in an empty directory (its database in ./var, as `make demo` makes it), a worker runs
beside it (as `make demo` serves one), and the README's "What you can do today" block runs in bash
line by line, from that directory, with the installed `hub` first on PATH. Every line must exit 0,
except those whose comment says ``(exit 1)``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_block(title: str = "## What you can do today") -> list[tuple[int, str]]:
    """(README line number, command line) of the first ``sh`` block after ``title``."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    begin = next(i for i in range(start, len(lines)) if lines[i].startswith("```sh")) + 1
    end = next(i for i in range(begin, len(lines)) if lines[i].startswith("```"))
    return [(i + 1, lines[i]) for i in range(begin, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")]


def script(commands: list[tuple[int, str]]) -> str:
    """A bash script that runs each command and reports its exit status on stderr."""
    out = []
    for number, line in commands:
        if line.startswith(". .venv/bin/activate"):
            continue  # PATH already starts with the virtual environment's bin
        out.append(f"{line}\necho \"::status $? ::line {number}\" >&2")
    return "\n".join(out) + "\n"


def expected_status(line: str) -> int:
    return 1 if "(exit 1)" in line else 0


@pytest.mark.slow
def test_the_readme_commands_run_on_a_fresh_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    demo = subprocess.run(["hub", "demo", "--accounts", "40"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-2000:]
    worker = subprocess.Popen(["hub", "worker"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / "worker.log").open("w"))
    try:
        commands = readme_block()
        run = subprocess.run(["bash", "-c", script(commands)], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=900)
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    statuses = {int(n): int(s) for s, n in re.findall(r"::status (\d+) ::line (\d+)", run.stderr)}
    by_line = dict(commands)
    assert set(statuses) == {n for n, line in commands if not line.startswith(". ")}, run.stderr[-3000:]
    wrong = {n: (by_line[n], s) for n, s in statuses.items() if s != expected_status(by_line[n])}
    assert not wrong, f"{wrong}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "created 0, updated 0" in run.stdout
    assert "line 5: contacts.email: 'not-an-email' is not a valid e-mail address" in run.stderr
