"""The analyst views ``customer_360`` and ``customer_kpi``: every column's value on a small warehouse
with known accounts, orders (open, billed, partly billed, cancelled) and invoices (paid, open,
overdue by date, flagged overdue by the ERP, cancelled, draft). Dates are relative to today (UTC), as
the views compute overdue amounts and the last 90 days against the current date."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.views import VIEWS, account_figures, ensure_views

TODAY = dt.datetime.now(dt.timezone.utc).date()
NOW = dt.datetime.now(dt.timezone.utc)


def d(days: int) -> dt.date:
    """``days`` from today (negative: in the past)."""
    return TODAY + dt.timedelta(days=days)


def _rows(table: str, *rows: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    cols = [c.name for c in T.CANONICAL[table].columns]
    return table, [{**{c: None for c in cols}, "_version": 1, "_updated_at": NOW, **r} for r in rows]


def acc(gid: str, name: str, **kw: Any) -> dict[str, Any]:
    return {"golden_id": gid, "name": name, **kw}


def order(gid: str, account: str | None, number: str | None, days: int | None, status: str | None, net: str | None,
          billing: str | None = None) -> dict[str, Any]:
    return {"golden_id": gid, "account_ref": account, "order_number": number, "order_date": None if days is None else d(days),
            "status": status, "billing_status": billing, "net_amount": None if net is None else Decimal(net),
            "currency": "EUR"}


def invoice(gid: str, account: str | None, number: str, days: int, due: int | None, amount: str, open_: str | None,
            status: str | None, paid: int | None = None, order_number: str | None = None) -> dict[str, Any]:
    return {"golden_id": gid, "account_ref": account, "invoice_number": number, "invoice_date": d(days),
            "due_date": None if due is None else d(due), "amount": Decimal(amount),
            "open_amount": None if open_ is None else Decimal(open_), "status": status,
            "last_payment_date": None if paid is None else d(paid), "order_number": order_number, "currency": "EUR"}


DATA = [
    _rows("account",
          acc("A", "Acme GmbH", erp_customer_number="C100", tax_id="DE111", lifecycle="customer", owner="anna",
              credit_limit=Decimal("10000"), currency="EUR"),
          acc("B", "Bare Ltd", lifecycle="prospect"),
          acc("C", "Cashless SA", credit_limit=Decimal("0"), currency="EUR"),
          acc("D", "Sameday Oy", credit_limit=Decimal("1000"), currency="EUR")),
    _rows("contact",
          {"golden_id": "p1", "last_name": "One", "account_ref": "A"},
          {"golden_id": "p2", "last_name": "Two", "account_ref": "A"},
          {"golden_id": "p3", "last_name": "Three", "account_ref": "C"},
          {"golden_id": "p4", "last_name": "Nobody", "account_ref": None}),
    _rows("opportunity",
          {"golden_id": "o1", "name": "open", "account_ref": "A", "status": "open", "amount": Decimal("1000")},
          {"golden_id": "o2", "name": "no outcome yet", "account_ref": "A", "status": None, "amount": Decimal("500")},
          {"golden_id": "o3", "name": "won", "account_ref": "A", "status": "won", "amount": Decimal("2000")},
          {"golden_id": "o4", "name": "lost", "account_ref": "A", "status": "lost", "amount": Decimal("700")}),
    _rows("sales_order",
          order("so1", "A", "SO-1", -400, "completed", "1000", "billed"),
          order("so2", "A", "SO-2", -200, "in_process", "3000", "partially_billed"),   # INV-3 billed 1000 of it
          order("so3", "A", "SO-3", -10, "open", "500", "not_billed"),
          order("so4", "A", "SO-4", -5, "cancelled", "9999", "not_billed"),             # left out everywhere
          order("so5", "A", "SO-5", -100, "completed", "1500"),                         # completed: taken as billed
          order("so9", "C", "SO-9", -50, "open", "700", "not_billed"),
          order("sd1", "D", None, -30, "open", "100"),                                  # not numbered by the ERP yet
          order("sd2", "D", "SD-2", -30, "open", "100"),
          order("orphan", None, "SO-X", -3, "open", "12345")),
    _rows("invoice",
          invoice("i1", "A", "INV-1", -380, -350, "1000", "0", "paid", paid=-355, order_number="SO-1"),
          invoice("i2", "A", "INV-2", -60, -30, "1200", "1200", "open"),                 # overdue by date
          invoice("i3", "A", "INV-3", -20, 10, "1000", "400", "partially_paid", paid=-3, order_number="SO-2"),
          invoice("i4", "A", "INV-4", -45, None, "300", None, "overdue"),                # flagged by the ERP
          invoice("i5", "A", "INV-5", -30, -1, "5000", "5000", "cancelled"),             # left out
          invoice("i6", "A", "INV-6", -10, 20, "100", "100", "draft"),                   # left out
          invoice("i7", "A", "INV-7", -100, -70, "800", "250", None),                    # overdue, no status
          invoice("i8", None, "INV-8", -5, -1, "777", "777", "open")),
]

XREF = [("A", "erp", "C100", "linked"), ("A", "crm", "a-1", "manual"), ("A", "zoho", "z-1", "deleted"),
        ("A", "crm", "a-1b", "linked"), ("C", "crm", "c-1", "linked")]

NULL = None
#: account -> column -> value (amounts compared to the cent, ratios as rounded by the view)
C360 = {
    "A": {"name": "Acme GmbH", "erp_customer_number": "C100", "tax_id": "DE111", "lifecycle": "customer", "owner": "anna",
          "credit_limit": 10000, "currency": "EUR", "systems": "crm,erp", "contact_count": 2,
          "open_opportunity_count": 2, "open_opportunity_amount": 1500, "won_opportunity_count": 1,
          "won_opportunity_amount": 2000, "order_count": 4, "order_net_amount": 6000,
          "first_order_date": d(-400), "last_order_date": d(-10),
          "invoice_count": 5, "invoice_amount": 4300, "open_amount": 2150, "overdue_amount": 1750,
          "overdue_invoice_count": 3, "last_invoice_date": d(-20), "last_payment_date": d(-3)},
    "B": {"name": "Bare Ltd", "erp_customer_number": NULL, "tax_id": NULL, "lifecycle": "prospect", "owner": NULL,
          "credit_limit": NULL, "currency": NULL, "systems": NULL, "contact_count": 0, "open_opportunity_count": 0,
          "open_opportunity_amount": 0, "won_opportunity_count": 0, "won_opportunity_amount": 0, "order_count": 0,
          "order_net_amount": 0, "first_order_date": NULL, "last_order_date": NULL, "invoice_count": 0,
          "invoice_amount": 0, "open_amount": 0, "overdue_amount": 0, "overdue_invoice_count": 0,
          "last_invoice_date": NULL, "last_payment_date": NULL},
    "C": {"systems": "crm", "contact_count": 1, "order_count": 1, "order_net_amount": 700, "first_order_date": d(-50),
          "last_order_date": d(-50), "invoice_count": 0, "open_amount": 0},
    "D": {"systems": NULL, "order_count": 2, "order_net_amount": 200, "first_order_date": d(-30),
          "last_order_date": d(-30)},
}
KPI = {
    # lifetime value: issued invoices 1000+1200+1000+300+800; frequency: 3 intervals over 390 days;
    # DSO: open 2150 / invoiced in the last 90 days (1200+1000+300) x 90; exposure: open 2150 + unbilled
    # orders (SO-2: 3000 - 1000 billed, SO-3: 500)
    "A": {"name": "Acme GmbH", "currency": "EUR", "credit_limit": 10000, "lifetime_value": 4300, "order_count": 4,
          "order_frequency": 2.81, "average_order_value": 1500, "open_receivables": 2150, "overdue_receivables": 1750,
          "invoiced_last_90_days": 2500, "days_sales_outstanding": 77.4, "open_order_value": 2500,
          "credit_exposure": 4650, "credit_utilisation": 0.465, "available_credit": 5350},
    "B": {"lifetime_value": 0, "order_count": 0, "order_frequency": NULL, "average_order_value": NULL,
          "open_receivables": 0, "overdue_receivables": 0, "invoiced_last_90_days": 0, "days_sales_outstanding": NULL,
          "open_order_value": 0, "credit_exposure": 0, "credit_utilisation": NULL, "available_credit": NULL},
    "C": {"lifetime_value": 0, "order_count": 1, "order_frequency": NULL, "average_order_value": 700,
          "days_sales_outstanding": NULL, "open_order_value": 700, "credit_exposure": 700,
          "credit_utilisation": NULL, "available_credit": -700},          # a limit of 0: no ratio
    "D": {"order_count": 2, "order_frequency": NULL, "average_order_value": 100,  # both on one day: no span
          "open_order_value": 200, "credit_exposure": 200, "credit_utilisation": 0.2, "available_credit": 800},
}


def norm(v: Any) -> Any:
    """One representation on both engines: numbers as floats to 3 places, dates as dates (SQLite returns ISO text)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float, Decimal)):
        return round(float(v), 3)
    if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def _fill(wh: Warehouse) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    with wh.tx() as conn:
        for table, rows in DATA:
            conn.execute(T.CANONICAL[table].insert(), rows)
        conn.execute(T.xref.insert(), [{"entity": "account", "golden_id": g, "system": s, "source_id": sid, "state": st,
                                        "created_at": now, "updated_at": now} for g, s, sid, st in XREF]
                     + [{"entity": "contact", "golden_id": "B", "system": "erp", "source_id": "P1", "state": "linked",
                         "created_at": now, "updated_at": now}])     # another entity's golden id: not B's system


