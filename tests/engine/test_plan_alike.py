"""The planner and a many-to-one value map: a target whose picklist has one value for two canonical values (Zoho's
"Created" for an ERP order that is a draft or open) already agrees, so nothing is written again at every sync."""
from __future__ import annotations

from concord.hub.config.model import SyncRule
from concord.hub.contracts import EntitySpec
from concord.hub.engine.plan import plan_record
from concord.hub.mapping.compile import compile_mapping

ORDER = compile_mapping({"entity": "sales_order", "source": "Sales_Orders", "fields": {
    "order_number": "ERP_Order_Number",
    "status": {"from": "Status", "map": {"Created": "open", "Approved": "in_process", "Delivered": "completed"},
               "reverse_map": {"draft": "Created", "open": "Created", "in_process": "Approved",
                               "completed": "Delivered"}}}})
SPEC = EntitySpec(name="Sales_Orders", primary_key=("id",), capabilities=frozenset({"read", "update"}))
RULE = SyncRule(target="zoho_crm", mode="update_only", fields=["order_number", "status"])


def _plan(golden: dict, current: dict, alike=ORDER.writes_alike):
    return plan_record(entity="sales_order", rule=RULE, spec=SPEC, fields={"order_number", "status"},
                       in_fields=ORDER.in_fields(), golden_id="g1", golden=golden, deleted=False, target_id="z1",
                       current=current, written=None, alike=alike)


def test_a_value_written_as_the_targets_own_is_no_change() -> None:
    assert ORDER.writes_alike("status", "draft", "open")             # both are "Created" in Zoho
    assert not ORDER.writes_alike("status", "draft", "in_process")
    assert not ORDER.writes_alike("order_number", "1", "2")          # no value map: compared as values
    assert _plan({"order_number": "10", "status": "draft"}, {"order_number": "10", "status": "open"}) is None


def test_a_real_difference_is_still_written() -> None:
    ch = _plan({"order_number": "10", "status": "completed"}, {"order_number": "10", "status": "open"})
    assert ch is not None and ch.canonical == {"status": "completed"}
    ch = _plan({"order_number": "11", "status": "draft"}, {"order_number": "10", "status": "open"})
    assert ch is not None and ch.canonical == {"order_number": "11"}


def test_without_the_mapping_the_draft_would_be_written_every_time() -> None:
    ch = _plan({"order_number": "10", "status": "draft"}, {"order_number": "10", "status": "open"}, alike=None)
    assert ch is not None and ch.canonical == {"status": "draft"}
