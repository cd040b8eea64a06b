"""Run folders: the source of truth of a run.

runs/<run_id>/
  manifest.json        parameters (never secrets), mode, model, hashes, price table version
  state.json           last checkpoint (temp file + rename)
  calls.jsonl          one line per model call attempt (the ledger)
  responses.jsonl      every completion received, keyed by request hash (resume / replay)
  artifacts/<agent>/<file>
  summary.json         totals, written when the run ends (finished or failed)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NotARunError
from ..records import CallRecord, RunSummary
from .artifact_paths import check_relpath
from .atomic import write_text_atomic

MANIFEST, STATE, CALLS, RESPONSES, SUMMARY, ARTIFACTS = (
    "manifest.json",
    "state.json",
    "calls.jsonl",
    "responses.jsonl",
    "summary.json",
    "artifacts",
)
_SECRET = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")
PRIVATE_DIR = 0o700  # a run folder holds prompts and answers: its folders and files are its owner's only
PRIVATE_FILE = 0o600  # (files written atomically are created 0600: write_text_atomic(private=True))


def _private_open(path: str, flags: int) -> int:
    return os.open(path, flags, PRIVATE_FILE)


def redact(text: str) -> str:
    """Replace anything shaped like an Anthropic key. Defence in depth: keys are never passed here."""
    return _SECRET.sub("[redacted-key]", text) if "sk-ant-" in text else text


def new_run_id(now: datetime | None = None) -> str:
    """Sorts by time (UTC, microseconds) and is unique across processes (random suffix)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"


def write_json_atomic(path: Path, data: Any, *, pretty: bool = True) -> None:
    """Write to a temp file, then rename: readers never see half a document.
    ``pretty=False`` (checkpoints) uses the C encoder, several times faster than indenting."""
    if pretty:
        text = redact(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        text = redact(json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")))
    write_text_atomic(path, text + "\n", private=True)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Lines of a JSONL file; a torn last line (killed mid-write) is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def check_output_root(root: Path) -> Path:
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"output folder {str(root)!r} is a file; pass a folder path (e.g. --output runs)")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create output folder {str(root)!r} ({exc.strerror}); choose another"
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ConfigError(
            f"output folder {str(root)!r} is not writable; choose another or fix its permissions"
        )
    return root


class RunFolder:
    """One run's folder. Appends are line-buffered and flushed per line, so a killed
    process loses at most the line it was writing."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, root: Path | str, manifest: dict[str, Any], run_id: str | None = None) -> RunFolder:
        root = check_output_root(Path(root))
        for _ in range(5):
            rid = run_id or new_run_id()
            try:
                (root / rid).mkdir(mode=PRIVATE_DIR)
                break
            except FileExistsError:
                if run_id:
                    raise ConfigError(
                        f"run folder {str(root / rid)!r} already exists; resume it or choose another run id"
                    ) from None
        else:  # pragma: no cover - five random collisions in a row
            raise ConfigError("could not allocate a unique run id; try again")
        folder = cls(root / rid)
        (folder.path / ARTIFACTS).mkdir(mode=PRIVATE_DIR)
        write_json_atomic(folder.path / MANIFEST, {**manifest, "run_id": rid})
        return folder

    @classmethod
    def open(cls, path: Path | str) -> RunFolder:
        p = Path(path).expanduser()
        if not p.is_dir():
            raise NotARunError(f"{str(p)!r} is not a folder; pass a run folder (runs/<run_id>)")
        if not (p / MANIFEST).is_file():
            raise NotARunError(
                f"{str(p)!r} is not a run folder (no {MANIFEST}); "
                "pass a folder created by a run, e.g. runs/<run_id>"
            )
        return cls(p)

    # -- json documents --------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return _read_json(self.path / MANIFEST)

    def update_manifest(self, **changes: Any) -> None:
        write_json_atomic(self.path / MANIFEST, {**self.manifest(), **changes})

    def save_state(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.path / STATE, state, pretty=False)

    def load_state(self) -> dict[str, Any] | None:
        p = self.path / STATE
        return _read_json(p) if p.exists() else None

    def write_summary(self, summary: RunSummary) -> None:
        write_json_atomic(self.path / SUMMARY, summary.to_json())

    def summary(self) -> RunSummary | None:
        p = self.path / SUMMARY
        return RunSummary.model_validate(_read_json(p)) if p.exists() else None

    # -- append-only logs ----------------------------------------------------------------
    def _append(self, name: str, record: dict[str, Any]) -> None:
        line = redact(json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":")))
        data = (line + "\n").encode("utf-8")
        with self._lock, open(self.path / name, "a+b", opener=_private_open) as f:
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":  # a torn line left by a killed process: start a fresh line
                    data = b"\n" + data
            f.write(data)

    def append_call(self, record: CallRecord) -> None:
        self._append(CALLS, record.to_json())

    def append_response(self, record: dict[str, Any]) -> None:
        self._append(RESPONSES, record)

    def calls(self) -> list[CallRecord]:
        """The ledger, oldest first (lines of older versions read too; a torn last line is skipped)."""
        return [CallRecord.model_validate(line) for line in read_jsonl(self.path / CALLS)]

    def responses(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / RESPONSES)

    # -- artifacts ---------------------------------------------------------------------------
    def artifact_path(self, agent: str, filename: str) -> Path:
        """The path an artifact is written to. ``filename`` must already be where an artifact lands
        (``artifact_paths.artifact_relpath`` leaves it unchanged); anything else is refused."""
        if "/" in agent or "\\" in agent:
            raise ConfigError(
                f"unsafe artifact folder {agent!r}; an agent id is one name such as 'developer'"
            )
        check_relpath(agent, "artifact folder")
        check_relpath(filename)
        base = (self.path / ARTIFACTS).resolve()
        target = base.joinpath(agent, *filename.split("/")).resolve()
        if base not in target.parents:
            raise ConfigError(f"artifact path {filename!r} escapes the run folder")
        return target

    def write_artifact(self, agent: str, filename: str, content: str) -> str:
        target = self.artifact_path(agent, filename)
        target.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        write_text_atomic(target, redact(content), private=True)
        return target.relative_to(self.path.resolve()).as_posix()

    def artifact_files(self) -> list[Path]:
        base = self.path / ARTIFACTS
        return sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))