@pytest.fixture
def wh(database_url: str):  # type: ignore[no-untyped-def]
    wh = Warehouse.open(database_url)
    _fill(wh)
    yield wh
    wh.dispose()


def _view(wh: Warehouse, name: str) -> dict[str, dict[str, Any]]:
    with wh.engine.connect() as c:
        return {r.golden_id: dict(r._mapping) for r in c.execute(text(f"SELECT * FROM {name}"))}


CASES = [(view, gid, col, want) for view, table in (("customer_360", C360), ("customer_kpi", KPI))
         for gid, cols in table.items() for col, want in cols.items()]


def test_every_column_of_both_views(wh: Warehouse) -> None:
    got = {"customer_360": _view(wh, "customer_360"), "customer_kpi": _view(wh, "customer_kpi")}
    assert set(got["customer_360"]) == set(got["customer_kpi"]) == {"A", "B", "C", "D"}   # one row per account
    wrong = [f"{view}.{col} of {gid}: got {got[view][gid][col]!r}, want {want!r}"
             for view, gid, col, want in CASES if norm(got[view][gid][col]) != norm(want)]
    assert not wrong, "\n".join(wrong)
    # every documented column is asserted for account A (the table above is complete)
    assert set(C360["A"]) | {"golden_id"} == set(got["customer_360"]["A"])
    assert set(KPI["A"]) | {"golden_id"} == set(got["customer_kpi"]["A"])


