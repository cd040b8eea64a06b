"""Packaging stays honest: the wheel carries prompts, the price table and the notebooks (as data, not their
sources as modules), environment.yml follows pyproject.toml, and CI runs the README's own test command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_environment_yml_installs_the_project_with_every_extra() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip == ["-e .[all]"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(extras) >= {"notebook", "server", "dev", "dask", "bench", "all"}
    assert extras["all"] == ["orchestrator-kit[notebook,server,dev,dask,bench]"]
    assert project["requires-python"] == ">=3.11"
    for dep in project["dependencies"] + [d for k, v in extras.items() if k != "all" for d in v]:
        assert ">=" in dep, f"{dep}: pin a lower bound"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "<!-- quickstart:main -->" in readme and "<!-- quickstart:test -->" in readme
    script = (ROOT / ".ci" / "run").read_text()
    assert "quickstart:test" in script and "README.md" in script
    extracted = subprocess.run(
        [
            "awk",
            "/<!-- quickstart:test -->/{found=1; next} found && /^```/{if (inblock) exit; inblock=1; next} "
            "found && inblock {print}",
            str(ROOT / "README.md"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    command = extracted.stdout.strip()
    assert "pip install" in command and "pytest" in command


def test_env_example_holds_only_a_placeholder() -> None:
    text = (ROOT / ".env.example").read_text()
    assert "ANTHROPIC_API_KEY=sk-ant-api03-your-key-here" in text


def _source_tree(dest: Path) -> Path:
    """A copy of the checkout's files as git sees them (tracked or not ignored): no build/ folder, whose stale
    build/lib (setuptools builds in place) would slip files that are gone from the sources into the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.slow
def test_built_wheel_runs_a_workflow_outside_the_checkout(tmp_path: Path) -> None:
    source = _source_tree(tmp_path / "src")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "orchestrator_kit/prompts/architect.j2",
        "orchestrator_kit/prompts/_base.j2",
        "orchestrator_kit/prompts/simulated/developer_module.py.j2",
        "orchestrator_kit/llm/data/models.json",
    ):
        assert needed in names
    # The notebooks as data (what notebook_path finds), not their percent-format sources as modules.
    shipped = ["__init__.py", "batch.ipynb", "cost_report.ipynb", "grid.yaml", "interactive.ipynb"]
    assert sorted(n for n in names if n.startswith("orchestrator_kit/notebooks/")) == [
        f"orchestrator_kit/notebooks/{n}" for n in [*shipped, "workflow.ipynb"]
    ]
    assert not [n for n in names if "/sources/" in n or n.startswith("notebooks/")]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import orchestrator_kit as ok, pathlib, sys; "
        "assert pathlib.Path(ok.__file__).is_relative_to(sys.argv[1]), ok.__file__; "
        "from orchestrator_kit.notebook_params import notebook_path; "
        "assert notebook_path('batch.ipynb').is_relative_to(sys.argv[1]); "
        "r = ok.run_workflow('A CLI that converts CSV to JSON', mode='simulated', output_dir='runs'); "
        "print(len(r.artifacts))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "9"
