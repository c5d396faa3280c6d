"""The locality's programme tables and phone visits

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:00:00

- ``locality``: one row, the locality's programme tables (visiting rules, prices,
  entitlements, packages, the circle's minutes and streets) as a JSON document.
- ``phone_visits``: visiting calls made by a station's desk, counted by the visiting ledger.
- ``dated_requests.whole_week``: a request of a whole week (a published job's programme visit,
  with its own days inside the week), beside the one-off orders of one date.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "locality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "phone_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("desk", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phone_visits_household_id", "phone_visits", ["household_id"])
    op.create_index("ix_phone_visits_visit_date", "phone_visits", ["visit_date"])
    with op.batch_alter_table("dated_requests") as batch:
        batch.add_column(
            sa.Column("whole_week", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("dated_requests") as batch:
        batch.drop_column("whole_week")
    op.drop_index("ix_phone_visits_visit_date", table_name="phone_visits")
    op.drop_index("ix_phone_visits_household_id", table_name="phone_visits")
    op.drop_table("phone_visits")
    op.drop_table("locality")