def test_one_account_figures_equal_the_views(wh: Warehouse) -> None:
    views = {"customer_360": _view(wh, "customer_360"), "customer_kpi": _view(wh, "customer_kpi")}
    with wh.engine.connect() as c:
        for gid in ("A", "B", "C", "D"):
            one = account_figures(c, gid)
            for name in VIEWS:
                assert {k: norm(v) for k, v in one[name].items()} == {k: norm(v) for k, v in views[name][gid].items()}
        assert account_figures(c, "nope") == {"customer_360": {}, "customer_kpi": {}}


def test_views_are_replaced_only_when_their_definition_changed(wh: Warehouse, database_url: str) -> None:
    with wh.engine.begin() as c:
        assert ensure_views(c) == []                                    # unchanged: left alone
        c.exec_driver_sql("DROP VIEW customer_kpi")
        c.exec_driver_sql("CREATE VIEW customer_kpi AS SELECT golden_id FROM account")   # an older definition
    wh.dispose()
    again = Warehouse.open(database_url)                                # migrate puts the current one back
    try:
        assert "lifetime_value" in _view(again, "customer_kpi")["A"]
        with again.engine.begin() as c:
            assert ensure_views(c) == []
            c.exec_driver_sql("DROP VIEW customer_360")
            assert ensure_views(c) == ["create view customer_360"]
    finally:
        again.dispose()
