"""The dashboard in a real headless Chromium (Debian's chromium through Playwright's Python package).

Serves the app with uvicorn on loopback against a warehouse filled by a real sync, signs in through
the login form, opens every page, resolves a conflict and retries a dead letter by clicking, and saves
screenshots under test-artifacts/dashboard/.
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import ARTIFACTS, CHROMIUM, OP_TOKEN, READ_TOKEN, SECRET

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason=f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)")]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(page: Any, base: str, token: str, path: str = "/") -> None:
    resp = page.goto(base + path)
    assert resp.status == 401 and page.locator('input[name="token"]').count() == 1
    page.fill('input[name="token"]', token)
    page.click('button[type="submit"]')
    page.wait_for_load_state()


def _nav(page: Any, base: str, label: str, path: str) -> None:
    """Click a navigation link and wait until its page has loaded: a locator's count() does not wait,
    so without this a loaded machine counts the rows of the page being left."""
    page.click(f"nav >> text={label}")
    page.wait_for_url(base + path)
    page.wait_for_load_state()


def test_operator_walks_every_page_and_acts(server: str, browser: Any, filled: Any) -> None:
    ids = filled.ids
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, server, OP_TOKEN)
    assert page.url == server + "/" and "Is everything in sync?" in page.content()
    assert page.locator("article.tile.stream").count() == 4 and page.locator("svg.spark").count() >= 20
    _shot(page, "overview")

    _nav(page, server, "Runs", "/runs")
    assert page.locator("table.list tbody tr").count() >= 1
    _shot(page, "runs")
    page.click('a[href="/runs/1"]')
    page.wait_for_url(server + "/runs/1")
    assert "Run #1" in page.content()
    _shot(page, "run")

    _nav(page, server, "Records", "/records")
    page.fill('input[name="q"]', "nord")
    page.click('form.search button')
    page.click("text=Nordwind Logistik GmbH")
    page.wait_for_selector("text=Side by side")
    content = page.content()
    assert "Side by side" in content and "SO-4711" in content and "INV-9001" in content
    assert page.locator("td.diff").count() >= 0 and page.locator("table.grid tbody tr").count() > 5
    _shot(page, "record-360")

    _nav(page, server, "Conflicts", "/conflicts")
    art = page.locator(f"#conflict-{ids['conflict']}")
    art.locator('input[value="right"]').check()
    art.locator('button:has-text("resolve")').click()
    page.wait_for_load_state()
    assert "resolved with the right value" in page.locator(".flash.ok").inner_text()
    _shot(page, "conflicts-after-resolve")

    _nav(page, server, "Quarantine", "/quarantine")
    assert SECRET not in page.content() and "acc-bad-1" in page.content()
    page.locator(f"#q-{ids['quarantine']} details summary").click()
    _shot(page, "quarantine")
    page.locator(f"#d-{ids['dead']} button:has-text('retry')").click()
    page.wait_for_load_state()
    assert "queued again" in page.locator(".flash.ok").inner_text()
    _shot(page, "dead-letter-retried")

    _nav(page, server, "Match review", "/review")
    assert page.locator(f"#pair-{ids['review']}").count() == 1
    _shot(page, "review")
    page.locator(f"#pair-{ids['review']} button:has-text('confirm')").click()
    page.wait_for_selector("text=manual link recorded")

    with filled.warehouse.tx() as conn:
        assert conn.execute(select(T.conflict.c.resolution).where(T.conflict.c.id == ids["conflict"])).scalar()["side"] == "right"
        assert conn.execute(select(T.outbox.c.status).where(T.outbox.c.id == ids["dead"])).scalar() == "pending"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    ctx.close()


def test_read_only_user_sees_no_actions(server: str, browser: Any, filled: Any) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, server, READ_TOKEN, "/quarantine")
    assert page.url == server + "/quarantine" and "read-only" in page.content()
    assert page.locator("button:has-text('retry')").count() == 0
    page.goto(server + "/conflicts")
    assert page.locator("form.resolve").count() == 0
    _shot(page, "read-only-conflicts")
    ctx.close()
