"""evaluate_run on real run folders: simulated code passes its own tests; hostile code is stopped and named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import orchestrator_kit as ok
from orchestrator_kit.cli import main as cli_main
from orchestrator_kit.errors import ConfigError, NotARunError
from orchestrator_kit.evaluate import Limits, evaluate_many, evaluate_run, find_run_dirs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = ok.run_workflow("a word counter CLI", mode="simulated", output_dir=out)
    assert result.ok
    return result.run_dir


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "runs" / run.name
    shutil.copytree(run, target)
    return target


def _replace_code(run: Path, files: dict[str, str]) -> None:
    dev = run / "artifacts" / "developer"
    shutil.rmtree(dev)
    for name, text in files.items():
        (dev / name).parent.mkdir(parents=True, exist_ok=True)
        (dev / name).write_text(text)


def test_simulated_code_imports_and_passes_its_own_tests(sim_run: Path, tmp_path: Path) -> None:
    run = _copy(sim_run, tmp_path)
    e = evaluate_run(run)
    assert e.applicable and e.imports_ok
    assert e.tests_collected and e.tests_collected > 0
    assert e.tests_passed == e.tests_collected and e.tests_failed == 0
    assert e.lines_of_code and e.lines_of_code > 0
    assert e.completeness == 1.0 and not e.missing and not e.truncated
    assert e.review_score is not None and e.consensus_approved is True and e.design_rounds == 1
    saved = json.loads((run / "evaluation.json").read_text())
    assert saved["tests_passed"] == e.tests_passed
    assert ok.RunResult.load(run).evaluation == saved


def test_failing_and_broken_code_is_counted_not_crashed(sim_run: Path, tmp_path: Path) -> None:
    run = _copy(sim_run, tmp_path)
    _replace_code(
        run,
        {
            "good.py": "def add(a, b):\n    return a + b\n",
            "broken.py": "def oops(:\n",
            "pkg/__init__.py": "from .core import VALUE\n",
            "pkg/core.py": "VALUE = 3\n",
            "test_good.py": "from good import add\n\ndef test_ok():\n    assert add(1, 2) == 3\n\n"
            "def test_wrong():\n    assert add(1, 2) == 4\n",
        },
    )
    e = evaluate_run(run)
    assert e.modules == 4 and e.test_files == 1
    assert e.imports_ok is False and list(e.import_errors) == ["broken"]
    assert "SyntaxError" in e.import_errors["broken"]
    assert (e.tests_collected, e.tests_passed, e.tests_failed) == (2, 1, 1)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            "import time\n\ndef test_forever():\n    while True:\n        time.sleep(0.01)\n",
            "wall-clock timeout",
        ),
        ("def test_memory():\n    b = []\n    while True:\n        b.append(bytearray(64 << 20))\n", None),
        ("def test_file():\n    open('huge', 'wb').write(b'0' * (8 << 20))\n", None),
    ],
    ids=["loops-forever", "allocates-without-bound", "writes-a-huge-file"],
)
def test_hostile_tests_are_stopped_and_recorded(
    sim_run: Path, tmp_path: Path, code: str, reason: str | None
) -> None:
    run = _copy(sim_run, tmp_path)
    _replace_code(run, {"mod.py": "X = 1\n", "test_mod.py": code})
    e = evaluate_run(run, limits=Limits(cpu_s=5, wall_s=8.0, memory_bytes=768 << 20, file_bytes=1 << 20))
    assert e.imports_ok is True
    if reason:  # the sandbox stopped the whole pytest process
        assert any(reason in s for s in e.stopped), e.stopped
    else:  # the test itself failed with MemoryError / OSError: counted as a failure
        assert e.tests_failed == 1 or e.stopped, e


def test_code_that_reads_the_environment_finds_no_key(
    sim_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake-key")
    run = _copy(sim_run, tmp_path)
    _replace_code(
        run,
        {
            "mod.py": "import os\nKEY = os.environ.get('ANTHROPIC_API_KEY')\n",
            "test_mod.py": "import mod\n\ndef test_no_key():\n    assert mod.KEY is None\n",
        },
    )
    e = evaluate_run(run)
    assert (e.tests_passed, e.tests_failed) == (1, 0)
    assert "sk-ant-test-fake-key" not in (run / "evaluation.json").read_text()


def test_a_run_without_code_is_not_applicable_not_zero(tmp_path: Path) -> None:
    result = ok.run_workflow("a style guide", mode="simulated", agents=["architect"], output_dir=tmp_path)
    e = evaluate_run(result.run_dir)
    assert not e.applicable and e.not_applicable_reason
    assert e.tests_passed is None and e.imports_ok is None and e.lines_of_code is None
    assert e.completeness == 1.0


def test_model_written_code_is_opt_in(sim_run: Path, tmp_path: Path) -> None:
    run = _copy(sim_run, tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "mode": "real"}))
    with pytest.raises(ConfigError, match="allow_model_code=True"):
        evaluate_run(run)
    assert not (run / "evaluation.json").exists()
    assert evaluate_run(run, allow_model_code=True).applicable


def test_truncated_and_missing_artifacts_lower_completeness(sim_run: Path, tmp_path: Path) -> None:
    run = _copy(sim_run, tmp_path)
    (run / "artifacts" / "qa" / "qa_report.md").unlink()
    (run / "artifacts" / "reviewer" / "review.md").write_text("")
    e = evaluate_run(run)
    assert e.missing == ["qa/qa_report.md"] and e.empty == ["reviewer/review.md"]
    assert e.completeness == pytest.approx(7 / 9, abs=1e-3)


def test_many_runs_one_failure_does_not_stop_the_rest(sim_run: Path, tmp_path: Path) -> None:
    a, b = _copy(sim_run, tmp_path / "a"), _copy(sim_run, tmp_path / "b")
    (b / "manifest.json").write_text(
        json.dumps({**json.loads((b / "manifest.json").read_text()), "mode": "real"})
    )
    results = evaluate_many([a, b])
    assert "evaluation" in results[0] and "allow_model_code" in results[1]["error"]


def test_find_run_dirs_accepts_run_runs_and_nested_folders(sim_run: Path, tmp_path: Path) -> None:
    run = _copy(sim_run, tmp_path / "sweep")
    assert find_run_dirs(run) == [run]
    assert find_run_dirs(tmp_path / "sweep" / "runs") == [run]
    assert find_run_dirs(tmp_path / "sweep") == [run]
    with pytest.raises(NotARunError):
        find_run_dirs(tmp_path / "nothing-here")


def test_cli_evaluate_prints_a_table_and_load_runs_has_the_frame(
    sim_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(sim_run, tmp_path)
    assert cli_main(["evaluate", str(run.parent)]) == 0
    out = capsys.readouterr().out
    assert run.name in out and "imports" in out and "100%" in out
    frame = ok.load_runs(run.parent).evaluations
    assert frame is not None and list(frame["run_id"]) == [run.name]
    assert frame.loc[0, "pass_rate"] == 1.0


def test_cli_evaluate_refuses_a_folder_without_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["evaluate", str(tmp_path)]) == 2
    assert "no run folders" in capsys.readouterr().err


def test_run_workflow_evaluate_true(tmp_path: Path) -> None:
    result = ok.run_workflow(
        "a todo list", mode="simulated", agents=["architect", "developer"], output_dir=tmp_path, evaluate=True
    )
    assert result.evaluation is not None and result.evaluation["tests_passed"] > 0
    with pytest.raises(ConfigError, match="evaluate must be"):
        ok.run_workflow("x", mode="simulated", output_dir=tmp_path, evaluate="sometimes")  # type: ignore[arg-type]
