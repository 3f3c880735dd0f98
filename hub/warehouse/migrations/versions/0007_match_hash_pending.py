"""``match_hash_pending``: the keys of an initial load's fresh path, appended (no index) until they are
moved into ``match_hash`` in key order (``stores/match_keys.settle``).

Revision ID: 0007_match_hash_pending
Revises: 0006_match_key_hashes

(0001 creates the tables as ``hub.warehouse.tables`` declares them now: a new warehouse has it already.)
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_match_hash_pending"
down_revision = "0006_match_key_hashes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "match_hash_pending" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table("match_hash_pending",
                    sa.Column("entity", sa.String(64), nullable=False),
                    sa.Column("key_hash", sa.BigInteger(), nullable=False),
                    sa.Column("golden_id", sa.String(64), nullable=False))


def downgrade() -> None:
    # keys still pending are moved into match_hash first: none is lost
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("INSERT INTO match_hash (entity, key_hash, golden_id) SELECT entity, key_hash, golden_id "
                             "FROM match_hash_pending ON CONFLICT DO NOTHING")
    else:
        bind.exec_driver_sql("INSERT OR IGNORE INTO match_hash (entity, key_hash, golden_id) "
                             "SELECT entity, key_hash, golden_id FROM match_hash_pending")
    op.drop_table("match_hash_pending")
