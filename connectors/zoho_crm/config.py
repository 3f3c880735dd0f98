"""Configuration of the Zoho CRM connector (the ``config:`` block of a system in concord.yaml)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

STANDARD_MODULES = ("Accounts", "Contacts", "Deals", "Products", "Sales_Orders", "Invoices")
Trigger = Literal["workflow", "approval", "blueprint"]


#: the default Subject templates of the inventory modules (``subjects``)
DEFAULT_SUBJECTS: dict[str, tuple[str, ...]] = {
    "Sales_Orders": ("Order {ERP_Order_Number}", "Order {Purchase_Order}", "Sales order"),
    "Invoices": ("Invoice {ERP_Invoice_Number}", "Invoice"),
    "Quotes": ("Quote {Deal_Name}", "Quote"),
    "Purchase_Orders": ("Purchase order {PO_Number}", "Purchase order"),
}


class ZohoCrmConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: the data centre's accounts server (OAuth): https://accounts.zoho.com, .eu, .in, .com.au, .jp, .com.cn ...
    accounts_url: str = "https://accounts.zoho.com"
    #: override of the API domain; by default the ``api_domain`` of the token response is used
    api_domain: str | None = None
    api_version: Literal["v6", "v7", "v8"] = "v8"
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    #: modules exposed as entities (default: the standard ones plus every custom module)
    modules: tuple[str, ...] | None = None
    include_custom_modules: bool = True
    #: automation Concord's writes fire; () means none (Zoho fires all when ``trigger`` is absent)
    trigger: tuple[Trigger, ...] = ()
    #: upsert: fields Zoho matches on, per module (default: the module's system duplicate check)
    duplicate_check_fields: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: upsert: a (unique) field per module that holds Concord's golden id; matched first
    external_id_fields: dict[str, str] = Field(default_factory=dict)
    #: restrict the columns read per module (default: every field of the field metadata)
    fields: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    per_page: int = Field(200, ge=1, le=200)
    max_fields_per_call: int = Field(50, ge=2, le=50)
    read_deleted: bool = True
    deleted_type: Literal["all", "recycle", "permanent"] = "all"
    lookback_seconds: float = Field(0.0, ge=0)
    ca_file: str | None = None
    rate_limit: float | None = None
    #: inventory modules whose ``Subject`` is mandatory: on a create that does not set it, the first template whose
    #: fields all have a value (``{Field}`` names a field of the record written) becomes the Subject, as a user
    #: would type it ("Order 4500012345"); a module not listed is sent as it is (Zoho refuses it: MANDATORY_NOT_FOUND)
    subjects: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_SUBJECTS))
