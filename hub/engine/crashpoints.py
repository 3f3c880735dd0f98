"""Named points where a test can stop the process dead (SIGKILL tests).

With ``CONCORD_CRASHPOINT=push.after_call`` (optionally ``name:N`` for the N-th time the point is
passed) the process writes ``CONCORD_CRASHPOINT_FILE`` (if set) and then waits to be killed;
with ``CONCORD_CRASHPOINT_ACTION=kill`` it SIGKILLs itself, and with ``raise`` it raises
:class:`SimulatedCrash` (a BaseException nothing in the engine catches: in-process crash tests).
Free when the variable is unset.
"""
from __future__ import annotations

import os
import signal
import time

_hits: dict[str, int] = {}


class SimulatedCrash(BaseException):
    """The process "dies" here: open transactions roll back, nothing after this point runs."""


def reset() -> None:
    _hits.clear()


def crashpoint(name: str) -> None:
    target = os.environ.get("CONCORD_CRASHPOINT")
    if not target:
        return
    want, _, nth = target.partition(":")
    if want != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if nth and _hits[name] != int(nth):
        return
    marker = os.environ.get("CONCORD_CRASHPOINT_FILE")
    if marker:
        with open(marker, "w") as fh:
            fh.write(f"{name} {os.getpid()}\n")
    action = os.environ.get("CONCORD_CRASHPOINT_ACTION")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise SimulatedCrash(name)
    while True:  # wait for the test's SIGKILL
        time.sleep(1)
