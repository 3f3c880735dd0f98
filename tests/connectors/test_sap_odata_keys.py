"""SAP key predicates: every key type as its OData V2 literal, percent-encoded in the path.

Unit tests of :func:`literal` / :func:`key_predicate`, then end to end: a Z service whose entity sets are keyed by
Edm.String / Int32 / Int64 / Decimal / Guid / DateTime (and a two-part key) is served by the sandbox, and the
connector updates and deletes rows by key through pyodata's ``$batch`` (where pyodata's own key formatting is
bypassed) and reads with a cursor on such a key.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from urllib.parse import unquote

import pytest

from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
from concord.connectors.sap_odata.filter import key_predicate, literal, parse_filter
from concord.connectors.sap_odata.sandbox import start
from concord.connectors.sap_odata.sandbox.odata import parse_key, split_path
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World

UTC = dt.timezone.utc
G = "0050568b-5a3f-1eda-8f8e-ab0f1b4c7e20"
NASTY = "a'b /c#d?e%f&g+h,i=j)k(l"


@pytest.mark.parametrize("edm,value,expected", [
    ("Edm.String", "it's", "'it''s'"),
    ("Edm.String", "", "''"),
    ("Edm.Int32", "42", "42"), ("Edm.Int32", 42, "42"), ("Edm.Int32", "-7", "-7"),
    ("Edm.Int16", "12", "12"), ("Edm.Byte", 255, "255"),
    ("Edm.Int64", "42", "42L"), ("Edm.Int64", 9007199254740993, "9007199254740993L"), ("Edm.Int64", "42L", "42L"),
    ("Edm.Decimal", "1.5", "1.5M"), ("Edm.Decimal", Decimal("1.50"), "1.50M"), ("Edm.Decimal", "1E+2", "100M"),
    ("Edm.Decimal", "-0.001", "-0.001M"),
    ("Edm.Double", "1.5", "1.5d"), ("Edm.Single", 2, "2.0f"),
    ("Edm.Guid", G.upper(), f"guid'{G}'"), ("Edm.Guid", uuid.UUID(G), f"guid'{G}'"),
    ("Edm.DateTime", "2024-03-01", "datetime'2024-03-01T00:00:00'"),
    ("Edm.DateTime", "2024-03-01T10:11:12Z", "datetime'2024-03-01T10:11:12'"),
    ("Edm.DateTime", "2024-03-01T10:11:12+02:00", "datetime'2024-03-01T08:11:12'"),
    ("Edm.DateTime", dt.datetime(2024, 3, 1, 10, 11, 12, 500000, tzinfo=UTC), "datetime'2024-03-01T10:11:12.500000'"),
    ("Edm.DateTime", dt.date(2024, 3, 1), "datetime'2024-03-01T00:00:00'"),
    ("Edm.DateTime", "/Date(1709251200000)/", "datetime'2024-03-01T00:00:00'"),
    ("Edm.DateTimeOffset", "2024-03-01T10:11:12+01:00", "datetimeoffset'2024-03-01T09:11:12Z'"),
    ("Edm.Time", "PT10H11M12S", "time'PT10H11M12S'"), ("Edm.Time", dt.timedelta(hours=1), "time'PT01H00M00S'"),
    ("Edm.Boolean", "true", "true"), ("Edm.Boolean", False, "false"),
    ("Edm.Binary", b"\x0a\x1b", "binary'0A1B'"),
])
def test_literal(edm, value, expected):
    assert literal(edm, value) == expected


@pytest.mark.parametrize("edm,value", [
    ("Edm.Int32", "4 2"), ("Edm.Int32", "42)"), ("Edm.Int32", "1.5"), ("Edm.Int32", "2147483648"), ("Edm.Int32", True),
    ("Edm.Int32", "0x10"), ("Edm.Int64", "1;2"), ("Edm.Decimal", "1.5.2"), ("Edm.Decimal", "NaN"),
    ("Edm.Decimal", "Infinity"), ("Edm.Double", "inf"), ("Edm.Guid", "not-a-guid"), ("Edm.Guid", f"{G}') or ('"),
    ("Edm.DateTime", "yesterday"), ("Edm.Time", "10:00"), ("Edm.Boolean", "maybe"), ("Edm.Binary", "zz"),
    ("Edm.Stream", "x"),
])
def test_literal_refuses_values_that_do_not_fit(edm, value):
    with pytest.raises(ValueError):
        literal(edm, value)


@pytest.mark.parametrize("value", [NASTY, "with space", "slash/inside", "hash#", "q?x=1", "100%", "''", "%2F",
                                   "\u00e9\u4e2d", "tab\tnl\n", ")", "x')/to_Item?$top=1#"])
def test_string_key_is_one_quoted_percent_encoded_literal(value):
    pred = key_predicate(["K"], ["Edm.String"], [value])
    assert pred.startswith("('") and pred.endswith("')")
    body = pred[2:-2]
    for ch in " /#?&+,=()\t\n":
        assert ch not in body, (ch, pred)
    assert re.fullmatch(r"(?:[A-Za-z0-9_.~'-]|%[0-9A-F]{2})*", body), pred    # only unreserved, quotes, escapes
    # decoded, the server finds exactly one literal with the original text
    decoded = unquote(pred)
    assert split_path("ZS" + decoded).key == decoded[1:-1]
    assert parse_key(("K",), decoded[1:-1]) == {"K": value}
    assert parse_filter("K eq " + decoded[1:-1]).right.value == value


def test_composite_key_predicate():
    pred = key_predicate(["Doc", "Item", "Day"], ["Edm.String", "Edm.Int32", "Edm.DateTime"],
                         ["A,B=C", "10", "2024-03-01"])
    assert pred == "(Doc='A%2CB%3DC',Item=10,Day=datetime'2024-03-01T00%3A00%3A00')"
    assert parse_key(("Doc", "Item", "Day"), unquote(pred)[1:-1]) == {
        "Doc": "A,B=C", "Item": 10, "Day": dt.datetime(2024, 3, 1, tzinfo=UTC)}


# ---- end to end: the sandbox serves a Z service with typed keys ---------------------------------------------------
NS = "ZCONCORD_KEYS_SRV"
SETS = {"ZStr": "Edm.String", "ZInt": "Edm.Int32", "ZLong": "Edm.Int64", "ZDec": "Edm.Decimal", "ZGuid": "Edm.Guid",
        "ZDate": "Edm.DateTime"}


def _edmx() -> str:
    types, sets = [], []
    for name, edm in SETS.items():
        facets = {"Edm.String": ' MaxLength="40"', "Edm.Decimal": ' Precision="12" Scale="2"',
                  "Edm.DateTime": ' Precision="0"'}.get(edm, "")
        types.append(f'<EntityType Name="{name}Type"><Key><PropertyRef Name="Id"/></Key>'
                     f'<Property Name="Id" Type="{edm}" Nullable="false"{facets}/>'
                     f'<Property Name="Text" Type="Edm.String" MaxLength="40"/></EntityType>')
        sets.append(f'<EntitySet Name="{name}" EntityType="{NS}.{name}Type"/>')
    types.append('<EntityType Name="ZItemType"><Key><PropertyRef Name="Doc"/><PropertyRef Name="Item"/></Key>'
                 '<Property Name="Doc" Type="Edm.String" Nullable="false" MaxLength="40"/>'
                 '<Property Name="Item" Type="Edm.Int32" Nullable="false"/>'
                 '<Property Name="Text" Type="Edm.String" MaxLength="40"/></EntityType>')
    sets.append(f'<EntitySet Name="ZItem" EntityType="{NS}.ZItemType"/>')
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" '
            'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
            'xmlns:sap="http://www.sap.com/Protocols/SAPData">'
            '<edmx:DataServices m:DataServiceVersion="2.0">'
            f'<Schema Namespace="{NS}" xml:lang="en" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">'
            + "".join(types) + f'<EntityContainer Name="{NS}_Entities" m:IsDefaultEntityContainer="true">'
            + "".join(sets) + "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>")


ROWS = {
    "ZStr": [NASTY, "with space", "100%", "x')/Other('1"],
    "ZInt": [42, -7],
    "ZLong": [9007199254740993],
    "ZDec": [Decimal("1.50"), Decimal("-3.25")],
    "ZGuid": [G],
    "ZDate": [dt.datetime(2024, 3, 1, tzinfo=UTC), dt.datetime(2024, 3, 1, 10, 11, 12, tzinfo=UTC)],
}


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    f = tmp_path_factory.mktemp("edmx") / f"{NS}.edmx"
    f.write_text(_edmx())
    s = start(World(3, 5), metadata=str(f), generic_rows=0)
    store = s.state.store(NS)
    for set_name, ids in ROWS.items():
        for v in ids:
            store.put(set_name, {"Id": v, "Text": "seed"})
    store.put("ZItem", {"Doc": "A/1 #2", "Item": 10, "Text": "seed"})
    yield s
    s.stop()


@pytest.fixture()
def conn(sb):
    cfg = SapODataConfig(service_url=sb.extra["services"][NS], user="CONCORD_SBX", password=sb.credentials["password"])
    return SapODataConnector(cfg, ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda s: None)))


def _source_ids(conn, entity):
    return ["|".join(str(r[k]) for k in ("Doc", "Item") if k in r) if entity == "ZItem" else str(r["Id"])
            for p in conn.read(entity) for r in p.records]


@pytest.mark.parametrize("entity", [*SETS, "ZItem"])
def test_update_by_key_of_every_type(sb, conn, entity):
    store = sb.state.store(NS)
    ids = _source_ids(conn, entity)
    assert len(ids) == (1 if entity == "ZItem" else len(ROWS[entity]))
    changes = [Change(op="update", entity=entity, key=sid, fields={"Text": f"upd {i}"}, idempotency_key=f"u{i}")
               for i, sid in enumerate(ids)]
    results = conn.write(entity, changes)
    assert [r.ok for r in results] == [True] * len(ids), [r.error and r.error.message for r in results]
    texts = sorted(row["Text"] for row in store.tables[entity].values())
    assert texts == sorted(f"upd {i}" for i in range(len(ids)))


def test_string_keys_with_reserved_characters_round_trip(sb, conn):
    store = sb.state.store(NS)
    assert sorted(_source_ids(conn, "ZStr")) == sorted(ROWS["ZStr"])
    res = conn.write("ZStr", [Change(op="update", entity="ZStr", key=NASTY, fields={"Text": "exact"},
                                     idempotency_key="n")])
    assert res[0].ok, res[0].error
    assert store.get("ZStr", (NASTY,))["Text"] == "exact"
    assert all(row["Text"] != "exact" for k, row in store.tables["ZStr"].items() if k != (NASTY,))


def test_delete_by_typed_key_and_bad_key_is_a_record_error(sb, conn):
    store = sb.state.store(NS)
    store.put("ZDec", {"Id": Decimal("9.99"), "Text": "gone"})
    res = conn.write("ZDec", [
        Change(op="delete", entity="ZDec", key="9.99", fields={}, idempotency_key="d"),
        Change(op="update", entity="ZDec", key="1.5') or ('", fields={"Text": "x"}, idempotency_key="bad"),
    ])
    assert res[0].ok and store.get("ZDec", (Decimal("9.99"),)) is None
    assert not res[1].ok and res[1].error.kind == "record" and "Edm.Decimal" in res[1].error.message


def test_sent_paths_are_typed_and_encoded(sb, conn):
    seen = []
    real = conn.session.request

    def spy(method, url, *a, **kw):
        seen.append(kw.get("data") or b"")
        return real(method, url, *a, **kw)
    conn.session.request = spy
    try:
        conn.write("ZLong", [Change(op="update", entity="ZLong", key="9007199254740993", fields={"Text": "L"},
                                    idempotency_key="l")])
        conn.write("ZStr", [Change(op="update", entity="ZStr", key="with space", fields={"Text": "s"},
                                   idempotency_key="s")])
    finally:
        conn.session.request = real
    body = b"".join(x if isinstance(x, bytes) else str(x).encode() for x in seen).decode()
    assert "PATCH ZLong(9007199254740993L) HTTP/1.1" in body
    assert "PATCH ZStr('with%20space') HTTP/1.1" in body


@pytest.mark.parametrize("edm,key,lit", [("Edm.Int32", "42", "42"), ("Edm.Int64", "42", "42L"),
                                         ("Edm.Decimal", "1.5", "1.5M"), ("Edm.Guid", G, f"guid'{G}'"),
                                         ("Edm.String", "O'Neil", "'O''Neil'")])
def test_cursor_filter_formats_the_key_by_type(edm, key, lit):
    from concord.connectors.sap_odata.edmx import EntityType, Property
    from concord.connectors.sap_odata.metadata import CursorPlan
    from concord.connectors.sap_odata.read import ReadPlan, cursor_filter
    props = {"Id": Property("Id", edm), "LastChangeDateTime": Property("LastChangeDateTime", "Edm.DateTimeOffset")}
    et = EntityType("T", "NS", ("Id",), props, {})
    plan = ReadPlan(entity="T", etype=et, cursor=CursorPlan("offset", ("LastChangeDateTime",)), expand=(),
                    deletion_flag=None, page_size=10, lookback=0, system="erp")
    text = cursor_filter(plan, dt.datetime(2024, 3, 1, tzinfo=UTC), key, inclusive=True)
    assert text.endswith(f"and Id ge {lit})")
    parse_filter(text)
