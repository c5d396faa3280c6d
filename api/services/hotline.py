"""Hotline dispatch (12349 热线派单) on the published plan: rows and transactions.

A hotline request opens a work order (``source = "hotline"``, status ``created``) and answers
with the best caregivers from :func:`dispatch.hotline.find_insertions` on today's routes
(:func:`dispatch.operations.booking.day_routes`, from the published plan and its work orders;
visits checked in or further are fixed). Each option keeps a fingerprint of the caregiver's
route; confirming an option whose route has changed since is refused (409), and two confirms
racing for the same plan version cannot both write a new version (the plan version is unique),
so a slot is never booked twice.

A confirm writes the new plan version of :func:`dispatch.operations.booking.book_visit`, which
stays published: the work orders move to it and the changed visits get their new times.
Hotline visits appear in the plan as stops whose request id is ``hotline-<work order>``; the
same transaction stores that one-off order on its date (one visit, in the call's window,
:func:`api.services.master.add_dated_request`), never in the master data: the week's scenario
holds it, every other week and every later plan of other weeks never see it. A new caller is
the order's caller ``caller-<work order>`` (name, address, position), not a household, until a
dispatcher registers them (:func:`api.services.master.register_household`). The new version is
of the call's week only. Absences are :mod:`api.services.absence`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import HotlineCall, PlanRow, WorkOrder, utcnow
from api.services import live, master
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from api.services.kept import Kept
from api.services.offers import option_from_record, option_record
from api.services.work_orders import get_order, retime, transition
from dispatch.calendar import DatedRequest
from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.coords import to_wgs84
from dispatch.hotline import (
    Call,
    DayRoute,
    HotlineAnswer,
    InsertionOption,
    Move,
    PairAnswer,
    Urgency,
)
from dispatch.model import Household, Scenario, ServiceRequest
from dispatch.operations import booking
from dispatch.operations.day import DayOrder
from dispatch.timeutil import format_hhmm

__all__ = [
    "FIXED_STATES",
    "ROUTE_CHANGED",
    "URGENT_MINUTES",
    "CallRequest",
    "ConfirmResult",
    "HotlineResult",
    "caregiver_names",
    "confirm",
    "day_routes",
    "local_now",
    "open_call",
    "orders_by_caregiver",
]

FIXED_STATES = live.FIXED_STATES
ROUTE_CHANGED = live.ROUTE_CHANGED
#: An urgent call's default window: from now to this many minutes later.
URGENT_MINUTES = 120


def caregiver_names(session: Session, on: date) -> dict[str, str]:
    """Caregivers' names by id, from the master data of the week of ``on``."""
    return {c.id: c.name for c in live.week_scenario(session, on).caregivers}


@dataclass(frozen=True)
class CallRequest:
    """A hotline request in internal units (see :class:`api.schemas.HotlineCreate`)."""

    service: str
    urgency: Urgency
    visit_date: date
    now: int
    household: str | None = None
    caller_name: str = ""
    caller_address: str = ""
    caller_lat: float | None = None
    caller_lon: float | None = None
    coord_system: str = "wgs84"
    window: tuple[int, int] | None = None
    minutes: int | None = None
    options: int = 3
    notes: str = ""


