"""An index for the day's stamp of a plan's work orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:10:00

Every hotline call reads the count, last id and last change of the published plan's orders of
its date (``api.services.live.day_stamp``); with ``(plan_id, visit_date, updated_at)`` that is
read from the index alone instead of every order of the plan's week.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_work_orders_plan_day", "work_orders", ["plan_id", "visit_date", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_plan_day", table_name="work_orders")
