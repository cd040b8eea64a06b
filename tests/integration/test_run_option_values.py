"""Bad values of a run's options, as users pass them: a clear ConfigError (CLI: exit 2, no traceback) that
names the option and the fix, raised before any run folder exists; never a raw TypeError or
decimal.InvalidOperation, never an option silently ignored."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import orchestrator_kit as ok
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError

REQUEST = "A CLI that converts CSV files to JSON"


def _no_run_folder(root: Path) -> None:
    assert not list(root.rglob("manifest.json")), "a bad option must be refused before a run starts"


# option -> (value, words the message must hold)
BAD_OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "budget NaN": ({"budget_usd": float("nan")}, "budget"),
    "budget 'NaN' text": ({"budget_usd": "NaN"}, "budget"),
    "budget sNaN": ({"budget_usd": Decimal("sNaN")}, "budget"),
    "budget infinite": ({"budget_usd": math.inf}, "leave it out for no cap"),
    "budget -infinite": ({"budget_usd": -math.inf}, "budget"),
    "token budget as text": ({"budget_tokens": "100"}, "token budget"),
    "token budget a fraction": ({"budget_tokens": 2.5}, "token budget"),
    "token budget True": ({"budget_tokens": True}, "token budget"),
    "concurrency as text": ({"max_concurrency": "4"}, "max_concurrency"),
    "concurrency a fraction": ({"max_concurrency": 2.5}, "max_concurrency"),
    "rounds as text, no gate in the agents": ({"max_rounds": "2", "agents": ["architect"]}, "max_rounds"),
    "gate policy typo, no gate in the agents": ({"gate_policy": "humans", "agents": ["architect"]}, "human"),
    "model None": ({"model": None}, "model"),
    "model a number": ({"model": 5}, "model"),
    "output_dir None": ({"output_dir": None}, "output"),
    "timeout 0": ({"timeout": 0}, "timeout"),
    "timeout negative": ({"timeout": -1}, "timeout"),
    "timeout text": ({"timeout": "abc"}, "timeout"),
    "timeout NaN": ({"timeout": math.nan}, "timeout"),
    "timeout infinite": ({"timeout": math.inf}, "timeout"),
    "replay_from without mode replay": ({"replay_from": "runs/x"}, "mode='replay'"),
    "record_to a folder": ({"record_to": "."}, "record_to"),
    "record_to in a missing folder": ({"record_to": "no/such/dir/rec.jsonl"}, "record_to"),
    "project_name None": ({"project_name": None}, "project name"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_values_are_config_errors_before_any_run(tmp_path: Path, case: str) -> None:
    options, words = BAD_OPTIONS[case]
    kw: dict[str, Any] = {"mode": "simulated", "output_dir": str(tmp_path / "runs"), **options}
    with pytest.raises(ConfigError) as info:
        ok.run_workflow(REQUEST, **kw)
    assert words in str(info.value), str(info.value)
    _no_run_folder(tmp_path)


def test_numpy_like_integers_and_floats_still_pass(tmp_path: Path) -> None:
    """Values from a pandas table (numpy scalars: not int/float subclasses for integers) are accepted."""
    np = pytest.importorskip("numpy")
    result = ok.run_workflow(
        REQUEST,
        mode="simulated",
        agents=["architect"],
        budget_usd=np.float64(5),
        budget_tokens=np.int64(10**6),
        max_concurrency=np.int64(2),
        timeout=np.float64(30),
        output_dir=str(tmp_path / "runs"),
    )
    assert result.status == "completed"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--budget", "nan"], "--budget 0.50"),
        (["--budget", "inf"], "leave it out for no cap"),
        (["--timeout", "inf"], "timeout"),
        (["--record-to", "no/such/dir/rec.jsonl"], "--record-to"),
        (["--record-to", "."], "--record-to"),
        (["--replay-from", "somewhere"], "--mode replay"),
    ],
)
def test_cli_bad_values_exit_2_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    try:
        code = main(["run", REQUEST, "--mode", "simulated", "-q", "-o", str(tmp_path / "runs"), *args])
    except SystemExit as exc:  # argparse's own refusals exit 2 this way
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err and "Traceback" not in err
    _no_run_folder(tmp_path)


def test_decide_with_a_bad_option_records_nothing(tmp_path: Path) -> None:
    """``decide(..., **overrides)`` checks the options of the resume before the decision is recorded: a
    misspelt or bad option left the run 'decided' but not resumed, and a second decide was refused."""
    waiting = ok.run_workflow(
        REQUEST, mode="simulated", gate_policy="human", output_dir=str(tmp_path / "runs")
    )
    assert waiting.status == "awaiting_approval"
    with pytest.raises(TypeError, match="budget"):
        ok.decide(waiting.run_dir, "approve", budget=3)
    with pytest.raises(ConfigError, match="timeout"):
        ok.decide(waiting.run_dir, "approve", timeout=-1)
    assert not (waiting.run_dir / "decisions.jsonl").exists()
    assert ok.decide(waiting.run_dir, "approve").status == "completed"
