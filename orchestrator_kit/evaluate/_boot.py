"""Sandbox boot: set resource limits, run the command as a child, watch it, report how it ended.

Run as ``python -I _boot.py LIMITS -- ARGV``. Standalone on purpose (stdlib only, no package imports): it runs
under ``-I`` in the sandbox folder. It stays the parent of the code (PID 1 inside a PID namespace, where a
signal that ends the code would otherwise be lost) and exits ``128 + N`` with a line on stderr when signal N
ended it. Inside a PID namespace it also counts the namespace's processes (its own ``/proc``) and ends them
all when there are more than allowed: RLIMIT_NPROC does not bind uid 0, so this is what stops a fork bomb
when the toolkit runs as root.
"""

import contextlib
import json
import os
import resource
import signal
import sys
import time

SIGNAL_LINE = "sandbox: the code was ended by signal "
PROCS_LINE = "sandbox: process limit exceeded"


def _count_processes(uid: int | None = None) -> int:
    """Processes in /proc (all of them, or those of ``uid``)."""
    n = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):  # a process that ended while we looked
                n += uid is None or os.stat(f"/proc/{name}").st_uid == uid
    return n


def main() -> None:
    limits = json.loads(sys.argv[1])
    argv = sys.argv[3:]  # sys.argv[2] is "--"
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    watch = os.getpid() == 1  # PID 1 of our own namespace: /proc lists only the sandbox's processes
    # RLIMIT_NPROC counts every process of the user, so allow what the user already runs plus the limit.
    nproc = limits["processes"] + (0 if watch else _count_processes(os.getuid()))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    status = 0
    while True:  # reap everything the code leaves behind until our child ends
        done, st = os.waitpid(-1, os.WNOHANG if watch else 0)
        if done == pid:
            status = st
            break
        if watch and done == 0:
            if _count_processes() > limits["processes"] + 1:  # +1: this boot process
                os.kill(-1, signal.SIGKILL)  # from PID 1: every other process of the namespace
                sys.stderr.write(f"\n{PROCS_LINE} ({limits['processes']})\n")
                sys.exit(128 + signal.SIGKILL)
            time.sleep(0.005)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        sys.stderr.write(f"\n{SIGNAL_LINE}{sig}\n")
        sys.exit(128 + sig)
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
