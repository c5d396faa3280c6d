"""Versioned plans: store, track a solve's state, publish (which creates the work orders).

A plan row moves draft → running → done or failed. A plan belongs to ISO weeks: its
``week_start`` (a Monday) and the ``weeks`` of its document. Publishing a done plan makes it the
plan in force in each of its weeks (``week_plans``) and nowhere else: publishing next week's
plan never touches this week's orders. In each of its weeks it creates one work order per stop
(a two-person visit gives one order per caregiver) and cancels the still-open orders of the
plan it replaces there; a plan no week uses any more goes back to ``done``. A new solve never
touches a published plan until it is itself published.

Every plan that enters the store goes through the independent checker against the master data
of its weeks (:func:`dispatch.checker.check_span` over :func:`api.services.master.span_scenarios`:
each week's master data with its one-off orders) and carries the KPIs the checker recomputes,
never those its document claims. An uploaded plan that breaks a rule is refused
(:class:`PlanViolations`, nothing stored); a computed one (a planner job, against the job's own
scenarios) is stored ``failed`` with the violations named. Publishing checks the plan again
against the stored master data and refuses one that breaks a rule (:class:`Conflict` naming the
violations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import (
    DatedRequestRow,
    HouseholdRow,
    PlanRow,
    ScenarioSettings,
    WeekPlan,
    WorkOrder,
    utcnow,
)
from api.services import master
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from api.services.work_orders import OPEN_STATES
from dispatch.calendar import DatedRequest
from dispatch.checker import CheckReport, Violation, check_span
from dispatch.model import DAYS, Plan, Route, Scenario
from dispatch.plan_io import parse_plan, plan_to_dict

__all__ = [
    "PLAN_STATES",
    "PROGRAMME_VISITS",
    "RUN_FIGURES",
    "PlanViolations",
    "check_document",
    "checked",
    "default_week",
    "fail_plan",
    "finish_plan",
    "first_week",
    "get_plan",
    "in_force",
    "list_plans",
    "new_plan",
    "next_version",
    "publish_plan",
    "set_progress",
    "store_plan",
    "weeks_scenarios",
]

#: States of a plan row.
PLAN_STATES: tuple[str, ...] = ("draft", "running", "done", "failed", "cancelled", "published")
#: Figures of a computed plan that describe the run, not the plan: kept beside the KPIs the
#: checker recomputes.
RUN_FIGURES: tuple[str, ...] = ("solver_seconds",)
#: How many violations an error message names (the answer lists them all).
_NAMED = 5


def _listed(violations: Sequence[Violation]) -> str:
    """The first few violations in one line: ``rule (caregiver day request): message``."""
    parts = []
    for v in violations[:_NAMED]:
        where = " ".join(x for x in (v.caregiver, v.day, v.request) if x)
        parts.append(f"{v.rule} ({where}): {v.message}" if where else f"{v.rule}: {v.message}")
    more = f"; … {len(violations) - _NAMED} more" if len(violations) > _NAMED else ""
    return "; ".join(parts) + more


def _violation_path(plan: Plan, v: Violation) -> str:
    """Where in the uploaded body a violation lies, as closely as the checker says."""
    for i, route in enumerate(plan.routes):
        if route.caregiver == v.caregiver and route.day == v.day:
            for j, stop in enumerate(route.stops):
                if v.request is not None and stop.request == v.request:
                    return f"body.routes[{i}].stops[{j}]"
            return f"body.routes[{i}]"
    if v.request is not None:
        for i, u in enumerate(plan.unassigned):
            if u.request == v.request:
                return f"body.unassigned[{i}]"
        return "body.unassigned"
    return "body"


class PlanViolations(InputError):
    """An uploaded plan breaks rules of the stored master data (HTTP 422, nothing stored):
    ``violations`` are the checker's findings, ``fields`` say where each lies in the body."""

    code = "plan_violations"

    def __init__(self, plan: Plan, violations: Sequence[Violation]) -> None:
        n = len(violations)
        super().__init__(
            f"计划违反{n}条规则，未保存 / the plan breaks {n} rule(s) and was not stored: "
            + _listed(violations),
            [FieldProblem(_violation_path(plan, v), f"{v.rule}: {v.message}") for v in violations],
        )
        self.violations = tuple(violations)


