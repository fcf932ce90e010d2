"""The mapping benchmark runs at a tiny size (CI smoke) and ends with its RESULT line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mapping.py"


def test_benchmark_smoke() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--records", "300", "--rounds", "1"],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH.parents[1],
    )
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT compiled_per_s=\d+ handwritten_per_s=\d+ ratio=\d+\.\d\d", last), last
