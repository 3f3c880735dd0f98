"""splink's side of the person benchmark (bench/bench_matching.py): run by the Python of splink's own
virtualenv, never imported by Concord (it needs only splink and duckdb).

    python bench/splink_person.py linkage|dedup LEFT.csv RIGHT.csv|- OUT.csv THRESHOLD [LOW]

Unsupervised, the way splink's documentation trains a model: the prior from deterministic rules,
u from random sampling, m by expectation maximisation in two sessions, blocked on the birth date and on
the full name (each session estimates the fields it does not block on). Comparisons comparable to Concord's rule:
names with Jaro-Winkler bands, term frequencies and a swapped-names level, date of birth, e-mail,
phones, national id, street, postcode and city. Predictions use the same blocking keys as Concord's
rule. Linkage: pairs at or above THRESHOLD made one-to-one best first (as ``concord match`` does; with LOW,
the pairs at or above LOW, whose levels give both);
dedup: pairs closed into connected components at THRESHOLD (splink's own clustering).

Writes OUT.csv (left_id,right_id,level: every linked pair; for dedup every pair inside a cluster; level: the
highest threshold at which splink would still link the pair, bench/splink_levels.py, so the caller can score
any higher threshold without running splink again) and prints
one JSON line: timings inside the process (reading the files included; CPU time of all its threads), candidate pairs, versions.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any

import duckdb

import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink_levels import cluster_levels, one_to_one      # the module beside this script (same folder)

CLEAN = """
SELECT id AS unique_id,
       nullif(lower(trim(first_name)), '') AS first_name,
       nullif(lower(trim(last_name)), '') AS last_name,
       nullif(lower(trim(first_name)) || ' ' || lower(trim(last_name)), '') AS full_name,
       nullif(trim(birth_date), '') AS birth_date,
       nullif(lower(trim(email)), '') AS email,
       nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') AS phone,
       nullif(regexp_replace(mobile, '[^0-9]', '', 'g'), '') AS mobile,
       nullif(upper(regexp_replace(national_id, '[^0-9A-Za-z]', '', 'g')), '') AS national_id,
       nullif(lower(trim("mailing_address.street")), '') AS street,
       nullif(upper(regexp_replace("mailing_address.postal_code", '\\s', '', 'g')), '') AS postcode,
       nullif(lower(trim("mailing_address.city")), '') AS city
FROM read_csv('{path}', all_varchar = true, header = true)
"""


def settings(link_type: str) -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,
        comparisons=[
            cl.ForenameSurnameComparison("first_name", "last_name", jaro_winkler_thresholds=[0.92, 0.80],
                                         forename_surname_concat_col_name="full_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("mobile"),
            cl.DamerauLevenshteinAtThresholds("national_id", [1]),
            cl.JaroWinklerAtThresholds("street", [0.92, 0.80]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        # the blocking keys of Concord's rule (FS_PERSON in bench_matching.py)
        blocking_rules_to_generate_predictions=[
            block_on("national_id"), block_on("email"), block_on("mobile"), block_on("phone"), block_on("birth_date"),
            block_on("postcode", "last_name", "substr(first_name, 1, 1)"),
            block_on("postcode", "first_name", "substr(last_name, 1, 1)"),
            block_on("street", "postcode"), block_on("street", "city"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def main() -> None:
    task, left, right, out, threshold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    low = float(sys.argv[6]) if len(sys.argv) > 6 and task == "linkage" else threshold
    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    con.execute("CREATE TABLE l AS " + CLEAN.format(path=left.replace("'", "''")))
    if right != "-":
        con.execute("CREATE TABLE r AS " + CLEAN.format(path=right.replace("'", "''")))
    db = DuckDBAPI(connection=con)
    tables = [db.register("l", table_name="l_in")] + ([db.register("r", table_name="r_in")] if right != "-" else [])
    linker = Linker(tables if right != "-" else tables[0],
                    settings("link_only" if right != "-" else "dedupe_only"), log_level=None)
    t_load = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("national_id"), block_on("email")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name"), estimate_without_term_frequencies=True)
    t_train = time.perf_counter()
    pred, scored, rows = predict(linker, con, low)
    if task == "linkage":              # one-to-one, best first (what `concord match` does)
        pairs = one_to_one(rows)
        t_end, c_end = time.perf_counter(), time.process_time()
    else:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            pred, threshold_match_probability=threshold)
        members: dict[str, list[str]] = {}
        for uid, cid in con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall():
            members.setdefault(str(cid), []).append(uid)
        t_end, c_end = time.perf_counter(), time.process_time()     # (the levels below are not splink's work)
        clustered = {(min(a, b), max(a, b)) for ids in members.values() for i, a in enumerate(ids) for b in ids[i + 1:]}
        pairs = cluster_levels(rows)
        if {(a, b) for a, b, _p in pairs} != clustered:
            sys.exit(f"levels disagree with splink's clusters: {len(pairs)} pairs vs {len(clustered)}")
    finish(out, pairs, t0=t0, c0=c0, t_load=t_load, t_train=t_train, scored=scored,
           links=sum(p >= threshold for _a, _b, p in rows),
           t_end=t_end, c_end=c_end)


def predict(linker: Linker, con: duckdb.DuckDBPyConnection, threshold: float) -> tuple[Any, int, list[tuple[str, str, float]]]:
    """splink's predictions: the table, how many pairs it scored, and the pairs at or above ``threshold``."""
    pred = linker.inference.predict(threshold_match_probability=min(threshold, 0.5))
    scored = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchone()[0]
    rows = con.execute(f"SELECT unique_id_l, unique_id_r, match_probability FROM {pred.physical_name} "
                       f"WHERE match_probability >= {threshold}").fetchall()
    return pred, scored, rows


def finish(out: str, pairs: list[tuple[str, str, float]], *, t0: float, c0: float, t_load: float, t_train: float,
           scored: int, links: int, t_end: float | None = None, c_end: float | None = None) -> None:
    """Write the pairs with their levels to ``out`` and print the report line (times inside this process,
    up to ``t_end``/``c_end`` when given, else now)."""
    t_end = time.perf_counter() if t_end is None else t_end
    c_end = time.process_time() if c_end is None else c_end
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["left_id", "right_id", "level"])
        w.writerows(pairs)
    print(json.dumps({"seconds": round(t_end - t0, 3), "cpu_seconds": round(c_end - c0, 3),
                      "load_seconds": round(t_load - t0, 3), "train_seconds": round(t_train - t_load, 3),
                      "predict_seconds": round(t_end - t_train, 3), "scored_pairs": scored, "links_at_threshold": links,
                      "splink": splink.__version__, "duckdb": duckdb.__version__}))

if __name__ == "__main__":
    main()
