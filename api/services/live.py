"""Persistence of changes to the plan in force (hotline confirms, absences, re-dispatches).

A change of a day reads the plan in force in that day's ISO week (:func:`published`, one
``week_plans`` row per week) and the day's work orders, takes the week for itself
(:func:`claim`), hands the domain operation of :mod:`dispatch.operations` that week's plan and
scenario (:func:`week_plan`, :func:`week_scenario`) and the orders, and writes what it returns as
a new published version of that week alone (:func:`new_version`): the plan's other weeks, and
every other week, stay as they are. Two changes racing for the same week cannot both commit
(the week's row is compared and set; :func:`commit_version` answers 409).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, object_session

from api.models import PlanRow, ScenarioSettings, WeekPlan, WorkOrder, utcnow
from api.services import master
from api.services.errors import Conflict
from api.services.kept import Kept
from api.services.plans import next_version
from dispatch.model import DAYS, Plan, Scenario
from dispatch.operations import weeks
from dispatch.operations.day import DayOrder
from dispatch.operations.versions import PlanRejected
from dispatch.plan_io import parse_plan, plan_to_dict

__all__ = [
    "FIXED_STATES",
    "ROUTE_CHANGED",
    "claim",
    "commit_version",
    "covered_weeks",
    "day_code",
    "day_orders",
    "day_stamp",
    "new_version",
    "plan_of",
    "published",
    "rejected_as_conflict",
    "same_visit",
    "week_plan",
    "week_scenario",
]

#: Work-order states of a visit that has started or is done: it stays where it is.
FIXED_STATES: tuple[str, ...] = ("checked_in", "checked_out", "reviewed", "settled")
#: What a confirm or an absence answers when another change of the plan came first.
ROUTE_CHANGED = "路线已变更，请重新查询 / the route changed, ask again"

#: Published plans by database, row id and the row's creation time.
_plans: Kept[tuple[str, int, str], Plan] = Kept(16)


def _database(session: Session) -> str:
    return str(getattr(session.get_bind(), "url", ""))


def plan_of(session: Session, row: PlanRow) -> Plan:
    """The plan model of a published row (a version's document never changes once published,
    so it is parsed once per version)."""
    # The creation time tells apart rows that reuse an id (a database emptied and refilled).
    key = (_database(session), row.id, row.created_at.isoformat())
    empty = {"format": 1, "routes": [], "unassigned": [], "kpis": {}}
    return _plans.get_or_build(key, lambda: parse_plan(row.document or empty))


def covered_weeks(plan: PlanRow) -> int:
    """How many consecutive weeks from its ``week_start`` the plan row covers: its document's
    ``weeks`` (1 for a one-week plan)."""
    session = object_session(plan)
    if session is not None:
        return plan_of(session, plan).weeks
    weeks = (plan.document or {}).get("weeks", 1)
    return weeks if isinstance(weeks, int) and weeks >= 1 else 1


def _week_index(plan: PlanRow, visit_date: date) -> int:
    """Which of the plan's weeks (0 = the first) holds ``visit_date``; raises
    :class:`Conflict` when the plan does not cover it."""
    if plan.week_start is None:
        raise Conflict("计划没有周起始日期 / the published plan has no week_start")
    monday = date.fromisoformat(plan.week_start)
    weeks = covered_weeks(plan)
    offset = (visit_date - monday).days
    if not 0 <= offset < 7 * weeks:
        last = monday + timedelta(days=7 * weeks - 1)
        span = f"week of {monday}" if weeks == 1 else f"{monday} to {last}"
        raise Conflict(
            f"已发布的计划不含 {visit_date} / the published plan ({span}) "
            f"does not cover {visit_date}"
        )
    return offset // 7


def day_code(plan: PlanRow, visit_date: date) -> str:
    """The day code of ``visit_date`` in the plan's weeks (``weeks`` × 7 days from its
    ``week_start``); raises :class:`Conflict` when the plan does not cover it."""
    _week_index(plan, visit_date)
    return DAYS[visit_date.weekday()]


def week_plan(session: Session, row: PlanRow, visit_date: date) -> Plan:
    """The plan of the week of ``visit_date`` as the domain operations read it
    (:func:`dispatch.operations.weeks.week_of`). Raises :class:`Conflict` when the plan does
    not cover the date."""
    week = _week_index(row, visit_date)
    return weeks.week_of(plan_of(session, row), date.fromisoformat(row.week_start or ""), week)


def week_scenario(session: Session, visit_date: date) -> Scenario:
    """The scenario of the week of ``visit_date`` (master data of that week and its one-off
    orders, :func:`api.services.master.week_scenario`)."""
    return master.week_scenario(session, visit_date)


def day_stamp(session: Session, plan: PlanRow, visit_date: date) -> tuple[Any, ...]:
    """What the day's orders of ``plan`` and the stored master data look like, read in one
    small query: the database, the day, the plan, the orders' count, highest id and latest
    ``updated_at`` (every update of an order stamps it) and the master data's revision. Equal
    stamps mean an answer built from them may be given again."""
    count, last_id, last_change = session.execute(
        select(func.count(), func.max(WorkOrder.id), func.max(WorkOrder.updated_at)).where(
            WorkOrder.plan_id == plan.id, WorkOrder.visit_date == visit_date
        )
    ).one()
    frame = session.get(ScenarioSettings, 1)
    revision = frame.updated_at if frame is not None else None
    return (_database(session), visit_date, plan.id, count, last_id, last_change, revision)


def day_orders(
    session: Session, plan_id: int, visit_date: date, caregiver: str | None = None
) -> list[DayOrder]:
    """The plan's live work orders (not cancelled or refused) of ``visit_date`` that have a
    caregiver and times, as the domain operations read them."""
    query = select(
        WorkOrder.id,
        WorkOrder.caregiver_id,
        WorkOrder.request_id,
        WorkOrder.household_id,
        WorkOrder.start,
        WorkOrder.end,
        WorkOrder.lat,
        WorkOrder.lon,
        WorkOrder.window_from,
        WorkOrder.window_to,
        WorkOrder.status,
        WorkOrder.sequence,
    ).where(
        WorkOrder.plan_id == plan_id,
        WorkOrder.visit_date == visit_date,
        WorkOrder.status.not_in(("cancelled", "refused")),
        WorkOrder.caregiver_id.is_not(None),
        WorkOrder.start.is_not(None),
        WorkOrder.end.is_not(None),
    )
    if caregiver is not None:
        query = query.where(WorkOrder.caregiver_id == caregiver)
    return [
        DayOrder(
            key=row.id,
            caregiver=row.caregiver_id,
            request=row.request_id,
            household=row.household_id,
            start=row.start,
            end=row.end,
            lat=row.lat,
            lon=row.lon,
            window=(row.window_from, row.window_to)
            if row.window_from is not None and row.window_to is not None
            else None,
            fixed=row.status in FIXED_STATES,
            sequence=row.sequence,
        )
        for row in session.execute(query)
    ]


def published(session: Session, visit_date: date, *, lock: bool = False) -> PlanRow:
    """The plan row in force in the ISO week of ``visit_date``, its document loaded only when
    read; raises :class:`Conflict` when no plan is published for that week. ``lock`` takes the
    week's row for this transaction (PostgreSQL)."""
    monday = master.monday_of(visit_date)
    query = select(WeekPlan).where(WeekPlan.week_start == monday)
    week = session.scalar(query.with_for_update() if lock else query)
    if week is None:
        raise Conflict(
            f"{visit_date}所在周没有已发布的计划 / no plan is published for the week of {monday}"
        )
    row = session.scalar(
        select(PlanRow).where(PlanRow.id == week.plan_id).options(defer(PlanRow.document))
    )
    assert row is not None  # a foreign key
    return row


