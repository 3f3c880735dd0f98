"""The resolve step, table-driven: survivorship, ownership and conflict policy in one order."""
from __future__ import annotations

from typing import Any

import pytest

from concord.hub.config.model import EntityConfig
from concord.hub.engine.resolve import SourceRecord, resolve
from concord.hub.survive import Lineage


def _policy(**kw: Any) -> EntityConfig:
    base: dict[str, Any] = {"sources": {"erp": {"mapping": "m/erp.yaml"}, "crm": {"mapping": "m/crm.yaml"}},
                            "survivorship": {"strategy": "latest", "priority": ["erp", "crm"]}}
    base.update(kw)
    return EntityConfig.model_validate(base)


L = Lineage
ERP_T1 = L("erp", "C1", "2026-11-01T00:00:00")
CRM_T1 = L("crm", "a-1", "2026-11-01T00:00:00")

CASES = [
    # name, policy, golden, lineage, record, expected golden, expected lineage systems, conflicts (field, decision)
    ("first sighting takes every value", _policy(), {}, {},
     SourceRecord("crm", "a-1", {"name": "Acme", "phone": "+4930"}, None, "2026-11-02T00:00:00"),
     {"name": "Acme", "phone": "+4930"}, {"name": "crm", "phone": "crm"}, []),
    ("latest change wins", _policy(), {"name": "Acme"}, {"name": ERP_T1},
     SourceRecord("crm", "a-1", {"name": "Acme Ltd"}, {"name": "Acme"}, "2026-11-02T00:00:00"),
     {"name": "Acme Ltd"}, {"name": "crm"}, []),
    ("an older change loses to a newer value", _policy(), {"name": "Acme"}, {"name": L("erp", "C1", "2026-11-05")},
     SourceRecord("crm", "a-1", {"name": "Acme Ltd"}, {"name": "Acme"}, "2026-11-02"),
     {"name": "Acme"}, {"name": "erp"}, []),
    ("a field with priority belongs to its system", _policy(survivorship={
        "strategy": "latest", "priority": ["erp", "crm"], "fields": {"credit_limit": {"strategy": "priority",
                                                                                     "priority": ["erp"]}}}),
     {"credit_limit": "5000"}, {"credit_limit": ERP_T1},
     SourceRecord("crm", "a-1", {"credit_limit": "9000"}, {"credit_limit": "5000"}, "2026-11-09"),
     {"credit_limit": "5000"}, {"credit_limit": "erp"}, []),
    ("priority: a lower-ranked change is no conflict, even from a system that never agreed", _policy(
        survivorship={"strategy": "priority", "priority": ["erp", "crm"]}),
     {"amount": "5647.71"}, {"amount": ERP_T1},
     SourceRecord("crm", "i-1", {"amount": "4745.98"}, {"amount": "5647.72"}, "2026-11-09"),
     {"amount": "5647.71"}, {"amount": "erp"}, []),
    ("both changed since they agreed, latest_wins: the newer takes it", _policy(),
     {"name": "Acme ERP"}, {"name": L("erp", "C1", "2026-11-03")},
     SourceRecord("crm", "a-1", {"name": "Acme CRM"}, {"name": "Acme"}, "2026-11-04"),
     {"name": "Acme CRM"}, {"name": "crm"}, [("name", "take")]),
    ("both changed, latest_wins, this change is older: kept", _policy(),
     {"name": "Acme ERP"}, {"name": L("erp", "C1", "2026-11-05")},
     SourceRecord("crm", "a-1", {"name": "Acme CRM"}, {"name": "Acme"}, "2026-11-04"),
     {"name": "Acme ERP"}, {"name": "erp"}, [("name", "keep")]),
    ("both changed, hold: nothing taken, the conflict waits", _policy(conflicts={"policy": "hold"}),
     {"name": "Acme ERP"}, {"name": L("erp", "C1", "2026-11-03")},
     SourceRecord("crm", "a-1", {"name": "Acme CRM"}, {"name": "Acme"}, "2026-11-09"),
     {"name": "Acme ERP"}, {"name": "erp"}, [("name", "hold")]),
    ("owner_wins: the owner's change is taken even when priority ranks it lower",
     _policy(conflicts={"policy": "owner_wins"}, ownership={"phone": "crm"},
             survivorship={"strategy": "priority", "priority": ["erp", "crm"]}),
     {"phone": "+4940"}, {"phone": L("erp", "C1", "2026-11-05")},
     SourceRecord("crm", "a-1", {"phone": "+4930"}, {"phone": "+4920"}, "2026-11-04"),
     {"phone": "+4930"}, {"phone": "crm"}, [("phone", "take")]),
    ("owner_wins: a non-owner's change is kept out", _policy(conflicts={"policy": "owner_wins"},
                                                            ownership={"phone": "erp"}),
     {"phone": "+4940"}, {"phone": L("erp", "C1", "2026-11-03")},
     SourceRecord("crm", "a-1", {"phone": "+4930"}, {"phone": "+4920"}, "2026-11-09"),
     {"phone": "+4940"}, {"phone": "erp"}, [("phone", "keep")]),
    ("an unchanged record changes nothing", _policy(), {"name": "Acme"}, {"name": CRM_T1},
     SourceRecord("crm", "a-1", {"name": "Acme"}, {"name": "Acme"}, "2026-11-09"),
     {"name": "Acme"}, {"name": "crm"}, []),
    ("a value removed at its source goes (latest)", _policy(), {"phone": "+4930"}, {"phone": CRM_T1},
     SourceRecord("crm", "a-1", {}, {"phone": "+4930"}, "2026-11-09"),
     {}, {}, []),
]


@pytest.mark.parametrize("name,policy,golden,lineage,record,want,want_lineage,want_conflicts", CASES,
                         ids=[c[0] for c in CASES])
def test_resolve(name: str, policy: EntityConfig, golden: dict, lineage: dict, record: SourceRecord, want: dict,
                 want_lineage: dict, want_conflicts: list) -> None:
    before = (dict(golden), dict(lineage))
    r = resolve(golden, lineage, record, policy)
    assert r.golden == want
    assert {f: lin.system for f, lin in r.lineage.items()} == want_lineage
    assert [(c.field, c.decision) for c in r.conflicts] == want_conflicts
    assert (golden, lineage) == before                      # pure: the inputs are untouched
    assert r.changed == {f for f in set(want) | set(golden) if want.get(f) != golden.get(f)}
