"""Entities from ``describe``: fields, types, createable/updateable, picklists, external ids.

Relationship fields (``Account.Name``) and child subqueries (``OrderItems``) that the
connector selects are described too (as ``object`` fields with children), so
``concord check`` can validate mappings that read them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from concord.hub.contracts import CursorSpec, EntitySpec, FieldSpec

STANDARD_OBJECTS = ("Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2", "Pricebook2",
                    "PricebookEntry", "Order", "OrderItem")
ORDER_ITEM_FIELDS = ("Id", "Product2Id", "Product2.ProductCode", "PricebookEntryId", "Quantity", "UnitPrice",
                     "TotalPrice", "Description", "Line_Number__c", "Unit__c")
OPPORTUNITY_LINE_FIELDS = ("Id", "SortOrder", "PricebookEntryId", "Product2Id", "PricebookEntry.Product2.ProductCode",
                           "Quantity", "UnitPrice", "ListPrice", "TotalPrice", "Description")
#: the standard price book's entries of a product (one per currency in a multi-currency org)
STANDARD_PRICE_FIELDS = ("Id", "UnitPrice", "CurrencyIsoCode", "IsActive", "UseStandardPrice")
STANDARD_PRICES = (f"(SELECT {', '.join(STANDARD_PRICE_FIELDS)} FROM PricebookEntries "
                   "WHERE Pricebook2.IsStandard = true ORDER BY CreatedDate, Id)")
OPPORTUNITY_LINES = (f"(SELECT {', '.join(OPPORTUNITY_LINE_FIELDS)} FROM OpportunityLineItems "
                     "ORDER BY SortOrder NULLS LAST, CreatedDate, Id)")
DEFAULT_RELATIONSHIPS: dict[str, tuple[str, ...]] = {
    "Contact": ("Account.Name", "Account.Concord_Id__c"),
    "Opportunity": ("Account.Name", "Account.AccountNumber", OPPORTUNITY_LINES),
    "Product2": (STANDARD_PRICES,),
    "OpportunityLineItem": ("PricebookEntry.Product2.ProductCode", "Opportunity.Concord_Id__c"),
    "Order": ("Account.AccountNumber", "Account.Concord_Id__c",
              f"(SELECT {', '.join(ORDER_ITEM_FIELDS)} FROM OrderItems ORDER BY Line_Number__c)"),
    "OrderItem": ("Order.OrderNumber", "Product2.ProductCode"),
    "PricebookEntry": ("Product2.ProductCode",),
}
TYPES = {"id": "id", "reference": "reference", "string": "string", "textarea": "text", "picklist": "picklist",
         "multipicklist": "picklist", "combobox": "string", "boolean": "boolean", "int": "integer", "long": "integer",
         "double": "decimal", "currency": "decimal", "percent": "decimal", "date": "date", "datetime": "datetime",
         "time": "time", "email": "email", "phone": "phone", "url": "url", "address": "object", "location": "object",
         "base64": "binary", "encryptedstring": "string"}
COMPOUND = ("address", "location")
_SUB = re.compile(r"^\(\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<rel>\w+)(?P<rest>.*)\)$", re.I | re.S)


@dataclass(frozen=True)
class Subquery:
    relationship: str
    fields: tuple[str, ...]
    text: str


def parse_subquery(item: str) -> Subquery | None:
    m = _SUB.match(item.strip())
    if not m:
        return None
    return Subquery(m.group("rel"), tuple(f.strip() for f in m.group("fields").split(",")), item.strip())


def field_spec(f: Mapping[str, Any]) -> FieldSpec:
    picks = tuple(p["value"] for p in f.get("picklistValues") or () if p.get("active", True))
    return FieldSpec(name=f["name"], type=TYPES.get(f.get("type", ""), "other"),  # type: ignore[arg-type]
                     nullable=bool(f.get("nillable", True)), createable=bool(f.get("createable", False)),
                     updateable=bool(f.get("updateable", False)), filterable=bool(f.get("filterable", True)),
                     picklist=picks or None, max_length=f.get("length") or None, label=f.get("label"))


def _path_spec(name: str, describes: Mapping[str, Mapping[str, Any]], obj: Mapping[str, Any]) -> FieldSpec | None:
    """``Account.Name`` on Contact -> FieldSpec(Account, object, children=(Name,))."""
    rel, _, rest = name.partition(".")
    ref = next((f for f in obj["fields"] if (f.get("relationshipName") or "").lower() == rel.lower()), None)
    if ref is None or not ref.get("referenceTo"):
        return None
    parent = describes.get(ref["referenceTo"][0])
    if parent is None:
        return None
    if "." in rest:
        inner = _path_spec(rest, describes, parent)
        children = (inner,) if inner else ()
    else:
        f = next((x for x in parent["fields"] if x["name"].lower() == rest.lower()), None)
        children = (field_spec(f).model_copy(update={"createable": False, "updateable": False}),) if f else ()
    if not children:
        return None
    return FieldSpec(name=ref["relationshipName"], type="object", createable=False, updateable=False,
                     children=children)


def entity_spec(obj: Mapping[str, Any], describes: Mapping[str, Mapping[str, Any]], *, ext_field: str,
                extras: tuple[str, ...], lookback: float, max_batch: int = 200) -> EntitySpec:
    names = {f["name"] for f in obj["fields"]}
    fields = [field_spec(f) for f in obj["fields"]]
    merged: dict[str, FieldSpec] = {}
    for item in extras:
        sub = parse_subquery(item)
        if sub is not None:
            rel = next((c for c in obj.get("childRelationships") or () if (c.get("relationshipName") or "").lower()
                        == sub.relationship.lower()), None)
            child = describes.get(rel["childSObject"]) if rel else None
            if child is None:
                continue
            kids: list[FieldSpec] = []
            for fname in sub.fields:
                if "." in fname:
                    spec = _path_spec(fname, describes, child)
                else:
                    d = next((x for x in child["fields"] if x["name"].lower() == fname.lower()), None)
                    spec = field_spec(d) if d else None
                if spec:
                    kids.append(spec)
            records = FieldSpec(name="records", type="array", createable=False, updateable=False, children=tuple(kids))
            fields.append(FieldSpec(name=rel["relationshipName"], type="object", createable=False,  # type: ignore[index]
                                    updateable=False, children=(FieldSpec(name="totalSize", type="integer"),
                                                                FieldSpec(name="done", type="boolean"), records)))
            continue
        spec = _path_spec(item, describes, obj)
        if spec is None:
            continue
        prev = merged.get(spec.name)
        if prev is not None:
            spec = prev.model_copy(update={"children": (prev.children or ()) + (spec.children or ())})
        merged[spec.name] = spec
    fields.extend(merged.values())
    caps = {"read", "bulk"}
    if obj.get("createable", True):
        caps.add("create")
    if obj.get("updateable", True):
        caps.add("update")
    if obj.get("deletable", True):
        caps.add("delete")
    ext = next((f for f in obj["fields"] if f["name"] == ext_field and f.get("externalId")), None)
    if ext is not None:
        caps.add("upsert")
    cursor = None
    if "SystemModstamp" in names:
        cursor = CursorSpec(field="SystemModstamp", tiebreak="Id", kind="datetime", lookback_seconds=lookback)
        caps.add("incremental")
    return EntitySpec(name=obj["name"], primary_key=("Id",), cursor=cursor, capabilities=frozenset(caps),
                      external_id_field=ext["name"] if ext else None, max_batch=max_batch, fields=tuple(fields),
                      label=obj.get("label"))


def select_list(obj: Mapping[str, Any], extras: tuple[str, ...]) -> list[str]:
    """Every scalar field of the describe (compound address/location excluded) plus the extras."""
    out = [f["name"] for f in obj["fields"] if f.get("type") not in COMPOUND]
    out += [e for e in extras if e not in out]
    return out
