"""The record page of a golden account shows its orders, invoices (open amount, overdue flag) and the
KPIs of the ``customer_360`` / ``customer_kpi`` views, next to the lineage grid."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import delete, update

from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import read_headers

TODAY = dt.datetime.now(dt.timezone.utc).date()
NOW = dt.datetime.now(dt.timezone.utc)


def _d(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def _fill(filled) -> str:  # type: ignore[no-untyped-def]
    nord = filled.ids["nordwind"]
    so, inv, acc = T.CANONICAL["sales_order"], T.CANONICAL["invoice"], T.CANONICAL["account"]
    with filled.warehouse.tx() as c:
        c.execute(delete(so).where(so.c.account_ref == nord))
        c.execute(delete(inv).where(inv.c.account_ref == nord))
        c.execute(update(acc).where(acc.c.golden_id == nord).values(credit_limit=Decimal("5000")))
        c.execute(so.insert(), _full(so, [
            {"golden_id": "so-a", "order_number": "SO-1001", "account_ref": nord, "order_date": _d(-40), "status": "open",
             "delivery_status": "not_delivered", "billing_status": "not_billed", "net_amount": Decimal("2000"),
             "currency": "EUR", "_version": 1, "_updated_at": NOW},
            {"golden_id": "so-b", "order_number": "SO-<b>1002</b>", "account_ref": nord, "order_date": _d(-200),
             "status": "completed", "billing_status": "billed", "net_amount": Decimal("1000"), "currency": "EUR",
             "_version": 1, "_updated_at": NOW},
            {"golden_id": "so-c", "order_number": None, "account_ref": nord, "order_date": _d(-2), "status": "draft",
             "net_amount": Decimal("300"), "currency": "EUR", "_version": 1, "_updated_at": NOW}]))
        c.execute(inv.insert(), _full(inv, [
            {"golden_id": "inv-a", "invoice_number": "INV-2001", "account_ref": nord, "invoice_date": _d(-30),
             "due_date": _d(-5), "amount": Decimal("1190"), "open_amount": Decimal("1190"), "status": "open",
             "currency": "EUR", "_version": 1, "_updated_at": NOW},
            {"golden_id": "inv-b", "invoice_number": "INV-2002", "account_ref": nord, "invoice_date": _d(-190),
             "due_date": _d(-160), "amount": Decimal("1000"), "open_amount": Decimal("0"), "status": "paid",
             "currency": "EUR", "_version": 1, "_updated_at": NOW},
            {"golden_id": "inv-c", "invoice_number": "INV-2003", "account_ref": nord, "invoice_date": _d(-10),
             "due_date": _d(20), "amount": Decimal("500"), "open_amount": Decimal("500"), "status": "open",
             "currency": "EUR", "_version": 1, "_updated_at": NOW}]))
    return nord


def _full(table, rows):  # type: ignore[no-untyped-def]
    """Rows with every column (executemany wants the same keys in each)."""
    return [{**{col.name: None for col in table.columns}, **r} for r in rows]


def _row(html: str, marker: str) -> str:
    rows = [r for r in html.split("<tr") if marker in r]
    assert len(rows) == 1, (marker, rows)
    return re.sub(r"\s+", " ", rows[0])


def _kpi(html: str, cls: str) -> str:
    m = re.search(rf'<dd class="{cls}">(.*?)</dd>', html, re.DOTALL)
    assert m, cls
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))).strip()


def test_account_page_shows_orders_invoices_and_kpis(client, filled) -> None:  # type: ignore[no-untyped-def]
    nord = _fill(filled)
    res = client.get(f"/records/account/{nord}", headers=read_headers())
    assert res.status_code == 200
    html = res.text
    # orders: ERP number, status, delivery and billing status, net amount; an order not numbered yet
    assert "SO-1001" in _row(html, "SO-1001") and "open" in _row(html, "SO-1001")
    assert "not delivered · not billed" in _row(html, "SO-1001") and "2000.00 EUR" in _row(html, "SO-1001")
    assert "completed" in _row(html, "SO-&lt;b&gt;1002") and "<b>1002" not in html            # escaped
    assert "(not numbered yet)" in _row(html, "/records/sales_order/so-c") and "draft" in _row(html, "so-c")
    assert "Orders <small>3 of 3</small>" in html and "Invoices <small>3 of 3</small>" in html
    # invoices: number, due date, amount, open amount, overdue flag
    overdue = _row(html, "INV-2001")
    assert _d(-5).isoformat() in overdue and "1190.00" in overdue and "overdue" in overdue and 'class="overdue"' in overdue
    paid = _row(html, "INV-2002")
    assert "paid" in paid and "1000.00" in paid and "0.00 EUR" in paid and "overdue" not in paid
    assert "overdue" not in _row(html, "INV-2003") and _d(20).isoformat() in _row(html, "INV-2003")
    # KPIs, computed by hand: invoiced 1190 + 1000 + 500; open 1190 + 500, overdue 1190; DSO: open / the
    # last 90 days' invoices (1690) x 90; exposure: open receivables + SO-1001 not yet billed (2000)
    assert _kpi(html, "lifetime-value") == "2690.00 EUR"
    assert _kpi(html, "open-amount") == "1690.00"
    assert _kpi(html, "sub overdue-amount") == "overdue 1190.00 (1)"
    assert _kpi(html, "dso") == "90.0"
    assert _kpi(html, "aov") == "1100.00"                     # 3300 over 3 orders (a draft is an order)
    assert _kpi(html, "exposure") == "3690.00 of 5000.00"
    assert "73.8 % used" in html and "2000.00 in unbilled orders" in html and '<span class="w75"></span>' in html
    assert "frequency 3.69 / year" in html                   # 2 intervals over 198 days
    # the lineage grid is still there
    assert "Side by side" in html and "erp:C1" in html


def test_account_without_documents_and_other_entities(client, filled) -> None:  # type: ignore[no-untyped-def]
    html = client.get(f"/records/account/{filled.ids['bluepeak']}", headers=read_headers()).text
    assert "Customer 360" in html and _kpi(html, "lifetime-value").startswith("0.00")
    assert _kpi(html, "dso") == "—" and "Orders <small>0 of 0</small>" in html
    contact = client.get("/records?entity=contact", headers=read_headers()).text
    link = re.search(r'href="(/records/contact/[^"]+)"', contact)
    assert link and "Customer 360" not in client.get(link.group(1), headers=read_headers()).text
    # a golden account that has no canonical row (yet): the lists, and no figures
    cand = client.get("/records/account/cand-nordwind", headers=read_headers()).text
    assert "No figures" in cand
