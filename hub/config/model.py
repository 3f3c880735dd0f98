"""The shape of concord.yaml (frozen pydantic models; unknown keys are errors)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from concord.hub.config.derivations import Derivation, Kpi, Rollup
from concord.hub.config.extensions import EntityExtension
from concord.hub.config.sync_rules import Condition, ConflictPolicy


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


Comparator = Literal["name", "person_name", "text", "street", "postal_code", "city", "phone", "email", "domain",
                     "date", "exact"]
BLOCK_FUNCTIONS = ("exact", "name", "name_edits", "name_split", "phone", "email", "domain", "initial", "year")


class MatchThresholds(Frozen):
    """Where a probabilistic rule's total score links automatically, and where it goes to review."""

    link: float = Field(0.9, gt=0, le=1, description="Auto-link at or above this total.")
    review: float = Field(0.7, gt=0, le=1, description="Review queue at or above this total (below: no link).")
    margin: float = Field(0.05, ge=0, le=1, description="The best candidate must beat the runner-up by this much "
                                                        "to auto-link; a closer race goes to review.")

    @model_validator(mode="after")
    def _order(self) -> "MatchThresholds":
        if self.review > self.link:
            raise ValueError(f"review threshold {self.review} is above the link threshold {self.link}")
        return self


FSComparison = Literal["name", "person_name", "text", "street", "postal_code", "city", "phone", "email", "domain",
                       "date", "identifier", "numeric"]


class FSFieldParams(Frozen):
    """Learned parameters of one compared field: per comparison level (strongest agreement first, the
    last is ``else``), m = P(level | same entity) and u = P(level | different entities)."""

    levels: tuple[str, ...] = Field(..., min_length=2)
    m: tuple[float, ...]
    u: tuple[float, ...]

    @model_validator(mode="after")
    def _sizes(self) -> "FSFieldParams":
        if not (len(self.levels) == len(self.m) == len(self.u)):
            raise ValueError(f"levels, m and u must have the same length ({len(self.levels)}, {len(self.m)}, "
                             f"{len(self.u)})")
        for p in (*self.m, *self.u):
            if not 0 < p <= 1:
                raise ValueError(f"m and u are probabilities in (0, 1], got {p}")
        return self


class FSTermFrequencies(Frozen):
    """Term frequencies of one field (normalised values): the most frequent values, the frequency of any
    other value, and ``base`` (how often two random records agree on the field)."""

    base: float = Field(..., gt=0, le=1)
    other: float = Field(..., gt=0, le=1)
    values: dict[str, float] = Field(default_factory=dict)


class FSModel(Frozen):
    """A trained Fellegi-Sunter model (``concord match train`` writes it; review it like any config)."""

    prior: float = Field(..., gt=0, lt=1, description="P(same entity) for two records picked at random (training by sessions); older learned models hold it per blocked candidate pair.")
    fields: dict[str, FSFieldParams] = Field(default_factory=dict)
    tf: dict[str, FSTermFrequencies] = Field(default_factory=dict)
    groups: dict[str, FSFieldParams] = Field(default_factory=dict, description="Joint levels of each dependent group (key: its fields joined by '+'; levels: patterns such as '-,exact,exact,exact', hub/matching/fs_groups.py).")
    trained: dict[str, Any] = Field(default_factory=dict, description="How it was trained (pairs, iterations).")


