"""Indexes for the dashboard's hot paths (searches, lists and the 360° page stay fast at 1M records).

Revision ID: 0002_dashboard
Revises: 0001
Create Date: 2026-11-27

- golden (entity, lower(title)): case-insensitive name prefix search, ordered and paginated
- account / contact lower(email): e-mail search
- sales_order / invoice account_ref: an account's orders, invoices and open amount
- match_decision (decision, id): the match review queue
- conflict (entity, golden_id): a record's conflicts; outbox (status, id): the dead-letter list
- run_stream (system, entity, direction, run_id): each stream's last run; run (started_at): today's API calls
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_dashboard"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_golden_title_lower", "golden", ["entity", sa.text("lower(title)"), "golden_id"]),
    ("ix_account_email_lower", "account", [sa.text("lower(email)")]),
    ("ix_contact_email_lower", "contact", [sa.text("lower(email)")]),
    ("ix_sales_order_account", "sales_order", ["account_ref"]),
    ("ix_invoice_account", "invoice", ["account_ref"]),
    ("ix_match_decision_decision", "match_decision", ["decision", "id"]),
    ("ix_conflict_golden", "conflict", ["entity", "golden_id"]),
    ("ix_outbox_status_id", "outbox", ["status", "id"]),
    ("ix_run_stream_stream", "run_stream", ["system", "entity", "direction", "run_id"]),
    ("ix_run_started", "run", ["started_at"]),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)


def downgrade() -> None:
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table)
