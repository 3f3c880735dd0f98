"""Outbox claims: the worker that sends a row, and until when its claim holds.

Revision ID: 0003_outbox_claims
Revises: 0002_dashboard

0001 creates the tables as ``hub.warehouse.tables`` declares them now, so on a new warehouse
the columns exist already; on an older one they are added here.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_claims"
down_revision = "0002_dashboard"
branch_labels = None
depends_on = None

COLUMNS = [("claimed_by", sa.String(200)), ("lease_until", sa.DateTime(timezone=True))]


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}
    for name, type_ in COLUMNS:
        if name not in have:
            op.add_column("outbox", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _type in reversed(COLUMNS):
        op.drop_column("outbox", name)
