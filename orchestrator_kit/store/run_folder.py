"""Run folders: the source of truth of a run.

runs/<run_id>/
  manifest.json        parameters (never secrets), mode, model, hashes, price table version
  checkpoints.jsonl    while the run is in flight: one line per checkpoint (see store/state_log.py)
  state.json           the last checkpoint once the run stopped (the log compacted: temp file + rename)
  calls.jsonl          one line per model call attempt (the ledger)
  responses.jsonl      every completion received, keyed by request hash (resume / replay); a long text
                       (system block, turn, answer) is written once per writer, then referred to
                       (store/response_texts.py; read back in full by ``responses()``)
  artifacts/<agent>/<file>
  summary.json         totals, written when the run ends (finished or failed)

What survives ``kill -9``: every line appended (ledger, responses, checkpoints) is one ``os.write`` that
returned, so it is in the operating system's cache; documents are replaced by rename. Nothing is
``fsync``-ed: a power cut or kernel crash may lose the last writes (the same as before the log).
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

from ..errors import ConfigError, DamagedRun, NotARunError
from ..records import CallRecord, RunSummary
from . import json_bytes, state_log
from .append_files import APPENDS
from .artifact_dirs import ArtifactDirs
from .artifact_paths import check_relpath
from .atomic import write_bytes_atomic
from .response_texts import TextWriter, expand

MANIFEST, STATE, STATE_LOG, CALLS, RESPONSES, SUMMARY, ARTIFACTS = (
    "manifest.json",
    "state.json",
    "checkpoints.jsonl",
    "calls.jsonl",
    "responses.jsonl",
    "summary.json",
    "artifacts",
)
IN_FLIGHT_STATUS = "running"  # checkpoints with this status go to the log; any other compacts it
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
_SECRET = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")
PRIVATE_DIR = 0o700  # a run folder holds prompts and answers: its folders and files are its owner's only
PRIVATE_FILE = 0o600  # (files written atomically are created 0600: write_text_atomic(private=True))


def redact(text: str) -> str:
    """Replace anything shaped like an Anthropic key. Defence in depth: keys are never passed here."""
    return _SECRET.sub("[redacted-key]", text) if "sk-ant-" in text else text


def new_run_id(now: datetime | None = None) -> str:
    """Sorts by time (UTC, microseconds) and is unique across processes (random suffix)."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` of UTF-8 bytes (decoded only when something key-shaped may be there)."""
    return redact(data.decode("utf-8")).encode("utf-8") if b"sk-ant-" in data else data


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, pretty: bool = True) -> None:
    """Write to a temp file, then rename: readers never see half a document.
    ``pretty=False`` (checkpoints, indexes) writes one compact line."""
    raw = json_bytes.document(data) if pretty else json_bytes.compact_document(data) + b"\n"
    write_bytes_atomic(path, redact_bytes(raw), private=True)