def default_week(session: Session) -> date | None:
    """The Monday a plan is for when nothing says which: the stored scenario's ``week_start``
    (``None`` when it has none). Raises :class:`Conflict` when no scenario is stored."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        raise Conflict("尚未导入场景 / no scenario stored: import one before adding plans")
    if frame.week_start is None:
        return None
    return master.monday_of(date.fromisoformat(frame.week_start))


def first_week(row: PlanRow) -> date:
    """The Monday of a plan row's first week; raises :class:`Conflict` without one."""
    if row.week_start is None:
        raise Conflict("计划没有周起始日期 / the plan has no week_start, dates are unknown")
    return master.monday_of(date.fromisoformat(row.week_start))


def weeks_scenarios(
    session: Session, week_start: date | None, weeks: int
) -> tuple[date | None, list[Scenario]]:
    """The first Monday and the scenario of each of ``weeks`` weeks from the week of
    ``week_start`` (default :func:`default_week`): the stored master data of each week with its
    one-off orders. Without any week start, one week of the master data as imported (its
    dated changes cannot apply); several weeks then raise :class:`InputError` naming
    ``body.weeks``. Raises :class:`Conflict` when no scenario is stored."""
    first = master.monday_of(week_start) if week_start is not None else default_week(session)
    if first is not None:
        return first, master.span_scenarios(session, first, weeks)
    if weeks > 1:
        why = "a plan of several weeks needs a week_start"
        raise InputError(f"多周计划需要周起始日期 / {why}", [FieldProblem("body.weeks", why)])
    return None, [master.undated_scenario(session)]


def check_document(
    session: Session, document: Mapping[str, Any], week_start: date | None = None
) -> tuple[Plan, CheckReport]:
    """A plan document (format 1) for the weeks from ``week_start`` (default
    :func:`default_week`) checked against the stored master data of those weeks, without
    storing it: the plan and the checker's report (violations and recomputed KPIs).

    Raises :class:`dispatch.plan_io.PlanError` for an invalid document and :class:`Conflict`
    when no scenario is stored.
    """
    plan = parse_plan(document)
    _first, scenarios = weeks_scenarios(session, week_start, plan.weeks)
    return plan, check_span(scenarios, plan)


def checked(scenarios: Sequence[Scenario], plan: Plan) -> tuple[Plan, CheckReport]:
    """``plan`` with the KPIs the checker recomputes for the master data of its weeks,
    ``scenarios`` (one per week; and the figures of its run, :data:`RUN_FIGURES`), and the
    checker's report."""
    report = check_span(scenarios, plan)
    kpis = dict(report.kpis)
    kpis.update({k: plan.kpis[k] for k in RUN_FIGURES if k in plan.kpis})
    return replace(plan, kpis=MappingProxyType(kpis)), report


def next_version(session: Session) -> int:
    """The version number the next plan row gets (one above the highest)."""
    return int(session.scalar(select(func.coalesce(func.max(PlanRow.version), 0))) or 0) + 1


def new_plan(
    session: Session,
    *,
    name: str = "",
    parameters: Mapping[str, Any] | None = None,
    created_by: str = "",
    status: str = "draft",
) -> PlanRow:
    """A new plan version without a document yet (for a solve job); commits."""
    frame = session.get(ScenarioSettings, 1)
    row = PlanRow(
        version=next_version(session),
        name=name,
        status=status,
        scenario_name=frame.name if frame else "",
        week_start=frame.week_start if frame else None,
        parameters=dict(parameters or {}),
        kpis={},
        progress=0.0,
        message="",
        created_by=created_by,
    )
    session.add(row)
    session.commit()
    return row


