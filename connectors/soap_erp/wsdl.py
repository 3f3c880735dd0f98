"""Load a page-style WSDL safely with zeep and describe its record type.

The WSDL is fetched once (file path or URL, through the shared session), parsed
with DTDs, entities and external references forbidden (an XML bomb or an XXE
is refused, never expanded), and handed to zeep. :class:`PageModel` is what the
connector and the sandbox need to know about one page service: the record
type and its fields (with XSD types and enumerations), the filterable fields,
and the parameter names of each operation in the operation map.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import requests
import zeep
from lxml import etree
from zeep.loader import parse_xml
from zeep.wsdl import Document

from concord.hub.contracts import FieldSpec
from concord.hub.errors import ConfigError
from concord.connectors.soap_erp.keys import PageKey
from concord.connectors.soap_erp.opmap import OperationMap

XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"

#: zeep's parser settings everywhere in this package: no DTD, no entity, no transitive fetch.
SECURE = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                       xml_huge_tree=False)

_XSD_INT = {"int", "integer", "long", "short", "unsignedInt", "unsignedShort"}
_XSD_TO_FIELD = {"string": "string", "decimal": "decimal", "double": "decimal", "float": "decimal",
                 "int": "integer", "integer": "integer", "long": "integer", "short": "integer",
                 "boolean": "boolean", "date": "date", "dateTime": "datetime", "time": "time",
                 "base64Binary": "binary", "guid": "id"}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    xsd: str                       # XSD local type name, "enum" for an enumeration, "part" for a subpage
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PartInfo:
    """A part (subpage) of a page: ``SalesLines`` holds ``Sales_Order_Line`` elements with these fields."""

    name: str                      # the record's element, e.g. SalesLines
    line_element: str              # the repeated element inside it, e.g. Sales_Order_Line
    fields: dict[str, FieldInfo]   # the line's fields in WSDL order (Key first)


@dataclass
class PageModel:
    """What one page service looks like, read from its WSDL and operation map."""

    opmap: OperationMap
    binding: str                       # binding QName text
    address: str | None                # the WSDL's own service address
    tns: str
    record_type: str                   # local name, e.g. "Customer"
    fields: dict[str, FieldInfo]       # in WSDL order
    filterable: tuple[str, ...]
    list_param: str | None             # CreateMultiple's list parameter, e.g. "Customer_List"
    record_param: str                  # the record element name, e.g. "Customer"
    operations: tuple[str, ...]
    key: PageKey                       # the primary key fields, in key order, typed
    parts: dict[str, PartInfo] = field(default_factory=dict)   # subpages (order lines), by element name

    @property
    def source_id_field(self) -> str | None:
        """The field that carries the encoded source id on records read (composite keys only)."""
        return self.opmap.fields.source_id if self.key.composite else None

    @property
    def primary_key(self) -> tuple[str, ...]:
        return (self.source_id_field,) if self.source_id_field else self.key.names

    def field_specs(self) -> tuple[FieldSpec, ...]:
        roles = self.opmap.fields
        out = []
        for f in self.fields.values():
            if f.name in self.parts:
                out.append(self._part_spec(self.parts[f.name]))
                continue
            ftype = "picklist" if f.enum else _XSD_TO_FIELD.get(f.xsd, "string")
            read_only = f.name in roles.read_only or f.name == roles.version_key
            is_key = f.name in self.key.names
            out.append(FieldSpec(
                name=f.name, type=ftype, nullable=not is_key,
                createable=not read_only, updateable=not read_only and not is_key and f.name not in roles.immutable,
                filterable=f.name in self.filterable, picklist=f.enum,
                label=f.name.replace("_", " ")))
        for name, r in self.opmap.rollups.items():
            out.append(FieldSpec(name=name, type="decimal" if r.sum else "picklist", picklist=r.values,
                                 createable=False, updateable=False, filterable=False,
                                 label=f"{name.replace('_', ' ')} (computed by Concord from "
                                       f"{r.part or f'{r.quantity} and {r.remaining}'})"))
        if self.source_id_field:
            out.append(FieldSpec(name=self.source_id_field, type="id", nullable=False, createable=False,
                                 updateable=False, filterable=False,
                                 label="Source id (" + ", ".join(self.key.names) + ")"))
        return tuple(out)

    def _part_spec(self, part: PartInfo) -> FieldSpec:
        """A part as an object holding an array of lines (``SalesLines.Sales_Order_Line[*].No``). Lines are
        created with their document; updating lines is not supported (see write.py), so nothing is updateable."""
        conf = self.opmap.parts.get(part.name)
        read_only = set(conf.read_only) if conf else {"Key"}
        lines = [FieldSpec(name=f.name, type="picklist" if f.enum else _XSD_TO_FIELD.get(f.xsd, "string"),
                           picklist=f.enum, createable=f.name not in read_only, updateable=False, filterable=False,
                           label=f.name.replace("_", " ")) for f in part.fields.values()]
        if conf and conf.position_field:
            lines.append(FieldSpec(name=conf.position_field, type="integer", createable=False, updateable=False,
                                   filterable=False, label="Position of the line (computed by Concord)"))
        return FieldSpec(name=part.name, type="object", createable=True, updateable=False, filterable=False,
                         label=part.name, children=(FieldSpec(name=part.line_element, type="array", createable=True,
                                                              updateable=False, filterable=False,
                                                              label=part.line_element, children=tuple(lines)),))


def _part(name: str, el: Any, enums: dict[str, tuple[str, ...]]) -> PartInfo | None:
    """The part behind a record element whose type is a ``<Line>_List`` of one repeated line element."""
    inner = getattr(el.type, "elements", None)
    if el.type.qname is None or el.type.qname.namespace == XSD or not inner or len(inner) != 1:
        return None
    line_name, line_el = inner[0]
    if getattr(line_el, "max_occurs", 1) != "unbounded" or not getattr(line_el.type, "elements", None):
        return None
    fields = {}
    for fname, fel in line_el.type.elements:
        local = fel.type.qname.localname if fel.type.qname is not None else "string"
        ns = fel.type.qname.namespace if fel.type.qname is not None else XSD
        fields[fname] = FieldInfo(fname, "enum", enums[local]) if ns != XSD and local in enums else FieldInfo(fname, local)
    return PartInfo(name, line_name, fields)


def load_wsdl_bytes(location: str, transport: zeep.Transport) -> bytes:
    """The WSDL's bytes from a file path or an http(s)/file URL (one GET through the shared session)."""
    try:
        return transport.load(location)
    except requests.RequestException:
        raise                                   # HTTP failures are classified by the caller
    except FileNotFoundError:
        raise ConfigError(f"WSDL file not found: {location}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read WSDL {location}: {exc.strerror or exc}") from None