@dataclass(frozen=True)
class HotlineResult:
    """The opened work order, the call as solved, the answer, and per option the later
    visits that move (for a two-person call, of the first caregiver; ``partner_moved`` of
    the second)."""

    order: WorkOrder
    call: Call
    answer: HotlineAnswer | PairAnswer
    moved: list[list[dict[str, Any]]]
    partner_moved: list[list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class ConfirmResult:
    """The dispatched order, the new plan row and the visits that moved; for a two-person
    call also the partner's order (a second work order of the same visit)."""

    order: WorkOrder
    plan: PlanRow
    moved: list[dict[str, Any]]
    partner: WorkOrder | None = None


# --- today's routes ----------------------------------------------------------------------------


def day_routes(
    session: Session, scenario: Scenario, plan: PlanRow, visit_date: date
) -> tuple[str, list[DayRoute], dict[str, list[DayOrder]]]:
    """The day code, every working caregiver's route on ``visit_date`` (from the published
    plan and its orders) and the orders by caregiver in visiting order. Raises
    :class:`Conflict` when the plan does not cover the date."""
    day = live.day_code(plan, visit_date)
    orders = live.day_orders(session, plan.id, visit_date)
    routes, by_caregiver = booking.day_routes(
        scenario, live.week_plan(session, plan, visit_date), day, orders
    )
    return day, routes, by_caregiver


#: The day's routes and orders by caregiver, by :func:`live.day_stamp`.
_day_kept: Kept[tuple[Any, ...], tuple[list[DayRoute], dict[str, list[DayOrder]]]] = Kept(16)


def _day_routes(
    session: Session, scenario: Scenario, plan: PlanRow, visit_date: date, day: str
) -> tuple[list[DayRoute], dict[str, list[DayOrder]]]:
    """The day's routes and orders by caregiver (:func:`dispatch.operations.booking.day_routes`),
    kept while the day's orders and the master data are as they were (:func:`live.day_stamp`):
    calls come in bursts on an unchanged day, and reading and building them is a third of a
    call's work. The lists given out are copies; the routes are immutable."""
    kept = _day_kept.get_or_build(
        live.day_stamp(session, plan, visit_date),
        lambda: booking.day_routes(
            scenario,
            live.week_plan(session, plan, visit_date),
            day,
            live.day_orders(session, plan.id, visit_date),
        ),
    )
    routes, by_caregiver = kept
    return list(routes), {c: list(orders) for c, orders in by_caregiver.items()}


def orders_by_caregiver(session: Session, visit_date: date) -> dict[str, list[WorkOrder]]:
    """Every caregiver's work orders of the plan in force on ``visit_date`` (cancelled ones
    left out), in visiting order, by caregiver id (sorted); empty without a plan in force.
    One query for the whole day (the day board is read often)."""
    try:
        plan = live.published(session, visit_date)
    except Conflict:
        return {}
    out: dict[str, list[WorkOrder]] = {}
    for order in session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.plan_id == plan.id,
            WorkOrder.visit_date == visit_date,
            WorkOrder.status != "cancelled",
            WorkOrder.caregiver_id.is_not(None),
        )
        .order_by(WorkOrder.caregiver_id, WorkOrder.sequence)
    ):
        out.setdefault(order.caregiver_id or "", []).append(order)
    return out


def _fingerprint(orders: Sequence[DayOrder]) -> str:
    ordered = sorted(orders, key=lambda o: o.key)
    text = json.dumps([(o.key, o.start, o.end, o.fixed) for o in ordered])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _household_load(household: Household | None, service: str) -> int:
    """Load units a call of ``service`` carries: those of the household's standing request of
    that service (meal boxes), else none."""
    if household is None:
        return 0
    return max((r.load for r in household.requests if r.service == service), default=0)


# --- hotline request ---------------------------------------------------------------------------


