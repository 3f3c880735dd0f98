"""Named points where a test can stop the process dead (SIGKILL tests).

With ``CONCORD_CRASHPOINT=push.after_call`` (optionally ``name:N`` for the N-th time the point is
passed) the process writes ``CONCORD_CRASHPOINT_FILE`` (if set) and then waits to be killed;
with ``CONCORD_CRASHPOINT_ACTION=kill`` it SIGKILLs itself, and with ``raise`` it raises
:class:`SimulatedCrash` (a BaseException nothing in the engine catches: in-process crash tests).
Free when the variable is unset.

The points (bench/bench_crash.py kills the hub at each of them in turn):

=======================  ==============================================================
``pull.after_page``      a page and its cursor are committed (hub/engine/pull.py)
``process.in_batch``     a map/match/survive batch is done, its transaction still open
``process.after_batch``  a system's staged records of an entity are processed (committed)
``plan.in_batch``        a plan batch is queued in the outbox, its transaction still open
``plan.after_batch``     an entity's plan is committed
``push.before_call``     outbox rows are claimed (``sending``), the write call not yet made
``push.after_call``      the target has the write; its outcome is not recorded yet
``push.after_commit``    the outcome of a write batch is committed
=======================  ==============================================================
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
