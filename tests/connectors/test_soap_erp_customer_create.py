"""Customers created on the NAV Customer page (issue 13, scenario 1 "customer master"), through zeep against the
sandbox on loopback: a CRM account mapped with mappings/soap_erp/account.yaml is one Create with a blank No; NAV
numbers it from its "Customer Nos." series and the number is the write's target id; the record reads back with
the mapped fields, Concord's id and the posting groups of the page's ``create_defaults``; a create whose answer
was lost is found by ``lookup`` (not created twice); NAV's faults (unknown country, too long, bad e-mail) fail that
record only, as a RecordError (quarantine), and the rest of the batch is created."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from concord.connectors.soap_erp import SoapErpConnector
from concord.connectors.soap_erp.config import SoapErpConfig
from concord.connectors.soap_erp.sandbox import start
from concord.connectors.soap_erp.sandbox.customers import NoSeries, inc_str
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.errors import ConfigError, RecordError, StaleRecordError, TransientError
from concord.hub.http import HttpToolkit
from concord.hub.mapping import load_mapping
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World

ROOT = Path(__file__).resolve().parents[2]
SIZE = 20                      # the world's customer numbers are 1000000 .. 1000019
SEED = 2                       # ... and 1000019 is not a NAV customer (the CRM may know it): no new one takes it


def connector(sb, **page_changes: Any) -> SoapErpConnector:
    cfg = dict(sb.connector_config)
    cfg["auth"] = dict(cfg["auth"], password=sb.env["NAV_PASSWORD"])
    pages = [dict(p) for p in cfg["pages"]]
    for k, v in page_changes.items():
        if v is None:
            pages[0].pop(k, None)
        else:
            pages[0][k] = v
    cfg["pages"] = pages
    return SoapErpConnector(SoapErpConfig.model_validate(cfg),
                            ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda _s: None)))


@pytest.fixture
def sb():
    with start(World(seed=SEED, size=SIZE), faults=FaultConfig(rate=0.0), today="2027-03-01") as s:
        yield s


def account(i: int, **over: Any) -> dict[str, Any]:
    """A CRM account that became a customer, as the engine hands it to the mapping (flat canonical)."""
    flat = {"name": f"Neumann Maschinenbau {i} GmbH", "tax_id": f"DE81234567{i}", "website": f"https://neumann{i}.de",
            "email": f"einkauf@neumann{i}.de", "phone": "+49 40 1234567", "billing_address.street": "Hafenstraße 5",
            "billing_address.street2": None, "billing_address.postal_code": "20457", "billing_address.city": "Hamburg",
            "billing_address.country": "DE", "credit_limit": "50000", "payment_terms": "NET30", "currency": "EUR",
            "erp_customer_number": None, "lifecycle": "customer"}
    flat.update(over)
    return flat


def create(i: int, fields: dict[str, Any], golden: str) -> Change:
    return Change(op="create", entity="Customer", fields=fields, idempotency_key=f"c{i}", golden_id=golden)


def test_a_crm_account_becomes_a_nav_customer_numbered_by_the_series(sb):
    m = load_mapping(ROOT / "mappings" / "soap_erp" / "account.yaml")
    c = connector(sb)
    payload = m.to_source(account(1))
    # what a new customer needs is written; what NAV owns (No, credit limit, terms, currency, Blocked) is not
    assert set(payload) == {"Name", "VAT_Registration_No", "Home_Page", "E_Mail", "Phone_No", "Address", "Post_Code",
                            "City", "Country_Region_Code"}
    world_numbers = {co.erp_number for co in World(seed=SEED, size=SIZE).companies()}
    assert sb.state.get("1000019") is None                            # the highest world number is not on the page
    before = sb.state.count()
    [res] = c.write("Customer", [create(1, payload, "gold-acc-1")])
    assert res.ok, res.error
    assert res.created and res.target_id == "1000020"             # Customer Nos.: after the world's last number
    assert res.target_id not in world_numbers and sb.state.count() == before + 1
    rec = c.read_record("Customer", res.target_id)
    assert rec is not None and rec["No"] == res.target_id
    assert {k: rec.get(k) for k in payload} == payload
    assert rec["Concord_Id"] == "gold-acc-1"                         # the create carried Concord's id
    assert (rec["Gen_Bus_Posting_Group"], rec["VAT_Bus_Posting_Group"], rec["Customer_Posting_Group"]) == \
        ("DOMESTIC", "DOMESTIC", "DOMESTIC")     # the page's create_defaults; VAT from Gen. Bus.'s default
    assert rec["Search_Name"] == payload["Name"].upper() and rec["Invoice_Disc_Code"] == res.target_id
    assert "Credit_Limit_LCY" not in rec and "Payment_Terms_Code" not in rec and "Currency_Code" not in rec
    back = m.to_canonical(rec)
    assert back.erp_customer_number == res.target_id and back.name == payload["Name"]
    assert back.billing_address.city == "Hamburg" and back.billing_address.country == "DE"
    # the series goes on; a number entered by hand is kept, one that is taken is NAV's duplicate fault
    taken = sb.state.read_multiple([], None, 1)[0]["No"]
    res2 = c.write("Customer", [create(2, m.to_source(account(2)), "gold-acc-2"),
                                create(3, {"No": "K-100", "Name": "Manual Nos. AG"}, "gold-acc-3"),
                                create(4, {"No": taken, "Name": "Taken"}, "gold-acc-4")])
    assert [r.ok for r in res2] == [True, True, False]
    assert res2[0].target_id == "1000021" and res2[1].target_id == "K-100"
    assert "The Customer already exists" in res2[2].error.message and f"No.='{taken}'" in res2[2].error.message
    assert isinstance(res2[2].error, RecordError) and res2[2].error.kind == "record"


def test_a_create_whose_answer_was_lost_is_found_by_lookup_not_created_twice(sb):
    m = load_mapping(ROOT / "mappings" / "soap_erp" / "account.yaml")
    c = connector(sb)
    c.entities()
    golden = "3f2c1a9e-7b1d-5c2e-9a41-0d6f1e2b3c4d"                   # a golden id (uuid5, 36 characters)
    assert c.lookup("Customer", golden) is None
    before = sb.state.count()
    sb.app.faults.script("drop_mid_body")
    [res] = c.write("Customer", [create(1, m.to_source(account(1)), golden)])
    assert not res.ok and isinstance(res.error, TransientError)       # the answer was lost ...
    assert sb.state.count() == before + 1                             # ... NAV created the customer
    # push asks before it re-sends a create it tried before (hub/engine/push.py _settle_unknown_creates)
    found = c.lookup("Customer", golden)
    assert found == "1000020" and sb.state.get(found)["Concord_Id"] == golden
    assert sb.state.count() == before + 1                             # found, so not sent again
    carried = [r for r in sb.state.read_multiple([{"Field": "Concord_Id", "Criteria": golden}], None, 0)]
    assert [r["No"] for r in carried] == [found]
    # another golden id is not that customer; the next create takes the next number
    assert c.lookup("Customer", golden.upper()) is None and c.lookup("Customer", golden[:-1]) is None
    [res] = c.write("Customer", [create(2, m.to_source(account(2)), "gold-other")])
    assert res.ok and res.target_id == "1000021"


def test_nav_faults_fail_one_record_and_the_batch_goes_on(sb):
    m = load_mapping(ROOT / "mappings" / "soap_erp" / "account.yaml")
    c = connector(sb)
    before = sb.state.count()
    changes = [create(0, m.to_source(account(0)), "g-0"),
               create(1, m.to_source(account(1, **{"billing_address.country": "NZ"})), "g-1"),   # not in Country/Region
               create(2, m.to_source(account(2)), "g-2"),
               create(3, m.to_source(account(3, name="N" * 51)), "g-3"),                          # Name is Text[50]
               create(4, {**m.to_source(account(4)), "E_Mail": "einkauf at neumann.de"}, "g-4"),
               create(5, m.to_source(account(5)), "g-5")]
    res = c.write("Customer", changes)
    assert [r.ok for r in res] == [True, False, True, False, False, True]
    assert res[1].error.message == ("The field Country/Region Code of table Customer contains a value (NZ) that "
                                    "cannot be found in the related table (Country/Region).")
    assert "The length of the string is 51, but it must be less than or equal to 50 characters" in res[3].error.message
    assert res[4].error.message == 'The email address "einkauf at neumann.de" is not valid.'
    for r in (res[1], res[3], res[4]):
        assert type(r.error) is RecordError and r.error.kind == "record" and r.error.system == "erp"
        assert r.error.details["faultcode"].endswith("NavCSideException")
    # a refused call stored nothing and took no number: the good ones are numbered without gaps
    assert [r.target_id for r in res if r.ok] == ["1000020", "1000021", "1000022"]
    assert sb.state.count() == before + 3
    assert not [r for r in sb.state.read_multiple([], None, 0) if r.get("Concord_Id") in ("g-1", "g-3", "g-4")]


def test_posting_groups_come_from_create_defaults_or_the_customer_cannot_be_sold_to(sb):
    c_bare = connector(sb, create_defaults=None)                     # no defaults: NAV applies no template
    [bare] = c_bare.write("Customer", [create(1, {"Name": "Ohne Buchungsgruppe GmbH", "Country_Region_Code": "DE"},
                                              "g-bare")])
    assert bare.ok, bare.error
    rec = sb.state.get(bare.target_id)
    assert not rec.get("Gen_Bus_Posting_Group") and not rec.get("Customer_Posting_Group")
    c = connector(sb)
    [good] = c.write("Customer", [create(2, {"Name": "Mit Vorlage GmbH"}, "g-good")])
    [own] = c.write("Customer", [create(3, {"Name": "EU Kunde BV", "Country_Region_Code": "NL",
                                            "Gen_Bus_Posting_Group": "eu", "Customer_Posting_Group": "EU"}, "g-eu")])
    assert good.ok and own.ok
    eu = sb.state.get(own.target_id)                                  # given values win over the defaults; NAV
    assert (eu["Gen_Bus_Posting_Group"], eu["VAT_Bus_Posting_Group"], eu["Customer_Posting_Group"]) == \
        ("EU", "EU", "EU")                                            # upper-cases Code and sets the VAT default
    [bad] = c.write("Customer", [create(4, {"Name": "X", "Customer_Posting_Group": "NOPE"}, "g-x")])
    assert not bad.ok and "related table (Customer Posting Group)" in bad.error.message
    # a sales order: NAV tests the customer's posting group (Bill-to Customer No. OnValidate)
    item = next(r["No"] for r in sb.handles["stores"]["Item"].read_multiple([], None, 0) if not r.get("Blocked"))

    def order(no: str, k: str) -> Change:
        return Change(op="create", entity="SalesOrder", idempotency_key=k, fields={
            "Sell_to_Customer_No": no, "SalesLines": {"Sales_Order_Line": [{"Type": "Item", "No": item, "Quantity": 1}]}})

    r_bare, r_good = c.write("SalesOrder", [order(bare.target_id, "o1"), order(good.target_id, "o2")])
    assert not r_bare.ok and r_good.ok, (r_bare, r_good.error)
    assert r_bare.error.message == (f"Customer Posting Group must have a value in Customer: No.={bare.target_id}. "
                                    f"It cannot be zero or empty.")
    assert isinstance(r_bare.error, RecordError) and not isinstance(r_bare.error, StaleRecordError)


def test_create_defaults_are_checked_against_the_page(sb):
    for defaults, word in (({"Nope": "X"}, "not a field"), ({"Balance_LCY": 1}, "read-only or key"),
                           ({"No": "C1"}, "read-only or key")):
        with pytest.raises(ConfigError) as exc:
            connector(sb, create_defaults=defaults).entities()
        assert word in str(exc.value) and exc.value.details["key"] == "create_defaults"
    # updates never get the defaults
    c = connector(sb)
    no = sb.state.read_multiple([], None, 1)[0]["No"]
    sb.state.touch(no, Customer_Posting_Group="FOREIGN")
    [res] = c.write("Customer", [Change(op="update", entity="Customer", key=no, fields={"City": "Bremen"},
                                        idempotency_key="u")])
    assert res.ok and sb.state.get(no)["Customer_Posting_Group"] == "FOREIGN"


def test_the_sandbox_config_and_page_are_what_an_integration_publishes(sb):
    page = sb.connector_config["pages"][0]
    assert page["external_id_field"] == "Concord_Id"
    assert page["create_defaults"] == {"Gen_Bus_Posting_Group": "DOMESTIC", "Customer_Posting_Group": "DOMESTIC"}
    spec = {s.name: s for s in connector(sb).entities()}["Customer"]
    assert spec.external_id_field == "Concord_Id" and "create" in spec.capabilities
    f = spec.field("Concord_Id")
    assert f.createable and f.updateable and f.type in ("string", "text")
    # seeded customers carry their posting groups (the real page 21 shows them)
    rows = sb.state.read_multiple([], None, 0)
    assert rows and all(r.get("Customer_Posting_Group") in ("DOMESTIC", "EU", "FOREIGN") for r in rows)


@pytest.mark.parametrize("code,by,nxt", [("C00010", 10, "C00020"), ("1000019", 1, "1000020"), ("K-99", 1, "K-100"),
                                         ("CUST0009X", 1, "CUST0010X"), ("C09990", 10, "C10000")])
def test_incstr(code, by, nxt):
    assert inc_str(code, by) == nxt


def test_number_series_ends():
    s = NoSeries("CUST", starting_no="C00010", increment_by=10, ending_no="C00030")
    assert [s.peek(1), s.peek(2), s.peek(3)] == ["C00010", "C00020", "C00030"]
    s.used("C00030")
    with pytest.raises(Exception, match="You cannot assign new numbers from the number series CUST"):
        s.peek()
    with pytest.raises(ValueError):
        inc_str("NONUMBER")
