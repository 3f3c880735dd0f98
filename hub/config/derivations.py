"""Derivations: one entity's golden records write another's (cross-entity rules), as data.

    derivations:
      - name: won_deal_to_order            # a won opportunity becomes an ERP sales order
        from: opportunity
        to: sales_order
        when: [{field: status, eq: won}]   # typed conditions (sync_rules.Condition), all must hold
        link: opportunity_ref              # derived field that holds the source's golden id
        fields:                            # derived field <- source field, or {const: value}
          account_ref: account_ref
          currency: currency
          net_amount: amount
          customer_reference: name
          order_date: close_date
          status: {const: open}
          lines: lines
        back_link: order_ref               # source field that holds the derived record's golden id
        back:                              # source field <- derived field (numbers the ERP assigns)
          erp_order_number: order_number
          order_status: status

A derived record is created once (its golden id is fixed by the derivation and the source) when
``when`` first holds, and is then kept in step with its source: the mapped fields follow every
change of the source. ``back`` fields flow from the derived record to its source (the ERP's order
number and status back onto the opportunity). The derived entity's own sync rules write it to
systems, like any golden record; ``concord plan`` shows those writes.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from concord import schemas
from concord.hub.config.sync_rules import Condition


class Constant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    const: Any


class Derivation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$", description="Names the derivation (and its lineage).")
    from_: str = Field(..., alias="from", description="Source canonical entity.")
    to: str = Field(..., description="Derived canonical entity.")
    when: tuple[Condition, ...] = Field((), description="Conditions on the source golden record for the create.")
    fields: dict[str, str | Constant] = Field(..., min_length=1, description="Derived field <- source field.")
    link: str | None = Field(None, description="Derived field that receives the source's golden id.")
    back: dict[str, str] = Field(default_factory=dict, description="Source field <- derived field.")
    back_link: str | None = Field(None, description="Source field that receives the derived golden id.")

    @property
    def system(self) -> str:
        """The lineage 'system' of values this derivation sets."""
        return f"derived:{self.name}"

    @model_validator(mode="after")
    def _fields_exist(self, info: ValidationInfo) -> "Derivation":
        src, dst = _model(self.from_, info), _model(self.to, info)
        problems = []
        for f, rule in self.fields.items():
            if f not in dst.model_fields:
                problems.append(f"{self.to} has no field {f!r}")
            if isinstance(rule, str) and rule not in src.model_fields:
                problems.append(f"{self.from_} has no field {rule!r} (fields.{f})")
        for f, rule in self.back.items():
            if f not in src.model_fields:
                problems.append(f"{self.from_} has no field {f!r} (back)")
            if rule not in dst.model_fields:
                problems.append(f"{self.to} has no field {rule!r} (back.{f})")
        if self.link and self.link not in dst.model_fields:
            problems.append(f"{self.to} has no field {self.link!r} (link)")
        if self.back_link and self.back_link not in src.model_fields:
            problems.append(f"{self.from_} has no field {self.back_link!r} (back_link)")
        if self.back and not self.link:
            problems.append("`back` needs `link` (the derived field that names its source)")
        for c in self.when:
            if c.field not in src.model_fields:
                problems.append(f"{self.from_} has no field {c.field!r} (when)")
        if self.from_ == self.to:
            problems.append("a derivation must write another entity (from and to are the same)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _model(entity: str, info: ValidationInfo | None = None) -> type[BaseModel]:
    """The entity's model: the project's extended one when the loader passes ``context={"models": ...}``."""
    models = (info.context or {}).get("models") if info is not None else None
    try:
        return (models or schemas.ENTITIES)[entity]
    except KeyError:
        raise ValueError(f"unknown canonical entity {entity!r}; known: {', '.join(sorted(schemas.ENTITIES))}") from None


class Aggregate(BaseModel):
    """One roll-up field: exactly one of sum, max, min, count, with optional conditions on the child."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    sum: str | None = None
    max: str | None = None
    min: str | None = None
    count: bool | None = None
    where: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _one(self) -> "Aggregate":
        given = [k for k in ("sum", "max", "min", "count") if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"a roll-up field needs exactly one of sum, max, min, count (got {', '.join(given) or 'none'})")
        return self

    @property
    def op(self) -> str:
        return next(k for k in ("sum", "max", "min", "count") if getattr(self, k) not in (None, False))

    @property
    def field(self) -> str | None:
        return None if self.op == "count" else getattr(self, self.op)


