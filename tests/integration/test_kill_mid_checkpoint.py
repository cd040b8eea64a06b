"""A workflow process killed with SIGKILL at several points (while it appends to its checkpoint log,
ledger and responses) leaves a consistent run folder each time, and the run resumes to the end
without paying a call twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.store.run_folder import STATE, STATE_LOG, RunFolder

REQUEST = "Build a command-line tool that converts CSV files to JSON and reports invalid rows"
RUN_ID = "killed-run"
_CHILD = textwrap.dedent(f"""
    import sys
    from orchestrator_kit.engine.engine import WorkflowEngine
    root, run_dir = sys.argv[1], sys.argv[2]
    opts = {{"latency_s": 0.03}}
    if sys.argv[3] == "run":
        WorkflowEngine(mode="simulated", output_dir=root, simulated_options=opts).run({REQUEST!r}, run_id={RUN_ID!r})
    else:
        WorkflowEngine.for_resume(run_dir, simulated_options=opts).resume(run_dir)
""")


def _check_consistent(run: Path) -> dict[str, str]:
    """The folder's state after a kill: in flight, every done step's artifacts whole on disk, and no
    call paid twice in the ledger. Returns the steps."""
    state = RunFolder(run).load_state()
    assert state is not None and state["status"] == "running"
    steps = state["steps"]
    assert set(steps.values()) <= {"pending", "running", "done"}
    arts = state["project_state"]["artifacts"]
    for agent, status in steps.items():
        if status == "done":
            assert arts.get(agent), f"{agent} is done but its artifacts are not in the checkpoint"
            for meta in arts[agent]:
                assert (run / "artifacts" / agent / meta["filename"]).stat().st_size > 0
    paid = Counter(
        ln["request_hash"]
        for ln in map(json.loads, (run / "calls.jsonl").read_text().splitlines())
        if ln["status"] != "error"
    )
    assert not paid or max(paid.values()) == 1
    return dict(steps)


@pytest.mark.slow
def test_a_workflow_killed_at_several_points_stays_consistent_and_resumes(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run = root / RUN_ID
    done_counts = []
    for round_, delay in enumerate([0.15, 0.1, 0.25, 0.05]):
        action = "run" if round_ == 0 else "resume"
        log = run / STATE_LOG
        size = log.stat().st_size if log.exists() else -1
        with subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(root), str(run), action], cwd=tmp_path
        ) as proc:
            try:
                deadline = time.monotonic() + 60
                while (log.stat().st_size if log.exists() else -1) == size and proc.poll() is None:
                    # until the child's first checkpoint: it is under way
                    assert time.monotonic() < deadline, "the child did not start its run in time"
                    time.sleep(0.01)
                time.sleep(delay)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
        if proc.returncode != -signal.SIGKILL or (run / STATE).exists():
            break  # it finished before the kill (or was still exiting): nothing to check here
        assert not (run / STATE).exists()  # never stopped cleanly, so never compacted
        steps = _check_consistent(run)
        done_counts.append(sum(s == "done" for s in steps.values()))
    assert done_counts, "no kill landed while the run was in flight"
    assert done_counts == sorted(done_counts)  # a resume never loses a step checkpointed as done
    result = WorkflowEngine.for_resume(run).resume(run)
    assert result.ok and result.status == "completed"
    assert not (run / STATE_LOG).exists()
    final = json.loads((run / STATE).read_text())
    assert final == RunFolder(run).load_state() and set(final["steps"].values()) == {"done"}
    lines = [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]
    paid = Counter(ln["request_hash"] for ln in lines if ln["status"] != "error")
    assert len(paid) == 16 and max(paid.values()) == 1
