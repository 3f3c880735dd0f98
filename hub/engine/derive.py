"""Derivations: after an entity is processed, its changed golden records write the records derived
from them (forward), and derived records write their ``back`` fields onto their sources.

A derived golden record has a fixed golden id, ``golden_id_for(to, "derived:<name>", source_id)``:
whatever crashes or reruns happen, one source yields one derived record, so one ERP order per won
deal (its create is then an ordinary outbox create, with the outbox's own once-only guarantees).
Values a derivation sets carry the lineage system ``derived:<name>`` and the source's golden id,
so the dashboard says where they came from. Only the fields a derivation maps are its own; the
derived record's other fields come from its systems by survivorship (the ERP's order number).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select, text

from concord.hub.canonical import model_fields_meta
from concord.hub.config.derivations import Aggregate, Constant, Derivation, Kpi, Rollup
from concord.hub.engine.context import RunContext
from concord.hub.engine.golden import GoldenState, load_golden, save_golden
from concord.hub.engine.util import golden_id_for
from concord.hub.matching import RuleMatcher
from concord.hub.survive import Lineage
from concord.hub.warehouse import chunks
from concord.hub.warehouse.evolve import canonical_table
from concord.hub.warehouse.stores import dirty as dirty_store
from concord.hub.warehouse.views import DEFINITIONS, Dialect

log = logging.getLogger("concord.derive")


def derived_id(d: Derivation, source_gid: str) -> str:
    return golden_id_for(d.to, d.system, source_gid)


def derive_after(ctx: RunContext, entity: str) -> set[str]:
    """Run the derivations touching ``entity`` for its dirty golden records.

    Returns the entities whose golden records changed by ``back`` fields (their plan must run again).
    """
    replan = _derive(ctx, entity)
    for k in ctx.project.config.kpis:
        if entity not in k.inputs:
            continue
        # after the last input this project syncs (figures that move with the calendar), and after any input
        # whose records changed (a sync of some entities only)
        last = [e for e in ctx.project.entity_order() if e in k.inputs][-1] == entity
        if (last or _has_dirty(ctx, entity)) and _write_kpis(ctx, k):
            replan.add(k.to)
    return replan


def _has_dirty(ctx: RunContext, entity: str) -> bool:
    with ctx.warehouse.tx() as conn:
        return dirty_store.any_queued(conn, entity)


def _derive(ctx: RunContext, entity: str) -> set[str]:
    derivations = ctx.project.config.derivations
    rollups = [r for r in ctx.project.config.rollups if r.from_ == entity]
    if not derivations and not rollups:
        return set()
    replan: set[str] = set()
    with ctx.warehouse.tx() as conn:
        dirty = dirty_store.queued(conn, entity)
        if not dirty:
            return set()
        for d in derivations:
            if d.from_ == entity:
                _forward(ctx, conn, d, dirty)
            if d.to == entity and d.back:
                if _backward(ctx, conn, d, dirty):
                    replan.add(d.from_)
        for r in rollups:
            if _roll_up(ctx, conn, r, dirty):
                replan.add(r.to)
    return replan


def _roll_up(ctx: RunContext, conn: Connection, r: Rollup, child_ids: list[str]) -> bool:
    """Recompute the roll-ups of every parent one of these children names (from all its children)."""
    children = load_golden(conn, r.from_, child_ids)
    parents = sorted({str(c.data[r.via]) for c in children.values() if c.data.get(r.via)})
    if not parents:
        return False
    table, columns = canonical_table(ctx.project.models, r.from_)   # with the project's extension columns
    cols = [c for c, _p, _t in columns]
    rows: dict[str, list[dict[str, Any]]] = {p: [] for p in parents}
    for chunk in chunks(parents):
        for row in conn.execute(select(table).where(table.c[r.via].in_(chunk))):
            rows[row._mapping[r.via]].append({c: _flat(row._mapping[c]) for c in cols})
    states = load_golden(conn, r.to, parents)
    changed = []
    for pid, st in states.items():
        if st.deleted:
            continue
        values = {f: _aggregate(agg, rows.get(pid, [])) for f, agg in r.fields.items()}
        if _apply(st, values, Lineage(r.system, r.name, None)):
            changed.append(st)
    if changed:
        save_golden(ctx, conn, r.to, changed, _keys(ctx, r.to))
        log.info("roll-up %s: %d %s record(s) updated", r.name, len(changed), r.to)
    return bool(changed)


def _write_kpis(ctx: RunContext, k: Kpi) -> bool:
    """Compute the view's figures for every account (one query); write the changed ones onto golden records."""
    models = ctx.project.models
    metas = model_fields_meta(models[k.to])
    table, _cols = canonical_table(models, k.to)
    with ctx.warehouse.tx() as conn:
        sql = DEFINITIONS[k.view](Dialect(conn.dialect.name))
        figures = {row._mapping["golden_id"]: {f: _kpi_value(row._mapping[col], metas[f].type)
                                               for f, col in k.fields.items()}
                   for row in conn.execute(text(sql))}
        # only accounts whose stored figures differ are loaded (the typed table holds what golden data holds)
        stale = []
        for row in conn.execute(select(table.c.golden_id, *[table.c[f] for f in k.fields])):
            want = figures.get(row.golden_id)
            if want is not None and want != {f: _kpi_value(row._mapping[f], metas[f].type) for f in k.fields}:
                stale.append(row.golden_id)
        if not stale:
            return False
        changed = [st for gid, st in load_golden(conn, k.to, stale).items()
                   if not st.deleted and _apply(st, figures[gid], Lineage(k.system, k.name, None))]
        if changed:
            save_golden(ctx, conn, k.to, changed, _keys(ctx, k.to))
            log.info("kpi %s: %d %s record(s) updated from %s", k.name, len(changed), k.to, k.view)
    return bool(changed)


