"""A SOAP 1.1 endpoint generated from a page-style WSDL (document/literal, as NAV serves it).

Requests are parsed with the same hardened parser as the client (a DTD in a
request is refused), decoded with zeep's own schema objects from the WSDL, and
answers are rendered with them, so the wire format follows the WSDL exactly.
Every failure is a SOAP 1.1 fault (``faultcode``/``faultstring``) with HTTP 500 and
``text/xml``, in the shape NAV sends; that includes a request the sandbox cannot
parse and a bug in the sandbox itself. Writes are validated and their answer
rendered before anything is stored, so a request answered with a fault never
leaves a record behind.
"""
from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import zeep
from lxml import etree
from zeep.exceptions import DTDForbidden, EntitiesForbidden, XMLSyntaxError
from zeep.helpers import serialize_object
from zeep.loader import parse_xml

from concord.connectors.soap_erp.sandbox.store import NAV_EXC, NavFault, PageStore, Staged
from concord.connectors.soap_erp.wsdl import SECURE, PageModel
from concord.hub.sandbox import Request, Response

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XML_TYPE = "text/xml; charset=utf-8"


def fault_response(code: str, message: str, status: int = 500) -> Response:
    """A SOAP 1.1 Fault the way NAV writes it (faultcode in the ``urn:microsoft-dynamics-schemas/error`` ns)."""
    msg = escape(message)
    body = (f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><s:Fault>'
            f'<faultcode xmlns:a="urn:microsoft-dynamics-schemas/error">a:{escape(code)}</faultcode>'
            f'<faultstring xml:lang="en-US">{msg}</faultstring>'
            f'<detail><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">{msg}</string></detail>'
            f'</s:Fault></s:Body></s:Envelope>')
    return Response(status, body.encode("utf-8"), {"Content-Type": XML_TYPE})


