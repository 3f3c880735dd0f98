"""Matching inside the sync engine, on the real warehouse: fuzzy links, the review queue, manual link and
unlink overriding the rules (and surviving re-matching), unlink splitting lineage."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concord.hub.config import load_project
from concord.hub.engine import RunContext, run_cycle
from concord.hub.matching import RuleMatcher, manual
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import match_keys
from tests.conftest import run_cli
from tests.engine.helpers import write_csv, write_jsonl

ERP = [
    {"CustomerNo": "C1", "Name1": "Nordwind Logistik GmbH", "VATRegNo": "DE811234567", "Street": "Hafenstraße 12",
     "PostCode": "20457", "City": "Hamburg", "Country": "DE", "CreditLimit": "50.000,00", "PaymentTerms": "NET30",
     "Currency": "EUR", "Phone": "040 1234567", "Email": "info@nordwind.example", "ChangedAt": "2026-11-02T09:00:00",
     "ConcordId": ""},
    {"CustomerNo": "C2", "Name1": "Bluepeak Software AG", "VATRegNo": "DE812345678", "Street": "Leopoldstraße 50",
     "PostCode": "80802", "City": "München", "Country": "DE", "CreditLimit": "1.000,00", "PaymentTerms": "NET45",
     "Currency": "EUR", "Phone": "089 7654321", "Email": "kontakt@bluepeak.example", "ChangedAt": "2026-11-03T10:30:00",
     "ConcordId": ""},
]
CRM = [
    # a typo, no legal form, no identifiers, another street format: a fuzzy link to C1
    {"id": "acc-1", "name": "Nordwnd Logistik", "billing": {"street": "Hafenstr. 12", "zip": "20457", "city": "Hamburg",
     "country": "Germany"}, "phone": "+49 40 1234567", "owner": "j.smith@example.com", "type": "Customer",
     "updated_at": "2026-11-10T12:00:00"},
    # the right name and postcode, another street, no phone: between the thresholds -> review
    {"id": "acc-2", "name": "Bluepeak Software", "billing": {"street": "Isarweg 3", "zip": "80802", "city": "München",
     "country": "Germany"}, "owner": "l.chen@example.com", "type": "Customer", "updated_at": "2026-11-11T08:00:00"},
    # nothing in common with anyone: a new golden record
    {"id": "acc-3", "name": "Kestrel Foods SARL", "billing": {"street": "Rue de la Paix 3", "zip": "75001",
     "city": "Paris", "country": "France"}, "phone": "+33 1 42000000", "owner": "m.rossi@example.com",
     "type": "Prospect", "updated_at": "2026-11-12T08:00:00"},
]


@pytest.fixture
def project(starter: Path) -> Path:
    write_csv(starter / "data/erp/customers.csv", ERP)
    write_jsonl(starter / "data/crm/accounts.jsonl", CRM)
    return starter


def _cycle(folder: Path, url: str) -> Any:
    proj = load_project(folder / "concord.yaml")
    wh = Warehouse.open(url)
    ctx = RunContext.create(proj, wh)
    try:
        return run_cycle(ctx, entities=["account"], push=False)
    finally:
        ctx.close()
        wh.dispose()


class DB:
    def __init__(self, url: str) -> None:
        self.wh = Warehouse.open(url, migrate=False)

    def golden_of(self, system: str, sid: str) -> tuple[str, str]:
        x = T.xref.c
        with self.wh.tx() as c:
            r = c.execute(select(x.golden_id, x.state).where(x.entity == "account", x.system == system,
                                                             x.source_id == sid)).one()
        return r.golden_id, r.state

    def golden(self, gid: str) -> Any:
        with self.wh.tx() as c:
            return c.execute(select(T.golden).where(T.golden.c.entity == "account", T.golden.c.golden_id == gid)).one()

    def lineage(self, gid: str) -> dict[str, tuple[str, str, Any]]:
        with self.wh.tx() as c:
            return {f: (e["system"], e["source_id"], e["value"])
                    for f, e in golden_store.lineage_of(c, "account", gid).items()}

    def decisions(self, sid: str) -> list[Any]:
        md = T.match_decision.c
        with self.wh.tx() as c:
            return list(c.execute(select(T.match_decision).where(md.entity == "account", md.source_id == sid)
                                  .order_by(md.id)))

    def reviews(self) -> list[dict[str, Any]]:
        with self.wh.tx() as c:
            return manual.open_reviews(c, entity="account")

    def dirty(self) -> set[str]:
        with self.wh.tx() as c:
            return {r.golden_id for r in c.execute(select(T.dirty.c.golden_id))}

    def keys(self, gid: str) -> set[int]:
        with self.wh.tx() as c:
            return match_keys.golden_hashes(c, "account", gid)

    def key_names(self, folder: Path, gid: str) -> set[str]:
        """Names of the golden record's keys as the rules give them, checked against the stored hashes."""
        matcher = RuleMatcher(load_project(folder / "concord.yaml").config.entities["account"].match)
        keys = matcher.keys(dict(self.golden(gid).data))
        assert match_keys.hashes(keys) == self.keys(gid)
        return {name for name, _value in keys}


