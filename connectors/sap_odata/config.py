"""Configuration of the SAP OData V2 connector (frozen; secrets as SecretStr)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from concord.connectors.sap_odata.receivables import DEFAULT_NET_DAYS

DEFAULT_EXPAND = {
    "A_BusinessPartner": ("to_BusinessPartnerAddress", "to_BusinessPartnerAddress/to_PhoneNumber",
                          "to_BusinessPartnerAddress/to_EmailAddress", "to_Customer"),
    "A_SalesOrder": ("to_Item",),
    "A_Product": ("to_Description",),
    "A_BillingDocument": ("to_Item",),
}
DEFAULT_DELETION_FLAGS = {
    "A_BusinessPartner": "IsMarkedForArchiving",
    "A_Product": "IsMarkedForDeletion",
    "A_Customer": "DeletionIndicator",
}

#: header fields S/4 needs on a sales order create that no canonical field carries (the sales area and the order
#: type); the S/4HANA best-practice values. Override per project (``create_defaults``).
DEFAULT_CREATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "A_SalesOrder": {"SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10",
                     "OrganizationDivision": "00"},
}


#: BP tax number categories per country for the VAT registration number (SAP's naming: ISO code + "0", the
#: category that S/4 copies to the customer's VAT registration number, KNA1-STCEG)
DEFAULT_TAX_TYPES: dict[str, str] = {c: f"{c}0" for c in (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "GB", "CH", "NO", "CN")}


class CustomerDefaults(BaseModel):
    """What a business partner create needs to become a customer in S/4 and that no canonical field carries: the
    organisational values of one installation (``customer_defaults:`` in the system's config block).

    With it, every create of ``A_BusinessPartner`` is one deep insert of an organisation with the customer roles,
    the company code data (``to_Customer/to_CustomerCompany``) and one sales area (``to_Customer/
    to_CustomerSalesArea``); the VAT id the mapping writes goes in as a BP tax number (``to_BusinessPartnerTax``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: BusinessPartnerGrouping: selects the BP number range (an internal one: S/4 assigns the number). None: the
    #: system's default grouping
    grouping: str | None = Field(None, max_length=4)
    #: BP roles to assign: FLCU00 (FI customer: company code data), FLCU01 (customer: sales area data)
    roles: tuple[str, ...] = Field(("FLCU00", "FLCU01"), min_length=1)
    company_code: str = Field(..., min_length=1, max_length=4)
    #: G/L reconciliation account of the receivables (A_CustomerCompany.ReconciliationAccount)
    reconciliation_account: str = Field(..., min_length=1, max_length=10)
    #: terms of payment key, for the company code (PaymentTerms) and the sales area (CustomerPaymentTerms)
    payment_terms: str | None = Field(None, max_length=4)
    sales_organization: str = Field(..., min_length=1, max_length=4)
    distribution_channel: str = Field(..., min_length=1, max_length=2)
    division: str = Field(..., min_length=1, max_length=2)
    #: the sales area's currency (A_CustomerSalesArea.Currency)
    currency: str | None = Field(None, max_length=5)
    #: more A_CustomerCompany / A_CustomerSalesArea fields (e.g. ShippingCondition, CustomerPricingProcedure,
    #: CustomerAccountAssignmentGroup); checked against $metadata like every written field
    company_fields: dict[str, Any] = Field(default_factory=dict)
    sales_area_fields: dict[str, Any] = Field(default_factory=dict)
    #: country (ISO alpha-2 of the address) -> BP tax number category of the VAT id; a country without one gets no
    #: tax number (a warning names the record)
    tax_types: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TAX_TYPES))


class SapODataConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: service root, e.g. https://my123456-api.s4hana.cloud.sap/sap/opu/odata/sap/API_BUSINESS_PARTNER/
    service_url: str
    #: more services on the same system (entity set names must not clash across services)
    extra_service_urls: tuple[str, ...] = ()
    auth: Literal["basic", "bearer", "none"] = "basic"
    user: str | None = None
    password: SecretStr | None = None
    #: bearer: a static token, or OAuth2 client credentials against token_url
    token: SecretStr | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    sap_client: str | None = Field(None, pattern=r"^\d{3}$")
    ca_file: str | None = None
    rate_limit: float | None = None
    #: rows asked per request ($top); the server may page below it with __next
    page_size: int = Field(5000, ge=1, le=100000)
    #: changesets per $batch request
    batch_size: int = Field(100, ge=1, le=1000)
    lookback_seconds: float = Field(0.0, ge=0)
    #: entity set -> navigation properties read with $expand, ``a/b`` for one level deeper (only paths whose every
    #: step the metadata has are used)
    expand: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_EXPAND))
    #: entity set -> boolean property whose true value means "deleted" (archiving / deletion flag)
    deletion_flags: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DELETION_FLAGS))
    #: a local $metadata file to use instead of fetching it (one per service URL, same order); optional
    metadata_files: tuple[str, ...] = ()
    #: entity set -> an Edm.String property that holds Concord's golden id (an extension field such as
    #: ``YY1_ConcordId_bus``); creates write it, and a create whose answer was lost is found by it (``lookup``)
    #: instead of being created twice. Sets without one cannot be looked up (their creates are not idempotent).
    external_id_fields: dict[str, str] = Field(default_factory=dict)
    #: entity set -> fields added to each create that does not carry them (only properties $metadata has)
    create_defaults: dict[str, dict[str, Any]] = Field(default_factory=lambda: {
        k: dict(v) for k, v in DEFAULT_CREATE_DEFAULTS.items()})
    #: organisational values that make a BP create a customer create (roles, company code, sales area); None:
    #: creates of A_BusinessPartner send only what the mapping gives (a BP without customer data)
    customer_defaults: CustomerDefaults | None = None
    #: entity set -> its material property: records of these sets get a ``MaterialStock`` block read from
    #: API_MATERIAL_STOCK_SRV (A_MatlStkInAcctMod) when one of the configured services has that set
    stock: dict[str, str] = Field(default_factory=lambda: {"A_Product": "Product"})
    #: stock types (InventoryStockType) that count as available: 01 = unrestricted use
    available_stock_types: tuple[str, ...] = ("01",)
    #: terms of payment key -> net days: the due date of a billing document's receivable (receivables.py)
    payment_terms_net_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_NET_DAYS))
    #: only expose these entity sets (empty = all)
    entity_sets: tuple[str, ...] = ()

    @field_validator("service_url", "extra_service_urls")
    @classmethod
    def _slash(cls, v):  # type: ignore[no-untyped-def]
        def fix(u: str) -> str:
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"service URL must start with http:// or https://: {u!r}")
            return u if u.endswith("/") else u + "/"
        return tuple(fix(u) for u in v) if isinstance(v, tuple) else fix(v)

    @model_validator(mode="after")
    def _auth_complete(self) -> "SapODataConfig":
        if self.auth == "basic" and (not self.user or self.password is None):
            raise ValueError("auth 'basic' needs user and password")
        if self.auth == "bearer" and self.token is None and not (self.token_url and self.client_id and self.client_secret):
            raise ValueError("auth 'bearer' needs token, or token_url + client_id + client_secret")
        return self

    @property
    def service_urls(self) -> tuple[str, ...]:
        return (self.service_url, *self.extra_service_urls)
