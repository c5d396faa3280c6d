"""Versioned plans: store, track a solve's state, publish (which creates the work orders).

A plan row moves draft → running → done or failed; publishing a done plan makes it the one in
use (``published``) and returns the previously published plan to ``done``. A new solve never
touches the published plan until it is itself published. Publishing creates one work order per
stop (a two-person visit gives one order per caregiver) and cancels the still-open orders of
the plan it replaces.

Every plan that enters the store goes through the independent checker
(:func:`dispatch.checker.check_plan`) against its master data and carries the KPIs the checker
recomputes (:func:`dispatch.kpis.plan_kpis`), never those its document claims. An uploaded
plan that breaks a rule of the stored scenario is refused (:class:`PlanViolations`, nothing
stored); a computed one (a planner job, against the job's own scenario) is stored ``failed``
with the violations named. Publishing checks the plan again against the stored scenario and
refuses one that breaks a rule (:class:`Conflict` naming the violations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import HouseholdRow, PlanRow, RequestRow, ScenarioSettings, WorkOrder, utcnow
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from api.services.scenario import current_scenario
from api.services.work_orders import OPEN_STATES
from dispatch.checker import CheckReport, Violation, check_plan
from dispatch.model import DAYS, Plan, Route, Scenario
from dispatch.plan_io import parse_plan, plan_to_dict
from dispatch.timeutil import parse_hhmm

__all__ = [
    "PLAN_STATES",
    "RUN_FIGURES",
    "PlanViolations",
    "check_document",
    "checked",
    "fail_plan",
    "finish_plan",
    "get_plan",
    "list_plans",
    "new_plan",
    "next_version",
    "publish_plan",
    "published_plan",
    "set_progress",
    "store_plan",
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


def _stored_scenario(session: Session) -> Scenario:
    scenario = current_scenario(session)
    if scenario is None:
        raise Conflict("尚未导入场景 / no scenario stored: import one before adding plans")
    return scenario


def check_document(session: Session, document: Mapping[str, Any]) -> tuple[Plan, CheckReport]:
    """A plan document (format 1) checked against the stored scenario, without storing it:
    the plan and the checker's report (violations and recomputed KPIs).

    Raises :class:`dispatch.plan_io.PlanError` for an invalid document and :class:`Conflict`
    when no scenario is stored.
    """
    plan = parse_plan(document)
    return plan, check_plan(_stored_scenario(session), plan)


def checked(scenario: Scenario, plan: Plan) -> tuple[Plan, CheckReport]:
    """``plan`` with the KPIs the checker recomputes for ``scenario`` (and the figures of its
    run, :data:`RUN_FIGURES`), and the checker's report."""
    report = check_plan(scenario, plan)
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


def published_plan(session: Session) -> PlanRow | None:
    """The plan in use, if one is published."""
    return session.scalar(select(PlanRow).where(PlanRow.status == "published"))


def set_progress(session: Session, plan_id: int, progress: float, *, message: str = "") -> None:
    """Mark a plan running with ``progress`` in 0–1; commits."""
    row = get_plan(session, plan_id)
    row.status, row.progress, row.message = "running", min(1.0, max(0.0, progress)), message
    row.updated_at = utcnow()
    session.commit()


def finish_plan(session: Session, plan_id: int, plan: Plan, scenario: Scenario) -> PlanRow:
    """Store a solved plan in its row, checked against ``scenario`` (the one it was solved
    for) with its KPIs recomputed, and mark it done; commits.

    A plan that breaks a rule is stored ``failed``, its message naming the violations: it can
    never be published.
    """
    plan, report = checked(scenario, plan)
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


