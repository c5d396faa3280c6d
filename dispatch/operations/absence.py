"""A caregiver's absence (请假) on a day of a published plan: the station's day re-routed.

The absent caregiver's open visits go to others of the same station by routing that station's
day again with :func:`dispatch.daily.route_day`: the others' visits already started or done are
pinned where they are, the absent caregiver's started or done visits stay on its route (they
happened), and every caregiver's working minutes of the plan's other days count against the
weekly cap, as they do for a hotline booking
(:func:`dispatch.operations.versions.minutes_elsewhere`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from dispatch.daily import DayVisit, Pin, route_day
from dispatch.haversine import TravelFn
from dispatch.model import Plan, Route, Scenario, Stop, Unassigned
from dispatch.operations.day import DayOrder
from dispatch.operations.engine import SolveParams
from dispatch.operations.versions import minutes_elsewhere, revise_plan
from dispatch.reasons import Reason
from dispatch.travel import TravelProvider

__all__ = ["AbsenceOutcome", "LostVisit", "Placement", "reroute_absence"]

#: Why a visit the scenario does not know stays with the absent caregiver.
BY_HAND = (
    "无可用护理员时段，需人工改派 / no caregiver time was found for it; re-dispatch it by hand"
)


@dataclass(frozen=True)
class Placement:
    """Where the open order ``order`` is now: ``caregiver``'s route at ``stop``'s times (its
    own caregiver's: new times only; another's: the visit changes hands)."""

    order: int
    caregiver: str
    stop: Stop


@dataclass(frozen=True)
class LostVisit:
    """An open order that could not be kept, with a reason of :class:`Reason`; ``by_hand``:
    the order stays as it is for the dispatcher (the scenario does not know its request),
    else it is dropped from the plan and listed in its ``unassigned``."""

    order: int
    request: str | None
    household: str
    reason: str
    detail: str
    by_hand: bool = False


@dataclass(frozen=True)
class AbsenceOutcome:
    """The new plan version, where each kept open order of the station's day now is, and the
    orders that could not be kept."""

    plan: Plan
    placed: tuple[Placement, ...]
    lost: tuple[LostVisit, ...]


def _station_day(
    scenario: Scenario, caregiver: str, day: str, orders: Sequence[DayOrder]
) -> tuple[Scenario, list[DayVisit], list[Pin]]:
    """The station's caregivers without ``caregiver``'s shift of ``day``, the visits to route
    (open ones and the others' started ones) and the pins of the started ones."""
    station = scenario.caregiver(caregiver).station
    team = tuple(
        replace(c, shifts=MappingProxyType({d: s for d, s in c.shifts.items() if d != day}))
        if c.id == caregiver
        else c
        for c in scenario.caregivers
        if c.station == station
    )
    known = {r.id for _, r in scenario.requests()}
    pinned: dict[str, list[DayOrder]] = defaultdict(list)
    for o in sorted(orders, key=lambda o: o.start):
        if o.fixed and o.caregiver != caregiver and o.request in known:
            pinned[o.caregiver].append(o)
    working = {c.id for c in team if day in c.shifts}
    pins = [
        Pin(cid, tuple(o.request or "" for o in os_))
        for cid, os_ in pinned.items()
        if cid in working
    ]
    standing = [o for o in orders if not o.fixed and o.request in known]
    # A two-person visit has an order per caregiver: one visit of the day.
    visits = list(
        dict.fromkeys(
            DayVisit(o.request or "", o.household)
            for o in [*standing, *(o for os_ in pinned.values() for o in os_)]
        )
    )
    return replace(scenario, caregivers=team), visits, pins


def _placements(
    standing: Sequence[DayOrder], routed: Plan
) -> tuple[list[Placement], list[DayOrder]]:
    """Each order takes a stop of its request: its own caregiver's when there is one (a pair
    whose other caregiver is absent keeps the one who stays), else one left over. Also the
    orders whose request was not routed."""
    spots: dict[str, list[tuple[Route, Stop]]] = defaultdict(list)
    for route in routed.routes:
        for stop in route.stops:
            spots[stop.request].append((route, stop))
    placed: list[Placement] = []
    dropped: list[DayOrder] = []
    for o in sorted(
        standing,
        key=lambda o: all(r.caregiver != o.caregiver for r, _ in spots[o.request or ""]),
    ):
        mine = spots.get(o.request or "")
        if not mine:
            dropped.append(o)
            continue
        own = [i for i, (r, _) in enumerate(mine) if r.caregiver == o.caregiver]
        route, stop = mine.pop(own[0] if own else 0)
        placed.append(Placement(o.key, route.caregiver, stop))
    return placed, dropped


def reroute_absence(
    scenario: Scenario,
    plan: Plan,
    caregiver: str,
    day: str,
    orders: Sequence[DayOrder],
    *,
    params: SolveParams | None = None,
    provider: TravelProvider | None = None,
    travel: TravelFn | None = None,
) -> AbsenceOutcome:
    """Re-route the day of ``caregiver``'s station without ``caregiver``.

    ``orders`` are the day's live work orders (not cancelled or refused) of the plan, any
    caregiver's. ``params`` bound the solve (default :class:`SolveParams`), ``provider`` gives
    its travel times and ``travel`` the checker's (both default to the scenario's model).
    Raises ``KeyError`` for an unknown caregiver and
    :class:`dispatch.operations.versions.PlanRejected` when the new version would break a rule
    the old one kept.
    """
    station = scenario.caregiver(caregiver).station
    team = {c.id for c in scenario.caregivers if c.station == station}
    mine = [o for o in orders if o.caregiver in team]
    known = {r.id for _, r in scenario.requests()}
    # An order the scenario does not know (none since bookings add their request) cannot be
    # re-routed: it is left to the dispatcher.
    lost = [
        LostVisit(o.key, o.request, o.household, Reason.CAPACITY.value, BY_HAND, by_hand=True)
        for o in mine
        if o.caregiver == caregiver and not o.fixed and o.request not in known
    ]
    sub, visits, pins = _station_day(scenario, caregiver, day, mine)
    routed = route_day(
        sub,
        day,
        travel=provider,
        visits=visits,
        pins=pins,
        params=params or SolveParams(),
        minutes_used=minutes_elsewhere(plan, day),
    )
    happened = {o.request for o in mine if o.fixed and o.caregiver == caregiver}
    routes = [r for r in plan.routes if not (r.day == day and r.caregiver in team)]
    for r in plan.routes:
        if r.day == day and r.caregiver == caregiver and happened:
            stops = tuple(s for s in r.stops if s.request in happened)
            if stops:
                routes.append(replace(r, stops=stops))
    routes += routed.routes
    standing = [o for o in mine if not o.fixed and o.request in known]
    placed, dropped = _placements(standing, routed)
    why = {u.request: u for u in routed.unassigned}
    unassigned = list(plan.unassigned)
    for o in dropped:
        u = why.get(o.request or "")
        reason = u.reason if u is not None else Reason.CAPACITY.value
        detail = u.detail if u is not None else ""
        if all(x.request != o.request for x in lost):  # once for both orders of a pair
            unassigned.append(Unassigned(o.request or "", o.household, 1, reason, detail))
        lost.append(LostVisit(o.key, o.request, o.household, reason, detail))
    new = revise_plan(scenario, plan, routes, unassigned, travel=travel)
    return AbsenceOutcome(new, tuple(placed), tuple(lost))
