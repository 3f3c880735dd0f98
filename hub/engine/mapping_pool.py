"""Map staged records and compute their match keys in worker processes, ahead of the batch that needs them.

Mapping (value maps, phone and country parsing, validation into the canonical model), match keys and
their hashes, and the decision a record gets when no golden record is a candidate (with the id of the
golden record it then starts) are pure functions of a staged record's payload; together they are about
a third of what processing a record costs. Everything else a batch does (candidates, decisions, survivorship, the
warehouse writes) depends on the warehouse and stays in the process that holds the transaction.

While that process works on one batch, a worker maps the next ones: the batch's rows are read ahead
(``batch_size`` at a time, up to ``AHEAD`` batches) with their payloads as the stored JSON text, which
the worker decodes (the transaction's process neither decodes nor pickles them a second time), and the
results come back as :class:`Prepared` per record. When the batch's turn comes, its rows are read
again inside its own transaction, as always (without their payloads: only the records the worker did not
map read theirs, and the one compared below), and a prepared result is used only for a row whose
payload hash is the one of the payload the worker mapped: a record restaged in between (a concurrent
pull) is mapped again in place. What the
worker gives is exactly what the process would compute (same code, same project files); to make sure,
the first record of every batch is also mapped in place and compared, and any difference (a project
file edited during the run, an environment the worker does not share) closes the pool for the rest of
the stream, with a warning. A record the worker could not map is mapped in place too, so its error
(and quarantine) is the one the engine always gives.

The pool is used only where it pays and is safe:

* the mapping looks up no other entity (a contact's account): lookups read the warehouse, inside the
  batch's transaction;
* the project was loaded from a file (the worker loads the same file);
* ``map_workers`` in concord.yaml: ``auto`` (the default) starts one worker per spare core (at most
  ``MAX_WORKERS``) when a stream has at least ``AUTO_MIN_RECORDS`` pending records; a number starts
  that many workers for any stream; ``0`` never does.

The workers belong to the run (:class:`MappingWorkers`, held by the ``RunContext``): started when the
first stream needs them, they serve every stream and round after it, each worker compiling a stream's
mapping and rules on its first batch. Once they are running (``auto``), any stream of more than one
batch uses them, for it pays no start-up. They stop when the run's context is closed.

A worker holds nothing but the compiled project: it writes nothing, so a crash of either process
changes nothing of what the warehouse holds (the batch's transaction is the unit, as before). A worker
whose parent is killed notices within half a second and exits.

Workers are started with ``spawn``: a program that runs the engine from its own script needs Python's
``if __name__ == "__main__":`` guard around its entry point (the ``concord`` command, pytest and
Prefect's runners have it), or ``map_workers: 0``.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple

from concord.hub.config.loader import Project, load_project
from concord.hub.engine.util import golden_id_for
from concord.hub.matching import Decision, RuleMatcher
from concord.hub.warehouse import jsoncodec
from concord.hub.warehouse.stores import match_keys
from concord.hub.warehouse.stores.staged import PendingText

log = logging.getLogger("concord.process")

AUTO_MIN_RECORDS = 5_000     # pending records of a stream before ``auto`` starts a worker (start-up ~1 s)
MAX_WORKERS = 2              # the process holding the transaction is the bottleneck beyond this
AHEAD = 2                    # batches mapped ahead of the one being processed
WAIT_S = 120                 # a worker that takes longer for one batch is taken as stuck: map in place
PARENT_POLL_S = 0.5          # how often a worker checks that the process it works for is alive


class Prepared(NamedTuple):
    """One record as the worker mapped it: the flat canonical record, its match keys (empty when the pool
    was asked for hashes only: an initial load looks no candidate up) and their hashes, the evidence of the
    decision the rules give it with no candidate (a new golden record) and the id of that golden record.

    A named tuple of plain values: a batch of them pickles in a third of the time dataclasses take."""

    canon: dict[str, Any]
    keys: tuple[tuple[str, str], ...]
    hashes: tuple[int, ...]
    new_evidence: dict[str, Any]
    golden_id: str

    @property
    def alone(self) -> Decision:
        """The decision with no candidate (``RuleMatcher.decide(canon, ())``)."""
        return Decision("new", None, None, None, self.new_evidence)


# ---- the worker's side ----------------------------------------------------------------------------
_project: Project | None = None
_streams: dict[tuple[str, str], tuple[Any, RuleMatcher]] = {}


def _init(project_file: str, parent: int) -> None:
    global _project
    threading.Thread(target=_exit_with, args=(parent,), name="concord-parent-watch", daemon=True).start()
    _project = load_project(project_file, check_connectors=False)
    _streams.clear()


def _exit_with(parent: int) -> None:
    """End this worker when the process that started it is gone (a SIGKILL leaves no one to shut the pool
    down, and the worker holds both ends of its own queue, so it would wait for work forever)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def _stream(entity: str, system: str) -> tuple[Any, RuleMatcher]:
    """The compiled mapping and the matcher of one stream (compiled once per worker)."""
    assert _project is not None, "the worker was not initialised"
    got = _streams.get((entity, system))
    if got is None:
        got = _streams[(entity, system)] = (_project.mapping(entity, system),
                                            RuleMatcher(_project.config.entities[entity].match))
    return got


