"""The operation map: which WSDL operation lists, reads, creates, updates and deletes, and how.

A small YAML file (``operation_maps/nav_page.yaml`` is the default for Dynamics
NAV / Business Central page services). Loading validates it with line numbers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config.yamlsource import first_validation_error, load_yaml
from hub.errors import ConfigError

DEFAULT_DIR = Path(__file__).resolve().parent / "operation_maps"
DEFAULT = DEFAULT_DIR / "nav_page.yaml"


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


class FieldRoles(_Frozen):
    id: str
    version_key: str
    read_only: tuple[str, ...] = ()
    immutable: tuple[str, ...] = ()


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


class OperationMap(_Frozen):
    family: str = "nav_page"
    record: str = "auto"
    operations: Operations
    fields: FieldRoles
    change_date: ChangeDate | None = None
    paging: Paging = Paging()
    writes: Writes = Writes()
    faults: FaultPatterns = FaultPatterns()
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
