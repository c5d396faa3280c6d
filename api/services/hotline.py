"""Hotline dispatch (12349 热线派单) and absences on the published plan.

A hotline request opens a work order (``source = "hotline"``, status ``created``) and answers
with the best caregivers from :func:`dispatch.hotline.find_insertions` on today's routes, read
from the published plan's work orders (visits checked in or further are fixed). Each option
keeps a fingerprint of the caregiver's route; confirming an option whose route has changed
since is refused (409), and two confirms racing for the same plan version cannot both write a
new version (the plan version is unique), so a slot is never booked twice.

A confirm, like an absence, writes a new plan version that stays published: the work orders
move to it, the changed visits get their new times, and the plan document carries the change.
Hotline visits appear in the document as stops whose request id is ``hotline-<work order>``;
the same transaction adds that one-off request (one visit, on that day only, in the call's
window) to the household in the stored scenario, and a new caller becomes a household
``caller-<work order>``, so the published plan keeps every rule of :mod:`dispatch.checker`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import flag_modified

from api.models import (
    HotlineCall,
    HouseholdRow,
    PlanRow,
    RequestRow,
    ScenarioSettings,
    WorkOrder,
    utcnow,
)
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from api.services.scenario import current_scenario
from api.services.work_orders import OPEN_STATES, get_order, transition
from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.coords import to_wgs84
from dispatch.daily import DayVisit, Pin, route_day
from dispatch.hotline import (
    Call,
    DayRoute,
    HotlineAnswer,
    InsertionOption,
    PairAnswer,
    RouteVisit,
    Urgency,
    find_insertions,
    find_pair_insertions,
)
from dispatch.model import DAYS, Household, Route, RouteBreak, Scenario, ServiceRequest, Stop
from dispatch.plan_io import plan_to_dict
from dispatch.reasons import Reason
from dispatch.timeutil import format_hhmm, parse_hhmm
from solver.problem import SolveParams

__all__ = [
    "FIXED_STATES",
    "ROUTE_CHANGED",
    "URGENT_MINUTES",
    "AbsenceResult",
    "CallRequest",
    "ConfirmResult",
    "HotlineResult",
    "OrderView",
    "caregiver_names",
    "confirm",
    "day_routes",
    "local_now",
    "open_call",
    "report_absence",
]

#: Work-order states of a visit that has started or is done: it stays where it is.
FIXED_STATES: tuple[str, ...] = ("checked_in", "checked_out", "reviewed", "settled")
#: An urgent call's default window: from now to this many minutes later.
URGENT_MINUTES = 120
#: What a confirm or an absence answers when another change of the plan came first.
ROUTE_CHANGED = "路线已变更，请重新查询 / the route changed, ask again"

_scenario_cache: dict[tuple[str, str], Scenario] = {}
_cache_lock = threading.Lock()


def _scenario(session: Session) -> Scenario:
    """The stored scenario, parsed once per stored version (it is large and read often)."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        raise Conflict("尚未导入场景 / no scenario stored")
    key = (str(getattr(session.get_bind(), "url", "")), frame.updated_at.isoformat())
    with _cache_lock:
        cached = _scenario_cache.get(key)
    if cached is not None:
        return cached
    scenario = current_scenario(session)
    if scenario is None:
        raise Conflict("尚未导入场景 / no scenario stored")
    with _cache_lock:
        _scenario_cache.clear()
        _scenario_cache[key] = scenario
    return scenario


def caregiver_names(session: Session) -> dict[str, str]:
    """Caregivers' names by id, from the stored scenario."""
    return {c.id: c.name for c in _scenario(session).caregivers}


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


@dataclass(frozen=True)
class AbsenceResult:
    """The new plan row, the reassigned orders and what could not be kept."""

    plan: PlanRow
    reassigned: list[WorkOrder]
    not_kept: list[dict[str, Any]]


# --- today's routes ----------------------------------------------------------------------------


def _day_code(session: Session, plan: PlanRow, visit_date: date) -> str:
    if plan.week_start is None:
        raise Conflict("计划没有周起始日期 / the published plan has no week_start")
    offset = (visit_date - date.fromisoformat(plan.week_start)).days
    if not 0 <= offset < 7:
        raise Conflict(
            f"已发布的计划不含 {visit_date} / the published plan (week of {plan.week_start}) "
            f"does not cover {visit_date}"
        )
    return DAYS[offset]


