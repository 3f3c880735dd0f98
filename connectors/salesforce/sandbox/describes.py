"""The sandbox's sObject metadata, expanded into full REST describes.

Field lists follow the real standard objects (see ``../shared/fixtures/salesforce/describe``)
plus the Concord external id ``Concord_Id__c`` (externalId, unique) on every object. A
compact table per object is expanded into every attribute a real describe carries (the
restforce "Whizbang" describe and the SOQL-tooling describes), so clients that read
``soapType``, ``length``, ``createable`` or ``picklistValues`` find them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "datetime": "xsd:dateTime",
              "date": "xsd:date", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
              "int": "xsd:int", "address": "urn:address"}
LENGTHS = {"string": 255, "textarea": 32000, "picklist": 255, "multipicklist": 4099, "email": 80, "phone": 40,
           "url": 255, "id": 18, "reference": 18}


@dataclass(frozen=True)
class F:
    name: str
    type: str = "string"
    create: bool = True
    update: bool = True
    nillable: bool = True
    picklist: tuple[str, ...] = ()
    ref: tuple[str, ...] = ()
    rel: str | None = None
    ext: bool = False
    unique: bool = False
    length: int | None = None
    label: str | None = None
    required: bool = False          # nillable=False and not defaulted: a create must set it
    default: Any = None


@dataclass(frozen=True)
class Child:
    relationship: str
    child: str
    field: str
    cascade: bool = False


@dataclass(frozen=True)
class SObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: tuple[F, ...]
    children: tuple[Child, ...] = ()
    custom: bool = False
    name_field: str = "Name"
    _index: dict[str, F] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            self._index[f.name.lower()] = f

    def field(self, name: str) -> F | None:
        return self._index.get(name.lower())

    def by_relationship(self, rel: str) -> F | None:
        for f in self.fields:
            if f.rel and f.rel.lower() == rel.lower():
                return f
        return None

    def child(self, rel: str) -> Child | None:
        for c in self.children:
            if c.relationship.lower() == rel.lower():
                return c
        return None


def _system(owner: bool = True) -> tuple[F, ...]:
    out = [F("Id", "id", False, False, False), F("IsDeleted", "boolean", False, False, False, default=False)]
    if owner:
        out.append(F("OwnerId", "reference", True, True, False, ref=("User",), rel="Owner"))
    out += [F("CreatedDate", "datetime", False, False, False), F("CreatedById", "reference", False, False, False,
                                                                   ref=("User",), rel="CreatedBy"),
            F("LastModifiedDate", "datetime", False, False, False),
            F("LastModifiedById", "reference", False, False, False, ref=("User",), rel="LastModifiedBy"),
            F("SystemModstamp", "datetime", False, False, False),
            F("Concord_Id__c", "string", ext=True, unique=True, length=64, label="Concord Id")]
    return tuple(out)


def _address(prefix: str) -> tuple[F, ...]:
    return (F(f"{prefix}Street", "textarea", length=255), F(f"{prefix}City", length=40),
            F(f"{prefix}State", length=80), F(f"{prefix}PostalCode", length=20), F(f"{prefix}Country", length=80),
            F(f"{prefix}Address", "address", False, False))


ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other")
INDUSTRIES = ("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
              "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
              "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
              "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
              "Telecommunications", "Transportation", "Utilities", "Other")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
          "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")
CURRENCIES = ("EUR", "USD", "GBP", "CNY")
# Custom picklists an integrator creates on Opportunity for the order-to-cash back-fields (README: setup)
ERP_ORDER_STATUSES = ("Draft", "Open", "In Process", "Completed", "Cancelled")
DELIVERY_STATUSES = ("Not Delivered", "Partially Delivered", "Delivered")
BILLING_STATUSES = ("Not Billed", "Partially Billed", "Billed")

OBJECTS: dict[str, SObjectDef] = {}


def _add(obj: SObjectDef) -> None:
    OBJECTS[obj.name] = obj


_add(SObjectDef("Account", "Account", "001", _system() + (
    F("Name", required=True, nillable=False, label="Account Name"),
    F("Type", "picklist", picklist=ACCOUNT_TYPES, length=255, label="Account Type"),
    F("ParentId", "reference", ref=("Account",), rel="Parent"),
    *_address("Billing"), *_address("Shipping"),
    F("Phone", "phone"), F("Fax", "phone"), F("AccountNumber", length=40), F("Website", "url"),
    F("Sic", length=20), F("Industry", "picklist", picklist=INDUSTRIES), F("AnnualRevenue", "currency"),
    F("NumberOfEmployees", "int"), F("Ownership", "picklist", picklist=("Public", "Private", "Subsidiary", "Other")),
    F("Description", "textarea"), F("Rating", "picklist", picklist=("Hot", "Warm", "Cold")), F("Site", length=80),
    F("AccountSource", "picklist", picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")),
    F("DunsNumber", length=9), F("Tradestyle"), F("YearStarted", length=4),
    F("CurrencyIsoCode", "picklist", picklist=CURRENCIES, length=3, label="Account Currency"),
    F("VAT_Id__c", length=32, label="VAT Id"), F("Credit_Limit__c", "currency", label="Credit Limit"),
    F("Payment_Terms__c", "picklist", picklist=("NET14", "NET30", "NET45", "NET60", "DUE"), label="Payment Terms"),
    F("Legal_Form__c", length=40, label="Legal Form"), F("Email__c", "email", label="Email"),
    # custom fields of the receivables roll-ups from the ERP's invoices (README: "Setup in the org")
    F("Open_Receivables__c", "currency", label="Open Receivables"),
    F("Overdue_Receivables__c", "currency", label="Overdue Receivables"),
    F("Last_Payment_Date__c", "date", label="Last Payment Date"),
    F("Invoice_Count__c", "double", label="Invoice Count"),
    # KPIs from Concord's customer_kpi view (order-to-cash `kpis:`)
    F("Lifetime_Value__c", "currency", label="Lifetime Value"), F("Credit_Exposure__c", "currency", label="Credit Exposure"),
), children=(Child("Contacts", "Contact", "AccountId", True), Child("Opportunities", "Opportunity", "AccountId", True),
             Child("Orders", "Order", "AccountId", True), Child("ChildAccounts", "Account", "ParentId"))))

_add(SObjectDef("Contact", "Contact", "003", _system() + (
    F("AccountId", "reference", ref=("Account",), rel="Account"), F("LastName", required=True, nillable=False, length=80),
    F("FirstName", length=40), F("Salutation", "picklist", picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."))
    , F("Name", create=False, update=False, nillable=False, length=121), *_address("Mailing"),
    F("Phone", "phone"), F("MobilePhone", "phone"), F("HomePhone", "phone"), F("Email", "email"),
    F("Title", length=128), F("Department", length=80), F("Birthdate", "date"), F("Description", "textarea"),
    F("HasOptedOutOfEmail", "boolean", nillable=False, default=False, label="Email Opt Out"),
    F("LeadSource", "picklist", picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")),
), name_field="Name"))

_add(SObjectDef("Opportunity", "Opportunity", "006", _system() + (
    F("AccountId", "reference", ref=("Account",), rel="Account"), F("Name", required=True, nillable=False, length=120),
    F("Description", "textarea"), F("StageName", "picklist", nillable=False, required=True, picklist=STAGES, label="Stage"),
    F("Amount", "currency"), F("Probability", "percent"), F("CloseDate", "date", nillable=False, required=True),
    F("Type", "picklist", picklist=("Existing Customer - Upgrade", "Existing Customer - Replacement",
                                   "Existing Customer - Downgrade", "New Customer")),
    F("IsClosed", "boolean", False, False, False, default=False), F("IsWon", "boolean", False, False, False, default=False),
    F("CurrencyIsoCode", "picklist", picklist=CURRENCIES, length=3),
    F("Pricebook2Id", "reference", ref=("Pricebook2",), rel="Pricebook2"),
    F("HasOpportunityLineItem", "boolean", False, False, False, default=False, label="Has Line Item"),
    # custom fields of the order-to-cash setup (README: "Setup in the org")
    F("ERP_Order_Number__c", length=30, label="ERP Order Number"),
    F("ERP_Order_Status__c", "picklist", picklist=ERP_ORDER_STATUSES, label="ERP Order Status"),
    F("Delivery_Status__c", "picklist", picklist=DELIVERY_STATUSES, label="Delivery Status"),
    F("Billing_Status__c", "picklist", picklist=BILLING_STATUSES, label="Billing Status"),
), children=(Child("OpportunityLineItems", "OpportunityLineItem", "OpportunityId", True),)))

_add(SObjectDef("OpportunityLineItem", "Opportunity Product", "00k", _system(owner=False) + (
    F("OpportunityId", "reference", update=False, nillable=False, required=True, ref=("Opportunity",),
      rel="Opportunity"),
    F("SortOrder", "int", False, False, label="Sort Order"),
    F("PricebookEntryId", "reference", update=False, ref=("PricebookEntry",), rel="PricebookEntry"),
    F("Product2Id", "reference", update=False, ref=("Product2",), rel="Product2"),
    F("ProductCode", create=False, update=False), F("Name", create=False, update=False, length=376),
    F("Quantity", "double", nillable=False, required=True), F("TotalPrice", "currency"),
    F("UnitPrice", "currency", label="Sales Price"), F("ListPrice", "currency", False, False),
    F("ServiceDate", "date", label="Date"), F("Description", length=255, label="Line Description"),
    F("CurrencyIsoCode", "picklist", False, False, picklist=CURRENCIES, length=3),
)))

_add(SObjectDef("Product2", "Product", "01t", _system(owner=False) + (
    F("Name", required=True, nillable=False), F("ProductCode"), F("Description", "textarea", length=4000),
    F("IsActive", "boolean", nillable=False, default=False, label="Active"),
    F("Family", "picklist", picklist=("Hardware", "Software", "Services", "Spare Parts", "Consumables")),
    F("QuantityUnitOfMeasure", "picklist", picklist=("Each", "EA", "KG", "M", "L", "PAK", "H")),
    F("StockKeepingUnit", length=180, label="Product SKU"), F("ExternalId"), F("DisplayUrl", "url"),
    F("GTIN__c", length=14, label="GTIN"), F("Weight_Kg__c", "double", label="Weight (kg)"),
    # custom fields of the availability setup (README: "Setup in the org"): Number(16, 2)
    F("On_Hand_Quantity__c", "double", label="On Hand Quantity"),
    F("Available_Quantity__c", "double", label="Available Quantity"),
), children=(Child("PricebookEntries", "PricebookEntry", "Product2Id", True),)))

_add(SObjectDef("Pricebook2", "Price Book", "01s", _system(owner=False) + (
    F("Name", required=True, nillable=False), F("IsActive", "boolean", nillable=False, default=False),
    F("IsStandard", "boolean", False, False, False, default=False), F("Description", "textarea"),
), children=(Child("PricebookEntries", "PricebookEntry", "Pricebook2Id", True),)))

_add(SObjectDef("PricebookEntry", "Price Book Entry", "01u", _system(owner=False) + (
    F("Name", create=False, update=False), F("Pricebook2Id", "reference", update=False, nillable=False, required=True,
                                              ref=("Pricebook2",), rel="Pricebook2"),
    F("Product2Id", "reference", update=False, nillable=False, required=True, ref=("Product2",), rel="Product2"),
    # UnitPrice is required unless UseStandardPrice takes the standard entry's (store: price book rules)
    F("UnitPrice", "currency", nillable=False, label="List Price"),
    F("IsActive", "boolean", nillable=False, default=False),
    F("UseStandardPrice", "boolean", nillable=False, default=False), F("ProductCode", create=False, update=False),
    F("CurrencyIsoCode", "picklist", picklist=CURRENCIES, length=3),
)))

_add(SObjectDef("Order", "Order", "801", _system() + (
    F("AccountId", "reference", ref=("Account",), rel="Account"),
    F("Pricebook2Id", "reference", ref=("Pricebook2",), rel="Pricebook2"),
    F("EffectiveDate", "date", nillable=False, required=True, label="Order Start Date"), F("EndDate", "date"),
    F("Status", "picklist", nillable=False, required=True, picklist=("Draft", "Activated", "In Process", "Completed",
                                                                       "Cancelled")),
    F("Description", "textarea"), *_address("Billing"), *_address("Shipping"), F("Name", length=80),
    F("PoDate", "date"), F("PoNumber", length=80), F("OrderReferenceNumber", length=80),
    F("OrderNumber", create=False, update=False, nillable=False, length=30),
    F("TotalAmount", "currency", False, False, False), F("CurrencyIsoCode", "picklist", picklist=CURRENCIES, length=3),
    F("ERP_Order_Number__c", length=20, label="ERP Order Number"),
), children=(Child("OrderItems", "OrderItem", "OrderId", True),), name_field="OrderNumber"))

_add(SObjectDef("OrderItem", "Order Product", "802", _system(owner=False) + (
    F("OrderId", "reference", update=False, nillable=False, required=True, ref=("Order",), rel="Order"),
    F("PricebookEntryId", "reference", update=False, ref=("PricebookEntry",), rel="PricebookEntry"),
    F("Product2Id", "reference", update=False, ref=("Product2",), rel="Product2"),
    F("Quantity", "double", nillable=False, required=True), F("UnitPrice", "currency", nillable=False, required=True),
    F("TotalPrice", "currency", False, False), F("Description", length=255, label="Line Description"),
    F("OrderItemNumber", create=False, update=False, nillable=False, length=30),
    F("Line_Number__c", "double", label="Line Number"), F("Unit__c", length=10, label="Unit"),
), name_field="OrderItemNumber"))

CHILD_OF = {(c.child, c.field): (o.name, c.relationship) for o in OBJECTS.values() for c in o.children}


def custom_object(name: str, fields: dict[str, str], prefix: str = "a0C") -> SObjectDef:
    """A custom object from ``{"Amount__c": "currency", ...}`` (an integrator's own sObject)."""
    if not name.endswith("__c"):
        raise ValueError(f"custom object names end with __c: {name}")
    fs = [F(n, t) for n, t in fields.items()]
    return SObjectDef(name, name[:-3].replace("_", " "), prefix, _system() + (F("Name", length=80),) + tuple(fs),
                      custom=True)


# --------------------------------------------------------------------------------------------
# Expansion into the real describe shapes
# --------------------------------------------------------------------------------------------
def describe_field(obj: SObjectDef, f: F) -> dict[str, Any]:
    length = f.length if f.length is not None else LENGTHS.get(f.type, 0)
    numeric = f.type in ("double", "currency", "percent", "int")
    defaulted = (not f.nillable and not f.required) or f.name in ("Id", "OwnerId")
    return {
        "aggregatable": f.type not in ("textarea", "address"), "autoNumber": False,
        "byteLength": length * 3 if f.type not in ("boolean", "date", "datetime") and not numeric else 0,
        "calculated": False, "calculatedFormula": None, "caseSensitive": False,
        "controllerName": None, "createable": f.create, "custom": f.name.endswith("__c"),
        "defaultValue": f.default, "defaultValueFormula": None, "defaultedOnCreate": defaulted,
        "dependentPicklist": False, "deprecatedAndHidden": False,
        "digits": 9 if f.type == "int" else 0, "externalId": f.ext, "extraTypeInfo": None,
        "filterable": f.type not in ("textarea", "address"), "groupable": f.type not in ("textarea", "address", "double",
                                                                                        "currency", "percent", "datetime"),
        "htmlFormatted": False, "idLookup": f.name == "Id" or f.ext, "inlineHelpText": None,
        "label": f.label or _label(f.name), "length": 0 if numeric or f.type in ("boolean", "date", "datetime") else length,
        "name": f.name, "nameField": f.name == obj.name_field, "namePointing": len(f.ref) > 1,
        "nillable": f.nillable,
        "picklistValues": [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                           for v in f.picklist],
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "referenceTo": list(f.ref), "relationshipName": f.rel, "relationshipOrder": None,
        "restrictedPicklist": f.type == "picklist" and f.name in ("StageName", "Status"),
        "scale": 2 if f.type in ("currency", "percent", "double") else 0,
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"), "sortable": f.type not in ("textarea", "address"),
        "type": f.type, "unique": f.unique, "updateable": f.update, "writeRequiresMasterRead": False,
    }


def _label(name: str) -> str:
    import re

    base = name[:-3] if name.endswith("__c") else name
    base = base.replace("_", " ")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base).removesuffix(" Id") or name


