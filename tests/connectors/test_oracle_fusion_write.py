"""Writes against the sandbox: all-or-none batches with isolation, ETags, upsert, delete, both error formats."""
from __future__ import annotations

import pytest

from concord.hub.contracts import Change
from concord.hub.errors import RecordError, StaleRecordError, TransientError
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.sandbox import start
from tests.connectors.test_oracle_fusion_contract import make_connector

ACC = "customerAccounts"


@pytest.fixture
def sandbox():
    sb = start(World(5, 20), resources=("customerAccounts", "itemsV2", "salesOrdersForOrderHub", "receivablesInvoices"))
    yield sb
    sb.stop()


def ch(op: str, n: int, fields: dict, key: str | None = None, etag: str | None = None, entity: str = ACC) -> Change:
    return Change(op=op, entity=entity, key=key, fields=fields, idempotency_key=f"idem-{op}-{n}", golden_id=f"G-{n}",
                  etag=etag)


def good(n: int) -> dict:
    return {"AccountName": f"Batch {n} Ltd", "CurrencyCode": "GBP"}


def batches(sb) -> int:
    return sb.app.stats.by_route.get("batch", 0)


@pytest.mark.parametrize("version", [4, 1])
def test_failing_parts_are_isolated_and_the_rest_resent(sandbox, version) -> None:
    conn = make_connector(sandbox, version=version)
    before, calls = sandbox.state.count(ACC), batches(sandbox)
    changes = [ch("create", 1, good(1)), ch("create", 2, {"CurrencyCode": "EUR"}), ch("create", 3, good(3)),
               ch("create", 4, {**good(4), "Status": "Z"}), ch("create", 5, good(5))]
    results = conn.write(ACC, changes)
    assert [r.change.idempotency_key for r in results] == [c.idempotency_key for c in changes]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert sandbox.state.count(ACC) == before + 3
    assert batches(sandbox) - calls == 2, "one all-or-none answer, one re-send of the good parts"
    missing, lov = results[1].error, results[3].error
    assert isinstance(missing, RecordError) and "JBO-27014" in missing.message and "AccountName" in missing.message
    assert "G-2" in missing.message and missing.record_id == "G-2"
    assert isinstance(lov, RecordError) and "Status" in lov.message
    if version >= 4:
        assert missing.code == "JBO-27014" and missing.field == "AccountName"
    ok = results[0]
    row = sandbox.state.get(ACC, int(ok.target_id))
    assert row["AccountName"] == "Batch 1 Ltd" and row["OrigSystemReference"] == "G-1" and ok.created is True


def test_a_second_round_failure_is_isolated_too(sandbox) -> None:
    conn = make_connector(sandbox)
    sandbox.app.faults.script("partial_batch")     # the first part of the first round fails (injected)
    results = conn.write(ACC, [ch("create", i, good(i)) for i in range(1, 5)] + [ch("create", 9, {"CurrencyCode": "X"})])
    assert [r.ok for r in results] == [False, True, True, True, False]
    assert "injected failure" in results[0].error.message


def test_batches_are_cut_at_batch_size(sandbox) -> None:
    conn = make_connector(sandbox, batch_size=10)
    calls = batches(sandbox)
    results = conn.write(ACC, [ch("create", i, good(i)) for i in range(25)])
    assert all(r.ok for r in results) and batches(sandbox) - calls == 3


def test_update_with_etag_uses_if_match_and_a_stale_one_is_refused(sandbox) -> None:
    conn = make_connector(sandbox, only_data=False)
    rec = next(iter(conn.read(ACC))).records[0]
    key = str(rec["CustomerAccountId"])
    etag = rec["links"][0]["properties"]["changeIndicator"]
    [res] = conn.write(ACC, [ch("update", 1, {"PaymentTerms": "NET14"}, key=key, etag=etag)])
    assert res.ok and res.target_id == key and sandbox.app.stats.by_route["update"] == 1
    [stale] = conn.write(ACC, [ch("update", 2, {"PaymentTerms": "NET90"}, key=key, etag=etag)])
    assert not stale.ok and isinstance(stale.error, StaleRecordError)
    assert sandbox.state.get(ACC, int(key))["PaymentTerms"] == "NET14"


