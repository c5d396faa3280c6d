"""Dispatching an order again (改派): rows and transaction around
:mod:`dispatch.operations.redispatch`.

A refused order, an order its caregiver has not answered (dispatched, not accepted) or a late
one (accepted, no check-in 15 minutes after its start) can go to another caregiver. Asking
(:func:`offer`) stores the ranked options with the plan version and each caregiver's day as
they were; confirming one (:func:`confirm`) cancels the order, dispatches a new one replacing
it to the chosen caregiver and publishes the new plan version, which the checker has accepted.
A confirm after any change of the plan, or of the chosen caregiver's day, is refused (409).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import PlanRow, RedispatchOffer, WorkOrder, utcnow
from api.services import live
from api.services.errors import Conflict, FieldProblem, InputError
from api.services.offers import option_from_record, option_record
from api.services.work_orders import (
    STATE_NAMES,
    VisitRules,
    get_order,
    is_late,
    retime,
    transition,
)
from dispatch.evidence import planned_instant
from dispatch.hotline import InsertionOption
from dispatch.operations import redispatch
from dispatch.operations.day import DayOrder

__all__ = ["Offered", "Redispatched", "confirm", "offer", "options"]

#: Orders that may be dispatched again at any time: refused, or not answered yet.
_AGAIN_STATES = ("refused", "dispatched")
#: Flags of a hotline order that rank it by arrival and go with it to its replacement.
_URGENT_FLAGS = ("urgent", "emergency")


@dataclass(frozen=True)
class Offered:
    """Options to dispatch ``order`` again, as stored: ``now`` in minutes, the caregivers
    left out, how they are ranked, each option with its moves, the answer's message."""

    order: WorkOrder
    late: bool
    now: int
    excluded: list[str]
    ranked_by: str
    options: list[dict[str, Any]]
    message: str


@dataclass(frozen=True)
class Redispatched:
    """The order dispatched in place of the old one, the new plan row, the visits moved."""

    order: WorkOrder
    replaced: WorkOrder
    plan: PlanRow
    moved: list[dict[str, Any]]


def _minute(order: WorkOrder, moment: datetime, rules: VisitRules) -> int:
    """Minutes from midnight of ``moment`` on the order's day (0 before the day starts);
    raises :class:`Conflict` when the day is over."""
    local = moment.astimezone(rules.zone)
    assert order.visit_date is not None
    if order.visit_date > local.date():
        return 0
    if order.visit_date < local.date():
        raise Conflict(
            f"工单{order.id}的服务日已过 / work order {order.id} was for {order.visit_date}, "
            "a day that is over"
        )
    return local.hour * 60 + local.minute


def _check_eligible(order: WorkOrder, late: bool) -> None:
    if order.status in _AGAIN_STATES or (order.status == "accepted" and late):
        pass
    else:
        raise Conflict(
            f"工单{order.id}当前状态为{STATE_NAMES.get(order.status, order.status)}，不能改派 / "
            f"work order {order.id} is {order.status}: only a refused, unanswered (dispatched) "
            "or late order can be dispatched again"
        )
    if order.caregiver_id is None or order.request_id is None or order.start is None:
        raise Conflict(
            f"工单{order.id}尚未派出，请用热线确认 / work order {order.id} was never dispatched: "
            "confirm its hotline options instead"
        )
    if any(str(f).startswith("pair:") for f in order.flags):
        raise Conflict(
            f"双人服务请由调度员重新排班 / work order {order.id} is half of a two-person visit: "
            "re-plan it with its partner"
        )


def _excluded(session: Session, order: WorkOrder) -> list[str]:
    """The order's caregiver and those of the orders it replaced that refused them."""
    out = [order.caregiver_id] if order.caregiver_id else []
    seen = {order.id}
    previous = order.replaces_id
    while previous is not None and previous not in seen:
        seen.add(previous)
        old = session.get(WorkOrder, previous)
        if old is None:
            break
        if old.caregiver_id and old.refuse_reason and old.caregiver_id not in out:
            out.append(old.caregiver_id)
        previous = old.replaces_id
    return out


