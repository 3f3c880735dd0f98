"""Analyst views over the typed canonical tables: ``customer_360`` and ``customer_kpi``.

Concord creates and keeps them itself (``Warehouse.migrate`` calls :func:`ensure_views` right after
``evolve``): each view's SQL is generated here for the warehouse's dialect, and a view whose
definition changed (or that is missing) is dropped and created again; an unchanged one is left alone,
so a long analyst query is never blocked by a routine ``Warehouse.open``. The generated text carries a
hash of the definition (SQLite keeps it in ``sqlite_master``; PostgreSQL as the view's comment).

One definition, two dialects: the SQL is written once below with a few dialect helpers for what
differs (today's date, days between two dates, ``GREATEST``, string aggregation). Column names and
meanings are the same on both; ``docs/analytics.md`` documents every column.

- "Today" is the current date in **UTC** on both engines (SQLite ``date('now')``; PostgreSQL
  ``now() AT TIME ZONE 'UTC'``), evaluated when the view is queried.
- Documents belong to the account their ``account_ref`` names. Cancelled orders and cancelled or draft
  invoices are left out of every figure. Amounts are summed as stored, without currency conversion.
- The canonical tables hold live golden records only (a deleted golden record leaves them), so every
  figure is over live records.

The same generated SQL, restricted to one account by a bound parameter, serves the dashboard's record
page (:func:`account_figures`): the page and an analyst's query cannot disagree.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

log = logging.getLogger("concord.warehouse")

VIEWS = ("customer_360", "customer_kpi")
MARK = "concord-view:"

#: indexes the views' joins need beyond the Alembic ones (``account_ref`` of sales_order and invoice)
INDEXES = (("ix_contact_account", "contact", "account_ref"),
           ("ix_opportunity_account", "opportunity", "account_ref"))


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def pg(self) -> bool:
        return self.name == "postgresql"

    def today(self) -> str:
        return "CAST((now() AT TIME ZONE 'UTC') AS date)" if self.pg else "date('now')"

    def days_ago(self, n: int) -> str:
        return f"({self.today()} - {int(n)})" if self.pg else f"date('now', '-{int(n)} days')"

    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (both dates)."""
        return f"({later} - {earlier})" if self.pg else f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    def systems(self, where: str) -> str:
        """Sorted, comma-separated distinct systems of the xref rows matching ``where``."""
        if self.pg:
            return f"(SELECT string_agg(DISTINCT x.system, ',' ORDER BY x.system) FROM xref x WHERE {where})"
        return (f"(SELECT group_concat(s.system, ',') FROM (SELECT DISTINCT x.system FROM xref x "
                f"WHERE {where} ORDER BY x.system) s)")

    def number(self, expr: str) -> str:
        """A decimal result of a flat ``a * b / c`` expression: PostgreSQL computes in numeric; SQLite in
        floating point, forced from the first operand on (whole amounts are stored as integers there, and
        integer division would truncate)."""
        return f"CAST({expr} AS NUMERIC)" if self.pg else f"(1.0 * {expr})"


# ---- the building blocks ---------------------------------------------------------------------------
# An invoice counts when issued (not cancelled, not a draft). Its open amount is 0 once paid, else the
# ERP's open amount (the full amount when the ERP gives none). It is overdue when something is open and
# its due date has passed, or the ERP flags it overdue.
def invoice_open_sql(i: str = "i") -> str:
    """The open amount of one invoice (table alias ``i``)."""
    return f"(CASE WHEN {i}.status IN ('paid', 'cancelled', 'draft') THEN 0 ELSE COALESCE({i}.open_amount, {i}.amount, 0) END)"


def invoice_overdue_sql(d: Dialect, i: str = "i") -> str:
    """1 when the invoice (table alias ``i``) is overdue, else 0."""
    return (f"(CASE WHEN {invoice_open_sql(i)} > 0 AND ({i}.due_date < {d.today()} OR {i}.status = 'overdue') "
            f"THEN 1 ELSE 0 END)")


