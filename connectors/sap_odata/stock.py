"""Stock on hand and available per plant, read from API_MATERIAL_STOCK_SRV and attached to material records.

S/4 keeps stock apart from the product master: ``A_MatlStkInAcctMod`` holds one row per material, plant,
storage location, batch, special stock and stock type (``InventoryStockType`` 01 unrestricted use,
02 quality inspection, 07 blocked, ...), quantity ``MatlWrhsStkQtyInMatlBaseUnit`` in the base unit.
A canonical product takes its stock from the product record, so the connector reads the stock rows of each
page of materials (one query per 25 materials, ``Material eq ... or ...``) and adds to every record:

    "MaterialStock": {"OnHandQuantity": "120", "AvailableQuantity": "100", "BaseUnit": "EA",
                      "Plants": [{"Plant": "1010", "OnHandQuantity": "120", "AvailableQuantity": "100",
                                  "BaseUnit": "EA"}]}

On hand is every stock type; available is the configured ``available_stock_types`` (unrestricted use) without
special stocks (consignment, sales order stock). This is stock, not an ATP check (S/4 has that in
API_PRODUCT_AVAILY_INFO_BASIC, per plant and date).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from concord.connectors.sap_odata.filter import literal
from concord.connectors.sap_odata.read import ServerPager
from concord.hub.contracts import FieldSpec, Page

STOCK_SET = "A_MatlStkInAcctMod"
BLOCK = "MaterialStock"
CHUNK = 25


def _num(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def stock_field() -> FieldSpec:
    """The FieldSpec of the ``MaterialStock`` block (read-only), so that mappings are checked against it."""
    def ro(name: str, type_: str = "decimal") -> FieldSpec:
        return FieldSpec(name=name, type=type_, createable=False, updateable=False, filterable=False)  # type: ignore[arg-type]
    plant = (ro("Plant", "string"), ro("OnHandQuantity"), ro("AvailableQuantity"), ro("BaseUnit", "string"))
    return FieldSpec(name=BLOCK, type="object", createable=False, updateable=False, filterable=False,
                     label="Stock from API_MATERIAL_STOCK_SRV (added by the connector)",
                     children=(ro("OnHandQuantity"), ro("AvailableQuantity"), ro("BaseUnit", "string"),
                               FieldSpec(name="Plants", type="array", createable=False, updateable=False,
                                         filterable=False, children=plant)))


def summarise(rows: Sequence[Mapping[str, Any]], available_types: Sequence[str]) -> dict[str, Any]:
    plants: dict[str, list[Decimal]] = {}
    unit = None
    for r in rows:
        qty = Decimal(str(r.get("MatlWrhsStkQtyInMatlBaseUnit") or 0))
        unit = unit or r.get("MaterialBaseUnit")
        acc = plants.setdefault(str(r.get("Plant")), [Decimal(0), Decimal(0)])
        acc[0] += qty
        if str(r.get("InventoryStockType")) in available_types and not r.get("InventorySpecialStockType"):
            acc[1] += qty
    return {"OnHandQuantity": _num(sum((a[0] for a in plants.values()), Decimal(0))),
            "AvailableQuantity": _num(sum((a[1] for a in plants.values()), Decimal(0))),
            "BaseUnit": unit,
            "Plants": [{"Plant": p, "OnHandQuantity": _num(a[0]), "AvailableQuantity": _num(a[1]), "BaseUnit": unit}
                       for p, a in sorted(plants.items())]}


def read_stock(entity_set: Any, materials: Sequence[str], *, system: str, top: int) -> dict[str, list[dict[str, Any]]]:
    """Stock rows per material, one query per CHUNK materials (server paging followed)."""
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in materials}
    wanted = [m for m in dict.fromkeys(materials) if m]
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        flt = " or ".join(f"Material eq {literal('Edm.String', m)}" for m in chunk)
        skip = 0
        while True:      # $top windows ($skip), each with the server's own __next paging inside
            got = 0
            for rows in ServerPager(entity_set, filter_=flt, orderby="Material,Plant,StorageLocation", top=top,
                                    skip=skip or None, expand=(), system=system,
                                    select=("Material", "Plant", "StorageLocation", "InventoryStockType",
                                            "InventorySpecialStockType", "MaterialBaseUnit",
                                            "MatlWrhsStkQtyInMatlBaseUnit")):
                for p in rows:
                    values = p._cache  # noqa: SLF001 - pyodata's parsed values, as read_keys uses them
                    out.setdefault(str(values.get("Material")), []).append(dict(values))
                    got += 1
            if got < top:
                break
            skip += got
    return out


def with_stock(pages: Iterator[Page], entity_set: Any, material_field: str, *, system: str, top: int,
               available_types: Sequence[str]) -> Iterator[Page]:
    for page in pages:
        if not page.records:
            yield page
            continue
        mats = [str(r.get(material_field) or "") for r in page.records]
        stock = read_stock(entity_set, mats, system=system, top=top)
        records = [{**r, BLOCK: summarise(stock.get(m, []), available_types)} for r, m in zip(page.records, mats)]
        yield page.model_copy(update={"records": records})
