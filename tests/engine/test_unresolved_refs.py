"""A record read before the record it references (a contact before its account: the accounts' pull failed,
or a sync of contacts only) keeps its reference: it is mapped again once the referenced entity's golden
records change, instead of keeping an empty reference until the record itself changes."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores.staging import RawStatus
from tests.conftest import run_cli


def _contacts(url: str) -> tuple[dict[str, str | None], dict[str, str]]:
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            g, r = T.golden.c, T.raw_record.c
            refs = {row.data.get("email"): row.data.get("account_ref")
                    for row in conn.execute(select(g.data).where(g.entity == "contact", g.deleted.is_(False)))}
            status = {f"{row.system}:{row.source_id}": row.status for row in conn.execute(
                select(r.system, r.source_id, r.status).where(r.entity == "contact"))}
        return refs, status
    finally:
        wh.dispose()


def test_contacts_synced_before_their_accounts_get_their_account_ref(starter: Path, database_url: str) -> None:
    first = json.loads(run_cli("sync", "--entity", "contact", "--no-push", "--json", cwd=starter, check=False).stdout)
    assert first["process"]["mapped"] > 0, first
    refs, status = _contacts(database_url)
    assert refs and all(ref is None for ref in refs.values()), refs           # no account known yet
    assert set(status.values()) == {RawStatus.UNRESOLVED}, status
    run_cli("sync", "--no-push", cwd=starter)                                  # accounts, then contacts again
    refs, status = _contacts(database_url)
    assert all(ref for ref in refs.values()), refs                            # every contact has its account
    assert set(status.values()) == {RawStatus.MAPPED}, status
    again = json.loads(run_cli("sync", "--no-push", "--json", cwd=starter).stdout)
    assert again["process"]["mapped"] == 0, again                             # nothing left to map again