def _invoice_facts(d: Dialect, acct: str) -> str:
    return f"""SELECT i.account_ref AS account_id, i.invoice_date, i.amount, i.last_payment_date,
        {invoice_open_sql()} AS open_amt,
        CASE WHEN {invoice_overdue_sql(d)} = 1 THEN {invoice_open_sql()} ELSE 0 END AS overdue_amt
      FROM invoice i
      WHERE i.account_ref IS NOT NULL {acct.format(col='i.account_ref')}
        AND (i.status IS NULL OR i.status NOT IN ('cancelled', 'draft'))"""


def _invoices(d: Dialect, acct: str) -> str:
    return f"""(SELECT f.account_id,
        COUNT(*) AS invoice_count,
        COALESCE(SUM(f.amount), 0) AS invoice_amount,
        COALESCE(SUM(f.open_amt), 0) AS open_amount,
        COALESCE(SUM(f.overdue_amt), 0) AS overdue_amount,
        SUM(CASE WHEN f.overdue_amt > 0 THEN 1 ELSE 0 END) AS overdue_invoice_count,
        MIN(f.invoice_date) AS first_invoice_date,
        MAX(f.invoice_date) AS last_invoice_date,
        MAX(f.last_payment_date) AS last_payment_date,
        COALESCE(SUM(CASE WHEN f.invoice_date >= {d.days_ago(90)} AND f.invoice_date <= {d.today()}
                          THEN f.amount END), 0) AS invoiced_last_90_days
      FROM ({_invoice_facts(d, acct)}) f
      GROUP BY f.account_id)"""


# An order counts unless cancelled. Its value not yet invoiced: net amount less what issued invoices
# naming its number have billed (never below 0), for orders neither cancelled, draft nor billed (a
# completed order without a billing status is taken as billed).
def _orders(d: Dialect, acct: str) -> str:
    billed = f"""(SELECT i.account_ref, i.order_number, SUM(COALESCE(i.amount, 0)) AS billed
        FROM invoice i
        WHERE i.account_ref IS NOT NULL AND i.order_number IS NOT NULL {acct.format(col='i.account_ref')}
          AND (i.status IS NULL OR i.status NOT IN ('cancelled', 'draft'))
        GROUP BY i.account_ref, i.order_number)"""
    unbilled = f"""CASE WHEN o.status IN ('cancelled', 'draft') OR o.billing_status = 'billed'
                 OR (o.billing_status IS NULL AND o.status = 'completed') THEN 0
            ELSE {d.greatest("COALESCE(o.net_amount, 0) - COALESCE(b.billed, 0)", "0")} END"""
    live = "(o.status IS NULL OR o.status <> 'cancelled')"
    return f"""(SELECT o.account_ref AS account_id,
        SUM(CASE WHEN {live} THEN 1 ELSE 0 END) AS order_count,
        COALESCE(SUM(CASE WHEN {live} THEN o.net_amount END), 0) AS order_net_amount,
        AVG(CASE WHEN {live} THEN o.net_amount END) AS average_order_value,
        MIN(CASE WHEN {live} THEN o.order_date END) AS first_order_date,
        MAX(CASE WHEN {live} THEN o.order_date END) AS last_order_date,
        SUM(CASE WHEN {live} AND o.order_date IS NOT NULL THEN 1 ELSE 0 END) AS dated_order_count,
        COALESCE(SUM({unbilled}), 0) AS open_order_value
      FROM sales_order o
      LEFT JOIN {billed} b ON b.account_ref = o.account_ref AND b.order_number = o.order_number
      WHERE o.account_ref IS NOT NULL {acct.format(col='o.account_ref')}
      GROUP BY o.account_ref)"""


