"""EntitySpecs from a service's EDMX model: keys, fields, writability, cursor fields, capabilities."""
from __future__ import annotations

from dataclasses import dataclass

from concord.connectors.sap_odata.edmx import EntityType, Property, ServiceModel
from concord.hub.contracts import Capability, CursorSpec, EntitySpec, FieldSpec, FieldType

#: cursor kinds: "offset" = one Edm.DateTimeOffset field; "date_time" = Edm.DateTime date + Edm.Time
BP_CURSOR = "LastChangeDate+LastChangeTime"


def field_type(p: Property) -> FieldType:
    t = p.type
    if t == "Edm.DateTime":
        return "date" if p.is_date_only else "datetime"
    if t == "Edm.DateTimeOffset":
        return "datetime"
    if t == "Edm.Time":
        return "time"
    if t in ("Edm.Decimal", "Edm.Double", "Edm.Single"):
        return "decimal"
    if t in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
        return "integer"
    if t == "Edm.Boolean":
        return "boolean"
    if t == "Edm.Guid":
        return "id"
    if t == "Edm.Binary":
        return "binary"
    if t == "Edm.String":
        return "string"
    return "object"


def _field(p: Property, keys: tuple[str, ...], set_creatable: bool, set_updatable: bool) -> FieldSpec:
    return FieldSpec(name=p.name, type=field_type(p), nullable=p.nullable and p.name not in keys,
                     createable=set_creatable and p.creatable, updateable=set_updatable and p.updatable and p.name not in keys,
                     filterable=p.filterable, max_length=p.max_length, label=p.label)


def type_fields(model: ServiceModel, et: EntityType, depth: int = 0) -> tuple[FieldSpec, ...]:
    es = model.set_for_type(et.full_name)
    c, u = (es.creatable, es.updatable) if es else (True, True)
    c = c or depth > 0      # through a navigation a row is created by deep insert (A_Customer in a BP create)
    out = [_field(p, et.keys, c, u) for p in et.properties.values()]
    if depth < 2:       # BP -> address -> phone numbers: what a deep insert and a nested $expand reach
        for nav in et.navs.values():
            target = model.entity_types.get(nav.target)
            if target is None:
                continue
            children = type_fields(model, target, depth + 1)
            if nav.many:
                results = FieldSpec(name="results", type="array", children=children)
                out.append(FieldSpec(name=nav.name, type="object", children=(results,), label=f"-> {target.name}"))
            else:
                out.append(FieldSpec(name=nav.name, type="object", children=children, label=f"-> {target.name}"))
    return tuple(out)


@dataclass(frozen=True)
class CursorPlan:
    kind: str                 # "offset" | "date_time"
    fields: tuple[str, ...]   # ("LastChangeDateTime",) or ("LastChangeDate", "LastChangeTime")


def cursor_plan(et: EntityType) -> CursorPlan | None:
    props = et.properties
    p = props.get("LastChangeDateTime")
    if p is not None and p.type == "Edm.DateTimeOffset" and p.filterable:
        return CursorPlan("offset", ("LastChangeDateTime",))
    d, t = props.get("LastChangeDate"), props.get("LastChangeTime")
    if d is not None and t is not None and d.type == "Edm.DateTime" and t.type == "Edm.Time" and d.filterable and t.filterable:
        return CursorPlan("date_time", ("LastChangeDate", "LastChangeTime"))
    return None


def entity_spec(model: ServiceModel, set_name: str, *, batch_size: int, lookback: float) -> EntitySpec:
    es = model.entity_sets[set_name]
    et = model.entity_types[es.type_name]
    plan = cursor_plan(et)
    caps: set[Capability] = {"read"}
    cursor = None
    if plan is not None:
        caps.add("incremental")
        cursor = CursorSpec(field=plan.fields[0] if plan.kind == "offset" else BP_CURSOR,
                            tiebreak="|".join(et.keys), kind="datetime", lookback_seconds=lookback)
    if es.creatable:
        caps.add("create")
    if es.updatable:
        caps.add("update")
    if es.deletable:
        caps.add("delete")
    if caps & {"create", "update", "delete"}:
        caps.add("bulk")
    return EntitySpec(name=set_name, primary_key=et.keys, cursor=cursor, capabilities=frozenset(caps),
                      external_id_field=None, max_batch=batch_size, fields=type_fields(model, et),
                      label=es.label or et.label)
