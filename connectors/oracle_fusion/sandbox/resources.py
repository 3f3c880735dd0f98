"""The resources the sandbox serves, as their ``describe`` presents them.

Attribute names and types follow Oracle Fusion Cloud's published resources
(``customerAccounts`` and ``hubOrganizations`` under crmRestApi; ``itemsV2``,
``salesOrdersForOrderHub`` and ``receivablesInvoices`` under fscmRestApi), cut
to the attributes an ERP<->CRM integration moves. Some party attributes are
exposed on the customer account for convenience (documented in the README).
"""
from __future__ import annotations

from dataclasses import dataclass, field

WHO = ("CreationDate", "CreatedBy", "LastUpdateDate", "LastUpdatedBy")


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"            # string integer number date datetime boolean
    updatable: bool = True
    mandatory: bool = False
    queryable: bool = True
    max_length: int | None = None
    lov: tuple[str, ...] | None = None
    title: str | None = None
    create_only: bool = False       # settable on create, read-only afterwards

    def describe(self) -> dict:
        out: dict = {"name": self.name, "type": self.type, "updatable": self.updatable and not self.create_only,
                     "mandatory": self.mandatory, "queryable": self.queryable, "allowChanges":
                     "always" if self.updatable and not self.create_only else ("whenNew" if self.create_only else "never"),
                     "title": self.title or _title(self.name)}
        if self.max_length:
            out["maxLength"] = str(self.max_length)
        if self.lov:
            out["lov"] = {"childRef": f"LOV_{self.name}", "attributeMap": [{"source": "LookupCode", "target": self.name}],
                          "values": list(self.lov)}
        return out


def _title(name: str) -> str:
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out += " "
        out += ch
    return out


@dataclass(frozen=True)
class ResourceDef:
    name: str
    api: str                                  # fscmRestApi | crmRestApi
    key: str
    key_type: str                             # integer | string
    attrs: tuple[Attr, ...]
    title: str
    children: tuple["ResourceDef", ...] = ()
    upsert_keys: tuple[tuple[str, ...], ...] = ()   # alternate keys an upsert matches on
    unique: tuple[tuple[str, ...], ...] = ()        # alternate keys that must be unique
    who: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def all_attrs(self) -> tuple[Attr, ...]:
        who = (Attr("CreationDate", "datetime", updatable=False), Attr("CreatedBy", updatable=False),
               Attr("LastUpdateDate", "datetime", updatable=False), Attr("LastUpdatedBy", updatable=False))
        return self.attrs + (who if self.who else ())

    def attr(self, name: str) -> Attr | None:
        for a in self.all_attrs:
            if a.name == name:
                return a
        return None

    def child(self, name: str) -> "ResourceDef | None":
        for c in self.children:
            if c.name == name:
                return c
        return None

    @property
    def types(self) -> dict[str, str]:
        return {a.name: a.type for a in self.all_attrs if a.queryable}

    def describe(self, base: str) -> dict:
        """The resource's entry under ``Resources`` in a describe answer."""
        self_href = f"{base}/{self.name}"
        out = {
            "discrColumnType": False,
            "title": self.title,
            "titlePlural": self.title + "s",
            "attributes": [a.describe() for a in self.all_attrs],
            "collection": {"rangeSize": 25, "finders": [{"name": "PrimaryKey", "attributes": [
                {"name": self.key, "type": self.key_type, "updatable": False, "required": "Required", "queryable": True}]}],
                "links": [{"rel": "self", "href": self_href, "name": "self", "kind": "collection"}],
                "actions": [{"name": "get", "method": "GET", "responseType": [
                    "application/json", "application/vnd.oracle.adf.resourcecollection+json"]},
                    {"name": "create", "method": "POST", "requestType": ["application/vnd.oracle.adf.resourceitem+json"],
                     "responseType": ["application/json", "application/vnd.oracle.adf.resourceitem+json"]}]},
            "item": {"links": [{"rel": "self", "href": self_href + "/{id}", "name": "self", "kind": "item"}],
                     "actions": [{"name": "get", "method": "GET"}, {"name": "update", "method": "PATCH"},
                                 {"name": "replace", "method": "PUT"}, {"name": "delete", "method": "DELETE"}]},
        }
        if self.children:
            out["children"] = {c.name: c.describe(self_href + "/{id}/child") for c in self.children}
        return out


_STATUS = ("A", "I")