def get_plan(session: Session, plan_id: int) -> PlanRow:
    """The plan row with this id; raises :class:`NotFound`."""
    row = session.get(PlanRow, plan_id)
    if row is None:
        raise NotFound(f"排班计划不存在 / no plan {plan_id}")
    return row


def list_plans(session: Session) -> list[PlanRow]:
    """Every plan version, newest first."""
    return list(session.scalars(select(PlanRow).order_by(PlanRow.version.desc())))


def in_force(session: Session, first: date, weeks: int = 1) -> dict[date, int]:
    """The plan in force (its row id) in each of ``weeks`` ISO weeks from ``first``'s that has
    one, by Monday."""
    monday = master.monday_of(first)
    rows = session.scalars(
        select(WeekPlan).where(
            WeekPlan.week_start >= monday, WeekPlan.week_start < monday + timedelta(days=7 * weeks)
        )
    )
    return {r.week_start: r.plan_id for r in rows}


def set_progress(session: Session, plan_id: int, progress: float, *, message: str = "") -> None:
    """Mark a plan running with ``progress`` in 0–1; commits."""
    row = get_plan(session, plan_id)
    row.status, row.progress, row.message = "running", min(1.0, max(0.0, progress)), message
    row.updated_at = utcnow()
    session.commit()


def finish_plan(
    session: Session, plan_id: int, plan: Plan, scenarios: Sequence[Scenario]
) -> PlanRow:
    """Store a solved plan in its row, checked against ``scenarios`` (those of its weeks it was
    solved for) with its KPIs recomputed, and mark it done; commits.

    A plan that breaks a rule is stored ``failed``, its message naming the violations: it can
    never be published.
    """
    plan, report = checked(scenarios, plan)
    row = get_plan(session, plan_id)
    row.document = plan_to_dict(plan)
    row.kpis = dict(plan.kpis)
    row.status, row.progress, row.updated_at = "done", 1.0, utcnow()
    if not report.ok:
        n = len(report.violations)
        row.status = "failed"
        row.message = f"方案未通过校验，违反{n}条规则 / the plan breaks {n} rule(s): " + _listed(
            report.violations
        )
    session.commit()
    return row


def fail_plan(session: Session, plan_id: int, message: str) -> PlanRow:
    """Mark a plan failed with a user-facing ``message``; commits."""
    row = get_plan(session, plan_id)
    row.status, row.message, row.updated_at = "failed", message, utcnow()
    session.commit()
    return row


def _check_references(scenarios: Sequence[Scenario], plan: Plan) -> None:
    """Unknown caregivers, days and requests (of every week) named by their fields (the
    checker names them too, but not where they lie in the body)."""
    caregivers = {c.id for scenario in scenarios for c in scenario.caregivers}
    requests = {r.id: h.id for scenario in scenarios for h, r in scenario.requests()}
    days = {d for scenario in scenarios for d in scenario.days}
    problems: list[FieldProblem] = []
    for i, route in enumerate(plan.routes):
        if route.caregiver not in caregivers:
            problems.append(
                FieldProblem(f"body.routes[{i}].caregiver", f"unknown caregiver {route.caregiver}")
            )
        if route.day not in days:
            problems.append(FieldProblem(f"body.routes[{i}].day", f"{route.day} is not planned"))
        for j, stop in enumerate(route.stops):
            household = requests.get(stop.request)
            if household is None:
                problems.append(
                    FieldProblem(
                        f"body.routes[{i}].stops[{j}].request", f"unknown request {stop.request}"
                    )
                )
            elif household != stop.household:
                problems.append(
                    FieldProblem(
                        f"body.routes[{i}].stops[{j}].household",
                        f"request {stop.request} belongs to household {household}",
                    )
                )
    if problems:
        raise InputError(
            f"计划引用了未知对象 / the plan refers to unknown ids: {len(problems)} problem(s)",
            problems,
        )


