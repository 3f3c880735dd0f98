"""Who holds a claim: this process, named so that another process can tell whether it still lives.

An owner is ``host/pid/start``: the machine, the process id and the process's start time (so a
recycled pid is not taken for the old process). On the same machine a claim of a process that no
longer runs is free at once; a claim from another machine is free when its lease ends.
"""
from __future__ import annotations

import os
import socket
import time
from functools import cache


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where /proc is absent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after the last ')'
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


@cache
def _host() -> str:
    return socket.gethostname()


@cache
def _this_start(pid: int) -> str:
    return _start_time(pid) or f"t{int(time.time())}"


def current_owner() -> str:
    pid = os.getpid()   # not cached: a forked worker is another owner
    return f"{_host()}/{pid}/{_this_start(pid)}"


def owner_of(pid: int) -> str | None:
    """The owner name of a running process on this machine (None if it does not run)."""
    start = _start_time(pid)
    return f"{_host()}/{pid}/{start}" if start else None


def is_alive(owner: str | None) -> bool | None:
    """True: it runs; False: it is gone; None: cannot tell (another machine) — wait for its lease."""
    if not owner:
        return False
    try:
        host, pid_s, start = owner.rsplit("/", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != _host():
        return None
    if pid == os.getpid():
        return start == _this_start(pid)
    now_start = _start_time(pid)
    if now_start is not None:
        return now_start == start
    if os.path.isdir("/proc"):
        return False  # /proc exists but not this pid: gone
    try:  # no /proc (macOS): the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
