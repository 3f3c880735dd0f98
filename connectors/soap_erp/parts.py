"""Document pages with parts: a sales order and its ``SalesLines`` travel in one record.

NAV publishes a document page (Page 42 "Sales Order") with its subpage as an element of the record:
``SalesLines`` of type ``Sales_Order_Line_List``, a sequence of ``Sales_Order_Line`` elements. Read and
ReadMultiple return the lines inline; Create takes them inline, and NAV numbers them (``Line_No`` 10000,
20000, ...). This module does the connector's share of that:

- on read, every line gets its 1-based position (the operation map's ``position_field``), and the
  header gets the rollups the operation map declares (delivery and billing status from the lines'
  shipped and invoiced quantities, the sum of the line amounts): the page itself has no such fields;
- on write, the lines are checked and coerced against the line type of the WSDL (read-only line fields
  refused); an update that carries lines is refused, because NAV matches updated lines by their own
  ``Key`` and adds every line without one, so re-sending the lines would duplicate them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from concord.connectors.soap_erp.wsdl import PageModel, PartInfo
from concord.hub.errors import RecordError


def lines_of(record: Mapping[str, Any], part: PartInfo) -> list[dict[str, Any]]:
    box = record.get(part.name)
    if not isinstance(box, Mapping):
        return []
    lines = box.get(part.line_element)
    if isinstance(lines, Mapping):
        return [dict(lines)]
    return [ln for ln in (lines or []) if isinstance(ln, Mapping)]


def on_read(record: dict[str, Any], model: PageModel) -> dict[str, Any]:
    """Positions on the lines and the rollups, in place (a record without parts or rollups is unchanged)."""
    om = model.opmap
    for name, part in model.parts.items():
        conf = om.parts.get(name)
        if conf is None or not conf.position_field:
            continue
        for pos, line in enumerate(lines_of(record, part), 1):
            line[conf.position_field] = pos
    for name, r in om.rollups.items():
        if r.part is None:
            value = _header_status(r, record)
        else:
            part = model.parts.get(r.part)
            if part is None:
                continue
            value = _rollup(r, lines_of(record, part))
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    return record


def _num(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _header_status(r: Any, record: Mapping[str, Any]) -> str | None:
    """Open / partially / fully settled from the header's total and remaining amount (None without a total)."""
    if record.get(r.quantity) in (None, "") or record.get(r.remaining) in (None, ""):
        return None
    total, remaining = _num(record.get(r.quantity)), _num(record.get(r.remaining))
    if remaining == 0:
        return r.values[2]
    if remaining == total:
        return r.values[0]
    return r.values[1]


def _rollup(r: Any, lines: list[dict[str, Any]]) -> str | None:
    if not lines:
        return None
    if r.sum:
        return format(sum((_num(ln.get(r.sum)) for ln in lines), Decimal(0)), "f")
    counted = [(_num(ln.get(r.quantity)), _num(ln.get(r.done))) for ln in lines if _num(ln.get(r.quantity)) != 0]
    if not counted:
        return None
    if all(done == 0 for _, done in counted):
        return r.values[0]
    if all(abs(done) >= abs(qty) for qty, done in counted):
        return r.values[2]
    return r.values[1]


def wire_part(model: PageModel, name: str, value: Any, *, for_update: bool, record_id: str | None,
              coerce: Callable[[str, Any, str, str | None], Any]) -> dict[str, Any] | None:
    """A part's value as the WSDL wants it: ``{"Sales_Order_Line": [{...}, ...]}`` with typed values."""
    part = model.parts[name]
    if for_update:
        raise RecordError(f"{name}: updating the lines of an existing document is not supported (NAV needs each "
                          f"line's Key and adds every line sent without one); lines are written with the create",
                          field=name, record_id=record_id, code="unsupported")
    if value is None:
        return None
    if isinstance(value, Mapping):
        lines = value.get(part.line_element, [])
        if isinstance(lines, Mapping):
            lines = [lines]
    else:
        lines = value
    if not isinstance(lines, (list, tuple)):
        raise RecordError(f"{name}: expected {part.line_element} lines, got {type(value).__name__}", field=name,
                          record_id=record_id)
    conf = model.opmap.parts.get(name)
    read_only = set(conf.read_only) if conf else {"Key"}
    derived = {conf.position_field} if conf and conf.position_field else set()
    out = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, Mapping):
            raise RecordError(f"{name}: line {n} is not a record", field=name, record_id=record_id)
        rec: dict[str, Any] = {}
        for fname, v in line.items():
            if fname in derived:
                continue
            info = part.fields.get(fname)
            where = f"{name}.{part.line_element}[{n}].{fname}"
            if info is None:
                raise RecordError(f"{part.line_element} has no field {fname!r}", field=where, record_id=record_id)
            if fname in read_only:
                if v in (None, ""):
                    continue
                raise RecordError(f"{where} is read-only", field=where, record_id=record_id)
            if v is not None:
                rec[fname] = coerce(info.xsd, v, where, record_id)
        out.append(rec)
    return {part.line_element: out} if out else None
