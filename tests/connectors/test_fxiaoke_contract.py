"""The shared contract suite, run against the Fxiaoke sandbox over loopback HTTP."""
from __future__ import annotations

import pytest

from concord.connectors.fxiaoke import FxiaokeConfig, FxiaokeConnector
from concord.connectors.fxiaoke.sandbox import start
from concord.hub.contracts import ConnectorContext
from concord.hub.http import CallLedger, HttpToolkit
from concord.hub.sandbox.world import World
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase


@pytest.fixture(scope="module")
def sandbox():
    sb = start(World(seed=7, size=300))
    yield sb
    sb.stop()


def make_connector(sb, **over) -> FxiaokeConnector:
    c = sb.credentials
    cfg = FxiaokeConfig(base_url=sb.base_url, app_id=c["app_id"], app_secret=c["app_secret"],
                        permanent_code=c["permanent_code"], current_open_user_id=c["current_open_user_id"],
                        rate_limit=None, **over)
    toolkit = HttpToolkit(CallLedger(), sleep=lambda s: None)
    return FxiaokeConnector(cfg, ConnectorContext(system="crm_cn", http=toolkit))


@pytest.fixture
def contract_case(sandbox) -> ContractCase:
    sandbox.app.faults.clear()
    store = sandbox.state
    return ContractCase(
        connector=make_connector(sandbox),
        entity="AccountObj",
        expected_count=lambda: store.count("AccountObj"),
        new_fields=lambda i: {"name": f"上海测试贸易{i}有限公司", "english_name__c": f"Shanghai Test Trading {i} Co., Ltd.",
                              "tel": "+86 21 5555 0000", "country": "CN", "mc_currency": "CNY",
                              "credit_limit__c": "100000.00"},
        update_fields={"tel": "+86 21 6666 0001", "city__c": "上海"},
        invalid_fields={"name": "无效国家有限公司", "country": "XX"},
        bad_credentials=lambda: make_connector(_with_secret(sandbox, "wrong-secret")),
        faults=sandbox.app.faults,
        read_back=lambda _id: store.get("AccountObj", _id),
    )


class _Creds:
    def __init__(self, sb, secret):
        self.credentials = dict(sb.credentials, app_secret=secret)
        self.base_url = sb.base_url


def _with_secret(sb, secret):
    return _Creds(sb, secret)
