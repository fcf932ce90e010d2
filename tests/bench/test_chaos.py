"""bench/chaos.py at a tiny size: the driver runs a scenario and ends with its RESULT line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ssrf_scenario_refuses_every_target_and_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "chaos.py"), "--only", "ssrf"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    result = done.stdout.strip().splitlines()[-1]
    figures = dict(item.split("=") for item in result.removeprefix("RESULT ").split())
    assert result.startswith("RESULT "), done.stdout + done.stderr
    assert int(figures["ssrf_tried"]) > 70 and figures["ssrf_refused"] == figures["ssrf_tried"], done.stderr
    assert int(figures["proxies_tried"]) >= 4 and figures["proxies_refused"] == figures["proxies_tried"], done.stderr
    assert done.returncode == 0, done.stderr


def test_an_unknown_scenario_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "chaos.py"), "--only", "ssrf,nonsense"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "nonsense" in done.stderr
