"""Caregivers' absences (请假) on the published plan: rows and transaction around
:func:`dispatch.operations.absence.reroute_absence`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import PlanRow, WorkOrder
from api.services import live
from api.services.errors import FieldProblem, InputError, NotFound
from api.services.work_orders import retime, transition
from dispatch.operations.absence import reroute_absence
from dispatch.operations.engine import SolveParams

__all__ = ["AbsenceResult", "absence_now", "report_absence"]


@dataclass(frozen=True)
class AbsenceResult:
    """The new plan row, the time it was re-routed at (minutes from midnight), the
    reassigned orders and what could not be kept."""

    plan: PlanRow
    now: int
    reassigned: list[WorkOrder]
    not_kept: list[dict[str, Any]]


def absence_now(visit_date: date, given: int | None, local: datetime) -> int:
    """The time an absence on ``visit_date`` is re-routed at, in minutes from midnight: the
    dispatcher's ``given`` time, else ``local`` (the server clock in the service's zone) on
    its own date, and the whole day (0) for a later date. Raises :class:`InputError` naming
    ``date`` for an earlier date without a time: the day is over."""
    if given is not None:
        return given
    today = local.date()
    if visit_date == today:
        return local.hour * 60 + local.minute
    if visit_date > today:
        return 0
    raise InputError(
        f"{visit_date} 已过去，请给出 now / {visit_date} is in the past; give now to re-route it",
        [FieldProblem("body.date", f"today ({today}) or later, or give body.now")],
    )


def report_absence(
    session: Session,
    caregiver: str,
    visit_date: date,
    *,
    now: int | None,
    local: datetime,
    allow_moving_accepted: bool = False,
    time_limit: float = 5.0,
) -> AbsenceResult:
    """Give ``caregiver``'s open visits of ``visit_date`` to others of the same station at
    the time of :func:`absence_now` (:func:`dispatch.operations.absence.reroute_absence`):
    started and finished visits stay, nothing starts before that time, and colleagues'
    accepted orders stay unless ``allow_moving_accepted``. Commits a new published plan
    version. An order that changes hands is cancelled and a new one dispatched to its new
    caregiver; an order that cannot be kept is cancelled, unless it is left to the dispatcher.

    Raises :class:`InputError` for a past date without ``now``, :class:`NotFound` for an
    unknown caregiver, :class:`Conflict` when no published plan covers the date, the plan
    changed meanwhile, or the new version would break a rule.
    """
    minute = absence_now(visit_date, now, local)
    live.published(session, visit_date)  # 409 before anything else when none is published
    scenario = live.week_scenario(session, visit_date)
    try:
        scenario.caregiver(caregiver)
    except KeyError:
        raise NotFound(f"护理员不存在 / no caregiver {caregiver}") from None
    row = live.published(session, visit_date, lock=True)
    live.claim(session, row, visit_date)
    day = live.day_code(row, visit_date)
    accepted = session.scalars(
        select(WorkOrder.id).where(
            WorkOrder.plan_id == row.id,
            WorkOrder.visit_date == visit_date,
            WorkOrder.status == "accepted",
        )
    )
    with live.rejected_as_conflict(session):
        outcome = reroute_absence(
            scenario,
            live.week_plan(session, row, visit_date),
            caregiver,
            day,
            live.day_orders(session, row.id, visit_date),
            now=minute,
            accepted=set(accepted),
            allow_moving_accepted=allow_moving_accepted,
            params=SolveParams(time_limit=time_limit),
        )
    new = live.new_version(
        session, row, outcome.plan, f"absence of {caregiver} on {visit_date}", visit_date
    )
    ids = [p.order for p in outcome.placed] + [x.order for x in outcome.lost]
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)))}
    reassigned: list[WorkOrder] = []
    for p in outcome.placed:
        o = orders[p.order]
        if p.caregiver == o.caregiver_id:
            retime(o, p.stop.arrival, p.stop.start, p.stop.end)
            continue
        transition(o, "cancelled")
        fresh = live.same_visit(
            o,
            plan_id=new.id,
            status="dispatched",
            caregiver_id=p.caregiver,
            arrival=p.stop.arrival,
            start=p.stop.start,
            end=p.stop.end,
            flags=[],
        )
        session.add(fresh)
        if o.caregiver_id == caregiver:
            reassigned.append(fresh)
    for lost in outcome.lost:
        if not lost.by_hand:
            transition(orders[lost.order], "cancelled")
    session.flush()
    _renumber(session, new.id, visit_date)
    live.commit_version(session)
    not_kept = [
        {
            "request": x.request,
            "household": x.household,
            "work_order": x.order,
            "reason": x.reason,
            "detail": x.detail,
        }
        for x in outcome.lost
    ]
    return AbsenceResult(new, minute, reassigned, not_kept)


def _renumber(session: Session, plan_id: int, visit_date: date) -> None:
    """Number each caregiver's live orders of the day in visiting order."""
    by_caregiver: dict[str, list[WorkOrder]] = defaultdict(list)
    for o in session.scalars(
        select(WorkOrder).where(
            WorkOrder.plan_id == plan_id,
            WorkOrder.visit_date == visit_date,
            WorkOrder.status != "cancelled",
        )
    ):
        by_caregiver[o.caregiver_id or ""].append(o)
    for orders in by_caregiver.values():
        for seq, o in enumerate(sorted(orders, key=lambda o: o.start or 0), start=1):
            o.sequence = seq
