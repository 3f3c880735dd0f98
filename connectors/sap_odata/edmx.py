"""A small, safe OData V2 EDMX model: entity types, keys, properties, navigations, entity sets.

Used by the connector (``entities()``, ``concord check``) and by the sandbox (which serves any
V2 service from its EDMX). Parsing refuses DTDs and entity declarations (defusedxml-style: no
entity expansion, no external resources) and ignores V4-style references and annotations that
S/4HANA files carry.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

EDMX_NS = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDM_NAMESPACES = ("http://schemas.microsoft.com/ado/2008/09/edm", "http://schemas.microsoft.com/ado/2009/11/edm",
                  "http://schemas.microsoft.com/ado/2007/05/edm", "http://schemas.microsoft.com/ado/2006/04/edm")
SAP_NS = "http://www.sap.com/Protocols/SAPData"
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


class EdmxError(ValueError):
    """The document is not a usable OData V2 EDMX."""


def _sap(el: ET.Element, name: str, default: str | None = None) -> str | None:
    return el.get(f"{{{SAP_NS}}}{name}", default)


def _flag(el: ET.Element, name: str, default: bool = True) -> bool:
    v = _sap(el, name)
    return default if v is None else v.lower() == "true"


@dataclass(frozen=True)
class Property:
    name: str
    type: str                         # Edm.String, Edm.DateTime, ... or a complex type's full name
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True
    sortable: bool = True
    label: str | None = None
    display_format: str | None = None   # sap:display-format: Date, UpperCase, NonNegative
    concurrency: bool = False           # ConcurrencyMode="Fixed": feeds the ETag

    @property
    def is_date_only(self) -> bool:
        return self.type == "Edm.DateTime" and (self.display_format or "").lower() == "date"


@dataclass(frozen=True)
class NavProperty:
    name: str
    target: str                       # full name of the target entity type
    many: bool


@dataclass(frozen=True)
class ComplexType:
    name: str
    namespace: str
    properties: dict[str, Property]

    @property
    def full_name(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class EntityType:
    name: str
    namespace: str
    keys: tuple[str, ...]
    properties: dict[str, Property]
    navs: dict[str, NavProperty]
    label: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def concurrency_property(self) -> Property | None:
        for p in self.properties.values():
            if p.concurrency:
                return p
        return None


@dataclass(frozen=True)
class EntitySet:
    name: str
    type_name: str                    # full name
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    pageable: bool = True
    addressable: bool = True
    label: str | None = None


@dataclass
class ServiceModel:
    namespace: str
    entity_types: dict[str, EntityType] = field(default_factory=dict)
    complex_types: dict[str, ComplexType] = field(default_factory=dict)
    entity_sets: dict[str, EntitySet] = field(default_factory=dict)
    container: str = ""

    def type_of(self, set_name: str) -> EntityType:
        return self.entity_types[self.entity_sets[set_name].type_name]

    def set_for_type(self, type_name: str) -> EntitySet | None:
        for s in self.entity_sets.values():
            if s.type_name == type_name:
                return s
        return None


_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


def _int(v: str | None) -> int | None:
    if v is None or not v.strip().isdigit():
        return None
    return int(v)


def _prop(el: ET.Element) -> Property:
    return Property(
        name=el.get("Name", ""), type=el.get("Type", "Edm.String"),
        nullable=el.get("Nullable", "true").lower() != "false",
        max_length=_int(el.get("MaxLength")), precision=_int(el.get("Precision")), scale=_int(el.get("Scale")),
        creatable=_flag(el, "creatable"), updatable=_flag(el, "updatable"),
        filterable=_flag(el, "filterable"), sortable=_flag(el, "sortable"),
        label=_sap(el, "label"), display_format=_sap(el, "display-format"),
        concurrency=el.get("ConcurrencyMode", "").lower() == "fixed")


def parse_edmx(data: bytes | str) -> ServiceModel:
    """Parse an EDMX 1.0 / DataServiceVersion 2.0 document. Raises :class:`EdmxError`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _FORBIDDEN.search(raw[:4096]) or _FORBIDDEN.search(raw):
        raise EdmxError("EDMX documents with a DOCTYPE or ENTITY declaration are refused (no entity expansion)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise EdmxError(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{EDMX_NS}}}Edmx":
        raise EdmxError(f"not an OData V2 EDMX document (root element {root.tag})")
    dsv = root.find(f"{{{EDMX_NS}}}DataServices")
    if dsv is None:
        raise EdmxError("EDMX has no edmx:DataServices element")
    schemas = [el for el in dsv if el.tag.endswith("}Schema") and el.tag[1:].split("}")[0] in EDM_NAMESPACES]
    if not schemas:
        raise EdmxError("EDMX has no Schema in a known EDM namespace (OData V2 uses edm 2008/09)")
    model = ServiceModel(namespace=schemas[0].get("Namespace", ""))
    assoc_ends: dict[str, dict[str, tuple[str, str]]] = {}
    raw_navs: list[tuple[str, ET.Element]] = []
    for schema in schemas:
        ns = schema.get("Namespace", "")
        edm = schema.tag[1:].split("}")[0]
        q = lambda n: f"{{{edm}}}{n}"  # noqa: E731
        for el in schema.findall(q("Association")):
            ends = {e.get("Role", ""): (e.get("Type", ""), e.get("Multiplicity", "1")) for e in el.findall(q("End"))}
            assoc_ends[f"{ns}.{el.get('Name')}"] = ends
        for el in schema.findall(q("ComplexType")):
            props = {p.get("Name", ""): _prop(p) for p in el.findall(q("Property"))}
            ct = ComplexType(el.get("Name", ""), ns, props)
            model.complex_types[ct.full_name] = ct
        for el in schema.findall(q("EntityType")):
            key_el = el.find(q("Key"))
            keys = tuple(k.get("Name", "") for k in key_el.findall(q("PropertyRef"))) if key_el is not None else ()
            if not keys:
                raise EdmxError(f"entity type {ns}.{el.get('Name')} has no key")
            props = {p.get("Name", ""): _prop(p) for p in el.findall(q("Property"))}
            missing = [k for k in keys if k not in props]
            if missing:
                raise EdmxError(f"entity type {ns}.{el.get('Name')}: key {missing} is not a property")
            et = EntityType(el.get("Name", ""), ns, keys, props, {}, _sap(el, "label"))
            model.entity_types[et.full_name] = et
            for n in el.findall(q("NavigationProperty")):
                raw_navs.append((et.full_name, n))
        for cont in schema.findall(q("EntityContainer")):
            model.container = model.container or cont.get("Name", "")
            for s in cont.findall(q("EntitySet")):
                es = EntitySet(name=s.get("Name", ""), type_name=s.get("EntityType", ""),
                               creatable=_flag(s, "creatable"), updatable=_flag(s, "updatable"),
                               deletable=_flag(s, "deletable"), pageable=_flag(s, "pageable"),
                               addressable=_flag(s, "addressable"), label=_sap(s, "label"))
                model.entity_sets[es.name] = es
    for type_name, n in raw_navs:
        ends = assoc_ends.get(n.get("Relationship", ""), {})
        target, mult = ends.get(n.get("ToRole", ""), ("", "1"))
        if not target:
            raise EdmxError(f"{type_name}: navigation {n.get('Name')} names an unknown association role")
        model.entity_types[type_name].navs[n.get("Name", "")] = NavProperty(n.get("Name", ""), target, mult == "*")
    for s in model.entity_sets.values():
        if s.type_name not in model.entity_types:
            raise EdmxError(f"entity set {s.name} has unknown type {s.type_name}")
    return model
