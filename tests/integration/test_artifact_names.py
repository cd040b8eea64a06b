"""Artifact names real models write, end to end: simulated runs named after Windows devices, and
real mode (the real SDK against the fake Messages API) answering with package layouts, then resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.errors import BackendError
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
FAST = RetryConfig(max_attempts=2, initial_delay=0.01, max_delay=0.02)
REQUEST = "Build a CLI that converts CSV files to JSON with validation"


@pytest.mark.parametrize("project_name", ["CON", "nul", "Aux", "com1", "prn", "lpt9"])
def test_simulated_run_named_after_a_device_writes_importable_modules(
    tmp_path: Path, project_name: str
) -> None:
    result = WorkflowEngine(
        mode="simulated", agents=["architect", "developer", "qa"], output_dir=tmp_path / "runs"
    ).run(REQUEST, project_name=project_name)
    assert result.ok
    dev = {a.filename: a for a in result.project_state.artifacts["developer"]}
    module = f"{project_name.lower()}_app"
    assert set(dev) == {f"{module}.py", f"test_{module}.py"}
    assert f"from {module} import" in dev[f"test_{module}.py"].content  # the tests import what was written
    for name, art in dev.items():
        assert (result.run_dir / "artifacts" / "developer" / name).read_text() == art.content
    reloaded = RunResult.load(result.run_dir)  # what resume reads back: the same paths, accepted
    assert {a.filename for a in reloaded.project_state.artifacts["developer"]} == set(dev)


PACKAGE = {
    "pkg/__init__.py": '"""The package."""\n',
    "src/app/main.py": "from pkg import helpers\n",
    "_helpers.py": "def _x():\n    return 1\n",
    "con.py": "# a device name on Windows\n",
    "CON": "plain text\n",
    "pkg/__init__.PY": "# same name as the first on a case-insensitive disk\n",
}
LANDED = {
    "pkg/__init__.py": PACKAGE["pkg/__init__.py"],
    "src/app/main.py": PACKAGE["src/app/main.py"],
    "_helpers.py": PACKAGE["_helpers.py"],
    "con_.py": PACKAGE["con.py"],
    "CON_": PACKAGE["CON"],
    "pkg/__init__-2.PY": PACKAGE["pkg/__init__.PY"],
}


def _role(body: dict[str, Any]) -> str:
    return json.dumps(body.get("system")).split("<role>", 1)[1].split("<", 1)[0]


def _last_user(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(b.get("text", "") for b in content)


class PackageWriter:
    """Answers like the simulated team, except that the developer writes a real package layout,
    and qa fails with HTTP 500 while ``qa_down`` is set."""

    def __init__(self) -> None:
        self.inner = simulated_responder()
        self.qa_down = False

    def __call__(self, body: dict[str, Any]) -> str:
        role = _role(body)
        if role == "qa" and self.qa_down:
            raise RuntimeError("qa is down")
        if role == "developer" and "<step>act</step>" in _last_user(body):
            files = [{"filename": n, "content": c} for n, c in PACKAGE.items()]
            return json.dumps({"summary": "a package", "artifacts": files})
        return self.inner(body)


def test_real_mode_package_layout_lands_as_written_and_survives_resume(tmp_path: Path) -> None:
    writer = PackageWriter()
    writer.qa_down = True
    with FakeAnthropicServer(responder=writer, require_key=KEY) as srv:

        def engine(**kw: Any) -> WorkflowEngine:
            backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
            return WorkflowEngine(backend=backend, output_dir=tmp_path / "runs", **kw)

        with pytest.raises(BackendError):
            engine(agents=["architect", "developer", "qa"]).run(REQUEST, project_name="pkgdemo")
        (run,) = (tmp_path / "runs").iterdir()
        state = json.loads((run / "state.json").read_text())
        assert state["status"] == "failed" and state["steps"]["developer"] == "done"
        on_disk = {
            p.relative_to(run / "artifacts" / "developer").as_posix(): p.read_text()
            for p in (run / "artifacts" / "developer").rglob("*")
            if p.is_file()
        }
        assert on_disk == LANDED

        writer.qa_down = False
        before = srv.count()
        result = WorkflowEngine.for_resume(
            run, backend=AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
        ).resume(run)
        assert result.ok
        assert srv.count() == before + 2  # only qa's plan and act: the developer is not asked again
        dev = {a.filename: a.content for a in result.project_state.artifacts["developer"]}
        assert dev == LANDED  # read back from disk on resume, through the same authority
        qa_prompt = json.dumps(srv.requests[-1].body)
        for name in LANDED:
            assert f'filename=\\"{name}\\"' in qa_prompt  # qa was shown every file under its landed name
