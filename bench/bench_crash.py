"""Crash loop: the hub is SIGKILLed again and again across pull, process, plan and push; each kill is
followed by a rerun. At the end every system and the warehouse must hold exactly what a run of the same
world without crashes holds: no record lost, none written twice.

    python -m bench.bench_crash --kills 50 --seed 7

Every sandbox of the demo (Salesforce, Zoho CRM, Fxiaoke, Oracle Fusion, NAV SOAP, SAP OData) runs in
this process from one seeded world; the hub runs as ``concord sync`` subprocesses. Between rounds,
"users" edit records and add new ones directly in the sandboxes' stores (the same edits, in the same
rounds, in both runs). A round of the crash run kills ``concord sync`` at a seeded crash point
(``CONCORD_CRASHPOINT=<point>:<n>``, the process SIGKILLs itself there) or, in some rounds, with a
SIGKILL from outside at a seeded random instant; the rerun may itself be killed; a clean rerun ends
the round. The reference run does the same rounds with one clean ``concord sync`` each. Both runs end
with clean cycles until nothing is left to write, then the stores are read directly (not through
Concord) and compared record by record under a natural key, and the warehouses are compared too.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bench._report import write_section

#: crash points and the largest hit number to pick per round (hub/engine/crashpoints.py)
POINTS = {
    "pull.after_page": 8,
    "process.in_batch": 3,
    "process.after_batch": 6,
    "plan.in_batch": 3,
    "plan.after_batch": 2,
    "push.before_call": 3,
    "push.after_call": 3,
    "push.after_commit": 3,
}
STEP = {p: p.split(".")[0] for p in POINTS}

#: system -> entity -> how to read its records straight from the sandbox's store
NAME_FIELDS = {("salesforce", "account"): "Name", ("salesforce", "contact"): "Email",
               ("zoho_crm", "account"): "Account_Name", ("zoho_crm", "contact"): "Email",
               ("fxiaoke", "account"): "name", ("fxiaoke", "contact"): "email",
               ("oracle_fusion", "account"): "AccountName", ("soap_erp", "account"): "Name",
               ("sap_odata", "account"): "OrganizationBPName1"}
#: fields a store stamps itself (times, versions, ids it assigns): not part of the compared content
# values the systems or Concord assign in arrival order (ids, record URLs, Concord's golden ids: the
# first system to show a record names its golden record), which differ between runs without a defect
VOLATILE = re.compile(r"(?i)(time|date|stamp|modif|created|version|lmt|etag|^last|^id$|_id$|id$|^key$|"
                      r"^\$|owner|^_|number$|^no$|^sequence|lock|tag$|concord|^attributes$|_ref$)")


# ---- the world: sandboxes and the project ---------------------------------------------------------
class World:
    """The demo's sandboxes from one seeded world, and a project for them in ``folder``."""

    def __init__(self, folder: Path, *, seed: int, size: int, batch: int = 4, faults: Any = None) -> None:
        from concord.hub.demo.runner import Demo, prepare_folder, start_sandboxes, write_project

        self.folder = folder
        self.demo = Demo(folder=folder, size=size, seed=seed)
        prepare_folder(folder)
        start_sandboxes(self.demo)
        write_project(self.demo)
        cfg = yaml.safe_load((folder / "concord.yaml").read_text())
        cfg["batch_size"] = batch                  # many process / plan batches: many places to die
        cfg["max_attempts"] = 50
        small = {"fxiaoke": {"page_size": 5}, "oracle_fusion": {"page_size": 5, "batch_size": 5},
                 "zoho_crm": {"per_page": 5}, "sap_odata": {"page_size": 5}}
        for name, extra in small.items():
            if name in cfg["systems"]:
                cfg["systems"][name]["config"].update(extra)
        (folder / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
        self.url = f"sqlite:///{folder / 'concord.db'}"
        self.env = {**os.environ, **self.demo.env}
        self.initial = {n: {e: len(rows) for e, rows in store_rows(n, sb).items()}
                        for n, sb in self.demo.running.items()}
        # the records users edit are chosen among those the world seeded: ids a system assigns to records
        # Concord creates follow the order of the writes, which faults and crashes change
        self.seeded = {n: set(_seeded_ids(n, sb)) for n, sb in self.demo.running.items()}

    @property
    def running(self) -> dict[str, Any]:
        return self.demo.running

    def stop(self) -> None:
        self.demo.stop()

    def api_requests(self) -> dict[str, int]:
        return {n: sb.app.stats.total for n, sb in self.running.items() if sb.app is not None}


# ---- reading the stores directly --------------------------------------------------------------------
def store_rows(name: str, sb: Any) -> dict[str, list[dict[str, Any]]]:
    """entity -> live records, read from the sandbox's own store (never through a connector)."""
    st = sb.state
    if name == "salesforce":
        return {"account": st.store.rows("Account"), "contact": st.store.rows("Contact")}
    if name == "zoho_crm":
        with st.lock:
            return {"account": [dict(r) for r in st.modules["Accounts"].records.values()],
                    "contact": [dict(r) for r in st.modules["Contacts"].records.values()]}
    if name == "fxiaoke":
        live = lambda rows: [dict(r) for r in rows if r.get("is_deleted") is not True]  # noqa: E731
        return {"account": live(st.table("AccountObj").rows.values()),
                "contact": live(st.table("ContactObj").rows.values())}
    if name == "oracle_fusion":
        return {"account": [dict(r) for r in st.table("customerAccounts").rows.values()]}
    if name == "soap_erp":
        return {"account": [dict(r.values) for r in st._rows.values()]}
    if name == "sap_odata":
        return {"account": [dict(r) for r in st.store("API_BUSINESS_PARTNER").tables["A_BusinessPartner"].values()]}
    return {}


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in sorted(v.items()) if not VOLATILE.search(str(k))}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v if isinstance(v, (str, int, float, bool, type(None))) else str(v)


