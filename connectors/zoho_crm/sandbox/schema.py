"""The sandbox org's modules and fields, served by ``/settings/modules`` and ``/settings/fields``.

Shapes follow Zoho's v8 OAS (``modules.json``/``fields.json``): ``api_name``, ``data_type``,
``json_type``, ``system_mandatory``, ``read_only``/``field_read_only``, ``operation_type``,
``pick_list_values``, ``lookup.module``, ``subform.module``, ``length``, ``unique``. The standard
field names are Zoho's own; the ``custom_field: true`` ones are what an org typically adds
(VAT id, ERP numbers) plus enough extra columns that Accounts is wider than the 50 fields
one read call may ask for, so the connector must read it in column groups.
"""
from __future__ import annotations

from typing import Any

JSON_TYPE = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
    "picklist": "string", "autonumber": "string", "integer": "integer", "bigint": "string", "double": "double",
    "currency": "double", "decimal": "double", "percent": "double", "boolean": "boolean", "date": "string",
    "datetime": "string", "lookup": "jsonobject", "ownerlookup": "jsonobject", "multiselectpicklist": "jsonarray",
    "subform": "jsonarray", "profileimage": "string", "tag": "jsonarray",
}


def F(api_name: str, data_type: str = "text", *, mandatory: bool = False, read_only: bool = False,
      picklist: list[str] | None = None, lookup: str | None = None, length: int | None = None,
      unique: bool = False, custom: bool = False, subform: str | None = None) -> dict[str, Any]:
    if length is None:
        length = {"text": 255, "textarea": 32000, "email": 100, "phone": 30, "website": 255, "picklist": 120}.get(data_type, 16)
    field: dict[str, Any] = {
        "api_name": api_name, "field_label": api_name.replace("_", " "), "display_label": api_name.replace("_", " "),
        "data_type": data_type, "json_type": JSON_TYPE.get(data_type, "string"), "system_mandatory": mandatory,
        "read_only": read_only, "field_read_only": read_only, "custom_field": custom, "visible": True,
        "length": length, "unique": {"casesensitive": False} if unique else {},
        "operation_type": {"web_update": not read_only, "api_create": not read_only,
                           "web_create": not read_only, "api_update": not read_only},
        "pick_list_values": [{"display_value": v, "actual_value": v, "sequence_number": i, "type": "used"}
                             for i, v in enumerate(["-None-"] + (picklist or []))] if data_type in ("picklist", "multiselectpicklist") else [],
        "lookup": {"module": {"api_name": lookup}, "api_name": None} if lookup else {},
    }
    if subform:
        field["subform"] = {"module": {"api_name": subform}}
        field["associated_module"] = {"api_name": subform}
    return field


def _system() -> list[dict[str, Any]]:
    return [F("Owner", "ownerlookup", lookup="users"), F("Created_By", "ownerlookup", read_only=True, lookup="users"),
            F("Modified_By", "ownerlookup", read_only=True, lookup="users"), F("Created_Time", "datetime", read_only=True),
            F("Modified_Time", "datetime", read_only=True), F("Tag", "tag"), F("Locked__s", "boolean", read_only=True),
            F("Currency", "picklist", picklist=["EUR", "USD", "GBP", "CNY"]), F("Exchange_Rate", "decimal")]


def _address(prefix: str, street_word: str = "Street", code_word: str = "Code") -> list[dict[str, Any]]:
    return [F(f"{prefix}_{street_word}"), F(f"{prefix}_City", length=100), F(f"{prefix}_State", length=100),
            F(f"{prefix}_{code_word}", length=30), F(f"{prefix}_Country", length=100)]


INDUSTRIES = ["Manufacturing", "Retail", "Technology", "Healthcare", "Energy", "Logistics", "Food & Beverage",
              "Finance", "Consulting", "Education", "Government/Military", "Large Enterprise", "Small/Medium Enterprise"]
