"""bench/bench_scale.py's side process prints the figures the bench reports (wall, CPU and GC time of the
timed part, RSS). Figures are checked for shape and sense, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "bench_scale.py"


@pytest.mark.slow
def test_our_side_reports_wall_cpu_and_gc_time_of_the_timed_part() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--side", "ours", "--workflows", "3", "--delay", "0.01"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert set(figures) == {"wall", "cpu", "gc", "rss_kb", "rss_growth_kb"}
    assert figures["wall"] > 0 and figures["cpu"] > 0
    assert 0 <= figures["gc"] <= figures["cpu"]