def build_client(wsdl_bytes: bytes, location: str, transport: zeep.Transport) -> zeep.Client:
    """A zeep client over WSDL bytes already fetched, with the secure settings."""
    doc = Document(io.BytesIO(wsdl_bytes), transport, base=location, settings=SECURE)
    return zeep.Client(doc, transport=transport, settings=SECURE)


def describe_page(client: zeep.Client, wsdl_bytes: bytes, opmap: OperationMap, binding: str | None = None) -> PageModel:
    """Introspect the record type, its fields and the operation parameters. ConfigError when they do not fit."""
    root = parse_xml(wsdl_bytes, client.transport, settings=SECURE)
    bindings = client.wsdl.bindings
    if not bindings:
        raise ConfigError("the WSDL declares no binding")
    if binding is None:
        bname = next(iter(bindings))
    else:
        matches = [b for b in bindings if b == binding or etree.QName(b).localname == binding]
        if not matches:
            raise ConfigError(f"binding {binding!r} not in the WSDL; known: {', '.join(map(str, bindings))}")
        bname = matches[0]
    bobj = bindings[bname]
    ops = bobj._operations  # zeep exposes no public accessor for a binding's operations
    missing = [o for o in opmap.operations.model_dump().values() if o and o not in ops]
    if missing:
        raise ConfigError(f"operation map {opmap.source}: operations {', '.join(missing)} are not in the WSDL; "
                          f"it has {', '.join(ops)}")
    tns = etree.QName(bname).namespace or ""
    rec_elem = _record_element(ops, opmap)
    rtype = rec_elem.type
    enums = _enumerations(root)
    fields: dict[str, FieldInfo] = {}
    parts: dict[str, PartInfo] = {}
    for name, el in rtype.elements:
        part = _part(name, el, enums)
        if part is not None:
            parts[name] = part
            fields[name] = FieldInfo(name, "part")
            continue
        local = el.type.qname.localname if el.type.qname is not None else "string"
        ns = el.type.qname.namespace if el.type.qname is not None else XSD
        if ns != XSD and local in enums:
            fields[name] = FieldInfo(name, "enum", enums[local])
        else:
            fields[name] = FieldInfo(name, local)
    roles = opmap.fields
    for role, fname in [("key", k) for k in roles.key_names] + [("version_key", roles.version_key)]:
        if fname not in fields:
            raise ConfigError(f"operation map {opmap.source}: fields.{role} {fname!r} is not a field of "
                              f"{rtype.name}; fields: {', '.join(fields)}")
    if roles.source_id in fields and len(roles.key) > 1:
        raise ConfigError(f"operation map {opmap.source}: fields.source_id {roles.source_id!r} is a field of "
                          f"{rtype.name}; choose another name")
    for k in roles.key:
        wsdl_type = _key_type(fields[k.name])
        if wsdl_type != k.type:
            raise ConfigError(f"operation map {opmap.source}: key field {k.name} is declared {k.type} but the WSDL "
                              f"types it {fields[k.name].xsd} ({wsdl_type})")
    if opmap.operations.read:
        params = tuple(n for n, _ in ops[opmap.operations.read].input.body.type.elements)
        if params != roles.key_names:
            raise ConfigError(f"operation map {opmap.source}: key is {', '.join(roles.key_names)} but the WSDL's "
                              f"{opmap.operations.read} takes {', '.join(params) or 'nothing'}; NAV's Read takes "
                              f"the page's key fields in key order")
    for pname in opmap.parts:
        if pname not in parts:
            raise ConfigError(f"operation map {opmap.source}: parts.{pname} is not a part of {rtype.name}; "
                              f"parts: {', '.join(parts) or 'none'}")
    for rname, r in opmap.rollups.items():
        if r.part is None:
            used = [r.quantity, r.remaining]
            if any(f not in fields for f in used) or rname in fields:
                raise ConfigError(f"operation map {opmap.source}: rollups.{rname} needs the fields "
                                  f"{', '.join(str(f) for f in used)} of {rtype.name}, and a name that is not a "
                                  f"page field")
            continue
        line_fields = parts[r.part].fields if r.part in parts else None
        used = [f for f in (r.sum, r.quantity, r.done) if f]
        if line_fields is None or any(f not in line_fields for f in used) or rname in fields:
            raise ConfigError(f"operation map {opmap.source}: rollups.{rname} needs a part {r.part!r} with the "
                              f"line fields {', '.join(used)}, and a name that is not a page field")
    if opmap.change_date and opmap.change_date.field not in fields:
        raise ConfigError(f"operation map {opmap.source}: change_date.field {opmap.change_date.field!r} "
                          f"is not a field of {rtype.name}")
    filterable = _filterable(ops[opmap.operations.list], opmap, enums) or tuple(fields)
    list_param = None
    if opmap.operations.create_many:
        params = ops[opmap.operations.create_many].input.body.type.elements
        list_param = params[0][0] if params else None
    address = None
    for svc in client.wsdl.services.values():
        for port in svc.ports.values():
            if port.binding.name == bobj.name:
                address = port.binding_options.get("address")
    return PageModel(opmap=opmap, binding=str(bname), address=address, tns=tns, record_type=rtype.name or rec_elem.name,
                     fields=fields, filterable=filterable, list_param=list_param, record_param=rec_elem.name,
                     operations=tuple(ops), key=PageKey(roles.key_names, tuple(k.type for k in roles.key)),
                     parts=parts)


