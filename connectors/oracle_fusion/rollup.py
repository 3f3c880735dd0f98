"""Order delivery and billing status, rolled up from the fulfillment lines' statuses.

Oracle Order Management keeps shipping and billing per fulfillment line (the line's ``StatusCode``:
AWAIT_SHIPPING, PARTIALLY_SHIPPED, SHIPPED, AWAIT_BILLING, BILLED, CLOSED, CANCELED); the order header has
only its overall ``StatusCode``. The connector adds two read-only attributes to each order it reads, so a
mapping can take the order's delivery and billing status like any attribute:

- ``FulfillmentDeliveryStatus``: NOT_SHIPPED / PARTIALLY_SHIPPED / SHIPPED over the lines that are not canceled
- ``FulfillmentBillingStatus``: NOT_BILLED / PARTIALLY_BILLED / BILLED

An order without lines (or with only canceled ones) gets neither.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from concord.hub.contracts import EntitySpec, FieldSpec, Page

LINES = "lines"
SHIPPED = {"SHIPPED", "AWAIT_BILLING", "BILLED", "CLOSED"}
BILLED = {"BILLED", "CLOSED"}
DELIVERY, BILLING = "FulfillmentDeliveryStatus", "FulfillmentBillingStatus"


def applies(spec: EntitySpec) -> bool:
    lines = spec.field(LINES)
    return lines is not None and any(f.name == "StatusCode" for f in lines.children or ())


def with_fields(spec: EntitySpec) -> EntitySpec:
    extra = (FieldSpec(name=DELIVERY, type="string", createable=False, updateable=False, filterable=False,
                       picklist=("NOT_SHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"),
                       label="Delivery status of the lines (added by the connector)"),
             FieldSpec(name=BILLING, type="string", createable=False, updateable=False, filterable=False,
                       picklist=("NOT_BILLED", "PARTIALLY_BILLED", "BILLED"),
                       label="Billing status of the lines (added by the connector)"))
    return spec.model_copy(update={"fields": (*(spec.fields or ()), *extra)})


def _level(states: Sequence[str], done: set[str], partial: set[str], words: tuple[str, str, str]) -> str:
    n = sum(1 for s in states if s in done)
    if n == len(states):
        return words[2]
    return words[1] if n or any(s in partial for s in states) else words[0]


def rollup(record: Mapping[str, Any]) -> dict[str, Any]:
    lines = record.get(LINES)
    states = [str(ln.get("StatusCode") or "") for ln in lines or () if isinstance(ln, Mapping)]
    states = [s for s in states if s != "CANCELED"]
    if not states:
        return dict(record)
    return {**record,
            DELIVERY: _level(states, SHIPPED, {"PARTIALLY_SHIPPED"}, ("NOT_SHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")),
            BILLING: _level(states, BILLED, set(), ("NOT_BILLED", "PARTIALLY_BILLED", "BILLED"))}


def with_rollups(pages: Iterator[Page]) -> Iterator[Page]:
    for page in pages:
        yield page.model_copy(update={"records": [rollup(r) for r in page.records]}) if page.records else page
