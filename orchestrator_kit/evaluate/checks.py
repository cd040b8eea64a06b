"""Objective quality of a finished run: does the code import, do its own tests pass, is everything there.

``evaluate_run(run_dir)`` copies the developer agent's artifacts into a throwaway folder, runs an import check
and the generated tests there through :mod:`.sandbox`, counts lines of code, checks that every artifact the
roles promise is present, non-empty and not truncated, adds the reviewer's score and the consensus rounds,
and writes it all to ``evaluation.json`` in the run folder. It reads the run folder and writes only that file.

Running model-written code is opt-in for runs whose artifacts came from a model (mode ``real`` or ``replay``):
pass ``allow_model_code=True`` (CLI ``--allow-model-code``). Simulated runs' code comes from our own
templates and is evaluated by default.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..agents.roles import ROLES
from ..errors import ConfigError, NotARunError
from ..store.run_folder import ARTIFACTS, MANIFEST, RunFolder, write_json_atomic
from .sandbox import Limits, SandboxResult, run_sandboxed

__all__ = ["EVALUATION", "Evaluation", "evaluate_many", "evaluate_path", "evaluate_run", "find_run_dirs"]

EVALUATION = "evaluation.json"
CODE_AGENT = "developer"
_JUNIT = ".okit-junit.xml"
_IMPORT_CHECK = r"""
import importlib, json, sys, traceback
sys.path.insert(0, "")
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        out[name] = ""
    except BaseException as e:  # report every failure, SystemExit included
        out[name] = "".join(traceback.format_exception_only(type(e), e)).strip()[-500:]
print("OKIT-IMPORTS " + json.dumps(out))
"""


class Evaluation(BaseModel):
    """What one run's output is worth, measured. Code fields are None when not applicable."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    mode: str
    evaluated_at: str
    applicable: bool  # False when the run has no developer code (then code fields are None, not 0)
    not_applicable_reason: str = ""
    modules: int | None = None
    test_files: int | None = None
    lines_of_code: int | None = None
    test_lines: int | None = None
    imports_ok: bool | None = None  # every module imports (the "executability" of the papers)
    import_errors: dict[str, str] = {}
    tests_collected: int | None = None
    tests_passed: int | None = None
    tests_failed: int | None = None
    tests_errors: int | None = None
    tests_skipped: int | None = None
    completeness: float  # share of promised artifacts present, non-empty and not truncated
    missing: list[str] = []
    empty: list[str] = []
    truncated: list[str] = []
    review_score: float | None = None
    consensus_approved: bool | None = None
    design_rounds: int | None = None
    stopped: list[str] = []  # why the sandbox stopped code, in words (limits, timeouts, blocked access)
    isolation: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    duration_s: float = 0.0

    @property
    def pass_rate(self) -> float | None:
        if not self.tests_collected:
            return None
        return (self.tests_passed or 0) / self.tests_collected


def find_run_dirs(path: str | Path) -> list[Path]:
    """A run folder, a folder of run folders, or a sweep folder (its ``runs/`` and any nested run folders)."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise NotARunError(f"{str(p)!r} is not a folder; pass a run folder, a runs folder or a sweep folder")
    if (p / MANIFEST).is_file():
        return [p]
    found = sorted(
        {m.parent for m in p.glob("*/" + MANIFEST)} | {m.parent for m in p.glob("*/*/" + MANIFEST)}
    )
    if not found:
        raise NotARunError(f"no run folders under {str(p)!r} (a run folder has a {MANIFEST})")
    return found


def evaluate_run(
    run_dir: str | Path,
    *,
    allow_model_code: bool = False,
    limits: Limits | None = None,
    isolate: bool | None = None,
    write: bool = True,
) -> Evaluation:
    """Measure one finished run and write ``evaluation.json`` (``write=False``: only return it)."""
    folder = RunFolder.open(run_dir)
    manifest = folder.manifest()
    mode = str(manifest.get("mode", "unknown"))
    state = folder.load_state() or {}
    project = state.get("project_state") or {}
    code = _code_files(folder.path / ARTIFACTS / CODE_AGENT)
    if code and mode != "simulated" and not allow_model_code:
        raise ConfigError(
            f"run {folder.run_id} holds code written by a model (mode {mode!r}); running it is opt-in: "
            "pass allow_model_code=True (CLI: orchestrator-kit evaluate --allow-model-code). It runs in a "
            "sandbox with limits, but no sandbox is perfect: read the code first."
        )
    start = time.monotonic()
    limits = limits or Limits()
    fields: dict[str, Any] = {
        "run_id": folder.run_id,
        "mode": mode,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "limits": limits.__dict__,
        **_completeness(manifest, state, folder.path / ARTIFACTS),
        **_judgement(project, state),
    }
    if not code:
        fields.update(applicable=False, not_applicable_reason="the run has no developer code to evaluate")
    else:
        fields.update(
            applicable=True, **_run_code(folder.path / ARTIFACTS / CODE_AGENT, code, limits, isolate)
        )
    evaluation = Evaluation(**fields, duration_s=round(time.monotonic() - start, 3))
    if write:
        write_json_atomic(folder.path / EVALUATION, evaluation.model_dump(mode="json"))
    return evaluation


def evaluate_path(path: str, options: dict[str, Any]) -> dict[str, Any]:
    """``evaluate_run(path, **options)`` for executors (top-level, picklable; plain data out): an evaluation or the error, as plain data."""
    try:
        return {"path": path, "evaluation": evaluate_run(path, **options).model_dump(mode="json")}
    except (ConfigError, NotARunError, OSError) as e:
        return {"path": path, "error": f"{type(e).__name__}: {e}"}


def evaluate_many(
    paths: Iterable[str | Path], *, executor: Executor | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Evaluate many runs on ``executor`` (local threads by default: each evaluation's work is in its own
    sandboxed subprocesses; a Dask ``Client.get_executor()`` spreads them over a cluster). One entry per
    path, in order: ``{"path", "evaluation"}`` or ``{"path", "error"}``; one failure never stops the rest."""
    items = [str(p) for p in paths]
    own = executor is None
    ex = executor or ThreadPoolExecutor(max_workers=2)
    try:
        futures = [ex.submit(evaluate_path, p, options) for p in items]
        return [f.result() for f in futures]
    finally:
        if own:
            ex.shutdown()


