"""The sandbox's page table: records in primary-key order, row versions, NAV's validation rules.

The primary key is one or more typed fields (``No``; or ``Journal_Template_Name,
Journal_Batch_Name, Line_No`` with an integer ``Line_No``), derived from the page's
WSDL. Inside, a record's identity is the tuple of its key values; outside, it is the
source id of :mod:`concord.connectors.soap_erp.keys` (``"C00010"``, ``"GENERAL,DEFAULT,10000"``).

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
from decimal import Decimal
from typing import Any

from concord.connectors.soap_erp import navfilter
from concord.connectors.soap_erp.keys import PageKey
from concord.connectors.soap_erp.wsdl import FieldInfo
from concord.hub.errors import RecordError

NAV_EXC = "Microsoft.Dynamics.Nav.Types.Exceptions."

#: NAV 2016 Customer table field lengths (Text/Code); Code fields are stored upper case.
LENGTHS = {"No": 20, "Name": 50, "Address": 50, "Address_2": 50, "City": 30, "Post_Code": 20, "Country_Region_Code": 10,
           "Phone_No": 30, "E_Mail": 80, "Home_Page": 80, "VAT_Registration_No": 20, "Search_Name": 50,
           "Payment_Terms_Code": 10, "Currency_Code": 10, "Language_Code": 10, "Primary_Contact_No": 20,
           "Gen_Bus_Posting_Group": 10, "VAT_Bus_Posting_Group": 10, "Customer_Posting_Group": 10,
           "Invoice_Disc_Code": 20,
           "Concord_Id": 50}      # the field an integrator adds for Concord's id: Text[50] (a golden id has 36)
CODE_FIELDS = {"No", "Post_Code", "Country_Region_Code", "Search_Name", "Payment_Terms_Code", "Currency_Code",
               "Language_Code", "Primary_Contact_No", "Gen_Bus_Posting_Group", "VAT_Bus_Posting_Group",
               "Customer_Posting_Group", "Invoice_Disc_Code"}
#: related tables: a value must exist there (empty is always allowed)
RELATED = {"Country_Region_Code": ("Country/Region", {"DE", "FR", "GB", "US", "NL", "CN", "AT", "BE", "CH", "DK",
                                                      "ES", "IT", "SE", "PL", "JP"}),
           "Currency_Code": ("Currency", {"EUR", "USD", "GBP", "CNY", "CHF", "DKK", "SEK", "JPY", "PLN"}),
           "Payment_Terms_Code": ("Payment Terms", {"NET14", "NET30", "NET45", "NET60", "DUE", "14 DAYS", "1M(8D)", "CM"}),
           "Gen_Bus_Posting_Group": ("Gen. Business Posting Group", {"DOMESTIC", "EU", "EXPORT"}),
           "VAT_Bus_Posting_Group": ("VAT Business Posting Group", {"DOMESTIC", "EU", "EXPORT"}),
           "Customer_Posting_Group": ("Customer Posting Group", {"DOMESTIC", "EU", "FOREIGN"})}
#: NAV's captions where the page field name does not give them (``caption`` does ``No`` -> ``No.``)
CAPTIONS = {"Country_Region_Code": "Country/Region Code", "E_Mail": "E-Mail", "Gen_Bus_Posting_Group":
            "Gen. Bus. Posting Group", "VAT_Bus_Posting_Group": "VAT Bus. Posting Group"}


class NavFault(Exception):
    """A failure the SOAP layer answers as a SOAP 1.1 fault (HTTP 500, text/xml), as NAV does."""

    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


Ident = tuple[Any, ...]


@dataclass
class _Row:
    values: dict[str, Any]
    version: int


@dataclass
class Staged:
    """Validated writes, not applied yet: ``rows`` is what the answer will carry, ``commit()`` applies them.

    The SOAP layer renders the answer first and commits only when that worked (holding the store's lock),
    so a request answered with a fault never leaves a record behind."""

    rows: list[dict[str, Any]]
    commit: Callable[[], None]


def caption(name: str) -> str:
    """NAV's caption of a page field name in fault texts: ``Line_No`` -> ``Line No.``."""
    if name in CAPTIONS:
        return CAPTIONS[name]
    words = name.split("_")
    return " ".join(w + "." if w == "No" else w for w in words)


class PageStore:
    """One page's records (a NAV table behind a page), in primary-key order."""

    def __init__(self, record_type: str, fields: dict[str, FieldInfo], *, key: PageKey | None = None,
                 id_field: str = "No", key_field: str = "Key", change_field: str | None = "Last_Date_Modified",
                 read_only: tuple[str, ...] = (), today: dt.date | None = None, table_no: int = 18) -> None:
        self.record_type, self.fields = record_type, fields
        self.key = key or PageKey((id_field,), ("string",))
        self.id_field = self.key.names[0]
        self.key_field, self.change_field = key_field, change_field
        self.read_only = set(read_only) | {key_field}
        self.today = today or dt.date(2027, 1, 8)
        self.table_no = table_no
        self.truth: dict[str, int] = {}          # source id -> world index (ground truth; never in the payload)
        self._rows: dict[Ident, _Row] = {}
        self._order: list[Ident] = []
        self._version = 1000
        self.lock = threading.RLock()
        self._lock = self.lock
        #: document rules (a sales order and its lines, see documents.py); None for a plain page
        self.rules: Any = None
        #: table triggers (on_insert, on_modify: the Customer table, customers.py) and the number series a
        #: Create with a blank key takes its number from; None: numbers continue after the highest one
        self.table: Any = None
        self.no_series: Any = None

    # ---- keys ------------------------------------------------------------------------------
    def ident(self, ref: str | Ident | dict[str, Any]) -> Ident:
        """A record's identity from its source id, a tuple of key values, or a dict of key fields."""
        if isinstance(ref, tuple):
            values = list(ref)
        elif isinstance(ref, dict):
            values = [ref.get(n) for n in self.key.names]
        else:
            try:
                values = list(self.key.decode(str(ref)).values())
            except RecordError:
                raise NavFault(NAV_EXC + "NavCSideException", f"The record key is not valid: {str(ref)[:40]!r}") from None
        if len(values) != len(self.key.names):
            raise NavFault(NAV_EXC + "NavCSideException", f"The record key is not valid: {ref!r}")
        return tuple(self._key_value(n, v) for n, v in zip(self.key.names, values))

    def _key_value(self, name: str, value: Any) -> Any:
        try:
            v = self.key.typed(name, value)
        except RecordError:
            raise NavFault(NAV_EXC + "NavCSideException",
                           f"The value {value!r} is not valid for the field {caption(name)}.") from None
        info = self.fields.get(name)
        if isinstance(v, str) and (info is None or info.enum is None):
            v = v.upper()                         # key Code fields are stored upper case
        return v

    def source_id(self, ident: Ident) -> str:
        return self.key.encode(ident)

    def ident_text(self, ident: Ident) -> str:
        """``Identification fields and values: ...`` as NAV writes it."""
        return ",".join(f"{caption(n)}='{str(v).replace(chr(39), chr(39) * 2)}'" for n, v in zip(self.key.names, ident))

    def make_key(self, ident: Ident | str, version: int) -> str:
        sid = ident if isinstance(ident, str) else self.source_id(ident)
        b64 = base64.b64encode(sid.encode("utf-16-le")).decode()
        return f"{self.table_no};{b64};{version};"

    def parse_key(self, key: str | None) -> tuple[Ident, int]:
        try:
            table, b64, version, _ = (key or "").split(";")
            sid = base64.b64decode(b64, validate=True).decode("utf-16-le")
            return self.ident(sid), int(version)
        except Exception:
            raise NavFault(NAV_EXC + "NavCSideException",
                           f"The record key is not valid: {(key or '')[:40]!r}") from None

    # ---- seeding and introspection -----------------------------------------------------------
    def seed(self, values: dict[str, Any], truth: int | None = None, modified: dt.date | None = None) -> bool:
        """Add one record as it is (no validation); False when its key is taken or incomplete."""
        with self._lock:
            if any(values.get(n) is None for n in self.key.names):
                return False
            ident = self.ident(dict(values))
            if ident in self._rows:
                return False
            self._version += 1
            row = dict(values)
            row.update(zip(self.key.names, ident))
            if self.change_field:
                row[self.change_field] = modified or self.today
            self._rows[ident] = _Row(row, self._version)
            bisect.insort(self._order, ident)
            if truth is not None:
                self.truth[self.source_id(ident)] = truth
            return True

    def count(self, predicate: Callable[[dict[str, Any]], bool] | None = None) -> int:
        with self._lock:
            if predicate is None:
                return len(self._rows)
            return sum(1 for r in self._rows.values() if predicate(r.values))

    def get(self, ref: str | Ident | dict[str, Any]) -> dict[str, Any] | None:
        """A record by source id (or key tuple), as the page returns it; None when there is none."""
        with self._lock:
            try:
                ident = self.ident(ref)
            except NavFault:
                return None
            row = self._rows.get(ident)
            return self._public(ident, row) if row else None

    def touch(self, ref: str | Ident, **changes: Any) -> dict[str, Any]:
        """A change made by "another user" in the ERP (tests use it to make a Key stale)."""
        with self._lock:
            ident = self.ident(ref)
            row = self._rows[ident]
            row.values.update(changes)
            self._bump(row)
            return self._public(ident, row)

    def post(self, ref: str | Ident, *, ship: Decimal | float | None = None,
             invoice: Decimal | float | None = None) -> dict[str, Any]:
        """NAV posts a shipment and/or an invoice of a document: each line's Quantity_Shipped (Quantity_Invoiced)
        becomes ``ship`` (``invoice``) times its Quantity; the order is Released. Tests use it."""
        with self._lock:
            ident = self.ident(ref)
            row = self._rows[ident]
            part = self.rules.part
            lines = [dict(ln) for ln in (row.values.get(part.name) or {}).get(part.line_element, [])]
            for ln in lines:
                qty = Decimal(str(ln.get("Quantity") or 0))
                for share, done, todo in ((ship, "Quantity_Shipped", "Qty_to_Ship"),
                                          (invoice, "Quantity_Invoiced", "Qty_to_Invoice")):
                    if share is not None:
                        ln[done] = (qty * Decimal(str(share))).quantize(Decimal("0.00001")).normalize()
                        ln[todo] = qty - ln[done]
            row.values[part.name] = {part.line_element: lines}
            row.values["Status"] = "Released"
            self._bump(row)
            return self._public(ident, row)

    def _public(self, ident: Ident, row: _Row, version: int | None = None) -> dict[str, Any]:
        v = row.version if version is None else version
        out = {self.key_field: self.make_key(ident, v)}
        out.update({k: v for k, v in row.values.items() if v is not None})
        if self.rules is not None:
            lines = self.rules.public_lines(row.values, v)
            if lines is None:
                out.pop(self.rules.part.name, None)
            else:
                out[self.rules.part.name] = lines
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
            after = self.parse_key(bookmark)[0] if bookmark else None
            if ids is not None:             # No=a|b|c: an index seek, as SQL Server does it
                found = sorted(i for i in ids if i in self._rows and (after is None or i > after))
                rows = [self._public(i, self._rows[i]) for i in found if match(self._rows[i].values)]
                return rows[:set_size] if set_size > 0 else rows
            start = bisect.bisect_right(self._order, after) if after is not None else 0
            out: list[dict[str, Any]] = []
            for ident in self._iter_from(start):
                row = self._rows[ident]
                if match(row.values):
                    out.append(self._public(ident, row))
                    if 0 < set_size <= len(out):
                        break
            return out

    def _id_lookup(self, filters: list[dict[str, Any]]) -> set[Ident] | None:
        """The ids of a filter that is only ``No=a|b|c`` (exact values) on a one-field key, else None."""
        if self.key.composite or len(filters or []) != 1 or filters[0].get("Field") != self.id_field:
            return None
        tree = navfilter.parse(filters[0].get("Criteria") or "")
        parts = tree.parts if isinstance(tree, navfilter.Or) else (tree,)
        if not all(isinstance(p, navfilter.Compare) and p.op == "=" and not p.ignore_case and not p.value.wildcard
                   for p in parts):
            return None
        out = set()
        for p in parts:
            try:
                out.add(self.ident((p.value.text,)))
            except NavFault:
                continue
        return out

    def _iter_from(self, start: int) -> Iterator[Ident]:
        for i in range(start, len(self._order)):
            yield self._order[i]

    # ---- writes (each list call is one transaction: all or none) ------------------------------
    def create_many(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            staged = self.stage_create(records, fail)
            staged.commit()
            return staged.rows

    def update_many(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            staged = self.stage_update(records, fail)
            staged.commit()
            return staged.rows

    def stage_create(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> Staged:
        """Validate a CreateMultiple: every key complete and new, every value valid. Nothing is applied."""
        with self._lock:
            staged: list[tuple[Ident, dict[str, Any]]] = []
            taken: set[Ident] = set()
            numbered: list[str] = []                  # numbers this call takes from the series
            for rec in records:
                values = self._clean(rec)
                missing = [n for n in self.key.names if values.get(n) in (None, "")]
                if missing and not self.key.composite and self.key.types[0] == "string":
                    if self.no_series is not None:
                        numbered.append(self.no_series.peek(len(numbered) + 1))
                        values[self.id_field] = numbered[-1]
                    else:
                        values[self.id_field] = self._next_no(taken)      # numbers continue after the highest
                    missing = []
                if missing:
                    shown = ", ".join(f"{caption(n)}={values.get(n) if values.get(n) is not None else ''}"
                                      for n in self.key.names)
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"{caption(missing[0])} must have a value in {self.record_type}: {shown}. "
                                   f"It cannot be zero or empty.")
                ident = self.ident(values)
                values.update(zip(self.key.names, ident))
                if ident in self._rows or ident in taken:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"The {self.record_type} already exists. Identification fields and values: "
                                   f"{self.ident_text(ident)}")
                if self.table is not None:
                    self.table.on_insert(values)
                if self.rules is not None:
                    self.rules.create(values, self.ident_text(ident))
                if fail and fail(values):
                    raise _injected(self.record_type, self.ident_text(ident))
                taken.add(ident)
                staged.append((ident, values))
            out = []
            for n, (ident, values) in enumerate(staged, 1):
                if self.change_field:
                    values[self.change_field] = self.today
                out.append(self._public(ident, _Row(values, 0), self._version + n))

            def commit() -> None:
                with self._lock:
                    for ident, values in staged:
                        if ident in self._rows:
                            raise NavFault(NAV_EXC + "NavCSideException",
                                           f"The {self.record_type} already exists. Identification fields and "
                                           f"values: {self.ident_text(ident)}")
                    for ident, values in staged:
                        self._version += 1
                        self._rows[ident] = _Row(values, self._version)
                        bisect.insort(self._order, ident)
                    if numbered:
                        self.no_series.used(numbered[-1])

            return Staged(out, commit)

    def stage_update(self, records: list[dict[str, Any]], fail: Callable[[dict[str, Any]], bool] | None = None) -> Staged:
        """Validate an UpdateMultiple: each Key current, no key field renamed, every value valid."""
        with self._lock:
            staged = []
            for rec in records:
                ident, version = self.parse_key(rec.get(self.key_field))
                row = self._rows.get(ident)
                if row is None:
                    raise _not_found(self.record_type, self.ident_text(ident))
                if row.version != version:
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"Another user has modified the record for this {self.record_type} after you "
                                   f"retrieved it from the database. Enter your changes again in the updated window, "
                                   f"or start the interrupted activity again. Identification fields and values: "
                                   f"{self.ident_text(ident)}")
                given = {n: rec.get(n) for n in self.key.names if rec.get(n) is not None}
                if given and any(self._key_value(n, v) != ident[self.key.names.index(n)] for n, v in given.items()):
                    raise NavFault(NAV_EXC + "NavCSideException",
                                   f"You cannot rename a {self.record_type} through this page. "
                                   f"Identification fields and values: {self.ident_text(ident)}")
                values = self._clean({k: v for k, v in rec.items() if k not in self.key.names})
                if self.table is not None:
                    self.table.on_modify(row.values, values)
                if self.rules is not None:
                    self.rules.update(row.values, values)
                if fail and fail(row.values):
                    raise _injected(self.record_type, self.ident_text(ident))
                staged.append((ident, row, values))
            out = []
            for n, (ident, row, values) in enumerate(staged, 1):
                preview = _Row({**row.values, **values}, 0)
                if self.change_field:
                    preview.values[self.change_field] = self.today
                out.append(self._public(ident, preview, self._version + n))

            def commit() -> None:
                with self._lock:
                    for ident, row, values in staged:
                        row.values.update(values)
                        self._bump(row)

            return Staged(out, commit)

    def delete(self, key: str) -> bool:
        with self._lock:
            ident, version = self.parse_key(key)
            row = self._rows.get(ident)
            if row is None:
                raise _not_found(self.record_type, self.ident_text(ident))
            if row.version != version:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"Another user has modified the record for this {self.record_type} after you "
                               f"retrieved it from the database. Identification fields and values: "
                               f"{self.ident_text(ident)}")
            del self._rows[ident]
            self._order.pop(bisect.bisect_left(self._order, ident))
            self.truth.pop(self.source_id(ident), None)
            return True

    def _next_no(self, taken: set[Ident]) -> str:
        """The next number of the number series (numeric ids continue after the highest)."""
        numeric = [int(i[0]) for i in (self._order[-50:] + list(taken)) if str(i[0]).isdigit()]
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
                                   f"The field {caption(name)} of table {self.record_type} contains a value "
                                   f"({value}) that cannot be found in the related table ({rel[0]}).")
            out[name] = value
        return out


def _not_found(record_type: str, ident_text: str) -> NavFault:
    return NavFault(NAV_EXC + "NavCSideRecordNotFoundException",
                    f"The {record_type} does not exist. Identification fields and values: {ident_text}")


def _injected(record_type: str, ident_text: str) -> NavFault:
    return NavFault(NAV_EXC + "NavCSideException",
                    f"The {record_type} could not be saved (sandbox fault injection). "
                    f"Identification fields and values: {ident_text}")
