"""``concord demo``: sandboxes from one world, a ready project, a full cycle, edits, an incremental cycle.

Everything the demo does goes through the same hub functions as ``concord sync``; the sandboxes
are the connectors' own (``concord.sandboxes`` entry points). A connector whose sandbox does not
start, whose mapping does not load or whose API does not answer is left out with a note.
"""
from __future__ import annotations

import shutil
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concord.hub import registry
from concord.hub.demo import edits as demo_edits
from concord.hub.demo.flows import add_flows
from concord.hub.demo.profiles import EXCLUDED
from concord.hub.demo.project import (CUSTOMER_MASTER, HEADER, build_config, copy_mappings, export_env, profile_for, write_config,
                               write_env_file)
from concord.hub.errors import ConfigError, HubError
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import staging, xrefs

SIZES = {"tiny": 12, "small": 30, "medium": 200, "large": 2000}
DEFAULT_SIZE = "small"


def parse_size(value: str | int) -> int:
    if isinstance(value, int) or str(value).isdigit():
        n = int(value)
        if n < 1:
            raise ConfigError("--size must be at least 1")
        return n
    if value not in SIZES:
        raise ConfigError(f"unknown --size {value!r}; use a number or one of {', '.join(SIZES)}")
    return SIZES[value]


@dataclass
class Demo:
    folder: Path
    size: int
    seed: int
    say: Callable[[str], None] = lambda _m: None
    running: dict[str, Any] = field(default_factory=dict)         # system -> RunningSandbox
    notes: list[str] = field(default_factory=list)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    cycles: list[dict[str, Any]] = field(default_factory=list)
    config_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)             # the sandboxes' secret values
    routes: dict[str, str] = field(default_factory=dict)          # CRM -> the ERP that fulfils its won deals
    deals: list[dict[str, Any]] = field(default_factory=list)     # the deals won between the cycles
    progress: Any = None                                          # hub.cli.progress (per-stream counts), or None

    @property
    def warehouse_url(self) -> str:
        return f"sqlite:///{self.folder / 'concord.db'}"

    def leave_out(self, name: str, why: str) -> None:
        self.notes.append(f"{name} left out: {why}")
        self.say(f"note: {name} left out of the demo: {why}")
        self.systems.pop(name, None)
        self.mappings.pop(name, None)
        sb = self.running.pop(name, None)
        if sb is not None:
            sb.stop()

    def stop(self) -> None:
        for sb in self.running.values():
            sb.stop()
        self.running.clear()


def prepare_folder(folder: Path) -> None:
    """An empty folder, or one an earlier demo wrote (it is reset); anything else is refused."""
    cfg = folder / "concord.yaml"
    if cfg.exists() and not cfg.read_text(encoding="utf-8").startswith(HEADER.splitlines()[0]):
        raise ConfigError(f"{cfg} exists and was not written by `concord demo`; pass --folder DIR for another folder")
    if folder.exists() and not cfg.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder} is not empty; pass --folder DIR for another folder")
    folder.mkdir(parents=True, exist_ok=True)
    for p in [*folder.glob("concord.db*"), folder / "sandbox.env"]:
        p.unlink(missing_ok=True)
    shutil.rmtree(folder / "mappings", ignore_errors=True)


def start_sandboxes(demo: Demo) -> None:
    from concord.hub.sandbox.faults import FaultConfig
    from concord.hub.sandbox.world import World

    world = World(seed=demo.seed, size=demo.size)
    for name in registry.names(registry.SANDBOX_GROUP):
        if name in EXCLUDED:
            demo.notes.append(f"{name} not in the demo: {EXCLUDED[name]}")
            continue
        try:
            start = registry.sandbox_starter(name)
            sb = start(world, faults=FaultConfig(rate=0.0, seed=demo.seed), port=0)
        except Exception as exc:  # a sandbox still being written must not sink the demo
            demo.leave_out(name, f"sandbox does not start ({type(exc).__name__}: {exc})")
            continue
        demo.running[name] = sb
        try:
            profile = profile_for(name)
            demo.mappings[name] = copy_mappings(demo.folder, name, profile.entities + profile.flows)
            _check_mappings(demo, name)
        except HubError as exc:
            demo.leave_out(name, f"mapping: {exc.message}")
            continue
        except Exception as exc:
            demo.leave_out(name, f"mapping: {type(exc).__name__}: {exc}")
            continue
        export_env(sb.env)
        demo.env.update(sb.env)
        demo.systems[name] = {"connector": name, "config": sb.connector_config}
        demo.say(f"started {name} sandbox at {sb.base_url}")


def _check_mappings(demo: Demo, name: str) -> None:
    from concord.hub.mapping import load_mapping

    for rel in demo.mappings[name].values():
        load_mapping(str(demo.folder / rel), system=name)