def test_fuzzy_link_review_and_new(project: Path, database_url: str) -> None:
    summary = _cycle(project, database_url)
    assert summary.status == "success", summary.as_dict()
    db = DB(database_url)
    g1, _ = db.golden_of("erp", "C1")
    assert db.golden_of("crm", "acc-1") == (g1, "linked")
    link = db.decisions("acc-1")[-1]
    assert (link.decision, link.rule) == ("link", "company") and link.score >= 0.85
    assert {"name", "phone", "billing_address.street", "billing_address.postal_code"} <= set(link.evidence["fields"])
    assert db.lineage(g1)["owner"][:2] == ("crm", "acc-1")
    assert {"erp_number", "tax_id", "b:name_edits:name", "b:phone:phone"} <= db.key_names(project, g1)
    # the review pair: acc-2 has its own golden record until a person decides
    g2, _ = db.golden_of("erp", "C2")
    own, _ = db.golden_of("crm", "acc-2")
    assert own != g2
    (rev,) = db.reviews()
    assert (rev["source_id"], rev["golden_id"], rev["decision"]) == ("acc-2", g2, "review")
    assert 0.7 <= rev["score"] < 0.85 and rev["evidence"]["own_golden_id"] == own
    assert db.decisions("acc-3")[-1].decision == "new"
    db.wh.dispose()


def test_review_confirm_and_reject_survive_rematching(project: Path, database_url: str) -> None:
    _cycle(project, database_url)
    db = DB(database_url)
    (rev,) = db.reviews()
    own = rev["evidence"]["own_golden_id"]
    out = json.loads(run_cli("review", "confirm", str(rev["id"]), "--json", "--by", "tester", cwd=project).stdout)
    assert out["decision"] == "manual_link"
    g2, state = db.golden_of("crm", "acc-2")
    assert (g2, state) == (rev["golden_id"], "manual")
    assert db.golden(own).deleted                             # the record's own golden record is gone
    assert db.lineage(g2)["owner"][:2] == ("crm", "acc-2")   # lineage recomputed with the new source
    assert db.lineage(g2)["credit_limit"][:2] == ("erp", "C2")
    assert {g2, own} <= db.dirty()
    assert db.reviews() == []
    # a second decision on the same pair is refused
    again = run_cli("review", "reject", str(rev["id"]), cwd=project, check=False)
    assert again.returncode == 2 and "already decided" in again.stderr
    # re-sync with a changed record: the manual link holds
    crm = [dict(r) for r in CRM]
    crm[1]["owner"] = "a.weber@example.com"
    crm[1]["updated_at"] = "2026-11-20T08:00:00"
    write_jsonl(project / "data/crm/accounts.jsonl", crm)
    _cycle(project, database_url)
    assert db.golden_of("crm", "acc-2") == (g2, "manual")
    assert db.golden(g2).data["owner"] == "a.weber@example.com"
    assert [d.decision for d in db.decisions("acc-2")] == ["review", "manual_link"]
    db.wh.dispose()


def test_reject_keeps_records_apart(project: Path, database_url: str) -> None:
    _cycle(project, database_url)
    db = DB(database_url)
    (rev,) = db.reviews()
    run_cli("review", "reject", str(rev["id"]), cwd=project)
    own, state = db.golden_of("crm", "acc-2")
    assert own == rev["evidence"]["own_golden_id"] and state == "manual"
    assert db.reviews() == [] and db.decisions("acc-2")[-1].decision == "manual_unlink"
    db.wh.dispose()


