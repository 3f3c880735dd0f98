"""Pydantic models of the mapping YAML (the *shape*; meaning is checked in compile.py).

```yaml
entity: account          # canonical entity
source: Account          # the system's entity name
fields:                  # canonical field -> rule (a string is short for {from: ...})
  name: Name
  lifecycle: {from: Type, map: {Customer: customer}, default: prospect}
```
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Direction = Literal["in", "out", "both"]


class WriteRefSpec(BaseModel):
    """``write_ref``: the canonical value is a business key of another entity (a line's ``sku``); writing puts
    that record's id *in the target system* into ``to``, found through the golden record and the cross-reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    to: str                                # the source path that receives the target's id (Product2Id, product_id)
    lookup: str                            # the referenced canonical entity (product)
    by: str                                # its field that holds the key (sku)


class RuleSpec(BaseModel):
    """One rule: where a canonical field comes from and how its value is converted."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: str | None = Field(None, alias="from")
    const: Any = None
    direction: Direction | None = None
    transform: Any = None                  # a name, {name: params}, or a list of those
    map: dict[Any, Any] | str | None = None   # source value -> canonical value, or a project value map's name
    reverse_map: dict[Any, Any] | None = None   # canonical value -> source value (default: map inverted)
    default: Any = None                    # canonical value when the source is empty or not in map
    lookup: str | None = None              # canonical entity whose id the source value references
    by: str | None = None                  # with lookup: the source value is this field of it (a business key)
    fields: dict[str, Any] | None = None   # sub-rules for a nested model or a list of models
    write_ref: WriteRefSpec | None = None  # written as the referenced record's id in the target (see WriteRefSpec)

    @field_validator("from_", "lookup")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    @property
    def has_const(self) -> bool:
        return "const" in self.model_fields_set


class MappingSpec(BaseModel):
    """A mapping file: one canonical entity from one source entity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str
    source: str
    fields: dict[str, Any] = Field(min_length=1)


def rule_data(value: Any) -> Any:
    """Normalise the shorthand ``field: Path`` to ``{"from": Path}``."""
    if isinstance(value, str):
        return {"from": value}
    return value