def test_update_without_etag_and_delete_go_in_one_batch(sandbox) -> None:
    conn = make_connector(sandbox)
    keys = [str(k) for k in sorted(sandbox.state.tables[ACC].rows)[:3]]
    calls = batches(sandbox)
    results = conn.write(ACC, [ch("update", 1, {"CreditLimit": 1234.5}, key=keys[0]), ch("delete", 2, {}, key=keys[1]),
                               ch("update", 3, {"AccountNumber": "X"}, key=keys[2]), ch("update", 4, {"AccountName": "x"})])
    assert [r.ok for r in results] == [True, True, False, False]
    assert batches(sandbox) - calls == 2
    assert "cannot be set" in results[2].error.message and "needs the target key" in results[3].error.message
    assert sandbox.state.get(ACC, int(keys[1])) is None
    assert sandbox.state.get(ACC, int(keys[0]))["CreditLimit"] == 1234.5


def test_upsert_updates_by_external_id_or_creates(sandbox) -> None:
    """A lone change is a plain call: POST with Upsert-Mode: true, 201 when created, 200 when updated."""
    conn = make_connector(sandbox)
    calls = batches(sandbox)
    [first] = conn.write(ACC, [ch("upsert", 7, good(7))])
    assert first.ok and first.created is True
    [second] = conn.write(ACC, [ch("upsert", 7, {"AccountName": "Batch 7 Renamed"})])
    assert second.ok and second.created is False and second.target_id == first.target_id
    assert sandbox.state.get(ACC, int(first.target_id))["AccountName"] == "Batch 7 Renamed"
    assert batches(sandbox) == calls and sandbox.app.stats.by_route["create"] == 2


def test_item_upsert_matches_on_item_number_and_organization(sandbox) -> None:
    conn = make_connector(sandbox)
    existing = next(iter(sandbox.state.tables["itemsV2"].rows.values()))
    [res] = conn.write("itemsV2", [ch("upsert", 1, {"ItemNumber": existing["ItemNumber"], "OrganizationCode": "MST",
                                                    "ListPrice": 99.5}, entity="itemsV2")])
    assert res.ok and res.created is False and res.target_id == str(existing["ItemId"])


def test_sales_order_with_lines_and_an_invoice(sandbox) -> None:
    conn = make_connector(sandbox)
    [order] = conn.write("salesOrdersForOrderHub", [ch("create", 1, {
        "SourceTransactionSystem": "CRM", "SourceTransactionNumber": "SO-1", "TransactionalCurrencyCode": "EUR",
        "billToCustomer": [{"CustomerAccountId": next(iter(sandbox.state.tables["customerAccounts"].rows))}],
        "lines": [{"ProductNumber": next(r["ItemNumber"] for r in sandbox.state.tables["itemsV2"].rows.values()
                                         if r.get("ItemStatusValue") != "Inactive"),
                   "OrderedQuantity": 3, "UnitSellingPrice": 10}]},
        entity="salesOrdersForOrderHub")])
    assert order.ok and order.target_id == "CRM:G-1"
    assert sandbox.state.get("salesOrdersForOrderHub", "CRM:G-1")["TotalAmount"] == 30.0
    [inv] = conn.write("receivablesInvoices", [ch("create", 2, {
        "TransactionDate": "2026-05-01", "InvoiceCurrencyCode": "EUR", "BillToCustomerNumber": "1000001",
        "EnteredAmount": 30}, entity="receivablesInvoices")])
    assert inv.ok and sandbox.state.get("receivablesInvoices", int(inv.target_id))["InvoiceBalanceAmount"] == 30


def test_a_whole_batch_server_error_fails_every_change_as_transient(sandbox) -> None:
    conn = make_connector(sandbox)
    conn.entities()                                 # describe first, so the fault hits the batch
    sandbox.app.faults.script("500")
    results = conn.write(ACC, [ch("create", 1, good(1)), ch("create", 2, good(2))])
    assert [r.ok for r in results] == [False, False]
    assert all(isinstance(r.error, TransientError) for r in results)
    assert "JBO-29000" in results[0].error.message


def test_throttled_batch_is_retried_by_the_session(sandbox) -> None:
    conn = make_connector(sandbox)
    sandbox.app.faults.script("429", "503")
    results = conn.write(ACC, [ch("create", 1, good(1))])
    assert results[0].ok


def test_secrets_never_appear_in_errors(sandbox) -> None:
    conn = make_connector(sandbox, oauth=True, bad=True)
    with pytest.raises(Exception) as exc:
        conn.check()
    assert "wrong-secret" not in str(exc.value) and "invalid_client" not in repr(conn.config)


def test_a_dropped_batch_connection_fails_the_batch_as_transient_not_as_a_crash(sandbox) -> None:
    conn = make_connector(sandbox)
    conn.entities()
    sandbox.app.faults.script("drop")
    results = conn.write(ACC, [ch("create", 1, good(1)), ch("create", 2, good(2))])
    assert [r.ok for r in results] == [False, False]
    assert isinstance(results[0].error, TransientError) and "re-read before re-sending" in results[0].error.message