CUSTOMER_ACCOUNT_SITES = ResourceDef(
    "customerAccountSites", "crmRestApi", "CustomerAccountSiteId", "integer", title="Customer Account Site", attrs=(
        Attr("CustomerAccountSiteId", "integer", updatable=False),
        Attr("PartySiteId", "integer", create_only=True),
        Attr("SiteUseCode", lov=("BILL_TO", "SHIP_TO"), mandatory=True),
        Attr("PrimaryFlag", "boolean"),
        Attr("Address1", max_length=240), Attr("Address2", max_length=240),
        Attr("City", max_length=60), Attr("PostalCode", max_length=60), Attr("State", max_length=60),
        Attr("Country", max_length=2, mandatory=True),
    ))

CUSTOMER_ACCOUNTS = ResourceDef(
    "customerAccounts", "crmRestApi", "CustomerAccountId", "integer", title="Customer Account", attrs=(
        Attr("CustomerAccountId", "integer", updatable=False),
        Attr("PartyId", "integer", create_only=True),
        Attr("PartyNumber", max_length=30, create_only=True),
        Attr("AccountNumber", max_length=30, create_only=True),
        Attr("AccountName", max_length=240, mandatory=True),
        Attr("OrganizationName", max_length=360, title="Party Name"),
        Attr("TaxpayerIdentificationNumber", max_length=20),
        Attr("DUNSNumber", max_length=30),
        Attr("URL", max_length=2000),
        Attr("PrimaryPhoneNumber", max_length=60),
        Attr("PrimaryEmailAddress", max_length=320),
        Attr("CustomerType", lov=("R", "I")),
        Attr("CustomerClassCode", max_length=30),
        Attr("AccountEstablishedDate", "date"),
        Attr("Status", lov=_STATUS),
        Attr("CreditLimit", "number"),
        Attr("PaymentTerms", max_length=30),
        Attr("CurrencyCode", max_length=15),
        Attr("OrigSystemReference", max_length=240, create_only=True),
    ), children=(CUSTOMER_ACCOUNT_SITES,), upsert_keys=(("OrigSystemReference",), ("AccountNumber",)),
    unique=(("AccountNumber",), ("OrigSystemReference",)))

HUB_ORGANIZATIONS = ResourceDef(
    "hubOrganizations", "crmRestApi", "PartyId", "integer", title="Hub Organization", attrs=(
        Attr("PartyId", "integer", updatable=False),
        Attr("PartyNumber", max_length=30, create_only=True),
        Attr("OrganizationName", max_length=360, mandatory=True),
        Attr("TaxpayerIdentificationNumber", max_length=20),
        Attr("DUNSNumberC", max_length=30),
        Attr("URL", max_length=2000),
        Attr("EmailAddress", max_length=320),
        Attr("RawPhoneNumber", max_length=60),
        Attr("EmployeesTotal", "integer"),
        Attr("CurrentFiscalYearPotentialRevenueAmount", "number"),
        Attr("Address1", max_length=240), Attr("City", max_length=60), Attr("PostalCode", max_length=60),
        Attr("State", max_length=60), Attr("Country", max_length=2),
        Attr("PartyUsageCode", max_length=30),
    ), unique=(("PartyNumber",),), upsert_keys=(("PartyNumber",),))

ITEMS = ResourceDef(
    "itemsV2", "fscmRestApi", "ItemId", "integer", title="Item", attrs=(
        Attr("ItemId", "integer", updatable=False),
        Attr("OrganizationCode", max_length=18, mandatory=True, create_only=True),
        Attr("ItemNumber", max_length=300, mandatory=True, create_only=True),
        Attr("ItemDescription", max_length=240, mandatory=True),
        Attr("LongDescription", max_length=4000),
        Attr("ItemClass", max_length=820),
        Attr("PrimaryUOMValue", max_length=25, lov=("Each", "Kilogram", "Meter", "Liter", "Pack", "Hour")),
        Attr("ItemStatusValue", lov=("Active", "Inactive")),
        Attr("ListPrice", "number"),
        Attr("UnitWeightQuantity", "number"),
        Attr("WeightUOMValue", max_length=25),
        Attr("CustomerOrderEnabledFlag", "boolean"),
    ), upsert_keys=(("ItemNumber", "OrganizationCode"),), unique=(("ItemNumber", "OrganizationCode"),))

#: fulfillment line statuses (Order Management): awaiting shipping, shipped, awaiting billing, billed, closed,
#: canceled (the line's StatusCode as the order hub shows it)
LINE_STATUS = ("AWAIT_SHIPPING", "PARTIALLY_SHIPPED", "SHIPPED", "AWAIT_BILLING", "BILLED", "CLOSED", "CANCELED")