def _ready() -> int:
    """Nothing: a worker answering it has started and loaded the project."""
    return os.getpid()


def _prepare(entity: str, system: str, items: Sequence[tuple[str, str]], with_keys: bool) -> dict[str, Prepared]:
    """source id -> Prepared for every record (source id, payload as JSON text) of a stream that maps;
    records that fail are left to the caller.

    Field names are interned, so a batch's results carry each name once (pickle refers back to it)."""
    mapping, matcher = _stream(entity, system)
    intern = sys.intern
    out: dict[str, Prepared] = {}
    for sid, text in items:
        try:
            canon = mapping.to_canonical_flat(jsoncodec.loads(text))
        except Exception:  # noqa: BLE001 - mapped again in place, where the error gets its record and quarantine
            continue
        keys, alone = matcher.keys_alone(canon)
        out[sid] = Prepared({intern(k): v for k, v in canon.items()}, tuple(keys) if with_keys else (),
                            match_keys.hash_keys(keys), alone.evidence, golden_id_for(entity, system, sid))
    return out


# ---- the transaction's side ------------------------------------------------------------------------
def workers_for(project: Project, entity: str, system: str, pending: int, *, warm: bool = False) -> int:
    """How many workers a stream with ``pending`` records gets (0: map in place). ``warm``: the run's
    workers are running already (no start-up to pay): ``auto`` uses them for any stream of more than one
    batch (its first batch is mapped in place while they map the next)."""
    setting = project.config.map_workers
    if setting == 0 or project.mapping(entity, system).lookup_entities:
        return 0
    if not project.file or not os.path.isfile(project.file):
        return 0
    if setting == "auto":
        spare = (os.cpu_count() or 1) - 1
        least = project.config.batch_size + 1 if warm else AUTO_MIN_RECORDS
        return min(spare, MAX_WORKERS) if pending >= least else 0
    return int(setting)


class MappingWorkers:
    """The worker processes of one run: started when a stream first needs them and shared by every
    stream and round after it (a worker's start, about a second of loading the project, is paid once
    per run, and the streams after the first get workers that are ready). They stop with the run
    (``RunContext.close``) or when one fails."""

    def __init__(self, project: Project, workers: int) -> None:
        self.workers = workers
        self.warm = False             # a worker has answered a batch: waiting for one costs no start-up
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(os.path.abspath(project.file), os.getpid()))
        self._executor.submit(_ready)    # the workers start now; a batch answered (not this) makes them warm

    @property
    def open(self) -> bool:
        return self._executor is not None

    def submit(self, entity: str, system: str, items: list[tuple[str, str]],
               with_keys: bool) -> Future[dict[str, Prepared]]:
        """Map one batch of a stream (raises RuntimeError when the workers are gone)."""
        if self._executor is None:
            raise RuntimeError("the mapping workers were stopped")
        return self._answered(self._executor.submit(_prepare, entity, system, items, with_keys))

    def _answered(self, fut: Future[Any]) -> Future[Any]:
        def done(f: Future[Any]) -> None:
            if not f.cancelled() and f.exception() is None:
                self.warm = True
        fut.add_done_callback(done)
        return fut

    def close(self, failed: bool = False) -> None:
        """Stop the workers; ``failed``: one failed or is stuck, so none may hold the interpreter's exit
        (which joins them)."""
        ex, self._executor = self._executor, None
        if ex is None:
            return
        if failed:
            for proc in list((getattr(ex, "_processes", None) or {}).values()):
                proc.terminate()
        ex.shutdown(wait=not failed, cancel_futures=True)      # idle workers end at once


