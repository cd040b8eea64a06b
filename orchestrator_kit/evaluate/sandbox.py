"""Run model-written code where it cannot hurt: a throwaway folder, limits, no secrets, no network.

Every command runs as ``python -I _boot.py LIMITS -- ARGV`` in a fresh process group:

- the environment is rebuilt from scratch (PATH, HOME and TMPDIR in the sandbox folder, a locale):
  no API key or any other variable of ours reaches the code;
- ``_boot.py`` sets resource limits (CPU seconds, address space, file size, open files, processes, no core
  files) and then ``exec``s the command, so the limits bind the code and everything it starts;
- a wall-clock timeout kills the whole process group;
- where the kernel allows unprivileged namespaces (probed once), ``unshare`` adds a user, mount, PID and
  network namespace: the network is down, every filesystem except the sandbox folder is read-only, the
  process limit is enforced even for root, and killing the sandbox kills every process it started.
  Where they are not available the result says so (``isolation``), never silently.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Isolation", "Limits", "SandboxResult", "isolation_available", "run_sandboxed"]

_BOOT = Path(__file__).with_name("_boot.py")
_OUTPUT_CAP = 64_000  # characters of stdout/stderr kept per command

# Inside the namespaces: keep the sandbox folder writable, make every other mount read-only, then run.
_NS_SCRIPT = r"""
set -e
work="$1"; shift
mount --bind "$work" "$work"
awk '{print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
  case "$m" in "$work"|"$work"/*|/proc|/proc/*) continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
cd "$work"
exec "$@"
"""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use. Sizes in bytes, times in seconds."""

    cpu_s: int = 30
    wall_s: float = 60.0
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    processes: int = 32
    open_files: int = 256


@dataclass(frozen=True)
class Isolation:
    """Which protections were in force for a command; the results say so whatever the answer."""

    namespaces: bool
    network_isolated: bool
    filesystem_read_only: bool
    process_limit_enforced: bool
    note: str = ""


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    reason: str = ""  # why the command was stopped, in words; "" when it ended by itself
    isolation: Isolation = field(default_factory=lambda: Isolation(False, False, False, False, "not started"))

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_NS_ARGV = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid", "--fork", "--mount-proc"]


@functools.cache
def isolation_available() -> bool:
    """Whether this kernel lets us create the user, mount, PID and network namespaces (probed once)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(
            [*_NS_ARGV, "sh", "-c", "mount -o remount,bind,ro / && true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _isolation(use_namespaces: bool) -> Isolation:
    if use_namespaces:
        return Isolation(True, True, True, True, "user, mount, PID and network namespaces")
    root = os.geteuid() == 0
    return Isolation(
        False,
        False,
        False,
        not root,  # RLIMIT_NPROC does not bind uid 0; inside namespaces the boot's watchdog does
        "namespaces unavailable here: the network is reachable and files outside the sandbox folder are "
        "writable by the code" + ("; as root the process limit is not enforced" if root else ""),
    )


def _clean_env(workdir: Path) -> dict[str, str]:
    tmp = workdir / ".tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": os.defpath,
        "HOME": str(workdir),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
    }


_SIGNAL_LINE = "sandbox: the code was ended by signal "  # the same lines as _boot.py writes
_PROCS_LINE = "sandbox: process limit exceeded"


def _reason(returncode: int | None, timed_out: bool, stderr: str, limits: Limits) -> str:
    """Why the code stopped, in words; "" when it ended by itself (even with an error of its own)."""
    hit_procs = any(s in stderr for s in (_PROCS_LINE, "BlockingIOError", "Resource temporarily unavailable"))
    if timed_out:
        extra = f"; the process limit ({limits.processes}) was reached first" if hit_procs else ""
        return f"wall-clock timeout after {limits.wall_s:g} s{extra}"
    sig = 0
    if _SIGNAL_LINE in stderr:
        sig = int(stderr.rsplit(_SIGNAL_LINE, 1)[1].split(maxsplit=1)[0])
    elif returncode is not None and returncode < 0:
        sig = -returncode
    if _PROCS_LINE in stderr:
        return f"process limit ({limits.processes}) reached: every process of the code was ended"
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and "CPU" in stderr):
        return f"CPU-time limit ({limits.cpu_s} s) reached"
    if sig == signal.SIGXFSZ or "File too large" in stderr:
        return f"file-size limit ({limits.file_bytes:,} bytes) reached"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return f"memory limit ({limits.memory_bytes:,} bytes) reached"
    if hit_procs:
        return f"process limit ({limits.processes}) reached"
    if "Network is unreachable" in stderr:
        return "network access blocked (no network in the sandbox)"
    if "Read-only file system" in stderr:
        return "write outside the sandbox folder blocked (read-only file system)"
    if sig:
        return f"ended by signal {signal.Signals(sig).name}"
    return ""


def run_sandboxed(
    argv: list[str],
    workdir: str | Path,
    *,
    limits: Limits | None = None,
    isolate: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run ``argv`` (e.g. ``["python", "-m", "pytest"]``; "python" means this interpreter) in ``workdir``.

    ``isolate=None`` uses namespaces when available; False never does (the result says so). ``env`` adds
    variables to the clean environment (never pass secrets: the code can read them).
    """
    limits = limits or Limits()
    work = Path(workdir).resolve()
    use_ns = isolation_available() if isolate is None else (isolate and isolation_available())
    exe = [sys.executable if a == "python" else a for a in argv]
    cmd = [
        sys.executable,
        "-I",
        str(_BOOT),
        json.dumps(
            {
                "cpu_s": limits.cpu_s,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "processes": limits.processes,
                "open_files": limits.open_files,
            }
        ),
        "--",
        *exe,
    ]
    if use_ns:
        cmd = [*_NS_ARGV, "sh", "-c", _NS_SCRIPT, "sandbox", str(work), *cmd]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env={**_clean_env(work), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=limits.wall_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # pragma: no cover - defensive: never leave the group running
            _kill_group(proc)
            proc.wait()
    stdout = out.decode("utf-8", "replace")[-_OUTPUT_CAP:]
    stderr = err.decode("utf-8", "replace")[-_OUTPUT_CAP:]
    rc = None if timed_out else proc.returncode
    return SandboxResult(
        returncode=rc,
        stdout=stdout,
        stderr=stderr,
        duration_s=round(time.monotonic() - start, 3),
        timed_out=timed_out,
        reason=_reason(rc, timed_out, stderr, limits),
        isolation=_isolation(use_ns),
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
