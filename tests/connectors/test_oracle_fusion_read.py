"""Reads against the sandbox: envelope, paginators, ties, concurrent updates, children, lookback, auth, errors."""
from __future__ import annotations

import pytest
import requests

from concord.hub.contracts import Cursor
from concord.hub.errors import ConfigError
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.config import DEFAULT_RESOURCES
from concord.connectors.oracle_fusion.read import KeysetPaginator, OffsetPaginator
from concord.connectors.oracle_fusion.sandbox import start
from tests.connectors.test_oracle_fusion_contract import make_connector

ACC = "customerAccounts"
URL = "/crmRestApi/resources/11.13.18.05/customerAccounts"


@pytest.fixture
def sandbox():
    sb = start(World(11, 40), resources=("customerAccounts", "salesOrdersForOrderHub"))
    yield sb
    sb.stop()


def raw(sb, path=URL, version="4", **params):
    s = requests.Session()
    s.trust_env = False
    c = sb.credentials
    return s.get(sb.base_url + path, params=params, auth=(c["user"], c["password"]),
                 headers={"REST-Framework-Version": version})


def ids(pages):
    return [r["CustomerAccountId"] for p in pages for r in p.records]


# ---- the wire envelope ---------------------------------------------------------------------------
def test_envelope_count_is_page_size_and_total_only_when_asked(sandbox) -> None:
    body = raw(sandbox).json()
    assert body["limit"] == 25 and body["count"] == 25 and body["hasMore"] is True and "totalResults" not in body
    assert body["links"][0]["rel"] == "self" and "links" in body["items"][0]
    body = raw(sandbox, limit=10, offset=30, totalResults="true", onlyData="true").json()
    n = sandbox.state.count(ACC)
    assert body["count"] == n - 30 and body["hasMore"] is False and body["totalResults"] == n
    assert "links" not in body and "links" not in body["items"][0]


def test_fields_and_limit_cap(sandbox) -> None:
    body = raw(sandbox, fields="CustomerAccountId,AccountName;customerAccountSites:City", expand="customerAccountSites",
               limit=900, onlyData="true").json()
    assert body["limit"] == 500
    item = body["items"][0]
    assert set(item) == {"CustomerAccountId", "AccountName", "customerAccountSites"}
    assert set(item["customerAccountSites"]["items"][0]) == {"City"}


# ---- paginators on their own --------------------------------------------------------------------
def test_offset_paginator_moves_by_count() -> None:
    p = OffsetPaginator(3, "Status=A")
    assert p.params() == {"limit": 3, "offset": 0, "q": "Status=A"}
    assert p.advance({"count": 3, "hasMore": True}, {}) is True and p.params()["offset"] == 3
    assert p.advance({"count": 1, "hasMore": False}, {}) is False


def test_keyset_paginator_asks_strictly_after_the_last_row() -> None:
    p = KeysetPaginator(3, 4, "LastUpdateDate", "Id", int, None, "Status = 'A'")
    assert p.params() == {"limit": 3, "offset": 0, "q": "Status = 'A'"}
    assert p.advance({"hasMore": True}, {"LastUpdateDate": "2026-01-01T00:00:00.000+00:00", "Id": "9"})
    assert p.params()["q"] == ("Status = 'A' and (LastUpdateDate > '2026-01-01T00:00:00.000+00:00' or "
                               "(LastUpdateDate = '2026-01-01T00:00:00.000+00:00' and Id > 9))")
    assert p.advance({"hasMore": False}, {"LastUpdateDate": "x", "Id": 1}) is False