def _kpi_value(v: Any, kind: str) -> Any:
    """A figure as golden data holds it: a decimal as normalised text (6 places at most), an integer as int."""
    if v is None:
        return None
    d = _number(v)
    if d is None:
        return None
    if kind == "integer":
        return int(d)
    return _decimal_text(d.quantize(Decimal("0.000001")) if d.as_tuple().exponent < -6 else d)  # type: ignore[operator]


def _aggregate(agg: Aggregate, rows: list[dict[str, Any]]) -> Any:
    hits = [row for row in rows if all(c.test(row) for c in agg.where)]
    if agg.op == "count":
        return len(hits)
    values = [row.get(agg.field or "") for row in hits]
    values = [v for v in values if v is not None]
    numbers = [_number(v) for v in values]
    if agg.op == "sum":   # a value that is not a number (bad data at the source) does not sink the roll-up
        return _decimal_text(sum((n for n in numbers if n is not None), Decimal(0)))
    if not values:
        return None
    pick = max if agg.op == "max" else min
    if all(n is not None for n in numbers):
        return _decimal_text(pick(numbers))  # type: ignore[type-var]
    return pick(values, key=str)   # dates (ISO text) and text compare as text


def _flat(v: Any) -> Any:
    """A typed canonical value as golden data holds it (decimals and dates as text)."""
    if isinstance(v, Decimal):
        return _decimal_text(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _decimal_text(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _number(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Decimal)):
        return Decimal(str(v))
    try:
        d = Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _forward(ctx: RunContext, conn: Connection, d: Derivation, source_ids: list[str]) -> None:
    sources = load_golden(conn, d.from_, source_ids)
    targets = load_golden(conn, d.to, [derived_id(d, s) for s in sources])
    changed: list[GoldenState] = []
    created = 0
    for sid, src in sources.items():
        if src.deleted:
            continue   # a deleted source leaves its derived record alone (an order outlives its deal)
        gid = derived_id(d, sid)
        st = targets.get(gid)
        if st is None:
            if not all(c.test(src.data) for c in d.when):
                continue
            st = GoldenState(gid, {}, {}, exists=False)
            created += 1
        values = {f: (rule.const if isinstance(rule, Constant) else src.data.get(rule)) for f, rule in d.fields.items()}
        if d.link:
            values[d.link] = sid
        if _apply(st, values, Lineage(d.system, sid, _updated(src))) or not st.exists:
            changed.append(st)
    if changed:
        save_golden(ctx, conn, d.to, changed, _keys(ctx, d.to))
        log.info("derivation %s: %d %s record(s) created, %d kept in step", d.name, created, d.to,
                 len(changed) - created)


def _backward(ctx: RunContext, conn: Connection, d: Derivation, derived_ids: list[str]) -> bool:
    derived = {gid: st for gid, st in load_golden(conn, d.to, derived_ids).items()
               if st.data.get(d.link or "") and not st.deleted}
    if not derived:
        return False
    by_source = {st.data[d.link or ""]: st for st in derived.values()}
    sources = load_golden(conn, d.from_, by_source)
    changed = []
    for sid, src in sources.items():
        st = by_source[sid]
        if derived_id(d, sid) != st.golden_id:
            continue   # the link field names a record this derivation did not make
        values = {f: st.data.get(rule) for f, rule in d.back.items()}
        if d.back_link:
            values[d.back_link] = st.golden_id
        if _apply(src, values, Lineage(d.system, st.golden_id, _updated(st))):
            changed.append(src)
    if changed:
        save_golden(ctx, conn, d.from_, changed, _keys(ctx, d.from_))
        log.info("derivation %s: %d %s record(s) updated from their %s", d.name, len(changed), d.from_, d.to)
    return bool(changed)


def _apply(st: GoldenState, values: Mapping[str, Any], lineage: Lineage) -> bool:
    """Set the derivation's fields on a golden state; True when the data changed."""
    changed = False
    data = dict(st.data)
    for f, v in values.items():
        v = _plain(v)
        if data.get(f) != v:
            if v is None:
                data.pop(f, None)
            else:
                data[f] = v
            changed = True
        if v is not None and st.lineage.get(f) != lineage:
            st.lineage[f] = lineage
            st.dirty_lineage.add(f)
    if changed:
        st.data, st.dirty_data, st.deleted = data, True, False
    st.touched = st.touched or changed
    return changed


def _plain(v: Any) -> Any:
    """Golden data is flat JSON: tuples of lines become lists."""
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _updated(st: GoldenState) -> str | None:
    times = [lin.source_updated_at for lin in st.lineage.values() if lin.source_updated_at]
    return max(times) if times else None


def _keys(ctx: RunContext, entity: str) -> Any:
    return RuleMatcher(ctx.project.config.entities[entity].match).keys
