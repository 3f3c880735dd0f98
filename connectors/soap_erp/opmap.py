"""The operation map: which WSDL operation lists, reads, creates, updates and deletes, and how.

A small YAML file (``operation_maps/nav_page.yaml`` is the default for Dynamics
NAV / Business Central page services). Loading validates it with line numbers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from concord.hub.config.yamlsource import first_validation_error, load_yaml
from concord.hub.errors import ConfigError

DEFAULT_DIR = Path(__file__).resolve().parent / "operation_maps"
DEFAULT = DEFAULT_DIR / "nav_page.yaml"
#: bundled operation maps of NAV pages that need more than the default (parts, rollups, read-only fields),
#: by the page's record type; used when a page config names no operation map
PAGE_MAPS = {"SalesOrder": DEFAULT_DIR / "nav_sales_order.yaml", "Item": DEFAULT_DIR / "nav_item.yaml",
             "PostedSalesInvoices": DEFAULT_DIR / "nav_posted_sales_invoices.yaml"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Operations(_Frozen):
    list: str
    read: str | None = None
    create: str | None = None
    create_many: str | None = None
    update: str | None = None
    update_many: str | None = None
    delete: str | None = None
    is_updated: str | None = None


class KeyField(_Frozen):
    """One primary key field of a page; NAV's ``Read`` takes it as a parameter."""

    name: str = Field(..., min_length=1)
    type: Literal["string", "int", "date"] = "string"


class FieldRoles(_Frozen):
    """Which fields play which role. ``key`` lists the primary key fields in key order
    (``id: "No"`` is short for ``key: ["No"]``); ``source_id`` names the field a composite key's
    encoded source id is put in on every record read (see :mod:`concord.connectors.soap_erp.keys`)."""

    id: str | None = None
    key: tuple[KeyField, ...] = ()
    version_key: str
    source_id: str = "Concord_Source_Id"
    read_only: tuple[str, ...] = ()
    immutable: tuple[str, ...] = ()

    @field_validator("key", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"name": k} if isinstance(k, str) else k for k in value]
        return value

    @model_validator(mode="after")
    def _one_key(self) -> "FieldRoles":
        if self.id is not None and self.key:
            raise ValueError("give either `id` (one key field) or `key` (a list of key fields), not both")
        if self.id is not None:
            object.__setattr__(self, "key", (KeyField(name=self.id),))   # frozen: set once, while validating
        if not self.key:
            raise ValueError("`key` (or `id`) must name the primary key field(s)")
        names = self.key_names
        if len(set(names)) != len(names):
            raise ValueError(f"key fields repeat: {', '.join(names)}")
        if self.version_key in names or self.source_id in names:
            raise ValueError("the version key and the source id field cannot be key fields")
        return self

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.key)


class ChangeDate(_Frozen):
    field: str
    kind: Literal["date", "datetime"] = "date"
    overlap_days: int = Field(1, ge=0, le=366)


class Paging(_Frozen):
    style: Literal["bookmark"] = "bookmark"
    filter_param: str = "filter"
    filter_field: str = "Field"
    filter_criteria: str = "Criteria"
    bookmark_param: str = "bookmarkKey"
    size_param: str = "setSize"
    page_size: int = Field(500, ge=1, le=100000)


class Writes(_Frozen):
    max_batch: int = Field(100, ge=1, le=10000)
    all_or_none: bool = True


class FaultPatterns(_Frozen):
    stale: tuple[str, ...] = ()
    not_found: tuple[str, ...] = ()
    transient: tuple[str, ...] = ()
    auth: tuple[str, ...] = ()
    identification: str | None = None


class Part(_Frozen):
    """A part (subpage) of a document page, e.g. ``SalesLines`` on a sales order: its lines travel inline.

    ``read_only`` line fields are never written (FlowFields, quantities posted by NAV, the line ``Key``);
    ``position_field`` is added by the connector to every line read: its 1-based position in the part
    (NAV numbers lines 10000, 20000, ... with AutoSplitKey, so ``Line_No`` is not a position)."""

    read_only: tuple[str, ...] = ("Key",)
    position_field: str | None = None


class Rollup(_Frozen):
    """A read-only field the connector computes on every read, from the lines of a part or from the header.

    ``sum``: the sum of one line field (``Line_Amount``). ``quantity`` + ``done`` + ``values``: a three-way
    status over the lines with a quantity: none done -> values[0], all done -> values[2], else values[1]
    (e.g. ``Quantity`` vs ``Quantity_Shipped``: not, partially, completely shipped). Without ``part``:
    ``quantity`` + ``remaining`` + ``values`` on the header itself: remaining equal to the quantity ->
    values[0], remaining zero -> values[2], else values[1] (``Amount_Including_VAT`` vs ``Remaining_Amount``:
    open, partially paid, paid)."""

    part: str | None = None
    sum: str | None = None
    quantity: str | None = None
    done: str | None = None
    remaining: str | None = None
    values: tuple[str, str, str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Rollup":
        if self.part is None:
            if not (self.quantity and self.remaining and self.values) or self.sum or self.done:
                raise ValueError("a header rollup (no `part`) is `quantity`, `remaining` and three `values`")
            return self
        status = self.quantity and self.done and self.values
        if bool(self.sum) == bool(status) or self.remaining:
            raise ValueError("a rollup is either `sum: <line field>` or `quantity`, `done` and three `values`")
        return self


class OperationMap(_Frozen):
    family: str = "nav_page"
    record: str = "auto"
    operations: Operations
    fields: FieldRoles
    change_date: ChangeDate | None = None
    paging: Paging = Paging()
    writes: Writes = Writes()
    faults: FaultPatterns = FaultPatterns()
    parts: dict[str, Part] = Field(default_factory=dict)
    rollups: dict[str, Rollup] = Field(default_factory=dict)
    source: str = Field("", exclude=True)


def load_operation_map(path: str | Path | None = None) -> OperationMap:
    """Load and validate an operation map (the NAV page default when ``path`` is None)."""
    doc = load_yaml(path or DEFAULT)
    if not isinstance(doc.data, dict):
        raise ConfigError("an operation map must be a YAML mapping", file=doc.file, line=1)
    try:
        return OperationMap.model_validate({**doc.data, "source": doc.file})
    except ValidationError as exc:
        raise first_validation_error(exc, doc) from None