# ---- reading -------------------------------------------------------------------------------------
@pytest.mark.parametrize("version,paging", [(4, "auto"), (4, "offset"), (1, "auto")])
def test_full_read_is_ordered_complete_and_checkpointed(sandbox, version, paging) -> None:
    conn = make_connector(sandbox, version=version, paging=paging)
    pages = list(conn.read(ACC))
    rows = [r for p in pages for r in p.records]
    assert len(rows) == sandbox.state.count(ACC) == len({r["CustomerAccountId"] for r in rows})
    keys = [(r["LastUpdateDate"], r["CustomerAccountId"]) for r in rows]
    assert keys == sorted(keys)
    assert [p.snapshot_complete for p in pages] == [False] * (len(pages) - 1) + [True]
    last = rows[-1]
    assert pages[-1].checkpoint == Cursor(value=last["LastUpdateDate"], key=str(last["CustomerAccountId"]))
    assert isinstance(rows[0]["CreditLimit"], str), "decimals stay strings"
    assert isinstance(rows[0]["customerAccountSites"], list), "children come as lists"


def _tie(sandbox, keys, ts="2026-12-01T00:00:00.000+00:00"):
    t = sandbox.state.tables[ACC]
    with sandbox.state.lock:
        for k in keys:
            t.put({**t.rows[k], "LastUpdateDate": ts})


@pytest.mark.parametrize("version", [4, 2, 1])
def test_ties_across_page_boundaries_are_neither_lost_nor_duplicated(sandbox, version) -> None:
    t = sandbox.state.tables[ACC]
    tied = sorted(t.rows)[:17]                       # 17 rows share one timestamp: page size is 7
    _tie(sandbox, tied)
    conn = make_connector(sandbox, version=version)
    got = ids(conn.read(ACC))
    assert sorted(got) == sorted(t.rows) and len(got) == len(set(got))
    # resume in the middle of the tie: the rows from the checkpoint key on come back (inclusive)
    since = Cursor(value="2026-12-01T00:00:00.000+00:00", key=str(tied[8]))
    again = ids(conn.read(ACC, since=since))
    expected = tied[8:] if version >= 2 else tied        # framework 1 cannot tie-break: it re-reads the whole tie
    assert again == expected


def test_keyset_paging_does_not_skip_rows_updated_during_the_read(sandbox) -> None:
    conn = make_connector(sandbox, version=4)
    seen, touched = [], False
    for page in conn.read(ACC):
        seen += [r["CustomerAccountId"] for r in page.records]
        if not touched:
            sandbox.state.touch(ACC, page.records[0]["CustomerAccountId"], AccountName="Edited meanwhile")
            touched = True
    assert set(seen) == set(sandbox.state.tables[ACC].rows)


def test_offset_paging_is_what_framework_1_gets_and_it_can_skip(sandbox) -> None:
    """Why keyset is the default from framework 2: offsets shift when an earlier row moves to the end."""
    conn = make_connector(sandbox, version=1)
    seen, touched = [], False
    for page in conn.read(ACC):
        seen += [r["CustomerAccountId"] for r in page.records]
        if not touched:
            sandbox.state.touch(ACC, page.records[0]["CustomerAccountId"], AccountName="Edited meanwhile")
            touched = True
    assert len(set(seen)) == sandbox.state.count(ACC) - 1      # one row slid under the offset
    # ...and the next incremental run, inclusive from the last checkpoint, does not bring it back either
    # (the moved row is read again, the skipped one is older): full reads reconcile that.


def test_incremental_read_sees_a_change_and_lookback_rereads_a_window(sandbox) -> None:
    conn = make_connector(sandbox, version=4)
    cp = [p.checkpoint for p in conn.read(ACC)][-1]
    key = sorted(sandbox.state.tables[ACC].rows)[3]
    sandbox.state.touch(ACC, key, PaymentTerms="NET60")
    assert ids(conn.read(ACC, since=cp))[-1] == key
    wide = make_connector(sandbox, version=4, lookback_seconds=400 * 86400)
    assert len(ids(wide.read(ACC, since=cp))) == sandbox.state.count(ACC)


