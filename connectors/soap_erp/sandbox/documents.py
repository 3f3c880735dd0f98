"""NAV's rules for a sales order page with its SalesLines part, as the sandbox plays them.

What the Sales Header and Sales Line tables do when a page writes them (the subset Concord meets):

- ``Sell_to_Customer_No`` must name a customer of the Customer page (``The Customer does not exist.
  Identification fields and values: No.='…'``), one not blocked with type All; NAV copies the customer's
  name, address, currency and payment terms onto the order and sets ``Status`` to ``Open``; a customer
  without a Customer Posting Group is refused (a TestField error), when the Customer page shows that field;
- every line of type Item (the default for a line that names a ``No``) must name an item of the Item page
  (``The Item does not exist. …``) that is not blocked (``Blocked must be equal to 'No'  in Item: No.=….
  Current value is 'Yes'.``, a TestField error); NAV fills the description, unit of measure and unit price from
  the item (a unit of measure other than the item's base unit: ``The Item Unit of Measure does not exist.``),
  numbers the line (``Line_No`` 10000, 20000, … AutoSplitKey), and computes ``Line_Amount``;
- the whole Create(Multiple) is one transaction: one bad line faults the call and nothing is stored.

An Update that carries lines updates the lines whose ``Line_No`` it gives (NAV: by the line's ``Key``) and
adds the others, as NAV does; lines it does not mention stay.
"""
from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from concord.connectors.soap_erp.wsdl import PartInfo

NAV_EXC = "Microsoft.Dynamics.Nav.Types.Exceptions."


