"""Entities from Zoho's metadata APIs: ``/settings/modules`` and ``/settings/fields?module=``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from concord.connectors.zoho_crm.config import STANDARD_MODULES, ZohoCrmConfig
from concord.hub.contracts import CursorSpec, EntitySpec, FieldSpec, FieldType
from concord.hub.errors import FatalError

FIELD_TYPES: dict[str, FieldType] = {
    "text": "string", "textarea": "text", "email": "email", "phone": "phone", "website": "url",
    "picklist": "picklist", "multiselectpicklist": "array", "integer": "integer", "bigint": "integer",
    "double": "decimal", "currency": "decimal", "decimal": "decimal", "percent": "decimal", "boolean": "boolean",
    "date": "date", "datetime": "datetime", "lookup": "reference", "ownerlookup": "reference",
    "userlookup": "reference", "autonumber": "string", "formula": "other", "subform": "array",
    "profileimage": "string", "fileupload": "array", "imageupload": "array", "tag": "array",
    "multiselectlookup": "array", "multiuserlookup": "array", "rollup_summary": "decimal",
}
MAX_BATCH = 100

#: GET a metadata path (relative to /crm/{version}) and return the decoded JSON (or None for 204)
Getter = Callable[[str, dict[str, str]], Any]


def field_spec(meta: dict[str, Any], children: tuple[FieldSpec, ...] | None = None) -> FieldSpec:
    name = meta.get("api_name")
    if not name:
        raise FatalError(f"Zoho field metadata without api_name: {sorted(meta)[:8]}", system="zoho_crm")
    ops = meta.get("operation_type") or {}
    read_only = bool(meta.get("read_only") or meta.get("field_read_only"))
    picks = [p.get("actual_value") for p in meta.get("pick_list_values") or [] if p.get("actual_value") not in (None, "-None-")]
    return FieldSpec(
        name=name, type=FIELD_TYPES.get(str(meta.get("data_type")), "other"),
        nullable=not meta.get("system_mandatory", False),
        createable=not read_only and ops.get("api_create", True) is not False,
        updateable=not read_only and ops.get("api_update", True) is not False,
        filterable=meta.get("filterable", True) is not False,
        picklist=tuple(picks) if meta.get("data_type") == "picklist" and picks else None,
        max_length=meta.get("length") if meta.get("data_type") in ("text", "textarea", "email", "phone", "website") else None,
        label=meta.get("display_label") or meta.get("field_label"), children=children)


class ZohoMetadata:
    """Builds (and caches) EntitySpecs; also keeps the raw field metadata the reader/writer use."""

    def __init__(self, config: ZohoCrmConfig, get: Getter) -> None:
        self.config, self._get = config, get
        self._modules: list[dict[str, Any]] | None = None
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._specs: list[EntitySpec] | None = None

    def modules(self) -> list[dict[str, Any]]:
        if self._modules is None:
            body = self._get("settings/modules", {}) or {}
            mods = body.get("modules")
            if not isinstance(mods, list):
                raise FatalError("Zoho /settings/modules answered without a 'modules' list", system="zoho_crm")
            self._modules = mods
        return self._modules

    def raw_fields(self, module: str) -> list[dict[str, Any]]:
        if module not in self._fields:
            body = self._get("settings/fields", {"module": module}) or {}
            fields = body.get("fields")
            if not isinstance(fields, list):
                raise FatalError(f"Zoho /settings/fields?module={module} answered without a 'fields' list", system="zoho_crm")
            self._fields[module] = fields
        return self._fields[module]

    def module_names(self) -> list[str]:
        by_name = {m.get("api_name"): m for m in self.modules() if m.get("api_supported", True)}
        if self.config.modules is not None:
            return [m for m in self.config.modules if m in by_name]
        names = [m for m in STANDARD_MODULES if m in by_name]
        if self.config.include_custom_modules:
            names += sorted(n for n, m in by_name.items() if m.get("generated_type") == "custom" and n not in names)
        return names

    def entity(self, module: str) -> EntitySpec:
        meta = next(m for m in self.modules() if m.get("api_name") == module)
        specs = []
        for f in self.raw_fields(module):
            children = None
            sub = (f.get("subform") or {}).get("module", {}) if isinstance(f.get("subform"), dict) else {}
            if f.get("data_type") == "subform" and sub.get("api_name"):
                children = tuple(field_spec(c) for c in self.raw_fields(sub["api_name"]))
            specs.append(field_spec(f, children))
        if not any(s.name == "id" for s in specs):
            specs.insert(0, FieldSpec(name="id", type="id", nullable=False, createable=False, updateable=False))
        caps = {"read", "incremental"}
        if meta.get("creatable", True):
            caps |= {"create", "upsert"}
        if meta.get("editable", True):
            caps |= {"update", "upsert"} if "create" in caps else {"update"}
        if meta.get("deletable", True):
            caps.add("delete")
        return EntitySpec(
            name=module, primary_key=("id",), label=meta.get("plural_label") or module,
            cursor=CursorSpec(field="Modified_Time", tiebreak="id", kind="datetime",
                              lookback_seconds=self.config.lookback_seconds),
            capabilities=frozenset(caps), external_id_field=self.config.external_id_fields.get(module),
            max_batch=MAX_BATCH, fields=tuple(specs))

    def entities(self) -> list[EntitySpec]:
        if self._specs is None:
            self._specs = [self.entity(m) for m in self.module_names()]
        return self._specs

    def readable_fields(self, spec: EntitySpec) -> list[str]:
        wanted = self.config.fields.get(spec.name)
        names = [f.name for f in spec.fields or () if f.name != "id"]
        if wanted:
            unknown = [w for w in wanted if w not in names]
            if unknown:
                from concord.hub.errors import ConfigError
                raise ConfigError(f"zoho_crm fields.{spec.name}: unknown fields {unknown}; known: {', '.join(names)}")
            names = [n for n in names if n in wanted]
        return names

    def field_types(self, module: str) -> dict[str, str]:
        return {f.get("api_name"): f.get("data_type") for f in self.raw_fields(module)}
