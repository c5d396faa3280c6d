"""Hotline bookings (12349 热线派单) on a published plan.

:func:`day_routes` gives :func:`dispatch.hotline.find_insertions` today's routes from the plan
and the day's work orders; :func:`book_visit` writes a chosen option (one caregiver, or the two
of a two-person visit) into a new plan version. The visit is a one-off request of the household
(:func:`one_off_request`) that the scenario gains with it, so the new version keeps every rule
of :mod:`dispatch.checker`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dispatch.haversine import TravelFn
from dispatch.hotline import (
    Call,
    DayRoute,
    HotlineAnswer,
    InsertionOption,
    PairAnswer,
    RouteVisit,
    apply_option,
    find_insertions,
    find_pair_insertions,
)
from dispatch.model import Household, Plan, Route, Scenario, ServiceRequest, Stop
from dispatch.operations.day import DayOrder
from dispatch.operations.versions import minutes_elsewhere, revise_plan
from dispatch.travel import TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel

__all__ = [
    "Booking",
    "Offer",
    "book_visit",
    "day_routes",
    "offer",
    "offer_on",
    "one_off_request",
    "with_request",
]


def day_routes(
    scenario: Scenario, plan: Plan, day: str, orders: Sequence[DayOrder]
) -> tuple[list[DayRoute], dict[str, list[DayOrder]]]:
    """Every working caregiver's route on ``day`` (a caregiver without orders has an empty
    one) and the orders by caregiver in visiting order.

    The day's orders give the visits; ``plan`` gives each route's rest and leaving time and
    the caregiver's working minutes of the other days (:func:`minutes_elsewhere`).
    """
    by_caregiver: dict[str, list[DayOrder]] = defaultdict(list)
    for order in orders:
        by_caregiver[order.caregiver].append(order)
    today = {r.caregiver: r for r in plan.routes if r.day == day}
    elsewhere = minutes_elsewhere(plan, day)
    loads = {r.id: r.load for _, r in scenario.requests() if r.load}
    stations = {s.id: s for s in scenario.stations}
    routes = []
    for c in scenario.caregivers:
        if day not in c.shifts or c.station not in stations:
            continue
        mine = sorted(by_caregiver.get(c.id, []), key=lambda o: (o.start, o.sequence))
        by_caregiver[c.id] = mine
        visits = tuple(
            RouteVisit(
                str(o.key),
                o.lat,
                o.lon,
                o.start,
                o.end,
                (o.window,) if o.window is not None else (),
                o.fixed,
                f"household:{o.household}",
            )
            for o in mine
        )
        station = stations[c.station]
        planned = today.get(c.id)
        routes.append(
            DayRoute(
                c,
                day,
                station.lat,
                station.lon,
                visits,
                planned.rest if planned is not None else None,
                leave=planned.leave if planned is not None else None,
                minutes_elsewhere=elsewhere.get(c.id, 0),
                load=sum(loads.get(o.request or "", 0) for o in mine),
            )
        )
    return routes, dict(by_caregiver)


@dataclass(frozen=True)
class Offer:
    """The answer to a call and the day's orders by caregiver in visiting order (the options'
    moves name them by ``str(order.key)``)."""

    answer: HotlineAnswer | PairAnswer
    orders: dict[str, list[DayOrder]]


def offer(
    scenario: Scenario,
    plan: Plan,
    day: str,
    orders: Sequence[DayOrder],
    call: Call,
    *,
    staff: int,
    now: int,
    limit: int = 3,
    travel: TravelProvider | None = None,
) -> Offer:
    """The best ``limit`` caregivers for ``call`` on ``day`` (for ``staff`` 2, pairs who start
    it together), on the routes of :func:`day_routes`, ``now`` minutes from midnight.

    ``travel`` defaults to the scenario's provider (:func:`dispatch.travel.provider_for`).
    Raises ``ValueError`` as :func:`dispatch.hotline.find_insertions` does.
    """
    routes, by_caregiver = day_routes(scenario, plan, day, orders)
    return offer_on(
        scenario, routes, by_caregiver, call, staff=staff, now=now, limit=limit, travel=travel
    )


def offer_on(
    scenario: Scenario,
    routes: Sequence[DayRoute],
    by_caregiver: dict[str, list[DayOrder]],
    call: Call,
    *,
    staff: int,
    now: int,
    limit: int = 3,
    travel: TravelProvider | None = None,
) -> Offer:
    """:func:`offer` on the day's routes and orders as :func:`day_routes` gave them (a caller
    that keeps them between calls of an unchanged day)."""
    scenario = resolve_travel(scenario)
    provider = travel if travel is not None else provider_for(scenario)
    find = find_pair_insertions if staff == 2 else find_insertions
    answer = find(call, routes, now=now, travel=provider, limit=limit)
    return Offer(answer, by_caregiver)


def one_off_request(
    request_id: str,
    service: str,
    *,
    minutes: int,
    window: tuple[int, int],
    day: str,
    skill: str | None = None,
    load: int = 0,
    staff: int = 1,
) -> ServiceRequest:
    """A hotline visit as a request: one visit, on ``day`` only, starting inside ``window``."""
    return ServiceRequest(
        id=request_id,
        service=service,
        minutes=minutes,
        windows=(window,),
        days=(day,),
        skill=skill,
        load=load,
        staff=staff,
    )


def with_request(scenario: Scenario, household: Household, request: ServiceRequest) -> Scenario:
    """``scenario`` where ``household`` (added when it is new) also has ``request``."""
    try:
        known = scenario.household(household.id)
    except KeyError:
        return replace(
            scenario,
            households=(*scenario.households, replace(household, requests=(request,))),
        )
    changed = replace(known, requests=(*known.requests, request))
    return replace(
        scenario,
        households=tuple(changed if h.id == known.id else h for h in scenario.households),
    )


@dataclass(frozen=True)
class Booking:
    """A booked hotline visit: the scenario with its one-off request and the new plan."""

    scenario: Scenario
    plan: Plan


def book_visit(
    scenario: Scenario,
    plan: Plan,
    day: str,
    options: Sequence[InsertionOption],
    *,
    household: Household,
    request: ServiceRequest,
    travel: TravelFn | None = None,
) -> Booking:
    """Book ``request`` (:func:`one_off_request`) of ``household`` on ``day`` as ``options``
    say (one, or two for a two-person visit, each at its own arrival): ``scenario`` gains the
    request (and the household when it is new, :func:`with_request`), and the new version of
    ``plan`` the visit, later stops moved, leave, back and rest as the option has them.

    The options' moves name the stops they move by request id. Raises
    :class:`dispatch.operations.versions.PlanRejected` when the new version would break a rule
    the old one kept.
    """
    updated = with_request(scenario, household, request)
    routes = list(plan.routes)
    for option in options:
        at = next(
            (i for i, r in enumerate(routes) if r.caregiver == option.caregiver and r.day == day),
            None,
        )
        route = (
            routes[at]
            if at is not None
            else Route(option.caregiver, day, option.depart, option.back)
        )
        # The plan's stops, not the search's visits, decide the place (they agree unless a
        # stop has no work order).
        position = sum(1 for s in route.stops if s.start < option.start)
        stop = Stop(request.id, household.id, option.arrival, option.start, option.end)
        booked = apply_option(
            route,
            replace(option, position=position),
            stop,
            [s.request for s in route.stops],
        )
        if at is None:
            routes.append(booked)
        else:
            routes[at] = booked
    return Booking(updated, revise_plan(updated, plan, routes, plan.unassigned, travel=travel))