def claim(session: Session, plan: PlanRow, visit_date: date) -> None:
    """Take the week of ``visit_date`` for this change (compare-and-set on the week's row,
    which also takes the database's write lock); raises :class:`Conflict` when another change
    took it first. Nothing is committed: the caller writes the new version or rolls back."""
    claimed = session.execute(
        update(WeekPlan)
        .where(WeekPlan.week_start == master.monday_of(visit_date), WeekPlan.plan_id == plan.id)
        .values(published_at=utcnow())
    )
    if getattr(claimed, "rowcount", 0) != 1:
        session.rollback()
        raise Conflict(ROUTE_CHANGED)


@contextmanager
def rejected_as_conflict(session: Session) -> Iterator[None]:
    """Roll back and answer 409 when the domain operation's new version breaks a rule."""
    try:
        yield
    except PlanRejected as exc:
        session.rollback()
        raise Conflict(f"新计划违反规则 / {exc}") from None


def new_version(session: Session, old: PlanRow, plan: Plan, why: str, visit_date: date) -> PlanRow:
    """A published one-week version holding ``plan`` (the week of ``visit_date`` as a domain
    operation changed it; document and KPIs) that replaces ``old`` in that week; moves
    ``old``'s orders of the week to it; ``old`` stays in force in its other weeks, else is done
    (no commit)."""
    now = utcnow()
    monday = master.monday_of(visit_date)
    row = PlanRow(
        version=next_version(session),
        name=old.name,
        status="published",
        scenario_name=old.scenario_name,
        week_start=monday.isoformat(),
        parameters={
            **old.parameters,
            "from_version": old.version,
            "change": why,
            "weeks": 1,
        },
        document=plan_to_dict(plan),
        kpis=dict(plan.kpis),
        progress=1.0,
        message=why,
        created_by=old.created_by,
        created_at=now,
        updated_at=now,
        published_at=now,
    )
    session.add(row)
    session.flush()
    moved = session.execute(
        update(WeekPlan)
        .where(WeekPlan.week_start == monday, WeekPlan.plan_id == old.id)
        .values(plan_id=row.id, published_at=now)
    )
    if getattr(moved, "rowcount", 0) != 1:
        session.rollback()
        raise Conflict(ROUTE_CHANGED)
    session.execute(
        update(WorkOrder)
        .where(
            WorkOrder.plan_id == old.id,
            master.in_week(WorkOrder.visit_date, monday),
        )
        .values(plan_id=row.id)
    )
    left = session.scalar(
        select(func.count()).select_from(WeekPlan).where(WeekPlan.plan_id == old.id)
    )
    if not left:
        old.status = "done"
    old.updated_at = now
    return row


def commit_version(session: Session) -> None:
    """Commit a new version; raises :class:`Conflict` when another change committed one
    first (the version number is unique)."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(ROUTE_CHANGED) from None


def same_visit(o: WorkOrder, **changes: Any) -> WorkOrder:
    """A new work order for the visit of ``o`` (household, request, service, date, window,
    place, notes), with ``changes`` (plan, status, caregiver, times, flags)."""
    now = utcnow()
    fields: dict[str, Any] = {
        "source": o.source,
        "household_id": o.household_id,
        "request_id": o.request_id,
        "service": o.service,
        "day": o.day,
        "visit_date": o.visit_date,
        "sequence": 0,
        "planned_minutes": o.planned_minutes,
        "window_from": o.window_from,
        "window_to": o.window_to,
        "household_name": o.household_name,
        "address": o.address,
        "lat": o.lat,
        "lon": o.lon,
        "notes": o.notes,
        "created_at": now,
        "updated_at": now,
    }
    return WorkOrder(**{**fields, **changes})