def write_project(demo: Demo) -> Any:
    """Write concord.yaml and load it; connectors whose config or API fails are left out."""
    from concord.hub.config import load_project
    from concord.hub.engine import RunContext
    from concord.hub.warehouse import Warehouse

    while True:
        if not demo.systems:
            raise ConfigError("no connector sandbox could be started; see the notes above")
        doc = build_config(demo.systems, demo.mappings, base=demo.folder, only=CUSTOMER_MASTER)
        roles = {n: profile_for(s["connector"]).role for n, s in demo.systems.items()}
        demo.routes = add_flows(doc, roles, demo.mappings, demo.folder)
        demo.config_path = write_config(demo.folder, doc)
        try:
            project = load_project(demo.config_path)
        except ConfigError as exc:
            culprit = _blame(exc, demo.systems)
            if culprit is None:
                raise
            demo.leave_out(culprit, exc.message.splitlines()[0])
            continue
        wh = Warehouse.open(demo.warehouse_url)
        ctx = RunContext.create(project, wh)
        try:
            bad = None
            for entity, ecfg in project.config.entities.items():
                for system in ecfg.sources:
                    try:
                        ctx.spec(system, project.source_entity(entity, system))
                    except Exception as exc:
                        msg = exc.message if isinstance(exc, HubError) else f"{type(exc).__name__}: {exc}"
                        bad = (system, f"{entity}: {msg}")
                        break
                if bad:
                    break
        finally:
            ctx.close()
            wh.dispose()
        if bad is None:
            return project
        demo.leave_out(*bad)


def _blame(exc: ConfigError, systems: dict[str, Any]) -> str | None:
    text = exc.message
    for name in systems:
        if f"systems.{name}" in text or f"mappings/{name}/" in text or f"'{name}'" in text:
            return name
    return None


def cycle(demo: Demo, project: Any, label: str) -> dict[str, Any]:
    from concord.hub.engine import RunContext, run_cycle
    from concord.hub.warehouse import Warehouse

    wh = Warehouse.open(demo.warehouse_url)
    ctx = RunContext.create(project, wh, progress=demo.progress)
    try:
        t0 = time.perf_counter()
        summary = run_cycle(ctx)
        elapsed = time.perf_counter() - t0
    finally:
        ctx.close()
        wh.dispose()
    streams = summary.counts()
    out = {"label": label, "run_id": summary.run_id, "status": summary.status, "seconds": round(elapsed, 2),
           "rounds": summary.rounds, "read": _sum(streams, "read"), "changed": _sum(streams, "changed"),
           "written": _sum(streams, "written"), "dead_lettered": _sum(streams, "dead_lettered"),
           "quarantined": summary.process.quarantined, "linked": summary.process.linked,
           "new_golden": summary.process.created,
           "api_calls": {s: v.get("calls", 0) for s, v in sorted(summary.api_calls.items())},
           "errors": [e for per in streams.values() for d in per.values() for e in d.get("errors", [])]}
    demo.cycles.append(out)
    demo.say(f"{label}: {out['status']} in {out['seconds']}s, read {out['read']}, written {out['written']}, "
             f"linked {out['linked']}, new golden {out['new_golden']}")
    return out


def make_edits(demo: Demo) -> None:
    """One edit per sandbox, on an account that Concord linked to at least one other system."""
    from concord.hub.warehouse import Warehouse

    wh = Warehouse.open(demo.warehouse_url, migrate=False)
    try:
        with wh.tx() as conn:
            picks = xrefs.first_of_shared(conn, "account", min_systems=2)
    finally:
        wh.dispose()
    for n, (system, sb) in enumerate(sorted(demo.running.items())):
        fn = demo_edits.EDITS.get(system)
        if fn is None or system not in picks or system not in demo.systems:
            continue
        try:
            field_name, old, new = fn(sb.state, picks[system], n)
        except Exception as exc:
            demo.notes.append(f"{system}: the demo edit failed ({type(exc).__name__}: {exc})")
            continue
        demo.edits.append({"system": system, "record": picks[system], "field": field_name,
                           "from": _plain(old), "to": _plain(new)})


def win_deals(demo: Demo, project: Any) -> None:
    """A rep wins one deal with lines in each CRM that sells for an ERP (``deals.py``)."""
    from concord.hub.demo.deals import win_deals as win
    from concord.hub.engine import RunContext
    from concord.hub.warehouse import Warehouse

    routes = {crm: erp for crm, erp in demo.routes.items() if crm in demo.systems and erp in demo.systems}
    if not routes:
        return
    wh = Warehouse.open(demo.warehouse_url, migrate=False)
    ctx = RunContext.create(project, wh)
    try:
        deals, notes = win(wh, ctx, routes)
    finally:
        ctx.close()
        wh.dispose()
    demo.deals.extend(deals)
    demo.notes.extend(notes)
    for d in deals:
        what = "won deal" if d["entity"] == "opportunity" else "sales order of a won deal"
        demo.say(f"{what} in {d['crm']} ({d['deal_id']}, {len(d['lines'])} lines), fulfilled by {d['erp']}")


