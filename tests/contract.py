"""The connector contract suite: every connector passes it against its sandbox.

A connector's test module provides a ``contract_case`` fixture returning a
:class:`ContractCase` and star-imports this module::

    from tests.contract import *  # noqa: F401,F403

    @pytest.fixture
    def contract_case(...) -> ContractCase: ...

The tests drive the real connector (and so the real client library) over
loopback HTTP against the running sandbox. Nothing here is mocked.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from concord.hub.contracts import Change, Connector, Cursor, EntitySpec, Page, source_id_of
from concord.hub.errors import AuthError, ConfigError, HubError, RecordError


@dataclass
class ContractCase:
    connector: Connector
    entity: str                                  # the entity the suite exercises
    expected_count: Callable[[], int]            # how many records the sandbox holds for it now
    new_fields: Callable[[int], Mapping[str, Any]]   # fields of a valid create, in the target's names
    update_fields: Mapping[str, Any]             # a valid update of one field or more
    invalid_fields: Mapping[str, Any] | None = None  # a create the system rejects (per-record failure)
    bad_credentials: Callable[[], Connector] | None = None  # the same connector with wrong secrets
    faults: Any = None                           # the sandbox's FaultInjector
    read_back: Callable[[str], Mapping[str, Any] | None] | None = None  # sandbox-side lookup by target id
    op_for_create: str = "create"                # "create" or "upsert" (by external id)
    extra: dict[str, Any] = field(default_factory=dict)


def _spec(case: ContractCase) -> EntitySpec:
    for s in case.connector.entities():
        if s.name == case.entity:
            return s
    raise AssertionError(f"{case.entity} not among the connector's entities")


def _read_all(case: ContractCase, since: Cursor | None = None) -> tuple[list[Mapping[str, Any]], list[Page]]:
    pages = list(case.connector.read(case.entity, since=since))
    records = [r for p in pages for r in p.records]
    return records, pages


def _last_checkpoint(pages: list[Page]) -> Cursor | None:
    cps = [p.checkpoint for p in pages if p.checkpoint is not None]
    return cps[-1] if cps else None


def test_contract_entities_describe_the_system(contract_case: ContractCase) -> None:
    spec = _spec(contract_case)
    assert spec.primary_key, "an entity needs a primary key"
    assert "read" in spec.capabilities
    assert spec.fields, "fields must come from the system's metadata"
    names = {f.name for f in spec.fields}
    for key in spec.primary_key:
        assert key in names, f"primary key {key} is not a described field"
    assert spec.max_batch >= 1


def test_contract_check_accepts_good_credentials(contract_case: ContractCase) -> None:
    contract_case.connector.check()


def test_contract_check_refuses_bad_credentials(contract_case: ContractCase) -> None:
    if contract_case.bad_credentials is None:
        pytest.skip("this system has no credentials")
    with pytest.raises((AuthError, ConfigError)):
        contract_case.bad_credentials().check()


def test_contract_full_read_is_complete_and_paged(contract_case: ContractCase) -> None:
    spec = _spec(contract_case)
    records, pages = _read_all(contract_case)
    assert all(isinstance(p, Page) for p in pages)
    ids = [source_id_of(spec, r) for r in records]
    assert len(ids) == len(set(ids)), "a full read returned a record twice"
    assert len(ids) == contract_case.expected_count()


def test_contract_incremental_read_is_inclusive(contract_case: ContractCase) -> None:
    spec = _spec(contract_case)
    if spec.cursor is None or "incremental" not in spec.capabilities:
        pytest.skip("entity has no incremental cursor")
    records, pages = _read_all(contract_case)
    cp = _last_checkpoint(pages)
    assert cp is not None, "an incremental stream must checkpoint"
    again, _ = _read_all(contract_case, since=cp)
    again_ids = {source_id_of(spec, r) for r in again}
    # Inclusive: the last record read is read again, and far fewer than everything comes back.
    assert source_id_of(spec, records[-1]) in again_ids
    assert len(again) < max(2, len(records))


def test_contract_write_create_then_update(contract_case: ContractCase) -> None:
    spec = _spec(contract_case)
    op = contract_case.op_for_create
    assert op in spec.capabilities
    before = contract_case.expected_count()
    create = Change(op=op, entity=contract_case.entity, fields=dict(contract_case.new_fields(1)),
                    idempotency_key="contract-create-1", golden_id="G-CONTRACT-1")
    [res] = contract_case.connector.write(contract_case.entity, [create])
    assert res.ok, res.error
    assert res.target_id
    assert contract_case.expected_count() == before + 1
    if "update" in spec.capabilities:
        upd = Change(op="update", entity=contract_case.entity, key=res.target_id,
                     fields=dict(contract_case.update_fields), idempotency_key="contract-update-1",
                     golden_id="G-CONTRACT-1")
        [res2] = contract_case.connector.write(contract_case.entity, [upd])
        assert res2.ok, res2.error
        if contract_case.read_back:
            row = contract_case.read_back(res.target_id)
            assert row is not None
            for k, v in contract_case.update_fields.items():
                assert str(row.get(k)) == str(v), f"{k}: {row.get(k)!r} != {v!r}"


def test_contract_partial_failure_is_per_record(contract_case: ContractCase) -> None:
    if contract_case.invalid_fields is None:
        pytest.skip("no invalid record known for this system")
    op = contract_case.op_for_create
    changes = [
        Change(op=op, entity=contract_case.entity, fields=dict(contract_case.new_fields(2)),
               idempotency_key="contract-pf-ok-1", golden_id="G-CONTRACT-2"),
        Change(op=op, entity=contract_case.entity, fields=dict(contract_case.invalid_fields),
               idempotency_key="contract-pf-bad", golden_id="G-CONTRACT-3"),
        Change(op=op, entity=contract_case.entity, fields=dict(contract_case.new_fields(4)),
               idempotency_key="contract-pf-ok-2", golden_id="G-CONTRACT-4"),
    ]
    results = list(contract_case.connector.write(contract_case.entity, changes))
    assert [r.change.idempotency_key for r in results] == [c.idempotency_key for c in changes]
    assert [r.ok for r in results] == [True, False, True]
    bad = results[1].error
    assert isinstance(bad, HubError) and isinstance(bad, RecordError), bad
    assert bad.message, "a rejected record needs a readable reason"


def test_contract_survives_transient_faults(contract_case: ContractCase) -> None:
    if contract_case.faults is None:
        pytest.skip("sandbox has no fault injector")
    contract_case.faults.script("429", "503")
    records, _ = _read_all(contract_case)
    assert len(records) == contract_case.expected_count()


def test_contract_unknown_entity_is_a_config_error(contract_case: ContractCase) -> None:
    with pytest.raises((ConfigError, HubError)):
        list(contract_case.connector.read("NoSuchEntity__xyz"))
