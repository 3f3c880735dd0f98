"""A small, safe OData V2 EDMX model: entity types, keys, properties, navigations, entity sets.

Used by the connector (``entities()``, ``concord check``) and by the sandbox (which serves any
V2 service from its EDMX). :func:`parse_xml` is the hardened parser (defusedxml-style, on expat
directly, so it holds whatever the document's encoding): a DOCTYPE, an entity declaration or an
external entity stops the parse before anything is expanded or fetched. :func:`parse_edmx` then
checks that the document is EDMX of OData V2 (an OData V4 document is refused with what to do
instead) and ignores V4-style references and annotations that S/4HANA files carry.
:func:`load_model` is the same, raising :class:`concord.hub.errors.ConfigError` with where the document came from.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers import expat

from concord.hub.errors import ConfigError

EDMX_NS = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDMX_V4_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NAMESPACES = ("http://schemas.microsoft.com/ado/2008/09/edm", "http://schemas.microsoft.com/ado/2009/11/edm",
                  "http://schemas.microsoft.com/ado/2007/05/edm", "http://schemas.microsoft.com/ado/2006/04/edm")
SAP_NS = "http://www.sap.com/Protocols/SAPData"
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


class EdmxError(ValueError):
    """The document is not a usable OData V2 EDMX. ``reason`` says why, for callers and tests:
    ``not_xml``, ``dtd`` (DOCTYPE / entities refused), ``not_edmx``, ``odata_v4``, ``invalid``."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


#: what to tell a person whose service turned out to be OData V4
V4_ADVICE = ("the sap_odata connector speaks OData V2, the version pyodata supports. Use the V2 service of the "
             "same API instead: on S/4HANA that is the /sap/opu/odata/sap/<SERVICE>/ endpoint (for example "
             "/sap/opu/odata/sap/API_BUSINESS_PARTNER/), not /sap/opu/odata4/...; activate it in /IWFND/MAINT_SERVICE "
             "if it is missing. If the API exists only as V4, ask for OData V4 support in Concord")


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

    def has_nav_path(self, et: EntityType, path: str) -> bool:
        """Whether every step of ``a/b/...`` is a navigation property (of the type the step before leads to)."""
        for step in path.split("/"):
            nav = et.navs.get(step)
            if nav is None or nav.target not in self.entity_types:
                return False
            et = self.entity_types[nav.target]
        return True

    def set_for_type(self, type_name: str) -> EntitySet | None:
        for s in self.entity_sets.values():
            if s.type_name == type_name:
                return s
        return None


_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_MAX_BYTES = 64 * 1024 * 1024      # the real S/4 files are < 2 MB


class _Refused(Exception):
    pass


def _refuse(*_args: object) -> None:
    raise _Refused()


def parse_xml(data: bytes | str) -> ET.Element:
    """Parse XML safely: no DOCTYPE, no entity declarations, no external entities (raises :class:`EdmxError`).

    Built on expat with handlers that stop at the first DOCTYPE / ENTITY / external reference, so a
    "billion laughs" or XXE document is refused before anything is expanded, in any encoding
    (a UTF-16 document hides ``<!DOCTYPE`` from a byte search, not from the parser).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > _MAX_BYTES:
        raise EdmxError(f"document of {len(raw)} bytes is too large for $metadata", "invalid")
    if _FORBIDDEN.search(raw):
        raise EdmxError("EDMX documents with a DOCTYPE or ENTITY declaration are refused (no entity expansion)", "dtd")
    head = raw.lstrip()[:1]
    if not raw.strip():
        raise EdmxError("not XML: the document is empty", "not_xml")
    if head not in (b"<", b"\xef", b"\xff", b"\xfe", b"\x00"):
        preview = raw.lstrip()[:40].decode("utf-8", "replace")
        raise EdmxError(f"not XML: the document starts with {preview!r}", "not_xml")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    for handler in ("StartDoctypeDeclHandler", "EntityDeclHandler", "UnparsedEntityDeclHandler",
                    "ExternalEntityRefHandler", "NotationDeclHandler"):
        setattr(parser, handler, _refuse)

    def name(n: str) -> str:
        return "{" + n if "}" in n else n

    parser.StartElementHandler = lambda tag, attrs: builder.start(name(tag), {name(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
        root = builder.close()
    except _Refused:
        raise EdmxError("EDMX documents with a DOCTYPE or ENTITY declaration are refused (no entity expansion)",
                        "dtd") from None
    except expat.ExpatError as exc:
        raise EdmxError(f"not well-formed XML: {exc}", "not_xml") from None
    except AssertionError:  # pragma: no cover - TreeBuilder on a document without a root
        raise EdmxError("not well-formed XML: no root element", "not_xml") from None
    return root


def odata_version(root: ET.Element) -> str:
    """The OData version an EDMX root declares: ``"4.0"``/``"4.01"`` for V4, else its DataServiceVersion (``"2.0"``)."""
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    version = root.get("Version", "")
    if ns == EDMX_V4_NS or version.startswith("4"):
        return version or "4.0"
    dsv = root.find(f"{{{EDMX_NS}}}DataServices")
    return (dsv.get(f"{{{M_NS}}}DataServiceVersion") if dsv is not None else None) or "2.0"


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
    root = parse_xml(data)
    if root.tag.endswith("}Edmx") or root.tag == "Edmx":
        version = odata_version(root)
        if version.startswith("4"):
            raise EdmxError(f'the service is OData V4 (edmx:Edmx Version="{version}"); {V4_ADVICE}', "odata_v4")
    if root.tag != f"{{{EDMX_NS}}}Edmx":
        raise EdmxError(f"not an OData V2 EDMX document (root element {root.tag}); $metadata of an OData V2 service "
                        f"starts with <edmx:Edmx xmlns:edmx=\"{EDMX_NS}\">", "not_edmx")
    dsv = root.find(f"{{{EDMX_NS}}}DataServices")
    if dsv is None:
        raise EdmxError("EDMX has no edmx:DataServices element", "not_edmx")
    schemas = [el for el in dsv if el.tag.endswith("}Schema") and el.tag[1:].split("}")[0] in EDM_NAMESPACES]
    if not schemas:
        raise EdmxError("EDMX has no Schema in a known EDM namespace (OData V2 uses edm 2008/09)", "not_edmx")
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


def load_model(data: bytes | str, *, source: str, file: str | None = None, key: str | None = None) -> ServiceModel:
    """:func:`parse_edmx` for callers that report configuration problems: any :class:`EdmxError` becomes a
    :class:`~concord.hub.errors.ConfigError` naming ``source`` (a URL) or ``file`` (an EDMX file), with ``reason`` in
    ``details``."""
    try:
        return parse_edmx(data)
    except EdmxError as exc:
        where = "" if file else f"{source}: "
        raise ConfigError(f"{where}{exc}", file=file, key=key, code=f"edmx_{exc.reason}",
                          details={"reason": exc.reason, "source": source}) from None
