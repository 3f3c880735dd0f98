"""The sandbox's org: sObject records, ids, timestamps, validation and triggers (thread-safe).

Values are kept in their JSON wire form (datetimes as ``2026-01-05T08:00:00.000+0000``,
dates ``2026-01-05``, numbers as numbers), so rendering a record is a dict copy.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

from concord.connectors.salesforce.sandbox.describes import OBJECTS, SObjectDef

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RETENTION = dt.timedelta(days=15)       # Recycle Bin: soft-deleted rows stay queryable for 15 days


class SfError(Exception):
    """One Salesforce error: ``errorCode`` (REST) / ``statusCode`` (collections), message, fields."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, extra: dict | None = None,
                 status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.extra, self.status = code, message, list(fields or []), extra, status

    def rest(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            out["fields"] = self.fields
        return out

    def collection(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statusCode": self.code, "message": self.message, "fields": self.fields}
        if self.extra:
            out.update(self.extra)
        return out


def fmt_dt(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_dt(text: str) -> dt.datetime:
    from concord.connectors.salesforce.sandbox.soql import parse_datetime

    return parse_datetime(text)


class Store:
    """All records of one sandbox org."""

    def __init__(self, objects: dict[str, SObjectDef] | None = None, *, users: tuple[str, ...] = ("005000000000001AAA",),
                 duplicate_rules: dict[str, str] | None = None) -> None:
        self.objects = dict(objects or OBJECTS)
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.objects}
        self.ext_index: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.deleted_at: dict[str, dt.datetime] = {}
        self.purged_until: dt.datetime | None = None
        self.truth: dict[str, int] = {}                # record id -> world index
        self._seq: dict[str, int] = {}
        self._last = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        self.users = users
        #: sObject -> field whose equal value (case-insensitive) is a duplicate (DUPLICATES_DETECTED)
        self.duplicate_rules = dict(duplicate_rules or {})
        self._dup_index: dict[tuple[str, str], dict[str, str]] = {}
        self._autonum: dict[str, int] = {}
        self._items_of: dict[str, set[str]] = {}       # Order Id -> its OrderItem ids (roll-up index)
        for name, o in self.objects.items():
            for f in o.fields:
                if f.ext:
                    self.ext_index[(name, f.name)] = {}

    # ---- clock and ids -------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """Monotonic org time in whole milliseconds (never before a stored stamp)."""
        with self.lock:
            t = dt.datetime.now(dt.timezone.utc)
            t = t.replace(microsecond=t.microsecond // 1000 * 1000)
            if t <= self._last:
                t = self._last + dt.timedelta(milliseconds=1)
            self._last = t
            return t

    def _observe(self, stamp: dt.datetime) -> None:
        if stamp > self._last:
            self._last = stamp

    def new_id(self, sobject: str) -> str:
        n = self._seq.get(sobject, 0) + 1
        self._seq[sobject] = n
        return f"{self.objects[sobject].key_prefix}000{n:09d}AAA"

    def obj(self, name: str) -> SObjectDef:
        for k, o in self.objects.items():
            if k.lower() == name.lower():
                return o
        raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)

    def sobject_of_id(self, rid: str) -> str | None:
        for name, o in self.objects.items():
            if rid.startswith(o.key_prefix) and rid in self.records[name]:
                return name
        return None

    # ---- reads ---------------------------------------------------------------------------
    def get(self, sobject: str, rid: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        with self.lock:
            r = self.records[sobject].get(rid) or self.records[sobject].get(_to18(rid))
            if r is None or (r["IsDeleted"] and not include_deleted):
                return None
            return r

    def rows(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            self._purge()
            return [r for r in self.records[sobject].values() if include_deleted or not r["IsDeleted"]]

    def count(self, sobject: str) -> int:
        with self.lock:
            return sum(1 for r in self.records[sobject].values() if not r["IsDeleted"])

    def find_ext(self, sobject: str, fname: str, value: Any) -> list[str]:
        with self.lock:
            idx = self.ext_index.get((sobject, fname))
            if idx is None:
                o = self.obj(sobject)
                f = o.field(fname)
                if f is None or not (f.ext or f.name == "Id"):
                    raise SfError("NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {fname}",
                                  status=404)
                if f.name == "Id":
                    return [value] if self.get(sobject, str(value)) else []
                idx = self.ext_index[(sobject, f.name)]
            return sorted(i for i in idx.get(str(value).lower(), set()) if not self.records[sobject][i]["IsDeleted"])

    # ---- writes --------------------------------------------------------------------------
    def insert(self, sobject: str, fields: dict[str, Any], *, stamp: dt.datetime | None = None,
               created: dt.datetime | None = None, world_index: int | None = None, trusted: bool = False) -> str:
        with self.lock:
            o = self.obj(sobject)
            clean = fields if trusted else self._validate(o, fields, creating=True)
            if not trusted:
                self._check_duplicates(o, clean, None)
            t = stamp or self.now()
            self._observe(t)
            rid = self.new_id(o.name)
            rec: dict[str, Any] = {"attributes": {"type": o.name, "url": ""}}
            for f in o.fields:
                rec[f.name] = f.default if f.type != "address" else None
            if "OwnerId" in rec:
                rec["OwnerId"] = self.users[0]
            rec.update(clean)
            if not trusted:
                self._rules(o, rec, None)
            rec.update({"Id": rid, "IsDeleted": False, "CreatedDate": fmt_dt(created or t),
                        "LastModifiedDate": fmt_dt(t), "SystemModstamp": fmt_dt(t),
                        "CreatedById": self.users[0], "LastModifiedById": self.users[0]})
            self._triggers(o, rec, creating=True)
            self._index_unique(o, rec, None)
            self.records[o.name][rid] = rec
            self._index_ext(o, rid, {}, rec)
            if world_index is not None:
                self.truth[rid] = world_index
            self._rollup(o, rec, t)
            return rid

    def update(self, sobject: str, rid: str, fields: dict[str, Any], *, stamp: dt.datetime | None = None) -> None:
        with self.lock:
            o = self.obj(sobject)
            rec = self.get(o.name, rid)
            if rec is None:
                raise SfError("ENTITY_IS_DELETED" if self.get(o.name, rid, include_deleted=True) else "NOT_FOUND",
                              "entity is deleted" if self.get(o.name, rid, include_deleted=True)
                              else "The requested resource does not exist", status=404)
            clean = self._validate(o, fields, creating=False)
            self._check_duplicates(o, clean, rec["Id"])
            self._index_unique(o, clean, rec["Id"])
            old = dict(rec)
            self._rules(o, {**rec, **clean}, old)
            rec.update(clean)
            t = stamp or self.now()
            rec["LastModifiedDate"] = rec["SystemModstamp"] = fmt_dt(t)
            self._triggers(o, rec, creating=False)
            self._index_ext(o, rec["Id"], old, rec)
            self._rollup(o, rec, t)

    def delete(self, sobject: str, rid: str) -> None:
        with self.lock:
            o = self.obj(sobject)
            rec = self.get(o.name, rid)
            if rec is None:
                if self.get(o.name, rid, include_deleted=True):
                    raise SfError("ENTITY_IS_DELETED", "entity is deleted", status=404)
                raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", status=404)
            t = self.now()
            self._soft_delete(o, rec, t)
            for c in o.children:
                if c.cascade:
                    for child in list(self.records[c.child].values()):
                        if child.get(c.field) == rec["Id"] and not child["IsDeleted"]:
                            self._soft_delete(self.objects[c.child], child, t)

    def _soft_delete(self, o: SObjectDef, rec: dict[str, Any], t: dt.datetime) -> None:
        rec["IsDeleted"] = True
        rec["LastModifiedDate"] = rec["SystemModstamp"] = fmt_dt(t)
        self.deleted_at[rec["Id"]] = t
        self._index_ext(o, rec["Id"], rec, {})
        self._index_unique(o, {}, rec["Id"], remove=rec)
        self._rollup(o, rec, t)

    def _purge(self) -> None:
        """Empty the Recycle Bin of rows deleted longer than the retention ago (hard delete)."""
        if not self.deleted_at:
            return
        limit = self._last - RETENTION
        for rid, when in list(self.deleted_at.items()):
            if when < limit:
                name = self.sobject_of_id(rid)
                if name:
                    del self.records[name][rid]
                del self.deleted_at[rid]
                self.purged_until = max(self.purged_until or when, when)

    # ---- validation, triggers, indexes ------------------------------------------------------
    def _validate(self, o: SObjectDef, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        bad_access: list[str] = []
        for key, value in fields.items():
            if key == "attributes":
                continue
            f = o.field(key)
            if f is None and isinstance(value, dict):           # Account: {"Concord_Id__c": "G1"}
                ref = o.by_relationship(key)
                if ref is None:
                    raise SfError("INVALID_FIELD", f"No such column '{key}' on sobject of type {o.name}")
                out[ref.name] = self._resolve_parent(ref.ref[0], value)
                continue
            if f is None:
                raise SfError("INVALID_FIELD", f"No such column '{key}' on sobject of type {o.name}")
            if not (f.create if creating else f.update):
                if key == "Id" and not creating:
                    continue
                bad_access.append(f.name)
                continue
            out[f.name] = self._coerce(o, f, value)
        if bad_access:
            raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE",
                          f"Unable to create/update fields: {', '.join(bad_access)}. Please check the security settings "
                          "of this field and verify that it is read/write for your profile or permission set.",
                          bad_access)
        if creating:
            missing = [f.name for f in o.fields if f.required and out.get(f.name) in (None, "")]
        else:
            missing = [f.name for f in o.fields if f.required and f.name in out and out[f.name] in (None, "")]
        if missing:
            raise SfError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        return out

    def _resolve_parent(self, sobject: str, spec: dict[str, Any]) -> str:
        keys = [k for k in spec if k != "attributes"]
        if len(keys) != 1:
            raise SfError("INVALID_FIELD", "A foreign key reference needs exactly one external id field")
        ids = self.find_ext(sobject, keys[0], spec[keys[0]])
        if not ids:
            raise SfError("INVALID_FIELD", f"Foreign key external ID: {spec[keys[0]]} not found for field "
                          f"{keys[0]} in entity {sobject}")
        if len(ids) > 1:
            raise SfError("INVALID_FIELD", f"Foreign key external ID: {spec[keys[0]]} matches more than one record "
                          f"for field {keys[0]} in entity {sobject}")
        return ids[0]

    def _coerce(self, o: SObjectDef, f: Any, value: Any) -> Any:
        if value is None or value == "":
            return None
        t = f.type
        try:
            if t in ("double", "currency", "percent"):
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            if t == "int":
                if isinstance(value, bool) or float(value) != int(float(value)):
                    raise ValueError
                return int(float(value))
            if t == "boolean":
                if isinstance(value, bool):
                    return value
                if str(value).lower() in ("true", "false"):
                    return str(value).lower() == "true"
                raise ValueError
            if t == "date":
                return dt.date.fromisoformat(str(value)[:10]).isoformat()
            if t == "datetime":
                return fmt_dt(parse_dt(str(value)))
        except (TypeError, ValueError):
            raise SfError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {t} from VALUE_STRING value {value} "
                          f"or request may be missing a required field", [f.name]) from None
        if t in ("reference",):
            target = str(value)
            if not any(self.get(ref, target) for ref in f.ref if ref in self.records) and f.ref[0] in self.records:
                raise SfError("INVALID_CROSS_REFERENCE_KEY" if len(target) in (15, 18) else "MALFORMED_ID",
                              f"{f.label or f.name}: id value of incorrect type: {target}", [f.name])
            return target
        s = str(value)
        if f.length and t not in ("textarea",) and len(s) > f.length:
            raise SfError("STRING_TOO_LONG", f"{f.label or f.name}: data value too large: {s[:40]} (max length={f.length})",
                          [f.name])
        if t == "email" and not EMAIL.match(s):
            raise SfError("INVALID_EMAIL_ADDRESS", f"{f.label or f.name}: invalid email address: {s}", [f.name])
        if t == "picklist" and f.name == "CurrencyIsoCode" and f.picklist and s not in f.picklist:
            raise SfError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Currency ISO Code: invalid currency code: {s}",
                          [f.name])
        if t == "picklist" and f.picklist and f.name in ("StageName", "Status") and s not in f.picklist:
            raise SfError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"{f.label or f.name}: bad value for restricted picklist field: {s}", [f.name])
        return s

    def _check_duplicates(self, o: SObjectDef, values: dict[str, Any], self_id: str | None) -> None:
        rule_field = self.duplicate_rules.get(o.name)
        if not rule_field or values.get(rule_field) in (None, ""):
            return
        key = str(values[rule_field]).strip().lower()
        for rid, rec in self.records[o.name].items():
            if rid != self_id and not rec["IsDeleted"] and str(rec.get(rule_field) or "").strip().lower() == key:
                raise SfError("DUPLICATES_DETECTED", "Use one of these records?", [], extra={"duplicateResult": {
                    "allowSave": False, "duplicateRule": f"Standard_{o.name}_Duplicate_Rule",
                    "duplicateRuleEntityType": o.name,
                    "errorMessage": "You're creating a duplicate record. We recommend you use an existing record instead.",
                    "matchResults": [{"entityType": o.name, "errors": [], "matchEngine": "ExactMatchEngine",
                                      "matchRecords": [{"additionalInformation": [], "fieldDiffs": [],
                                                        "matchConfidence": 100.0,
                                                        "record": {"attributes": {"type": o.name}, "Id": rid}}],
                                      "rule": f"Standard_{o.name}_Match_Rule_v1_0", "size": 1, "success": True}]}})

    def _index_unique(self, o: SObjectDef, values: dict[str, Any], self_id: str | None,
                      remove: dict[str, Any] | None = None) -> None:
        for f in o.fields:
            if not f.unique or f.name not in values or values.get(f.name) in (None, ""):
                continue
            for i in self.ext_index[(o.name, f.name)].get(str(values[f.name]).lower(), set()):
                if i != self_id and not self.records[o.name][i]["IsDeleted"]:
                    raise SfError("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on record "
                                  f"with id: {i}", [f.name])

    def _index_ext(self, o: SObjectDef, rid: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for f in o.fields:
            if not f.ext:
                continue
            idx = self.ext_index[(o.name, f.name)]
            ov, nv = old.get(f.name), new.get(f.name)
            if ov == nv:
                continue
            if ov not in (None, ""):
                idx.get(str(ov).lower(), set()).discard(rid)
            if nv not in (None, ""):
                idx.setdefault(str(nv).lower(), set()).add(rid)

    # ---- price book and opportunity product rules (what Salesforce enforces) -------------------
    def _rules(self, o: SObjectDef, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Validation rules of PricebookEntry and OpportunityLineItem; ``old`` is None on insert."""
        if o.name == "PricebookEntry":
            self._entry_rules(rec, old)
        elif o.name == "OpportunityLineItem" and old is None:
            self._line_rules(rec)

    def _entry_rules(self, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        book = self.get("Pricebook2", rec.get("Pricebook2Id") or "")
        if old is None:
            if book is None:
                raise SfError("INVALID_CROSS_REFERENCE_KEY", "Price Book ID: id value of incorrect type: "
                              f"{rec.get('Pricebook2Id')}", ["Pricebook2Id"])
            if book["IsStandard"] and rec.get("UseStandardPrice"):
                raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: UseStandardPrice (the standard "
                              "price book can't use the standard price)", ["UseStandardPrice"])
            same = [r for r in self.records["PricebookEntry"].values()
                    if not r["IsDeleted"] and r.get("Product2Id") == rec.get("Product2Id")
                    and (r.get("CurrencyIsoCode") or "") == (rec.get("CurrencyIsoCode") or "")]
            if any(r.get("Pricebook2Id") == book["Id"] for r in same):
                raise SfError("DUPLICATE_VALUE", "This price definition already exists in this price book", [])
            if not book["IsStandard"]:
                std = [r for r in same if (self.records["Pricebook2"].get(r.get("Pricebook2Id")) or {}).get("IsStandard")]
                if not std:
                    raise SfError("STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product", [])
                if rec.get("UseStandardPrice"):
                    rec["UnitPrice"] = std[0].get("UnitPrice")
        elif old.get("UseStandardPrice") and rec.get("UseStandardPrice") and rec.get("UnitPrice") != old.get("UnitPrice"):
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: []", [])
        if rec.get("UnitPrice") is None and not rec.get("UseStandardPrice"):
            raise SfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [UnitPrice]", ["UnitPrice"])

    def _line_rules(self, rec: dict[str, Any]) -> None:
        entry = self.get("PricebookEntry", rec.get("PricebookEntryId") or "")
        if entry is None:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId, unknown (versions "
                          "3.0 and higher must specify pricebook entry id; others must specify product id)",
                          ["PricebookEntryId", "unknown"])
        opp = self.get("Opportunity", rec.get("OpportunityId") or "")
        if opp is None:
            raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OpportunityId"])
        if not entry.get("IsActive"):
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook entry is "
                          "inactive)", ["PricebookEntryId"])
        if opp.get("Pricebook2Id") and opp["Pricebook2Id"] != entry["Pricebook2Id"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook entry is "
                          "in a different pricebook than the one assigned to the opportunity)", ["PricebookEntryId"])
        if (opp.get("CurrencyIsoCode") or "") != (entry.get("CurrencyIsoCode") or ""):
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook entry "
                          "currency code does not match opportunity currency code)", ["PricebookEntryId"])
        if rec.get("Product2Id") and rec["Product2Id"] != entry["Product2Id"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: Product2Id (product does not match "
                          "the pricebook entry)", ["Product2Id"])
        if rec.get("UnitPrice") is None and rec.get("TotalPrice") is None:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: unknown (must specify either "
                          "TotalPrice or UnitPrice)", ["unknown"])
        if rec.get("UnitPrice") is not None and rec.get("TotalPrice") is not None:   # Salesforce takes one, not both
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: TotalPrice (only one of unit price "
                          "or total price may be specified)", ["TotalPrice"])
        opp["Pricebook2Id"] = entry["Pricebook2Id"]      # the API sets the opportunity's price book on first product

    def _triggers(self, o: SObjectDef, rec: dict[str, Any], *, creating: bool) -> None:
        rec["attributes"]["url"] = f"/services/data/v59.0/sobjects/{o.name}/{rec['Id']}"
        if o.name == "Contact":
            rec["Name"] = " ".join(x for x in (rec.get("FirstName"), rec.get("LastName")) if x)
        elif o.name == "Opportunity":
            stage = rec.get("StageName") or ""
            rec["IsClosed"] = stage.startswith("Closed")
            rec["IsWon"] = stage == "Closed Won"
        elif o.name in ("Order", "OrderItem") and creating:
            n = self._autonum[o.name] = self._autonum.get(o.name, 100) + 1
            rec["OrderNumber" if o.name == "Order" else "OrderItemNumber"] = f"{n:08d}"
            if o.name == "Order" and rec.get("TotalAmount") is None:
                rec["TotalAmount"] = 0.0
        if o.name == "OrderItem":
            rec["TotalPrice"] = round(float(rec.get("Quantity") or 0) * float(rec.get("UnitPrice") or 0), 2)
            entry = self.records["PricebookEntry"].get(rec.get("PricebookEntryId") or "") or {}
            if entry.get("Product2Id"):          # Salesforce fills the item's product from its price book entry
                rec["Product2Id"] = entry["Product2Id"]
        if o.name == "OpportunityLineItem":
            entry = self.records["PricebookEntry"].get(rec.get("PricebookEntryId") or "") or {}
            product = self.records["Product2"].get(entry.get("Product2Id") or rec.get("Product2Id") or "") or {}
            opp = self.records["Opportunity"].get(rec.get("OpportunityId") or "") or {}
            rec["Product2Id"] = product.get("Id") or rec.get("Product2Id")
            rec["ProductCode"], rec["ListPrice"] = product.get("ProductCode"), entry.get("UnitPrice")
            rec["Name"] = f"{opp.get('Name') or ''} {product.get('Name') or ''}".strip()
            rec["CurrencyIsoCode"] = opp.get("CurrencyIsoCode")
            qty = float(rec.get("Quantity") or 0)
            if rec.get("UnitPrice") is None and rec.get("TotalPrice") is not None and qty:
                rec["UnitPrice"] = round(float(rec["TotalPrice"]) / qty, 2)
            rec["TotalPrice"] = round(qty * float(rec.get("UnitPrice") or 0), 2)
        if o.name == "PricebookEntry" and rec.get("Product2Id"):
            p = self.records["Product2"].get(rec["Product2Id"])
            if p:
                rec["Name"], rec["ProductCode"] = p.get("Name"), p.get("ProductCode")

    ROLLUPS = {"OrderItem": ("OrderId", "Order", "TotalAmount"),
               "OpportunityLineItem": ("OpportunityId", "Opportunity", "Amount")}

    def _rollup(self, o: SObjectDef, rec: dict[str, Any], t: dt.datetime) -> None:
        """A child write touches its master (Order.TotalAmount, Opportunity.Amount and HasOpportunityLineItem, and the
        master's SystemModstamp, as Salesforce does)."""
        if o.name not in self.ROLLUPS or not rec.get(self.ROLLUPS[o.name][0]):
            return
        fk, master_name, total = self.ROLLUPS[o.name]
        master = self.records[master_name].get(rec[fk])
        if master is None:
            return
        items = self._items_of.setdefault(master["Id"], set())
        items.add(rec["Id"])
        rows = [r for r in (self.records[o.name].get(i) for i in items) if r and not r["IsDeleted"]]
        master[total] = round(sum(float(i.get("TotalPrice") or 0) for i in rows), 2)
        if master_name == "Opportunity":
            master["HasOpportunityLineItem"] = bool(rows)
        master["LastModifiedDate"] = master["SystemModstamp"] = fmt_dt(max(t, parse_dt(master["SystemModstamp"])))

    def iter_all(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self.lock:
            for name, recs in self.records.items():
                for r in recs.values():
                    yield name, r


def _to18(rid: str) -> str:
    return rid  # the sandbox only issues 18-character ids