def _call_of(
    request: CallRequest, catalogue: Catalogue, household: Household | None
) -> tuple[Call, tuple[int, int], int]:
    service = catalogue.get(request.service)
    if service is None:
        raise InputError(
            f"未知服务 / unknown service {request.service!r}",
            [FieldProblem("body.service", f"one of {', '.join(catalogue)}")],
        )
    if service.staff > 2:
        raise InputError(
            f"{service.staff}人服务需由调度员排班 / {request.service} needs {service.staff} "
            "caregivers at once: the hotline pairs two at most",
            [FieldProblem("body.service", "more than two caregivers")],
        )
    minutes = request.minutes if request.minutes is not None else service.minutes
    if request.window is not None:
        window = request.window
    elif request.urgency in ("urgent", "emergency"):
        window = (request.now, min(23 * 60 + 59, request.now + URGENT_MINUTES))
    else:
        future = [(max(a, request.now), b) for a, b in service.windows if b >= request.now]
        if not future:
            raise InputError(
                "今天的服务时段已过 / the service's windows of today are over; give a window",
                [FieldProblem("body.window", "required after the catalogue's windows")],
            )
        window = future[0]
    if window[0] > window[1]:
        raise InputError(
            "时间窗结束早于开始 / the window ends before it starts",
            [FieldProblem("body.window.to", "before from")],
        )
    if household is not None:
        lat, lon = household.lat, household.lon
    else:
        assert request.caller_lat is not None and request.caller_lon is not None
        lat, lon = to_wgs84(request.caller_lat, request.caller_lon, request.coord_system)
    call = Call(
        lat=lat,
        lon=lon,
        minutes=minutes,
        window=window,
        skill=service.skill,
        urgency=request.urgency,
        gender_preference=household.gender_preference if household is not None else None,
        forbidden_caregivers=household.forbidden_caregivers if household is not None else (),
        load=_household_load(household, request.service),
        place=f"household:{household.id}" if household is not None else "",
    )
    return call, window, minutes


def _moves(option_moves: Sequence[Move], orders: dict[int, DayOrder]) -> list[dict[str, Any]]:
    out = []
    for m in option_moves:
        order = orders[int(m.key)]
        out.append(
            {
                "work_order": order.key,
                "request": order.request,
                "household": order.household,
                "start_before": m.start_before,
                "start_after": m.start_after,
                "arrival_after": m.arrival_after,
                "delay": m.delay,
            }
        )
    return out