def digest(rec: dict[str, Any]) -> str:
    body = json.dumps(_plain(rec), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(body.encode()).hexdigest()[:16]


def natural_key(name: str, entity: str, rec: dict[str, Any]) -> str:
    v = rec.get(NAME_FIELDS.get((name, entity), ""), "")
    return str(v or "").strip().lower()


def snapshot(world: World) -> dict[str, Any]:
    """system -> entity -> natural key -> sorted content digests (a multiset per key)."""
    out: dict[str, Any] = {}
    for name, sb in sorted(world.running.items()):
        for entity, rows in store_rows(name, sb).items():
            per: dict[str, list[str]] = {}
            for r in rows:
                per.setdefault(natural_key(name, entity, r), []).append(digest(r))
            out.setdefault(name, {})[entity] = {k: sorted(v) for k, v in per.items()}
    return out


def warehouse_state(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T

    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            g, x, o = T.golden.c, T.xref.c, T.outbox.c
            golden = {f"{r.entity}:{r.golden_id}": digest(dict(r.data or {}))
                      for r in conn.execute(select(g.entity, g.golden_id, g.data).where(g.deleted.is_(False)))}
            xref = Counter(f"{r.entity}:{r.system}:{r.state}" for r in conn.execute(select(x.entity, x.system, x.state)))
            links = Counter((r.entity, r.golden_id, r.system) for r in conn.execute(
                select(x.entity, x.golden_id, x.system).where(x.state != "deleted")))
            outbox = Counter(r.status for r in conn.execute(select(o.status)))
            open_writes = conn.execute(select(func.count()).select_from(T.outbox).where(
                o.status.in_(["pending", "failed", "sending"]))).scalar() or 0
            conflicts = conn.execute(select(func.count()).select_from(T.conflict)).scalar() or 0
            quarantined = conn.execute(select(func.count()).select_from(T.quarantine)).scalar() or 0
    finally:
        wh.dispose()
    return {"golden": golden, "xref": dict(sorted(xref.items())),
            "golden_linked_twice_to_one_system": sum(1 for n in links.values() if n > 1),
            "outbox": dict(outbox), "open_writes": open_writes, "conflicts": conflicts, "quarantined": quarantined}


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Differences between two snapshots (crash run ``a``, reference ``b``), as readable lines."""
    diffs: list[str] = []
    for system in sorted(set(a) | set(b)):
        for entity in sorted(set(a.get(system, {})) | set(b.get(system, {}))):
            pa, pb = a.get(system, {}).get(entity, {}), b.get(system, {}).get(entity, {})
            for key in sorted(set(pa) | set(pb)):
                ra, rb = pa.get(key, []), pb.get(key, [])
                if len(ra) > len(rb):
                    diffs.append(f"{system}.{entity} {key!r}: {len(ra)} records, reference {len(rb)} (written twice)")
                elif len(ra) < len(rb):
                    diffs.append(f"{system}.{entity} {key!r}: {len(ra)} records, reference {len(rb)} (lost)")
                elif ra != rb:
                    diffs.append(f"{system}.{entity} {key!r}: content differs")
    return diffs


# ---- users editing the systems between rounds ---------------------------------------------------------
def user_round(world: World, rng: random.Random, rnd: int) -> list[str]:
    """Seeded edits straight in the stores: a field change per system, and new CRM records now and then."""
    from concord.hub.demo import edits as demo_edits

    done = []
    for name, sb in sorted(world.running.items()):
        fn = demo_edits.EDITS.get(name)
        ids = [i for i in _seeded_ids(name, sb) if i in world.seeded.get(name, ())]
        if fn is None or not ids:
            continue
        sid = rng.choice(ids)
        try:
            f, _old, _new = fn(sb.state, sid, rnd)
            done.append(f"{name}:{sid}.{f}")
        except Exception as exc:  # an edit the store refuses is noted, never fatal
            done.append(f"{name}:{sid} refused ({type(exc).__name__})")
    if rnd % 3 == 1:                       # a new account (and contact) in a CRM: Concord creates it elsewhere
        tag = f"r{rnd}x{rng.randrange(10**6)}"
        if "salesforce" in world.running:
            st = world.running["salesforce"].state.store
            st.insert("Account", {"Name": f"Crashloop {tag} GmbH", "Phone": f"+49301{rnd:03d}{rng.randrange(10**4):04d}",
                                  "Website": f"https://{tag}.example.com"})
            done.append(f"salesforce:new Account {tag}")
        if "zoho_crm" in world.running:
            st = world.running["zoho_crm"].state
            mod = st.modules["Contacts"]
            with st.lock:
                rec = {"First_Name": "Kim", "Last_Name": f"Crash {tag}", "Email": f"kim.{tag}@example.com"}
                st.stamp(mod, rec, True)
                st.put(mod, rec)
            done.append(f"zoho_crm:new Contact {tag}")
    return done


def _seeded_ids(name: str, sb: Any) -> list[str]:
    st = sb.state
    try:
        if name == "salesforce":
            return sorted(r for r in st.store.truth if r.startswith("001"))[:40]
        if name == "zoho_crm":
            return sorted(st.modules["Accounts"].records, key=int)[:40]
        if name == "fxiaoke":
            return sorted(st.table("AccountObj").rows)[:40]
        if name == "oracle_fusion":
            return [str(k) for k in sorted(st.table("customerAccounts").rows)[:40]]
        if name == "soap_erp":
            return sorted(st._rows)[:40]
        if name == "sap_odata":
            return sorted(str(r.get("BusinessPartner")) for r in
                          st.store("API_BUSINESS_PARTNER").tables["A_BusinessPartner"].values())[:40]
    except Exception:
        return []
    return []


# ---- running the hub -------------------------------------------------------------------------------------
def concord() -> str:
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    if not exe:
        raise SystemExit("the concord command is not installed next to this Python")
    return exe


def sync(world: World, *, point: str | None = None, kill_after: float | None = None) -> tuple[int, float]:
    """One ``concord sync``; returns (exit code, seconds). -9: it was SIGKILLed."""
    env = dict(world.env)
    env.pop("CONCORD_CRASHPOINT", None)
    if point:
        env.update(CONCORD_CRASHPOINT=point, CONCORD_CRASHPOINT_ACTION="kill")
    t0 = time.perf_counter()
    proc = subprocess.Popen([concord(), "sync", "-c", str(world.folder / "concord.yaml")], cwd=world.folder,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        _out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    rc = proc.returncode
    if rc not in (0, 1, -signal.SIGKILL):
        print(f"concord sync exited {rc}: {err.decode(errors='replace')[-1500:]}", file=sys.stderr)
    return rc, time.perf_counter() - t0


def settle(world: World, max_cycles: int = 6) -> int:
    """Clean cycles until one writes nothing and no write is outstanding; returns the cycles run."""
    for n in range(1, max_cycles + 1):
        before = world.api_requests()
        sync(world)
        st = warehouse_state(world.url)
        calls = {k: v - before.get(k, 0) for k, v in world.api_requests().items()}
        if st["open_writes"] == 0 and n >= 2 and _writes(world, calls) == 0:
            return n
    return max_cycles


def _writes(world: World, calls: dict[str, int]) -> int:
    from sqlalchemy import func, select

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T

    wh = Warehouse.open(world.url, migrate=False)
    try:
        with wh.tx() as conn:
            last = conn.execute(select(func.max(T.run.c.id))).scalar()
            summary = conn.execute(select(T.run.c.summary).where(T.run.c.id == last)).scalar() or {}
    finally:
        wh.dispose()
    streams = summary.get("streams", {}) if isinstance(summary, dict) else {}
    return sum(d.get("written", 0) for per in streams.values() for d in per.values() if isinstance(d, dict))


# ---- the two runs -------------------------------------------------------------------------------------------
def crash_run(folder: Path, *, seed: int, size: int, kills: int, max_chain: int = 3) -> dict[str, Any]:
    rng = random.Random(seed)
    world = World(folder, seed=seed, size=size)
    log: list[dict[str, Any]] = []
    by_step: Counter[str] = Counter()
    done, rnd, cycle_s = 0, 0, []
    try:
        while done < kills:
            edits = user_round(world, random.Random(seed * 1000 + rnd), rnd) if rnd else []
            chain = 0
            while chain < max_chain and done < kills:
                if rng.random() < 0.2 and cycle_s:
                    t = rng.uniform(0.8, max(1.0, sorted(cycle_s)[len(cycle_s) // 2]))
                    rc, s = sync(world, kill_after=t)
                    what = f"timer:{t:.2f}s"
                else:
                    p = rng.choice(sorted(POINTS))
                    what = f"{p}:{rng.randint(1, POINTS[p])}"
                    rc, s = sync(world, point=what)
                killed = rc == -signal.SIGKILL
                log.append({"round": rnd, "at": what, "killed": killed, "exit": rc, "edits": len(edits)})
                if not killed:
                    cycle_s.append(s)
                    break
                done += 1
                by_step["timer" if what.startswith("timer") else STEP[what.split(":")[0]]] += 1
                chain += 1
                if rng.random() < 0.6:
                    break
            rc, s = sync(world)                  # the clean rerun ends the round
            cycle_s.append(s)
            rnd += 1
        settled = settle(world)
        return {"world": world, "rounds": rnd, "kills": done, "by_step": dict(by_step), "log": log,
                "settle_cycles": settled, "snapshot": snapshot(world), "warehouse": warehouse_state(world.url),
                "requests": world.api_requests(), "initial": world.initial}
    finally:
        world.stop()


def reference_run(folder: Path, *, seed: int, size: int, rounds: int) -> dict[str, Any]:
    world = World(folder, seed=seed, size=size)
    try:
        for rnd in range(rounds):
            if rnd:
                user_round(world, random.Random(seed * 1000 + rnd), rnd)
            sync(world)
        settled = settle(world)
        return {"rounds": rounds, "settle_cycles": settled, "snapshot": snapshot(world),
                "warehouse": warehouse_state(world.url), "requests": world.api_requests(), "initial": world.initial}
    finally:
        world.stop()


def counts(snap: dict[str, Any]) -> dict[str, int]:
    return {f"{s}.{e}": sum(len(v) for v in per.values()) for s, ents in snap.items() for e, per in ents.items()}


def run(seed: int, size: int, kills: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="concord-crashloop-"))
    t0 = time.perf_counter()
    try:
        crash = crash_run(root / "crash", seed=seed, size=size, kills=kills)
        t1 = time.perf_counter()
        ref = reference_run(root / "reference", seed=seed, size=size, rounds=crash["rounds"])
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    diffs = compare(crash["snapshot"], ref["snapshot"])
    wa, wb = crash["warehouse"], ref["warehouse"]
    for k in ("xref", "golden_linked_twice_to_one_system", "open_writes", "quarantined"):
        if wa[k] != wb[k]:
            diffs.append(f"warehouse {k}: {wa[k]} vs reference {wb[k]}")
    if set(wa["golden"]) != set(wb["golden"]):
        diffs.append(f"warehouse golden ids: {len(set(wa['golden']) - set(wb['golden']))} only after crashes, "
                     f"{len(set(wb['golden']) - set(wa['golden']))} only in the reference")
    gd = sum(1 for g in set(wa["golden"]) & set(wb["golden"]) if wa["golden"][g] != wb["golden"][g])
    if gd:
        diffs.append(f"warehouse: {gd} golden records differ in content")
    ca, cb = counts(crash["snapshot"]), counts(ref["snapshot"])
    return {"seed": seed, "size": size, "rounds": crash["rounds"], "kills": crash["kills"], "by_step": crash["by_step"],
            "crash_settle_cycles": crash["settle_cycles"], "reference_settle_cycles": ref["settle_cycles"],
            "records": ca, "reference_records": cb,
            "created": {k: ca[k] - _initial(crash["initial"], k) for k in ca},
            "reference_created": {k: cb[k] - _initial(ref["initial"], k) for k in cb},
            "golden": len(wa["golden"]), "reference_golden": len(wb["golden"]),
            "outbox": wa["outbox"], "reference_outbox": wb["outbox"],
            "requests": crash["requests"], "reference_requests": ref["requests"],
            "diffs": diffs, "equal": not diffs, "log": crash["log"],
            "seconds_crash": round(t1 - t0, 1), "seconds_reference": round(t2 - t1, 1)}


def _initial(initial: dict[str, dict[str, int]], key: str) -> int:
    s, e = key.split(".")
    return initial.get(s, {}).get(e, 0)


def markdown(r: dict[str, Any]) -> str:
    steps = ", ".join(f"{k} {v}" for k, v in sorted(r["by_step"].items()))
    verdict = "equal" if r["equal"] else f"{len(r['diffs'])} differences"
    md = ["### Crash loop: SIGKILL across pull, process, plan and push, then rerun", "",
          f"World seed {r['seed']}, {r['size']} companies, the demo's sandboxes "
          f"({', '.join(sorted({k.split('.')[0] for k in r['records']}))}); `concord sync` as a subprocess, killed with SIGKILL at a seeded crash point "
          f"(or at a seeded random instant), rerun; user edits and new CRM records between rounds. "
          f"The reference is the same world, the same rounds and edits, without crashes.", "",
          "| SIGKILLs | rounds | kills by step | final state vs reference | golden records (crash / reference) |",
          "|---:|---:|---|---|---:|",
          f"| {r['kills']} | {r['rounds']} | {steps} | {verdict} | "
          f"{r['golden']} / {r['reference_golden']} |", "",
          "| system.entity | records after crashes | reference | created after crashes | created in reference |",
          "|---|---:|---:|---:|---:|"]
    for k in sorted(r["records"]):
        md.append(f"| {k} | {r['records'][k]} | {r['reference_records'].get(k, 0)} | {r['created'][k]} | "
                  f"{r['reference_created'].get(k, 0)} |")
    reqs = sum(r["requests"].values())
    ref_reqs = sum(r["reference_requests"].values())
    md += ["", f"Records are compared straight from each sandbox's store, per natural key (account name, contact "
               f"e-mail) and content (store-stamped times, ids and versions left out); the warehouses by golden "
               f"records, cross-references and outbox. API requests the sandboxes answered: {reqs} with crashes, "
               f"{ref_reqs} without ({reqs / max(1, ref_reqs):.2f}x). Crash run {r['seconds_crash']} s, reference "
               f"{r['seconds_reference']} s."]
    if r["diffs"]:
        md += ["", "Differences: " + "; ".join(r["diffs"][:15])]
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    r = run(args.seed, args.size, args.kills)
    md = markdown(r)
    print(md)
    if not args.no_write:
        write_section("crash-loop", md, command=f"python -m bench.bench_crash --kills {args.kills} --seed {args.seed} "
                                                f"--size {args.size}", data=r)
    sys.exit(0 if r["equal"] else 1)


if __name__ == "__main__":
    main()
