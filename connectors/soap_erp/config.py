"""Configuration of the SOAP ERP connector (frozen; secrets as SecretStr)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PageConfig(_Frozen):
    """One page service: its WSDL, where to call it, and how its operations map to the four verbs."""

    wsdl: str = Field(..., description="WSDL file path (relative to concord.yaml) or http(s) URL")
    address: str | None = Field(None, description="service URL; default: the address inside the WSDL")
    binding: str | None = Field(None, description="binding name or QName; default: the WSDL's first binding")
    operation_map: str | None = Field(None, description="operation map YAML; default: the NAV page map")
    entity: str | None = Field(None, description="entity name; default: the WSDL record type (Customer)")
    page_size: int | None = Field(None, ge=1, le=100000, description="setSize override")
    external_id_field: str | None = Field(None, description=(
        "a page field that holds Concord's golden id (a field added to the page for the integration): creates "
        "write it, and a create whose answer was lost is found by it (ReadMultiple filter) instead of being "
        "created twice; without one a create is not idempotent"))
    create_defaults: dict[str, str | bool | int | float] = Field(default_factory=dict, description=(
        "field values a create carries when the change leaves them empty: what a NAV customer template would "
        "set (a page web service Create applies none), e.g. {Gen_Bus_Posting_Group: DOMESTIC, "
        "VAT_Bus_Posting_Group: DOMESTIC, Customer_Posting_Group: DOMESTIC}; never used by updates"))


class AuthConfig(_Frozen):
    """NavUserPassword (HTTP Basic), Business Central OAuth client credentials, or none."""

    kind: Literal["basic", "oauth", "none"] = "basic"
    username: str | None = None
    password: SecretStr | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> "AuthConfig":
        if self.kind == "basic" and (not self.username or self.password is None):
            raise ValueError("basic auth needs username and password")
        if self.kind == "oauth" and not (self.token_url and self.client_id and self.client_secret is not None):
            raise ValueError("oauth needs token_url, client_id and client_secret")
        return self


class SoapErpConfig(_Frozen):
    pages: tuple[PageConfig, ...] = Field(..., min_length=1)
    auth: AuthConfig = AuthConfig(kind="none")
    ca_file: str | None = None
    rate_limit: float | None = Field(None, gt=0, description="requests per second")
    timeout: float = Field(60.0, gt=0, description="seconds per SOAP call")
