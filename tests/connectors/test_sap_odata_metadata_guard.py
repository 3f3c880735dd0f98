"""$metadata guard: the hardened parser runs before pyodata; OData V4, non-XML, non-EDMX and DTDs are ConfigErrors.

Holds for the connector (metadata from the server, or from ``metadata_files``) and for the sandbox started
with an EDMX file.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
from concord.connectors.sap_odata.edmx import EdmxError, odata_version, parse_edmx, parse_xml
from concord.connectors.sap_odata.sandbox import OWN_EDMX, start
from concord.hub.contracts import ConnectorContext
from concord.hub.errors import ConfigError
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World

V4_EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="com.sap.gateway.srvd_a2x.api_business_partner.v0001" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="A_BusinessPartnerType">
        <Key><PropertyRef Name="BusinessPartner"/></Key>
        <Property Name="BusinessPartner" Type="Edm.String" Nullable="false" MaxLength="10"/>
        <Property Name="LastChangeDateTime" Type="Edm.DateTimeOffset" Precision="7"/>
      </EntityType>
      <EntityContainer Name="Container">
        <EntitySet Name="A_BusinessPartner" EntityType="com.sap.gateway.srvd_a2x.api_business_partner.v0001.A_BusinessPartnerType"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""
V401_NO_NS = b'<Edmx Version="4.01"><DataServices/></Edmx>'
BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                   for i in range(1, 10))
        + b']>\n<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">&lol9;</edmx:Edmx>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">&xxe;</edmx:Edmx>')


# ---- the parser on its own -----------------------------------------------------------------------
def test_v4_is_detected_and_refused_with_advice() -> None:
    assert odata_version(parse_xml(V4_EDMX)) == "4.0"
    with pytest.raises(EdmxError) as exc:
        parse_edmx(V4_EDMX)
    assert exc.value.reason == "odata_v4"
    msg = str(exc.value)
    assert "OData V4" in msg and "speaks OData V2" in msg and "pyodata" in msg
    assert "/sap/opu/odata/sap/" in msg and "V4 support" in msg
    with pytest.raises(EdmxError, match="OData V4") as exc:
        parse_edmx(V401_NO_NS)       # the Version attribute alone is enough
    assert 'Version="4.01"' in str(exc.value)


def test_v2_version_is_read() -> None:
    assert odata_version(parse_xml((OWN_EDMX / "API_BUSINESS_PARTNER.edmx").read_bytes())) in ("1.0", "2.0")


@pytest.mark.parametrize("doc,reason", [
    (b"", "not_xml"), (b"   \n", "not_xml"), (b'{"d": {"EntitySets": []}}', "not_xml"),
    (b"Service unavailable", "not_xml"), (b"<edmx:Edmx", "not_xml"), (b"<a><b></a>", "not_xml"),
    (b"<html><body>Logon</body></html>", "not_edmx"),
    (b'<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"/>', "not_edmx"),
    (BOMB, "dtd"), (XXE, "dtd"),
    # a DTD hidden from a byte search by UTF-16 is still refused by the parser itself
    ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'.encode("utf-16"), "dtd"),
    (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>', "dtd"),
])
def test_bad_documents(doc: bytes, reason: str) -> None:
    with pytest.raises(EdmxError) as exc:
        parse_edmx(doc)
    assert exc.value.reason == reason, str(exc.value)


def test_utf16_v2_document_parses() -> None:
    text = (OWN_EDMX / "API_BUSINESS_PARTNER.edmx").read_text(encoding="utf-8")
    text = text.replace('encoding="utf-8"', 'encoding="utf-16"').replace("encoding='utf-8'", "encoding='utf-16'")
    model = parse_edmx(text.encode("utf-16"))
    assert "A_BusinessPartner" in model.entity_sets


# ---- the connector: metadata from a server -----------------------------------------------------------
class _Metadata(BaseHTTPRequestHandler):
    body = b""
    ctype = "application/xml"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", self.ctype)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    handler = type("H", (_Metadata,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    port = httpd.server_address[1]
    yield handler, f"http://127.0.0.1:{port}/sap/opu/odata4/sap/api_business_partner/srvd_a2x/sap/businesspartner/0001/"
    httpd.shutdown()
    httpd.server_close()


def _connector(url: str, **kw) -> SapODataConnector:
    cfg = SapODataConfig(service_url=url, auth="none", **kw)
    return SapODataConnector(cfg, ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda s: None)))


def test_connector_refuses_v4_service_with_config_error(server) -> None:
    handler, url = server
    handler.body = V4_EDMX
    with pytest.raises(ConfigError) as exc:
        _connector(url).entities()
    msg = str(exc.value)
    assert url in msg and "OData V4" in msg and "/sap/opu/odata/sap/" in msg
    assert exc.value.details["reason"] == "odata_v4" and exc.value.key == "service_url"
    assert "pyodata" in msg and "speaks OData V2" in msg


@pytest.mark.parametrize("body,reason", [(b"not xml at all", "not_xml"), (BOMB, "dtd"), (XXE, "dtd"),
                                         (b"<html><body>hi</body></html>", "not_edmx")])
def test_connector_refuses_bad_metadata(server, body: bytes, reason: str) -> None:
    handler, url = server
    handler.body = body
    with pytest.raises(ConfigError) as exc:
        _connector(url).check()
    assert exc.value.details["reason"] == reason and url in str(exc.value)


def test_connector_metadata_file_v4_names_the_file(tmp_path) -> None:
    f = tmp_path / "bp_v4.edmx"
    f.write_bytes(V4_EDMX)
    with pytest.raises(ConfigError, match="OData V4") as exc:
        _connector("http://127.0.0.1:9/sap/opu/odata/sap/X/", metadata_files=(str(f),)).entities()
    assert str(f) in str(exc.value) and exc.value.file == str(f)


# ---- the sandbox started with an EDMX file ---------------------------------------------------------------
@pytest.mark.parametrize("content,match", [
    (V4_EDMX, "OData V4"), (b"this is not xml", "not XML"), (BOMB, "DOCTYPE"), (b"<oops", "well-formed"),
    (None, "not found"),
])
def test_sandbox_edmx_loader_errors_name_the_file(tmp_path, content: bytes | None, match: str) -> None:
    f = tmp_path / "Z_TEST_SRV.edmx"
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as exc:
        start(World(1, 3), metadata=str(f))
    assert str(exc.value).startswith(str(f)) and exc.value.file == str(f)


def test_sandbox_refuses_a_file_name_that_is_no_service_name(tmp_path) -> None:
    f = tmp_path / "my-service.edmx"
    f.write_bytes((OWN_EDMX / "API_PRODUCT_SRV.edmx").read_bytes())
    with pytest.raises(ConfigError, match="service name"):
        start(World(1, 3), metadata=str(f))