class PageEndpoint:
    """Answers every operation of one page service against a :class:`PageStore`."""

    def __init__(self, client: zeep.Client, page: PageModel, store: PageStore, faults: Any) -> None:
        self.client, self.page, self.store, self.faults = client, page, store, faults
        ops = page.opmap.operations
        self.roles = {v: k for k, v in ops.model_dump().items() if v}
        self.roles.setdefault("ReadByRecId", "read_by_rec_id")
        self.roles.setdefault("GetRecIdFromKey", "get_rec_id")

    def handle(self, req: Request) -> Response:
        try:
            body = self._body(req)
            local = etree.QName(body).localname
            action = (req.headers.get("SOAPAction") or "").strip('"')
            if action and action != f"{self.page.tns}:{local}":
                raise NavFault("ActionNotSupported", f"The SOAP action {action!r} does not match the body "
                               f"element {local!r}.")
            if local not in self.page.operations:
                raise NavFault("ActionNotSupported", f"The operation {local} is not supported by this page.")
            element = self.client.get_element(etree.QName(self.page.tns, local).text)
            try:
                args = serialize_object(element.parse(body, self.client.wsdl.types), target_cls=dict)
            except Exception as exc:  # zeep: bad value for the XSD type
                raise NavFault("System.Runtime.Serialization.SerializationException",
                               f"The formatter threw an exception while deserializing the message: "
                               f"{type(exc).__name__}: {exc}") from None
            return self._answer(local, args or {})
        except NavFault as f:
            return fault_response(f.code, f.message, f.status)
        except Exception as exc:  # a sandbox bug is still a SOAP fault, never a bare HTTP 500
            return fault_response("System.InvalidOperationException",
                                  f"The service could not process the request: {type(exc).__name__}: {exc}")

    def _answer(self, op: str, args: dict[str, Any]) -> Response:
        """Dispatch and render. Writes are staged, rendered, and committed only when rendering worked."""
        with self.store.lock:
            result, staged = self._dispatch(op, args)
            try:
                response = self._render(op + "_Result", result)
            except Exception as exc:
                raise NavFault("System.Runtime.Serialization.SerializationException",
                               f"The answer of {op} could not be written: {type(exc).__name__}: {exc}") from None
            if staged is not None:
                staged.commit()
            return response

    # ---- parsing -----------------------------------------------------------------------------
    def _body(self, req: Request) -> Any:
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "text/xml":
            raise NavFault("System.ServiceModel.ProtocolException",
                           f"Content Type {ctype or '(none)'} was not the expected type 'text/xml; charset=utf-8'.")
        try:
            doc = parse_xml(req.body, None, settings=SECURE)
        except (DTDForbidden, EntitiesForbidden):
            raise NavFault("System.Xml.XmlException", "For security reasons DTD is prohibited in this XML document.") \
                from None
        except XMLSyntaxError as exc:
            raise NavFault("System.Xml.XmlException", f"The message is not well-formed XML: {exc}") from None
        body = doc.find(f"{{{SOAP_ENV}}}Body")
        if doc.tag != f"{{{SOAP_ENV}}}Envelope" or body is None or len(body) == 0:
            raise NavFault("System.ServiceModel.ProtocolException", "The message is not a SOAP 1.1 envelope.")
        return body[0]

    def _render(self, result_element: str, value: dict[str, Any]) -> Response:
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"Soap": SOAP_ENV})
        body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
        element = self.client.get_element(etree.QName(self.page.tns, result_element).text)
        element.render(body, value)
        etree.cleanup_namespaces(env, top_nsmap={"Soap": SOAP_ENV})
        return Response(200, etree.tostring(env, xml_declaration=False, encoding="utf-8"), {"Content-Type": XML_TYPE})

    # ---- operations --------------------------------------------------------------------------
    def _dispatch(self, op: str, args: dict[str, Any]) -> tuple[dict[str, Any], Staged | None]:
        role = self.roles.get(op)
        rp, lp = self.page.record_param, self.page.list_param
        p = self.page.opmap.paging
        st = self.store
        if role == "list":
            size = int(args.get(p.size_param) or 0)
            rows = st.read_multiple(args.get(p.filter_param) or [], args.get(p.bookmark_param), size)
            inner = next(iter(self._elements(op + "_Result")))
            return ({inner: {rp: rows}} if rows else {}), None
        if role == "read":                       # NAV's Read takes each key field as a parameter
            missing = [n for n in st.key.names if args.get(n) is None]
            if missing:
                raise NavFault(NAV_EXC + "NavCSideException",
                               f"{op} needs the key field(s) {', '.join(missing)} of the {st.record_type} page.")
            row = st.get(st.ident(args))
            return ({rp: row} if row else {}), None
        if role == "read_by_rec_id":
            sid = str(args.get("recId") or "").split(":", 1)[-1].strip()
            row = st.get(sid)
            return ({rp: row} if row else {}), None
        if role == "get_rec_id":
            ident, _ = st.parse_key(args.get("Key"))
            return {"GetRecIdFromKey_Result": f"{st.record_type}: {st.source_id(ident)}"}, None
        if role == "is_updated":
            ident, version = st.parse_key(args.get("Key"))
            row = st.get(ident)
            if row is None:
                raise NavFault(NAV_EXC + "NavCSideRecordNotFoundException",
                               f"The {st.record_type} does not exist. Identification fields and values: "
                               f"{st.ident_text(ident)}")
            return {"IsUpdated_Result": row[st.key_field] != args.get("Key")}, None
        if role in ("create", "update"):
            stage = st.stage_create if role == "create" else st.stage_update
            staged = stage([args.get(rp) or {}], fail=self._fail)
            return {rp: staged.rows[0]}, staged
        if role in ("create_many", "update_many"):
            stage = st.stage_create if role == "create_many" else st.stage_update
            records = ((args.get(lp) or {}).get(rp)) or []
            staged = stage(records, fail=self._fail)
            return {lp: {rp: staged.rows}}, staged
        if role == "delete":
            return {"Delete_Result": st.delete(args.get(st.key_field) or "")}, None
        raise NavFault("ActionNotSupported", f"The operation {op} is not supported by the sandbox.")

    def _elements(self, name: str) -> list[str]:
        el = self.client.get_element(etree.QName(self.page.tns, name).text)
        return [n for n, _ in el.type.elements]

    def _fail(self, _values: dict[str, Any]) -> bool:
        return self.faults.fail_record()


