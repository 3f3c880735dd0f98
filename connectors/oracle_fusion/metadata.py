"""Entities from each resource's ``describe``: fields, types, writability, picklists, children."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

from concord.hub.contracts import CursorSpec, EntitySpec, FieldSpec
from concord.hub.errors import ConfigError, FatalError
from concord.connectors.oracle_fusion.config import OracleFusionConfig, ResourceConfig
from concord.connectors.oracle_fusion.vendor_errors import from_response

TYPES = {"string": "string", "integer": "integer", "number": "decimal", "date": "date", "datetime": "datetime",
         "boolean": "boolean", "clob": "text", "blob": "binary"}


def field_spec(attr: Mapping[str, Any]) -> FieldSpec:
    lov = attr.get("lov") if isinstance(attr.get("lov"), dict) else None
    values = tuple(str(v) for v in lov.get("values") or ()) if lov else ()
    allow = str(attr.get("allowChanges") or ("always" if attr.get("updatable") else "never"))
    max_len = attr.get("maxLength")
    return FieldSpec(name=str(attr["name"]), type="picklist" if values else TYPES.get(str(attr.get("type")), "other"),
                     nullable=not attr.get("mandatory", False), createable=allow in ("always", "whenNew"),
                     updateable=bool(attr.get("updatable")) and allow == "always",
                     filterable=bool(attr.get("queryable", True)), picklist=values or None,
                     max_length=int(max_len) if str(max_len or "").isdigit() else None, label=attr.get("title"))


def children_specs(resource: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    out = []
    for name, child in (resource.get("children") or {}).items():
        out.append(FieldSpec(name=name, type="array", nullable=True, filterable=False, label=child.get("title"),
                             children=tuple(field_spec(a) for a in child.get("attributes") or ())))
    return tuple(out)


def capabilities(rc: ResourceConfig, resource: Mapping[str, Any], has_cursor: bool) -> frozenset[str]:
    coll = {a.get("name") for a in (resource.get("collection") or {}).get("actions") or ()}
    item = {a.get("name") for a in (resource.get("item") or {}).get("actions") or ()}
    allowed = {"read", "bulk"}
    if has_cursor:
        allowed.add("incremental")
    if "create" in coll:
        allowed |= {"create", "upsert"}
    if "update" in item:
        allowed.add("update")
    if "delete" in item:
        allowed.add("delete")
    return frozenset(allowed & set(rc.capabilities))


def load_entity(get: Callable[[str], requests.Response], name: str, rc: ResourceConfig,
                config: OracleFusionConfig, *, system: str) -> EntitySpec:
    resp = get(f"{rc.path}/describe")
    if resp.status_code == 404:
        raise ConfigError(f"{system}: resource {name} not found at {rc.path} (describe answered 404)", key=name,
                          system=system)
    if resp.status_code >= 400:
        raise from_response(resp, system=system, reading=True)
    try:
        body = resp.json()
        resource = body["Resources"][rc.name]
    except (ValueError, KeyError, TypeError) as exc:
        raise FatalError(f"{system}: describe of {rc.path} has no Resources.{rc.name} entry "
                         f"({type(exc).__name__})", system=system) from None
    fields = tuple(field_spec(a) for a in resource.get("attributes") or ()) + children_specs(resource)
    names = {f.name for f in fields}
    if rc.key not in names:
        raise ConfigError(f"{system}: key {rc.key} of {name} is not an attribute of {rc.path}; known: "
                          f"{', '.join(sorted(names))}", key=name, system=system)
    for child in rc.expand:
        if child not in names:
            raise ConfigError(f"{system}: {name} has no child {child} to expand", key=name, system=system)
    has_cursor = bool(rc.cursor_field and rc.cursor_field in names)
    if rc.cursor_field and not has_cursor:
        raise ConfigError(f"{system}: cursor field {rc.cursor_field} is not an attribute of {name}", key=name,
                          system=system)
    cursor = CursorSpec(field=rc.cursor_field, tiebreak=rc.key, kind="datetime",
                        lookback_seconds=config.lookback_seconds) if has_cursor and rc.cursor_field else None
    return EntitySpec(name=name, primary_key=(rc.key,), cursor=cursor,
                      capabilities=capabilities(rc, resource, has_cursor),  # type: ignore[arg-type]
                      external_id_field=rc.external_id_field, max_batch=config.batch_size, fields=fields,
                      label=resource.get("title"))


def parse_json(resp: requests.Response) -> Any:
    """JSON with decimals kept as strings (no float rounding)."""
    return json.loads(resp.content or b"null", parse_float=str)
