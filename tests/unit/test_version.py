"""The version is defined once, in ``orchestrator_kit/__init__.py``: the build reads it from there
(pyproject's dynamic version), and every place that shows it (CLI --version, the server's OpenAPI document,
the run manifest) uses ``orchestrator_kit.__version__``."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
import warnings
from pathlib import Path

import pytest

import orchestrator_kit
from orchestrator_kit import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "orchestrator_kit"


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "pyproject.toml must not hold a second copy of the version"
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "orchestrator_kit.__version__"}


def test_the_build_resolves_the_same_version() -> None:
    from setuptools.config.pyprojecttoml import read_configuration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] "beta"
        config = read_configuration(ROOT / "pyproject.toml", expand=True)
    assert config["project"]["version"] == __version__


def test_the_installed_metadata_agrees() -> None:
    assert importlib.metadata.version("orchestrator-kit") == __version__


def test_no_other_module_writes_the_version_out() -> None:
    literal = re.compile(rf"""["']{re.escape(__version__)}["']""")
    init = Path(orchestrator_kit.__file__).resolve()
    copies = [
        str(p.relative_to(ROOT))
        for p in [*sorted(PACKAGE.rglob("*.py")), ROOT / "pyproject.toml"]
        if p.resolve() != init and literal.search(p.read_text(encoding="utf-8"))
    ]
    assert not copies, f"use orchestrator_kit.__version__ instead of a copy in {copies}"
    assert literal.search(init.read_text(encoding="utf-8"))  # the scan sees the one definition


def test_the_cli_and_the_server_show_the_one_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from orchestrator_kit.cli import main
    from orchestrator_kit.server.app import create_app
    from orchestrator_kit.server.settings import ServerSettings

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"orchestrator-kit {__version__}"
    app = create_app(ServerSettings(data_dir=tmp_path / "data", token="test-token-fake-server"))
    assert app.openapi()["info"]["version"] == __version__
