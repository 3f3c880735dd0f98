"""Pages with composite and integer keys (NAV journal lines), end to end through zeep against the sandbox."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
import zeep.exceptions
from hypothesis import given
from hypothesis import strategies as st

from concord.connectors.soap_erp import SoapErpConnector
from concord.connectors.soap_erp.config import SoapErpConfig
from concord.connectors.soap_erp.keys import PageKey, decode_parts, encode_parts
from concord.connectors.soap_erp.sandbox import start
from concord.connectors.soap_erp.sandbox.wsdlgen import (
    JOURNAL_LINE_FIELDS,
    journal_line_wsdl,
    page_wsdl,
)
from concord.hub.contracts import Change, ConnectorContext, source_id_of
from concord.hub.errors import ConfigError, RecordError
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World

ENTITY = "GeneralJournalLine"
JOURNAL_MAP = """\
operations: {list: ReadMultiple, read: Read, create: Create, create_many: CreateMultiple, update: Update,
             update_many: UpdateMultiple, delete: Delete, is_updated: IsUpdated}
fields:
  key: [Journal_Template_Name, Journal_Batch_Name, {name: Line_No, type: int}]
  version_key: Key
  read_only: [Key]
faults:
  stale: ["another user has modified"]
  not_found: ["does not exist"]
  identification: "Identification fields and values:"
