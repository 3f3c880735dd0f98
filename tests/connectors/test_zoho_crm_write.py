"""Zoho CRM writes: 100 per call, per-record results in order, upsert with duplicate checks, trigger, limits."""
from __future__ import annotations

import pytest

from concord.hub.contracts import Change
from concord.hub.errors import AuthError, RecordError, TransientError
from tests.connectors.test_zoho_crm_helpers import connector, sandbox


@pytest.fixture(scope="module")
def sb():
    s = sandbox(60)
    yield s
    s.stop()


def _contact(i: int, **extra) -> dict:
    return {"Last_Name": f"Writer{i}", "First_Name": "Wendy", "Email": f"wendy.writer{i}@example.org", **extra}


def test_batches_of_100_with_results_in_order(sb) -> None:
    c = connector(sb)
    sb.app.reset_stats()
    changes = [Change(op="create", entity="Contacts", fields=_contact(1000 + i), idempotency_key=f"b{i}") for i in range(250)]
    results = c.write("Contacts", changes)
    assert [r.change.idempotency_key for r in results] == [ch.idempotency_key for ch in changes]
    assert all(r.ok and r.created for r in results)
    assert sb.app.stats.by_route["insert"] == 3
    assert sb.record("Contacts", results[249].target_id)["Email"] == "wendy.writer1249@example.org"


def test_partial_failure_inside_a_successful_call(sb) -> None:
    c = connector(sb)
    existing = next(r for r in sb.state.modules["Contacts"].records.values() if r["Email"])
    changes = [
        Change(op="create", entity="Contacts", fields=_contact(1), idempotency_key="p1"),
        Change(op="create", entity="Contacts", fields={"First_Name": "NoLast"}, idempotency_key="p2"),
        Change(op="create", entity="Contacts", fields=_contact(2, Email=existing["Email"]), idempotency_key="p3"),
        Change(op="create", entity="Contacts", fields=_contact(3, Date_of_Birth="31.12.1980"), idempotency_key="p4"),
        Change(op="create", entity="Contacts", fields=_contact(4, Unknown_Field="x"), idempotency_key="p5"),
        Change(op="create", entity="Contacts", fields=_contact(5), idempotency_key="p6"),
    ]
    res = c.write("Contacts", changes)
    assert [r.ok for r in res] == [True, False, False, False, False, True]
    errors = [r.error for r in res if not r.ok]
    assert all(isinstance(e, RecordError) for e in errors)
    assert [(e.code, e.details.get("api_name")) for e in errors] == [
        ("MANDATORY_NOT_FOUND", "Last_Name"), ("DUPLICATE_DATA", "Email"), ("INVALID_DATA", "Date_of_Birth"),
        ("INVALID_DATA", "Unknown_Field")]
    assert errors[1].details["duplicate_record_id"] == existing["id"]
    assert "record 1 (p2)" in errors[0].message


def test_upsert_by_duplicate_check_fields(sb) -> None:
    c = connector(sb, duplicate_check_fields={"Contacts": ("Email",)})
    first = c.write("Contacts", [Change(op="upsert", entity="Contacts", fields=_contact(77), idempotency_key="u1")])[0]
    again = c.write("Contacts", [Change(op="upsert", entity="Contacts", fields=_contact(77, Title="CFO"),
                                        idempotency_key="u2")])[0]
    assert first.ok and first.created is True
    assert again.ok and again.created is False and again.target_id == first.target_id
    assert sb.record("Contacts", first.target_id)["Title"] == "CFO"


def test_upsert_by_external_id_uses_the_golden_id(sb) -> None:
    c = connector(sb, external_id_fields={"Accounts": "Concord_ID"})
    spec = next(s for s in c.entities() if s.name == "Accounts")
    assert spec.external_id_field == "Concord_ID"
    ch = lambda n, key: Change(op="upsert", entity="Accounts", fields={"Account_Name": n}, idempotency_key=key,
                               golden_id="G-42")
    a = c.write("Accounts", [ch("Golden Forty Two GmbH", "e1")])[0]
    b = c.write("Accounts", [ch("Golden Forty-Two GmbH", "e2")])[0]    # renamed: still the same record
    assert a.created and b.ok and not b.created and a.target_id == b.target_id
    assert sb.record("Accounts", a.target_id)["Concord_ID"] == "G-42"


def test_trigger_is_configurable_and_empty_by_default(sb) -> None:
    quiet, loud = connector(sb), connector(sb, trigger=("workflow",))
    r1 = quiet.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": "Quiet"}, idempotency_key="t1")])[0]
    r2 = loud.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": "Loud"}, idempotency_key="t2")])[0]
    fired = {rid: trig for _, rid, trig in sb.state.automation}
    assert fired[r1.target_id] == () and fired[r2.target_id] == ("workflow",)


def test_update_and_delete_need_a_key_and_unknown_ids_fail_per_record(sb) -> None:
    c = connector(sb)
    sb.app.reset_stats()
    res = c.write("Products", [Change(op="update", entity="Products", fields={"Description": "x"}, idempotency_key="k1"),
                               Change(op="update", entity="Products", key="999", fields={"Description": "x"}, idempotency_key="k2"),
                               Change(op="delete", entity="Products", key="998", idempotency_key="k3")])
    assert [r.ok for r in res] == [False, False, False]
    assert res[0].error.field == "id" and "update" not in sb.app.stats.by_route or sb.app.stats.by_route["update"] == 1
    assert res[1].error.code == "INVALID_DATA" and res[2].error.code == "INVALID_DATA"


