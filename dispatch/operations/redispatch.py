"""Dispatching a visit again (改派): a refused, unanswered or late order to another caregiver.

:func:`offer_again` asks the hotline's insertion (:func:`dispatch.operations.booking.offer`)
who can take the visit on the day's routes without it, its caregiver (and any who refused it
before) left out; :func:`rebook` writes the chosen option into a new plan version: the stop
leaves the old caregiver's route and joins the new one's, later stops moved as the option has
them, KPIs recomputed and the checker's word taken (:func:`dispatch.operations.versions.
revise_plan`). The visit keeps its request, household and window: the scenario is unchanged.

Ranking: a late visit, or an urgent or emergency call, by arrival (who can be there soonest,
as :func:`dispatch.hotline.find_insertions` ranks an emergency); any other by added travel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dispatch.hotline import Call, InsertionOption, apply_option
from dispatch.model import Plan, Route, Scenario, Stop
from dispatch.operations import booking
from dispatch.operations.day import DayOrder
from dispatch.operations.versions import revise_plan
from dispatch.travel import TravelProvider

__all__ = ["ARRIVAL", "TRAVEL", "Again", "call_for", "offer_again", "rebook"]

#: ``ranked_by`` of options ranked by arrival time (soonest first).
ARRIVAL = "arrival"
#: ``ranked_by`` of options ranked by added travel minutes.
TRAVEL = "added_travel"


def call_for(
    scenario: Scenario,
    order: DayOrder,
    *,
    excluded: Sequence[str],
    by_arrival: bool,
) -> Call:
    """The visit of ``order`` as a hotline call: its place, length and window, the request's
    skill and load, the household's preferences; ``excluded`` caregivers may not take it.

    Raises ``KeyError`` when the scenario does not know the order's request or household.
    """
    household = scenario.household(order.household)
    request = next(r for r in household.requests if r.id == order.request)
    window = order.window if order.window is not None else (order.start, order.start)
    return Call(
        lat=order.lat,
        lon=order.lon,
        minutes=order.end - order.start,
        window=window,
        skill=request.required_skill,
        urgency="emergency" if by_arrival else "normal",
        gender_preference=household.gender_preference,
        forbidden_caregivers=tuple(dict.fromkeys((*household.forbidden_caregivers, *excluded))),
        load=request.load,
        place=f"household:{household.id}",
    )


@dataclass(frozen=True)
class Again:
    """The options to dispatch ``order`` again (best first), how they were ranked, the
    answer's message and the day's other orders by caregiver in visiting order (the options'
    moves name them by ``str(order.key)``)."""

    order: DayOrder
    options: tuple[InsertionOption, ...]
    ranked_by: str
    message: str
    orders: dict[str, list[DayOrder]]


def offer_again(
    scenario: Scenario,
    plan: Plan,
    day: str,
    orders: Sequence[DayOrder],
    order: DayOrder,
    *,
    excluded: Sequence[str],
    now: int,
    by_arrival: bool,
    limit: int = 3,
    travel: TravelProvider | None = None,
) -> Again:
    """The best ``limit`` caregivers to take ``order``'s visit on ``day`` at ``now`` (minutes
    from midnight), on the routes of the day's other ``orders``; ``excluded`` caregivers (the
    one it was dispatched to) are left out. Raises ``KeyError`` as :func:`call_for` does."""
    call = call_for(scenario, order, excluded=excluded, by_arrival=by_arrival)
    others = [o for o in orders if o.key != order.key]
    found = booking.offer(
        scenario, plan, day, others, call, staff=1, now=now, limit=limit, travel=travel
    )
    options = tuple(o for o in found.answer.options if isinstance(o, InsertionOption))
    return Again(
        order=order,
        options=options,
        ranked_by=ARRIVAL if by_arrival else TRAVEL,
        message=found.answer.message,
        orders=found.orders,
    )


def rebook(
    scenario: Scenario,
    plan: Plan,
    day: str,
    order: DayOrder,
    option: InsertionOption,
    orders: dict[str, list[DayOrder]],
) -> Plan:
    """The new version of ``plan`` where ``order``'s visit leaves the route of
    ``order.caregiver`` (when still on it) and joins ``option.caregiver``'s as ``option`` says.

    ``option``'s moves name the stops by ``str(order.key)`` of ``orders`` (as
    :func:`offer_again` gives them). Raises
    :class:`dispatch.operations.versions.PlanRejected` when the new version breaks a rule the
    old one kept.
    """
    assert order.request is not None
    requests = {str(o.key): o.request for os_ in orders.values() for o in os_ if o.request}
    # The plan's stops are known by request id; a visit without one is not in the plan.
    moves = tuple(replace(m, key=requests[m.key]) for m in option.moves if m.key in requests)
    routes: list[Route] = []
    for route in plan.routes:
        if route.caregiver == order.caregiver and route.day == day:
            kept = tuple(s for s in route.stops if s.request != order.request)
            if not kept:
                continue
            route = replace(route, stops=kept)
        routes.append(route)
    at = next(
        (i for i, r in enumerate(routes) if r.caregiver == option.caregiver and r.day == day),
        None,
    )
    target = (
        routes[at] if at is not None else Route(option.caregiver, day, option.depart, option.back)
    )
    position = sum(1 for s in target.stops if s.start < option.start)
    stop = Stop(order.request, order.household, option.arrival, option.start, option.end)
    booked = apply_option(
        target,
        replace(option, position=position, moves=moves),
        stop,
        [s.request for s in target.stops],
    )
    if at is None:
        routes.append(booked)
    else:
        routes[at] = booked
    return revise_plan(scenario, plan, routes, plan.unassigned)
