"""Invoices to cash: the ERP's receivables invoices roll up onto the account (open, overdue, last
payment, count), and the roll-ups reach the CRM account in the same sync."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import run_cli
from tests.engine.helpers import read_jsonl, write_jsonl

INVOICE_MAPPING = """\
entity: invoice
source: invoices
fields:
  invoice_number: {from: InvoiceNo, direction: in}
  account_ref: {from: CustomerNo, lookup: account}
  invoice_date: {from: InvoiceDate, transform: {date: iso}}
  due_date: {from: DueDate, transform: {date: iso}}
  currency: {from: Currency, transform: currency}
  amount: {from: Amount, transform: decimal}
  open_amount: {from: OpenAmount, transform: decimal}
  status: {from: Status, map: {OPEN: open, PART: partially_paid, PAID: paid, OVERDUE: overdue}}
  last_payment_date: {from: PaidOn, transform: {date: iso}}
"""

ROLLUP = {"name": "receivables", "from": "invoice", "to": "account", "via": "account_ref", "fields": {
    "open_receivables": {"sum": "open_amount", "where": [{"field": "status", "in": ["open", "partially_paid", "overdue"]}]},
    "overdue_receivables": {"sum": "open_amount", "where": [{"field": "status", "in": ["open", "partially_paid", "overdue"]},
                                                            {"field": "due_date", "lt": "$today"}]},
    "last_payment_date": {"max": "last_payment_date"},
    "invoice_count": {"count": True}}}

PAST = (dt.date.today() - dt.timedelta(days=30)).isoformat()
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def _inv(no: str, customer: str, amount: str, open_: str, status: str, due: str, paid: str | None = None) -> dict:
    return {"InvoiceNo": no, "CustomerNo": customer, "InvoiceDate": "2026-11-01", "DueDate": due,
            "Currency": "EUR", "Amount": amount, "OpenAmount": open_, "Status": status, "PaidOn": paid,
            "ChangedAt": "2026-11-20T10:00:00"}


def _project(starter: Path) -> None:
    (starter / "mappings/erp/invoice.yaml").write_text(INVOICE_MAPPING)
    write_jsonl(starter / "data/erp/invoices.jsonl", [
        _inv("INV-1", "C1", "1000.00", "1000.00", "OPEN", PAST),            # overdue by date
        _inv("INV-2", "C1", "500.00", "200.00", "PART", FUTURE, "2026-11-15"),
        _inv("INV-3", "C1", "300.00", "0", "PAID", PAST, "2026-11-25"),
        _inv("INV-4", "C2", "700.00", "700.00", "OPEN", FUTURE),
    ])
    crm_map = starter / "mappings/crm/account.yaml"
    crm_map.write_text(crm_map.read_text().rstrip("\n") + "\n"
                       "  open_receivables: {from: open_ar, transform: decimal}\n"
                       "  overdue_receivables: {from: overdue_ar, transform: decimal}\n"
                       "  last_payment_date: {from: last_payment, transform: {date: iso}}\n")
    cfg = yaml.safe_load((starter / "concord.yaml").read_text())
    cfg["systems"]["erp"]["config"]["entities"]["invoices"] = {
        "file": "invoices.jsonl", "key": "InvoiceNo", "modified_column": "ChangedAt", "read_only": True,
        "fields": {"InvoiceNo": "id", "CustomerNo": "string", "InvoiceDate": "date", "DueDate": "date",
                   "Currency": "string", "Amount": "decimal", "OpenAmount": "decimal", "Status": "string",
                   "PaidOn": "date", "ChangedAt": "datetime"}}
    crm_fields = cfg["systems"]["crm"]["config"]["entities"]["accounts"]["fields"]
    crm_fields.update({"open_ar": "decimal", "overdue_ar": "decimal", "last_payment": "date"})
    cfg["entities"]["invoice"] = {"sources": {"erp": {"mapping": "mappings/erp/invoice.yaml"}}}
    cfg["rollups"] = [ROLLUP]
    (starter / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))


def _accounts(url: str) -> dict[str, dict]:
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            a = T.CANONICAL["account"]
            return {r.name: dict(r._mapping) for r in conn.execute(a.select())}
    finally:
        wh.dispose()


def test_invoices_roll_up_onto_the_account_and_reach_the_crm(starter: Path, database_url: str) -> None:
    _project(starter)
    run_cli("check", cwd=starter)
    out = json.loads(run_cli("sync", "--json", cwd=starter, check=False).stdout)
    assert out["status"] in ("success", "partial"), out
    acc = _accounts(database_url)
    nordwind = next(v for k, v in acc.items() if k.startswith("Nordwind"))
    assert nordwind["open_receivables"] == 1200 and nordwind["overdue_receivables"] == 1000
    assert str(nordwind["last_payment_date"]) == "2026-11-25" and nordwind["invoice_count"] == 3
    bluepeak = next(v for k, v in acc.items() if k.startswith("Bluepeak"))
    assert bluepeak["open_receivables"] == 700 and bluepeak["overdue_receivables"] == 0
    crm = {r["id"]: r for r in read_jsonl(starter / "data/crm/accounts.jsonl")}
    assert str(crm["acc-1"]["open_ar"]) in ("1200", "1200.0", "1200.00")
    assert str(crm["acc-1"]["overdue_ar"]) in ("1000", "1000.0", "1000.00")
    assert crm["acc-1"]["last_payment"] == "2026-11-25"

    # a payment arrives: the roll-up follows at the next sync, and nothing else moves
    rows = read_jsonl(starter / "data/erp/invoices.jsonl")
    for r in rows:
        if r["InvoiceNo"] == "INV-1":
            r.update(OpenAmount="0", Status="PAID", PaidOn="2026-12-01", ChangedAt="2026-12-01T09:00:00")
    write_jsonl(starter / "data/erp/invoices.jsonl", rows)
    run_cli("sync", cwd=starter, check=False)
    nordwind = next(v for k, v in _accounts(database_url).items() if k.startswith("Nordwind"))
    assert nordwind["open_receivables"] == 200 and nordwind["overdue_receivables"] == 0
    assert str(nordwind["last_payment_date"]) == "2026-12-01"
    again = json.loads(run_cli("sync", "--json", cwd=starter, check=False).stdout)
    assert sum(d.get("written", 0) for per in again["streams"].values() for d in per.values()) == 0