def store_plan(
    session: Session,
    document: Mapping[str, Any],
    *,
    week_start: date | None = None,
    name: str = "",
    created_by: str = "",
) -> PlanRow:
    """Store a finished plan document (format 1) for the weeks from ``week_start`` (default
    :func:`default_week`) as a new version with status ``done``, its KPIs recomputed by the
    checker (those the document claims are ignored).

    Raises :class:`dispatch.plan_io.PlanError` for an invalid document, :class:`InputError`
    when it names caregivers or requests the stored master data lacks, :class:`PlanViolations`
    when it breaks a rule of the master data of its weeks, :class:`Conflict` when no scenario
    is stored; then nothing is stored.
    """
    plan = parse_plan(document)
    first, scenarios = weeks_scenarios(session, week_start, plan.weeks)
    _check_references(scenarios, plan)
    report = check_span(scenarios, plan)
    if not report.ok:
        raise PlanViolations(plan, report.violations)
    plan = replace(plan, kpis=MappingProxyType(dict(report.kpis)))
    row = new_plan(session, name=name, created_by=created_by, status="draft")
    row.week_start = first.isoformat() if first is not None else None
    row.document, row.kpis = plan_to_dict(plan), dict(plan.kpis)
    row.status, row.progress, row.updated_at = "done", 1.0, utcnow()
    session.commit()
    return row


def _window_of(windows: Sequence[tuple[int, int]], start: int) -> tuple[int | None, int | None]:
    for lo, hi in windows:
        if lo <= start <= hi:
            return lo, hi
    return None, None


def _visit_date(route: Route, monday: date) -> date:
    """The date of a route's visits: its own ``date`` in a plan of several weeks (the checker
    has verified it), else its day in the week of ``monday``."""
    if route.date is not None:
        return date.fromisoformat(route.date)
    return monday + timedelta(days=DAYS.index(route.day))


def _week_orders(
    session: Session, row: PlanRow, routes: Sequence[Route], monday: date, scenario: Scenario
) -> None:
    """One dispatched work order per stop of ``routes`` (of the week of ``monday``), with the
    household's place and the request's window as the week's master data has them."""
    notes = {h.id: h.notes for h in session.scalars(select(HouseholdRow))}
    households = {h.id: h for h in scenario.households}
    requests = {r.id: r for _, r in scenario.requests()}
    now = utcnow()
    for route in routes:
        for seq, stop in enumerate(route.stops, start=1):
            household = households[stop.household]  # the checker has verified both ids
            request = requests[stop.request]
            window_from, window_to = _window_of(request.windows, stop.start)
            session.add(
                WorkOrder(
                    source="plan",
                    plan_id=row.id,
                    status="dispatched",
                    caregiver_id=route.caregiver,
                    household_id=stop.household,
                    request_id=stop.request,
                    service=request.service,
                    day=route.day,
                    visit_date=_visit_date(route, monday),
                    sequence=seq,
                    arrival=stop.arrival,
                    start=stop.start,
                    end=stop.end,
                    planned_minutes=stop.end - stop.start,
                    window_from=window_from,
                    window_to=window_to,
                    household_name=household.name,
                    address=household.address,
                    lat=household.lat,
                    lon=household.lon,
                    notes=notes.get(stop.household, ""),
                    flags=[],
                    created_at=now,
                    updated_at=now,
                )
            )


def _refuse_empty(plan_id: int, plan: Plan, scenarios: Sequence[Scenario]) -> None:
    """Raise :class:`Conflict` for a plan without a single visit when its weeks' master data
    asks for visits: publishing it would cancel every open order of those weeks."""
    if any(route.stops for route in plan.routes):
        return
    asked = sum(
        request.visits_per_week
        for scenario in scenarios
        for household in scenario.households
        for request in household.requests
    )
    if asked:
        raise Conflict(
            f"计划没有任何上门服务，不能发布 / plan {plan_id} plans no visit at all while the "
            f"master data of its weeks asks for {asked}; publishing it would empty every route"
        )


