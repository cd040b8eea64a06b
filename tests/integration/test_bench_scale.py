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
    timing = {"first_call", "first_end", "last_end"}
    assert set(figures) == {"wall", "cpu", "gc", "rss_kb", "rss_growth_kb", *timing}
    assert figures["wall"] > 0 and figures["cpu"] > 0
    assert 0 <= figures["gc"] <= figures["cpu"]
    # when the first model call started and the 3 workflows ended, from the start of the timed part
    assert 0 <= figures["first_call"] < figures["first_end"] <= figures["last_end"] <= figures["wall"]
    assert figures["first_end"] >= 7 * 2 * 0.01  # no workflow ends before its critical path


@pytest.mark.slow
def test_our_side_leaves_its_run_folders_under_the_given_root(tmp_path: Path) -> None:
    """--root (README: put run folders on tmpfs): the folders go there and outlive the side process,
    which the whole bench removes at its end, so one phase's cleanup cannot slow the next."""
    subprocess.run(
        [sys.executable, str(BENCH), "--side", "ours", "--workflows", "2", "--delay", "0.01", "--root", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    (side,) = tmp_path.glob("ours-*")
    runs = list(side.rglob("manifest.json"))
    assert side.name.startswith("ours-2-") and len(runs) == 3  # the warm-up and the 2 timed workflows


@pytest.mark.slow
def test_the_instruction_benchs_child_runs_our_loop_without_valgrind(tmp_path: Path) -> None:
    """bench_instructions.py's child (what valgrind counts) runs our side: a warm-up, then --runs runs."""
    bench = BENCH.parent / "bench_instructions.py"
    subprocess.run(
        [sys.executable, str(bench), "--child", "ours", "--runs", "2", "--root", str(tmp_path / "ours")],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert len(list((tmp_path / "ours").glob("*/manifest.json"))) == 3


@pytest.mark.slow
def test_the_many_workflow_phase_reports_a_median_of_interleaved_runs_with_its_range() -> None:
    """--reps: the N-workflow phase runs each side that many times and prints the median with its range."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        from bench_scale import median_run, spread
    finally:
        sys.path.remove(str(BENCH.parent))
    runs = [{"wall": w, "cpu": w / 2, "gc": 0.0} for w in (9.0, 8.0, 10.0)]
    mid = median_run(runs)
    assert (mid["wall"], mid["cpu"], mid["wall_min"], mid["wall_max"]) == (9.0, 4.5, 8.0, 10.0)
    assert spread(mid, 8.0) == " (range 1.000-1.250)"
    assert spread(median_run(runs[:1]), 8.0) == ""
