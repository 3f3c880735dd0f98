"""Configuration of the Fxiaoke connector (what an integrator writes in concord.yaml)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: the standard objects read by default (custom ``__c`` objects are discovered through object/list)
DEFAULT_OBJECTS = ("AccountObj", "ContactObj", "ProductObj", "SalesOrderObj", "SalesOrderProductObj",
                   "NewOpportunityObj", "NewOpportunityLinesObj")


class FxiaokeConfig(BaseModel):
    """``base_url`` is the open API gateway of the tenant's cloud (``https://open.fxiaoke.com``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = "https://open.fxiaoke.com"
    app_id: str = Field(..., min_length=1, description="FSAID_... of the enterprise's self-built app")
    app_secret: SecretStr
    permanent_code: SecretStr
    #: the open user id (FSUID_...) every call acts as; its CRM role decides what data is visible
    current_open_user_id: str = Field(..., min_length=1)
    objects: tuple[str, ...] = DEFAULT_OBJECTS
    #: also expose every custom ``__c`` object that /cgi/crm/v2/object/list reports
    discover_custom_objects: bool = True
    page_size: int = Field(100, ge=1, le=100)
    #: calls per second; the documented limit is 100 calls / 20 s per endpoint (None: no limiter)
    rate_limit: float | None = 5.0
    lookback_seconds: float = Field(0.0, ge=0)
    #: writes fire no workflows and approval flows unless asked (both default to true at the vendor)
    trigger_workflow: bool = False
    trigger_approval_flow: bool = False
    #: object -> a text field (usually a custom ``__c`` one) that holds Concord's golden id: creates write it,
    #: and a create whose answer was lost is found by it (``lookup``) instead of being created twice
    external_id_fields: dict[str, str] = Field(default_factory=dict)
    #: embed detail rows (SalesOrderProductObj) into their master's record under the detail's api name
    embed_details: bool = True
    #: refresh the corpAccessToken this many seconds before the expiry the server announced
    token_refresh_margin: float = Field(300.0, ge=0)
    ca_file: str | None = None

    @field_validator("base_url")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return v
