"""Match keys as 64-bit hashes: ``match_hash`` (one primary-key index) and ``match_keyset`` replace ``match_key``.

Revision ID: 0006_match_key_hashes
Revises: 0005_party_identifiers

An older warehouse's ``match_key`` rows (key name, key value, golden id; a table and a second
index) become one ``match_hash`` row each (the key's hash, ``stores/match_keys.key_hash``) and one
``match_keyset`` row per golden record; then ``match_key`` is dropped. (0001 creates the tables as
``hub.warehouse.tables`` declares them now: a new warehouse has the new tables and never had
``match_key``.) The downgrade cannot turn hashes back into keys: it recreates an empty
``match_key``; ``concord rematch`` then rebuilds the keys.
"""
import sqlalchemy as sa
from alembic import op

from concord.hub.warehouse.stores.match_keys import key_hash, pack

revision = "0006_match_key_hashes"
down_revision = "0005_party_identifiers"
branch_labels = None
depends_on = None

BATCH = 5000


def _create(tables: set[str]) -> None:
    if "match_hash" not in tables:
        op.create_table("match_hash",
                        sa.Column("entity", sa.String(64), primary_key=True),
                        sa.Column("key_hash", sa.BigInteger(), primary_key=True, autoincrement=False),
                        sa.Column("golden_id", sa.String(64), primary_key=True),
                        sqlite_with_rowid=False)
    if "match_keyset" not in tables:
        op.create_table("match_keyset",
                        sa.Column("entity", sa.String(64), primary_key=True),
                        sa.Column("golden_id", sa.String(64), primary_key=True),
                        sa.Column("hashes", sa.LargeBinary(), nullable=False))


def upgrade() -> None:
    bind = op.get_bind()
    tables = set(sa.inspect(bind).get_table_names())
    _create(tables)
    if "match_key" not in tables:
        return
    mk = sa.table("match_key", sa.column("entity"), sa.column("key_name"), sa.column("key_value"),
                  sa.column("golden_id"))
    sets: dict[tuple[str, str], set[int]] = {}
    for r in bind.execute(sa.select(mk.c.entity, mk.c.key_name, mk.c.key_value, mk.c.golden_id)):
        sets.setdefault((r.entity, r.golden_id), set()).add(key_hash(r.key_name, r.key_value))
    mh = sa.table("match_hash", sa.column("entity"), sa.column("key_hash"), sa.column("golden_id"))
    ks = sa.table("match_keyset", sa.column("entity"), sa.column("golden_id"), sa.column("hashes"))
    rows = sorted((e, h, g) for (e, g), hs in sets.items() for h in hs)
    for i in range(0, len(rows), BATCH):
        bind.execute(mh.insert(), [{"entity": e, "key_hash": h, "golden_id": g} for e, h, g in rows[i:i + BATCH]])
    keysets = [{"entity": e, "golden_id": g, "hashes": pack(hs)} for (e, g), hs in sorted(sets.items())]
    for i in range(0, len(keysets), BATCH):
        bind.execute(ks.insert(), keysets[i:i + BATCH])
    op.drop_table("match_key")


def downgrade() -> None:
    op.create_table("match_key",
                    sa.Column("entity", sa.String(64), primary_key=True),
                    sa.Column("key_name", sa.String(128), primary_key=True),
                    sa.Column("key_value", sa.String(400), primary_key=True),
                    sa.Column("golden_id", sa.String(64), primary_key=True))
    op.create_index("ix_match_key_golden", "match_key", ["entity", "golden_id"])
    op.drop_table("match_keyset")
    op.drop_table("match_hash")