class MatchRule(Frozen):
    """One match rule of an entity (rules are tried in order).

    ``type: exact``: records whose normalised values of all ``fields`` are equal are the same entity
    (tax id, DUNS, ERP customer number, e-mail, phone in E.164).

    ``type: fuzzy``: a weighted comparison of ``fields`` (rapidfuzz) over candidates found through the
    rule's ``block`` keys; ``thresholds`` say where it links and where it asks a person.

    ``type: probabilistic``: Fellegi-Sunter over blocked candidates (hub/matching/fs.py): each field
    falls into a comparison level (``comparisons``: exact, edit-distance and Jaro-Winkler bands, date
    transposition, numeric tolerance...), ``swap`` pairs are also compared crosswise (first/last name
    swapped), ``tf`` fields weigh a rare value more than a common one, ``dependent`` groups (a household's
    landline and address) count as one piece of evidence, and ``model`` holds the m/u
    parameters that ``concord match train`` estimates by EM. ``thresholds`` are match probabilities.
    """

    name: str | None = None
    type: Literal["exact", "fuzzy", "probabilistic"] = "exact"
    fields: tuple[str, ...] = Field(..., min_length=1)
    weights: dict[str, float] = Field(default_factory=dict, description="fuzzy: weight per field (default 1).")
    compare: dict[str, Comparator] = Field(default_factory=dict,
                                           description="fuzzy: comparator per field (default: from the field name).")
    block: tuple[str, ...] = Field((), description="fuzzy: blocking keys, each `function:field[+function:field]`.")
    require: tuple[str, ...] = Field((), description="fuzzy: fields both records must have for the rule to apply.")
    min_fields: int = Field(2, ge=1, description="fuzzy: fields compared at least (present on both sides).")
    thresholds: MatchThresholds = MatchThresholds()
    comparisons: dict[str, FSComparison] = Field(
        default_factory=dict, description="probabilistic: comparison per field (default: from the field name).")
    swap: tuple[tuple[str, str], ...] = Field(
        (), description="probabilistic: field pairs also compared crosswise, e.g. [[first_name, last_name]].")
    tf: tuple[str, ...] = Field((), description="probabilistic: fields with term-frequency adjustment.")
    dependent: tuple[tuple[str, ...], ...] = Field(
        (), description="probabilistic: groups of fields that are one piece of evidence (a household shares its "
                        "address and landline), e.g. [[phone, street, postal_code, city]]: a group counts its "
                        "strongest agreement once and its strongest disagreement once, not every field.")
    one_to_one: bool = Field(True, description="probabilistic, offline linkage of two files (concord match --left "
                                               "--right): a pair links when one match per record makes its "
                                               "probability reach `link`, or, below it, while the link raises the "
                                               "linkage's expected F1 and the links' expected precision (each at the "
                                               "lower of its own and its one-to-one probability) stays at `link`; "
                                               "false when a file holds several records of one entity.")
    model: FSModel | None = Field(None, description="probabilistic: learned parameters (concord match train).")

    @property
    def key_name(self) -> str:
        return self.name or "+".join(self.fields)

    @model_validator(mode="before")
    @classmethod
    def _probabilistic_defaults(cls, data: Any) -> Any:
        # A probabilistic rule's thresholds are match probabilities: stricter defaults than a fuzzy score.
        if isinstance(data, dict) and data.get("type") == "probabilistic" and "thresholds" not in data:
            data = {**data, "thresholds": {"link": 0.99, "review": 0.5, "margin": 0.0}}
        return data

    @model_validator(mode="after")
    def _check(self) -> "MatchRule":
        fs_only = ("comparisons", "swap", "tf", "dependent", "model")
        if self.type != "probabilistic" and "one_to_one" in self.model_fields_set:
            raise ValueError(f"`one_to_one` applies to probabilistic rules only (this rule is {self.type})")
        if self.type == "exact":
            for opt in ("weights", "compare", "block", "require"):
                if getattr(self, opt):
                    raise ValueError(f"`{opt}` applies to fuzzy rules only (this rule is exact)")
            for opt in fs_only:
                if getattr(self, opt):
                    raise ValueError(f"`{opt}` applies to probabilistic rules only (this rule is exact)")
            return self
        if self.type == "fuzzy":
            for opt in fs_only:
                if getattr(self, opt):
                    raise ValueError(f"`{opt}` applies to probabilistic rules only (this rule is fuzzy)")
        else:
            for opt in ("weights", "compare"):
                if getattr(self, opt):
                    raise ValueError(f"`{opt}` applies to fuzzy rules only (a probabilistic rule learns its "
                                     f"weights; name comparison levels under `comparisons`)")
            known = set(self.fields)
            for f in [*self.comparisons, *self.tf, *(x for pair in self.swap for x in pair),
                      *(x for group in self.dependent for x in group)]:
                if f not in known:
                    raise ValueError(f"{f!r} is not one of this rule's fields {list(self.fields)}")
            grouped: set[str] = set()
            for group in self.dependent:
                if len(set(group)) < 2 or len(set(group)) != len(group):
                    raise ValueError(f"dependent: {list(group)} needs two or more different fields")
                if grouped & set(group):
                    raise ValueError(f"dependent: {sorted(grouped & set(group))} in more than one group")
                grouped |= set(group)
            if self.model is not None:
                for f in self.model.fields:
                    if f not in known:
                        raise ValueError(f"model: {f!r} is not one of this rule's fields (retrain the rule)")
        if not self.block:
            raise ValueError(f"a {self.type} rule needs `block` keys (candidates never come from all pairs)")
        known = set(self.fields)
        for f in list(self.weights) + list(self.compare) + list(self.require):
            if f not in known:
                raise ValueError(f"{f!r} is not one of this rule's fields {list(self.fields)}")
        for w in self.weights.values():
            if w < 0:
                raise ValueError("weights must be >= 0")
        for spec in self.block:
            for part in spec.split("+"):
                fn, sep, _f = part.strip().partition(":")
                if not sep or fn not in BLOCK_FUNCTIONS or not _f:
                    raise ValueError(f"block key {spec!r}: each part is `function:field` with a function among "
                                     f"{', '.join(BLOCK_FUNCTIONS)}")
                if _f.strip() not in known:
                    raise ValueError(f"block key {spec!r}: {_f.strip()!r} is not one of this rule's fields "
                                     f"(blocking keys use the fields the rule compares)")
        return self


