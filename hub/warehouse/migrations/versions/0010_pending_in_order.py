"""Pending staged records read in source-id order over one index: ``(system, entity, status, source_id)``.

The processing step reads a stream's pending records a batch at a time, after the last source id it
processed (``stores/staged.pending`` and ``pending_texts``). The index on ``(system, entity, status)``
did not give them in source-id order, so SQLite walked the primary key from that source id and read
each row to test its status: for an incremental cycle over a million staged records with 1% of them
changed, a batch of 1,000 walked about 100,000 rows. The index now ends with the source id, which
serves that read directly and every query the narrower index served (its columns are a prefix).

Revision ID: 0010_pending_in_order
Revises: 0009_pending_keysets
"""
from alembic import op

revision = "0010_pending_in_order"
down_revision = "0009_pending_keysets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_raw_record_pending", "raw_record", ["system", "entity", "status", "source_id"],
                    if_not_exists=True)
    op.drop_index("ix_raw_record_status", table_name="raw_record", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_raw_record_status", "raw_record", ["system", "entity", "status"], if_not_exists=True)
    op.drop_index("ix_raw_record_pending", table_name="raw_record", if_exists=True)