class Rollup(BaseModel):
    """Children's values summed up on their parent, e.g. invoices -> receivables on the account.

        rollups:
          - name: receivables
            from: invoice                 # the children
            to: account                   # the parent
            via: account_ref              # the child's field holding the parent's golden id
            fields:
              open_receivables: {sum: open_amount, where: [{field: status, in: [open, partially_paid, overdue]}]}
              overdue_receivables: {sum: open_amount, where: [{field: status, eq: overdue}]}
              last_payment_date: {max: last_payment_date}
              invoice_count: {count: true}

    A parent's roll-ups are computed again from all its children whenever one of them changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    from_: str = Field(..., alias="from")
    to: str
    via: str
    fields: dict[str, Aggregate] = Field(..., min_length=1)

    @property
    def system(self) -> str:
        return f"rollup:{self.name}"

    @model_validator(mode="after")
    def _fields_exist(self, info: ValidationInfo) -> "Rollup":
        child, parent = _model(self.from_, info), _model(self.to, info)
        problems = []
        if self.via not in child.model_fields:
            problems.append(f"{self.from_} has no field {self.via!r} (via)")
        for f, agg in self.fields.items():
            if f not in parent.model_fields:
                problems.append(f"{self.to} has no field {f!r}")
            if agg.field and agg.field not in child.model_fields:
                problems.append(f"{self.from_} has no field {agg.field!r} (fields.{f}.{agg.op})")
            problems.extend(f"{self.from_} has no field {c.field!r} (fields.{f}.where)" for c in agg.where
                            if c.field not in child.model_fields)
        if problems:
            raise ValueError("; ".join(problems))
        return self


#: The columns of the ``customer_kpi`` view a KPI rule may write (hub/warehouse/views.py; docs/analytics.md).
KPI_COLUMNS: dict[str, dict[str, str]] = {"customer_kpi": {
    "lifetime_value": "decimal", "order_count": "integer", "order_frequency": "decimal",
    "average_order_value": "decimal", "open_receivables": "decimal", "overdue_receivables": "decimal",
    "invoiced_last_90_days": "decimal", "days_sales_outstanding": "decimal", "open_order_value": "decimal",
    "credit_exposure": "decimal", "credit_utilisation": "decimal", "available_credit": "decimal"}}
#: The canonical entities whose records a view's figures are computed from (the KPI runs after them).
KPI_INPUTS: dict[str, tuple[str, ...]] = {"customer_kpi": ("account", "sales_order", "invoice")}


class Kpi(BaseModel):
    """Warehouse KPIs written onto golden account fields, so that they reach the CRM like any field.

        kpis:
          - name: account_kpis
            view: customer_kpi            # the analyst view (docs/analytics.md)
            fields:                       # account field <- view column
              lifetime_value: lifetime_value
              open_order_value: open_order_value
              credit_exposure: credit_exposure

    The figures are computed in the warehouse (the view's own SQL) on every sync cycle, after the
    last of the view's inputs this project syncs (account, sales_order, invoice) is processed, and after
    any input whose records changed (a sync of some entities only); a changed
    figure updates the golden account (lineage ``kpi:<name>``), and the account's sync rules write it to
    the CRM in the same sync. Figures that move with the calendar (overdue amounts, days sales
    outstanding) are refreshed by any scheduled sync of that entity. Target fields are usually project
    extension fields (``extensions:``) with a CRM custom field mapped to them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    view: Literal["customer_kpi"] = "customer_kpi"
    to: Literal["account"] = "account"
    fields: dict[str, str] = Field(..., min_length=1, description="Canonical field <- view column.")

    @property
    def system(self) -> str:
        return f"kpi:{self.name}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return KPI_INPUTS[self.view]

    @model_validator(mode="after")
    def _fields_exist(self, info: ValidationInfo) -> "Kpi":
        from concord.hub.canonical import model_fields_meta

        metas = model_fields_meta(_model(self.to, info))
        columns = KPI_COLUMNS[self.view]
        problems = []
        for f, col in self.fields.items():
            if col not in columns:
                problems.append(f"view {self.view} has no column {col!r} (fields.{f}); columns: {', '.join(columns)}")
                continue
            meta = metas.get(f)
            if meta is None:
                problems.append(f"{self.to} has no field {f!r} (declare it under extensions.{self.to}.fields)")
            elif meta.type not in ("decimal", "integer") or (meta.type == "integer" and columns[col] != "integer"):
                problems.append(f"{self.to}.{f} is {meta.type}, but {col} is a {columns[col]} figure "
                                f"(declare the field as type: decimal)")
        if problems:
            raise ValueError("; ".join(problems))
        return self