#: The key of a job row's ``parameters`` listing the visiting programme's visit requests the
#: job added to its weeks (id, household, format-1 request).
PROGRAMME_VISITS = "programme_visits"


def _keep_programme_visits(session: Session, row: PlanRow) -> None:
    """The programme visits the job added to its weeks, planned or not, kept as requests of
    their weeks (no commit: they are written with the publishing, or rolled back with it): the
    master data of those weeks then holds them, for this check and every later change of the
    week, and a later job of the week finds them there instead of adding them again."""
    for visit in (row.parameters or {}).get(PROGRAMME_VISITS, ()):
        if session.get(DatedRequestRow, visit["id"]) is not None:
            continue
        request = DatedRequest(
            visit["id"],
            date.fromisoformat(visit["week"]),
            visit["household"],
            visit["request"],
            whole_week=True,
        )
        master.add_dated_request(session, request, work_order=None)
    session.flush()


def publish_plan(session: Session, plan_id: int) -> PlanRow:
    """Make a done plan the one in force in each of its ISO weeks and create its work orders
    there; commits. Each order is on its route's ``date`` (a plan of several weeks), else on
    its day of the week of the plan's ``week_start``. In each week the plan replaces another,
    that plan's still-open orders of the week are cancelled; other weeks are not touched.

    Raises :class:`NotFound`, or :class:`Conflict` when the plan is not done, has no week start
    date, breaks a rule of the stored master data of its weeks (the violations named) or plans
    no visit at all while that master data asks for visits (it would empty every route).
    """
    row = get_plan(session, plan_id)
    if row.status != "done" or row.document is None:
        why = f"; {row.message}" if row.status == "failed" and row.message else ""
        raise Conflict(
            f"只能发布已完成的计划 / only a finished (done) plan can be published; "
            f"plan {plan_id} is {row.status}{why}"
        )
    first = first_week(row)
    plan = parse_plan(row.document)
    _keep_programme_visits(session, row)
    scenarios = master.span_scenarios(session, first, plan.weeks)
    _refuse_empty(plan_id, plan, scenarios)
    report = check_span(scenarios, plan)
    if not report.ok:
        n = len(report.violations)
        raise Conflict(
            f"计划违反{n}条规则，不能发布 / plan {plan_id} breaks {n} rule(s) of the stored "
            f"master data and cannot be published: {_listed(report.violations)}"
        )
    now = utcnow()
    replaced: set[int] = set()
    for k, scenario in enumerate(scenarios):
        monday = first + timedelta(days=7 * k)
        week = session.get(WeekPlan, monday)
        if week is None:
            session.add(WeekPlan(week_start=monday, plan_id=row.id, published_at=now))
        else:
            replaced.add(week.plan_id)
            session.execute(
                update(WorkOrder)
                .where(
                    WorkOrder.plan_id == week.plan_id,
                    master.in_week(WorkOrder.visit_date, monday),
                    WorkOrder.status.in_(OPEN_STATES),
                )
                .values(status="cancelled", updated_at=now)
            )
            week.plan_id, week.published_at = row.id, now
        routes = [r for r in plan.routes if _visit_date(r, first) - monday < timedelta(days=7)]
        routes = [r for r in routes if _visit_date(r, first) >= monday]
        _week_orders(session, row, routes, first, scenario)
    session.flush()
    for old_id in replaced:
        left = session.scalar(
            select(func.count()).select_from(WeekPlan).where(WeekPlan.plan_id == old_id)
        )
        old = session.get(PlanRow, old_id)
        if old is not None and not left:
            old.status, old.updated_at = "done", now
    row.status, row.published_at, row.updated_at = "published", now, now
    session.commit()
    return row
