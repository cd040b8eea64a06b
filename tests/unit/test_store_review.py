"""Artifact folders removed or replaced while a writer runs (review of #12): made again, as before
folders are made once per writer."""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestrator_kit.store.run_folder import RunFolder


def test_an_agent_folder_removed_mid_run_is_made_again(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path, {"mode": "simulated"})
    folder.write_artifact("developer", "src/app.py", "one")
    shutil.rmtree(folder.path / "artifacts" / "developer")
    assert folder.write_artifact("developer", "src/app.py", "two") == "artifacts/developer/src/app.py"
    assert (folder.path / "artifacts" / "developer" / "src" / "app.py").read_text() == "two"
