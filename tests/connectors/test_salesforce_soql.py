"""The sandbox's SOQL parser on its own."""
from __future__ import annotations

import datetime as dt

import pytest

from concord.connectors.salesforce.sandbox.soql import BoolOp, Compare, Not, SoqlError, like_to_regex, parse, quote


def test_select_list_with_relationships_and_subquery():
    q = parse("SELECT Id, Account.Name, (SELECT Id, Quantity FROM OrderItems ORDER BY Line_Number__c LIMIT 5) "
              "FROM Order WHERE Status = 'Draft' ORDER BY SystemModstamp ASC, Id LIMIT 10 OFFSET 2")
    assert q.sobject == "Order"
    assert [f.dotted for f in q.fields] == ["Id", "Account.Name"]
    assert q.subqueries[0].sobject == "OrderItems" and q.subqueries[0].limit == 5
    assert [o.field.dotted for o in q.order_by] == ["SystemModstamp", "Id"]
    assert (q.limit, q.offset) == (10, 2)


def test_where_precedence_in_like_not_and_literals():
    q = parse("SELECT Id FROM Account WHERE (SystemModstamp > 2026-01-05T08:00:00.000+0000 OR "
              "(SystemModstamp = 2026-01-05T08:00:00Z AND Id >= '001')) AND Type IN ('Prospect', 'Other') "
              "AND NOT Name LIKE 'Acme%' AND AnnualRevenue <> null AND CloseDate < 2026-02-01 AND IsDeleted = false")
    assert isinstance(q.where, BoolOp) and q.where.op == "AND"
    ors = q.where.items[0]
    assert isinstance(ors, BoolOp) and ors.op == "OR"
    gt = ors.items[0]
    assert isinstance(gt, Compare) and gt.value == dt.datetime(2026, 1, 5, 8, tzinfo=dt.timezone.utc)
    assert isinstance(q.where.items[1], Compare) and q.where.items[1].value == ("Prospect", "Other")
    assert isinstance(q.where.items[2], Not)
    assert q.where.items[3].op == "!=" and q.where.items[3].value is None
    assert q.where.items[4].value == dt.date(2026, 2, 1)
    assert q.where.items[5].value is False


def test_count_and_keyword_object_names():
    q = parse("SELECT COUNT() FROM Order")
    assert q.count and q.sobject == "Order"


@pytest.mark.parametrize("bad", ["", "SELECT FROM Account", "SELECT Id Account", "SELECT Id FROM Account WHERE",
                                 "SELECT Id FROM Account WHERE Name = 'x", "SELECT Id FROM Account LIMIT -1",
                                 "SELECT Id FROM Account WHERE Name ~ 'x'", "SELECT Id, COUNT() FROM Account"])
def test_malformed_queries_point_at_the_problem(bad):
    with pytest.raises(SoqlError) as exc:
        parse(bad)
    assert exc.value.code == "MALFORMED_QUERY"


def test_error_message_has_row_and_column():
    with pytest.raises(SoqlError) as exc:
        parse("SELECT Id FROM Account WHERE Name = = 'x'")
    assert "ERROR at Row:1:Column:" in exc.value.message and "^" in exc.value.message


def test_string_escapes_and_like():
    q = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ Co'")
    assert q.where.value == "O'Brien \\ Co"
    assert like_to_regex("Ac_e%").match("ACME Corp")
    assert not like_to_regex(r"100\%").match("1000")
    assert quote("it's") == r"'it\'s'"
