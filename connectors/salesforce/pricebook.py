"""A product's list price as its standard price book entry (Product2 + PricebookEntry).

The product mapping writes the price into the path the read side shows it at, the standard
price book subquery ``PricebookEntries.records[0]`` (``UnitPrice``, ``CurrencyIsoCode``,
``IsActive``). A Product2 change that carries it is written in two steps:

1. the Product2 fields, as any change (collections / upsert by ``Concord_Id__c``), which gives the Ids;
2. the standard entries, with the fewest calls:
   - the standard price book's Id: ``SELECT Id FROM Pricebook2 WHERE IsStandard = true`` once per connector;
   - the existing standard entries of the products that were *updated* (a product Salesforce just created
     has none): one ``SELECT .. FROM PricebookEntry WHERE Pricebook2Id = .. AND Product2Id IN (..)`` per 200;
   - ``POST composite/sobjects`` for missing entries, ``PATCH composite/sobjects`` for entries whose price,
     currency or active flag differ; an entry that already says what the change says is not written.

A retry therefore never creates a second entry (and Salesforce refuses one anyway: ``DUPLICATE_VALUE``
"This price definition already exists in this price book"). An entry is unique per product, price book
and currency: a product whose price moves to another currency gets a new entry; the old one stays.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from simple_salesforce import exceptions as sfx

from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import HubError, RecordError
from concord.connectors.salesforce.read import quote
from concord.connectors.salesforce.write import MAX_COLLECTION, CollectionWriter, call_error, chunks

RELATIONSHIP = "PricebookEntries"
ENTRY_FIELDS = ("UnitPrice", "CurrencyIsoCode", "IsActive")
ENTRY_SPEC = EntitySpec(name="PricebookEntry", primary_key=("Id",))


def split(change: Change) -> tuple[Change, dict[str, Any] | None]:
    """The Product2 change without its price part, and the price part (None when the change has none)."""
    nested = change.fields.get(RELATIONSHIP)
    if RELATIONSHIP not in change.fields:
        return change, None
    fields = {k: v for k, v in change.fields.items() if k != RELATIONSHIP}
    records = (nested or {}).get("records") if isinstance(nested, dict) else None
    entry = dict(records[0]) if isinstance(records, list) and records and isinstance(records[0], dict) else {}
    entry = {k: v for k, v in entry.items() if k in ENTRY_FIELDS}
    if "IsActive" not in entry and "IsActive" in fields:        # the entry follows the product's active flag
        entry["IsActive"] = fields["IsActive"]
    return change.model_copy(update={"fields": fields}), entry


class StandardPrices:
    """Writes standard price book entries for Product2 changes (see the module doc)."""

    def __init__(self, sf: Any) -> None:
        self.sf = sf
        self._standard: str | None = None

    def standard_pricebook(self) -> str:
        if self._standard is None:
            rows = self.sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1").get("records") or []
            if not rows:
                raise RecordError("salesforce: the org has no standard price book (Products are not enabled?)",
                                  code="STANDARD_PRICEBOOK_MISSING", system="salesforce")
            self._standard = str(rows[0]["Id"])
        return self._standard

    def apply(self, results: Sequence[WriteResult], entries: dict[int, dict[str, Any]],
              originals: Sequence[Change]) -> list[WriteResult]:
        """``results[i]`` is the Product2 write of ``originals[i]``; ``entries[i]`` its price part."""
        out = [r.model_copy(update={"change": originals[i]}) for i, r in enumerate(results)]
        todo = {i: e for i, e in entries.items() if out[i].ok and out[i].target_id and e.get("UnitPrice") is not None}
        if not todo:
            return out
        try:
            book = self.standard_pricebook()
            existing = self._existing(book, [out[i].target_id for i in todo if not out[i].created])
        except (sfx.SalesforceError, requests.RequestException, HubError) as exc:
            err = call_error("PricebookEntry", exc)
            for i in todo:
                out[i] = WriteResult(change=originals[i], ok=False, target_id=out[i].target_id, error=err,
                                     created=out[i].created)
            return out
        creates: list[tuple[int, Change]] = []
        updates: list[tuple[int, Change]] = []
        for i, entry in todo.items():
            pid = str(out[i].target_id)
            rows = existing.get(pid, [])
            cur = entry.get("CurrencyIsoCode")
            match = [r for r in rows if cur is None or (r.get("CurrencyIsoCode") or "") == cur]
            if cur is None and len(match) > 1:
                match = []                    # several currencies and none named: nothing to pick, create
            body = dict(entry)
            if match:
                row = match[0]
                diff = {k: v for k, v in body.items() if k != "CurrencyIsoCode" and not _same(row.get(k), v)}
                if row.get("UseStandardPrice"):
                    diff["UseStandardPrice"] = False
                if diff:
                    updates.append((i, originals[i].model_copy(update={"key": row["Id"], "fields": diff})))
            else:
                body.setdefault("IsActive", True)
                creates.append((i, originals[i].model_copy(update={"key": None, "fields": {
                    "Pricebook2Id": book, "Product2Id": pid, **body}})))
        writer = CollectionWriter(self.sf, ENTRY_SPEC, None)     # composite/sobjects POST / PATCH, as any write
        for group, send in ((creates, writer.create), (updates, writer.update)):
            if not group:
                continue
            for (i, _), res in zip(group, send([c for _, c in group])):
                if not res.ok:
                    out[i] = WriteResult(change=originals[i], ok=False, target_id=out[i].target_id, error=res.error,
                                         created=out[i].created)
        return out

    def _existing(self, book: str, product_ids: list[Any]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for batch in chunks([str(p) for p in product_ids], MAX_COLLECTION):
            soql = ("SELECT Id, Product2Id, UnitPrice, CurrencyIsoCode, IsActive, UseStandardPrice FROM PricebookEntry "
                    f"WHERE Pricebook2Id = {quote(book)} AND Product2Id IN ({', '.join(quote(p) for p in batch)}) "
                    "ORDER BY CreatedDate, Id")
            for row in self.sf.query_all_iter(soql):
                found.setdefault(str(row["Product2Id"]), []).append(row)
        return found


def _same(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return str(have).lower() == str(want).lower()
    try:
        return float(have) == float(want)
    except (TypeError, ValueError):
        return str(have or "") == str(want or "")
