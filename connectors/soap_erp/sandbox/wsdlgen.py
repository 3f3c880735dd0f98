"""Write a page web-service WSDL the way Dynamics NAV 2016 generates one, for any page.

NAV generates one WSDL per published page: the record complexType (``Key`` first, then
the page's controls), ``<Page>_List``, ``<Page>_Fields`` (the filterable fields),
``<Page>_Filter``, and the operations Read (one parameter per primary key field),
ReadByRecId, ReadMultiple, IsUpdated, GetRecIdFromKey, Create(Multiple),
Update(Multiple) and Delete (by ``Key``). Tests and integrators use :func:`page_wsdl`
to serve pages the fixtures do not have, e.g. :func:`journal_line_wsdl`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

FieldDef = tuple[str, "str | tuple[str, ...]"]   # (name, XSD type name, or the option values of an enum)


@dataclass(frozen=True)
class PartDef:
    """A part (subpage) of a page, as NAV publishes it: the record has an element ``name`` (``SalesLines``)
    of type ``<line_type>_List``, a sequence of ``line_type`` elements (``Sales_Order_Line``, ``Key``
    first), placed after the field ``after``; NAV adds a ``Delete_<name>`` operation (by the line's Key)."""

    name: str
    line_type: str
    fields: tuple[FieldDef, ...]
    after: str | None = None

OPERATIONS = ("Read", "ReadByRecId", "ReadMultiple", "IsUpdated", "GetRecIdFromKey", "Create", "CreateMultiple",
              "Update", "UpdateMultiple", "Delete")
#: what NAV publishes for a page that is not editable (Editable=false: no Create, Update or Delete)
READ_OPERATIONS = ("Read", "ReadByRecId", "ReadMultiple", "IsUpdated", "GetRecIdFromKey")


def page_wsdl(page: str, fields: Sequence[FieldDef], key: Sequence[str], *,
              address: str = "http://localhost:7047/DynamicsNAV90/WS/CRONUS/Page/",
              parts: Sequence[PartDef] = (), operations: Sequence[str] = OPERATIONS) -> bytes:
    """The WSDL of page ``page`` (also the record type's name) with ``fields``, primary ``key`` and ``parts``;
    ``operations``: all of them, or ``READ_OPERATIONS`` for a page that is not editable."""
    names = [n for n, _ in fields]
    missing = [k for k in key if k not in names]
    if missing or not key:
        raise ValueError(f"key fields {missing or key} are not fields of {page}")
    tns = f"urn:microsoft-dynamics-schemas/page/{page.lower()}"
    types = {n: t for n, t in fields}
    enum_names: dict[tuple[str, str], str] = {}        # (owner, field) -> simpleType name (unique, NAV style)
    taken: set[str] = set()
    for owner, flds in [(page, fields)] + [(pt.line_type, pt.fields) for pt in parts]:
        for n, t in flds:
            if isinstance(t, tuple):
                name, i = n, 1
                while name in taken:
                    i += 1
                    name = f"{n}{i}"
                taken.add(name)
                enum_names[(owner, n)] = name

    def el(name: str, xsd_type: str, lo: int = 0, hi: str = "1") -> str:
        return f'<xsd:element minOccurs="{lo}" maxOccurs="{hi}" name={quoteattr(name)} type="{xsd_type}"/>'

    def ftype(name: str, owner: str = page, t: "str | tuple[str, ...] | None" = None) -> str:
        t = types[name] if t is None else t
        return f"tns:{enum_names[(owner, name)]}" if isinstance(t, tuple) else f"xsd:{t}"

    def wrap(name: str, *elements: str) -> str:
        return (f'<xsd:element name="{name}"><xsd:complexType><xsd:sequence>{"".join(elements)}'
                f'</xsd:sequence></xsd:complexType></xsd:element>')

    enums = "".join(
        f'<xsd:simpleType name={quoteattr(enum_names[(owner, n)])}><xsd:restriction base="xsd:string">'
        + "".join(f"<xsd:enumeration value={quoteattr(v)}/>" for v in t)
        + "</xsd:restriction></xsd:simpleType>"
        for owner, flds in [(page, fields)] + [(pt.line_type, pt.fields) for pt in parts]
        for n, t in flds if isinstance(t, tuple))
    after = {pt.after: pt for pt in parts}
    body = []
    for n in names:
        body.append(el(n, ftype(n)))
        if n in after:
            body.append(el(after[n].name, f"tns:{after[n].line_type}_List"))
    body += [el(pt.name, f"tns:{pt.line_type}_List") for pt in parts if pt.after not in names]
    record = (f'<xsd:complexType name="{page}"><xsd:sequence>{el("Key", "xsd:string")}'
              + "".join(body) + "</xsd:sequence></xsd:complexType>")
    for pt in parts:
        record += (f'<xsd:complexType name="{pt.line_type}"><xsd:sequence>{el("Key", "xsd:string")}'
                   + "".join(el(n, ftype(n, pt.line_type, t)) for n, t in pt.fields)
                   + f'</xsd:sequence></xsd:complexType><xsd:complexType name="{pt.line_type}_List"><xsd:sequence>'
                   + el(pt.line_type, f"tns:{pt.line_type}", 1, "unbounded") + "</xsd:sequence></xsd:complexType>")
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown or "Read" not in operations or "ReadMultiple" not in operations:
        raise ValueError(f"operations must include Read and ReadMultiple and be among {OPERATIONS}: {unknown}")
    writable = "Delete" in operations
    operations = tuple(operations) + tuple(f"Delete_{pt.name}" for pt in parts if writable)
    lst = (f'<xsd:complexType name="{page}_List"><xsd:sequence>{el(page, f"tns:{page}", 1, "unbounded")}'
           f"</xsd:sequence></xsd:complexType>")
    filt_fields = (f'<xsd:simpleType name="{page}_Fields"><xsd:restriction base="xsd:string">'
                   + "".join(f"<xsd:enumeration value={quoteattr(n)}/>" for n in names)
                   + "</xsd:restriction></xsd:simpleType>")
    filt = (f'<xsd:complexType name="{page}_Filter"><xsd:sequence>{el("Field", f"tns:{page}_Fields", 1)}'
            f'{el("Criteria", "xsd:string", 1)}</xsd:sequence></xsd:complexType>')
    rec, lst_el = el(page, f"tns:{page}", 1), el(f"{page}_List", f"tns:{page}_List", 1)
    elements = [
        wrap("Read", *(el(k, ftype(k), 1) for k in key)), wrap("Read_Result", el(page, f"tns:{page}")),
        wrap("ReadByRecId", el("recId", "xsd:string", 1)), wrap("ReadByRecId_Result", el(page, f"tns:{page}")),
        wrap("ReadMultiple", el("filter", f"tns:{page}_Filter", 1, "unbounded"), el("bookmarkKey", "xsd:string"),
             el("setSize", "xsd:int", 1)),
        wrap("ReadMultiple_Result", el("ReadMultiple_Result", f"tns:{page}_List")),
        wrap("IsUpdated", el("Key", "xsd:string", 1)), wrap("IsUpdated_Result", el("IsUpdated_Result", "xsd:boolean", 1)),
        wrap("GetRecIdFromKey", el("Key", "xsd:string", 1)),
        wrap("GetRecIdFromKey_Result", el("GetRecIdFromKey_Result", "xsd:string", 1)),
    ]
    writes = {"Create": (wrap("Create", rec), wrap("Create_Result", rec)),
              "CreateMultiple": (wrap("CreateMultiple", lst_el), wrap("CreateMultiple_Result", lst_el)),
              "Update": (wrap("Update", rec), wrap("Update_Result", rec)),
              "UpdateMultiple": (wrap("UpdateMultiple", lst_el), wrap("UpdateMultiple_Result", lst_el)),
              "Delete": (wrap("Delete", el("Key", "xsd:string", 1)),
                         wrap("Delete_Result", el("Delete_Result", "xsd:boolean", 1)))}
    elements += [e for op, pair in writes.items() if op in operations for e in pair]
    for pt in (parts if writable else ()):
        elements += [wrap(f"Delete_{pt.name}", el(f"{pt.name}_Key", "xsd:string", 1)),
                     wrap(f"Delete_{pt.name}_Result", el(f"Delete_{pt.name}_Result", "xsd:boolean", 1))]
    messages = "".join(f'<message name="{m}"><part name="parameters" element="tns:{m}"/></message>'
                       for op in operations for m in (op, op + "_Result"))
    port = "".join(f'<operation name="{op}"><input name="{op}" message="tns:{op}"/>'
                   f'<output name="{op}_Result" message="tns:{op}_Result"/></operation>' for op in operations)
    soap = "http://schemas.xmlsoap.org/wsdl/soap/"
    binding = "".join(
        f'<operation name="{op}"><operation soapAction="{tns}:{op}" style="document" xmlns="{soap}"/>'
        f'<input name="{op}"><body use="literal" xmlns="{soap}"/></input>'
        f'<output name="{op}_Result"><body use="literal" xmlns="{soap}"/></output></operation>' for op in operations)
    doc = (f'<?xml version="1.0" encoding="utf-8"?>'
           f'<definitions xmlns:tns="{tns}" targetNamespace="{tns}" xmlns="http://schemas.xmlsoap.org/wsdl/">'
           f'<types><xsd:schema elementFormDefault="qualified" targetNamespace="{tns}" '
           f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{enums}{record}{lst}{filt_fields}{filt}{"".join(elements)}'
           f'</xsd:schema></types>{messages}<portType name="{page}_Port">{port}</portType>'
           f'<binding name="{page}_Binding" type="tns:{page}_Port">'
           f'<binding transport="http://schemas.xmlsoap.org/soap/http" xmlns="{soap}"/>{binding}</binding>'
           f'<service name="{page}_Service"><port name="{page}_Port" binding="tns:{page}_Binding">'
           f'<address location="{address}{page}" xmlns="{soap}"/></port></service></definitions>')
    return doc.encode("utf-8")


#: A general journal line page (NAV table 81 behind it): key Journal Template Name, Journal Batch Name, Line No.
JOURNAL_LINE_FIELDS: tuple[FieldDef, ...] = (
    ("Journal_Template_Name", "string"), ("Journal_Batch_Name", "string"), ("Line_No", "int"),
    ("Posting_Date", "date"), ("Document_Type", ("_blank_", "Payment", "Invoice", "Credit_Memo", "Finance_Charge_Memo",
                                                 "Reminder", "Refund")),
    ("Document_No", "string"), ("Account_Type", ("G_L_Account", "Customer", "Vendor", "Bank_Account", "Fixed_Asset")),
    ("Account_No", "string"), ("Description", "string"), ("Amount", "decimal"), ("Currency_Code", "string"),
)
JOURNAL_LINE_KEY = ("Journal_Template_Name", "Journal_Batch_Name", "Line_No")


def journal_line_wsdl(page: str = "GeneralJournalLine") -> bytes:
    return page_wsdl(page, JOURNAL_LINE_FIELDS, JOURNAL_LINE_KEY)


#: Page 42 "Sales Order" (table 36 Sales Header), published as SalesOrder: the fields an integration uses,
#: in the page's order, with the SalesLines part (Page 46 "Sales Order Subform", table 37 Sales Line).
SALES_ORDER_FIELDS: tuple[FieldDef, ...] = (
    ("No", "string"), ("Sell_to_Customer_No", "string"), ("Sell_to_Customer_Name", "string"),
    ("Sell_to_Address", "string"), ("Sell_to_Post_Code", "string"), ("Sell_to_City", "string"),
    ("Sell_to_Contact", "string"), ("Posting_Date", "date"), ("Order_Date", "date"), ("Document_Date", "date"),
    ("Requested_Delivery_Date", "date"), ("External_Document_No", "string"), ("Salesperson_Code", "string"),
    ("Status", ("Open", "Released", "Pending_Approval", "Pending_Prepayment")),
    ("Bill_to_Customer_No", "string"), ("Payment_Terms_Code", "string"), ("Due_Date", "date"),
    ("Shipment_Date", "date"), ("Location_Code", "string"), ("Currency_Code", "string"),
    ("Prices_Including_VAT", "boolean"),
)
SALES_LINE_FIELDS: tuple[FieldDef, ...] = (
    ("Type", ("_blank_", "G_L_Account", "Item", "Resource", "Fixed_Asset", "Charge_Item")),
    ("No", "string"), ("Description", "string"), ("Location_Code", "string"), ("Quantity", "decimal"),
    ("Reserved_Quantity", "decimal"), ("Unit_of_Measure_Code", "string"), ("Unit_Price", "decimal"),
    ("Line_Amount", "decimal"), ("Line_Discount_Percent", "decimal"), ("Qty_to_Ship", "decimal"),
    ("Quantity_Shipped", "decimal"), ("Qty_to_Invoice", "decimal"), ("Quantity_Invoiced", "decimal"),
    ("Shipment_Date", "date"), ("Line_No", "int"),
)
SALES_LINES = PartDef("SalesLines", "Sales_Order_Line", SALES_LINE_FIELDS, after="Status")

#: Page 30 "Item Card" (table 27 Item), published as Item. Inventory is a FlowField (item ledger entries).
ITEM_FIELDS: tuple[FieldDef, ...] = (
    ("No", "string"), ("Description", "string"), ("Base_Unit_of_Measure", "string"),
    ("Item_Category_Code", "string"), ("Blocked", "boolean"), ("Last_Date_Modified", "date"),
    ("Inventory", "decimal"), ("Qty_on_Purch_Order", "decimal"), ("Qty_on_Sales_Order", "decimal"),
    ("Unit_Price", "decimal"), ("Unit_Cost", "decimal"), ("Gen_Prod_Posting_Group", "string"),
)


def sales_order_wsdl(page: str = "SalesOrder") -> bytes:
    return page_wsdl(page, SALES_ORDER_FIELDS, ("No",), parts=(SALES_LINES,))


def item_wsdl(page: str = "Item") -> bytes:
    return page_wsdl(page, ITEM_FIELDS, ("No",))


#: Page 143 "Posted Sales Invoices" (table 112 Sales Invoice Header), published as PostedSalesInvoices. The page is
#: not editable (posted invoices change only by posting: payments, credit memos), so NAV publishes only the read
#: operations. Amount, Amount_Including_VAT and Remaining_Amount are FlowFields (the lines; the customer ledger
#: entry's remaining amount); Closed: the ledger entry is fully applied (paid).
POSTED_SALES_INVOICE_FIELDS: tuple[FieldDef, ...] = (
    ("No", "string"), ("Sell_to_Customer_No", "string"), ("Sell_to_Customer_Name", "string"),
    ("Currency_Code", "string"), ("Due_Date", "date"), ("Amount", "decimal"), ("Amount_Including_VAT", "decimal"),
    ("Remaining_Amount", "decimal"), ("Closed", "boolean"), ("Cancelled", "boolean"), ("Corrective", "boolean"),
    ("Bill_to_Customer_No", "string"), ("Bill_to_Name", "string"), ("Posting_Date", "date"),
    ("Document_Date", "date"), ("Payment_Terms_Code", "string"), ("Order_No", "string"),
    ("External_Document_No", "string"), ("Location_Code", "string"), ("No_Printed", "int"),
)


def posted_sales_invoices_wsdl(page: str = "PostedSalesInvoices") -> bytes:
    return page_wsdl(page, POSTED_SALES_INVOICE_FIELDS, ("No",), operations=READ_OPERATIONS)


XSD = "http://www.w3.org/2001/XMLSchema"


def add_fields(raw: bytes, page: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """A page WSDL with more fields, as NAV publishes it after an integrator adds them to the table and page
    (e.g. ``Concord_Id``, Text[50], for Concord's id): each ``(name, xsd type)`` is appended to the record
    complexType ``page`` and to the filterable ``<page>_Fields``. A field that is there already is left alone."""
    from lxml import etree

    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    record = root.find(f".//{{{XSD}}}complexType[@name='{page}']/{{{XSD}}}sequence")
    enum = root.find(f".//{{{XSD}}}simpleType[@name='{page}_Fields']/{{{XSD}}}restriction")
    if record is None or enum is None:
        raise ValueError(f"the WSDL has no record type {page!r} with {page}_Fields")
    have = {e.get("name") for e in record}
    for name, xsd_type in fields:
        if name in have:
            continue
        etree.SubElement(record, f"{{{XSD}}}element", minOccurs="0", maxOccurs="1", name=name, type=f"xsd:{xsd_type}")
        etree.SubElement(enum, f"{{{XSD}}}enumeration", value=name)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