# An opportunity without an outcome (status NULL) is open.
def _opportunities(acct: str) -> str:
    return f"""(SELECT p.account_ref AS account_id,
        SUM(CASE WHEN COALESCE(p.status, 'open') = 'open' THEN 1 ELSE 0 END) AS open_opportunity_count,
        COALESCE(SUM(CASE WHEN COALESCE(p.status, 'open') = 'open' THEN p.amount END), 0) AS open_opportunity_amount,
        SUM(CASE WHEN p.status = 'won' THEN 1 ELSE 0 END) AS won_opportunity_count,
        COALESCE(SUM(CASE WHEN p.status = 'won' THEN p.amount END), 0) AS won_opportunity_amount
      FROM opportunity p
      WHERE p.account_ref IS NOT NULL {acct.format(col='p.account_ref')}
      GROUP BY p.account_ref)"""


def _contacts(acct: str) -> str:
    return f"""(SELECT c.account_ref AS account_id, COUNT(*) AS contact_count
      FROM contact c
      WHERE c.account_ref IS NOT NULL {acct.format(col='c.account_ref')}
      GROUP BY c.account_ref)"""


def _from(d: Dialect, acct: str, *, contacts: bool, opportunities: bool) -> str:
    parts = ["FROM account a",
             f"LEFT JOIN {_orders(d, acct)} o ON o.account_id = a.golden_id",
             f"LEFT JOIN {_invoices(d, acct)} i ON i.account_id = a.golden_id"]
    if contacts:
        parts.append(f"LEFT JOIN {_contacts(acct)} c ON c.account_id = a.golden_id")
    if opportunities:
        parts.append(f"LEFT JOIN {_opportunities(acct)} p ON p.account_id = a.golden_id")
    where = acct.format(col="a.golden_id").replace("AND", "WHERE", 1) if acct else ""
    return "\n".join(parts) + ("\n" + where if where else "")


# ---- the views --------------------------------------------------------------------------------------
def customer_360_sql(d: Dialect, acct: str = "") -> str:
    return f"""SELECT a.golden_id, a.name, a.erp_customer_number, a.tax_id, a.lifecycle, a.owner,
  a.credit_limit, a.currency,
  {d.systems("x.entity = 'account' AND x.golden_id = a.golden_id AND x.state <> 'deleted'")} AS systems,
  COALESCE(c.contact_count, 0) AS contact_count,
  COALESCE(p.open_opportunity_count, 0) AS open_opportunity_count,
  COALESCE(p.open_opportunity_amount, 0) AS open_opportunity_amount,
  COALESCE(p.won_opportunity_count, 0) AS won_opportunity_count,
  COALESCE(p.won_opportunity_amount, 0) AS won_opportunity_amount,
  COALESCE(o.order_count, 0) AS order_count,
  COALESCE(o.order_net_amount, 0) AS order_net_amount,
  o.first_order_date, o.last_order_date,
  COALESCE(i.invoice_count, 0) AS invoice_count,
  COALESCE(i.invoice_amount, 0) AS invoice_amount,
  COALESCE(i.open_amount, 0) AS open_amount,
  COALESCE(i.overdue_amount, 0) AS overdue_amount,
  COALESCE(i.overdue_invoice_count, 0) AS overdue_invoice_count,
  i.last_invoice_date, i.last_payment_date
{_from(d, acct, contacts=True, opportunities=True)}"""


