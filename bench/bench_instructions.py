"""Instructions per model call, ours and LangGraph's, counted by valgrind (issue #12, aim 1). Prints
figures; asserts nothing.

    pip install -e '.[bench]'     # and valgrind (apt-get install valgrind)
    python bench/bench_instructions.py [--runs 10]

Wall-clock figures (bench_peer.py) swing with the machine's load and, for ours, with the file system
(see bench_peer.BENCH_NOTE). The instructions a side executes per call do not: this bench runs each
side of bench_peer.py in a child process under ``valgrind --tool=cachegrind`` twice, with 2 and with
2 + ``--runs`` timed runs, and divides the difference by the calls it adds (start-up and warm-up cancel
out). User-space instructions only: the kernel's work for our file writes is not counted (bench_peer
prints it as system time). Ours writes its run folders to a temp folder, as in bench_peer.

Instructions are not time: under valgrind OpenSSL's sha256 runs without the CPU's SHA instructions
(about 28 instructions a byte), so ours' request hash (about 12 KB of canonical JSON a call) is about
0.34 M of its count here but about 2% of its time natively (measured for issue #12).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_peer import CALLS_PER_RUN, Ours, Peer

BASE_RUNS = 2


def loop(side: str, runs: int, root: Path) -> None:
    """The child: one side, warmed up, then ``runs`` runs (what bench_peer times)."""
    if side == "ours":
        Ours(root, new_request=False).time(runs)
    else:
        Peer(root, durable=False).time(runs)


def instructions(side: str, runs: int, root: Path) -> int:
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        side,
        "--runs",
        str(runs),
        "--root",
        str(root / f"{side}-{runs}"),
    ]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    m = re.search(r"I\s+refs:\s+([\d,]+)", err)
    if m is None:
        sys.exit(f"no instruction count in valgrind's output:\n{err[-2000:]}")
    return int(m.group(1).replace(",", ""))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10, help="runs added to the baseline's")
    p.add_argument("--child", choices=["ours", "langgraph"], default=None)
    p.add_argument("--root", default=None)
    a = p.parse_args()
    if a.child:
        loop(a.child, a.runs, Path(a.root))
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions needs valgrind: apt-get install valgrind")
    per_call = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side in ("ours", "langgraph"):
            base = instructions(side, BASE_RUNS, Path(tmp))
            more = instructions(side, BASE_RUNS + a.runs, Path(tmp))
            per_call[side] = (more - base) / (a.runs * CALLS_PER_RUN)
    ours, lg = per_call["ours"], per_call["langgraph"]
    print(
        f"instructions per model call ({a.runs} runs x {CALLS_PER_RUN} calls, valgrind): ours (durable run "
        f"folder) {ours / 1e6:.3f} M; LangGraph, no persistence {lg / 1e6:.3f} M; ours / LangGraph {ours / lg:.2f}"
    )
    print(
        "  (ours' count includes about 0.34 M of sha256 run without SHA instructions: see this file's docstring)"
    )


if __name__ == "__main__":
    main()
