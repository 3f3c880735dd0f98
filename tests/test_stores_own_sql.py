"""The warehouse's stores own the SQL of the machinery tables (issue 14): no module of ``hub/`` outside
``hub/warehouse/`` names a machinery table of ``hub/warehouse/tables.py`` (``T.outbox``, ``tables.xref``,
``from ...tables import golden``) or writes SQL text on one. The typed canonical tables and the analyst
views (``T.CANONICAL``, ``warehouse/views.py``) are not machinery and stay usable everywhere.

``ALLOWED`` lists the modules that still do, with the tables each still names. It may only shrink: an
entry that is no longer needed fails the test too, so that it is taken out when its module moves to
the stores.
"""
from __future__ import annotations

import ast
import re

from concord.hub.warehouse import tables
from tests import ROOT

HUB = ROOT / "hub"
MACHINERY = frozenset(t.name for t in tables.MACHINERY) | {"MACHINERY"}
TABLES_MODULE = "concord.hub.warehouse.tables"

#: module -> the machinery tables it still names, and why (empty: every module of hub/ outside the
#: warehouse goes through the stores; an entry needs a reason and may only shrink)
ALLOWED: dict[str, frozenset[str]] = {}

_NAMES = "|".join(sorted(MACHINERY - {"MACHINERY"}, key=len, reverse=True))
SQL_ON_MACHINERY = re.compile(rf"(?is)\b(select|insert|update|delete)\b.*\b(from|join|into|update)\s+[\"`]?({_NAMES})\b")


def machinery_refs(source: str) -> list[tuple[int, str]]:
    """(line, table) for every machinery table a module's source names, or writes SQL text on."""
    tree = ast.parse(source)
    aliases: set[str] = set()
    found: list[tuple[int, str]] = []
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(a.asname or a.name for a in node.names if a.name == TABLES_MODULE)
        elif isinstance(node, ast.ImportFrom) and node.module == "concord.hub.warehouse":
            aliases.update(a.asname or a.name for a in node.names if a.name == "tables")
        elif isinstance(node, ast.ImportFrom) and node.module == TABLES_MODULE:
            found.extend((node.lineno, a.name) for a in node.names if a.name in MACHINERY)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MACHINERY:
            base = node.value
            dotted = ast.unparse(base)
            if (isinstance(base, ast.Name) and base.id in aliases) or dotted == TABLES_MODULE:
                found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            m = SQL_ON_MACHINERY.search(node.value)
            if m:
                found.append((node.lineno, m.group(3).lower()))
    return sorted(set(found))


def _scan() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(HUB.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("hub/warehouse/"):
            continue
        refs = machinery_refs(path.read_text(encoding="utf-8"))
        if refs:
            out[rel] = refs
    return out


def test_only_the_warehouse_writes_sql_on_machinery_tables() -> None:
    bad = [f"{rel}:{line}: names machinery table {name!r} (call a store in hub/warehouse/stores/ instead)"
           for rel, refs in _scan().items() for line, name in refs if name not in ALLOWED.get(rel, frozenset())]
    assert not bad, "\n".join(bad)


def test_the_allow_list_only_shrinks() -> None:
    """An allowed module that no longer names a table must lose that entry."""
    scan = _scan()
    stale = [f"{rel}: no longer names {sorted(names - {n for _l, n in scan.get(rel, [])})}; remove it from ALLOWED"
             for rel, names in ALLOWED.items() if names - {n for _l, n in scan.get(rel, [])}]
    assert not stale, "\n".join(stale)


def test_the_scan_sees_every_way_of_naming_a_table() -> None:
    src = '''
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.tables import golden, CANONICAL
import concord.hub.warehouse.tables

def f(conn):
    """Reads the outbox: select * from outbox (a docstring is not SQL)."""
    conn.execute(T.outbox.select())
    x = concord.hub.warehouse.tables.xref.c
    conn.exec_driver_sql("SELECT id FROM quarantine WHERE status = 'open'")
    return T.CANONICAL["account"], "select from a list"
'''
    assert machinery_refs(src) == [(3, "golden"), (8, "outbox"), (9, "xref"), (10, "quarantine")]
