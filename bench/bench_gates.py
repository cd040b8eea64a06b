"""Benchmark human gates (simulated mode): calls repaid across pause/resume, and the decision-to-next-call
latency in the notebook (Approve click -> the next agent_started/call_finished event) and in the API server
(POST .../decision -> the next agent_started/call_finished event of the resumed run, over real HTTP).

    python bench/bench_gates.py                 # 5 repetitions each
    python bench/bench_gates.py --reps 10

Prints medians (ms) and the number of calls repaid (must be 0). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

NEXT = ("agent_started", "call_finished")
REQUEST = "a command-line tool that converts CSV files to JSON"


def repaid(run_dir: Path) -> int:
    """Successful calls whose request hash was already paid in this run folder."""
    lines = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]
    hashes = [ln["request_hash"] for ln in lines if ln["status"] == "ok"]
    return len(hashes) - len(set(hashes))


def notebook_once(out: Path) -> tuple[float, int]:
    from orchestrator_kit.ui import RunPanel

    panel = RunPanel(output_dir=out, request=REQUEST)
    panel.gate.value = "human"
    panel.run_button.click()
    assert panel.wait(120) == "awaiting_approval", panel.status_text
    seen = len(panel.events)
    clicked = time.time()
    panel.gate_panel.approve_button.click()
    assert panel.wait(120) == "completed", panel.status_text
    first = next(e for e in panel.events[seen:] if e.type in NEXT)
    assert panel.run_dir is not None
    return first.ts - clicked, repaid(panel.run_dir)


def _events(c: httpx.Client, path: str, after: int) -> list[dict[str, Any]]:
    out = []
    with c.stream("GET", path, headers={"Last-Event-ID": str(after)}, timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def _wait(c: httpx.Client, path: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = c.get(path).json()
        if body["status"] in statuses:
            return body
        time.sleep(0.01)
    raise TimeoutError(path)


def api_runs(reps: int) -> tuple[list[float], int]:
    from orchestrator_kit.server.app import ServerSettings, create_app
    from orchestrator_kit.server.main import BackgroundServer

    data_dir = Path(tempfile.mkdtemp(prefix="bench-gates-"))
    token = "bench-token-000000000000000000"
    app = create_app(ServerSettings(data_dir=data_dir, token=token))
    latencies, paid_again = [], 0
    with BackgroundServer(app, logging_config=None) as srv:
        c = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        pid = c.post("/projects", json={"project_name": "bench", "request": REQUEST}).json()["id"]
        for _ in range(reps):
            rid = c.post(f"/projects/{pid}/runs", json={"mode": "simulated", "gate": "human"}).json()["id"]
            base = f"/projects/{pid}/runs/{rid}"
            _wait(c, base, ("awaiting_approval", "failed"))
            waiting = _events(c, base + "/events", 0)[-1]
            posted = time.time()
            r = c.post(base + "/decision", json={"action": "approve"})
            assert r.status_code == 202, r.text
            _wait(c, base, ("completed", "failed"))
            after = _events(c, base + "/events", waiting["seq"])
            first = next(e for e in after if e["type"] in NEXT)
            latencies.append(first["ts"] - posted)
            paid_again += repaid(data_dir / "runs" / "default" / rid)
        c.close()
    return latencies, paid_again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        del os.environ[name]  # simulated runs only
    out = Path(tempfile.mkdtemp(prefix="bench-gates-nb-"))
    nb = [notebook_once(out) for _ in range(args.reps)]
    api, api_repaid = api_runs(args.reps)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"repetitions: {args.reps} each (simulated mode, human gate at consensus, approve)")
    print(f"notebook: Approve click -> next call/agent event: median {ms([x for x, _ in nb]):.1f} ms")
    print(f"API: POST .../decision -> next call/agent event:  median {ms(api):.1f} ms")
    print(f"calls repaid across pause/resume: {sum(n for _, n in nb) + api_repaid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
