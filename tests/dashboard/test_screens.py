"""Every page in headless Chromium at 1400x1000: its content, no horizontal overflow at 1400 px, and a
screenshot under test-artifacts/screenshots/ (the folder is made here; it is git-ignored)."""
from __future__ import annotations

import os
from typing import Any

import pytest

from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import CHROMIUM, OP_TOKEN, SCREENSHOTS, SECRET
from tests.dashboard.test_writes import _queue
from tests.engine.helpers import cycle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason=f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)")]

WIDTH, HEIGHT = 1400, 1000


def _overflow(page: Any) -> list[str]:
    """Elements that reach past the right edge of a 1400 px window (empty: the page fits)."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth, out = [];
        if (document.documentElement.scrollWidth > w) out.push('document ' + document.documentElement.scrollWidth);
        for (const el of document.querySelectorAll('main *')) {
            const r = el.getBoundingClientRect();
            if (r.width && r.right > w + 1 && !el.closest('pre')) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
        }
        return out.slice(0, 10);
    }""")


def _check(page: Any, base: str, path: str, name: str, must: list[str], selectors: dict[str, int]) -> None:
    resp = page.goto(base + path)
    assert resp is not None and resp.status == 200, (path, resp and resp.status)
    text = page.inner_text("main")
    for m in must:
        assert m in text, (path, m)
    for sel, least in selectors.items():
        n = page.locator(sel).count()
        assert n >= least, (path, sel, n)
    assert SECRET not in page.content(), path
    assert _overflow(page) == [], (path, _overflow(page))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _long_evidence(filled: Any) -> None:
    """A decision whose values are long and unbroken (a URL, a key): the record page must still fit."""
    import datetime as dt

    long = "https://crm.example/" + "x" * 180
    with filled.warehouse.tx() as conn:
        conn.execute(T.match_decision.insert().values(
            run_id=1, entity="account", system="crm", source_id="acc-long", golden_id=filled.ids["nordwind"],
            decision="link", rule="fuzzy:name+website", score=0.91, decided_at=dt.datetime.now(dt.timezone.utc),
            evidence={"rule": "name+website", "type": "fuzzy", "fields": {"name": 0.95, "website": 0.88}, "total": 0.91,
                      "link_at": 0.9, "review_at": 0.75, "candidates": 2, "key": long, "note": long}))


def test_every_page_fits_1400_px_and_shows_its_content(server: str, browser: Any, filled: Any, starter: Any,
                                                       database_url: str) -> None:
    for _ in range(4):                  # a few more runs: the plots have points to draw
        cycle(starter, database_url)
    _queue(filled)
    _long_evidence(filled)
    ids = filled.ids
    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                              extra_http_headers={"Authorization": f"Bearer {OP_TOKEN}"})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _check(page, server, "/", "overview", ["Is everything in sync?", "needs attention", "open conflicts", "lag"],
           {"p.verdict": 1, "article.tile.stream": 4, "svg.spark line.axis": 40, "svg.spark text.tick": 40})
    _check(page, server, "/runs", "runs", ["Runs"], {"table.list tbody tr": 1})
    _check(page, server, "/runs/1", "run", ["Where the time went", "unattributed", "wall time", "settle"],
           {"svg.timebar rect.seg": 3, "tr.phase": 8, "table.entities tr[data-entity]": 2})
    bar = page.locator("svg.timebar").bounding_box()
    assert bar is not None and bar["width"] > 1000            # the bar spans the page, not a thumbnail
    _check(page, server, f"/records/account/{ids['nordwind']}", "record",
           ["Side by side", "Why these records are linked", "SO-4711", "Germany"],
           {"table.grid tbody tr": 5, "table.evidence tbody tr": 3})
    _check(page, server, "/writes", "queued-writes", ["Queued writes", "blocked", "waits for account"],
           {"tr[data-kind]": 5, "tr[data-target]": 2})
    _check(page, server, "/conflicts", "conflicts", ["Conflicts", "phone"], {f"#conflict-{ids['conflict']}": 1})
    _check(page, server, "/review", "review", ["Match review", "Evidence"],
           {f"#pair-{ids['review']}": 1, f"#pair-{ids['review']} table.evidence tbody tr": 2})
    _check(page, server, "/quarantine", "quarantine", ["Quarantine", "Dead letters"], {"article.item": 2})
    _check(page, server, "/records?q=nord", "records", ["account records"], {"table.results tbody tr": 1})
    assert not [e for e in errors if "Content Security Policy" in e], errors
    ctx.close()