def test_mixed_operations_keep_their_order(sb) -> None:
    c = connector(sb)
    made = c.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": f"Mix {i}"},
                                       idempotency_key=f"m{i}") for i in range(2)])
    changes = [Change(op="delete", entity="Products", key=made[0].target_id, idempotency_key="x1"),
               Change(op="create", entity="Products", fields={"Product_Name": "Mix new"}, idempotency_key="x2"),
               Change(op="update", entity="Products", key=made[1].target_id, fields={"Unit_Price": 3.5}, idempotency_key="x3")]
    res = c.write("Products", changes)
    assert [r.change.idempotency_key for r in res] == ["x1", "x2", "x3"] and all(r.ok for r in res)
    assert sb.record("Products", made[1].target_id)["Unit_Price"] == 3.5


def test_injected_partial_batch_failure_and_whole_call_failure(sb) -> None:
    c = connector(sb)
    sb.app.faults.script("partial_batch")
    res = c.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": f"F{i}"}, idempotency_key=f"f{i}")
                               for i in range(3)])
    assert [r.ok for r in res] == [False, True, True]
    sb.app.faults.script("500")                 # not retried by the session: the whole call fails
    res = c.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": f"G{i}"}, idempotency_key=f"g{i}")
                               for i in range(3)])
    assert not any(r.ok for r in res) and all(isinstance(r.error, TransientError) for r in res)


def test_credit_limit_is_a_transient_error() -> None:
    s = sandbox(30, credits_per_day=10)
    try:
        c = connector(s)
        c.entities()                              # 1 modules + 7 modules' fields + 2 subforms = 10 credits: all used
        with pytest.raises(TransientError) as exc:
            list(c.read("Accounts"))
        assert exc.value.code == "TOO_MANY_REQUESTS"
        res = c.write("Accounts", [Change(op="create", entity="Accounts", fields={"Account_Name": "Z"}, idempotency_key="c1")])
        assert not res[0].ok and isinstance(res[0].error, TransientError)
    finally:
        s.stop()


def test_auth_failure_after_refresh_reaches_every_result(sb) -> None:
    c = connector(sb)
    c.entities()
    sb.app.faults.expire_tokens(2)              # the first call and its one re-send after the refresh
    res = c.write("Products", [Change(op="create", entity="Products", fields={"Product_Name": "A"}, idempotency_key="a1"),
                               Change(op="create", entity="Products", fields={"Product_Name": "B"}, idempotency_key="a2")])
    assert all(isinstance(r.error, AuthError) for r in res)


def test_a_sales_order_created_without_subject_gets_one_from_its_erp_number_or_po(sb) -> None:
    """Zoho requires Subject on Sales_Orders (MANDATORY_NOT_FOUND otherwise); the canonical order has none, so the
    connector writes "Order <ERP number>" (or "Order <PO>"), unless the record sets it or ``subjects`` says else."""
    c = connector(sb)
    account = next(iter(sb.state.modules["Accounts"].records))
    product = next(iter(sb.state.modules["Products"].records))
    base = {"Account_Name": {"id": account}, "Status": "Created",
            "Ordered_Items": [{"Product_Name": {"id": product}, "Quantity": 2, "List_Price": 10.0}]}
    res = c.write("Sales_Orders", [
        Change(op="create", entity="Sales_Orders", fields={**base, "ERP_Order_Number": "4500000042"}, idempotency_key="s1"),
        Change(op="create", entity="Sales_Orders", fields={**base, "Purchase_Order": "PO-77"}, idempotency_key="s2"),
        Change(op="create", entity="Sales_Orders", fields={**base, "Subject": "Mine"}, idempotency_key="s3")])
    assert all(r.ok for r in res), [r.error for r in res]
    assert [sb.record("Sales_Orders", r.target_id)["Subject"] for r in res] == ["Order 4500000042", "Order PO-77", "Mine"]
    bare = connector(sb, subjects={})
    [refused] = bare.write("Sales_Orders", [Change(op="create", entity="Sales_Orders", fields=base, idempotency_key="s4")])
    assert not refused.ok and (refused.error.code, refused.error.details.get("api_name")) == (
        "MANDATORY_NOT_FOUND", "Subject")
    # a user renames the order in Zoho; an upsert of that known record (its id as key) keeps the user's Subject
    with sb.state.lock:
        sb.state.modules["Sales_Orders"].records[res[0].target_id]["Subject"] = "Renamed by a rep"
    [kept] = c.write("Sales_Orders", [Change(op="upsert", entity="Sales_Orders", key=res[0].target_id,
                                             fields={"Status": "Approved", "ERP_Order_Number": "4500000042"},
                                             idempotency_key="s5")])
    assert kept.ok, kept.error
    assert sb.record("Sales_Orders", res[0].target_id)["Subject"] == "Renamed by a rep"
