"""The company benchmark's probabilistic rule (bench/matching_companies.py), trained by EM on world accounts,
links the systems' views of one company and never two companies: a quality check, small and fast."""
from __future__ import annotations

from bench.matching_companies import run_companies


def test_probabilistic_company_linkage_is_precise_and_finds_nearly_every_pair() -> None:
    results = run_companies(1500, None, default_rules=False, pairs=(("erp", "crm"), ("crm", "cn")))
    for r in results:
        fs = r["probabilistic (EM)"]
        assert fs["true_pairs"] > 500, r
        assert fs["fp"] == 0, r                      # an ERP<->CRM hub must not merge two customers
        assert fs["recall"] >= 0.97, r