def open_call(session: Session, request: CallRequest) -> HotlineResult:
    """Open a hotline work order and find the best caregivers for it; commits.

    Raises :class:`NotFound` for an unknown household, :class:`InputError` for an unknown
    service or an impossible window, :class:`Conflict` without a published plan for the date.
    """
    plan = live.published(session, request.visit_date)
    scenario = live.week_scenario(session, request.visit_date)
    household = None
    if request.household is not None:
        try:
            household = scenario.household(request.household)
        except KeyError:
            raise NotFound(
                f"服务对象不存在 / no household {request.household} in the week of "
                f"{request.visit_date}"
            ) from None
    catalogue = default_catalogue()
    call, window, minutes = _call_of(request, catalogue, household)
    day = live.day_code(plan, request.visit_date)
    routes, by_caregiver = _day_routes(session, scenario, plan, request.visit_date, day)
    found = booking.offer_on(
        scenario,
        routes,
        by_caregiver,
        call,
        staff=catalogue[request.service].staff,
        now=request.now,
        limit=request.options,
    )
    answer, by_caregiver = found.answer, found.orders
    orders = {o.key: o for os_ in by_caregiver.values() for o in os_}
    partner_moved: list[list[dict[str, Any]]] | None = None
    if isinstance(answer, PairAnswer):
        firsts = [p.first for p in answer.options]
        seconds = [p.second for p in answer.options]
        partner_moved = [_moves(o.moves, orders) for o in seconds]
    else:
        firsts, seconds = list(answer.options), []
    moved = [_moves(o.moves, orders) for o in firsts]

    # The offers are built before the first write: a write holds the database's write lock
    # (SQLite has one for every process) until the commit.
    def stored(option: InsertionOption, moves: list[dict[str, Any]]) -> dict[str, Any]:
        fingerprint = _fingerprint(by_caregiver.get(option.caregiver, []))
        return {**option_record(option, moves), "fingerprint": fingerprint}

    offered = []
    for i, option in enumerate(firsts):
        entry = {"option": i, **stored(option, moved[i])}
        if partner_moved is not None:
            entry["partner"] = stored(seconds[i], partner_moved[i])
        offered.append(entry)
    now = utcnow()
    order = WorkOrder(
        source="hotline",
        plan_id=None,
        status="created",
        caregiver_id=None,
        household_id=household.id if household is not None else "",
        request_id=None,
        service=request.service,
        day=day,
        visit_date=request.visit_date,
        sequence=0,
        planned_minutes=minutes,
        window_from=window[0],
        window_to=window[1],
        household_name=household.name if household is not None else request.caller_name,
        address=household.address if household is not None else request.caller_address,
        lat=call.lat,
        lon=call.lon,
        notes=request.notes,
        flags=[request.urgency] if request.urgency != "normal" else [],
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    if household is None:
        order.household_id = f"caller-{order.id}"
    session.add(
        HotlineCall(
            work_order_id=order.id,
            urgency=request.urgency,
            now=request.now,
            plan_id=plan.id,
            options=offered,
            created_at=now,
        )
    )
    session.commit()
    return HotlineResult(order, call, answer, moved, partner_moved)


# --- confirm -----------------------------------------------------------------------------------


def _one_off(
    scenario: Scenario, order: WorkOrder, request_id: str, day: str, *, staff: int
) -> tuple[Household, ServiceRequest, DatedRequest]:
    """The hotline visit as a one-off request of its household on the order's date (a caller
    who is not a household is the request's caller): in the scenario's terms, and as it is
    stored."""
    assert order.visit_date is not None
    try:
        household = scenario.household(order.household_id)
        caller = None
    except KeyError:
        household = Household(
            order.household_id,
            order.lat,
            order.lon,
            name=order.household_name,
            address=order.address,
        )
        caller = {"id": household.id, "lat": household.lat, "lon": household.lon}
        if household.name:
            caller["name"] = household.name
        if household.address:
            caller["address"] = household.address
    assert order.window_from is not None and order.window_to is not None
    service = default_catalogue().get(order.service)
    one_off = booking.one_off_request(
        request_id,
        order.service,
        minutes=order.planned_minutes,
        window=(order.window_from, order.window_to),
        day=day,
        skill=service.skill if service is not None else None,
        load=_household_load(household, order.service),
        staff=staff,
    )
    request: dict[str, Any] = {
        "id": request_id,
        "service": order.service,
        "minutes": one_off.minutes,
        "visits_per_week": 1,
        "min_gap_days": 1,
        "days": [day],
        "windows": [[format_hhmm(order.window_from), format_hhmm(order.window_to)]],
        "staff": staff,
    }
    if one_off.skill is not None:
        request["skill"] = one_off.skill
    request["priority"] = one_off.priority
    if one_off.load:
        request["load"] = one_off.load
    dated = DatedRequest(request_id, order.visit_date, household.id, request, caller)
    return household, one_off, dated


def _option(stored: dict[str, Any]) -> InsertionOption:
    """An offered option as it was stored, its moves keyed by request id (as the plan's stops
    are)."""
    return option_from_record(stored, lambda m: m["request"])


def _move_orders(
    session: Session, current: Sequence[DayOrder], chosen: dict[str, Any], booked: WorkOrder
) -> None:
    """The caregiver's work orders of the day at their new times, numbered in visiting order
    with the ``booked`` one."""
    ids = [o.key for o in current]
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)))}
    for m in chosen["moves"]:
        moved = orders[m["work_order"]]
        length = (moved.end or 0) - (moved.start or 0)
        retime(moved, m["arrival_after"], m["start_after"], m["start_after"] + length)
    for seq, o in enumerate(sorted([*orders.values(), booked], key=lambda o: o.start or 0), 1):
        o.sequence = seq


def _offered(call: HotlineCall, caregiver: str, index: int) -> list[dict[str, Any]]:
    """The stored option(s) to book: one, or both of a pair; raises :class:`InputError` for an
    option that was not offered to ``caregiver``."""
    offered = next((o for o in call.options if o["option"] == index), None)
    pair = [offered, offered["partner"]] if offered is not None and "partner" in offered else []
    if offered is None or caregiver not in {o["caregiver"] for o in pair or [offered]}:
        raise InputError(
            f"没有这个选项 / option {index} was not offered for caregiver {caregiver}",
            [FieldProblem("body.option", "not among the offered options")],
        )
    return pair or [offered]