def _orders_of_day(session: Session, plan: PlanRow, visit_date: date) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(
                WorkOrder.plan_id == plan.id,
                WorkOrder.visit_date == visit_date,
                WorkOrder.status != "cancelled",
                WorkOrder.status != "refused",
            )
            .order_by(WorkOrder.caregiver_id, WorkOrder.sequence)
        )
    )


class OrderView(NamedTuple):
    """The columns of a work order the insertion search reads (faster than ORM objects)."""

    id: int
    caregiver_id: str
    start: int
    end: int
    lat: float
    lon: float
    window_from: int | None
    window_to: int | None
    status: str
    sequence: int
    request_id: str | None
    household_id: str


def _order_views(
    session: Session, plan_id: int, visit_date: date, caregiver: str | None = None
) -> list[OrderView]:
    query = select(
        WorkOrder.id,
        WorkOrder.caregiver_id,
        WorkOrder.start,
        WorkOrder.end,
        WorkOrder.lat,
        WorkOrder.lon,
        WorkOrder.window_from,
        WorkOrder.window_to,
        WorkOrder.status,
        WorkOrder.sequence,
        WorkOrder.request_id,
        WorkOrder.household_id,
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
    return [OrderView._make(row) for row in session.execute(query)]


class _RouteFacts(NamedTuple):
    """What the plan document tells about the routes of one day, by caregiver: the rest, the
    time of leaving the station and the working minutes of the other days."""

    rests: dict[str, RouteBreak]
    leaves: dict[str, int]
    elsewhere: dict[str, int]


_rest_cache: dict[tuple[str, int, str, str], _RouteFacts] = {}


def _rests(session: Session, plan: PlanRow, day: str) -> _RouteFacts:
    """Rests, leaving times and other days' working minutes of the plan's routes (a plan
    version's document never changes once published, so they are read once per version)."""
    # The creation time tells apart rows that reuse an id (a database emptied and refilled).
    key = (str(getattr(session.get_bind(), "url", "")), plan.id, plan.created_at.isoformat(), day)
    with _cache_lock:
        cached = _rest_cache.get(key)
    if cached is not None:
        return cached
    out = _RouteFacts({}, {}, defaultdict(int))
    for route in (plan.document or {}).get("routes", ()):
        caregiver = route["caregiver"]
        if route.get("day") != day:
            out.elsewhere[caregiver] += parse_hhmm(route["back"]) - parse_hhmm(route["leave"])
            continue
        out.leaves[caregiver] = parse_hhmm(route["leave"])
        rest = route.get("break") or route.get("rest")
        if rest:
            out.rests[caregiver] = RouteBreak(parse_hhmm(rest["start"]), parse_hhmm(rest["end"]))
    with _cache_lock:
        if len(_rest_cache) > 64:
            _rest_cache.clear()
        _rest_cache[key] = out
    return out


def _fingerprint(orders: Sequence[OrderView]) -> str:
    ordered = sorted(orders, key=lambda o: o.id)
    text = json.dumps([(o.id, o.start, o.end, o.status in FIXED_STATES) for o in ordered])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _published(session: Session, *, lock: bool = False) -> PlanRow:
    """The published plan row, its document loaded only when read."""
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


def _claim(session: Session, plan: PlanRow) -> None:
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


_load_cache: dict[int, tuple[Scenario, dict[str, int]]] = {}


def _loads(scenario: Scenario) -> dict[str, int]:
    """Load units of the scenario's requests that carry some, by request id (once per parse)."""
    with _cache_lock:
        cached = _load_cache.get(id(scenario))
    if cached is not None and cached[0] is scenario:
        return cached[1]
    loads = {r.id: r.load for _, r in scenario.requests() if r.load}
    with _cache_lock:
        _load_cache.clear()
        _load_cache[id(scenario)] = (scenario, loads)
    return loads


def _household_load(household: HouseholdRow | None, service: str) -> int:
    """Load units a call of ``service`` carries: those of the household's standing request of
    that service (meal boxes), else none."""
    if household is None:
        return 0
    return max(
        (int(r.data.get("load", 0)) for r in household.requests if r.service == service),
        default=0,
    )


def day_routes(
    session: Session, scenario: Scenario, plan: PlanRow, visit_date: date
) -> tuple[str, list[DayRoute], dict[str, list[OrderView]]]:
    """The day code, every working caregiver's route on ``visit_date`` (from the published
    plan's orders) and the orders by caregiver in visiting order. Raises :class:`Conflict`
    when the plan does not cover the date."""
    day = _day_code(session, plan, visit_date)
    by_caregiver: dict[str, list[OrderView]] = defaultdict(list)
    for order in _order_views(session, plan.id, visit_date):
        by_caregiver[order.caregiver_id].append(order)
    facts = _rests(session, plan, day)
    loads = _loads(scenario)
    stations = {s.id: s for s in scenario.stations}
    routes = []
    for c in scenario.caregivers:
        if day not in c.shifts or c.station not in stations:
            continue
        orders = sorted(by_caregiver.get(c.id, []), key=lambda o: (o.start, o.sequence))
        by_caregiver[c.id] = orders
        visits = tuple(
            RouteVisit(
                str(o.id),
                o.lat,
                o.lon,
                o.start,
                o.end,
                ((o.window_from, o.window_to),)
                if o.window_from is not None and o.window_to is not None
                else (),
                o.status in FIXED_STATES,
            )
            for o in orders
        )
        station = stations[c.station]
        routes.append(
            DayRoute(
                c,
                day,
                station.lat,
                station.lon,
                visits,
                facts.rests.get(c.id),
                leave=facts.leaves.get(c.id),
                minutes_elsewhere=facts.elsewhere.get(c.id, 0),
                load=sum(loads.get(o.request_id or "", 0) for o in orders),
            )
        )
    return day, routes, by_caregiver


# --- hotline request ---------------------------------------------------------------------------


def _call_of(
    request: CallRequest, catalogue: Catalogue, household: HouseholdRow | None
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
    data = household.data if household is not None else {}
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
        gender_preference=data.get("gender_preference"),
        forbidden_caregivers=tuple(data.get("forbidden_caregivers", ())),
        load=_household_load(household, request.service),
    )
    return call, window, minutes


def _moves(option_moves: Sequence[Any], orders: dict[int, OrderView]) -> list[dict[str, Any]]:
    out = []
    for m in option_moves:
        order = orders[int(m.key)]
        out.append(
            {
                "work_order": order.id,
                "request": order.request_id,
                "household": order.household_id,
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
    scenario = _scenario(session)
    plan = _published(session)
    household = None
    if request.household is not None:
        household = session.get(HouseholdRow, request.household)
        if household is None:
            raise NotFound(f"服务对象不存在 / no household {request.household}")
    catalogue = default_catalogue()
    call, window, minutes = _call_of(request, catalogue, household)
    staff = catalogue[request.service].staff
    day, routes, by_caregiver = day_routes(session, scenario, plan, request.visit_date)
    orders = {o.id: o for os_ in by_caregiver.values() for o in os_}
    answer: HotlineAnswer | PairAnswer
    partner_moved: list[list[dict[str, Any]]] | None = None
    if staff == 2:
        answer = find_pair_insertions(
            call, routes, now=request.now, travel=scenario.travel, limit=request.options
        )
        firsts = [p.first for p in answer.options]
        seconds = [p.second for p in answer.options]
        partner_moved = [_moves(o.moves, orders) for o in seconds]
    else:
        answer = find_insertions(
            call, routes, now=request.now, travel=scenario.travel, limit=request.options
        )
        firsts, seconds = list(answer.options), []
    moved = [_moves(o.moves, orders) for o in firsts]
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

    def stored(option: InsertionOption, moves: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "caregiver": option.caregiver,
            "position": option.position,
            "depart": option.depart,
            "arrival": option.arrival,
            "start": option.start,
            "end": option.end,
            "back": option.back,
            "added_travel": option.added_travel,
            "rest": None if option.rest is None else [option.rest.start, option.rest.end],
            "moves": moves,
            "fingerprint": _fingerprint(by_caregiver.get(option.caregiver, [])),
        }

    offered = []
    for i, option in enumerate(firsts):
        entry = {"option": i, **stored(option, moved[i])}
        if partner_moved is not None:
            entry["partner"] = stored(seconds[i], partner_moved[i])
        offered.append(entry)
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


# --- new plan versions ---------------------------------------------------------------------------


def _next_version(session: Session) -> int:
    versions = session.scalars(select(PlanRow.version)).all()
    return max(versions, default=0) + 1


def _new_version(session: Session, old: PlanRow, document: dict[str, Any], why: str) -> PlanRow:
    """A published copy of ``old`` with ``document``; moves ``old``'s orders to it (no
    commit)."""
    now = utcnow()
    row = PlanRow(
        version=_next_version(session),
        name=old.name,
        status="published",
        scenario_name=old.scenario_name,
        week_start=old.week_start,
        parameters={**old.parameters, "from_version": old.version, "change": why},
        document=document,
        kpis=dict(old.kpis),
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


def _commit_version(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(ROUTE_CHANGED) from None


def _stop(request: str, household: str, arrival: int, start: int, end: int) -> dict[str, Any]:
    return {
        "request": request,
        "household": household,
        "arrival": format_hhmm(arrival),
        "start": format_hhmm(start),
        "end": format_hhmm(end),
    }


def _add_one_off_request(
    session: Session,
    scenario: Scenario,
    order: WorkOrder,
    request_id: str,
    day: str,
    *,
    staff: int = 1,
) -> Household:
    """Add the hotline visit to the stored scenario as a one-off request of its household (a
    new caller becomes a household); no commit. Returns the household as it now is in
    ``scenario``'s terms."""
    household = session.get(HouseholdRow, order.household_id)
    if household is None:
        position = session.scalar(select(func.coalesce(func.max(HouseholdRow.position), -1)))
        data: dict[str, Any] = {"id": order.household_id}
        if order.household_name:
            data["name"] = order.household_name
        if order.address:
            data["address"] = order.address
        data.update(lat=order.lat, lon=order.lon)
        household = HouseholdRow(
            id=order.household_id,
            position=int(position if position is not None else -1) + 1,
            name=order.household_name,
            address=order.address,
            lat=order.lat,
            lon=order.lon,
            phone=None,
            id_number=None,
            notes="",
            data=data,
        )
        session.add(household)
        session.flush()
    assert order.window_from is not None and order.window_to is not None
    service = default_catalogue().get(order.service)
    request: dict[str, Any] = {
        "id": request_id,
        "service": order.service,
        "minutes": order.planned_minutes,
        "visits_per_week": 1,
        "min_gap_days": 1,
        "days": [day],
        "windows": [[format_hhmm(order.window_from), format_hhmm(order.window_to)]],
        "staff": staff,
    }
    if service is not None:
        request["skill"] = service.skill
    request["priority"] = 50
    load = _household_load(household, order.service)
    if load:
        request["load"] = load
    position = session.scalar(
        select(func.coalesce(func.max(RequestRow.position), -1)).where(
            RequestRow.household_id == household.id
        )
    )
    session.add(
        RequestRow(
            id=request_id,
            household_id=household.id,
            position=int(position if position is not None else -1) + 1,
            service=order.service,
            data=request,
        )
    )
    frame = session.get(ScenarioSettings, 1)
    if frame is not None:
        frame.updated_at = utcnow()  # a new stored scenario: cached parses are stale
    one_off = ServiceRequest(
        id=request_id,
        service=order.service,
        minutes=order.planned_minutes,
        windows=((order.window_from, order.window_to),),
        days=(day,),
        skill=request.get("skill"),
        load=load,
        staff=staff,
    )
    try:
        known = scenario.household(household.id)
    except KeyError:
        return Household(
            household.id,
            household.lat,
            household.lon,
            (one_off,),
            name=household.name,
            address=household.address,
        )
    return replace(known, requests=(*known.requests, one_off))


def _remember(session: Session, scenario: Scenario, household: Household) -> None:
    """Cache ``scenario`` with ``household`` added or replaced as the stored scenario just
    committed, so the next call does not parse the whole scenario again."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        return
    session.refresh(frame)  # the time as the database gives it back to other sessions
    households = [household if h.id == household.id else h for h in scenario.households]
    if all(h.id != household.id for h in scenario.households):
        households.append(household)
    updated = replace(scenario, households=tuple(households))
    key = (str(getattr(session.get_bind(), "url", "")), frame.updated_at.isoformat())
    with _cache_lock:
        _scenario_cache.clear()
        _scenario_cache[key] = updated


def _insert(
    document: dict[str, Any], day: str, chosen: dict[str, Any], request_id: str, household: str
) -> None:
    """Put the hotline stop into ``chosen["caregiver"]``'s route of ``day`` in the plan
    ``document``: later stops at their new times, leave, back and rest as the option says."""
    caregiver = chosen["caregiver"]
    routes = document.setdefault("routes", [])
    route = next((r for r in routes if r["caregiver"] == caregiver and r["day"] == day), None)
    if route is None:
        route = {
            "caregiver": caregiver,
            "day": day,
            "leave": format_hhmm(chosen["depart"]),
            "back": format_hhmm(chosen["back"]),
            "stops": [],
        }
        routes.append(route)
    moved_by_request = {m["request"]: m for m in chosen["moves"] if m["request"] is not None}
    for stop in route["stops"]:
        m = moved_by_request.get(stop["request"])
        if m is not None:
            length = parse_hhmm(stop["end"]) - parse_hhmm(stop["start"])
            stop["start"] = format_hhmm(m["start_after"])
            stop["end"] = format_hhmm(m["start_after"] + length)
            stop["arrival"] = format_hhmm(m["arrival_after"])
    stops_before = [s for s in route["stops"] if parse_hhmm(s["start"]) < chosen["start"]]
    position = len(stops_before)
    route["stops"].insert(
        position, _stop(request_id, household, chosen["arrival"], chosen["start"], chosen["end"])
    )
    route["back"] = format_hhmm(max(parse_hhmm(route["back"]), chosen["back"]))
    if position == 0:
        route["leave"] = format_hhmm(min(parse_hhmm(route["leave"]), chosen["depart"]))
    if chosen["rest"] is not None:
        route["break"] = {
            "start": format_hhmm(chosen["rest"][0]),
            "end": format_hhmm(chosen["rest"][1]),
        }


def _move_orders(
    session: Session, current: Sequence[OrderView], chosen: dict[str, Any], booked: WorkOrder
) -> None:
    """The caregiver's work orders of the day at their new times, numbered in visiting order
    with the ``booked`` one."""
    ids = [o.id for o in current]
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)))}
    for m in chosen["moves"]:
        moved = orders[m["work_order"]]
        length = (moved.end or 0) - (moved.start or 0)
        moved.start, moved.end = m["start_after"], m["start_after"] + length
        moved.arrival = m["arrival_after"]
        moved.updated_at = utcnow()
    for seq, o in enumerate(sorted([*orders.values(), booked], key=lambda o: o.start or 0), 1):
        o.sequence = seq


def _same_visit(o: WorkOrder, **changes: Any) -> WorkOrder:
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


def confirm(session: Session, order_id: int, caregiver: str, option_index: int) -> ConfirmResult:
    """Dispatch hotline order ``order_id`` to ``caregiver`` as in option ``option_index``;
    commits a new published plan version. For a two-person call ``caregiver`` is either of
    the option's pair: both routes get the visit, and the partner a work order of their own.

    Raises :class:`NotFound`, :class:`InputError` for an option that was not offered to that
    caregiver, :class:`Conflict` when the order is not open or a caregiver's route changed
    since the options were computed (ask again).
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
    offered = next((o for o in call.options if o["option"] == option_index), None)
    pair = [offered, offered["partner"]] if offered is not None and "partner" in offered else []
    if offered is None or caregiver not in {o["caregiver"] for o in pair or [offered]}:
        raise InputError(
            f"没有这个选项 / option {option_index} was not offered for caregiver {caregiver}",
            [FieldProblem("body.option", "not among the offered options")],
        )
    booked = pair or [offered]
    plan = _published(session, lock=True)
    _claim(session, plan)
    scenario = _scenario(session)
    assert order.visit_date is not None
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
    document = copy.deepcopy(plan.document or {"format": 1, "routes": [], "unassigned": []})
    for chosen in booked:
        _insert(document, day, chosen, request_id, order.household_id)
    household = _add_one_off_request(session, scenario, order, request_id, day, staff=len(booked))
    names = " + ".join(c["caregiver"] for c in booked)
    row = _new_version(session, plan, document, f"hotline work order {order.id} → {names}")
    first = booked[0]
    transition(order, "dispatched")
    order.caregiver_id = first["caregiver"]
    order.plan_id = row.id
    order.request_id = request_id
    order.arrival, order.start, order.end = first["arrival"], first["start"], first["end"]
    _move_orders(session, by_caregiver.get(first["caregiver"], []), first, order)
    partner = None
    if len(booked) == 2:
        second = booked[1]
        partner = _same_visit(
            order,
            plan_id=row.id,
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
    _commit_version(session)
    _remember(session, scenario, household)
    moved = [m for chosen in booked for m in chosen["moves"]]
    return ConfirmResult(order, row, moved, partner)


# --- absences ----------------------------------------------------------------------------------


def _without_shift(scenario: Scenario, caregiver: str, day: str) -> Scenario:
    caregivers = tuple(
        replace(c, shifts=MappingProxyType({d: s for d, s in c.shifts.items() if d != day}))
        if c.id == caregiver
        else c
        for c in scenario.caregivers
    )
    return replace(scenario, caregivers=caregivers)


def report_absence(
    session: Session, caregiver: str, visit_date: date, *, time_limit: float = 5.0
) -> AbsenceResult:
    """Give ``caregiver``'s open visits of ``visit_date`` to others of the same station by
    re-routing that station's day (others' visits already started or done are pinned; the
    absent caregiver's started or done visits stay on its route, they happened); commits a new
    published plan version.

    Confirmed hotline visits are requests of the stored scenario and are re-routed like the
    standing ones; a visit that cannot be kept is reported with a reason of
    :class:`dispatch.reasons.Reason`.

    Raises :class:`NotFound` for an unknown caregiver, :class:`Conflict` when no published
    plan covers the date.
    """
    scenario = _scenario(session)
    try:
        absent = scenario.caregiver(caregiver)
    except KeyError:
        raise NotFound(f"护理员不存在 / no caregiver {caregiver}") from None
    plan = _published(session, lock=True)
    _claim(session, plan)
    day = _day_code(session, plan, visit_date)
    team = {c.id for c in scenario.caregivers if c.station == absent.station}
    orders = [o for o in _orders_of_day(session, plan, visit_date) if o.caregiver_id in team]
    fixed = [o for o in orders if o.status in FIXED_STATES]
    open_orders = [o for o in orders if o.status in OPEN_STATES]
    known = {r.id for _, r in scenario.requests()}
    standing = [o for o in open_orders if o.request_id in known]
    # An order the scenario does not know (none since confirms add their request) cannot be
    # re-routed: it is left to the dispatcher.
    not_kept: list[dict[str, Any]] = [
        {
            "request": o.request_id,
            "household": o.household_id,
            "work_order": o.id,
            "reason": Reason.CAPACITY.value,
            "detail": "无可用护理员时段，需人工改派 / no caregiver time was found for it; "
            "re-dispatch it by hand",
        }
        for o in open_orders
        if o.caregiver_id == caregiver and o.request_id not in known
    ]
    sub = _without_shift(scenario, caregiver, day)
    sub = replace(sub, caregivers=tuple(c for c in sub.caregivers if c.station == absent.station))
    pins_by: dict[str, list[WorkOrder]] = defaultdict(list)
    for o in sorted(fixed, key=lambda o: o.start or 0):
        if o.caregiver_id != caregiver and o.request_id in known:
            pins_by[o.caregiver_id or ""].append(o)
    working = {c.id for c in sub.caregivers if day in c.shifts}
    pins = [
        Pin(cid, tuple(o.request_id or "" for o in os_))
        for cid, os_ in pins_by.items()
        if cid in working
    ]
    # A two-person visit has an order per caregiver: one visit of the day.
    visits = list(
        dict.fromkeys(
            DayVisit(o.request_id or "", o.household_id)
            for o in [*standing, *(o for os_ in pins_by.values() for o in os_)]
        )
    )
    result = route_day(
        sub, day, visits=visits, pins=pins, params=SolveParams(time_limit=time_limit)
    )
    placed: dict[str, list[tuple[Route, Stop]]] = defaultdict(list)
    for route in result.routes:
        for stop in route.stops:
            placed[stop.request].append((route, stop))
    now = utcnow()
    document = copy.deepcopy(plan.document or {"format": 1, "routes": [], "unassigned": []})
    keep_routes = [
        r for r in document.get("routes", []) if not (r["day"] == day and r["caregiver"] in team)
    ]
    happened = {o.request_id for o in fixed if o.caregiver_id == caregiver}
    for r in document.get("routes", []):
        if r["day"] == day and r["caregiver"] == caregiver and happened:
            stops = [s for s in r["stops"] if s["request"] in happened]
            if stops:
                keep_routes.append({**r, "stops": stops})
    new_routes = plan_to_dict(result)["routes"]
    document["routes"] = keep_routes + new_routes
    row = _new_version(session, plan, document, f"absence of {caregiver} on {visit_date}")
    reassigned: list[WorkOrder] = []
    # Each order takes a stop of its request: its own caregiver's when there is one (a pair
    # whose other caregiver is absent keeps the one who stays), else one left over.
    for o in sorted(
        standing,
        key=lambda o: all(r.caregiver != o.caregiver_id for r, _ in placed[o.request_id or ""]),
    ):
        spots = placed.get(o.request_id or "")
        if not spots:
            continue
        mine = [i for i, (r, _) in enumerate(spots) if r.caregiver == o.caregiver_id]
        route, stop = spots.pop(mine[0] if mine else 0)
        if route.caregiver == o.caregiver_id:
            o.arrival, o.start, o.end = stop.arrival, stop.start, stop.end
            o.updated_at = now
            continue
        transition(o, "cancelled")
        fresh = _same_visit(
            o,
            plan_id=row.id,
            status="dispatched",
            caregiver_id=route.caregiver,
            arrival=stop.arrival,
            start=stop.start,
            end=stop.end,
            flags=[],
        )
        session.add(fresh)
        if o.caregiver_id == caregiver:
            reassigned.append(fresh)
    lost = {u.request: u for u in result.unassigned}
    listed: set[str] = set()
    for o in standing:
        u = lost.get(o.request_id or "")
        if u is None:
            continue
        transition(o, "cancelled")
        if u.request not in listed:  # once for both orders of a two-person visit
            listed.add(u.request)
            document.setdefault("unassigned", []).append(
                {
                    "request": u.request,
                    "household": u.household,
                    "missing_visits": 1,
                    "reason": u.reason,
                    "detail": u.detail,
                }
            )
        not_kept.append(
            {
                "request": o.request_id,
                "household": o.household_id,
                "work_order": o.id,
                "reason": u.reason,
                "detail": u.detail,
            }
        )
    row.document = document
    flag_modified(row, "document")  # changed in place after the row was first written
    session.flush()
    by_caregiver: dict[str, list[WorkOrder]] = defaultdict(list)
    for o in session.scalars(
        select(WorkOrder).where(
            WorkOrder.plan_id == row.id,
            WorkOrder.visit_date == visit_date,
            WorkOrder.status != "cancelled",
        )
    ):
        by_caregiver[o.caregiver_id or ""].append(o)
    for os_ in by_caregiver.values():
        for seq, o in enumerate(sorted(os_, key=lambda o: o.start or 0), start=1):
            o.sequence = seq
    _commit_version(session)
    return AbsenceResult(row, reassigned, not_kept)


def local_now(zone: Any) -> tuple[date, int]:
    """Today's date and the minutes from midnight now, in ``zone``."""
    moment = datetime.now(zone)
    return moment.date(), moment.hour * 60 + moment.minute
