"""``match_hash_pending`` holds a row per golden record (its key hashes as a JSON array), not a row per key.

An initial load's fresh path appended one row per key (2.3 million for 100,000 accounts) and ``settle``
moved them into ``match_hash``; now it appends one row per golden record and ``settle`` unnests them
(``stores/match_keys.settle``). Keys a crash left pending in the old shape are moved into ``match_hash``
first: none is lost.

Revision ID: 0009_pending_keysets
Revises: 0008_golden_deleted
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_pending_keysets"
down_revision = "0008_golden_deleted"
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("match_hash_pending")}


def _move(select_rows: str) -> None:
    """INSERT the (entity, key_hash, golden_id) rows of ``select_rows`` into match_hash, skipping those it has."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"INSERT INTO match_hash (entity, key_hash, golden_id) {select_rows} ON CONFLICT DO NOTHING")
    else:
        bind.exec_driver_sql(f"INSERT OR IGNORE INTO match_hash (entity, key_hash, golden_id) {select_rows}")


def upgrade() -> None:
    if "key_hash" not in _columns():          # a warehouse created at this revision has the new shape
        return
    _move("SELECT entity, key_hash, golden_id FROM match_hash_pending")
    op.drop_table("match_hash_pending")
    op.create_table("match_hash_pending",
                    sa.Column("entity", sa.String(64), nullable=False),
                    sa.Column("golden_id", sa.String(64), nullable=False),
                    sa.Column("hashes", sa.Text(), nullable=False))


def downgrade() -> None:
    if "hashes" not in _columns():
        return
    if op.get_bind().dialect.name == "postgresql":
        _move("SELECT p.entity, h::bigint, p.golden_id FROM match_hash_pending p, json_array_elements_text(p.hashes::json) h")
    else:
        _move("SELECT p.entity, j.value, p.golden_id FROM match_hash_pending p, json_each(p.hashes) j")
    op.drop_table("match_hash_pending")
    op.create_table("match_hash_pending",
                    sa.Column("entity", sa.String(64), nullable=False),
                    sa.Column("key_hash", sa.BigInteger(), nullable=False),
                    sa.Column("golden_id", sa.String(64), nullable=False))