def _dispatch_orders(
    session: Session,
    order: WorkOrder,
    booked: list[dict[str, Any]],
    by_caregiver: dict[str, list[DayOrder]],
    plan_id: int,
    request_id: str,
) -> WorkOrder | None:
    """Dispatch ``order`` to the first booked caregiver (and, for a pair, a work order of the
    same visit to the second) and move their other orders; returns the partner's order."""
    first = booked[0]
    transition(order, "dispatched")
    order.caregiver_id = first["caregiver"]
    order.plan_id = plan_id
    order.request_id = request_id
    order.arrival, order.start, order.end = first["arrival"], first["start"], first["end"]
    _move_orders(session, by_caregiver.get(first["caregiver"], []), first, order)
    if len(booked) < 2:
        return None
    second = booked[1]
    partner = live.same_visit(
        order,
        plan_id=plan_id,
        status="created",
        caregiver_id=second["caregiver"],
        flags=[*order.flags, f"pair:{order.id}"],
        arrival=second["arrival"],
        start=second["start"],
        end=second["end"],
    )
    session.add(partner)
    transition(partner, "dispatched")
    _move_orders(session, by_caregiver.get(second["caregiver"], []), second, partner)
    return partner


def confirm(session: Session, order_id: int, caregiver: str, option_index: int) -> ConfirmResult:
    """Dispatch hotline order ``order_id`` to ``caregiver`` as in option ``option_index``
    (:func:`dispatch.operations.booking.book_visit`); commits a new published plan version.
    For a two-person call ``caregiver`` is either of the option's pair: both routes get the
    visit, and the partner a work order of their own.

    Raises :class:`NotFound`, :class:`InputError` for an option that was not offered to that
    caregiver, :class:`Conflict` when the order is not open, a caregiver's route changed
    since the options were computed (ask again) or the new version would break a rule.
    """
    order = get_order(session, order_id)
    call = session.get(HotlineCall, order_id)
    if call is None or order.source != "hotline":
        raise NotFound(f"不是热线工单 / work order {order_id} is not a hotline request")
    if order.status != "created":
        raise Conflict(
            f"工单{order_id}已派出 / work order {order_id} is {order.status}, not waiting for "
            "a caregiver"
        )
    booked = _offered(call, caregiver, option_index)
    assert order.visit_date is not None
    plan = live.published(session, order.visit_date, lock=True)
    live.claim(session, plan, order.visit_date)
    scenario = live.week_scenario(session, order.visit_date)
    day, _routes, by_caregiver = day_routes(session, scenario, plan, order.visit_date)
    for chosen in booked:
        who = chosen["caregiver"]
        if _fingerprint(by_caregiver.get(who, [])) != chosen["fingerprint"]:
            session.rollback()
            raise Conflict(
                f"护理员{who}的路线已变更，请重新查询 / caregiver {who}'s route changed "
                "since the options were given; ask again"
            )
    request_id = f"hotline-{order.id}"
    household, request, dated = _one_off(scenario, order, request_id, day, staff=len(booked))
    with live.rejected_as_conflict(session):
        done = booking.book_visit(
            scenario,
            live.week_plan(session, plan, order.visit_date),
            day,
            [_option(chosen) for chosen in booked],
            household=household,
            request=request,
        )
    names = " + ".join(c["caregiver"] for c in booked)
    why = f"hotline work order {order.id} → {names}"
    row = live.new_version(session, plan, done.plan, why, order.visit_date)
    partner = _dispatch_orders(session, order, booked, by_caregiver, row.id, request_id)
    master.add_dated_request(session, dated, work_order=order.id)
    live.commit_version(session)
    moved = [m for chosen in booked for m in chosen["moves"]]
    return ConfirmResult(order, row, moved, partner)


def local_now(zone: Any) -> tuple[date, int]:
    """Today's date and the minutes from midnight now, in ``zone``."""
    moment = datetime.now(zone)
    return moment.date(), moment.hour * 60 + moment.minute