def _day_order(order: WorkOrder) -> DayOrder:
    assert order.caregiver_id is not None and order.start is not None and order.end is not None
    window = (
        (order.window_from, order.window_to)
        if order.window_from is not None and order.window_to is not None
        else None
    )
    return DayOrder(
        key=order.id,
        caregiver=order.caregiver_id,
        request=order.request_id,
        household=order.household_id,
        start=order.start,
        end=order.end,
        lat=order.lat,
        lon=order.lon,
        window=window,
        sequence=order.sequence,
    )


def _snapshot(orders: list[DayOrder]) -> list[list[Any]]:
    """A caregiver's day as an option saw it (a confirm compares it with the day now)."""
    return [[o.key, o.start, o.end, o.fixed] for o in sorted(orders, key=lambda o: o.key)]


def _stored(option: InsertionOption, orders: dict[str, list[DayOrder]]) -> dict[str, Any]:
    by_key = {str(o.key): o for os_ in orders.values() for o in os_}
    moves = [
        {
            "work_order": int(m.key),
            "request": by_key[m.key].request,
            "household": by_key[m.key].household,
            "start_before": m.start_before,
            "start_after": m.start_after,
            "arrival_after": m.arrival_after,
            "delay": m.delay,
        }
        for m in option.moves
    ]
    return {
        **option_record(option, moves),
        "day": _snapshot(orders.get(option.caregiver, [])),
    }


def options(
    session: Session,
    order_id: int,
    *,
    moment: datetime,
    rules: VisitRules,
    now: int | None = None,
    limit: int = 3,
) -> Offered:
    """Ranked options to dispatch order ``order_id`` again at ``moment`` (``now``: minutes
    from midnight of the order's day, instead of the moment's); stores nothing.

    Raises :class:`NotFound`, :class:`Conflict` when the order may not be dispatched again,
    its day is over or no published plan covers it.
    """
    order = get_order(session, order_id)
    if now is not None and order.visit_date is not None:
        moment = planned_instant(order.visit_date, now, rules.zone)
    late = is_late(order, moment, rules)
    _check_eligible(order, late)
    minute = _minute(order, moment, rules)
    if order.visit_date is None:
        raise Conflict(f"工单{order.id}没有日期 / work order {order.id} has no date")
    plan = live.published(session, order.visit_date)
    if order.plan_id != plan.id:
        raise Conflict(
            f"工单{order.id}不属于已发布的计划 / work order {order.id} is not in the published plan"
        )
    assert order.visit_date is not None
    day = live.day_code(plan, order.visit_date)
    scenario = live.week_scenario(session, order.visit_date)
    excluded = _excluded(session, order)
    try:
        found = redispatch.offer_again(
            scenario,
            live.week_plan(session, plan, order.visit_date),
            day,
            live.day_orders(session, plan.id, order.visit_date),
            _day_order(order),
            excluded=excluded,
            now=minute,
            by_arrival=late or any(f in _URGENT_FLAGS for f in order.flags),
            limit=limit,
        )
    except KeyError:
        raise Conflict(
            f"场景中没有工单{order.id}的需求 / the stored scenario does not know the request "
            f"{order.request_id} of work order {order.id}"
        ) from None
    return Offered(
        order=order,
        late=late,
        now=minute,
        excluded=excluded,
        ranked_by=found.ranked_by,
        options=[{"option": i, **_stored(o, found.orders)} for i, o in enumerate(found.options)],
        message=found.message,
    )


def offer(
    session: Session,
    order_id: int,
    *,
    moment: datetime,
    rules: VisitRules,
    now: int | None = None,
    limit: int = 3,
) -> Offered:
    """:func:`options`, stored for :func:`confirm` (replacing options asked before); commits."""
    found = options(session, order_id, moment=moment, rules=rules, now=now, limit=limit)
    assert found.order.visit_date is not None
    plan = live.published(session, found.order.visit_date)
    row = session.get(RedispatchOffer, order_id)
    if row is None:
        row = RedispatchOffer(work_order_id=order_id)
        session.add(row)
    row.plan_id = plan.id
    row.now = found.now
    row.ranked_by = found.ranked_by
    row.excluded = list(found.excluded)
    row.options = found.options
    row.created_at = utcnow()
    session.commit()
    return found


def _option(stored: dict[str, Any]) -> InsertionOption:
    """An offered option as it was stored, its moves keyed by work order (as the day's orders
    are)."""
    return option_from_record(stored, lambda m: str(m["work_order"]))


