"""Hotline calls: the options offered for a hotline work order

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hotline_calls",
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("now", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"]),
        sa.PrimaryKeyConstraint("work_order_id"),
    )


def downgrade() -> None:
    op.drop_table("hotline_calls")
