"""Compact lineage: one JSON column on the golden row instead of a row per field.

Revision ID: 0004_compact_lineage
Revises: 0003_outbox_claims

An older warehouse's ``field_lineage`` rows are folded into ``golden.lineage`` and the table is
dropped. (0001 creates the tables as ``hub.warehouse.tables`` declares them now: a new warehouse
has the column and never had the table.)
"""
import datetime as dt
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_compact_lineage"
down_revision = "0003_outbox_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    insp = sa.inspect(bind)
    if "lineage" not in {c["name"] for c in insp.get_columns("golden")}:
        op.add_column("golden", sa.Column("lineage", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                                          nullable=True))
    if "field_lineage" not in insp.get_table_names():
        return
    fl = sa.table("field_lineage", sa.column("entity"), sa.column("golden_id"), sa.column("field"),
                  sa.column("system"), sa.column("source_id"), sa.column("source_updated_at"),
                  sa.column("changed_at"))
    folded: dict[tuple[str, str], dict[str, list]] = {}
    for r in bind.execute(sa.select(fl)):
        changed = r.changed_at.isoformat() if isinstance(r.changed_at, dt.datetime) else r.changed_at
        folded.setdefault((r.entity, r.golden_id), {})[r.field] = [r.system, r.source_id, r.source_updated_at, changed]
    is_pg = bind.dialect.name == "postgresql"
    stmt = (sa.text("UPDATE golden SET lineage = CAST(:lin AS JSONB) WHERE entity = :e AND golden_id = :g") if is_pg
            else sa.text("UPDATE golden SET lineage = :lin WHERE entity = :e AND golden_id = :g"))
    params = [{"lin": json.dumps(v), "e": e, "g": gid} for (e, gid), v in folded.items()]
    for i in range(0, len(params), 1000):
        bind.execute(stmt, params[i:i + 1000])
    op.drop_table("field_lineage")


def downgrade() -> None:
    op.create_table("field_lineage",
                    sa.Column("entity", sa.String(64), primary_key=True),
                    sa.Column("golden_id", sa.String(64), primary_key=True),
                    sa.Column("field", sa.String(128), primary_key=True),
                    sa.Column("system", sa.String(64), nullable=False),
                    sa.Column("source_id", sa.String(200), nullable=False),
                    sa.Column("value", sa.JSON()),
                    sa.Column("source_updated_at", sa.String(40)),
                    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False))
    op.drop_column("golden", "lineage")
