"""Entities from the vendor's metadata: /cgi/crm/v2/object/list and /cgi/crm/v2/object/describe."""
from __future__ import annotations

from typing import Any

from concord.connectors.fxiaoke.client import FxiaokeClient
from concord.connectors.fxiaoke.codec import Codec
from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.hub.contracts import CursorSpec, EntitySpec, FieldSpec
from concord.hub.errors import ConfigError, FatalError

#: Fxiaoke field type -> Concord field type
TYPE_MAP = {
    "text": "string", "long_text": "text", "html_rich_text": "text", "select_one": "picklist", "select_many": "array",
    "number": "decimal", "currency": "decimal", "percentile": "decimal", "date": "date", "date_time": "datetime",
    "time": "time", "email": "email", "phone_number": "phone", "url": "url", "true_or_false": "boolean",
    "employee": "array", "employee_many": "array", "department": "array", "department_many": "array",
    "object_reference": "reference", "master_detail": "reference", "object_reference_many": "array",
    "auto_number": "string", "formula": "other", "count": "other", "quote": "other", "record_type": "string",
    "image": "array", "file_attachment": "array", "signature": "array", "tag": "array", "array": "array",
    "group": "object", "location": "string",
}
READ_ONLY_TYPES = frozenset({"auto_number", "formula", "count", "quote"})
CURSOR_FIELD = "last_modified_time"
#: master object -> (detail object, the detail's master_detail field)
DETAILS = {"SalesOrderObj": ("SalesOrderProductObj", "order_id"),
           "NewOpportunityObj": ("NewOpportunityLinesObj", "new_opportunity_id")}


def field_spec(fd: dict[str, Any]) -> FieldSpec:
    name, typ = fd.get("api_name"), fd.get("type", "text")
    if not name:
        raise FatalError(f"describe returned a field without api_name: {sorted(fd)}")
    system = fd.get("define_type") == "system" or name in ("_id", CURSOR_FIELD)
    writable = not system and typ not in READ_ONLY_TYPES
    opts = fd.get("options")
    return FieldSpec(
        name=name, type="id" if name == "_id" else TYPE_MAP.get(typ, "other"),  # type: ignore[arg-type]
        nullable=not fd.get("is_required", False), createable=writable, updateable=writable,
        filterable=typ not in ("image", "file_attachment", "signature"),
        picklist=tuple(str(o.get("value")) for o in opts) if isinstance(opts, list) and typ == "select_one" else None,
        max_length=fd.get("max_length"), label=fd.get("label"))


def entity_spec(describe: dict[str, Any], config: FxiaokeConfig,
                detail: dict[str, Any] | None = None) -> EntitySpec:
    api = describe.get("api_name")
    fields_raw = describe.get("fields")
    if not api or not isinstance(fields_raw, dict):
        raise FatalError(f"describe answer without api_name/fields: {sorted(describe)}")
    fields = [field_spec(fd) for fd in fields_raw.values()]
    if detail is not None:
        children = tuple(field_spec(fd) for fd in detail["fields"].values())
        fields.append(FieldSpec(name=detail["api_name"], type="array", createable=True, updateable=False,
                                filterable=False, label=detail.get("display_name"), children=children))
    return EntitySpec(
        name=api, primary_key=("_id",), label=describe.get("display_name"),
        cursor=CursorSpec(field=CURSOR_FIELD, tiebreak="_id", kind="datetime",
                          lookback_seconds=config.lookback_seconds),
        capabilities=frozenset({"read", "incremental", "create", "update", "delete"}),
        external_id_field=config.external_id_fields.get(api), max_batch=1, fields=tuple(fields))


class Metadata:
    """Object names and describes, fetched once per connector instance."""

    def __init__(self, client: FxiaokeClient, config: FxiaokeConfig) -> None:
        self.client, self.config = client, config
        self._specs: list[EntitySpec] | None = None
        self.describes: dict[str, dict[str, Any]] = {}

    def object_names(self) -> list[str]:
        answer = self.client.call("/cgi/crm/v2/object/list", {"includeNull": False})
        objects = (answer.get("data") or {}).get("objects") or []
        active = {o.get("describeApiName") for o in objects if o.get("isActive", True)}
        missing = [o for o in self.config.objects if o not in active]
        if missing:
            raise ConfigError(f"fxiaoke: objects {', '.join(missing)} are not enabled for this tenant; "
                              f"available: {', '.join(sorted(a for a in active if a))}")
        names = list(self.config.objects)
        if self.config.discover_custom_objects:
            names += sorted(a for a in active if a and a.endswith("__c") and a not in names)
        return names

    def describe(self, api_name: str) -> dict[str, Any]:
        if api_name not in self.describes:
            answer = self.client.call("/cgi/crm/v2/object/describe",
                                      {"includeDetail": False, "data": {"apiName": api_name}})
            d = (answer.get("data") or {}).get("describe")
            if not isinstance(d, dict):
                raise FatalError(f"fxiaoke describe {api_name}: answer has no data.describe")
            self.describes[api_name] = d
        return self.describes[api_name]

    def specs(self) -> list[EntitySpec]:
        if self._specs is None:
            names = self.object_names()
            specs = []
            for name in names:
                detail = None
                if self.config.embed_details and name in DETAILS and DETAILS[name][0] in names:
                    detail = self.describe(DETAILS[name][0])
                specs.append(entity_spec(self.describe(name), self.config, detail))
            self._specs = specs
        return self._specs

    def codec(self, api_name: str) -> Codec:
        details = {}
        if self.config.embed_details and api_name in DETAILS:
            details[DETAILS[api_name][0]] = Codec(self.describe(DETAILS[api_name][0]))
        return Codec(self.describe(api_name), details)
