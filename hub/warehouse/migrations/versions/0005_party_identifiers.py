"""Identifier fields of the canonical party model: contact.national_id / person_id, account.registration_number / lei.

Revision ID: 0005_party_identifiers
Revises: 0004_compact_lineage

0001 creates the tables as ``hub.warehouse.tables`` declares them now, so on a new warehouse the
columns exist already (and ``evolve`` adds any canonical column that is missing after the
revisions); on an older warehouse they are added here, nullable, only where missing.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_party_identifiers"
down_revision = "0004_compact_lineage"
branch_labels = None
depends_on = None

COLUMNS = {"contact": ["national_id", "person_id"], "account": ["registration_number", "lei"]}


def upgrade() -> None:
    insp = sa.inspect(op.get_bind())
    tables = set(insp.get_table_names())
    for table, names in COLUMNS.items():
        if table not in tables:
            continue
        have = {c["name"] for c in insp.get_columns(table)}
        for name in names:
            if name not in have:
                op.add_column(table, sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    insp = sa.inspect(op.get_bind())
    for table, names in COLUMNS.items():
        have = {c["name"] for c in insp.get_columns(table)}
        for name in reversed(names):
            if name in have:
                op.drop_column(table, name)