UNITS = ["Box", "Carton", "Dozen", "Each", "Hour(s)", "Kg", "Litre", "Lb", "M", "Pack", "Pieces", "Quantity"]
STAGES = ["Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers", "Proposal/Price Quote",
          "Negotiation/Review", "Closed Won", "Closed Lost", "Closed-Lost to Competition"]

ACCOUNTS = _system() + [
    F("Account_Name", mandatory=True, length=200), F("Account_Number", length=40), F("Account_Site", length=80),
    F("Account_Type", "picklist", picklist=["Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
                                             "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor"]),
    F("Industry", "picklist", picklist=INDUSTRIES), F("Phone", "phone"), F("Fax", "phone"), F("Website", "website"),
    F("Ticker_Symbol", length=30), F("Ownership", "picklist", picklist=["Other", "Private", "Public", "Subsidiary"]),
    F("Employees", "integer"), F("Annual_Revenue", "currency"), F("SIC_Code", "integer"),
    F("Rating", "picklist", picklist=["Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"]),
    F("Parent_Account", "lookup", lookup="Accounts"), *_address("Billing"), *_address("Shipping"),
    F("Description", "textarea"), F("Record_Image", "profileimage"), F("Last_Activity_Time", "datetime", read_only=True),
    F("Unsubscribed_Mode", "picklist", picklist=["Consent form", "Manual", "Unsubscribe link", "Zoho campaigns"]),
    F("Unsubscribed_Time", "datetime", read_only=True),
    # the org's custom fields
    F("VAT_ID", length=40, custom=True), F("DUNS_Number", length=20, custom=True),
    F("ERP_Customer_Number", length=20, custom=True, unique=True), F("Credit_Limit", "currency", custom=True),
    F("Payment_Terms", "picklist", custom=True, picklist=["NET14", "NET30", "NET45", "NET60", "DUE"]),
    F("Email", "email", custom=True), F("Legal_Form", length=40, custom=True), F("Local_Name", length=200, custom=True),
    F("Lifecycle_Stage", "picklist", custom=True, picklist=["Prospect", "Customer", "Former Customer", "Partner"]),
    F("Concord_ID", length=64, custom=True, unique=True), F("Region_Code", length=10, custom=True),
    F("Segment", "picklist", custom=True, picklist=["Enterprise", "Mid-Market", "SMB"]),
    F("Key_Account", "boolean", custom=True), F("Customer_Since", "date", custom=True),
    F("Support_Tier", "picklist", custom=True, picklist=["Basic", "Standard", "Premium"]),
    F("Preferred_Language", "picklist", custom=True, picklist=["English", "German", "French", "Dutch", "Chinese"]),
    F("NPS_Score", "integer", custom=True), F("Newsletter_Opt_In", "boolean", custom=True),
    # receivables roll-ups from the ERP's invoices (README: setup)
    F("Open_Receivables", "currency", custom=True), F("Overdue_Receivables", "currency", custom=True),
    F("Last_Payment_Date", "date", custom=True), F("Invoice_Count", "integer", custom=True),
    # KPIs from Concord's customer_kpi view (order-to-cash `kpis:`; README: setup)
    F("Lifetime_Value", "currency", custom=True), F("Credit_Exposure", "currency", custom=True),
]