@pytest.mark.parametrize("version", [2, 3, 4])
def test_children_beyond_the_nested_page_are_read_by_their_link(sandbox, version) -> None:
    store = sandbox.state
    items = [r["ItemNumber"] for r in store.tables["itemsV2"].rows.values()
             if r.get("ItemStatusValue") != "Inactive"] or [f"MAT-{i:06d}" for i in range(1, 31)]
    party = next(iter(store.tables["customerAccounts"].rows.values()), {}).get("PartyNumber") or "CDRM_1"
    row = store.create("salesOrdersForOrderHub", {
        "SourceTransactionSystem": "CRM", "SourceTransactionId": "BIG-1", "SourceTransactionNumber": "BIG-1",
        "BuyingPartyNumber": party,
        "lines": [{"ProductNumber": items[i % len(items)], "OrderedQuantity": 1, "UnitSellingPrice": 2.5,
                   "SourceTransactionLineNumber": str(i)} for i in range(1, 31)]})
    conn = make_connector(sandbox, version=version)
    before = sandbox.app.stats.by_route.get("child", 0)
    orders = [r for p in conn.read("salesOrdersForOrderHub") for r in p.records]
    big = next(o for o in orders if o["OrderKey"] == row["OrderKey"])
    assert len(big["lines"]) == 30 and big["TotalAmount"] == "75.0"
    assert sandbox.app.stats.by_route.get("child", 0) - before == (1 if version >= 3 else 0)


def test_expired_oauth_token_is_refreshed_mid_read(sandbox) -> None:
    conn = make_connector(sandbox, version=4, oauth=True)
    pages = iter(conn.read(ACC))
    first = next(pages)
    sandbox.app.faults.expire_tokens()
    rest = [r for p in pages for r in p.records]
    assert len(first.records) + len(rest) == sandbox.state.count(ACC)
    assert sandbox.app.stats.by_route["token"] == 2


@pytest.mark.parametrize("version,fragment", [(4, "attribute Bogus is not queryable"), (1, "q query parameter is invalid")])
def test_bad_filter_is_a_config_error_with_the_vendor_message(sandbox, version, fragment) -> None:
    bad = "Bogus = 1" if version >= 2 else "Bogus=1"
    resources = {**DEFAULT_RESOURCES, ACC: DEFAULT_RESOURCES[ACC].model_copy(update={"filter": bad})}
    conn = make_connector(sandbox, version=version, resources=resources)
    with pytest.raises(ConfigError, match=fragment):
        list(conn.read(ACC))


def test_wrong_resource_path_is_named_by_check(sandbox) -> None:
    resources = {**DEFAULT_RESOURCES, ACC: DEFAULT_RESOURCES[ACC].model_copy(
        update={"path": "crmRestApi/resources/11.13.18.05/customerAccountz"})}
    with pytest.raises(ConfigError, match="customerAccountz"):
        make_connector(sandbox, resources=resources).check()


def test_https_with_a_ca_file() -> None:
    sb = start(World(11, 5), tls=True, resources=("customerAccounts",))
    try:
        conn = make_connector(sb, version=4, ca_file=sb.server.ca_file)
        conn.check()
        assert len(ids(conn.read(ACC))) == sb.state.count(ACC)
    finally:
        sb.stop()


def test_a_fault_storm_still_reads_everything(sandbox) -> None:
    sandbox.app.faults.config.rate = 0.3
    sandbox.app.faults.config.kinds = ("429", "503", "drop", "latency", "token_expiry")
    sandbox.app.faults.config.latency_s = 0.001
    try:
        conn = make_connector(sandbox, version=4, oauth=True)
        assert len(ids(conn.read(ACC))) == sandbox.state.count(ACC)
        assert sum(sandbox.app.faults.injected.values()) > 0
    finally:
        sandbox.app.faults.config.rate = 0.0


def test_a_framework_version_the_pod_refuses_is_a_config_error(sandbox, monkeypatch) -> None:
    from concord.connectors.oracle_fusion.sandbox import wire
    monkeypatch.setattr(wire, "ALLOWED_VERSIONS", ("1", "2", "3", "4"))
    with pytest.raises(ConfigError, match="framework version 7 is not supported"):
        make_connector(sandbox, version=7).check()
