"""splink's side of the company benchmark (bench/matching_companies.py): run by the Python of splink's own
virtualenv, never imported by Concord (it needs only splink and duckdb).

    python bench/splink_company.py linkage LEFT.csv RIGHT.csv OUT.csv THRESHOLD [LOW]

Unsupervised, the way splink's documentation trains a model: the prior from deterministic rules (tax id,
web domain), u from random sampling, m by expectation maximisation in two sessions, blocked on the
postcode and on the cleaned name (each session estimates the fields it does not block on). Comparisons
comparable to Concord's rule (FS_COMPANY): the name without legal form and punctuation with Jaro-Winkler
bands and term frequencies, tax id and DUNS within one edit, ERP customer number, web domain, phone (its
last 8 digits), street with Jaro-Winkler bands, postcode, city with term frequencies, country.
Predictions are blocked on keys at least as wide as Concord's rule's (identifiers, domain, phone, the
cleaned name, postcode with street or with the name's first letters). Linkage: pairs at or above
THRESHOLD made one-to-one best first (as ``concord match`` does; with LOW, the pairs at or above LOW,
whose levels give both).

Writes OUT.csv (left_id,right_id,level: every linked pair, level its probability, bench/splink_levels.py) and prints one JSON line: timings inside the process
(reading the files included; CPU time of all its threads), candidate pairs, versions.
"""
from __future__ import annotations

import csv
import sys
import time

import duckdb

import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink_levels import one_to_one             # the modules beside this script (same folder)
from splink_person import finish, predict

# legal forms as the world generator and its noise write them (bench/matching_accounts.py), and the usual others
LEGAL = ("gesellschaft mbh|gmbh|limited|ltd|incorporated|inc|corporation|corp|llc|l l c|b v|bv|n v|nv|"
         "company limited|co ltd|co|company|ag|sa|sas|sarl|spa|srl|plc|llp|lp|kg|oy|ab|as|pty")
CLEAN = """
WITH raw AS (SELECT * FROM {source})
SELECT id AS unique_id,
       nullif(trim(regexp_replace(regexp_replace(' ' || regexp_replace(lower(name), '[^a-z0-9\\p{{Han}}]+', ' ', 'g')
              || ' ', ' ({legal}) ', ' ', 'g'), '\\s+', ' ', 'g')), '') AS name,
       nullif(upper(regexp_replace(tax_id, '[^0-9A-Za-z]', '', 'g')), '') AS tax_id,
       nullif(regexp_replace(duns, '[^0-9]', '', 'g'), '') AS duns,
       nullif(upper(trim(erp_customer_number)), '') AS erp_customer_number,
       nullif(regexp_replace(regexp_replace(lower(trim(website)), '^(https?://)?(www\\.)?', ''), '/.*$', ''), '') AS domain,
       nullif(right(regexp_replace(phone, '[^0-9]', '', 'g'), 8), '') AS phone,
       nullif(lower(trim("billing_address.street")), '') AS street,
       nullif(upper(regexp_replace("billing_address.postal_code", '\\s', '', 'g')), '') AS postcode,
       nullif(lower(trim("billing_address.city")), '') AS city,
       nullif(upper(trim("billing_address.country")), '') AS country
FROM raw
"""
COLUMNS = ("id", "name", "tax_id", "duns", "erp_customer_number", "website", "phone", "billing_address.street",
           "billing_address.postal_code", "billing_address.city", "billing_address.country")


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.92, 0.80]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("tax_id", [1]),
            cl.DamerauLevenshteinAtThresholds("duns", [1]),
            cl.ExactMatch("erp_customer_number"),
            cl.ExactMatch("domain"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("street", [0.92, 0.80]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("tax_id"), block_on("duns"), block_on("erp_customer_number"), block_on("domain"),
            block_on("phone"), block_on("name"), block_on("postcode", "street"),
            block_on("postcode", "substr(name, 1, 3)"), block_on("city", "substr(name, 1, 4)"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _table(con: duckdb.DuckDBPyConnection, name: str, path: str) -> None:
    """The file's columns, any of COLUMNS it lacks as NULL (a system may hold no DUNS at all)."""
    with open(path, encoding="utf-8", newline="") as fh:
        have = set(next(csv.reader(fh)))
    missing = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in COLUMNS if c not in have)
    con.execute(f"CREATE VIEW {name}_raw AS SELECT *{', ' + missing if missing else ''} "
                f"FROM read_csv('{path.replace(chr(39), chr(39) * 2)}', all_varchar = true, header = true)")
    con.execute(f"CREATE TABLE {name} AS " + CLEAN.format(source=f"{name}_raw", legal=LEGAL))


def main() -> None:
    _task, left, right, out, threshold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    low = float(sys.argv[6]) if len(sys.argv) > 6 else threshold
    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    _table(con, "l", left)
    _table(con, "r", right)
    db = DuckDBAPI(connection=con)
    linker = Linker([db.register("l", table_name="l_in"), db.register("r", table_name="r_in")], settings(),
                    log_level=None)
    t_load = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match([block_on("tax_id"), block_on("domain")],
                                                                  recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name"), estimate_without_term_frequencies=True)
    t_train = time.perf_counter()
    _pred, scored, rows = predict(linker, con, low)
    finish(out, one_to_one(rows), t0=t0, c0=c0, t_load=t_load, t_train=t_train, scored=scored,
           links=sum(p >= threshold for _a, _b, p in rows))

if __name__ == "__main__":
    main()