def test_unlink_splits_lineage_and_link_overrides_rules(project: Path, database_url: str) -> None:
    _cycle(project, database_url)
    db = DB(database_url)
    g1, _ = db.golden_of("erp", "C1")
    before = db.golden(g1).data
    assert before["owner"] == "j.smith@example.com"
    out = json.loads(run_cli("unlink", "crm:acc-1", "-e", "account", "--json", cwd=project).stdout)
    new = out["golden_id"]
    assert new != g1 and db.golden_of("crm", "acc-1") == (new, "manual")
    # C1's golden keeps only ERP values and lineage; the new one only the CRM record's
    assert "owner" not in db.golden(g1).data
    assert {s for s, _sid, _v in db.lineage(g1).values()} == {"erp"}
    assert {(s, sid) for s, sid, _v in db.lineage(new).values()} == {("crm", "acc-1")}
    assert db.golden(new).data["name"] == "Nordwnd Logistik"
    assert db.golden(g1).data["name"] == "Nordwind Logistik GmbH"
    assert {g1, new} <= db.dirty() and db.keys(new)
    # re-matching does not undo it, even when the record changes
    crm = [dict(r) for r in CRM]
    crm[0]["phone"] = "+49 40 7654321"
    crm[0]["updated_at"] = "2026-11-21T08:00:00"
    write_jsonl(project / "data/crm/accounts.jsonl", crm)
    _cycle(project, database_url)
    assert db.golden_of("crm", "acc-1") == (new, "manual")
    # a manual link overrides the rules: acc-3 has nothing in common with C1
    run_cli("link", "crm:acc-3", "erp:C1", "-e", "account", cwd=project)
    assert db.golden_of("crm", "acc-3") == (g1, "manual")
    assert db.golden(g1).data["owner"] == "m.rossi@example.com"
    assert db.decisions("acc-3")[-1].decision == "manual_link"
    # one record per system in a golden record: linking a second CRM record is refused with the reason
    bad = run_cli("link", "crm:acc-1", g1, "-e", "account", cwd=project, check=False)
    assert bad.returncode == 2 and "already holds crm record acc-3" in bad.stderr
    bad = run_cli("link", "crm:nope", g1, "-e", "account", cwd=project, check=False)
    assert "crm:nope is not in the warehouse" in bad.stderr
    db.wh.dispose()


def test_unlink_without_project_is_rebuilt_by_the_next_sync(project: Path, database_url: str) -> None:
    """The dashboard calls hub.matching.unlink without the project: the next sync rebuilds both records."""
    _cycle(project, database_url)
    db = DB(database_url)
    g1, _ = db.golden_of("erp", "C1")
    with db.wh.tx() as conn:
        out = manual.unlink(conn, entity="account", system="crm", source_id="acc-1",
                            now=dt.datetime.now(dt.timezone.utc), by="dashboard")
    new = out["golden_id"]
    _cycle(project, database_url)
    assert db.golden_of("crm", "acc-1") == (new, "manual")
    assert "owner" not in db.golden(g1).data and db.golden(g1).data["name"] == "Nordwind Logistik GmbH"
    assert {s for s, _sid, _v in db.lineage(g1).values()} == {"erp"}
    assert db.golden(new).data["owner"] == "j.smith@example.com"
    db.wh.dispose()


def test_concord_match_offline(tmp_path: Path) -> None:
    left = tmp_path / "a.csv"
    left.write_text("id,name,billing_address.postal_code,billing_address.street,phone\n"
                    "1,Nordwind Logistik GmbH,20457,Hafenstraße 12,040 1234567\n"
                    "2,Bluepeak Software AG,80802,Leopoldstraße 50,\n", encoding="utf-8")
    right = tmp_path / "b.jsonl"
    right.write_text(json.dumps({"id": "x", "name": "NORDWND LOGISTIK", "phone": "+49 40 1234567",
                                 "billing_address": {"street": "Hafenstr. 12", "postal_code": "20457"}}) + "\n"
                     + json.dumps({"id": "y", "name": "Helix Medical", "billing_address": {"postal_code": "10115"}})
                     + "\n", encoding="utf-8")
    out = tmp_path / "pairs.csv"
    proc = run_cli("match", "--entity", "account", "--left", str(left), "--right", str(right), "--out", str(out),
                   "--json", cwd=tmp_path)
    stats = json.loads(proc.stdout)
    assert stats["link"] == 1 and stats["left"] == 2 and stats["right"] == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "left_id,right_id,score,rule,decision,field_scores,evidence"
    assert lines[1].startswith("1,x,") and ",company,link," in lines[1]
    # dedup of one file, and errors that name the file and line
    dup = tmp_path / "dup.csv"
    dup.write_text("id,email,last_name\n1,a@x.example,Weber\n2,A@X.example,Weber\n3,b@x.example,Becker\n",
                   encoding="utf-8")
    stats = json.loads(run_cli("match", "-e", "contact", "--left", str(dup), "--out", str(out), "--json",
                               cwd=tmp_path).stdout)
    assert stats["link"] == 2 and out.read_text(encoding="utf-8").splitlines()[1].startswith("1,2,1.0000,email,link")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,Acme\n,Nameless\n", encoding="utf-8")
    proc = run_cli("match", "-e", "account", "--left", str(bad), "--out", str(out), cwd=tmp_path, check=False)
    assert proc.returncode == 2 and f"{bad}:3: record without an `id`" in proc.stderr