def record_type_of(client: zeep.Client, opmap: OperationMap) -> str | None:
    """The record type's name of a page WSDL (the element the ``read`` operation returns), or None."""
    try:
        binding = next(iter(client.wsdl.bindings.values()))
        op = binding._operations[opmap.operations.read]   # zeep has no public accessor for a binding's operations
        return op.output.body.type.elements[0][1].type.name
    except (StopIteration, KeyError, IndexError, AttributeError):
        return None


def _key_type(info: FieldInfo) -> str:
    if info.xsd in _XSD_INT:
        return "int"
    if info.xsd == "date":
        return "date"
    return "string"


def adapt_operation_map(client: zeep.Client, opmap: OperationMap, binding: str | None = None) -> OperationMap:
    """The operation map fitted to one page WSDL: its key from the ``read`` operation's parameters
    (NAV's Read takes the key fields), typed from the record type; ``change_date`` dropped when the
    record has no such field. The sandbox serves any page WSDL this way."""
    bindings = client.wsdl.bindings
    if not bindings:
        raise ConfigError("the WSDL declares no binding")
    bname = binding if binding in bindings else next(iter(bindings))
    ops = bindings[bname]._operations
    read = opmap.operations.read
    if not read or read not in ops:
        return opmap
    rec = _record_element(ops, opmap).type
    types = {name: el.type.qname.localname if el.type.qname is not None else "string" for name, el in rec.elements}
    key = []
    for name, _el in ops[read].input.body.type.elements:
        xsd = types.get(name, "string")
        key.append({"name": name, "type": _key_type(FieldInfo(name, xsd))})
    data = opmap.model_dump(exclude={"source"})
    data["source"] = opmap.source
    data["fields"] = {k: v for k, v in data["fields"].items() if k != "id"}
    data["fields"]["key"] = key
    data["fields"]["immutable"] = [f for f in data["fields"]["immutable"] if f in types]
    if opmap.change_date and opmap.change_date.field not in types:
        data["change_date"] = None
    return OperationMap.model_validate(data)


