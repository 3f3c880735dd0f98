"""The EDMX model: Concord's own reduced files and the real S/4 files."""
from __future__ import annotations

import pytest

from concord.connectors.sap_odata.edmx import EdmxError, parse_edmx
from concord.connectors.sap_odata.metadata import cursor_plan, entity_spec
from concord.connectors.sap_odata.sandbox import OWN_EDMX
from tests import fixtures_path


def test_own_business_partner_model():
    m = parse_edmx((OWN_EDMX / "API_BUSINESS_PARTNER.edmx").read_bytes())
    bp = m.type_of("A_BusinessPartner")
    assert bp.keys == ("BusinessPartner",) and bp.navs["to_BusinessPartnerAddress"].many
    assert not bp.navs["to_Customer"].many
    assert not m.entity_sets["A_BusinessPartner"].deletable and not m.entity_sets["A_Customer"].creatable
    assert m.type_of("A_BusinessPartnerAddress").keys == ("BusinessPartner", "AddressID")
    assert bp.properties["LastChangeDate"].is_date_only and not bp.properties["Customer"].creatable
    assert cursor_plan(bp).fields == ("LastChangeDate", "LastChangeTime")


@pytest.mark.parametrize("name,sets", [("API_BUSINESS_PARTNER", 36), ("API_SALES_ORDER_SRV", 11), ("API_PRODUCT_SRV", 32)])
def test_real_files(name, sets):
    m = parse_edmx(fixtures_path("sap-odata-v2", f"{name}.edmx").read_bytes())
    assert len(m.entity_sets) == sets
    for s in m.entity_sets:
        spec = entity_spec(m, s, batch_size=100, lookback=0)
        assert spec.primary_key and spec.fields


def test_real_cursor_fields():
    so = parse_edmx(fixtures_path("sap-odata-v2", "API_SALES_ORDER_SRV.edmx").read_bytes())
    t = so.type_of("A_SalesOrder")
    assert t.concurrency_property.name == "LastChangeDateTime" and cursor_plan(t).kind == "offset"
    assert cursor_plan(so.type_of("A_SalesOrderItem")) is None


@pytest.mark.parametrize("doc,msg", [(b"<x/>", "not an OData V2"), (b"<oops", "well-formed"),
                                     (b'<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"/>',
                                      "DataServices")])
def test_rejects_bad_documents(doc, msg):
    with pytest.raises(EdmxError, match=msg):
        parse_edmx(doc)
