"""Document lines: an Opportunity's OpportunityLineItems and an Order's OrderItems, written with their parent.

The mappings write lines where the read side shows them, the child subquery (``OpportunityLineItems.records``,
``OrderItems.records``), each line naming its product by ``Product2Id`` (the mapping's ``write_ref`` turns the
canonical sku into the product's Salesforce Id through the cross-reference). Salesforce wants more than that:
a line is a price book entry of the parent's price book in the parent's currency. A change that carries lines is
written in two steps:

1. the parent, as any change (which gives its Id; an Order without a price book gets the standard one, as a line
   needs it);
2. its lines: ``PricebookEntryId`` of each product in the standard price book and the parent's currency (one
   ``SELECT .. FROM PricebookEntry`` per parent), then ``POST composite/sobjects``. An update that carries lines
   replaces them: the parent's current lines are deleted first (the API has no line-level merge).

A line without a price (an ERP that prices its orders itself and shows no unit price, such as SAP's
API_SALES_ORDER_SRV) is sold at the entry's list price, the price Salesforce proposes. A product without an
active standard entry in that currency fails the change (``RecordError``), naming the product and currency. The
change fails as a whole: a parent this call created is deleted again (a retry creates parent and lines anew, as
an all-or-none call would); an updated parent keeps its new fields and the retry replaces its lines.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from simple_salesforce import exceptions as sfx

from concord.connectors.salesforce.pricebook import StandardPrices
from concord.connectors.salesforce.read import quote
from concord.connectors.salesforce.write import MAX_COLLECTION, CollectionWriter, call_error, chunks
from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import HubError, RecordError

#: parent sObject -> (child relationship, child sObject, the child's parent field)
PARENTS = {"Opportunity": ("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
           "Order": ("OrderItems", "OrderItem", "OrderId")}


def split(obj: str, change: Change) -> tuple[Change, list[dict[str, Any]] | None]:
    """The parent change without its lines, and the lines (None when the change carries none)."""
    rel = PARENTS[obj][0]
    if rel not in change.fields:
        return change, None
    nested = change.fields.get(rel)
    rows = nested.get("records") if isinstance(nested, dict) else nested
    lines = [dict(r) for r in rows or () if isinstance(r, dict)]
    return change.model_copy(update={"fields": {k: v for k, v in change.fields.items() if k != rel}}), lines


class Lines:
    """Writes the lines of parent changes after the parents (see the module doc)."""

    def __init__(self, sf: Any, prices: StandardPrices) -> None:
        self.sf, self.prices = sf, prices

    def apply(self, obj: str, results: Sequence[WriteResult], lines: dict[int, list[dict[str, Any]]],
              originals: Sequence[Change]) -> list[WriteResult]:
        _rel, child, link = PARENTS[obj]
        out = [r.model_copy(update={"change": originals[i]}) for i, r in enumerate(results)]
        for i, rows in lines.items():
            if not (out[i].ok and out[i].target_id):
                continue
            try:
                self._write(obj, child, link, str(out[i].target_id), bool(out[i].created), rows, originals[i])
            except (sfx.SalesforceError, requests.RequestException, HubError) as exc:
                target = out[i].target_id
                if out[i].created and self._undo(obj, str(target)):
                    target = None        # the change failed as a whole: its retry creates parent and lines anew
                out[i] = WriteResult(change=originals[i], ok=False, target_id=target,
                                     error=call_error(child, exc), created=False)
        return out

    def _undo(self, obj: str, parent: str) -> bool:
        """Delete a parent created in this call whose lines failed (as one all-or-none call would not have
        created it). False when that fails too: the parent stays, and a retry finds it by its external id."""
        writer = CollectionWriter(self.sf, EntitySpec(name=obj, primary_key=("Id",)), None)
        [res] = writer.delete([Change(op="delete", entity=obj, key=parent, fields={}, idempotency_key=parent)])
        return res.ok

    def _write(self, obj: str, child: str, link: str, parent: str, created: bool, rows: list[dict[str, Any]],
               change: Change) -> None:
        spec = EntitySpec(name=child, primary_key=("Id",))
        writer = CollectionWriter(self.sf, spec, None)
        if not created:                  # replace: the parent's current lines go first
            old = [r["Id"] for r in self.sf.query_all_iter(f"SELECT Id FROM {child} WHERE {link} = {quote(parent)}")]
            for batch in chunks(old, MAX_COLLECTION):
                gone = writer.delete([Change(op="delete", entity=child, key=k, fields={}, idempotency_key=k)
                                      for k in batch])
                bad = next((r for r in gone if not r.ok), None)
                if bad is not None and bad.error is not None:
                    raise bad.error
        if not rows:
            return
        book = self.prices.standard_pricebook()
        currency = change.fields.get("CurrencyIsoCode")
        products = sorted({str(r["Product2Id"]) for r in rows if r.get("Product2Id")})
        entries: dict[str, tuple[str, Any]] = {}
        for batch in chunks(products, MAX_COLLECTION):
            soql = (f"SELECT Id, Product2Id, UnitPrice, CurrencyIsoCode FROM PricebookEntry WHERE Pricebook2Id = {quote(book)} "
                    f"AND IsActive = true AND Product2Id IN ({', '.join(quote(p) for p in batch)})"
                    + (f" AND CurrencyIsoCode = {quote(str(currency))}" if currency else "")
                    + " ORDER BY CreatedDate, Id")
            for e in self.sf.query_all_iter(soql):
                entries.setdefault(str(e["Product2Id"]), (str(e["Id"]), e.get("UnitPrice")))
        creates = []
        for n, row in enumerate(rows, 1):
            pid = row.pop("Product2Id", None)
            if not pid or str(pid) not in entries:
                raise RecordError(f"salesforce {obj} {parent}: line {n}: product {pid or '(none)'} has no active entry "
                                  f"in the standard price book" + (f" in {currency}" if currency else ""),
                                  code="PRICEBOOK_ENTRY_MISSING", system="salesforce", record_id=parent,
                                  field="PricebookEntryId")
            entry, list_price = entries[str(pid)]
            body = {k: v for k, v in row.items() if v is not None}
            if body.get("UnitPrice") is None and "TotalPrice" not in body:
                body["UnitPrice"] = list_price      # no price on the line: the list price, as Salesforce proposes it
            creates.append(Change(op="create", entity=child, fields={link: parent, "PricebookEntryId": entry, **body},
                                  idempotency_key=f"{parent}:{n}"))
        for res in writer.create(creates):
            if not res.ok and res.error is not None:
                raise res.error