def _write_new(path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` if no file is there (a new one, 0600); False if one exists."""
    try:
        fd = os.open(path, _NEW_FILE, PRIVATE_FILE)
    except FileExistsError:
        return False
    _fill_new(fd, path, data)
    return True


def _fill_new(fd: int, path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``fd``, a file just created at ``path``, and close it; removed if that fails."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_document(path: Path, fix: str) -> dict[str, Any] | None:
    """A run's JSON document (an object), None if the file is missing, or DamagedRun naming it (by its
    run folder's name, never the whole path) and ``fix``."""
    where = f"{path.name} of run {path.parent.name}"
    try:
        doc = _read_json(path)
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedRun(f"{where} is damaged: it is not valid JSON ({exc}); {fix}") from None
    if type(doc) is not dict:
        raise DamagedRun(f"{where} is damaged: it holds a {type(doc).__name__}, not an object; {fix}")
    return doc


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Lines of a JSONL file; a torn last line (killed mid-write) is skipped."""
    if not path.exists():
        return []
    return _jsonl_lines(path.read_text(encoding="utf-8", errors="replace"))


def read_responses(path: Path) -> list[dict[str, Any]]:
    """A ``responses.jsonl`` (or recording file) as full records: see store/response_texts.py."""
    return expand(read_jsonl(path), str(path))


def _jsonl_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.split("\n"):  # not splitlines(): U+0085 and U+2028 in a text are not line ends
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if type(record) is dict:  # a line that is not an object is no record (a file of another kind)
                out.append(record)
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
    """One run's folder. Each appended line is written to the OS at once (no buffer), so a killed
    process loses at most the line it was writing. One writer per run folder at a time: the append
    handles lock the logs while they are open (store/append_files.py), another process gets Conflict."""

    __slots__ = (
        "_agents",
        "_base",
        "_dir",
        "_dirs",
        "_last_state",
        "_ledger",
        "_ledger_size",
        "_lock",
        "_log_n",
        "_logs",
        "_texts",
        "path",
    )

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._dir = base = str(self.path)
        self._lock = threading.Lock()
        self._last_state: dict[str, Any] | None = None  # what this writer's last log line left
        self._log_n = 0
        self._base: Path | None = None  # artifacts/, resolved once (readers: artifact_path)
        self._dirs = ArtifactDirs(f"{base}{os.sep}{ARTIFACTS}", PRIVATE_DIR)  # folders written to
        self._agents: dict[str, None] = {}  # agent folder names checked by write_artifact (untracked by gc)
        # The ledger as this object last read or wrote it, and the file size it had then: ``calls()``
        # returns it without reading the file again unless the file changed since (another writer).
        self._ledger: list[CallRecord] | None = None
        self._ledger_size = -1
        self._logs = {n: f"{base}{os.sep}{n}" for n in (STATE_LOG, CALLS, RESPONSES)}  # append pool keys
        self._texts: TextWriter | None = None  # long texts this object wrote to responses.jsonl

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, root: Path | str, manifest: dict[str, Any], run_id: str | None = None) -> RunFolder:
        root = os.path.expanduser(root)  # paths as str here: a Path costs microseconds per join
        checked, collisions = False, 0
        while True:
            rid = run_id or new_run_id()
            path = os.path.join(root, rid)
            try:
                os.mkdir(path, PRIVATE_DIR)
                break
            except FileExistsError:
                if run_id:
                    raise ConfigError(
                        f"run folder {path!r} already exists; resume it or choose another run id"
                    ) from None
                collisions += 1
                if collisions == 5:  # pragma: no cover - five random collisions in a row
                    raise ConfigError("could not allocate a unique run id; try again") from None
            except (
                OSError
            ):  # the output folder is missing (made here), a file or not writable (a clear error)
                if checked:
                    raise
                root, checked = str(check_output_root(Path(root))), True
        folder = cls(path)
        folder._ledger, folder._ledger_size = [], 0  # a new folder's ledger is empty
        if run_id:  # a handle left on a deleted folder of the same name (a new random id has none)
            APPENDS.close_under(folder._dir)  # the pool's keys: normalised by Path ("./runs" is "runs")
        folder._dirs.folder("")  # artifacts/, made
        folder._write_manifest({**manifest, "run_id": rid})
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
        """``manifest.json``, read from the file (a new dict each time). A run's engine keeps what it
        needs of it; a folder object holds none (a thousand runs in flight would each hold the nested
        dicts and lists of one, for the garbage collector to scan)."""
        manifest = _read_document(
            self.path / MANIFEST,
            "restore it from a backup; without it the run cannot be resumed, start a new one",
        )
        if manifest is None:
            raise NotARunError(f"{str(self.path)!r} is not a run folder (no {MANIFEST})")
        return manifest

    def update_manifest(self, **changes: Any) -> None:
        self._write_manifest({**self.manifest(), **changes})

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(f"{self._dir}{os.sep}{MANIFEST}", manifest)

    def save_state(self, state: dict[str, Any]) -> None:
        """Checkpoint ``state`` (do not change it afterwards). In flight (status ``running``) it is one
        line appended to the checkpoint log; any other status ends the run: the log is compacted to
        ``state.json`` (atomically) and removed, so a stopped run's folder has ``state.json`` only."""
        with self._lock:
            if state.get("status") == IN_FLIGHT_STATUS:
                self._log(state)
                return
            log = self.path / STATE_LOG
            logged = self._last_state is not None or log.exists()
            if logged:
                self._log(state)  # so that a kill before the log is removed cannot leave it stale
            # the log's last line, compacted: encoded as the log's lines are (json_bytes.line). While the
            # log is there, readers take the state from it, so a state.json that did not exist is written
            # in place (no temp file, no rename): a torn one (a kill) is replaced by the next compaction.
            data = redact_bytes(json_bytes.line(state) + b"\n")
            target = f"{self._dir}{os.sep}{STATE}"
            if not (logged and _write_new(target, data)):
                write_bytes_atomic(target, data, private=True)
            self.close()
            log.unlink(missing_ok=True)
            self._last_state = None

    def _log(self, state: dict[str, Any]) -> None:
        last = self._last_state
        if last is None:
            record: dict[str, Any] = {"n": 0, "full": state}
            self._log_n = 0
        else:
            changed, dropped = state_log.diff(last, state)
            self._log_n += 1
            record = {"n": self._log_n, "set": changed}
            if dropped:
                record["drop"] = dropped
        self._last_state = None  # a failed append starts the log afresh with a full line
        self._append(STATE_LOG, record)
        self._last_state = state

    def load_state(self) -> dict[str, Any] | None:
        """The run's last checkpoint: the fold of its checkpoint log while it is in flight (or was
        killed), else ``state.json`` (older folders have only that). None if neither exists.
        Every reader of a run's state goes through here."""
        try:
            doc = state_log.fold((self.path / STATE_LOG).read_bytes())
        except FileNotFoundError:
            doc = None
        if doc is not None:
            return doc
        return _read_document(
            self.path / STATE,
            "restore it from a backup, or delete it to let resume start the run's agents again",
        )

    def close(self) -> None:
        """Close this folder's open append handles (the run stopped; a later append reopens)."""
        APPENDS.close(*self._logs.values())

    def write_summary(self, summary: RunSummary) -> None:
        write_json_atomic(f"{self._dir}{os.sep}{SUMMARY}", summary.to_json())

    def summary(self) -> RunSummary | None:
        p = self.path / SUMMARY
        return RunSummary.model_validate(_read_json(p)) if p.exists() else None

    # -- append-only logs ----------------------------------------------------------------
    def _append(self, name: str, record: dict[str, Any]) -> None:
        """Append ``record`` as one line (encoded with its newline: not copied again to add it)."""
        APPENDS.append(self._logs[name], redact_bytes(json_bytes.line(record, newline=True)))

    def _append_line(self, name: str, line: bytes) -> tuple[bytes, int, int]:
        """Append ``line`` (no newline yet); returns it (redacted) and the file's size before/after."""
        line = redact_bytes(line)
        before, after = APPENDS.append(self._logs[name], line + b"\n")
        return line, before, after

    def append_call(self, record: CallRecord) -> CallRecord:
        """Append a ledger line; returns the record as written (the same one unless redacted)."""
        try:
            raw = record.to_json_bytes()
        except ValueError:  # text pydantic cannot encode (a lone surrogate): json_bytes writes its escape
            raw = json_bytes.line(record.to_json())
        line, before, after = self._append_line(CALLS, raw)
        if b"[redacted-key]" in line:
            record = CallRecord.model_validate_json(line)
        if self._ledger is not None and before == self._ledger_size:
            self._ledger.append(record)
            self._ledger_size = after
        else:
            self._ledger = None  # someone else wrote too: read the file next time
        return record

    def append_response(self, record: dict[str, Any]) -> None:
        """Append a completion's record (``recording_record``); long texts this object already wrote
        are referred to, not repeated (store/response_texts.py). Do not change ``record`` afterwards."""
        texts = self._texts
        if texts is None:
            texts = self._texts = TextWriter()
        line, fresh = texts.compact(record)
        self._append(RESPONSES, line)
        if fresh:
            texts.written(fresh)  # only now: a failed append leaves nothing to refer to

    def calls(self) -> list[CallRecord]:
        """The ledger, oldest first (lines of older versions read too; a torn last line is skipped).
        Read from the file unless it is exactly as this object last read or wrote it."""
        path = self.path / CALLS
        size = APPENDS.held_size(self._logs[CALLS])  # while this process holds the ledger, no stat
        if size is None:
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                size = 0
        if self._ledger is None or size != self._ledger_size:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                data = b""
            lines = _jsonl_lines(data.decode("utf-8", errors="replace"))
            self._ledger = [CallRecord.model_validate(line) for line in lines]
            self._ledger_size = len(data)
        return list(self._ledger)

    def responses(self) -> list[dict[str, Any]]:
        """Every completion record, in full (references to earlier texts resolved; torn lines skipped)."""
        return read_responses(self.path / RESPONSES)

    # -- artifacts ---------------------------------------------------------------------------
    def artifact_path(self, agent: str, filename: str) -> Path:
        """The path an artifact is written to. ``filename`` must already be where an artifact lands
        (``artifact_paths.artifact_relpath`` leaves it unchanged); anything else is refused."""
        self._check_agent(agent)
        check_relpath(filename)
        base = self._artifacts_base()
        target = base.joinpath(agent, *filename.split("/")).resolve()
        if base not in target.parents:
            raise ConfigError(f"artifact path {filename!r} escapes the run folder")
        return target

    @staticmethod
    def _check_agent(agent: str) -> None:
        if "/" in agent or "\\" in agent:
            raise ConfigError(
                f"unsafe artifact folder {agent!r}; an agent id is one name such as 'developer'"
            )
        check_relpath(agent, "artifact folder")

    def _artifacts_base(self) -> Path:
        """``artifacts/`` resolved (once, when the folder's path is absolute: it cannot move then)."""
        if self._base is not None:
            return self._base
        base = (self.path / ARTIFACTS).resolve()
        if self.path.is_absolute():
            self._base = base
        return base

    def write_artifact(self, agent: str, filename: str, content: str) -> str:
        """Write an artifact; returns its path relative to the run folder. A new file is written in
        place (one create, no rename: the checkpoint naming it comes after, so a file torn by a kill is
        never named done, and resume writes it again); an existing one (a step revised or resumed) is
        replaced atomically, so it is never half old, half new. Names are checked as by
        :meth:`artifact_path`; folders with one ``lstat`` each (``artifact_dirs``)."""
        if agent not in self._agents:  # agent names are few: each is checked once per writer
            self._check_agent(agent)
            self._agents[agent] = None
        check_relpath(filename)
        data = redact(content).encode("utf-8")  # fails (e.g. a lone surrogate) before anything is written
        rel = f"{agent}/{filename}"
        folder, _, name = rel.rpartition("/")
        target, fd = self._create(folder, name)
        if fd is None:
            write_bytes_atomic(target, data, private=True)
        else:
            _fill_new(fd, target, data)
        return f"{ARTIFACTS}/{rel}"

    def _create(self, folder: str, name: str) -> tuple[str, int | None]:
        """(the artifact's path, a descriptor of the file created new, or None when it exists)."""
        for again in (True, False):
            target = f"{self._dirs.folder(folder)}/{name}"  # its folders checked (made if missing)
            try:
                return target, os.open(target, _NEW_FILE, PRIVATE_FILE)
            except FileExistsError:
                return target, None
            except FileNotFoundError:  # a folder removed between its check and the create: once more
                if not again:
                    raise
        raise AssertionError("unreachable")

    def artifact_files(self) -> list[Path]:
        base = self.path / ARTIFACTS
        return sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))
