"""The sandbox's data: one table per resource, an index by (LastUpdateDate, key), ETags, undo for batches.

Thread-safe through one re-entrant lock. Every write bumps ``LastUpdateDate``
from a monotonic store clock, so incremental reads see every change.
"""
from __future__ import annotations

import bisect
import contextlib
import copy
import datetime as dt
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from concord.connectors.oracle_fusion.qgrammar import coerce
from concord.connectors.oracle_fusion.sandbox.resources import RESOURCES, Attr, ResourceDef

UTC = dt.timezone.utc


class VendorError(Exception):
    """A rejection as the vendor states it: status, JBO-style code and message, attribute path."""

    def __init__(self, status: int, message: str, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.path = status, message, code, path


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds")


class Table:
    def __init__(self, rdef: ResourceDef, first_id: int) -> None:
        self.rdef = rdef
        self.rows: dict[Any, dict[str, Any]] = {}
        self.versions: dict[Any, int] = {}
        self.truth: dict[Any, int] = {}          # key -> world index (never in the payload)
        self.index: list[tuple[dt.datetime, Any]] = []
        self.next_id = first_id
        self.keysets = tuple(dict.fromkeys(rdef.unique + rdef.upsert_keys))
        self.alt: dict[tuple[str, ...], dict[tuple[str, ...], Any]] = {}

    def sort_key(self, key: Any) -> Any:
        return int(key) if self.rdef.key_type == "integer" else str(key)

    def norm_key(self, raw: str) -> Any:
        if self.rdef.key_type == "integer":
            try:
                return int(raw)
            except ValueError:
                raise VendorError(404, f"The requested resource {self.rdef.name}/{raw} doesn't exist.") from None
        return raw

    def _ix(self, row: Mapping[str, Any]) -> tuple[dt.datetime, Any]:
        return (coerce(row["LastUpdateDate"], "datetime"), self.sort_key(row[self.rdef.key]))

    def _alt_keys(self, row: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
        for keyset in self.keysets:
            if all(row.get(k) not in (None, "") for k in keyset):
                yield keyset, tuple(str(row[k]) for k in keyset)

    def put(self, row: dict[str, Any]) -> None:
        key = row[self.rdef.key]
        old = self.rows.get(key)
        if old is not None:
            self._unindex(old)
        self.rows[key] = row
        bisect.insort(self.index, self._ix(row))
        for keyset, values in self._alt_keys(row):
            self.alt.setdefault(keyset, {})[values] = key
        self.versions[key] = self.versions.get(key, 0) + 1

    def _unindex(self, old: Mapping[str, Any]) -> None:
        i = bisect.bisect_left(self.index, self._ix(old))
        if i < len(self.index) and self.index[i] == self._ix(old):
            self.index.pop(i)
        for keyset, values in self._alt_keys(old):
            if self.alt.get(keyset, {}).get(values) == old[self.rdef.key]:
                del self.alt[keyset][values]

    def remove(self, key: Any) -> None:
        self._unindex(self.rows.pop(key))

    def etag(self, key: Any) -> str:
        return f"ACED0005737200{zlib.crc32(str(key).encode()):08X}{self.versions.get(key, 0):08X}"

    def find(self, values: Mapping[str, Any], keysets: tuple[tuple[str, ...], ...] | None = None) -> Any | None:
        """The key of the row matching ``values`` on an alternate key (upsert keys by default)."""
        for keyset in keysets if keysets is not None else self.rdef.upsert_keys:
            if all(values.get(k) not in (None, "") for k in keyset):
                key = self.alt.get(keyset, {}).get(tuple(str(values[k]) for k in keyset))
                if key is not None:
                    return key
        return None


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {name: Table(rdef, 300000001000000 + n * 10**9)
                                         for n, (name, rdef) in enumerate(RESOURCES.items())}
        self.child_ids = 300000090000000
        self._clock = dt.datetime(2000, 1, 1, tzinfo=UTC)
        self._undo: list[Callable[[], None]] | None = None
        self.user = "CONCORD.INTEGRATION"

    # ---- clock -----------------------------------------------------------------------------
    def tick(self) -> str:
        now = dt.datetime.now(UTC)
        self._clock = max(now, self._clock + dt.timedelta(milliseconds=1))
        return iso(self._clock)

    def observe(self, ts: str) -> None:
        self._clock = max(self._clock, coerce(ts, "datetime"))

    def table(self, name: str) -> Table:
        t = self.tables.get(name)
        if t is None:
            raise VendorError(404, f"The requested resource {name} doesn't exist.")
        return t

    def seed(self, name: str, row: dict[str, Any], world_index: int | None = None) -> None:
        t = self.tables[name]
        if row.get(t.rdef.key) is None:
            row[t.rdef.key] = t.next_id
            t.next_id += 1
        t.put(row)
        if world_index is not None:
            t.truth[row[t.rdef.key]] = world_index
        self.observe(row["LastUpdateDate"])

    # ---- batch transactions ----------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[list[Callable[[], None]]]:
        """Collect undo actions; the caller calls :meth:`rollback` when any part failed."""
        with self.lock:
            self._undo = []
            try:
                yield self._undo
            finally:
                self._undo = None

    def rollback(self, undo: list[Callable[[], None]]) -> None:
        with self.lock:
            for fn in reversed(undo):
                fn()

    def _remember(self, t: Table, key: Any) -> None:
        if self._undo is None:
            return
        if key in t.rows:
            old, ver = copy.deepcopy(t.rows[key]), t.versions.get(key, 0)

            def restore() -> None:
                t.put(old)
                t.versions[key] = ver
            self._undo.append(restore)
        else:
            self._undo.append(lambda: t.rows.get(key) is not None and t.remove(key))

    # ---- validation ------------------------------------------------------------------------
    def _check_value(self, rdef: ResourceDef, a: Attr, value: Any, path: str) -> Any:
        if value is None:
            if a.mandatory:
                raise VendorError(400, f"JBO-27014: Attribute {a.name} in {rdef.title} is required.", "JBO-27014", path)
            return None
        bad = VendorError(400, f"JBO-27018: Attribute {a.name} in {rdef.title} has an invalid value {value!r} "
                               f"for type {a.type}.", "JBO-27018", path)
        if a.type == "integer":
            if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
                raise bad
            return int(value)
        if a.type == "number":
            if isinstance(value, bool):
                raise bad
            try:
                Decimal(str(value))
            except InvalidOperation:
                raise bad from None
            return value if isinstance(value, (int, float)) else float(Decimal(str(value)))
        if a.type in ("date", "datetime"):
            try:
                coerce(value, a.type)
            except ValueError:
                raise bad from None
            return str(value)
        if a.type == "boolean":
            if not isinstance(value, bool):
                raise bad
            return value
        value = str(value)
        if a.max_length and len(value) > a.max_length:
            raise VendorError(400, f"JBO-27010: Attribute {a.name} in {rdef.title} has a value longer than "
                                   f"{a.max_length} characters.", "JBO-27010", path)
        if a.lov and value not in a.lov:
            raise VendorError(400, f"The value {value} isn't valid for the attribute {a.name}. Valid values: "
                                   f"{', '.join(a.lov)}.", "FND-2801", path)
        return value

    def _validate(self, rdef: ResourceDef, payload: Mapping[str, Any], *, creating: bool, path: str) -> dict[str, Any]:
        if not isinstance(payload, Mapping):
            raise VendorError(400, "The request payload is not a JSON object.", "JBO-REST-0001", path)
        out: dict[str, Any] = {}
        for name, value in payload.items():
            if name == "links":
                continue
            child = rdef.child(name)
            if child is not None:
                if not isinstance(value, list):
                    raise VendorError(400, f"Child {name} of {rdef.title} must be an array.", "JBO-REST-0002", path)
                out[name] = value
                continue
            a = rdef.attr(name)
            if a is None:
                raise VendorError(400, f"JBO-25058: Definition {name} of type Attribute is not found in {rdef.title}.",
                                  "JBO-25058", f"{path}/{name}")
            if name in ("CreationDate", "CreatedBy", "LastUpdateDate", "LastUpdatedBy") or a.name == rdef.key \
                    and rdef.key_type == "integer" or (not creating and (not a.updatable or a.create_only)) \
                    or (creating and not a.updatable and not a.create_only):
                raise VendorError(400, f"JBO-27008: Attribute {name} in {rdef.title} cannot be set.", "JBO-27008",
                                  f"{path}/{name}")
            out[name] = self._check_value(rdef, a, value, f"{path}/{name}")
        if creating:
            for a in rdef.attrs:
                if a.mandatory and out.get(a.name) in (None, ""):
                    raise VendorError(400, f"JBO-27014: Attribute {a.name} in {rdef.title} is required.", "JBO-27014",
                                      f"{path}/{a.name}")
        return out

    def _children(self, rdef: ResourceDef, row: dict[str, Any], data: dict[str, Any], path: str, now: str) -> None:
        for child in rdef.children:
            if child.name not in data:
                continue
            existing = {c[child.key]: c for c in row.get(child.name, [])}
            for i, cp in enumerate(data.pop(child.name)):
                cpath = f"{path}/child/{child.name}/{i}"
                ckey = cp.get(child.key) if isinstance(cp, Mapping) else None
                if ckey is not None and ckey in existing:
                    upd = self._validate(child, {k: v for k, v in cp.items() if k != child.key}, creating=False,
                                         path=cpath)
                    existing[ckey].update(upd)
                    if child.who:
                        existing[ckey].update(LastUpdateDate=now, LastUpdatedBy=self.user)
                    continue
                new = self._validate(child, cp, creating=True, path=cpath)
                self.child_ids += 1
                new[child.key] = self.child_ids
                full = {a.name: new.get(a.name) for a in child.all_attrs}
                if child.who:
                    full.update(CreationDate=now, CreatedBy=self.user, LastUpdateDate=now, LastUpdatedBy=self.user)
                _derive_child(child, full)
                existing[self.child_ids] = full
            row[child.name] = list(existing.values())

    # ---- operations ------------------------------------------------------------------------
    def create(self, name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            t = self.table(name)
            rdef = t.rdef
            data = self._validate(rdef, payload, creating=True, path=f"/{name}")
            for keyset in rdef.unique:
                if t.find(data, (keyset,)) is not None:
                    raise VendorError(400, f"JBO-26048: A record with {', '.join(f'{k}={data[k]}' for k in keyset)} "
                                           f"already exists in {rdef.title}.", "JBO-26048", f"/{name}")
            if name == "salesOrdersForOrderHub":
                self._check_order(data)
            now = self.tick()
            row: dict[str, Any] = {a.name: data.get(a.name) for a in rdef.all_attrs}
            key = t.next_id if rdef.key_type == "integer" else None
            t.next_id += 1
            _derive(rdef, row, key, t.next_id)
            row.update(CreationDate=now, CreatedBy=self.user, LastUpdateDate=now, LastUpdatedBy=self.user)
            for c in rdef.children:
                row[c.name] = []
            self._children(rdef, row, data, f"/{name}", now)
            _derive(rdef, row, None, None)
            self._remember(t, row[rdef.key])
            t.put(row)
            return row

    def _check_order(self, data: dict[str, Any]) -> None:
        """What Order Management checks on an order from a source system: a customer that exists, items that
        exist; it fills the buying party from the bill-to account and line defaults from the item."""
        accounts, items = self.tables["customerAccounts"], self.tables["itemsV2"]
        bill = data.get("billToCustomer") or []
        for i, b in enumerate(bill):
            acc = accounts.rows.get(int(b["CustomerAccountId"])) if isinstance(b, Mapping) and str(
                b.get("CustomerAccountId") or "").isdigit() else None
            if acc is None:
                raise VendorError(400, f"The bill-to customer account {b.get('CustomerAccountId') if isinstance(b, Mapping) else b} "
                                       "isn't valid. Specify a valid customer account.", "DOO-2401",
                                  f"/salesOrdersForOrderHub/child/billToCustomer/{i}/CustomerAccountId")
            if i == 0 and not data.get("BuyingPartyNumber"):
                data["BuyingPartyNumber"], data["BuyingPartyName"] = acc.get("PartyNumber"), acc.get("AccountName")
        if not data.get("BuyingPartyNumber"):
            raise VendorError(400, "The order doesn't have a buying party. Specify the buying party or a bill-to "
                                   "customer.", "DOO-2400", "/salesOrdersForOrderHub/BuyingPartyNumber")
        if accounts.rows and not any(str(a.get("PartyNumber")) == str(data["BuyingPartyNumber"])
                                     for a in accounts.rows.values()):
            raise VendorError(400, f"The buying party {data['BuyingPartyNumber']} isn't valid.", "DOO-2402",
                              "/salesOrdersForOrderHub/BuyingPartyNumber")
        by_number = {str(r.get("ItemNumber")): r for r in items.rows.values()}
        for i, ln in enumerate(data.get("lines") or []):
            if not isinstance(ln, Mapping):
                continue
            if not by_number:          # a sandbox started without itemsV2 cannot check items
                break
            item = by_number.get(str(ln.get("ProductNumber")))
            if item is None or item.get("ItemStatusValue") == "Inactive" or item.get("CustomerOrderEnabledFlag") is False:
                raise VendorError(400, f"The item {ln.get('ProductNumber')} isn't valid for the order line "
                                       f"{ln.get('SourceTransactionLineNumber') or i + 1}. Specify an item that's "
                                       "enabled for customer orders.", "DOO-2830",
                                  f"/salesOrdersForOrderHub/child/lines/{i}/ProductNumber")
            ln = dict(ln)
            ln.setdefault("ProductDescription", item.get("ItemDescription"))
            if ln.get("UnitSellingPrice") is None and item.get("ListPrice") is not None:
                ln["UnitSellingPrice"] = item.get("ListPrice")
            ln.setdefault("SourceTransactionLineId", str(ln.get("SourceTransactionLineNumber") or i + 1))
            data["lines"][i] = ln

    def update(self, name: str, key: Any, payload: Mapping[str, Any], if_match: str | None = None) -> dict[str, Any]:
        with self.lock:
            t = self.table(name)
            if key not in t.rows:
                raise VendorError(404, f"The requested resource {name}/{key} doesn't exist.", "JBO-25020", f"/{name}/{key}")
            if if_match is not None and if_match.strip().strip('"').removeprefix("W/").strip('"') not in (t.etag(key), "*"):
                raise VendorError(412, f"The row {key} in {t.rdef.title} has been changed by another user since it "
                                       f"was read (If-Match does not match the current ETag).", "JBO-25014",
                                  f"/{name}/{key}")
            data = self._validate(t.rdef, payload, creating=False, path=f"/{name}/{key}")
            row = copy.deepcopy(t.rows[key])
            now = self.tick()
            self._children(t.rdef, row, data, f"/{name}/{key}", now)
            row.update(data)
            _derive(t.rdef, row, key, None)
            row.update(LastUpdateDate=now, LastUpdatedBy=self.user)
            self._remember(t, key)
            t.put(row)
            return row

    def upsert(self, name: str, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        with self.lock:
            t = self.table(name)
            key = payload.get(t.rdef.key)
            if key is not None and t.norm_key(str(key)) in t.rows:
                key = t.norm_key(str(key))
            else:
                key = t.find(payload)
            if key is None:
                return self.create(name, payload), True
            rest = {k: v for k, v in payload.items() if k != t.rdef.key and not (
                (a := t.rdef.attr(k)) is not None and a.create_only and str(t.rows[key].get(k)) == str(v))}
            return self.update(name, key, rest), False

    def delete(self, name: str, key: Any) -> None:
        with self.lock:
            t = self.table(name)
            if key not in t.rows:
                raise VendorError(404, f"The requested resource {name}/{key} doesn't exist.", "JBO-25020", f"/{name}/{key}")
            self._remember(t, key)
            t.remove(key)

    def count(self, name: str) -> int:
        with self.lock:
            return len(self.tables[name].rows)

    def get(self, name: str, key: Any) -> dict[str, Any] | None:
        with self.lock:
            row = self.tables[name].rows.get(key)
            return copy.deepcopy(row) if row is not None else None

    def touch(self, name: str, key: Any, **changes: Any) -> dict[str, Any]:
        """A change made "by a user in the vendor's UI" (tests and demos)."""
        with self.lock:
            t = self.tables[name]
            row = copy.deepcopy(t.rows[key])
            row.update(changes)
            row.update(LastUpdateDate=self.tick(), LastUpdatedBy="SALES.USER")
            t.put(row)
            return row


def _derive(rdef: ResourceDef, row: dict[str, Any], key: Any, seq: int | None) -> None:
    """Server-side computed attributes (keys, numbers, totals, balances)."""
    if key is not None and rdef.key_type == "integer":
        row[rdef.key] = key
    if rdef.name == "customerAccounts" and seq is not None:
        row["AccountNumber"] = row.get("AccountNumber") or f"{90000000 + seq}"
        row["PartyNumber"] = row.get("PartyNumber") or f"CDRM_{seq}"
        row["Status"] = row.get("Status") or "A"
        row["CustomerType"] = row.get("CustomerType") or "R"
    elif rdef.name == "hubOrganizations" and seq is not None:
        row["PartyNumber"] = row.get("PartyNumber") or f"CDRM_{seq}"
    elif rdef.name == "itemsV2" and seq is not None:
        row["ItemStatusValue"] = row.get("ItemStatusValue") or "Active"
    elif rdef.name == "salesOrdersForOrderHub":
        if seq is not None:
            row["HeaderId"] = 300000200000000 + seq
            row["OrderNumber"] = row.get("OrderNumber") or f"{700000 + seq}"
            row["StatusCode"] = row.get("StatusCode") or "DOO_DRAFT"
        row["OrderKey"] = f"{row['SourceTransactionSystem']}:{row['SourceTransactionId']}"
        total = sum((Decimal(str(ln.get("ExtendedAmount") or 0)) for ln in row.get("lines") or ()), Decimal(0))
        row["TotalAmount"] = float(total)
    elif rdef.name == "receivablesInvoices":
        if seq is not None:
            row["TransactionNumber"] = row.get("TransactionNumber") or f"{100000 + seq}"
            row["InvoiceStatus"] = row.get("InvoiceStatus") or "Complete"
            row["InvoiceBalanceAmount"] = row.get("EnteredAmount")


def _derive_child(rdef: ResourceDef, row: dict[str, Any]) -> None:
    if rdef.name == "lines":
        row["StatusCode"] = row.get("StatusCode") or "AWAIT_SHIPPING"
    if rdef.name == "lines" and row.get("OrderedQuantity") is not None:
        price = Decimal(str(row.get("UnitSellingPrice") or 0))
        row["ExtendedAmount"] = float((Decimal(str(row["OrderedQuantity"])) * price).quantize(Decimal("0.01")))