def customer_kpi_sql(d: Dialect, acct: str = "") -> str:
    open_ar = "COALESCE(i.open_amount, 0)"
    exposure = f"({open_ar} + COALESCE(o.open_order_value, 0))"
    span = d.days_between("o.last_order_date", "o.first_order_date")
    freq = (f"CASE WHEN o.dated_order_count >= 2 AND {span} > 0 "
            f"THEN ROUND({d.number(f'(o.dated_order_count - 1) * 365.25 / {span}')}, 2) END")
    dso = (f"CASE WHEN COALESCE(i.invoiced_last_90_days, 0) > 0 "
           f"THEN ROUND({d.number(f'{open_ar} * 90 / i.invoiced_last_90_days')}, 1) END")
    ratio = (f"CASE WHEN a.credit_limit > 0 THEN ROUND({d.number(f'{exposure} / a.credit_limit')}, 4) END")
    return f"""SELECT a.golden_id, a.name, a.currency, a.credit_limit,
  COALESCE(i.invoice_amount, 0) AS lifetime_value,
  COALESCE(o.order_count, 0) AS order_count,
  {freq} AS order_frequency,
  ROUND({d.number('o.average_order_value')}, 2) AS average_order_value,
  {open_ar} AS open_receivables,
  COALESCE(i.overdue_amount, 0) AS overdue_receivables,
  COALESCE(i.invoiced_last_90_days, 0) AS invoiced_last_90_days,
  {dso} AS days_sales_outstanding,
  COALESCE(o.open_order_value, 0) AS open_order_value,
  {exposure} AS credit_exposure,
  {ratio} AS credit_utilisation,
  CASE WHEN a.credit_limit IS NOT NULL THEN a.credit_limit - {exposure} END AS available_credit
{_from(d, acct, contacts=False, opportunities=False)}"""


DEFINITIONS: dict[str, Callable[..., str]] = {"customer_360": customer_360_sql, "customer_kpi": customer_kpi_sql}
ONE_ACCOUNT = " AND {col} = :golden_id"


def view_sql(dialect: str, name: str) -> str:
    """The SELECT behind a view, for this dialect."""
    return DEFINITIONS[name](Dialect(dialect))


def _create(dialect: str, name: str) -> tuple[str, str]:
    body = view_sql(dialect, name)
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"CREATE VIEW {name} AS\n-- {MARK}{digest}\n{body}", digest


def _installed(conn: Connection, name: str) -> str | None:
    """The definition hash of the installed view (None: missing; '' : not ours or unmarked)."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(text("SELECT c.relkind, obj_description(c.oid, 'pg_class') FROM pg_class c "
                                "WHERE c.oid = to_regclass(:n)"), {"n": name}).first()
        if row is None:
            return None
        return (row[1] or "").removeprefix(MARK) if row[0] == "v" else ""
    row = conn.execute(text("SELECT type, sql FROM sqlite_master WHERE name = :n"), {"n": name}).first()
    if row is None:
        return None
    if row[0] != "view":
        return ""
    for line in (row[1] or "").splitlines():
        if line.startswith("-- " + MARK):
            return line[len("-- " + MARK):].strip()
    return ""


def ensure_views(conn: Connection) -> list[str]:
    """Create or replace the analyst views whose definition changed; returns what was done."""
    dialect = conn.dialect.name
    wanted = {name: _create(dialect, name) for name in VIEWS}
    have = {name: _installed(conn, name) for name in VIEWS}
    done = []
    for index, table, column in INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})")
    stale = [n for n in VIEWS if have[n] != wanted[n][1]]
    for name in reversed(VIEWS):
        if name in stale and have[name] is not None:
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
    for name in stale:
        sql, digest = wanted[name]
        conn.exec_driver_sql(sql)
        if dialect == "postgresql":
            conn.exec_driver_sql(f"COMMENT ON VIEW {name} IS '{MARK}{digest}'")
        done.append(f"{'create' if have[name] is None else 'replace'} view {name}")
    for line in done:
        log.info("warehouse: %s", line)
    return done


# ---- one account, for the dashboard -----------------------------------------------------------------
def account_figures(conn: Connection, golden_id: str) -> dict[str, dict[str, Any]]:
    """``{"customer_360": row, "customer_kpi": row}`` of one account (empty dicts when unknown).

    The views' own SQL with the account pushed into every aggregate, so it reads only that account's
    rows through the ``account_ref`` indexes whatever the size of the warehouse."""
    d = Dialect(conn.dialect.name)
    out: dict[str, dict[str, Any]] = {}
    for name, build in DEFINITIONS.items():
        row = conn.execute(text(build(d, ONE_ACCOUNT)), {"golden_id": golden_id}).first()
        out[name] = dict(row._mapping) if row is not None else {}
    return out
