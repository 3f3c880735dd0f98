"""Live golden records counted without reading them: a partial index of the deleted ones.

``stores/golden.count_by_entity`` (every cycle's summary, ``concord status``, the dashboard's overview)
counted live golden records by reading every golden row, about 1.5 s at a million. It now counts all
of an entity's golden records over the narrow ``(entity, title)`` index and subtracts the deleted
ones, which this index (of deleted rows only, so an insert of a live record never touches it) lists.

Revision ID: 0008_golden_deleted
Revises: 0007_match_hash_pending
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_golden_deleted"
down_revision = "0007_match_hash_pending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_golden_deleted", "golden", ["entity"], sqlite_where=sa.text("deleted = 1"),
                    postgresql_where=sa.text("deleted = true"), if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_golden_deleted", table_name="golden", if_exists=True)