def _check_references(scenario: Scenario, plan: Plan) -> None:
    """Unknown caregivers, days and requests named by their fields (the checker names them
    too, but not where they lie in the body)."""
    caregivers = {c.id for c in scenario.caregivers}
    requests = {r.id: h.id for h, r in scenario.requests()}
    problems: list[FieldProblem] = []
    for i, route in enumerate(plan.routes):
        if route.caregiver not in caregivers:
            problems.append(
                FieldProblem(f"body.routes[{i}].caregiver", f"unknown caregiver {route.caregiver}")
            )
        if route.day not in scenario.days:
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
    session: Session, document: Mapping[str, Any], *, name: str = "", created_by: str = ""
) -> PlanRow:
    """Store a finished plan document (format 1) as a new version with status ``done``, its
    KPIs recomputed by the checker (those the document claims are ignored).

    Raises :class:`dispatch.plan_io.PlanError` for an invalid document, :class:`InputError`
    when it names caregivers or requests the stored scenario lacks, :class:`PlanViolations`
    when it breaks a rule of the stored scenario, :class:`Conflict` when no scenario is
    stored; then nothing is stored.
    """
    plan = parse_plan(document)
    scenario = _stored_scenario(session)
    _check_references(scenario, plan)
    report = check_plan(scenario, plan)
    if not report.ok:
        raise PlanViolations(plan, report.violations)
    plan = replace(plan, kpis=MappingProxyType(dict(report.kpis)))
    row = new_plan(session, name=name, created_by=created_by, status="draft")
    row.document, row.kpis = plan_to_dict(plan), dict(plan.kpis)
    row.status, row.progress, row.updated_at = "done", 1.0, utcnow()
    session.commit()
    return row


def _window_of(request: RequestRow | None, start: int) -> tuple[int | None, int | None]:
    if request is None:
        return None, None
    for pair in request.data.get("windows", ()):
        lo, hi = parse_hhmm(pair[0]), parse_hhmm(pair[1])
        if lo <= start <= hi:
            return lo, hi
    return None, None


def _visit_date(route: Route, monday: date) -> date:
    """The date of a route's visits: its own ``date`` in a plan of several weeks (the checker
    has verified it), else its day in the week of ``monday``."""
    if route.date is not None:
        return date.fromisoformat(route.date)
    return monday + timedelta(days=DAYS.index(route.day))


def publish_plan(session: Session, plan_id: int) -> PlanRow:
    """Make a done plan the one in use and create its work orders; commits. Each order is on
    its route's ``date`` (a plan of several weeks), else on its day of the week of the plan's
    ``week_start``.

    Raises :class:`NotFound`, or :class:`Conflict` when the plan is not done, breaks a rule
    of the stored scenario (the violations named), has no week start date, or names a
    household that is no longer stored.
    """
    row = get_plan(session, plan_id)
    if row.status != "done" or row.document is None:
        why = f"; {row.message}" if row.status == "failed" and row.message else ""
        raise Conflict(
            f"只能发布已完成的计划 / only a finished (done) plan can be published; "
            f"plan {plan_id} is {row.status}{why}"
        )
    if row.week_start is None:
        raise Conflict("计划没有周起始日期 / the plan has no week_start, dates are unknown")
    plan = parse_plan(row.document)
    report = check_plan(_stored_scenario(session), plan)
    if not report.ok:
        n = len(report.violations)
        raise Conflict(
            f"计划违反{n}条规则，不能发布 / plan {plan_id} breaks {n} rule(s) of the stored "
            f"scenario and cannot be published: {_listed(report.violations)}"
        )
    monday = date.fromisoformat(row.week_start)
    households = {h.id: h for h in session.scalars(select(HouseholdRow))}
    requests = {r.id: r for r in session.scalars(select(RequestRow))}
    now = utcnow()
    previous = published_plan(session)
    if previous is not None:
        previous.status, previous.updated_at = "done", now
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.plan_id == previous.id, WorkOrder.status.in_(OPEN_STATES))
            .values(status="cancelled", updated_at=now)
        )
    for route in plan.routes:
        for seq, stop in enumerate(route.stops, start=1):
            household = households.get(stop.household)
            if household is None:
                session.rollback()
                raise Conflict(
                    f"住户已不存在 / household {stop.household} of the plan is no longer stored"
                )
            request = requests.get(stop.request)
            window_from, window_to = _window_of(request, stop.start)
            session.add(
                WorkOrder(
                    source="plan",
                    plan_id=row.id,
                    status="dispatched",
                    caregiver_id=route.caregiver,
                    household_id=stop.household,
                    request_id=stop.request,
                    service=request.service if request is not None else "",
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
                    notes=household.notes,
                    flags=[],
                    created_at=now,
                    updated_at=now,
                )
            )
    row.status, row.published_at, row.updated_at = "published", now, now
    session.commit()
    return row