def _record_element(ops: dict[str, Any], opmap: OperationMap) -> Any:
    o = opmap.operations
    if o.read:
        elems = ops[o.read].output.body.type.elements
    elif o.create:
        elems = ops[o.create].input.body.type.elements
    else:
        raise ConfigError(f"operation map {opmap.source}: needs a `read` or a `create` operation to find the record type")
    if not elems:
        raise ConfigError("the read/create operation carries no record element")
    el = elems[0][1]
    if opmap.record != "auto" and el.type.name != opmap.record:
        raise ConfigError(f"operation map {opmap.source}: record {opmap.record!r} but the WSDL says {el.type.name!r}")
    return el


def _enumerations(root: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for st in root.iter(f"{{{XSD}}}simpleType"):
        name = st.get("name")
        values = tuple(e.get("value") for e in st.iter(f"{{{XSD}}}enumeration"))
        if name and values:
            out[name] = values
    return out


def _filterable(list_op: Any, opmap: OperationMap, enums: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    p = opmap.paging
    for name, el in list_op.input.body.type.elements:
        if name != p.filter_param:
            continue
        for fname, fel in getattr(el.type, "elements", []):
            if fname == p.filter_field and fel.type.qname is not None:
                return enums.get(fel.type.qname.localname, ())
    return ()
