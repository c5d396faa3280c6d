"""Work orders (工单): the lifecycle, caregivers' assignments, check-in and check-out.

Lifecycle (``TRANSITIONS``)::

    created ─▶ dispatched ─▶ accepted ─▶ checked_in ─▶ checked_out ─▶ reviewed ─▶ settled
                   │  ▲  ◀──────┘ (its time moved by a change of the day: to accept again)
                   ▼  │ (re-dispatch)
                 refused
    created / dispatched / accepted / refused ─▶ cancelled   (replaced by a newer plan)

Any other move is refused with :class:`Conflict` (HTTP 409) naming both states in Chinese and
English. Every move is a compare-and-set on the stored status (:func:`transition`): of racing
requests exactly one wins, and a check record is stored only by the winner, in the same
transaction. Check-in and check-out are idempotent by their key, which is the work order's own:
a retry returns the first answer and changes nothing. A check is evidence
(:mod:`dispatch.evidence`): the server's time is the record's, the phone's is kept beside it;
positions in GCJ-02 or BD-09 are converted to WGS-84 (:mod:`dispatch.coords`) before the
geofence test. Positions outside the geofence, visits
shorter than a share of the planned minutes, a phone clock off by more than a few minutes and
checks entered after the visit's planned end are accepted but flagged for review. A check-in
on another day than the visit's date (in the visits' zone) is refused; a check-out on another
day is accepted, flagged ``off_date`` for review (the caregiver forgot it on the day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from api.models import CheckIn, WeekPlan, WorkOrder, utcnow
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from dispatch import evidence
from dispatch.coords import to_wgs84
from dispatch.evidence import (
    FLAG_BACK_FILLED,
    FLAG_CHECK_IN_OUTSIDE,
    FLAG_CHECK_OUT_OUTSIDE,
    FLAG_CLOCK_SKEW,
    FLAG_OFF_DATE,
    FLAG_SHORT_VISIT,
)
from dispatch.haversine import haversine_km

__all__ = [
    "FLAG_BACK_FILLED",
    "FLAG_CHECK_IN_OUTSIDE",
    "FLAG_CHECK_OUT_OUTSIDE",
    "FLAG_CLOCK_SKEW",
    "FLAG_OFF_DATE",
    "FLAG_SHORT_VISIT",
    "OPEN_STATES",
    "STATE_NAMES",
    "TRANSITIONS",
    "VisitRules",
    "as_utc",
    "assignments",
    "get_order",
    "live_flags",
    "planned_end",
    "planned_start",
    "record_check",
    "record_review",
    "retime",
    "transition",
]

#: Chinese names of the states, for messages.
STATE_NAMES: Mapping[str, str] = {
    "created": "已受理",
    "dispatched": "已派单",
    "accepted": "已接单",
    "refused": "已拒单",
    "checked_in": "已签到",
    "checked_out": "已签退",
    "reviewed": "已回访",
    "settled": "已结算",
    "cancelled": "已取消",
}
#: Allowed moves: state -> states it may go to.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "created": frozenset({"dispatched", "cancelled"}),
    "dispatched": frozenset({"accepted", "refused", "cancelled"}),
    "accepted": frozenset({"checked_in", "dispatched", "cancelled"}),
    "refused": frozenset({"dispatched", "cancelled"}),
    "checked_in": frozenset({"checked_out"}),
    "checked_out": frozenset({"reviewed"}),
    "reviewed": frozenset({"settled"}),
    "settled": frozenset(),
    "cancelled": frozenset(),
}
#: States in which an order is not yet being served (a new plan may cancel it).
OPEN_STATES: tuple[str, ...] = ("created", "dispatched", "accepted", "refused")

_ACTIONS = {
    "dispatched": ("派单", "dispatch"),
    "accepted": ("接单", "accept"),
    "refused": ("拒单", "refuse"),
    "checked_in": ("签到", "check in"),
    "checked_out": ("签退", "check out"),
    "reviewed": ("回访", "review"),
    "settled": ("结算", "settle"),
    "cancelled": ("取消", "cancel"),
}


_SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class VisitRules:
    """Review thresholds: geofence radius in metres, minimum share of planned minutes, the
    phone's clock skew allowed (minutes), minutes after the planned start a visit is late,
    minutes after the planned end a check-out is missing, and the visits' local zone."""

    geofence_m: float = 200.0
    min_visit_share: float = 0.5
    clock_skew_minutes: float = 5.0
    late_minutes: int = evidence.LATE_MINUTES
    check_out_margin_minutes: int = 30
    zone: tzinfo = _SHANGHAI


def planned_start(order: WorkOrder, zone: tzinfo) -> datetime | None:
    """The instant the order's visit is planned to start (``None`` without date or times)."""
    if order.visit_date is None or order.start is None:
        return None
    return evidence.planned_instant(order.visit_date, order.start, zone)