ORDER_LINES = ResourceDef(
    "lines", "fscmRestApi", "LineId", "integer", title="Order Line", who=False, attrs=(
        Attr("LineId", "integer", updatable=False),
        Attr("SourceTransactionLineId", max_length=50, create_only=True),
        Attr("SourceTransactionLineNumber", max_length=50),
        Attr("ProductNumber", max_length=300, mandatory=True),
        Attr("ProductDescription", max_length=240),
        Attr("OrderedQuantity", "number", mandatory=True),
        Attr("OrderedUOMCode", max_length=3),
        Attr("UnitSellingPrice", "number"),
        Attr("ExtendedAmount", "number", updatable=False),
        Attr("RequestedShipDate", "date"),
        Attr("StatusCode", updatable=False, lov=LINE_STATUS),
    ))

BILL_TO = ResourceDef(
    "billToCustomer", "fscmRestApi", "BillToCustomerId", "integer", title="Bill-to Customer", who=False, attrs=(
        Attr("BillToCustomerId", "integer", updatable=False),
        Attr("CustomerAccountId", "integer", mandatory=True),
        Attr("AccountNumber", max_length=30, updatable=False),
        Attr("PartyName", max_length=360, updatable=False),
        Attr("SiteUseId", "integer"),
    ))

SALES_ORDERS = ResourceDef(
    "salesOrdersForOrderHub", "fscmRestApi", "OrderKey", "string", title="Sales Order", attrs=(
        Attr("HeaderId", "integer", updatable=False),
        Attr("OrderKey", max_length=100, updatable=False),
        Attr("OrderNumber", max_length=50, updatable=False),
        Attr("SourceTransactionSystem", max_length=30, mandatory=True, create_only=True),
        Attr("SourceTransactionId", max_length=50, mandatory=True, create_only=True),
        Attr("SourceTransactionNumber", max_length=50, mandatory=True),
        Attr("BusinessUnitName", max_length=240),
        Attr("BuyingPartyNumber", max_length=30),
        Attr("BuyingPartyName", max_length=360),
        Attr("CustomerPONumber", max_length=50),
        Attr("TransactionalCurrencyCode", max_length=15),
        Attr("TransactionOn", "date"),
        Attr("RequestedShipDate", "date"),
        Attr("StatusCode", lov=("DOO_DRAFT", "OPEN", "PROCESSING", "CLOSED", "CANCELED")),
        Attr("TotalAmount", "number", updatable=False),
    ), children=(ORDER_LINES, BILL_TO), upsert_keys=(("SourceTransactionSystem", "SourceTransactionId"),),
    unique=(("SourceTransactionSystem", "SourceTransactionId"),))

INSTALLMENTS = ResourceDef(
    "receivablesInvoiceInstallments", "fscmRestApi", "InstallmentId", "integer", title="Installment", who=False,
    attrs=(
        Attr("InstallmentId", "integer", updatable=False),
        Attr("InstallmentNumber", "integer"),
        Attr("DueDate", "date"),
        Attr("InstallmentBalanceDue", "number", updatable=False),
        Attr("InstallmentStatus", lov=("Open", "Closed"), updatable=False),
    ))

INVOICES = ResourceDef(
    "receivablesInvoices", "fscmRestApi", "CustomerTransactionId", "integer", title="Receivables Invoice", attrs=(
        Attr("CustomerTransactionId", "integer", updatable=False),
        Attr("TransactionNumber", max_length=20, create_only=True),
        Attr("TransactionDate", "date", mandatory=True),
        Attr("DueDate", "date"),
        Attr("BusinessUnit", max_length=240),
        Attr("TransactionSource", max_length=30),
        Attr("TransactionType", max_length=30),
        Attr("InvoiceCurrencyCode", max_length=15, mandatory=True),
        Attr("BillToCustomerNumber", max_length=30, mandatory=True),
        Attr("BillToCustomerName", max_length=360),
        Attr("CrossReference", max_length=150),
        Attr("PurchaseOrder", max_length=50),
        Attr("EnteredAmount", "number"),
        Attr("InvoiceBalanceAmount", "number", updatable=False),
        Attr("InvoiceStatus", lov=("Complete", "Incomplete")),
    ), children=(INSTALLMENTS,), upsert_keys=(("TransactionNumber",),), unique=(("TransactionNumber",),))

RESOURCES: dict[str, ResourceDef] = {r.name: r for r in (CUSTOMER_ACCOUNTS, HUB_ORGANIZATIONS, ITEMS, SALES_ORDERS,
                                                            INVOICES)}