def confirm(
    session: Session,
    order_id: int,
    caregiver: str,
    option_index: int,
    *,
    moment: datetime,
    rules: VisitRules,
) -> Redispatched:
    """Dispatch order ``order_id`` again to ``caregiver`` as in option ``option_index`` of the
    stored offer; commits a new published plan version. The old order is cancelled and a new
    one (``replaces`` the old) dispatched.

    Raises :class:`NotFound`; :class:`InputError` for an option not offered to that
    caregiver; :class:`Conflict` without an offer, when the order may no longer be dispatched
    again, the plan or the caregiver's day changed since (ask again) or the new version would
    break a rule.
    """
    order = get_order(session, order_id)
    stored = session.get(RedispatchOffer, order_id)
    if stored is None:
        raise Conflict(
            f"请先查询改派选项 / ask for work order {order_id}'s options (POST …/redispatch) first"
        )
    if order.visit_date is not None:
        # Late as the options saw it, when the dispatcher asked at a later "now".
        moment = max(moment, planned_instant(order.visit_date, stored.now, rules.zone))
    _check_eligible(order, order.status == "accepted" and is_late(order, moment, rules))
    chosen = next((o for o in stored.options if o["option"] == option_index), None)
    if chosen is None or chosen["caregiver"] != caregiver:
        raise InputError(
            f"没有这个选项 / option {option_index} was not offered for caregiver {caregiver}",
            [FieldProblem("body.option", "not among the offered options")],
        )
    if order.visit_date is None:
        raise Conflict(f"工单{order.id}没有日期 / work order {order.id} has no date")
    plan = live.published(session, order.visit_date, lock=True)
    if plan.id != stored.plan_id:
        session.rollback()
        raise Conflict(live.ROUTE_CHANGED)
    live.claim(session, plan, order.visit_date)
    day = live.day_code(plan, order.visit_date)
    others = [o for o in live.day_orders(session, plan.id, order.visit_date) if o.key != order.id]
    by_caregiver: dict[str, list[DayOrder]] = defaultdict(list)
    for o in others:
        by_caregiver[o.caregiver].append(o)
    if _snapshot(by_caregiver.get(caregiver, [])) != chosen["day"]:
        session.rollback()
        raise Conflict(live.ROUTE_CHANGED)
    scenario = live.week_scenario(session, order.visit_date)
    with live.rejected_as_conflict(session):
        new_plan = redispatch.rebook(
            scenario,
            live.week_plan(session, plan, order.visit_date),
            day,
            _day_order(order),
            _option(chosen),
            dict(by_caregiver),
        )
    row = live.new_version(
        session,
        plan,
        new_plan,
        f"work order {order.id} dispatched again → {caregiver}",
        order.visit_date,
    )
    transition(order, "cancelled")
    fresh = live.same_visit(
        order,
        plan_id=row.id,
        status="dispatched",
        caregiver_id=caregiver,
        arrival=chosen["arrival"],
        start=chosen["start"],
        end=chosen["end"],
        flags=[f for f in order.flags if f in _URGENT_FLAGS],
        replaces_id=order.id,
    )
    session.add(fresh)
    moved_ids = [m["work_order"] for m in chosen["moves"]]
    if moved_ids:
        for moved in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(moved_ids))):
            m = next(x for x in chosen["moves"] if x["work_order"] == moved.id)
            length = (moved.end or 0) - (moved.start or 0)
            retime(moved, m["arrival_after"], m["start_after"], m["start_after"] + length)
    session.delete(stored)
    session.flush()
    _renumber(session, row.id, order, caregiver)
    live.commit_version(session)
    return Redispatched(fresh, order, row, list(chosen["moves"]))


def _renumber(session: Session, plan_id: int, order: WorkOrder, caregiver: str) -> None:
    """Number the day's live orders of the old and the new caregiver in visiting order."""
    for who in {order.caregiver_id, caregiver}:
        day = session.scalars(
            select(WorkOrder).where(
                WorkOrder.plan_id == plan_id,
                WorkOrder.visit_date == order.visit_date,
                WorkOrder.caregiver_id == who,
                WorkOrder.status.not_in(("cancelled", "refused")),
            )
        )
        for seq, o in enumerate(sorted(day, key=lambda o: (o.start or 0, o.id)), start=1):
            o.sequence = seq