def planned_end(order: WorkOrder, zone: tzinfo) -> datetime | None:
    """The instant the order's visit is planned to end (``None`` without date or times)."""
    if order.visit_date is None or order.end is None:
        return None
    return evidence.planned_instant(order.visit_date, order.end, zone)


def is_late(order: WorkOrder, now: datetime, rules: VisitRules) -> bool:
    """Whether ``order`` has no check-in ``rules.late_minutes`` after its planned start."""
    return evidence.is_late(
        order.status, planned_start(order, rules.zone), now, grace=rules.late_minutes
    )


def live_flags(order: WorkOrder, now: datetime, rules: VisitRules) -> list[str]:
    """The order's stored flags and, while it applies, ``missing_check_out``."""
    flags = list(order.flags)
    end = planned_end(order, rules.zone)
    if evidence.missing_check_out(
        order.status, end, now, margin=rules.check_out_margin_minutes
    ) and (evidence.FLAG_MISSING_CHECK_OUT not in flags):
        flags.append(evidence.FLAG_MISSING_CHECK_OUT)
    return flags


def as_utc(moment: datetime, zone: tzinfo = UTC) -> datetime:
    """``moment`` in UTC; a naive value is taken as local time in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def get_order(session: Session, order_id: int) -> WorkOrder:
    """The work order with this id; raises :class:`NotFound`."""
    order = session.get(WorkOrder, order_id)
    if order is None:
        raise NotFound(f"工单不存在 / no work order {order_id}")
    return order


def _refusal(order_id: int, status: str, target: str) -> Conflict:
    zh, en = _ACTIONS.get(target, (target, target))
    sources = sorted(s for s, nexts in TRANSITIONS.items() if target in nexts)
    return Conflict(
        f"工单{order_id}当前状态为{STATE_NAMES.get(status, status)}，不能{zh} / "
        f"work order {order_id} is {status}: cannot {en} "
        f"(only from {', '.join(sources) or 'nowhere'})"
    )


def transition(order: WorkOrder, target: str) -> None:
    """Move ``order`` to ``target`` (not committed); raises :class:`Conflict` when illegal.

    A stored order moves by compare-and-set in the database (``UPDATE work_orders SET status
    = target WHERE id = … AND status = <the status read>``): of requests racing for the same
    move exactly one changes the row, the others (PostgreSQL: after the winner commits, its
    row lock; SQLite: after its write lock) find another status and get the 409. An order not
    stored yet just takes the status.
    """
    allowed = TRANSITIONS.get(order.status, frozenset())
    if target not in allowed:
        raise _refusal(order.id, order.status, target)
    now = utcnow()
    session = object_session(order)
    if session is None or not inspect(order).persistent:
        order.status = target
        order.updated_at = now
        return
    result = session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == order.id, WorkOrder.status == order.status)
        .values(status=target, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        # Another request moved the order since it was read: name the state it is in now.
        current = session.scalar(select(WorkOrder.status).where(WorkOrder.id == order.id))
        set_committed_value(order, "status", current or order.status)
        raise _refusal(order.id, current or order.status, target)
    set_committed_value(order, "status", target)
    set_committed_value(order, "updated_at", now)


def retime(order: WorkOrder, arrival: int | None, start: int, end: int) -> None:
    """Give ``order`` new planned times (not committed); an accepted order whose start moves
    goes back to ``dispatched``: its caregiver accepted another time and accepts again."""
    if order.status == "accepted" and order.start != start:
        transition(order, "dispatched")
    order.arrival, order.start, order.end = arrival, start, end
    order.updated_at = utcnow()


#: A caregiver's orders from one date to another: built once (the most frequent read of all,
#: every caregiver's phone asks it), its values bound per call.
_ASSIGNMENTS = (
    select(WorkOrder)
    .where(
        WorkOrder.plan_id.in_(select(WeekPlan.plan_id)),
        WorkOrder.caregiver_id == bindparam("caregiver_id"),
        WorkOrder.visit_date >= bindparam("first"),
        WorkOrder.visit_date <= bindparam("last"),
        WorkOrder.status != "cancelled",
    )
    .order_by(WorkOrder.visit_date, WorkOrder.sequence)
)


def assignments(session: Session, caregiver_id: str, first: date, last: date) -> list[WorkOrder]:
    """The caregiver's orders of the plans in force from ``first`` to ``last`` (inclusive),
    by date and visiting order; cancelled orders are left out."""
    values = {"caregiver_id": caregiver_id, "first": first, "last": last}
    return list(session.scalars(_ASSIGNMENTS, values))


def _existing(session: Session, key: str, order_id: int, kind: str) -> dict[str, Any] | None:
    """The first answer to the check of this order with this key (keys are the order's own:
    another order's key never clashes); raises :class:`Conflict` when the key was used for the
    order's other kind of check."""
    found = session.scalar(
        select(CheckIn).where(CheckIn.work_order_id == order_id, CheckIn.idempotency_key == key)
    )
    if found is None:
        return None
    if found.kind != kind:
        raise Conflict(
            "幂等键已用于本工单的其他请求 / idempotency_key was already used for another request "
            f"of this work order (its {found.kind})"
        )
    return dict(found.response)


def record_check(
    session: Session,
    order: WorkOrder,
    *,
    kind: str,
    lat: float,
    lon: float,
    at: datetime,
    idempotency_key: str,
    rules: VisitRules,
    phone_time: datetime | None = None,
    coord_system: str = "wgs84",
    token_id: int | None = None,
) -> dict[str, Any]:
    """Check in (``kind="check_in"``) or out (``"check_out"``) and answer; commits.

    ``at`` is the server's time of the record and ``phone_time`` the phone's, both
    timezone-aware; ``lat``/``lon`` are in ``coord_system`` (wgs84, gcj02 or bd09). A key seen
    before for the same order and kind returns the first answer unchanged. Raises
    :class:`Conflict` for an illegal move or a key reused elsewhere, :class:`InputError` when
    a check-out is earlier than its check-in.
    """
    previous = _existing(session, idempotency_key, order.id, kind)
    if previous is not None:
        return previous
    off_date = order.visit_date is not None and evidence.off_date(at, order.visit_date, rules.zone)
    if off_date and kind == "check_in":
        local = at.astimezone(rules.zone).date()
        raise Conflict(
            f"签到日期{local.isoformat()}不是服务日期{order.visit_date} / check-in refused: "
            f"today ({local.isoformat()}) is not the visit's date ({order.visit_date}) of "
            f"work order {order.id}"
        )
    target = "checked_in" if kind == "check_in" else "checked_out"
    try:
        transition(order, target)
    except Conflict:
        # The same key may have won the race a moment ago: then answer as it did.
        session.rollback()
        again = _existing(session, idempotency_key, order.id, kind)
        if again is None:
            raise
        return again
    wgs_lat, wgs_lon = to_wgs84(lat, lon, coord_system)
    distance_m = haversine_km(order.lat, order.lon, wgs_lat, wgs_lon) * 1000.0
    flags: list[str] = []
    if evidence.outside_geofence(distance_m, radius_m=rules.geofence_m):
        flags.append(FLAG_CHECK_IN_OUTSIDE if kind == "check_in" else FLAG_CHECK_OUT_OUTSIDE)
    if kind == "check_in":
        order.checked_in_at = at
    else:
        started = as_utc(order.checked_in_at) if order.checked_in_at is not None else at
        if at < started:
            session.rollback()
            raise InputError(
                "签退时间早于签到时间 / check-out time is before the check-in time",
                [FieldProblem("body.time", f"before check-in at {started.isoformat()}")],
            )
        minutes = (at - started).total_seconds() / 60.0
        if evidence.short_visit(minutes, order.planned_minutes, min_share=rules.min_visit_share):
            flags.append(FLAG_SHORT_VISIT)
        order.checked_out_at = at
    if off_date:
        flags.append(FLAG_OFF_DATE)
    if evidence.clock_skew(at, phone_time, limit=rules.clock_skew_minutes):
        flags.append(FLAG_CLOCK_SKEW)
    end = planned_end(order, rules.zone)
    if end is not None and evidence.back_filled(
        kind, at, end, margin=rules.check_out_margin_minutes
    ):
        flags.append(FLAG_BACK_FILLED)
    order.flags = [*order.flags, *(f for f in flags if f not in order.flags)]
    response = {
        "work_order": order.id,
        "kind": kind,
        "status": order.status,
        "time": at.isoformat(),
        "phone_time": None if phone_time is None else phone_time.isoformat(),
        "distance_m": round(distance_m, 1),
        "flags": flags,
        "order_flags": list(order.flags),
        "review_needed": bool(evidence.review_flags(order.flags)),
    }
    session.add(
        CheckIn(
            work_order_id=order.id,
            kind=kind,
            idempotency_key=idempotency_key,
            lat=wgs_lat,
            lon=wgs_lon,
            raw_lat=lat,
            raw_lon=lon,
            coord_system=coord_system,
            at=at,
            phone_time=phone_time,
            distance_m=distance_m,
            flags=flags,
            response=response,
            token_id=token_id,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # The same key arrived twice at once: the other request won; answer as it did.
        session.rollback()
        again = _existing(session, idempotency_key, order.id, kind)
        if again is None:
            raise
        return again
    return response


def record_review(
    session: Session, order: WorkOrder, *, rating: int | None, comment: str
) -> WorkOrder:
    """Record the follow-up call (回访) of a checked-out visit with the elder's ``rating``
    (1–5) and ``comment``; commits. Raises :class:`Conflict` when the order is not checked
    out."""
    transition(order, "reviewed")
    order.review_rating = rating
    order.review_comment = comment
    session.commit()
    return order
