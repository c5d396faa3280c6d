"""Work orders as evidence: the server's and the phone's time of each check, the position as
sent, the follow-up's rating and comment, the order a re-dispatch replaces and the options it
was offered

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("review_rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("review_comment", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("check_ins") as batch:
        batch.add_column(sa.Column("phone_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("coord_system", sa.String(length=8), nullable=False, server_default="wgs84")
        )
        batch.add_column(sa.Column("raw_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("raw_lon", sa.Float(), nullable=True))
    # Checks stored before this revision took the phone's time as theirs and WGS-84 positions.
    op.execute("UPDATE check_ins SET phone_time = at, raw_lat = lat, raw_lon = lon")
    op.create_table(
        "redispatch_offers",
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("now", sa.Integer(), nullable=False),
        sa.Column("ranked_by", sa.String(length=16), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"]),
        sa.PrimaryKeyConstraint("work_order_id"),
    )


def downgrade() -> None:
    op.drop_table("redispatch_offers")
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_column("raw_lon")
        batch.drop_column("raw_lat")
        batch.drop_column("coord_system")
        batch.drop_column("phone_time")
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("replaces_id")
        batch.drop_column("review_comment")
        batch.drop_column("review_rating")
