"""Small readers of run folders shared by the integration tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_state(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "state.json").read_text(encoding="utf-8"))


def only_run(root: Path) -> Path:
    (run_dir,) = [p for p in root.iterdir() if (p / "manifest.json").is_file()]
    return run_dir


def artifact_bytes(run_dir: Path) -> dict[str, bytes]:
    base = run_dir / "artifacts"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}
