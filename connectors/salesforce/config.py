"""The Salesforce connector's configuration (frozen; secrets as SecretStr)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class SalesforceConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: My Domain (https://acme.my.salesforce.com), https://login.salesforce.com or https://test.salesforce.com
    login_url: str = "https://login.salesforce.com"
    auth: Literal["jwt", "client_credentials", "refresh_token"] = "jwt"
    client_id: str = Field(..., description="Connected app consumer key")
    client_secret: SecretStr | None = None
    username: str | None = Field(None, description="JWT bearer: the integration user (sub)")
    private_key: SecretStr | None = Field(None, description="JWT bearer: PEM private key")
    private_key_file: str | None = None
    refresh_token: SecretStr | None = None
    api_version: str = "59.0"
    ca_file: str | None = None
    rate_limit: float | None = None
    #: custom objects to expose as entities besides the standard ones
    custom_objects: tuple[str, ...] = ()
    #: external id field per sObject (default Concord_Id__c everywhere)
    external_id_field: str = "Concord_Id__c"
    external_id_fields: dict[str, str] = Field(default_factory=dict)
    #: extra SELECT items per sObject: relationship fields and child subqueries
    relationships: dict[str, tuple[str, ...]] | None = None
    #: how deletes are detected on incremental reads
    deletes: Literal["query_all", "get_deleted", "none"] = "query_all"
    #: Salesforce keeps deleted rows (Recycle Bin / getDeleted) this long
    delete_retention_days: float = 15.0
    lookback_seconds: float = 0.0
    page_size: int = Field(2000, ge=200, le=2000)
    #: full reads above this many rows use a Bulk API 2.0 query job (None: never)
    bulk_read_threshold: int | None = 50000
    #: write batches above this many changes use a Bulk API 2.0 ingest job (None: never)
    bulk_write_threshold: int | None = 10000
    bulk_poll_seconds: float = 2.0
    bulk_page_size: int = 50000

    @model_validator(mode="after")
    def _auth_fields(self) -> "SalesforceConfig":
        need = {"jwt": ("username",), "client_credentials": ("client_secret",), "refresh_token": ("refresh_token",)}
        missing = [f for f in need[self.auth] if getattr(self, f) is None]
        if self.auth == "jwt" and self.private_key is None and self.private_key_file is None:
            missing.append("private_key or private_key_file")
        if missing:
            raise ValueError(f"auth {self.auth!r} needs {', '.join(missing)}")
        if not self.login_url.startswith("https://"):
            raise ValueError("login_url must be https:// (Salesforce serves HTTPS only)")
        return self

    def ext_field(self, sobject: str) -> str:
        return self.external_id_fields.get(sobject, self.external_id_field)
