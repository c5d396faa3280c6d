"""A calendar: master data changes dated from a day, one-off orders on their date, the plan in
force per ISO week

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 19:40:00

Existing data moves over: the published plan becomes the plan in force in each week it covers,
and the hotline visits that earlier versions wrote into the master data as standing requests
(``hotline-<order>``, with the callers' ``caller-<order>`` households) become one-off orders on
their work order's date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "master_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_master_changes_entity_id", "master_changes", ["entity_id"])
    op.create_index("ix_master_changes_effective_from", "master_changes", ["effective_from"])
    op.create_table(
        "dated_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("caller", sa.JSON(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dated_requests_visit_date", "dated_requests", ["visit_date"])
    op.create_index("ix_dated_requests_household_id", "dated_requests", ["household_id"])
    op.create_table(
        "week_plans",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("week_start"),
    )
    op.create_index("ix_week_plans_plan_id", "week_plans", ["plan_id"])
    _move_published_plan()
    _move_hotline_requests()


def _json(value: Any) -> Any:
    """A JSON column as read by a raw query: parsed already (PostgreSQL) or text (SQLite)."""
    return json.loads(value) if isinstance(value, str) else value


def _move_published_plan() -> None:
    bind = op.get_bind()
    plans = sa.table(
        "plans",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("week_start", sa.String()),
        sa.column("document", sa.JSON()),
        sa.column("published_at", sa.DateTime(timezone=True)),
    )
    weeks = sa.table(
        "week_plans",
        sa.column("week_start", sa.Date()),
        sa.column("plan_id", sa.Integer()),
        sa.column("published_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(plans.c.id, plans.c.week_start, plans.c.document, plans.c.published_at).where(
            plans.c.status == "published"
        )
    ).all()
    for row in rows:
        if not row.week_start:
            continue
        monday = dt.date.fromisoformat(row.week_start)
        monday -= dt.timedelta(days=monday.weekday())
        document = _json(row.document) or {}
        count = document.get("weeks", 1) if isinstance(document, dict) else 1
        count = count if isinstance(count, int) and count >= 1 else 1
        at = row.published_at or dt.datetime.now(dt.UTC)
        for k in range(count):
            bind.execute(
                weeks.insert().values(
                    week_start=monday + dt.timedelta(days=7 * k), plan_id=row.id, published_at=at
                )
            )


def _move_hotline_requests() -> None:
    bind = op.get_bind()
    requests = sa.table(
        "requests",
        sa.column("id", sa.String()),
        sa.column("household_id", sa.String()),
        sa.column("data", sa.JSON()),
    )
    households = sa.table(
        "households",
        sa.column("id", sa.String()),
        sa.column("data", sa.JSON()),
    )
    orders = sa.table(
        "work_orders",
        sa.column("id", sa.Integer()),
        sa.column("request_id", sa.String()),
        sa.column("visit_date", sa.Date()),
        sa.column("source", sa.String()),
    )
    dated = sa.table(
        "dated_requests",
        sa.column("id", sa.String()),
        sa.column("visit_date", sa.Date()),
        sa.column("household_id", sa.String()),
        sa.column("request", sa.JSON()),
        sa.column("caller", sa.JSON()),
        sa.column("work_order_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    found = bind.execute(
        sa.select(requests.c.id, requests.c.household_id, requests.c.data).where(
            requests.c.id.like("hotline-%")
        )
    ).all()
    now = dt.datetime.now(dt.UTC)
    callers: set[str] = set()
    for rid, household_id, data in found:
        order = bind.execute(
            sa.select(orders.c.id, orders.c.visit_date)
            .where(orders.c.request_id == rid, orders.c.visit_date.is_not(None))
            .order_by(orders.c.id)
        ).first()
        if order is None:
            continue  # a standing request no order dates: left in the master data as it was
        caller = None
        if household_id.startswith("caller-"):
            household = bind.execute(
                sa.select(households.c.data).where(households.c.id == household_id)
            ).scalar()
            caller = {k: v for k, v in dict(_json(household) or {}).items() if k != "requests"}
            callers.add(household_id)
        request = dict(_json(data) or {})
        bind.execute(
            dated.insert().values(
                id=rid,
                visit_date=order.visit_date,
                household_id=household_id,
                request=request,
                caller=caller,
                work_order_id=order.id,
                created_at=now,
            )
        )
        bind.execute(requests.delete().where(requests.c.id == rid))
    for household_id in callers:
        left = bind.execute(
            sa.select(sa.func.count()).where(requests.c.household_id == household_id)
        ).scalar()
        if not left:
            bind.execute(households.delete().where(households.c.id == household_id))


def downgrade() -> None:
    op.drop_index("ix_week_plans_plan_id", table_name="week_plans")
    op.drop_table("week_plans")
    op.drop_index("ix_dated_requests_household_id", table_name="dated_requests")
    op.drop_index("ix_dated_requests_visit_date", table_name="dated_requests")
    op.drop_table("dated_requests")
    op.drop_index("ix_master_changes_effective_from", table_name="master_changes")
    op.drop_index("ix_master_changes_entity_id", table_name="master_changes")
    op.drop_table("master_changes")
