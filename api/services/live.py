"""Persistence of changes to the published plan (hotline confirms, absences).

A change reads the published plan row and the day's work orders, takes the row for itself
(:func:`claim`), hands the domain operation of :mod:`dispatch.operations` the plan model and
the orders, and writes what it returns as a new published version (:func:`new_version`); two
changes racing for the same version cannot both commit (:func:`commit_version` answers 409).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, object_session

from api.models import PlanRow, ScenarioSettings, WorkOrder, utcnow
from api.services.errors import Conflict
from api.services.plans import next_version
from api.services.scenario import current_scenario
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
    "new_version",
    "plan_of",
    "published",
    "rejected_as_conflict",
    "remember_scenario",
    "same_visit",
    "stored_scenario",
    "week_plan",
    "whole_plan",
]

#: Work-order states of a visit that has started or is done: it stays where it is.
FIXED_STATES: tuple[str, ...] = ("checked_in", "checked_out", "reviewed", "settled")
#: What a confirm or an absence answers when another change of the plan came first.
ROUTE_CHANGED = "路线已变更，请重新查询 / the route changed, ask again"

_lock = threading.Lock()
_scenario_cache: dict[tuple[str, str], Scenario] = {}
_plan_cache: dict[tuple[str, int, str], Plan] = {}


def _database(session: Session) -> str:
    return str(getattr(session.get_bind(), "url", ""))


def stored_scenario(session: Session) -> Scenario:
    """The stored scenario, parsed once per stored version (it is large and read often);
    raises :class:`Conflict` when none is stored."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        raise Conflict("尚未导入场景 / no scenario stored")
    key = (_database(session), frame.updated_at.isoformat())
    with _lock:
        cached = _scenario_cache.get(key)
    if cached is not None:
        return cached
    scenario = current_scenario(session)
    if scenario is None:
        raise Conflict("尚未导入场景 / no scenario stored")
    with _lock:
        _scenario_cache.clear()
        _scenario_cache[key] = scenario
    return scenario


def remember_scenario(session: Session, scenario: Scenario) -> None:
    """Cache ``scenario`` as the stored scenario just committed, so the next call does not
    parse the whole scenario again."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        return
    session.refresh(frame)  # the time as the database gives it back to other sessions
    with _lock:
        _scenario_cache.clear()
        _scenario_cache[(_database(session), frame.updated_at.isoformat())] = scenario


def plan_of(session: Session, row: PlanRow) -> Plan:
    """The plan model of a published row (a version's document never changes once published,
    so it is parsed once per version)."""
    # The creation time tells apart rows that reuse an id (a database emptied and refilled).
    key = (_database(session), row.id, row.created_at.isoformat())
    with _lock:
        cached = _plan_cache.get(key)
    if cached is not None:
        return cached
    plan = parse_plan(row.document or {"format": 1, "routes": [], "unassigned": [], "kpis": {}})
    with _lock:
        if len(_plan_cache) > 16:
            _plan_cache.clear()
        _plan_cache[key] = plan
    return plan


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


def whole_plan(
    session: Session, row: PlanRow, plan: Plan, visit_date: date, scenario: Scenario
) -> Plan:
    """The published row's plan with the week of ``visit_date`` replaced by ``plan`` (what a
    domain operation returned for :func:`week_plan`; see
    :func:`dispatch.operations.weeks.with_week`). Raises :class:`Conflict` (after a rollback)
    when the whole plan breaks a rule of ``scenario``."""
    week = _week_index(row, visit_date)
    first = date.fromisoformat(row.week_start or "")
    with rejected_as_conflict(session):
        return weeks.with_week(plan_of(session, row), first, week, plan, scenario)


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


def published(session: Session, *, lock: bool = False) -> PlanRow:
    """The published plan row, its document loaded only when read; raises :class:`Conflict`
    when none is published."""
    query = select(PlanRow).where(PlanRow.status == "published").options(defer(PlanRow.document))
    plan = session.scalar(query.with_for_update() if lock else query)
    if plan is None:
        if lock:
            # PostgreSQL: the row was locked by a change that has since published a new
            # version; the locked read skips it, a fresh read sees the new one.
            session.rollback()
            if session.scalar(select(PlanRow.id).where(PlanRow.status == "published")):
                raise Conflict(ROUTE_CHANGED)
        raise Conflict("没有已发布的计划 / no plan is published")
    return plan


def claim(session: Session, plan: PlanRow) -> None:
    """Take the published plan for this change (compare-and-set on its status, which also
    takes the database's write lock); raises :class:`Conflict` when another change took it
    first. Nothing is committed: the caller writes the new version or rolls back."""
    claimed = session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan.id, PlanRow.status == "published")
        .values(status="done", updated_at=utcnow())
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


def new_version(session: Session, old: PlanRow, plan: Plan, why: str) -> PlanRow:
    """A published version after ``old`` holding ``plan`` (document and KPIs); moves ``old``'s
    orders to it (no commit)."""
    now = utcnow()
    row = PlanRow(
        version=next_version(session),
        name=old.name,
        status="published",
        scenario_name=old.scenario_name,
        week_start=old.week_start,
        parameters={**old.parameters, "from_version": old.version, "change": why},
        document=plan_to_dict(plan),
        kpis=dict(plan.kpis),
        progress=1.0,
        message=why,
        created_by=old.created_by,
        created_at=now,
        updated_at=now,
        published_at=now,
    )
    old.status, old.updated_at = "done", now
    session.add(row)
    session.flush()
    session.execute(update(WorkOrder).where(WorkOrder.plan_id == old.id).values(plan_id=row.id))
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
