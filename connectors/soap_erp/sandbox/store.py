"""The sandbox's page table: records in primary-key order, row versions, NAV's validation rules.

Thread-safe. Every write bumps a global row version (like SQL Server's
``timestamp`` column behind NAV's ``Key``) and stamps ``Last_Date_Modified``
with the store's clock, so incremental reads and stale-``Key`` detection work
as they do on a real server. Rule violations raise :class:`NavFault` with the
faultcode and message NAV uses; the SOAP layer turns them into SOAP 1.1 faults.
"""
from __future__ import annotations

import base64
import bisect
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.soap_erp import navfilter
from connectors.soap_erp.wsdl import FieldInfo

NAV_EXC = "Microsoft.Dynamics.Nav.Types.Exceptions."

#: NAV 2016 Customer table field lengths (Text/Code); Code fields are stored upper case.
LENGTHS = {"No": 20, "Name": 50, "Address": 50, "Address_2": 50, "City": 30, "Post_Code": 20, "Country_Region_Code": 10,
           "Phone_No": 30, "E_Mail": 80, "Home_Page": 80, "VAT_Registration_No": 20, "Search_Name": 50,
           "Payment_Terms_Code": 10, "Currency_Code": 10, "Language_Code": 10, "Primary_Contact_No": 20}
CODE_FIELDS = {"No", "Post_Code", "Country_Region_Code", "Search_Name", "Payment_Terms_Code", "Currency_Code",
               "Language_Code", "Primary_Contact_No"}
#: related tables: a value must exist there (empty is always allowed)
RELATED = {"Country_Region_Code": ("Country/Region", {"DE", "FR", "GB", "US", "NL", "CN", "AT", "BE", "CH", "DK",
                                                      "ES", "IT", "SE", "PL", "JP"}),
           "Currency_Code": ("Currency", {"EUR", "USD", "GBP", "CNY", "CHF", "DKK", "SEK", "JPY", "PLN"}),
           "Payment_Terms_Code": ("Payment Terms", {"NET14", "NET30", "NET45", "NET60", "DUE", "14 DAYS", "1M(8D)", "CM"})}


class NavFault(Exception):
    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class _Row:
    values: dict[str, Any]
    version: int


