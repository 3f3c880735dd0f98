"""Map, match and survive: staged records become golden records, one batch per transaction."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from concord.hub.config.model import EntityConfig
from concord.hub.engine import conflicts as conflict_rules
from concord.hub.engine.context import RunContext
from concord.hub.engine.crashpoints import crashpoint
from concord.hub.engine.golden import GoldenState, load_golden, save_golden
from concord.hub.engine.mapping_pool import MappingPool, MappingWorkers, Prepared, prime, workers_for
from concord.hub.engine.quarantine import quarantine_rows, resolve_records
from concord.hub.engine.resolve import SourceRecord, resolve
from concord.hub.engine.resolver import XrefResolver
from concord.hub.engine.util import golden_id_for, relaxed_gc
from concord.hub.errors import HubError, RecordError
from concord.hub.matching import Candidate, RuleMatcher
from concord.hub.survive import detach
from concord.hub.warehouse import bulk
from concord.hub.warehouse.stores import decisions as decision_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import lookup, match_keys, staged, staging
from concord.hub.warehouse.stores import xrefs as xref_store
from concord.hub.warehouse.stores.staging import RawStatus

log = logging.getLogger("concord.process")
FRESH_TX_RECORDS = 10_000     # records per transaction on an initial load's fresh path (batches of batch_size)


@dataclass
class ProcessStats:
    mapped: int = 0
    quarantined: int = 0
    linked: int = 0
    created: int = 0
    deleted: int = 0
    by_system: dict[str, dict[str, int]] = field(default_factory=dict)

    def bump(self, system: str, key: str, n: int = 1) -> None:
        d = self.by_system.setdefault(system, {})
        d[key] = d.get(key, 0) + n
        setattr(self, key, getattr(self, key) + n)


def process_entity(ctx: RunContext, entity: str, stats: ProcessStats | None = None) -> ProcessStats:
    """Process every pending staged record of an entity, systems in survivorship-priority order."""
    with relaxed_gc():
        return _process_entity(ctx, entity, stats or ProcessStats())


def _process_entity(ctx: RunContext, entity: str, stats: ProcessStats) -> ProcessStats:
    ecfg = ctx.project.config.entities[entity]
    matcher = RuleMatcher(ecfg.match)
    with ctx.warehouse.tx() as conn:
        conflict_rules.apply_resolutions(ctx, conn, entity, matcher.keys)
        for system in ctx.project.system_order(entity):
            staged.requeue_unresolved(conn, system, entity, sorted(ctx.project.mapping(entity, system).lookup_entities))
    for system in ctx.project.system_order(entity):
        last = ""
        task = ctx.progress.stream(f"process {system}.{entity}") if ctx.progress else None
        batch_size = ctx.project.config.batch_size
        with ctx.warehouse.tx() as conn:
            fresh = golden_store.entity_is_empty(conn, entity)
            pool = _open_pool(ctx, conn, entity, system, matcher, fresh=fresh)
        # an initial load commits several batches at once: each commit rewrites every index page the
        # batches touched (random keys: nearly one page per match key), so fewer, larger commits
        # write far less; a transaction is still all or nothing (a crash loses it, a rerun redoes it)
        per_tx = max(FRESH_TX_RECORDS, batch_size) if fresh else 0
        more = True
        try:
            while more:
                done = 0
                with ctx.warehouse.tx() as conn, bulk.new_rows(conn) if fresh else nullcontext():
                    while True:
                        # a worker maps the records: their payloads are read only where it did not
                        rows = staged.pending(conn, system, entity, last, batch_size,
                                              payloads=pool is None or not pool.open)
                        if not rows:
                            more = False
                            break
                        prepared = None
                        if pool is not None:
                            prepared = pool.take(rows, lambda row, c=conn: staged.with_payloads(
                                c, system, entity, [row], [row.source_id])[0].payload)
                            rows = staged.with_payloads(conn, system, entity, rows,
                                                        [r.source_id for r in rows if r.source_id not in prepared])
                            pool.read_ahead(lambda after, c=conn: staged.pending_texts(c, system, entity, after, batch_size),
                                            rows[-1].source_id)
                        _process_batch(ctx, conn, entity, ecfg, system, rows, matcher, stats, fresh=fresh,
                                       prepared=prepared)
                        task.advance(len(rows)) if task else None
                        crashpoint("process.in_batch")       # dies with the batch's transaction still open
                        last = rows[-1].source_id
                        done += len(rows)
                        if done >= per_tx:
                            break
                if done:
                    crashpoint("process.after_batch")
        finally:
            if pool is not None:
                log.debug("process %s.%s: %d records mapped by workers, %d in place", system, entity,
                          pool.used, pool.mapped_in_place)
                pool.close()
        if fresh:       # the fresh path's keys into the index, in key order (a crash before: the next lookup does it)
            with ctx.warehouse.tx() as conn:
                match_keys.settle(conn, entity)
            if not ctx.warehouse.is_dry_run:     # (a dry run's settle is rolled back: nothing to reclaim)
                match_keys.reclaim(ctx.warehouse.engine)
    return stats


def _open_pool(ctx: RunContext, conn: Connection, entity: str, system: str, matcher: RuleMatcher, *,
               fresh: bool) -> MappingPool | None:
    """Workers mapping this stream ahead of its transactions, where that pays (hub/engine/mapping_pool.py).
    On the fresh path the workers send key hashes only: nothing is looked up by key."""
    if ctx.project.config.map_workers == 0:
        return None
    workers = workers_for(ctx.project, entity, system, staging.count_pending(conn, system, entity),
                          warm=ctx.workers_ready)
    if not workers:
        return None
    if ctx.mapping_workers is None or not ctx.mapping_workers.open:   # started once, shared by the run's streams
        ctx.mapping_workers = MappingWorkers(ctx.project, workers)
    return MappingPool(ctx.project, entity, system, ctx.mapping_workers, matcher,
                       patient=ctx.project.config.map_workers != "auto", with_keys=not fresh)


def _process_batch(ctx: RunContext, conn: Connection, entity: str, ecfg: EntityConfig, system: str,
                   rows: list[Any], matcher: RuleMatcher, stats: ProcessStats, *, fresh: bool = False,
                   prepared: Mapping[str, Prepared] | None = None) -> None:
    """One batch: map, match, survive, store.

    ``fresh``: the entity had no golden records (nor cross-references) when this system's records
    began (an initial load, the first system): every golden record that exists now was made from
    this system's records in this loop, so each is linked to this system and can never be a
    candidate (a golden record never takes two live records of one system automatically). Matching
    then needs no lookups at all: no cross-references, no candidate keys, no linked-to-system
    check, no candidate data, no golden records to load; and what it upserts is new (``bulk.new_rows``).
    The decisions, golden records, keys and lineage are those the lookups would have given
    (tests/engine/test_initial_load.py loads the same data both ways).

    ``prepared``: records a mapping worker has mapped and keyed already (the same results, computed ahead)."""
    now = ctx.now()
    mapping = ctx.project.mapping(entity, system)
    resolver = XrefResolver(conn, system)
    mapped: list[tuple[Any, dict[str, Any]]] = []
    bad: list[dict[str, Any]] = []
    deletions: list[Any] = []
    unresolved: set[str] = set()
    prepared = prepared or {}
    if prepared and not fresh:
        prime(matcher, prepared)
    for row in rows:
        if row.deleted:
            deletions.append(row)
            continue
        pre = prepared.get(row.source_id)
        if pre is not None:          # the mapping looks nothing up (else no worker): nothing unresolved
            mapped.append((row, pre.canon))
            continue
        try:
            resolver.misses.clear()
            mapped.append((row, mapping.to_canonical_flat(row.payload, resolver=resolver)))
            if resolver.misses:                  # a referenced record not known yet: mapped again when it is
                unresolved.add(row.source_id)
        except HubError as exc:
            err = exc if isinstance(exc, RecordError) else RecordError(exc.message)
            bad.append({"system": system, "entity": entity, "source_id": row.source_id, "stage": "map",
                        "error": err, "payload": row.payload})
        except Exception as exc:  # a transform bug must not sink the batch
            bad.append({"system": system, "entity": entity, "source_id": row.source_id, "stage": "map",
                        "error": RecordError(f"{type(exc).__name__}: {exc}"), "payload": row.payload})

    # -- match: cross-reference, Concord's own id on records it created, then rules over blocking keys --
    # fresh: the entity had no cross-reference when the loop began, and this loop links each record once
    xrefs = {} if fresh else xref_store.golden_ids_of(conn, entity, system, [r.source_id for r, _ in mapped]
                                                      + [r.source_id for r in deletions])
    # fresh: every golden record there is has a record of this system, so none can be claimed by one
    own = {} if fresh else _created_by_concord(ctx, conn, entity, system, mapping.source,
                                               [r for r, _ in mapped if r.source_id not in xrefs])
    # (the fresh path looks nothing up: its golden records' keys are asked for when they are saved)
    keys_by_record = {} if fresh else {r.source_id: list(pre.keys) if (pre := prepared.get(r.source_id)) is not None
                                       else matcher.keys(c) for r, c in mapped if r.source_id not in xrefs}
    if fresh:
        candidates: dict[str, list[Candidate]] = {}
        taken: set[str] = set()
        data: dict[str, dict[str, Any]] = {}
    else:
        candidates = _candidates(conn, entity, keys_by_record, matcher.max_block)
        cand_ids = {c.golden_id for cs in candidates.values() for c in cs}
        taken = xref_store.linked_to_system(conn, entity, system, cand_ids)
        data = lookup.live_data_of(conn, entity, cand_ids - taken) if matcher.needs_data else {}
    decisions: list[dict[str, Any]] = []
    new_links: dict[str, str] = {}          # source id -> golden id
    batch_keys: dict[tuple[str, str], list[str]] = {}   # keys of goldens created in this batch
    target_of: dict[str, str] = {}
    created: set[str] = set()
    for row, canon in mapped:
        sid = row.source_id
        if sid in xrefs:
            target_of[sid] = xrefs[sid]
            continue
        if sid in own and own[sid] not in taken:     # a record Concord created, read before its outcome was
            gid = target_of[sid] = own[sid]          # recorded (a crash, a cut-off answer): its golden record
            taken.add(gid)
            stats.bump(system, "linked")
            new_links[sid] = gid
            decisions.append({"run_id": ctx.run_id, "entity": entity, "system": system, "source_id": sid,
                              "golden_id": gid, "decision": "link", "rule": "concord_id", "score": 1.0,
                              "evidence": {"concord_id": gid}, "decided_at": now})
            continue
        if fresh:       # every golden record there is was made from this system's records: none is a candidate
            cands: list[Candidate] = []
        else:
            cands = [c for c in candidates.get(sid, []) if c.golden_id not in taken]
            cands += [Candidate(g, k[0], k[1]) for k in keys_by_record[sid] for g in batch_keys.get(k, ())
                      if g not in taken]
        pre = prepared.get(sid)
        d = pre.alone if pre is not None and not cands else matcher.decide(canon, cands, data)
        gid = d.golden_id if d.decision == "link" else (pre.golden_id if pre is not None
                                                         else golden_id_for(entity, system, sid))
        if d.decision == "link":
            stats.bump(system, "linked")
        else:
            stats.bump(system, "created")
            data[gid] = canon
            created.add(gid)
        taken.add(gid)
        for k in () if fresh else keys_by_record[sid]:
            ids = batch_keys.setdefault(k, [])
            if gid not in ids:
                ids.append(gid)
        target_of[sid] = gid
        new_links[sid] = gid
        evidence = d.evidence
        if d.decision == "review":      # the pair waits for a person; the record has its own golden meanwhile
            evidence = {**d.evidence, "own_golden_id": gid}
        decisions.append({"run_id": ctx.run_id, "entity": entity, "system": system, "source_id": sid,
                          "golden_id": d.golden_id if d.decision == "review" else gid, "decision": d.decision,
                          "rule": d.rule, "score": d.score, "evidence": evidence, "decided_at": now})

    # -- survive ----------------------------------------------------------------------------
    compared = _compared_fields(ctx, entity, system)
    gids = set(target_of.values()) | {xrefs[r.source_id] for r in deletions if r.source_id in xrefs}
    # fresh: the golden records made in this batch cannot exist yet (nothing to load)
    states = load_golden(conn, entity, gids - created if fresh else gids)
    cases: list[tuple[str, conflict_rules.ConflictCase]] = []
    for row, canon in mapped:
        gid = target_of[row.source_id]
        st = states.get(gid) or states.setdefault(gid, GoldenState(gid, {}, {}, exists=False))
        previous = row.canonical if row.golden_id == gid else None
        first = previous is None and not st.data and not st.lineage
        res = resolve(st.data, st.lineage, SourceRecord(system, row.source_id, canon, previous,
                                                         row.source_updated_at), ecfg)
        if first and fresh and (pre := prepared.get(row.source_id)) is not None:
            st.key_hashes = frozenset(pre.hashes)   # its only source, taken whole: the keys of ``canon``
        if res.changed or st.deleted:
            st.data, st.dirty_data, st.deleted = res.golden, True, False
        st.removed_lineage |= set(st.lineage) - set(res.lineage)
        st.lineage = res.lineage
        st.dirty_lineage |= res.lineage_changed
        # re-planned unless nothing the planner reads moved: a record it knew, no conflict, and the values it
        # holds of what is written to its system are the golden record's (an echo of Concord's own write)
        if not st.touched and (row.source_id not in xrefs or res.conflicts
                               or not _agrees(canon, st.data, compared)):
            st.touched = True
        cases.extend((gid, c) for c in res.conflicts)
    for row in deletions:
        gid = xrefs.get(row.source_id)
        stats.bump(system, "deleted")
        if gid is None or gid not in states:
            continue
        st = states[gid]
        lineage = detach(st.data, st.lineage, system=system, source_id=row.source_id)
        st.removed_lineage |= set(st.lineage) - set(lineage)
        st.lineage, st.touched = lineage, True
    deleted_ids = [r.source_id for r in deletions]
    if deleted_ids:
        xref_store.mark_records_deleted(conn, entity, system, deleted_ids, now)
        # copies in mirror targets do not keep a golden record alive: they follow it, deletes included
        mirrors = {r.target for r in ecfg.sync if r.mode == "mirror"}
        alive = xref_store.alive(conn, entity, {xrefs[s] for s in deleted_ids if s in xrefs}, exclude=mirrors)
        for gid in {xrefs[s] for s in deleted_ids if s in xrefs} - alive - set(target_of.values()):
            if gid in states and not states[gid].deleted:
                states[gid].deleted, states[gid].dirty_data = True, True

    # -- write, set-based -------------------------------------------------------------------------
    xref_store.save_links(conn, entity, system, new_links, now)
    decision_store.add_batch(conn, decisions)
    save_golden(ctx, conn, entity, states.values(), matcher.keys, defer_keys=fresh)
    conflict_rules.record(ctx, conn, entity, cases)
    if mapped:
        staged.record_mapped(conn, system, entity, [
            staged.Mapped(row.source_id, canon, target_of[row.source_id], row.source_id in unresolved)
            for row, canon in mapped], now)
        resolve_records(conn, {(system, entity, row.source_id) for row, _ in mapped}, now)
    if deletions:
        staged.mark(conn, system, entity, deleted_ids, RawStatus.MAPPED, now=now)
    if bad:
        quarantine_rows(ctx, conn, bad)
        staged.mark(conn, system, entity, [b["source_id"] for b in bad], RawStatus.QUARANTINED)
        stats.bump(system, "quarantined", len(bad))
    stats.bump(system, "mapped", len(mapped))


def _compared_fields(ctx: RunContext, entity: str, system: str) -> frozenset[str]:
    """The fields the planner compares with this system's own records: those a sync rule writes to it
    that its mapping also reads (for the others it compares with what Concord wrote, not with the record)."""
    out: set[str] = set()
    for rule in ctx.project.config.entities[entity].sync:
        if rule.target == system:
            m = ctx.project.mapping(entity, system)
            out |= (m.out_fields() if rule.fields == "all" else m.out_fields() & set(rule.fields)) & m.in_fields()
    return frozenset(out)


def _agrees(canon: Mapping[str, Any], golden: Mapping[str, Any], fields: frozenset[str]) -> bool:
    """The record holds the golden record's value of every one of ``fields`` the golden record has: the
    planner would write none of them to it. Stricter than ``plan_record`` (plain equality, no ``alike``
    comparer): a value that is only alike re-plans the record, which then finds nothing to write."""
    return all(golden.get(f) is None or canon.get(f) == golden.get(f) for f in fields)


def _candidates(conn: Connection, entity: str, keys_by_record: Mapping[str, list[tuple[str, str]]],
                max_block: int = 50) -> dict[str, list[Candidate]]:
    """Golden records sharing a key with each record: one indexed IN query per 500 key hashes.

    A blocking key (``b:...``) shared by more than ``max_block`` golden records is cut at that size
    (the matcher then ignores it as too common), so a record's cost stays flat as golden records grow."""
    hashed: dict[str, list[tuple[str, str, int]]] = {}
    capped: dict[int, bool] = {}
    for sid, keys in keys_by_record.items():
        row = hashed[sid] = []
        for (name, value), h in zip(keys, match_keys.hash_list(keys)):
            row.append((name, value, h))
            capped[h] = name.startswith("b:")
    found: dict[int, list[str]] = {}
    for h, golden_id in match_keys.lookup(conn, entity, capped.keys()):
        ids = found.setdefault(h, [])
        if len(ids) <= max_block or not capped[h]:
            ids.append(golden_id)
    return {sid: [Candidate(g, n, v) for n, v, h in keys for g in found.get(h, ())]
            for sid, keys in hashed.items()}


def _created_by_concord(ctx: RunContext, conn: Connection, entity: str, system: str, source_entity: str,
                        rows: list[Any]) -> dict[str, str]:
    """Records whose external-id field holds the id of one of this entity's live golden records with no record
    of this system yet: Concord created them (source id -> golden id). Their create may still be unrecorded
    (the process died after the call, or the answer was cut off); matching them by rules could make a second
    golden record, and the golden record that asked for them would never see the number the target gave."""
    if not rows:
        return {}
    try:
        field = ctx.spec(system, source_entity).external_id_field   # cached: the pull asked for it already
    except HubError:           # the system is unreachable now: its staged records are still processed
        return {}
    if not field:
        return {}
    values = {r.source_id: r.payload.get(field) for r in rows if r.payload is not None}
    unread = [r.source_id for r in rows if r.payload is None]      # (mapped by a worker: payload not read)
    if unread:
        values.update(staged.payload_values(conn, system, entity, unread, field))
    claims = {sid: str(v) for sid, v in values.items() if v}
    if not claims:
        return {}
    live = lookup.live_ids(conn, entity, set(claims.values()))
    taken = xref_store.linked_to_system(conn, entity, system, live)
    return {sid: gid for sid, gid in claims.items() if gid in live and gid not in taken}
