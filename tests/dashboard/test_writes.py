"""The queued-writes page: each open write with the reason it has not gone, and the overview's one line."""
from __future__ import annotations

import datetime as dt
import re

from concord.hub.dashboard.evidence import read as read_evidence
from concord.hub.dashboard.svg import sparkline
from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import SECRET, op_headers

H = op_headers()


def _queue(filled) -> dict[str, int]:
    """Open writes in each state the page explains (as the push leaves them)."""
    now = dt.datetime.now(dt.timezone.utc)
    nord, blue = filled.ids["nordwind"], filled.ids["bluepeak"]
    base = {"run_id": 1, "target_entity": "contacts", "fields": {}, "attempts": 0, "created_at": now, "updated_at": now}
    rows = {
        "queued": {"entity": "account", "system": "crm", "golden_id": nord, "op": "update", "target_id": "acc-1",
                   "canonical": {"phone": "+49401234500"}, "status": "pending"},
        "waiting": {"entity": "contact", "system": "crm", "golden_id": "c-w", "op": "create", "canonical": {"email": "w@x"},
                    "status": "pending", "last_error": {"kind": "waiting",
                                                        "message": f"waits for account {nord} to be written to crm"}},
        "blocked": {"entity": "contact", "system": "erp", "golden_id": "c-b", "op": "create", "canonical": {"email": "b@x"},
                    "status": "pending", "last_error": {"kind": "blocked", "message":
                                                        "no sync rule writes account to erp, so account x never reaches it"}},
        "retrying": {"entity": "account", "system": "erp", "golden_id": blue, "op": "update", "target_id": "C2",
                     "canonical": {"credit_limit": "1"}, "status": "failed", "attempts": 2,
                     "next_attempt_at": now + dt.timedelta(hours=1),
                     "last_error": {"kind": "transient", "message": f"503 Service Unavailable token={SECRET}"}},
        "stalled": {"entity": "account", "system": "crm", "golden_id": blue, "op": "update", "target_id": "acc-2",
                    "canonical": {"name": "B"}, "status": "sending", "claimed_by": "gone-host/1/0",
                    "lease_until": now - dt.timedelta(minutes=1)},
    }
    ids = {}
    with filled.warehouse.tx() as conn:
        for k, r in rows.items():
            ids[k] = conn.execute(T.outbox.insert().values(
                **{**base, **r, "idempotency_key": f"dash-writes-{k}"})).inserted_primary_key[0]
    return ids


def test_every_open_write_says_why_it_waits(client, filled) -> None:
    ids = _queue(filled)
    html = client.get("/writes", headers=H).text
    assert "Queued writes" in html and SECRET not in html
    for kind, oid in ids.items():
        row = re.search(rf'<tr id="w-{oid}"[^>]*data-kind="([a-z]+)"', html)
        assert row and row.group(1) == kind, (kind, row and row.group(1))
    assert "goes with the next push to crm" in html
    assert "waits for account" in html and "no sync rule writes account to erp" in html
    assert "attempt 2 failed (503 Service Unavailable" in html and "tried again after" in html
    assert "the next push takes it again" in html
    # by target: the waiting summary of `concord status`, with counts
    assert 'data-target="erp.contact"' in html and "<b>blocked</b>" in html
    blocked = client.get("/writes?kind=blocked", headers=H).text
    assert f'id="w-{ids["blocked"]}"' in blocked and f'id="w-{ids["queued"]}"' not in blocked
    only_crm = client.get("/writes?system=crm&status=pending", headers=H).text
    assert f'id="w-{ids["queued"]}"' in only_crm and f'id="w-{ids["blocked"]}"' not in only_crm
    assert f'id="w-{ids["stalled"]}"' not in only_crm
    assert client.get("/writes?kind=nonsense&status=x", headers=H).status_code == 200   # unknown filters: all


def test_a_used_up_budget_is_the_reason(client, filled) -> None:
    ids = _queue(filled)
    with filled.warehouse.tx() as conn:   # crm's daily budget is 5 calls: a run today used 7
        conn.execute(T.run_stream.insert().values(run_id=1, system="crm", entity="budget-probe", direction="pull",
                                                  status="success", api_calls=7,
                                                  started_at=dt.datetime.now(dt.timezone.utc)))
    project = filled.project
    crm = project.config.systems["crm"]
    object.__setattr__(crm, "daily_budget", 5)
    try:
        html = client.get("/writes", headers=H).text
        row = re.search(rf'<tr id="w-{ids["queued"]}".*?</tr>', html, re.S).group(0)
        assert 'data-kind="budget"' in row and "daily API budget of crm is used up (7 of 5 calls)" in row
        over = client.get("/", headers=H).text
        assert 'data-state="failing"' in over and "API budget used up: crm" in over
    finally:
        object.__setattr__(crm, "daily_budget", None)