class SalesOrderRules:
    def __init__(self, part: PartInfo, customers: Any | None, items: Any | None, fault: type[Exception]) -> None:
        self.part, self.customers, self.items, self.fault = part, customers, items, fault

    # ---- called by PageStore -----------------------------------------------------------------
    def create(self, values: dict[str, Any], ident_text: str) -> None:
        self._customer(values)
        values.setdefault("Status", "Open")
        lines = self._lines(values)
        for n, line in enumerate(lines, 1):
            line.pop("Key", None)
            line["Line_No"] = n * 10000
            self._line(line, values)
        self._put(values, lines)

    def update(self, current: dict[str, Any], values: dict[str, Any]) -> None:
        if "Sell_to_Customer_No" in values and values["Sell_to_Customer_No"] != current.get("Sell_to_Customer_No"):
            self._customer(values)
        if self.part.name not in values:
            return
        incoming = self._lines(values)
        existing = {ln["Line_No"]: dict(ln) for ln in self._lines(current)}
        nxt = max(existing, default=0)
        for line in incoming:
            line.pop("Key", None)
            no = line.get("Line_No")
            if no in existing:
                merged = {**existing[no], **line}
                self._line(merged, {**current, **values})
                existing[no] = merged
            else:
                nxt += 10000
                line["Line_No"] = nxt
                self._line(line, {**current, **values})
                existing[nxt] = line
        self._put(values, [existing[k] for k in sorted(existing)])

    def public_lines(self, values: dict[str, Any], version: int) -> dict[str, Any] | None:
        """The part as the page returns it: each line with its own Key (table 37)."""
        lines = self._lines(values)
        if not lines:
            return None
        out = []
        for ln in lines:
            sid = f"Order,{values.get('No')},{ln.get('Line_No')}"
            key = f"37;{base64.b64encode(sid.encode('utf-16-le')).decode()};{version};"
            out.append({"Key": key, **{k: v for k, v in ln.items() if v is not None and k != "Key"}})
        return {self.part.line_element: out}

    # ---- rules -------------------------------------------------------------------------------
    def _lines(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        box = values.get(self.part.name) or {}
        lines = box.get(self.part.line_element) if isinstance(box, dict) else None
        if isinstance(lines, dict):
            lines = [lines]
        return [{k: v for k, v in ln.items() if v is not None} for ln in (lines or [])]

    def _put(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        if lines:
            values[self.part.name] = {self.part.line_element: lines}
        else:
            values.pop(self.part.name, None)

    def _customer(self, values: dict[str, Any]) -> None:
        no = values.get("Sell_to_Customer_No")
        if not no:
            raise self.fault(NAV_EXC + "NavTestFieldException",
                             "Sell-to Customer No. must have a value in Sales Header: Document Type=Order, No.="
                             f"{values.get('No')}. It cannot be zero or empty.")
        if self.customers is None:
            return
        cust = self.customers.get(str(no))
        if cust is None:
            raise self.fault(NAV_EXC + "NavCSideRecordNotFoundException",
                             f"The Customer does not exist. Identification fields and values: No.='{no}'")
        if cust.get("Blocked") == "All":
            raise self.fault(NAV_EXC + "NavCSideException",
                             f"You cannot create this type of document when Customer {no} is blocked with type All")
        if "Customer_Posting_Group" in self.customers.fields and not cust.get("Customer_Posting_Group"):
            # Bill-to Customer No. OnValidate: Cust.TESTFIELD("Customer Posting Group") (a customer created
            # through the page without posting groups cannot be sold to until someone sets them)
            raise self.fault(NAV_EXC + "NavTestFieldException",
                             f"Customer Posting Group must have a value in Customer: No.={cust['No']}. "
                             f"It cannot be zero or empty.")
        values["Sell_to_Customer_No"] = cust["No"]
        for src, dst in (("Name", "Sell_to_Customer_Name"), ("Address", "Sell_to_Address"),
                         ("City", "Sell_to_City"), ("Post_Code", "Sell_to_Post_Code")):
            if cust.get(src) is not None:
                values[dst] = cust[src]
        values.setdefault("Bill_to_Customer_No", cust["No"])
        for src in ("Currency_Code", "Payment_Terms_Code"):
            if cust.get(src) is not None and not values.get(src):
                values[src] = cust[src]

    def _line(self, line: dict[str, Any], header: dict[str, Any]) -> None:
        if line.get("No") and not line.get("Type"):
            line["Type"] = "Item"
        if line.get("Type") == "Item" and line.get("No"):
            no = str(line["No"]).upper()
            line["No"] = no
            item = self.items.get(no) if self.items is not None else {"No": no}
            if item is None:
                raise self.fault(NAV_EXC + "NavCSideRecordNotFoundException",
                                 f"The Item does not exist. Identification fields and values: No.='{no}'")
            if item.get("Blocked") is True:
                raise self.fault(NAV_EXC + "NavTestFieldException",
                                 f"Blocked must be equal to 'No'  in Item: No.={no}. Current value is 'Yes'.")
            uom = str(line.get("Unit_of_Measure_Code") or "").upper()
            base = str(item.get("Base_Unit_of_Measure") or "").upper()
            if uom and base and uom != base:       # the sandbox's items have one unit each: the base unit
                raise self.fault(NAV_EXC + "NavCSideRecordNotFoundException",
                                 f"The Item Unit of Measure does not exist. Identification fields and values: "
                                 f"Item No.='{no}',Code='{uom}'")
            if uom:
                line["Unit_of_Measure_Code"] = uom
            for src, dst in (("Description", "Description"), ("Base_Unit_of_Measure", "Unit_of_Measure_Code"),
                             ("Unit_Price", "Unit_Price")):
                if item.get(src) is not None and line.get(dst) in (None, ""):
                    line[dst] = item[src]
        qty = Decimal(str(line.get("Quantity") or 0))
        if qty < 0:
            raise self.fault(NAV_EXC + "NavCSideException",
                             f"Quantity must be positive in Sales Line Document Type='Order',Document No.="
                             f"'{header.get('No')}',Line No.='{line.get('Line_No')}'.")
        price = Decimal(str(line.get("Unit_Price") or 0))
        disc = Decimal(str(line.get("Line_Discount_Percent") or 0))
        line["Line_Amount"] = (qty * price * (100 - disc) / 100).quantize(Decimal("0.01"))
        for f in ("Quantity_Shipped", "Quantity_Invoiced", "Reserved_Quantity"):
            line.setdefault(f, Decimal(0))
        line.setdefault("Qty_to_Ship", qty - Decimal(str(line["Quantity_Shipped"])))
        line.setdefault("Qty_to_Invoice", qty - Decimal(str(line["Quantity_Invoiced"])))
        if header.get("Location_Code") and not line.get("Location_Code"):
            line["Location_Code"] = header["Location_Code"]