def describe(obj: SObjectDef, version: str, origin: str = "") -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    children = [{"cascadeDelete": c.cascade, "childSObject": c.child, "deprecatedAndHidden": False,
                 "field": c.field, "relationshipName": c.relationship} for c in obj.children]
    return {
        "activateable": False, "childRelationships": children, "createable": True, "custom": obj.custom,
        "customSetting": False, "deletable": True, "deprecatedAndHidden": False, "feedEnabled": not obj.custom,
        "fields": [describe_field(obj, f) for f in obj.fields], "keyPrefix": obj.key_prefix, "label": obj.label,
        "labelPlural": obj.label + "s", "layoutable": True, "listviewable": None, "lookupLayoutable": None,
        "mergeable": obj.name in ("Account", "Contact"), "name": obj.name, "queryable": True,
        "recordTypeInfos": [{"available": True, "defaultRecordTypeMapping": True, "name": "Master",
                             "recordTypeId": "012000000000000AAA"}],
        "replicateable": True, "retrieveable": True, "searchLayoutable": None, "searchable": True,
        "triggerable": True, "undeletable": True, "updateable": True,
        "urls": {"describe": base + "/describe", "rowTemplate": base + "/{ID}", "sobject": base,
                 "uiDetailTemplate": f"{origin}/{{ID}}", "uiEditTemplate": f"{origin}/{{ID}}/e",
                 "uiNewRecord": f"{origin}/{obj.key_prefix}/e"},
    }


def global_entry(obj: SObjectDef, version: str) -> dict[str, Any]:
    d = describe(obj, version)
    for k in ("fields", "childRelationships", "recordTypeInfos"):
        d.pop(k)
    d["urls"] = {k: v for k, v in d["urls"].items() if not k.startswith("ui")}
    return d