# -- pieces ----------------------------------------------------------------------------------
def _code_files(base: Path) -> list[PurePosixPath]:
    if not base.is_dir():
        return []
    return sorted(
        PurePosixPath(p.relative_to(base).as_posix())
        for p in base.rglob("*.py")
        if p.is_file() and not p.name.startswith(".")
    )


def _is_test(path: PurePosixPath) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"


def _module_name(path: PurePosixPath) -> str | None:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None  # not importable by name (e.g. "my-script.py"): counted, not imported
    return ".".join(parts)


def _loc(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def _run_code(base: Path, code: list[PurePosixPath], limits: Limits, isolate: bool | None) -> dict[str, Any]:
    modules = [p for p in code if not _is_test(p)]
    tests = [p for p in code if _is_test(p) and p.name != "conftest.py"]
    out: dict[str, Any] = {
        "modules": len(modules),
        "test_files": len(tests),
        "lines_of_code": sum(_loc((base / p).read_text("utf-8", "replace")) for p in modules),
        "test_lines": sum(_loc((base / p).read_text("utf-8", "replace")) for p in tests),
    }
    stopped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="okit-eval-") as tmp:
        work = Path(tmp) / "code"
        shutil.copytree(base, work, ignore=shutil.ignore_patterns(".*"))
        names = [n for n in (_module_name(p) for p in modules) if n]
        imp = run_sandboxed(
            ["python", "-I", "-c", _IMPORT_CHECK, *names], work, limits=limits, isolate=isolate
        )
        errors = _import_errors(imp, names)
        out.update(imports_ok=not errors, import_errors=errors, isolation=imp.isolation.__dict__)
        if imp.reason:
            stopped.append(f"import check: {imp.reason}")
        if tests:
            res = run_sandboxed(
                [
                    "python",
                    "-I",
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={_JUNIT}",
                    "-o",
                    "addopts=",
                    *[str(p) for p in tests],
                ],
                work,
                limits=limits,
                isolate=isolate,
                env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            )
            out.update(_junit_counts(work / _JUNIT))
            if res.reason:
                stopped.append(f"tests: {res.reason}")
            elif out["tests_collected"] is None:
                stopped.append(f"tests: pytest wrote no report (exit {res.returncode}): {res.stderr[-300:]}")
        else:
            out.update(tests_collected=0, tests_passed=0, tests_failed=0, tests_errors=0, tests_skipped=0)
    out["stopped"] = stopped
    return out


def _import_errors(res: SandboxResult, names: list[str]) -> dict[str, str]:
    for line in res.stdout.splitlines():
        if line.startswith("OKIT-IMPORTS "):
            return {k: v for k, v in json.loads(line[len("OKIT-IMPORTS ") :]).items() if v}
    why = res.reason or (res.stderr.strip().splitlines() or ["no output"])[-1]
    return dict.fromkeys(names, f"not checked: {why}") or {"*": f"not checked: {why}"}


def _junit_counts(path: Path) -> dict[str, int | None]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        keys = ("tests_collected", "tests_passed", "tests_failed", "tests_errors", "tests_skipped")
        return dict.fromkeys(keys)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    return {
        "tests_collected": n["tests"],
        "tests_passed": n["tests"] - n["failures"] - n["errors"] - n["skipped"],
        "tests_failed": n["failures"],
        "tests_errors": n["errors"],
        "tests_skipped": n["skipped"],
    }


def _completeness(manifest: dict[str, Any], state: dict[str, Any], base: Path) -> dict[str, Any]:
    """Every artifact the planned roles promise: present, non-empty, not truncated."""
    project = state.get("project_state") or {}
    truncated_names = {
        f"{agent}/{a.get('filename')}"
        for agent, arts in (project.get("artifacts") or {}).items()
        for a in arts
        if a.get("truncated")
    }
    missing: list[str] = []
    empty: list[str] = []
    ok = total = 0
    for agent in manifest.get("agents") or []:
        role = ROLES.get(agent)
        if role is None:
            continue
        files = [p for p in (base / agent).rglob("*") if p.is_file()] if (base / agent).is_dir() else []
        for promise in role.produces:
            total += 1
            hits = [p for p in files if _matches(promise, p.name)]
            if not hits:
                missing.append(f"{agent}/{promise}")
            elif all(p.stat().st_size == 0 for p in hits):
                empty.append(f"{agent}/{promise}")
            elif not any(
                f"{agent}/{p.relative_to(base / agent).as_posix()}" in truncated_names for p in hits
            ):
                ok += 1
    return {
        "completeness": round(ok / total, 4) if total else 0.0,
        "missing": missing,
        "empty": empty,
        "truncated": sorted(truncated_names),
    }


def _matches(promise: str, name: str) -> bool:
    if promise == "test_<module>.py":
        return name.endswith(".py") and name.startswith("test_")
    if promise == "<module>.py":
        return name.endswith(".py") and not name.startswith("test_")
    return name == promise


def _judgement(project: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    score = (project.get("scores") or {}).get("reviewer") or {}
    decision = (project.get("decisions") or {}).get("consensus") or {}
    return {
        "review_score": score.get("value"),
        "consensus_approved": decision.get("approved"),
        "design_rounds": project.get("design_round"),
    }