CONTACTS = _system() + [
    F("Lead_Source", "picklist", picklist=["Advertisement", "Cold Call", "Employee Referral", "Partner", "Web Download"]),
    F("Salutation", "picklist", picklist=["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]), F("First_Name", length=40),
    F("Last_Name", mandatory=True, length=80), F("Full_Name", read_only=True), F("Account_Name", "lookup", lookup="Accounts"),
    F("Email", "email", unique=True), F("Secondary_Email", "email"), F("Title", length=100), F("Department", length=100),
    F("Phone", "phone"), F("Home_Phone", "phone"), F("Other_Phone", "phone"), F("Mobile", "phone"), F("Fax", "phone"),
    F("Assistant", length=40), F("Asst_Phone", "phone"), F("Date_of_Birth", "date"),
    F("Reporting_To", "lookup", lookup="Contacts"), F("Email_Opt_Out", "boolean"), F("Twitter", length=50),
    *_address("Mailing", code_word="Zip"), *_address("Other", code_word="Zip"), F("Description", "textarea"),
    F("Concord_ID", length=64, custom=True, unique=True), F("Local_Name", length=80, custom=True),
]

PRODUCTS = _system() + [
    F("Product_Name", mandatory=True, length=200), F("Product_Code", length=40, unique=True), F("Product_Active", "boolean"),
    F("Product_Category", "picklist", picklist=["Hardware", "Software", "Services", "Spare Parts", "Consumables"]),
    F("Manufacturer", "picklist", picklist=["AltvetPet Inc.", "LexPro Inc.", "MetBeat Corp."]),
    F("Vendor_Name", "lookup", lookup="Vendors"), F("Unit_Price", "currency"), F("Commission_Rate", "currency"),
    F("Taxable", "boolean"), F("Usage_Unit", "picklist", picklist=UNITS), F("Qty_Ordered", "double"),
    F("Qty_in_Stock", "double"), F("Reorder_Level", "double"), F("Qty_in_Demand", "double"),
    F("Handler", "ownerlookup", lookup="users"), F("Sales_Start_Date", "date"), F("Sales_End_Date", "date"),
    F("Support_Start_Date", "date"), F("Support_Expiry_Date", "date"), F("Description", "textarea"),
    F("GTIN", length=14, custom=True), F("Weight_kg", "decimal", custom=True), F("Concord_ID", length=64, custom=True, unique=True),
    # availability from the ERP (README: setup): Qty_in_Stock is Zoho's own; available to promise is a custom Decimal
    F("Available_Qty", "decimal", custom=True),
]

LINE_ITEMS = [
    F("Product_Name", "lookup", mandatory=True, lookup="Products"), F("Quantity", "double", mandatory=True),
    F("List_Price", "currency"), F("Discount", "currency"), F("Tax", "currency"), F("Total", "currency", read_only=True),
    F("Net_Total", "currency", read_only=True), F("Description", "textarea"), F("Sequence_Number", "integer", read_only=True),
]

DEALS = _system() + [
    F("Deal_Name", mandatory=True, length=120), F("Account_Name", "lookup", lookup="Accounts"),
    F("Contact_Name", "lookup", lookup="Contacts"), F("Amount", "currency"), F("Stage", "picklist", mandatory=True, picklist=STAGES),
    F("Probability", "integer"), F("Closing_Date", "date", mandatory=True),
    F("Type", "picklist", picklist=["Existing Business", "New Business"]), F("Next_Step", length=100),
    F("Lead_Source", "picklist", picklist=["Advertisement", "Cold Call", "Employee Referral", "Partner", "Web Download"]),
    F("Expected_Revenue", "currency", read_only=True), F("Description", "textarea"),
    F("Concord_ID", length=64, custom=True, unique=True),
    # the ERP order won from the deal (README: setup)
    F("ERP_Order_Number", length=30, custom=True),
    F("ERP_Order_Status", "picklist", custom=True, picklist=["Draft", "Open", "In Process", "Completed", "Cancelled"]),
    F("Delivery_Status", "picklist", custom=True, picklist=["Not Delivered", "Partially Delivered", "Delivered"]),
    F("Billing_Status", "picklist", custom=True, picklist=["Not Billed", "Partially Billed", "Billed"]),
]

SALES_ORDERS = _system() + [
    F("Subject", mandatory=True, length=250), F("SO_Number", "autonumber", read_only=True),
    F("Account_Name", "lookup", mandatory=True, lookup="Accounts"), F("Contact_Name", "lookup", lookup="Contacts"),
    F("Deal_Name", "lookup", lookup="Deals"), F("Customer_No", length=40), F("Purchase_Order", length=100),
    F("Due_Date", "date"), F("Status", "picklist", picklist=["Created", "Approved", "Delivered", "Cancelled"]),
    F("Carrier", "picklist", picklist=["FedEX", "UPS", "USPS", "DHL", "BlueDart"]), F("Sub_Total", "currency", read_only=True),
    F("Discount", "currency"), F("Tax", "currency", read_only=True), F("Adjustment", "currency"),
    F("Grand_Total", "currency", read_only=True),
    *_address("Billing"), *_address("Shipping"), F("Terms_and_Conditions", "textarea"), F("Description", "textarea"),
    F("Ordered_Items", "subform", mandatory=True, subform="Ordered_Items"),
    F("ERP_Order_Number", length=20, custom=True, unique=True), F("Order_Date", "date", custom=True),
    F("Concord_ID", length=64, custom=True, unique=True),
]

INVOICES = _system() + [
    F("Subject", mandatory=True, length=250), F("Invoice_Number", "autonumber", read_only=True),
    F("Invoice_Date", "date"), F("Due_Date", "date"), F("Account_Name", "lookup", mandatory=True, lookup="Accounts"),
    F("Sales_Order", "lookup", lookup="Sales_Orders"), F("Contact_Name", "lookup", lookup="Contacts"),
    F("Purchase_Order", length=100), F("Status", "picklist", picklist=["Created", "Approved", "Delivered", "Cancelled"]),
    F("Sub_Total", "currency", read_only=True), F("Discount", "currency"), F("Tax", "currency", read_only=True),
    F("Adjustment", "currency"), F("Grand_Total", "currency", read_only=True),
    *_address("Billing"), F("Description", "textarea"), F("Invoiced_Items", "subform", mandatory=True, subform="Invoiced_Items"),
    F("ERP_Invoice_Number", length=20, custom=True, unique=True), F("Open_Amount", "currency", custom=True),
    F("Payment_Status", "picklist", custom=True, picklist=["Open", "Partially Paid", "Paid", "Overdue", "Cancelled"]),
    F("Concord_ID", length=64, custom=True, unique=True),
]

SHIPMENTS = _system() + [
    F("Name", mandatory=True, length=120), F("Sales_Order", "lookup", lookup="Sales_Orders"), F("Carrier", length=40),
    F("Tracking_Number", length=60, unique=True), F("Shipped_Date", "date"),
    F("Shipment_Status", "picklist", picklist=["Planned", "Shipped", "Delivered", "Returned"]),
]

#: module api name -> (fields, generated_type, default duplicate-check field, display-name field)
MODULES: dict[str, tuple[list[dict[str, Any]], str, str, str]] = {
    "Accounts": (ACCOUNTS, "default", "Account_Name", "Account_Name"),
    "Contacts": (CONTACTS, "default", "Email", "Last_Name"),
    "Products": (PRODUCTS, "default", "Product_Name", "Product_Name"),
    "Deals": (DEALS, "default", "Deal_Name", "Deal_Name"),
    "Sales_Orders": (SALES_ORDERS, "default", "Subject", "Subject"),
    "Invoices": (INVOICES, "default", "Subject", "Subject"),
    "Shipments__c": (SHIPMENTS, "custom", "Name", "Name"),
}
#: line-item subforms, readable through /settings/fields?module=<name> only
SUBFORMS: dict[str, list[dict[str, Any]]] = {"Ordered_Items": LINE_ITEMS, "Invoiced_Items": LINE_ITEMS}


def module_meta(api_name: str, index: int) -> dict[str, Any]:
    generated = MODULES[api_name][1]
    label = api_name.replace("__c", "").replace("_", " ")
    return {"api_name": api_name, "module_name": api_name, "id": str(5725767000000002000 + index),
            "api_supported": True, "generated_type": generated, "singular_label": label.rstrip("s"),
            "plural_label": label, "creatable": True, "editable": True, "deletable": True, "viewable": True,
            "status": "visible", "visible": True}
