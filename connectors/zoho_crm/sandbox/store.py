"""The sandbox org's data: records per module, the Modified_Time index, deletes, and write rules.

Records are kept in wire shape (what GET returns). Each module keeps a sorted index of
``(modified_epoch, id_int)`` so reads sorted by ``Modified_Time`` with ``If-Modified-Since``
are a bisect, and page tokens are keyset positions (robust to concurrent writes).
"""
from __future__ import annotations

import bisect
import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any

from concord.connectors.zoho_crm.sandbox.schema import MODULES, SUBFORMS, module_meta

ORG_USER = {"name": "Sandbox Admin", "id": "5725767000000411001", "email": "admin@sandbox.example.com"}
API_USER = {"name": "Concord Integration", "id": "5725767000000411002", "email": "concord@sandbox.example.com"}
EMAIL_RX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE_RX = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RecordRejected(Exception):
    """A per-record error in Zoho's shape (``code``, ``details``, ``message``)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def parse_dt(value: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if d.tzinfo is None:
        raise ValueError(f"datetime without offset: {value}")
    return d


class Module:
    def __init__(self, name: str, index: int) -> None:
        fields, self.generated, self.duplicate_field, self.display_field = MODULES[name]
        self.name = name
        self.meta = module_meta(name, index)
        self.fields = {f["api_name"]: f for f in fields}
        self.records: dict[str, dict[str, Any]] = {}
        self.index: list[tuple[int, int]] = []          # sorted (modified epoch, id)
        self.deleted: list[dict[str, Any]] = []
        self.truth: dict[str, int] = {}                  # record id -> world index
        self.unique: dict[str, dict[str, str]] = {f: {} for f, m in self.fields.items() if m["unique"]}
        #: lower-cased value -> ids, for non-unique duplicate-check fields (built on first upsert)
        self.by_value: dict[str, dict[str, set[str]]] = {}

    def unindex(self, rec: dict[str, Any]) -> None:
        for f, values in self.unique.items():
            v = rec.get(f)
            if v is not None and values.get(str(v).lower()) == rec["id"]:
                del values[str(v).lower()]
        for f, values in self.by_value.items():
            v = rec.get(f)
            if v is not None:
                values.get(str(v).lower(), set()).discard(rec["id"])

    def reindex(self, rec: dict[str, Any]) -> None:
        for f, values in self.unique.items():
            v = rec.get(f)
            if v is not None:
                values[str(v).lower()] = rec["id"]
        for f, values in self.by_value.items():
            v = rec.get(f)
            if v is not None:
                values.setdefault(str(v).lower(), set()).add(rec["id"])


class ZohoStore:
    """Thread-safe org state. ``now`` is the sandbox clock (always later than the seeded data)."""

    def __init__(self, *, tz_offset_minutes: int = 60, now: Callable[[], dt.datetime] | None = None,
                 credits_per_day: int | None = None) -> None:
        self.lock = threading.RLock()
        self.tz = dt.timezone(dt.timedelta(minutes=tz_offset_minutes))
        self.modules = {name: Module(name, i) for i, name in enumerate(MODULES)}
        self._next_id = 5725767000001000000
        self._now = now
        self._skew = dt.timedelta(0)
        self.credits_per_day = credits_per_day
        self.credits: list[tuple[float, int]] = []       # (epoch, credits) within the rolling 24 h
        self.automation: list[tuple[str, str, tuple[str, ...]]] = []   # (module, record id, triggers fired)
        self.page_tokens: dict[str, dict[str, Any]] = {}

    # ---- clock and ids ---------------------------------------------------------------------
    def now(self) -> dt.datetime:
        base = self._now() if self._now else dt.datetime.now(dt.timezone.utc)
        return (base + self._skew).replace(microsecond=0)

    def ensure_clock_after(self, latest: dt.datetime) -> None:
        """Move the clock forward so that writes are always newer than any seeded timestamp."""
        now = self.now()
        if now <= latest:
            self._skew += (latest - now) + dt.timedelta(days=1)

    def wire_dt(self, d: dt.datetime) -> str:
        return d.astimezone(self.tz).isoformat(timespec="seconds")

    def new_id(self) -> str:
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    # ---- credits (rolling 24 h) ----------------------------------------------------------------
    def spend(self, credits: int) -> bool:
        """Charge ``credits``; False when the org's 24-hour allowance is used up."""
        if self.credits_per_day is None:
            return True
        with self.lock:
            t = self.now().timestamp()
            self.credits = [(ts, c) for ts, c in self.credits if ts > t - 86400]
            if sum(c for _, c in self.credits) + credits > self.credits_per_day:
                return False
            self.credits.append((t, credits))
            return True

    def credits_used(self) -> int:
        with self.lock:
            return sum(c for _, c in self.credits)

    # ---- index -------------------------------------------------------------------------------
    @staticmethod
    def key_of(rec: dict[str, Any]) -> tuple[int, int]:
        return int(parse_dt(rec["Modified_Time"]).timestamp()), int(rec["id"])

    def put(self, mod: Module, rec: dict[str, Any], *, world_index: int | None = None) -> None:
        """Insert or replace a record (caller holds the lock), keeping the index and unique maps."""
        old = mod.records.get(rec["id"])
        if old is not None:
            pos = bisect.bisect_left(mod.index, self.key_of(old))
            if pos < len(mod.index) and mod.index[pos] == self.key_of(old):
                del mod.index[pos]
            mod.unindex(old)
        mod.records[rec["id"]] = rec
        bisect.insort(mod.index, self.key_of(rec))
        mod.reindex(rec)
        if world_index is not None:
            mod.truth[rec["id"]] = world_index
        if old is not None and old.get(mod.display_field) != rec.get(mod.display_field):
            self._rename_lookups(rec["id"], rec.get(mod.display_field))

    def _rename_lookups(self, rec_id: str, name: Any) -> None:
        """Zoho answers a lookup with the related record's current name: a rename shows everywhere
        (the records are not re-stamped: their Modified_Time stays, as in Zoho)."""
        for other in self.modules.values():
            for r in other.records.values():
                for v in r.values():
                    if isinstance(v, dict) and v.get("id") == rec_id and "name" in v:
                        v["name"] = name

    def delete(self, mod: Module, rec_id: str) -> dict[str, Any] | None:
        with self.lock:
            rec = mod.records.get(rec_id)
            if rec is None:
                return None
            pos = bisect.bisect_left(mod.index, self.key_of(rec))
            if pos < len(mod.index) and mod.index[pos] == self.key_of(rec):
                del mod.index[pos]
            del mod.records[rec_id]
            mod.unindex(rec)
            entry = {"deleted_by": {"name": API_USER["name"], "id": API_USER["id"]}, "id": rec_id,
                     "display_name": rec.get(mod.display_field), "type": "recycle",
                     "created_by": {"name": ORG_USER["name"], "id": ORG_USER["id"]},
                     "deleted_time": self.wire_dt(self.now())}
            mod.deleted.append(entry)
            return entry

    # ---- write rules -------------------------------------------------------------------------
    def lookup_value(self, target: str, value: Any, path: str, api_name: str) -> dict[str, Any]:
        rid = value.get("id") if isinstance(value, dict) else value
        if target == "users":
            if rid in (None, ORG_USER["id"], API_USER["id"]):
                return dict(API_USER if rid == API_USER["id"] else ORG_USER)
        elif target in self.modules and isinstance(rid, str) and rid in self.modules[target].records:
            ref = self.modules[target].records[rid]
            out = {"name": ref.get(self.modules[target].display_field), "id": rid}
            if target == "Products":
                out["Product_Code"] = ref.get("Product_Code")
            return out
        raise RecordRejected("INVALID_DATA", "the related id given seems to be invalid",
                             {"api_name": api_name, "json_path": path, "id": rid})

    def coerce(self, field: dict[str, Any], value: Any, path: str) -> Any:
        """Validate one value as Zoho does and return it in stored (wire) shape."""
        name, t = field["api_name"], field["data_type"]

        def bad(expected: str) -> RecordRejected:
            return RecordRejected("INVALID_DATA", "invalid data",
                                  {"api_name": name, "json_path": path, "expected_data_type": expected})
        if value is None:
            return None
        if t in ("text", "textarea", "phone", "website", "picklist", "profileimage"):
            if not isinstance(value, str):
                raise bad("string")
            if len(value) > field["length"]:
                raise RecordRejected("INVALID_DATA", "invalid data",
                                     {"api_name": name, "json_path": path, "maximum_length": field["length"]})
            return value
        if t == "email":
            if not isinstance(value, str) or not EMAIL_RX.match(value):
                raise bad("email")
            return value
        if t in ("integer", "bigint"):
            if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
                raise bad("integer")
            return int(value)
        if t in ("double", "currency", "decimal", "percent"):
            if isinstance(value, bool):
                raise bad("double")
            try:
                return float(value)
            except (TypeError, ValueError):
                raise bad("double") from None
        if t == "boolean":
            if not isinstance(value, bool):
                raise bad("boolean")
            return value
        if t == "date":
            if not isinstance(value, str) or not DATE_RX.match(value):
                raise bad("date")
            return value
        if t == "datetime":
            try:
                return self.wire_dt(parse_dt(value))
            except (TypeError, ValueError, AttributeError):
                raise bad("datetime") from None
        if t in ("lookup", "ownerlookup"):
            return self.lookup_value(field["lookup"]["module"]["api_name"], value, path, name)
        if t in ("multiselectpicklist", "tag"):
            if not isinstance(value, list):
                raise bad("jsonarray")
            return value
        if t == "subform":
            return self.line_items(field["subform"]["module"]["api_name"], value, path)
        raise bad(t)  # pragma: no cover - every schema type is handled above

    def line_items(self, subform: str, items: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not items:
            raise RecordRejected("MANDATORY_NOT_FOUND", "required field not found",
                                 {"api_name": path.rsplit(".", 1)[-1], "json_path": path})
        spec = {f["api_name"]: f for f in SUBFORMS[subform]}
        out = []
        for n, item in enumerate(items, 1):
            ipath = f"{path}[{n - 1}]"
            if not isinstance(item, dict):
                raise RecordRejected("INVALID_DATA", "invalid data", {"api_name": subform, "json_path": ipath})
            row: dict[str, Any] = {"id": item.get("id") or self.new_id()}
            for fname, f in spec.items():
                if f["read_only"]:
                    continue
                if f["system_mandatory"] and item.get(fname) in (None, ""):
                    raise RecordRejected("MANDATORY_NOT_FOUND", "required field not found",
                                         {"api_name": fname, "json_path": f"{ipath}.{fname}"})
                row[fname] = self.coerce(f, item.get(fname), f"{ipath}.{fname}")
            for fname in item:
                if fname not in spec and fname != "id":
                    raise RecordRejected("INVALID_DATA", "invalid data", {"api_name": fname, "json_path": f"{ipath}.{fname}"})
            total = round(row["Quantity"] * (row.get("List_Price") or 0.0), 2)
            row.update(Total=total, Net_Total=round(total - (row.get("Discount") or 0.0) + (row.get("Tax") or 0.0), 2),
                       Sequence_Number=n)
            out.append(row)
        return out

    def apply(self, mod: Module, payload: dict[str, Any], i: int, existing: dict[str, Any] | None) -> dict[str, Any]:
        """Validate ``payload`` (record ``i`` of the request) against the module; return the new record."""
        if not isinstance(payload, dict):
            raise RecordRejected("INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]"})
        rec = dict(existing) if existing else {f: None for f in mod.fields}
        for name, value in payload.items():
            if name == "id" or name.startswith("$"):
                continue
            f = mod.fields.get(name)
            path = f"$.data[{i}].{name}"
            if f is None:
                raise RecordRejected("INVALID_DATA", "invalid data", {"api_name": name, "json_path": path})
            if f["read_only"]:
                continue   # Zoho ignores read-only system fields on write
            rec[name] = self.coerce(f, value, path)
        for name, f in mod.fields.items():
            if f["system_mandatory"] and rec.get(name) in (None, "", []):
                raise RecordRejected("MANDATORY_NOT_FOUND", "required field not found",
                                     {"api_name": name, "json_path": f"$.data[{i}].{name}"})
        for name, values in mod.unique.items():
            v = rec.get(name)
            other = values.get(str(v).lower()) if v is not None else None
            if other is not None and (existing is None or other != existing["id"]):
                raise RecordRejected("DUPLICATE_DATA", "duplicate data", {
                    "api_name": name, "json_path": f"$.data[{i}].{name}",
                    "duplicate_record": {"id": other, "module": {"api_name": mod.name, "id": mod.meta["id"]},
                                         "Owner": {"name": ORG_USER["name"], "id": ORG_USER["id"]}}})
        return rec

    def stamp(self, mod: Module, rec: dict[str, Any], created: bool) -> dict[str, Any]:
        now = self.wire_dt(self.now())
        if created:
            rec["id"] = self.new_id()
            rec["Created_Time"], rec["Created_By"] = now, {"name": API_USER["name"], "id": API_USER["id"], "email": API_USER["email"]}
            rec.setdefault("Owner", None)
            rec["Owner"] = rec["Owner"] or dict(API_USER)
            if mod.name == "Sales_Orders":
                rec["SO_Number"] = f"SO-{len(mod.records) + 1:06d}"
            if mod.name == "Invoices":
                rec["Invoice_Number"] = f"INV-{len(mod.records) + 1:06d}"
        rec["Modified_Time"], rec["Modified_By"] = now, {"name": API_USER["name"], "id": API_USER["id"], "email": API_USER["email"]}
        for sub in ("Ordered_Items", "Invoiced_Items"):
            if rec.get(sub):
                total = round(sum(r["Net_Total"] for r in rec[sub]), 2)
                # Zoho: Grand_Total = Sub_Total - Discount + Tax + Adjustment (Tax: the taxes of the record)
                rec["Sub_Total"] = total
                rec["Grand_Total"] = round(total - (rec.get("Discount") or 0) + (rec.get("Tax") or 0)
                                           + (rec.get("Adjustment") or 0), 2)
        if mod.name == "Contacts":
            rec["Full_Name"] = " ".join(x for x in (rec.get("First_Name"), rec.get("Last_Name")) if x)
        rec.update({"$currency_symbol": "€", "$state": "save", "$approved": True, "$editable": True,
                    "$approval_state": "approved", "$process_flow": False})
        return rec

    def find_duplicate(self, mod: Module, payload: dict[str, Any], check_fields: list[str]) -> tuple[dict[str, Any] | None, str | None]:
        """Upsert matching: the first duplicate-check field whose value matches an existing record."""
        for f in check_fields:
            v = payload.get(f)
            if v is None or v == "":
                continue
            if f in mod.unique:
                rid = mod.unique[f].get(str(v).lower())
                if rid:
                    return mod.records[rid], f
                continue
            if f not in mod.by_value:
                index: dict[str, set[str]] = {}
                for rec in mod.records.values():
                    if rec.get(f) is not None:
                        index.setdefault(str(rec[f]).lower(), set()).add(rec["id"])
                mod.by_value[f] = index
            ids = mod.by_value[f].get(str(v).lower())
            if ids:
                return mod.records[min(ids, key=int)], f     # the oldest match, deterministically
        return None, None
