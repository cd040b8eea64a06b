"""bench/bench_real_mode.py's caching figure still runs end to end against the fake server (it had
broken silently when run totals became a typed record). Checks the printed figures' sense, never speed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "bench_real_mode.py"


@pytest.mark.slow
def test_the_caching_bench_prints_a_ratio_below_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_real_mode", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.bench_caching(tmp_path)
    out = capsys.readouterr().out
    ratio = re.search(r"input cost with caching / without: ([0-9.]+)", out)
    assert ratio is not None, out
    assert 0 < float(ratio.group(1)) < 1
