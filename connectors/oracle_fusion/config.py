"""Configuration of the Oracle Fusion Cloud REST connector (frozen, extra="forbid", secrets as SecretStr)."""
from __future__ import annotations

from typing import Any, Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Capability = Literal["read", "incremental", "create", "update", "upsert", "delete", "bulk"]
ALL_WRITES: frozenset[Capability] = frozenset({"read", "incremental", "create", "update", "upsert", "delete", "bulk"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BasicAuthConfig(_Frozen):
    kind: Literal["basic"] = "basic"
    user: str
    password: SecretStr


class OAuthConfig(_Frozen):
    """OAuth 2.0 client credentials against IDCS / OCI IAM (``/oauth2/v1/token``)."""

    kind: Literal["oauth"] = "oauth"
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None


class ResourceConfig(_Frozen):
    """One REST resource, addressed by its path below the pod URL."""

    path: str = Field(description="e.g. fscmRestApi/resources/11.13.18.05/itemsV2")
    key: str = Field(description="the attribute that identifies an item in its URL")
    cursor_field: str | None = "LastUpdateDate"
    expand: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None
    filter: str | None = Field(None, description="extra q, in the syntax of the configured framework version")
    external_id_field: str | None = None
    #: attributes a create gets when it does not carry them (e.g. the source system of an order)
    create_defaults: dict[str, Any] = Field(default_factory=dict)
    #: attributes that receive Concord's golden id on a create when empty (besides external_id_field)
    golden_id_fields: tuple[str, ...] = ()
    capabilities: frozenset[Capability] = ALL_WRITES

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        v = v.strip("/")
        parts = v.split("/")
        if len(parts) < 4 or parts[1] != "resources":
            raise ValueError("path must look like <api>/resources/<version>/<resource>, e.g. "
                             "fscmRestApi/resources/11.13.18.05/itemsV2")
        return v

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def version_root(self) -> str:
        """The path that batches go to: ``<api>/resources/<version>``."""
        return "/".join(self.path.split("/")[:3])

    @property
    def api_root(self) -> str:
        return "/".join(self.path.split("/")[:2])


_V = "11.13.18.05"
DEFAULT_RESOURCES: dict[str, ResourceConfig] = {
    "customerAccounts": ResourceConfig(path=f"crmRestApi/resources/{_V}/customerAccounts", key="CustomerAccountId",
                                       expand=("customerAccountSites",), external_id_field="OrigSystemReference"),
    "hubOrganizations": ResourceConfig(path=f"crmRestApi/resources/{_V}/hubOrganizations", key="PartyId"),
    "itemsV2": ResourceConfig(path=f"fscmRestApi/resources/{_V}/itemsV2", key="ItemId"),
    "salesOrdersForOrderHub": ResourceConfig(path=f"fscmRestApi/resources/{_V}/salesOrdersForOrderHub", key="OrderKey",
                                             expand=("lines", "billToCustomer"),
                                             external_id_field="SourceTransactionId",
                                             create_defaults={"SourceTransactionSystem": "CONCORD"},
                                             golden_id_fields=("SourceTransactionNumber",)),
    "receivablesInvoices": ResourceConfig(path=f"fscmRestApi/resources/{_V}/receivablesInvoices",
                                          key="CustomerTransactionId", expand=("receivablesInvoiceInstallments",)),
}


class OracleFusionConfig(_Frozen):
    base_url: str = Field(description="https://<pod>.fa.<dc>.oraclecloud.com")
    auth: Annotated[Union[BasicAuthConfig, OAuthConfig], Field(discriminator="kind")]
    framework_version: int = Field(4, ge=1, le=9, description="REST-Framework-Version sent on every call")
    page_size: int = Field(500, ge=1, le=500)
    batch_size: int = Field(100, ge=1, le=1000)
    only_data: bool = True
    paging: Literal["auto", "offset", "keyset"] = "auto"
    lookback_seconds: float = Field(0.0, ge=0)
    ca_file: str | None = None
    rate_limit: float | None = Field(None, gt=0, description="requests per second")
    resources: dict[str, ResourceConfig] = Field(default_factory=lambda: dict(DEFAULT_RESOURCES))

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (or http:// for a sandbox)")
        return v.rstrip("/")
