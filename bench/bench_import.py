"""What ``import orchestrator_kit`` adds to a bare interpreter (issue #12, aim 6: under 0.05 s). Prints figures.

    python bench/bench_import.py [--runs 31]

Runs ``python -c pass`` and ``python -c "import orchestrator_kit"`` alternately, each in a fresh process,
and prints the medians: wall time, and CPU time (user + system, from the child's rusage: less
disturbed by other work on the machine). Then ``-X importtime``'s own figure for the package.
``PYTHONDONTWRITEBYTECODE=1`` (no .pyc cache: every module compiled at each start) is reported, as
it makes every import slower.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

CODE = "import orchestrator_kit"


def _one(code: str) -> tuple[float, float]:
    """(wall, cpu) seconds of one fresh interpreter running ``code``."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"{sys.executable} -c {code!r} failed (status {status})")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=31)
    runs = p.parse_args().runs
    bare, loaded = [], []
    for _ in range(runs):
        bare.append(_one("pass"))
        loaded.append(_one(CODE))
    for i, name in ((0, "wall"), (1, "cpu")):
        b = statistics.median(x[i] for x in bare)
        m = statistics.median(x[i] for x in loaded)
        print(
            f"{name}: bare {b * 1e3:.1f} ms, with import {m * 1e3:.1f} ms, over {(m - b) * 1e3:.1f} ms (aim < 50)"
        )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CODE], capture_output=True, text=True
    ).stderr
    found = re.search(r"\|\s*(\d+) \| orchestrator_kit\s*$", out, re.M)
    if found:
        print(f"-X importtime: orchestrator_kit {int(found.group(1)) / 1e3:.1f} ms cumulative")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "note: PYTHONDONTWRITEBYTECODE is set: no bytecode cache, every module is compiled at each start"
        )
    print(f"median of {runs} runs each, interleaved; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
