"""The company part of bench/bench_matching.py: account linkage ERP <-> CRM on the seeded world with a
probabilistic rule trained by EM on the data, beside splink (bench/splink_company.py, its own virtualenv)
and the default rules of ``concord init``, and the table BENCHMARKS.md shows for it.

The data are bench/matching_accounts.py's: the ERP clean (identifiers sometimes missing), the CRM with
typos in the name, legal-form variants, case, other phone and website formats, street abbreviations and
missing values. Truth: the same world index."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.matching_accounts import account_row
from bench.matching_people import STARTER, write_csv
from bench.matching_splink import COMPANY_SCRIPT, ORACLE_SHORT, LOW, extra_rows, prf, splink_scores
from concord.hub.sandbox.world import World

COMPANY_SEED = 7        # the world seed bench_matching's default-rule part uses
FS_COMPANY = {
    "name": "company_fs", "type": "probabilistic",
    "fields": ["name", "tax_id", "duns", "erp_customer_number", "website", "phone", "billing_address.street",
               "billing_address.postal_code", "billing_address.city", "billing_address.country"],
    "tf": ["name", "billing_address.city"],
    # a company's seat: two companies in one building share all of it (one piece of evidence, learned jointly)
    "dependent": [["billing_address.street", "billing_address.postal_code", "billing_address.city",
                   "billing_address.country"]],
    "block": ["exact:tax_id", "exact:duns", "exact:erp_customer_number", "domain:website", "phone:phone",
              "name_edits:name", "exact:billing_address.postal_code+exact:billing_address.street"],
    "thresholds": {"link": 0.999, "review": 0.5}}


def _index(rid: str) -> int:
    return int(rid.rsplit("-", 1)[-1]) if "-" in rid else int(rid[1:])


def company_rows(world: World, system: str) -> list[dict[str, Any]]:
    rows = []
    for i in range(world.size):
        r = account_row(world, system, i)
        if r is not None:
            rows.append({k: v for k, v in r.items() if v not in (None, "")})
    return rows


PAIRS = (("erp", "crm"), ("erp", "cn"), ("crm", "cn"))


def run_companies(size: int, splink_venv: Path | None = None, *, seed: int = COMPANY_SEED,
                  default_rules: bool = True, pairs: tuple[tuple[str, str], ...] = PAIRS) -> list[dict[str, Any]]:
    """Linkage of each pair of systems of the world of ``seed``: the probabilistic rule (EM on the data), the
    default rules (unless ``default_rules`` is false) and splink (when ``splink_venv`` is given), same files."""
    return [_link(size, a, b, splink_venv, seed=seed, default_rules=default_rules) for a, b in pairs]


def _link(size: int, a: str, b: str, splink_venv: Path | None, *, seed: int, default_rules: bool) -> dict[str, Any]:
    from concord.hub.config import load_project
    from concord.hub.config.model import MatchRule
    from concord.hub.matching.em import estimate
    from concord.hub.matching.offline import match_files, read_records

    world = World(seed=seed, size=size)      # (the same world for every pair: generated, not stored)
    starter = load_project(STARTER, check_connectors=False).config.entities["account"].match
    rule = MatchRule.model_validate(FS_COMPANY)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        left = write_csv(folder / f"{a}.csv", company_rows(world, a))
        right = write_csv(folder / f"{b}.csv", company_rows(world, b))
        lrec = [r for _i, r in read_records(left)]
        rrec = [r for _i, r in read_records(right)]
        truth = len({_index(i) for i, _r in read_records(left)} & {_index(i) for i, _r in read_records(right)})
        res: dict[str, Any] = {"companies": size, "seed": seed, "systems": f"{a} - {b}", "records": len(lrec) + len(rrec)}
        t0, c0 = time.perf_counter(), time.process_time()
        tr = estimate(rule, lrec, rrec)
        train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        trained = rule.model_copy(update={"model": tr.model})
        runs = [("probabilistic (EM)", [trained])] + ([("default rules", list(starter))] if default_rules else [])
        for label, rules in runs:
            t1, c1 = time.perf_counter(), time.process_time()
            pairs, _stats = match_files(rules, left, right)
            match_s, match_cpu = time.perf_counter() - t1, time.process_time() - c1
            links = [p for p in pairs if p.decision == "link"]
            tp = sum(_index(p.left_id) == _index(p.right_id) for p in links)
            em = "EM" in label
            res[label] = {**prf(tp, len(links) - tp, truth), "seconds": round(match_s + (train_s if em else 0), 2),
                          "cpu_seconds": round(match_cpu + (train_cpu if em else 0), 2)}
            print("companies", size, seed, a, b, label, res[label], flush=True)
        if splink_venv is not None:
            res["splink"] = splink_scores(splink_venv, "linkage", left, right, FS_COMPANY["thresholds"]["link"],
                                          truth=truth, same=lambda x, y: _index(x) == _index(y), script=COMPANY_SCRIPT,
                                          low=LOW)
            print("companies", size, seed, a, b, "splink", res["splink"], flush=True)
    return res


def company_table(results: list[dict[str, Any]]) -> list[str]:
    md = ["", "### Companies: probabilistic rule (EM on the data) vs splink vs the default rules", "",
          "Account linkage ERP <-> CRM on the world data of the quality table above (bench/matching_accounts.py: "
          "the ERP clean with identifiers sometimes missing; the CRM with name typos, legal-form variants, case, "
          "other phone and website formats, street abbreviations, missing values), one-to-one. The probabilistic "
          "rule (`FS_COMPANY` in bench/matching_companies.py: name with term frequencies, tax id, DUNS, ERP "
          "number, website, phone, street, postcode, city with term frequencies, country; the seat (street, "
          "postcode, city, country) one `dependent` group with joint levels; blocked as the "
          "starter's rules block) is trained by EM on the very data it matches, no labels; one match per record "
          "links a pair when it makes its probability 0.999 and, below, while the link raises the expected F1 "
          "and the links' expected precision (each counted at the lower of its own and its one-to-one "
          "probability) stays at 0.999 (hub/matching/one_to_one.py); time includes "
          "training. splink (unsupervised, its own virtualenv, duckdb; bench/splink_company.py) runs on the same "
          "files with comparable comparisons (name without legal form, Jaro-Winkler bands and term frequencies; "
          "identifiers within one edit; domain; phone's last 8 digits; street bands; postcode; city with term "
          "frequencies; country), prior from deterministic rules, u by random sampling, m by EM blocked on "
          "postcode and on name, predictions blocked at least as wide as Concord's rule; both link at "
          "probability 0.999. CPU time of all threads inside each tool's process, reading the files included."
          + ORACLE_SHORT, "",
          "| companies | seed | systems | rule | records | true pairs | precision | recall | F1 | time | CPU time |",
          "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for label in ("probabilistic (EM)", "splink", "default rules"):
            if label in r:
                x = r[label]
                md.append(f"| {r['companies']:,} | {r['seed']} | {r['systems']} | {label} | {r['records']:,} | {x['true_pairs']:,} | "
                          f"{x['precision']:.4f} | {x['recall']:.4f} | **{x['f1']:.4f}** | {x['seconds']:.1f} s | "
                          f"{x['cpu_seconds']:.1f} s |")
                for name, cells in extra_rows(x) if label == "splink" else []:
                    md.append(f"| {r['companies']:,} | {r['seed']} | {r['systems']} | {name} | {r['records']:,} | "
                              f"{x['true_pairs']:,} | {cells}")
    return md