def test_overview_answers_in_one_line(client, filled) -> None:
    html = client.get("/", headers=H).text
    line = re.search(r'<p class="verdict[^"]*" data-state="([^"]+)">(.*?)</p>', html, re.S)
    assert line is not None
    assert line.group(1) == "needs attention"                 # the fixture holds conflicts and a dead letter
    text = re.sub(r"<[^>]+>", "", line.group(2))
    assert "2 open conflicts" in text and "1 dead letter" in text and "1 pair to review" in text
    assert re.search(r"lag\s+erp [^,]+,\s*crm", text) and "API budget" in text
    assert 'href="/writes"' in html
    # plots with axes: two axis lines and the first/last run under each
    assert html.count('class="axis"') >= 2 * 5 * 4 and ">#1</text>" in html


def test_a_failing_stream_makes_the_line_say_no(client, filled) -> None:
    with filled.warehouse.tx() as conn:
        now = dt.datetime.now(dt.timezone.utc)
        rid = conn.execute(T.run.insert().values(mode="sync", status="failed", started_at=now,
                                                 finished_at=now)).inserted_primary_key[0]
        conn.execute(T.run_stream.insert().values(run_id=rid, system="crm", entity="contact", direction="pull",
                                                  status="failed", error="auth: 401", started_at=now, finished_at=now))
    html = client.get("/", headers=H).text
    assert 'data-state="failing"' in html and "No: failing" in html and "crm.contact pull" in html


def test_sparkline_has_axes_and_labels() -> None:
    svg = sparkline([3, None, 5, 9], label="in", x_labels=["#4", "#9"])
    assert svg.count('class="axis"') == 2 and ">#4</text>" in svg and ">#9</text>" in svg
    assert ">9</text>" in svg and ">0</text>" in svg and svg.count("<circle") == 3
    assert "no runs yet" in sparkline([None, None], label="x")


def test_evidence_reads_every_shape() -> None:
    fuzzy = read_evidence({"rule": "name_city", "type": "fuzzy", "fields": {"name": 0.93, "city": 0.4}, "total": 0.86,
                           "link_at": 0.9, "review_at": 0.75, "candidates": 3,
                           "runner_up": {"golden_id": "g9", "total": 0.7}},
                          {"name": "Nordwind GmbH", "city": "Hamburg"}, {"name": "Nordwind", "city": "Bremen"})
    rows = {r.field: r for r in fuzzy.rows}
    assert rows["name"].score == "0.93" and rows["name"].agrees and rows["city"].agrees is False
    assert rows["city"].record == "Hamburg" and rows["city"].candidate == "Bremen"
    assert "score 0.86" in fuzzy.headline and "links at 0.90, review from 0.75" in fuzzy.headline
    assert "runner-up g9 at 0.70" in fuzzy.headline and fuzzy.other == []
    fs = read_evidence({"rule": "fs", "type": "fuzzy", "fields": {"email": 6.2, "phone": -2.0},
                        "levels": {"email": "exact", "phone": "different"}, "match_weight": 4.1, "probability": 0.94,
                        "explain": ["email: the same (+6.2 bits, 74x for the same entity)", "postcode: not compared",
                                    "prior -3.0 bits; total +4.1 bits: match probability 0.94"]})
    rows = {r.field: r for r in fs.rows}
    assert fs.kind == "probabilistic" and rows["email"].score == "+6.2 bits" and rows["email"].comparison == "exact"
    assert rows["phone"].agrees is False and "74x" in rows["email"].words and rows["postcode"].comparison == "not compared"
    exact = read_evidence({"rule": "tax_id", "type": "exact", "fields": ["tax_id"], "key": "de811"}, {"tax_id": "DE811"})
    assert exact.rows[0].comparison == "same key" and "same key de811" in exact.headline
    old = read_evidence({"name": {"score": 0.78}, "api_key": SECRET})
    assert [r.field for r in old.rows] == ["name"] and SECRET not in str(old.other)