class PageStore:
    """One page's records (a NAV table behind a page), in primary-key order."""

    def __init__(self, record_type: str, fields: dict[str, FieldInfo], *, id_field: str = "No",
                 key_field: str = "Key", change_field: str | None = "Last_Date_Modified",
                 read_only: tuple[str, ...] = (), today: dt.date | None = None, table_no: int = 18) -> None:
        self.record_type, self.fields = record_type, fields
        self.id_field, self.key_field, self.change_field = id_field, key_field, change_field
        self.read_only = set(read_only) | {key_field}
        self.today = today or dt.date(2027, 1, 8)
        self.table_no = table_no
        self.truth: dict[str, int] = {}          # id -> world index (ground truth; never in the payload)
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._version = 1000
        self._lock = threading.RLock()

    # ---- keys ------------------------------------------------------------------------------
    def make_key(self, ident: str, version: int) -> str:
        b64 = base64.b64encode(ident.encode("utf-16-le")).decode()
        return f"{self.table_no};{b64};{version};"

    def parse_key(self, key: str | None) -> tuple[str, int]:
        try:
            table, b64, version, _ = (key or "").split(";")
            return base64.b64decode(b64, validate=True).decode("utf-16-le"), int(version)
        except Exception:
            raise NavFault(NAV_EXC + "NavCSideException",
                           f"The record key is not valid: {(key or '')[:40]!r}") from None

    # ---- seeding and introspection -----------------------------------------------------------
    def seed(self, values: dict[str, Any], truth: int | None = None, modified: dt.date | None = None) -> None:
        with self._lock:
            ident = values[self.id_field]
            self._version += 1
            row = dict(values)
            if self.change_field:
                row[self.change_field] = modified or self.today
            self._rows[ident] = _Row(row, self._version)
            bisect.insort(self._order, ident)
            if truth is not None:
                self.truth[ident] = truth

    def count(self, predicate: Callable[[dict[str, Any]], bool] | None = None) -> int:
        with self._lock:
            if predicate is None:
                return len(self._rows)
            return sum(1 for r in self._rows.values() if predicate(r.values))

    def get(self, ident: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._rows.get(ident)
            return self._public(ident, row) if row else None

    def touch(self, ident: str, **changes: Any) -> dict[str, Any]:
        """A change made by "another user" in the ERP (tests use it to make a Key stale)."""
        with self._lock:
            row = self._rows[ident]
            row.values.update(changes)
            self._bump(row)
            return self._public(ident, row)

    def _public(self, ident: str, row: _Row) -> dict[str, Any]:
        out = {self.key_field: self.make_key(ident, row.version)}
        out.update({k: v for k, v in row.values.items() if v is not None})
        return out

    def _bump(self, row: _Row) -> None:
        self._version += 1
        row.version = self._version
        if self.change_field:
            row.values[self.change_field] = self.today

    # ---- reads ------------------------------------------------------------------------------
    def compile_filters(self, filters: list[dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
        preds = []
        for f in filters or []:
            name, criteria = f.get("Field"), f.get("Criteria") or ""
            if name not in self.fields or name == self.key_field:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"The field {name} is not a valid filter field of the {self.record_type} page.")
            info = self.fields[name]
            try:
                pred = navfilter.compile_criteria(criteria, navfilter.value_parser(info.xsd))
            except navfilter.FilterSyntaxError as exc:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"The filter \"{criteria}\" is not valid for the {name} field on the "
                               f"{self.record_type} table. {exc}") from None
            preds.append((name, pred))
        return lambda values: all(p(values.get(n)) for n, p in preds)

    def read_multiple(self, filters: list[dict[str, Any]], bookmark: str | None, set_size: int) -> list[dict[str, Any]]:
        match = self.compile_filters(filters)
        ids = self._id_lookup(filters)
        with self._lock:
            if ids is not None:             # No=a|b|c: an index seek, as SQL Server does it
                found = sorted(i for i in ids if i in self._rows and (not bookmark or i > self.parse_key(bookmark)[0]))
                rows = [self._public(i, self._rows[i]) for i in found if match(self._rows[i].values)]
                return rows[:set_size] if set_size > 0 else rows
            start = 0
            if bookmark:
                ident, _ = self.parse_key(bookmark)
                start = bisect.bisect_right(self._order, ident)
            out: list[dict[str, Any]] = []
            for ident in self._iter_from(start):
                row = self._rows[ident]
                if match(row.values):
                    out.append(self._public(ident, row))
                    if 0 < set_size <= len(out):
                        break
            return out

    def _id_lookup(self, filters: list[dict[str, Any]]) -> set[str] | None:
        """The ids of a filter that is only ``No=a|b|c`` (exact values), else None."""
        if len(filters or []) != 1 or filters[0].get("Field") != self.id_field:
            return None
        tree = navfilter.parse(filters[0].get("Criteria") or "")
        parts = tree.parts if isinstance(tree, navfilter.Or) else (tree,)
        if not all(isinstance(p, navfilter.Compare) and p.op == "=" and not p.ignore_case and not p.value.wildcard
                   for p in parts):
            return None
        return {p.value.text for p in parts}

    def _iter_from(self, start: int) -> Iterator[str]:
        for i in range(start, len(self._order)):
            yield self._order[i]

    # ---- writes (each list call is one transaction: all or none) ------------------------------
    def create_many(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            staged: list[tuple[str, dict[str, Any]]] = []
            taken = set()
            for rec in records:
                values = self._clean(rec)
                ident = values.get(self.id_field) or self._next_no(taken)
                values[self.id_field] = ident
                if ident in self._rows or ident in taken:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"The {self.record_type} already exists. Identification fields and values: "
                                   f"No.='{ident}'")
                if fail and fail(values):
                    raise _injected(self.record_type, ident)
                taken.add(ident)
                staged.append((ident, values))
            out = []
            for ident, values in staged:
                self._version += 1
                if self.change_field:
                    values[self.change_field] = self.today
                row = _Row(values, self._version)
                self._rows[ident] = row
                bisect.insort(self._order, ident)
                out.append(self._public(ident, row))
            return out

    def update_many(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            staged = []
            for rec in records:
                ident, version = self.parse_key(rec.get(self.key_field))
                row = self._rows.get(ident)
                if row is None:
                    raise _not_found(self.record_type, ident)
                if row.version != version:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"Another user has modified the record for this {self.record_type} after you "
                                   f"retrieved it from the database. Enter your changes again in the updated window, "
                                   f"or start the interrupted activity again. Identification fields and values: "
                                   f"No.='{ident}'")
                values = self._clean({k: v for k, v in rec.items() if k != self.id_field})
                if rec.get(self.id_field) not in (None, ident):
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"You cannot rename a {self.record_type} through this page. "
                                   f"Identification fields and values: No.='{ident}'")
                if fail and fail(row.values):
                    raise _injected(self.record_type, ident)
                staged.append((row, values, ident))
            out = []
            for row, values, ident in staged:
                row.values.update(values)
                self._bump(row)
                out.append(self._public(ident, row))
            return out

    def delete(self, key: str) -> bool:
        with self._lock:
            ident, version = self.parse_key(key)
            row = self._rows.get(ident)
            if row is None:
                raise _not_found(self.record_type, ident)
            if row.version != version:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"Another user has modified the record for this {self.record_type} after you "
                               f"retrieved it from the database. Identification fields and values: No.='{ident}'")
            del self._rows[ident]
            self._order.pop(bisect.bisect_left(self._order, ident))
            self.truth.pop(ident, None)
            return True

    def _next_no(self, taken: set[str]) -> str:
        """The next number of the number series (numeric ids continue after the highest)."""
        numeric = [int(i) for i in (self._order[-50:] + list(taken)) if i.isdigit()]
        return str(max(numeric, default=100000) + 1)

    def _clean(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Validate one incoming record the way NAV's table triggers do; read-only fields are ignored."""
        out: dict[str, Any] = {}
        for name, value in rec.items():
            if name in self.read_only or name == self.change_field or value is None:
                continue
            info = self.fields.get(name)
            if info is None:
                continue
            if info.enum is not None and value not in info.enum:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"'{value}' is not an option. The existing options are: {','.join(info.enum)}")
            if isinstance(value, str):
                limit = LENGTHS.get(name)
                if limit is not None and len(value) > limit:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"The length of the string is {len(value)}, but it must be less than or equal to "
                                   f"{limit} characters. Value: {value}")
                if name in CODE_FIELDS:
                    value = value.upper()
                rel = RELATED.get(name)
                if rel and value and value not in rel[1]:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"The field {name.replace('_', ' ')} of table {self.record_type} contains a value "
                                   f"({value}) that cannot be found in the related table ({rel[0]}).")
            out[name] = value
        return out


def _not_found(record_type: str, ident: str) -> NavFault:
    return NavFault(NAV_EXC + "NavCSideRecordNotFoundException",
                    f"The {record_type} does not exist. Identification fields and values: No.='{ident}'")


def _injected(record_type: str, ident: str) -> NavFault:
    return NavFault(NAV_EXC + "NavCSideException",
                    f"The {record_type} could not be saved (sandbox fault injection). "
                    f"Identification fields and values: No.='{ident}'")