class MappingPool:
    """One stream's use of the run's mapping workers: its batches sent ahead of the transaction (see the
    module docstring)."""

    def __init__(self, project: Project, entity: str, system: str, workers: MappingWorkers, matcher: RuleMatcher,
                 *, patient: bool = False, with_keys: bool = True) -> None:
        self.entity, self.system, self.patient, self.with_keys = entity, system, patient, with_keys
        self._mapping = project.mapping(entity, system)
        self._matcher = matcher
        self._workers: MappingWorkers | None = workers
        self._ahead: deque[tuple[dict[str, str], str, Future[dict[str, Prepared]]]] = deque()
        self.used = self.mapped_in_place = 0

    @property
    def open(self) -> bool:
        return self._workers is not None and self._workers.open

    def read_ahead(self, rows_after: Callable[[str], Sequence[PendingText]], current_last: str) -> None:
        """Send the batches that follow to the workers until ``AHEAD`` are out: ``rows_after(source_id)``
        reads the pending rows after a source id, in the engine's order, payloads as stored JSON text
        (the batch being processed ends at ``current_last``)."""
        while self._workers is not None and len(self._ahead) < AHEAD:
            rows = rows_after(self._ahead[-1][1] if self._ahead else current_last)
            if not rows:
                return
            hashes = {r.source_id: r.payload_hash for r in rows}
            try:
                fut = self._workers.submit(self.entity, self.system, [(r.source_id, r.payload_text) for r in rows],
                                           self.with_keys)
            except RuntimeError as exc:       # a broken pool: map in place from now on
                self.close(f"the mapping worker stopped ({exc})")
                return
            self._ahead.append((hashes, rows[-1].source_id, fut))

    def take(self, rows: Sequence[Any], payload_of: Callable[[Any], Any] | None = None) -> dict[str, Prepared]:
        """Prepared results for ``rows`` (read in the batch's transaction) whose payload is the one mapped
        (the same payload hash). ``payload_of(row)`` reads the payload of a row read without it (the one
        row of the batch mapped here too, to compare).

        The batches sent ahead that hold these rows are consumed. A worker that has not answered yet is
        waited for only once it has answered before: one still starting is not (the rows are mapped in
        place and its answer dropped), unless the pool is ``patient`` (workers asked for by number)."""
        out: dict[str, Prepared] = {}
        if self._workers is None or not rows:
            return out
        ids = {r.source_id for r in rows}
        consumed = False
        while self._ahead:
            hashes, _last, fut = self._ahead[0]
            if ids.isdisjoint(hashes):
                if consumed:
                    break
                self._ahead.popleft()         # read ahead, then no longer pending as read: stale
                continue
            self._ahead.popleft()
            consumed = True
            if not fut.done() and not self._workers.warm and not self.patient:
                continue
            try:
                ready = fut.result(timeout=WAIT_S)
            except Exception as exc:  # noqa: BLE001 - a broken or stuck worker: map in place from now on
                self.close(f"the mapping worker failed ({type(exc).__name__}: {exc})")
                return {}
            for row in rows:
                pre = ready.get(row.source_id)
                if pre is not None and hashes.get(row.source_id) == row.payload_hash:
                    out[row.source_id] = pre
        if out:
            row = next(r for r in rows if r.source_id in out)
            if not self._agrees(row if row.payload is not None or payload_of is None
                                else row._replace(payload=payload_of(row)), out[row.source_id]):
                return {}
        self.used += len(out)
        self.mapped_in_place += len(rows) - len(out)
        return out

    def _agrees(self, row: Any, pre: Prepared) -> bool:
        """One record of the batch mapped here too: the worker must give exactly the same."""
        try:
            canon = self._mapping.to_canonical_flat(row.payload)
        except Exception:  # noqa: BLE001 - the worker mapped what this process cannot: they disagree
            canon = None
        keys = tuple(self._matcher.keys(canon)) if canon is not None else None
        if (canon == pre.canon and keys is not None and (keys == pre.keys or not self.with_keys)
                and match_keys.hash_list(keys) == pre.hashes and self._matcher.decide(canon, (), {}) == pre.alone):
            return True
        self.close(f"the mapping worker's result for {self.system} {self.entity} {row.source_id!r} differs "
                   "from this process's (a project file changed during the run?)")
        return False

    def close(self, reason: str | None = None) -> None:
        """This stream is done with the workers: what it sent ahead and did not take is dropped. With a
        ``reason`` (a worker failed, is stuck or maps differently) the workers are stopped for the run."""
        if reason:
            log.warning("%s; mapping in place from here on", reason)
        workers, self._workers = self._workers, None
        for _hashes, _last, fut in self._ahead:
            fut.cancel()
        self._ahead.clear()
        if workers is not None and reason:
            workers.close(failed=True)


def prime(matcher: RuleMatcher, prepared: Mapping[str, Prepared]) -> None:
    """Let the matcher and the key-hash memo answer from the worker's results (a golden record holding the
    same key values as its record asks for the same keys when it is saved). Results without keys (hashes
    only) prime nothing."""
    for pre in prepared.values():
        if not pre.keys and pre.hashes:
            continue
        matcher.remember(pre.canon, pre.keys)
        match_keys.remember(pre.keys, pre.hashes)
