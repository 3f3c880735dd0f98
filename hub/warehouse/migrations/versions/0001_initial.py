"""Initial warehouse schema: machinery tables and the typed canonical tables of schema version 1.0.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

The baseline creates the tables exactly as ``hub.warehouse.tables`` declares them at schema 1.0.
Later revisions change them with explicit ``op.*`` operations.
"""
from alembic import op

from concord.hub.warehouse.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
