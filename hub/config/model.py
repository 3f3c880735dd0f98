"""The shape of concord.yaml (frozen pydantic models; unknown keys are errors)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.config.sync_rules import Condition, ConflictPolicy


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SystemConfig(Frozen):
    """One connected system: which connector, and that connector's own config block."""

    connector: str = Field(..., description="Connector name (entry point in concord.connectors).")
    config: dict[str, Any] = Field(default_factory=dict, description="The connector's Config, validated by it.")
    rate_limit: float | None = Field(None, gt=0, description="Requests per second at most.")
    daily_budget: int | None = Field(None, gt=0, description="API calls per day Concord may use.")
    role: Literal["erp", "crm", "other"] = "other"


class SourceConfig(Frozen):
    """Where an entity comes from in one system."""

    mapping: str = Field(..., description="Path of the mapping YAML, relative to concord.yaml.")
    entity: str | None = Field(None, description="The system's entity name; defaults to the mapping's `source`.")
    page_size: int | None = Field(None, gt=0)


class MatchRule(Frozen):
    """An exact-key rule: records whose normalised values of all ``fields`` are equal are the same entity."""

    name: str | None = None
    type: Literal["exact"] = "exact"
    fields: tuple[str, ...] = Field(..., min_length=1)

    @property
    def key_name(self) -> str:
        return self.name or "+".join(self.fields)


class FieldSurvivorship(Frozen):
    strategy: Literal["priority", "latest"] | None = None
    priority: tuple[str, ...] | None = None


class Survivorship(Frozen):
    """How a golden record picks each field's value among its sources.

    ``priority``: the highest-ranked system with a value owns the field (others' edits are reverted).
    ``latest``: the most recent change wins; simultaneous changes and first sightings go by rank.
    """

    strategy: Literal["priority", "latest"] = "latest"
    priority: tuple[str, ...] = ()
    fields: dict[str, FieldSurvivorship] = Field(default_factory=dict)


class SyncRule(Frozen):
    """Which golden fields flow to a target system, and how.

    ``mode``: create (new records only), update / update_only (linked records only), upsert (both),
    mirror (upsert, and deletes follow). ``when``: typed conditions on the golden record, all of
    which must hold (e.g. only customers go to the ERP).
    """

    target: str
    mode: Literal["create", "update", "upsert", "update_only", "mirror"] = "upsert"
    fields: Literal["all"] | tuple[str, ...] = "all"
    when: tuple[Condition, ...] = ()

    def applies(self, golden: Any) -> bool:
        return all(c.test(golden) for c in self.when)

    @property
    def may_create(self) -> bool:
        return self.mode in ("create", "upsert", "mirror")

    @property
    def may_update(self) -> bool:
        return self.mode in ("update", "upsert", "update_only", "mirror")

    @property
    def may_delete(self) -> bool:
        return self.mode == "mirror"


class EntityConfig(Frozen):
    sources: dict[str, SourceConfig] = Field(..., min_length=1)
    #: field -> the system that is its source of truth (its value wins; others' edits are reverted)
    ownership: dict[str, str] = Field(default_factory=dict)
    conflicts: ConflictPolicy = ConflictPolicy()
    match: tuple[MatchRule, ...] = ()
    survivorship: Survivorship = Survivorship()
    sync: tuple[SyncRule, ...] = ()


class Schedule(Frozen):
    entity: str
    cron: str
    timezone: str = "UTC"


class DashboardConfig(Frozen):
    token: str | None = None          # operator token (${ENV} reference)
    read_token: str | None = None     # read-only token (${ENV} reference)


class ProjectConfig(Frozen):
    """concord.yaml."""

    version: Literal[1] = 1
    warehouse: str = "sqlite:///concord.db"
    systems: dict[str, SystemConfig] = Field(..., min_length=1)
    entities: dict[str, EntityConfig] = Field(..., min_length=1)
    schedules: tuple[Schedule, ...] = ()
    dashboard: DashboardConfig = DashboardConfig()
    max_attempts: int = Field(5, ge=1, description="Push attempts before a change is dead-lettered.")
    batch_size: int = Field(1000, ge=1, description="Records per map/match/survive transaction.")

    @field_validator("systems")
    @classmethod
    def _names(cls, v: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        for name in v:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"system name {name!r} must be letters, digits, '-' or '_'")
        return v
