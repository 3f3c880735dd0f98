"""Typed predicates and conflict policies for sync rules (no expression language).

A condition is one field and one test, written in YAML as::

    when:
      - {field: lifecycle, in: [customer]}          # only customers go to the ERP
      - {field: credit_limit, gt: 0}
      - {field: tax_id, exists: true}

All conditions of a rule must hold. Values compare as the golden record holds them (flat canonical
JSON: decimals as strings are compared as numbers by gt/ge/lt/le; dates as ISO text). The bound
``$today`` stands for today's date: ``{field: due_date, lt: $today}``.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ConflictPolicyName = Literal["latest_wins", "owner_wins", "hold"]

_TESTS = ("eq", "ne", "in_", "not_in", "exists", "gt", "ge", "lt", "le")


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: str
    eq: Any = None
    ne: Any = None
    in_: tuple[Any, ...] | None = Field(None, alias="in")
    not_in: tuple[Any, ...] | None = None
    exists: bool | None = None
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None

    @model_validator(mode="after")
    def _one_test(self) -> "Condition":
        given = [t for t in _TESTS if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError(f"a condition needs exactly one test of eq, ne, in, not_in, exists, gt, ge, lt, le "
                             f"(got {', '.join(t.rstrip('_') for t in given) or 'none'})")
        return self

    def test(self, record: Mapping[str, Any]) -> bool:
        v = record.get(self.field)
        if self.exists is not None:
            return (v is not None) == self.exists
        if self.eq is not None:
            return _same(v, self.eq)
        if self.ne is not None:
            return not _same(v, self.ne)
        if self.in_ is not None:
            return any(_same(v, x) for x in self.in_)
        if self.not_in is not None:
            return not any(_same(v, x) for x in self.not_in)
        if v is None:
            return False
        bound = _today(next(getattr(self, t) for t in ("gt", "ge", "lt", "le") if getattr(self, t) is not None))
        a, b = _num(v), _num(bound)
        if a is None or b is None:
            a, b = str(v), str(bound)
        if self.gt is not None:
            return a > b  # type: ignore[operator]
        if self.ge is not None:
            return a >= b  # type: ignore[operator]
        if self.lt is not None:
            return a < b  # type: ignore[operator]
        return a <= b  # type: ignore[operator]


def _today(bound: Any) -> Any:
    """``$today`` compares with today's date (ISO text compares like the date): ``{field: due_date, lt: $today}``."""
    if bound == "$today":
        import datetime as dt

        return dt.date.today().isoformat()
    return bound


def _num(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    na, nb = _num(a), _num(b)
    return na is not None and nb is not None and na == nb or (a is not None and b is not None and str(a) == str(b))


class ConflictPolicy(BaseModel):
    """What happens when a field changed on two systems since they last agreed.

    ``latest_wins``: the more recent change wins. ``owner_wins``: the field's owner (``ownership``,
    else the survivorship priority) wins. ``hold``: nothing is written for that field of that record
    until a person resolves the conflict (``concord conflicts resolve`` or the dashboard).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: ConflictPolicyName = "latest_wins"
    fields: dict[str, ConflictPolicyName] = Field(default_factory=dict)

    def for_field(self, field: str) -> ConflictPolicyName:
        return self.fields.get(field, self.fields.get(field.split(".", 1)[0], self.policy))