def business(demo: Demo) -> dict[str, Any]:
    """Orders created in the ERPs and what came back to the deals; products, invoices, receivables and KPIs per
    CRM (``outcomes.py``)."""
    from concord.hub.demo import outcomes
    from concord.hub.warehouse import Warehouse

    roles = {n: profile_for(s["connector"]).role for n, s in demo.systems.items()}
    wh = Warehouse.open(demo.warehouse_url, migrate=False)
    try:
        with wh.tx() as conn:
            return {"routes": dict(demo.routes), "orders": outcomes.orders(conn, demo.deals),
                    "orders_created": outcomes.erp_orders(conn, [n for n, r in roles.items() if r == "erp"]),
                    "crms": outcomes.per_crm(conn, [n for n, r in roles.items() if r == "crm"])}
    finally:
        wh.dispose()


def totals(demo: Demo) -> dict[str, Any]:
    from concord.hub.warehouse import Warehouse

    wh = Warehouse.open(demo.warehouse_url, migrate=False)
    try:
        with wh.tx() as conn:
            per_system: dict[str, dict[str, int]] = {}
            for (system, entity), n in staging.count_per_stream(conn, live_only=True).items():
                per_system.setdefault(system, {})[entity] = n
            golden = golden_store.count_by_entity(conn)
            links, shared = xrefs.count_linked(conn)
            conflicts = conflict_store.count_open(conn)
            dead = outbox_store.count(conn, (outbox_store.OutboxStatus.DEAD,))
    finally:
        wh.dispose()
    calls: dict[str, int] = {}
    for c in demo.cycles:
        for s, n in c["api_calls"].items():
            calls[s] = calls.get(s, 0) + n
    return {"records_per_system": per_system, "golden_records": golden, "links": links,
            "golden_in_several_systems": shared, "conflicts_open": conflicts, "dead_letters": dead,
            "api_calls": calls}


def _sum(streams: dict[str, Any], key: str) -> int:
    return sum(d.get(key, 0) for per in streams.values() for d in per.values())


def _plain(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, type(None))) else str(v)


def run(demo: Demo) -> dict[str, Any]:
    """The whole demo; the sandboxes keep running (``demo.stop()`` ends them). Returns the summary."""
    t0 = time.perf_counter()
    prepare_folder(demo.folder)
    start_sandboxes(demo)
    project = write_project(demo)
    demo.say(f"wrote {demo.config_path} ({len(demo.systems)} systems: {', '.join(demo.systems)})")
    cycle(demo, project, "full cycle (initial load, matching, write-back)")
    make_edits(demo)
    win_deals(demo, project)
    cycle(demo, project, "incremental cycle (after edits and won deals)")
    env_values = {k: v for k, v in demo.env.items() if any(k in str(s["config"]) for s in demo.systems.values())}
    # an operator token for the dashboard on this demo warehouse (loopback only; sign in with it)
    env_values["CONCORD_DASHBOARD_TOKEN"] = os.environ.get("CONCORD_DASHBOARD_TOKEN") or secrets.token_urlsafe(24)
    os.environ["CONCORD_DASHBOARD_TOKEN"] = env_values["CONCORD_DASHBOARD_TOKEN"]   # for `--serve`'s dashboard
    env_file = write_env_file(demo.folder, env_values)
    summary = {"folder": str(demo.folder), "config": str(demo.config_path), "warehouse": demo.warehouse_url,
               "world": {"size": demo.size, "seed": demo.seed}, "systems": {
                   n: {"connector": s["connector"], "role": profile_for(s["connector"]).role,
                       "base_url": demo.running[n].base_url} for n, s in demo.systems.items()},
               **totals(demo), "business": business(demo), "cycles": demo.cycles, "edits": demo.edits,
               "notes": demo.notes,
               "seconds": round(time.perf_counter() - t0, 2),
               "env_file": str(env_file),
               "next": f". {_shown(env_file)} && concord dashboard -c {_shown(demo.config_path)}"}
    return summary


def _shown(path: Path | None) -> str:
    """A path as the user would type it: relative when it is below the current folder."""
    import os

    p = os.path.abspath(str(path))
    rel = os.path.relpath(p)
    return p if rel.startswith("..") else rel