"""


# ---- the key encoding -------------------------------------------------------------------------
JL = PageKey(("Journal_Template_Name", "Journal_Batch_Name", "Line_No"), ("string", "string", "int"))


def test_key_encoding_examples():
    assert JL.encode(("GENERAL", "DEFAULT", 10000)) == "GENERAL,DEFAULT,10000"
    assert JL.decode("GENERAL,DEFAULT,10000") == {"Journal_Template_Name": "GENERAL", "Journal_Batch_Name": "DEFAULT",
                                                  "Line_No": 10000}
    tricky = ("A,B", "50%,%2C", 7)
    sid = JL.encode(tricky)
    assert sid == "A%2CB,50%25%2C%252C,7"
    assert tuple(JL.decode(sid).values()) == tricky
    assert tuple(JL.decode(JL.encode(("", "", 0))).values()) == ("", "", 0)
    single = PageKey(("No",), ("string",))
    assert single.encode(("C,1%",)) == "C,1%" and single.decode("C,1%") == {"No": "C,1%"}   # one field: as it is
    with pytest.raises(RecordError, match="3"):
        JL.decode("GENERAL,10000")
    with pytest.raises(RecordError, match="not a valid int"):
        JL.decode("GENERAL,DEFAULT,ten")


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), min_size=1, max_size=5))
def test_key_encoding_round_trips_any_text(parts):
    assert decode_parts(encode_parts(parts), len(parts)) == parts


# ---- the journal-line page through the connector ----------------------------------------------
@pytest.fixture
def journal(tmp_path: Path):
    wsdl = tmp_path / "GeneralJournalLine.wsdl"
    wsdl.write_bytes(journal_line_wsdl())
    opmap = tmp_path / "journal.yaml"
    opmap.write_text(JOURNAL_MAP)
    with start(World(seed=5, size=30), wsdl=str(wsdl), today="2027-03-01") as sb:
        yield sb, opmap


def connector(sb, opmap: Path, page_size: int = 4) -> SoapErpConnector:
    cfg = dict(sb.connector_config)
    cfg["auth"] = dict(cfg["auth"], password=sb.env["NAV_PASSWORD"])
    cfg["pages"] = [dict(p, operation_map=str(opmap), page_size=page_size) for p in cfg["pages"]]
    return SoapErpConnector(SoapErpConfig.model_validate(cfg),
                            ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda _s: None)))


def change(op, key=None, etag=None, n=0, **fields):
    return Change(op=op, entity=ENTITY, key=key, etag=etag, fields=fields, idempotency_key=f"{op}-{key}-{n}")


def test_sandbox_derives_fields_and_composite_key_from_the_wsdl(journal):
    sb, _ = journal
    store = sb.state
    assert store.key.names == ("Journal_Template_Name", "Journal_Batch_Name", "Line_No")
    assert store.key.types == ("string", "string", "int")
    assert store.count() > 10 and store.count() == len(store.truth)
    first = store.get("GENERAL,DEFAULT,10000")
    assert first["Line_No"] == 10000 and first["Account_Type"] == "Customer" and first["Document_No"]


def test_journal_lines_read_create_update_delete(journal):
    sb, opmap = journal
    conn = connector(sb, opmap)
    conn.check()
    [spec] = conn.entities()
    assert spec.name == ENTITY and spec.primary_key == ("Concord_Source_Id",) and spec.cursor is None
    assert spec.field("Line_No").type == "integer" and not spec.field("Line_No").updateable
    assert spec.field("Concord_Source_Id").createable is False

    # read: ReadMultiple pages by bookmark; every record carries its encoded composite key
    records = [r for p in conn.read(ENTITY) for r in p.records]
    assert len(records) == sb.state.count()
    ids = [source_id_of(spec, r) for r in records]
    assert len(set(ids)) == len(ids) and ids[0] == "GENERAL,DEFAULT,10000"
    assert isinstance(records[0]["Line_No"], int)

    # Read takes each key field as a parameter
    one = conn.read_record(ENTITY, "GENERAL,DEFAULT,20000")
    assert one["Line_No"] == 20000 and one["Concord_Source_Id"] == "GENERAL,DEFAULT,20000"
    assert conn.read_record(ENTITY, "GENERAL,DEFAULT,99990000") is None

    # create two lines in another batch (CreateMultiple); a batch name with the separator round-trips
    res = conn.write(ENTITY, [
        change("create", n=1, Journal_Template_Name="GENERAL", Journal_Batch_Name="CASH,EUR", Line_No=10000,
               Posting_Date="2027-03-01", Document_Type="Payment", Document_No="P-1", Account_Type="Customer",
               Account_No="1000001", Amount="-150.00", Description="Payment 1"),
        change("create", n=2, Journal_Template_Name="general", Journal_Batch_Name="CASH,EUR", Line_No="20000",
               Amount="75.5", Description="Payment 2")])
    assert [r.ok for r in res] == [True, True], [r.error for r in res]
    assert [r.target_id for r in res] == ["GENERAL,CASH%2CEUR,10000", "GENERAL,CASH%2CEUR,20000"]
    new = sb.state.get("GENERAL,CASH%2CEUR,10000")
    assert new["Amount"] == __import__("decimal").Decimal("-150.00") and new["Journal_Batch_Name"] == "CASH,EUR"

    # update without a Key (looked up in one ReadMultiple per key prefix) and with the Key as etag
    sb.app.reset_stats()
    res = conn.write(ENTITY, [change("update", res[0].target_id, Description="Payment 1 (corrected)"),
                              change("update", res[1].target_id, n=1, Amount="80")])
    assert [r.ok for r in res] == [True, True], [r.error for r in res]
    assert sb.app.stats.by_route["page"] == 2            # ReadMultiple (template, batch, Line_No=a|b) + UpdateMultiple
    assert sb.state.get("GENERAL,CASH%2CEUR,10000")["Description"] == "Payment 1 (corrected)"
    current = conn.read_record(ENTITY, "GENERAL,DEFAULT,30000")
    res = conn.write(ENTITY, [change("update", "GENERAL,DEFAULT,30000", current["Key"], Amount="1.00")])
    assert res[0].ok and str(sb.state.get("GENERAL,DEFAULT,30000")["Amount"]) == "1.00"
    # a key field cannot be changed by an update
    res = conn.write(ENTITY, [change("update", "GENERAL,DEFAULT,30000", Line_No=30001)])
    assert not res[0].ok and res[0].error.details["field"] == "Line_No"

    # delete by Key; deleting again is the goal reached
    before = sb.state.count()
    res = conn.write(ENTITY, [change("delete", "GENERAL,CASH%2CEUR,20000"), change("delete", "GENERAL,DEFAULT,10000"),
                              change("delete", "GENERAL,DEFAULT,10000", n=1)])
    assert [r.ok for r in res] == [True, True, True]
    assert sb.state.count() == before - 2 and sb.state.get("GENERAL,DEFAULT,10000") is None
    # a source id that does not fit the key is a record error, not a crash
    res = conn.write(ENTITY, [change("delete", "GENERAL,10000")])
    assert not res[0].ok and res[0].error.code == "bad_key"


def test_batch_with_a_duplicate_isolates_the_named_line(journal):
    sb, opmap = journal
    conn = connector(sb, opmap)
    before = sb.state.count()
    lines = [change("create", n=i, Journal_Template_Name="GENERAL", Journal_Batch_Name="BANK", Line_No=10000 * (i + 1),
                    Amount=str(i + 1)) for i in range(5)]
    lines[3] = change("create", n=3, Journal_Template_Name="GENERAL", Journal_Batch_Name="DEFAULT", Line_No=10000,
                      Amount="9")                                        # already there
    conn.entities()                                                      # the WSDL is loaded before counting
    sb.app.reset_stats()
    res = conn.write(ENTITY, lines)
    assert [r.ok for r in res] == [True, True, True, False, True]
    assert "already exists" in res[3].error.message and "Line No.='10000'" in res[3].error.message
    assert sb.app.stats.by_route["page"] == 2           # the fault names the line: one re-send of the rest
    assert sb.state.count() == before + 4
    missing = conn.write(ENTITY, [change("create", Journal_Template_Name="GENERAL", Amount="1")])
    assert not missing[0].ok and "Journal_Batch_Name" in missing[0].error.message


# ---- the sandbox answers SOAP faults and stores nothing ---------------------------------------
def _post(sb, op: str, inner: str) -> requests.Response:
    url = sb.extra["pages"][ENTITY]
    ns = "urn:microsoft-dynamics-schemas/page/generaljournalline"
    body = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><{op} xmlns="{ns}">{inner}'
            f'</{op}></s:Body></s:Envelope>')
    return requests.post(url, data=body.encode(), auth=("CONCORD", sb.env["NAV_PASSWORD"]),
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ns}:{op}"'})


def _assert_fault(r: requests.Response, text: str) -> None:
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/xml"), r.text
    assert "<faultcode" in r.text and "<faultstring" in r.text and text in r.text, r.text


def test_duplicate_and_missing_key_are_soap_faults_and_store_nothing(journal):
    sb, opmap = journal
    before = sb.state.count()
    line = ("<GeneralJournalLine><Journal_Template_Name>GENERAL</Journal_Template_Name>"
            "<Journal_Batch_Name>DEFAULT</Journal_Batch_Name>{line}<Amount>5</Amount></GeneralJournalLine>")
    _assert_fault(_post(sb, "Create", line.format(line="<Line_No>10000</Line_No>")), "already exists")
    _assert_fault(_post(sb, "Create", line.format(line="")), "Line No. must have a value")
    both = line.format(line="<Line_No>777</Line_No>") + line.format(line="<Line_No>777</Line_No>")
    _assert_fault(_post(sb, "CreateMultiple", f"<GeneralJournalLine_List>{both}</GeneralJournalLine_List>"),
                  "already exists")
    _assert_fault(_post(sb, "Create", line.format(line="<Line_No>ten</Line_No>")), "Line No.")  # zeep reads it as empty
    _assert_fault(_post(sb, "Read", "<Journal_Template_Name>GENERAL</Journal_Template_Name>"), "Line_No")
    assert sb.state.count() == before and sb.state.get("GENERAL,DEFAULT,777") is None
    # through zeep the fault is a zeep Fault with NAV's code
    h = connector(sb, opmap)._handle(ENTITY)
    with pytest.raises(zeep.exceptions.Fault) as exc:
        h.call("Create", {"GeneralJournalLine": {"Journal_Template_Name": "GENERAL", "Journal_Batch_Name": "DEFAULT",
                                                 "Line_No": 10000}})
    assert "NavCSideException" in exc.value.code and "already exists" in exc.value.message
    assert sb.state.count() == before


def test_a_fault_while_answering_stores_nothing(journal, monkeypatch):
    sb, _ = journal
    before = sb.state.count()
    from concord.connectors.soap_erp.sandbox import soap

    def broken(self, *_a, **_k):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(soap.PageEndpoint, "_render", broken)
    r = _post(sb, "Create", "<GeneralJournalLine><Journal_Template_Name>GENERAL</Journal_Template_Name>"
                            "<Journal_Batch_Name>X</Journal_Batch_Name><Line_No>1</Line_No></GeneralJournalLine>")
    _assert_fault(r, "could not be written")
    assert sb.state.count() == before and sb.state.get("GENERAL,X,1") is None


# ---- the operation map must fit the WSDL ------------------------------------------------------
def test_operation_map_key_must_fit_the_wsdl(journal, tmp_path: Path):
    sb, _ = journal
    wrong_type = tmp_path / "t.yaml"
    wrong_type.write_text(JOURNAL_MAP.replace("{name: Line_No, type: int}", "Line_No"))
    with pytest.raises(ConfigError, match="Line_No is declared string but the WSDL types it int"):
        connector(sb, wrong_type).entities()
    wrong_order = tmp_path / "o.yaml"
    wrong_order.write_text(JOURNAL_MAP.replace("key: [Journal_Template_Name, Journal_Batch_Name,",
                                               "key: [Journal_Batch_Name, Journal_Template_Name,"))
    with pytest.raises(ConfigError, match="Read takes the page's key fields"):
        connector(sb, wrong_order).entities()


def test_document_lines_with_an_option_in_the_key(tmp_path: Path):
    fields = (("Document_Type", ("Quote", "Order", "Invoice")), ("Document_No", "string"), ("Line_No", "int"),
              ("Description", "string"), ("Quantity", "decimal"))
    wsdl = tmp_path / "SalesLines.wsdl"
    wsdl.write_bytes(page_wsdl("SalesLines", fields, ("Document_Type", "Document_No", "Line_No")))
    opmap = tmp_path / "lines.yaml"
    opmap.write_text(JOURNAL_MAP.replace("key: [Journal_Template_Name, Journal_Batch_Name,",
                                         "key: [Document_Type, Document_No,"))
    with start(World(seed=2, size=10), wsdl=str(wsdl)) as sb:
        conn = connector(sb, opmap)
        records = [r for p in conn.read("SalesLines") for r in p.records]
        assert records and all(r["Document_Type"] == "Invoice" for r in records)
        sid = records[0]["Concord_Source_Id"]
        assert sid.startswith("Invoice,") and conn.read_record("SalesLines", sid)["Line_No"] == records[0]["Line_No"]
        res = conn.write("SalesLines", [Change(op="create", entity="SalesLines", idempotency_key="c", fields={
            "Document_Type": "Order", "Document_No": "SO-1", "Line_No": 10000, "Quantity": "2"})])
        assert res[0].ok and res[0].target_id == "Order,SO-1,10000"


def test_journal_fields_cover_the_generated_wsdl():
    assert {n for n, _ in JOURNAL_LINE_FIELDS} >= {"Journal_Template_Name", "Journal_Batch_Name", "Line_No"}
