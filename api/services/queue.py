"""The dispatcher's queue (调度台工单列表): work orders by date, status, station and caregiver,
late and flagged ones, a day's summary and its flags to review.

Late and missing check-out are decided at the moment asked (``now``, the server's clock unless
a dispatcher gives one) by :mod:`dispatch.evidence`; the other flags are stored with the order
when its checks are recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import CaregiverRow, CheckIn, WorkOrder
from api.services import live, master
from api.services.errors import Conflict
from api.services.work_orders import STATE_NAMES, VisitRules, is_late, live_flags
from dispatch import evidence

__all__ = [
    "SORTS",
    "DayFlags",
    "DaySummary",
    "Queue",
    "QueueFilter",
    "day_flags",
    "day_summary",
    "list_orders",
]

#: Sort orders of the queue; ties are broken by the order's id, so pages are stable.
SORTS: tuple[str, ...] = ("start", "caregiver", "status")
_STATE_RANK = {state: i for i, state in enumerate(STATE_NAMES)}
_LAST = 48 * 60


@dataclass(frozen=True)
class QueueFilter:
    """What to list: dates ``first``–``last`` (inclusive), statuses (empty: all), a station,
    a caregiver, only late (or not late) and only flagged (or not flagged) orders."""

    first: date
    last: date
    statuses: tuple[str, ...] = ()
    station: str | None = None
    caregiver: str | None = None
    late: bool | None = None
    flagged: bool | None = None


@dataclass(frozen=True)
class Queue:
    """A page of the queue: how many orders match, those of the page, and which are late."""

    total: int
    orders: list[WorkOrder]
    late: frozenset[int]
    flags: dict[int, list[str]]


def _orders(session: Session, wanted: QueueFilter) -> list[WorkOrder]:
    query = select(WorkOrder).where(
        WorkOrder.visit_date >= wanted.first, WorkOrder.visit_date <= wanted.last
    )
    if wanted.statuses:
        query = query.where(WorkOrder.status.in_(wanted.statuses))
    if wanted.caregiver is not None:
        query = query.where(WorkOrder.caregiver_id == wanted.caregiver)
    if wanted.station is not None:
        team = select(CaregiverRow.id).where(CaregiverRow.station_id == wanted.station)
        query = query.where(WorkOrder.caregiver_id.in_(team))
    return list(session.scalars(query))


def _sort_key(sort: str) -> object:
    def by_start(o: WorkOrder) -> tuple[object, ...]:
        return (o.visit_date, o.start if o.start is not None else _LAST, o.caregiver_id or "", o.id)

    def by_caregiver(o: WorkOrder) -> tuple[object, ...]:
        return (o.caregiver_id or "", o.visit_date, o.start if o.start is not None else _LAST, o.id)

    def by_status(o: WorkOrder) -> tuple[object, ...]:
        rank = _STATE_RANK.get(o.status, len(_STATE_RANK))
        return (rank, o.visit_date, o.start if o.start is not None else _LAST, o.id)

    return {"start": by_start, "caregiver": by_caregiver, "status": by_status}[sort]


def list_orders(
    session: Session,
    wanted: QueueFilter,
    *,
    now: datetime,
    rules: VisitRules,
    sort: str = "start",
    limit: int = 50,
    offset: int = 0,
) -> Queue:
    """The orders ``wanted`` asks for at ``now``, sorted by ``sort`` (one of :data:`SORTS`),
    ``limit`` of them from ``offset``, and how many match in all."""
    orders = _orders(session, wanted)
    late = {o.id for o in orders if is_late(o, now, rules)}
    flags = {o.id: live_flags(o, now, rules) for o in orders}
    if wanted.late is not None:
        orders = [o for o in orders if (o.id in late) == wanted.late]
    if wanted.flagged is not None:
        orders = [o for o in orders if bool(evidence.review_flags(flags[o.id])) == wanted.flagged]
    orders.sort(key=_sort_key(sort))  # type: ignore[arg-type]
    page = orders[offset : offset + limit]
    return Queue(
        total=len(orders),
        orders=page,
        late=frozenset(i for i in late if i in {o.id for o in page}),
        flags={o.id: flags[o.id] for o in page},
    )


@dataclass(frozen=True)
class DaySummary:
    """A day's orders by status, late and flagged counts, the published plan's unassigned
    visits that could fall on the day and the day's orders still without a caregiver."""

    day: date
    total: int
    by_status: dict[str, int]
    late: int
    flagged: int
    unassigned: int
    waiting: int


def _unassigned_on(session: Session, day: date) -> int:
    """Missing visits of the published plan's unassigned requests that may be served on
    ``day`` (a weekly plan does not date what it could not place)."""
    try:
        row = live.published(session, day)
        code = live.day_code(row, day)
        scenario = live.week_scenario(session, day)
    except Conflict:
        return 0
    plan = live.week_plan(session, row, day)
    monday = master.monday_of(day).isoformat()
    allowed = {r.id: r.days for _, r in scenario.requests()}
    return sum(
        u.missing_visits
        for u in plan.unassigned
        if u.request in allowed
        and (u.week is None or u.week == monday)
        and (allowed[u.request] is None or code in (allowed[u.request] or ()))
    )


def day_summary(session: Session, day: date, *, now: datetime, rules: VisitRules) -> DaySummary:
    """The summary of ``day`` at ``now``."""
    orders = _orders(session, QueueFilter(first=day, last=day))
    by_status = Counter(o.status for o in orders)
    return DaySummary(
        day=day,
        total=len(orders),
        by_status={s: by_status[s] for s in STATE_NAMES if by_status[s]},
        late=sum(1 for o in orders if is_late(o, now, rules)),
        flagged=sum(1 for o in orders if evidence.review_flags(live_flags(o, now, rules))),
        unassigned=_unassigned_on(session, day),
        waiting=sum(1 for o in orders if o.status == "created" and o.caregiver_id is None),
    )


@dataclass(frozen=True)
class DayFlags:
    """A flagged order of the day, its review flags and its stored checks in time order."""

    order: WorkOrder
    flags: list[str]
    checks: Sequence[CheckIn]


def day_flags(session: Session, day: date, *, now: datetime, rules: VisitRules) -> list[DayFlags]:
    """The orders of ``day`` with flags to review at ``now``, by planned start."""
    orders = _orders(session, QueueFilter(first=day, last=day))
    orders.sort(key=_sort_key("start"))  # type: ignore[arg-type]
    flagged = [(o, evidence.review_flags(live_flags(o, now, rules))) for o in orders]
    flagged = [(o, f) for o, f in flagged if f]
    ids = [o.id for o, _ in flagged]
    checks: dict[int, list[CheckIn]] = {i: [] for i in ids}
    if ids:
        for c in session.scalars(
            select(CheckIn).where(CheckIn.work_order_id.in_(ids)).order_by(CheckIn.id)
        ):
            checks[c.work_order_id].append(c)
    return [DayFlags(o, f, checks[o.id]) for o, f in flagged]
