"""Batches: many what-if variants of one scenario solved in parallel and compared

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00

- ``batches``: one row per batch (方案对比): its state, how it was asked for (``parameters``:
  time limit, seed, solver, engine, the variants document, the staff cost), the comparison
  table's ``rows`` and a heartbeat like the planner jobs'.
- ``plans.batch_id`` and ``plans.variant``: each variant's plan is an ordinary plan row of its
  batch; "the variants of batch N" is one indexed query.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scenario_name", sa.String(length=200), nullable=False),
        sa.Column("week_start", sa.String(length=10), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_status", "batches", ["status"])
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=200), nullable=True))
        batch.create_index("ix_plans_batch_id", ["batch_id"])
        batch.create_foreign_key("fk_plans_batch_id", "batches", ["batch_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint("fk_plans_batch_id", type_="foreignkey")
        batch.drop_index("ix_plans_batch_id")
        batch.drop_column("variant")
        batch.drop_column("batch_id")
    op.drop_index("ix_batches_status", table_name="batches")
    op.drop_table("batches")