class FieldSurvivorship(Frozen):
    strategy: Literal["priority", "latest", "most_complete", "trust"] | None = None
    priority: tuple[str, ...] | None = None
    trust: dict[str, float] | None = Field(None, description="trust: score per system in [0, 1].")
    half_life_days: float | None = Field(None, gt=0, description="trust: the score halves every this many days.")


class Survivorship(Frozen):
    """How a golden record picks each field's value among its sources.

    ``priority``: the highest-ranked system with a value owns the field (others' edits are reverted).
    ``latest``: the most recent change wins; simultaneous changes and first sightings go by rank.
    ``most_complete``: the fuller value wins (longer text, more digits); ties go by rank.
    ``trust``: each system's trust score, halved every ``half_life_days`` of the value's age; the
    highest effective trust wins (ties by rank).
    """

    strategy: Literal["priority", "latest", "most_complete", "trust"] = "latest"
    priority: tuple[str, ...] = ()
    trust: dict[str, float] = Field(default_factory=dict)
    half_life_days: float = Field(180.0, gt=0)
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
    map_workers: Literal["auto"] | Annotated[int, Field(ge=0, le=64)] = Field(
        "auto", description="Worker processes mapping records ahead of the transaction (hub/engine/mapping_pool.py): "
                            "auto = one per spare core for streams of 5,000+ pending records, 0 = none.")
    derivations: tuple[Derivation, ...] = Field((), description="Cross-entity rules (hub/config/derivations.py).")
    rollups: tuple[Rollup, ...] = Field((), description="Children summed up on their parent (derivations.py).")
    kpis: tuple[Kpi, ...] = Field((), description="Warehouse KPIs written onto account fields (derivations.py).")
    extensions: dict[str, EntityExtension] = Field(
        default_factory=dict, description="The project's own canonical fields, per entity (extensions.py).")
    value_maps: dict[str, Any] | str = Field(
        default_factory=dict, description="Named value maps for mappings: inline {map:}, a file, or a folder of "
                                          "files (extensions.py).")

    @field_validator("systems")
    @classmethod
    def _names(cls, v: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        for name in v:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"system name {name!r} must be letters, digits, '-' or '_'")
        return v

    @model_validator(mode="after")
    def _derivations(self) -> "ProjectConfig":
        seen: set[str] = set()
        for d in (*self.derivations, *self.rollups, *self.kpis):
            if d.name in seen:
                raise ValueError(f"two derivations are named {d.name!r}")
            seen.add(d.name)
            for ent in ((d.to,) if isinstance(d, Kpi) else (d.from_, d.to)):
                if ent not in self.entities:
                    raise ValueError(f"derivation {d.name!r} uses entity {ent!r}, which this project does not "
                                     f"sync (entities: {', '.join(self.entities)})")
        return self
