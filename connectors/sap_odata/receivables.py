"""The receivable of a billing document: due date and open amount, added to A_BillingDocument records.

API_BILLING_DOCUMENT_SRV describes the SD billing document; the receivable it posts lives in FI (the customer
open item), which this API does not expose: no net due date, no open amount, no clearing date. Two of the three
follow from what the document does carry, the way FI derives them:

- ``NetDueDate``: FI's net due date is the baseline date (the billing date, S/4's default) plus the net days of
  the terms of payment key (``CustomerPaymentTerms``); the days per key come from the connector's
  ``payment_terms_net_days`` (S/4 best-practice keys by default). An unknown key gives no due date.
- ``OpenAmount``: ``InvoiceClearingStatus`` C (cleared) -> 0; A or blank (not cleared) -> ``TotalGrossAmount``;
  B (partially cleared) -> empty: the residual is only in FI (API_OPLACCTGDOCITEMCUBE_SRV), not read here.

The block the connector adds to every record::

    "Receivable": {"NetDueDate": "2026-03-31", "OpenAmount": "119"}
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from concord.hub.contracts import FieldSpec, Page

BILLING_SET = "A_BillingDocument"
BLOCK = "Receivable"
#: terms of payment key -> net days (S/4HANA best-practice keys; override with ``payment_terms_net_days``)
DEFAULT_NET_DAYS = {"0001": 0, "0002": 30, "0004": 0, "NT00": 0, "NT14": 14, "NT30": 30, "NT45": 45, "NT60": 60}


def receivable_field() -> FieldSpec:
    """The FieldSpec of the ``Receivable`` block (read-only), so that mappings are checked against it."""
    def ro(name: str, type_: str) -> FieldSpec:
        return FieldSpec(name=name, type=type_, createable=False, updateable=False, filterable=False)  # type: ignore[arg-type]
    return FieldSpec(name=BLOCK, type="object", createable=False, updateable=False, filterable=False,
                     label="Receivable derived from the billing document (added by the connector)",
                     children=(ro("NetDueDate", "date"), ro("OpenAmount", "decimal")))


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def receivable(record: Mapping[str, Any], net_days: Mapping[str, int]) -> dict[str, Any]:
    day = _day(record.get("BillingDocumentDate"))
    days = net_days.get(str(record.get("CustomerPaymentTerms") or ""))
    due = (day + dt.timedelta(days=days)).isoformat() if day is not None and days is not None else None
    status = str(record.get("InvoiceClearingStatus") or "")
    open_amount: str | None = None
    if status == "C":
        open_amount = "0"
    elif status in ("A", ""):
        try:
            gross = record.get("TotalGrossAmount")
            open_amount = None if gross in (None, "") else format(Decimal(str(gross)).normalize(), "f")
        except (InvalidOperation, ValueError):
            open_amount = None
    return {"NetDueDate": due, "OpenAmount": open_amount}


def with_receivable(pages: Iterator[Page], net_days: Mapping[str, int]) -> Iterator[Page]:
    for page in pages:
        if not page.records:
            yield page
            continue
        records = [{**r, BLOCK: receivable(r, net_days)} for r in page.records]
        yield page.model_copy(update={"records": records})
