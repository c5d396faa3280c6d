"""A caregiver's absence (请假) on a day of a published plan: the station's day re-routed.

The absent caregiver's open visits go to others of the same station by routing that station's
day again with :func:`dispatch.daily.route_day`, at ``now`` (minutes from midnight):

- visits started or done (any caregiver's) stay where they are: same caregiver, same start;
  the absent caregiver's stay on its route (they happened);
- colleagues' accepted orders stay where they are too, unless the dispatcher allows moving
  them; merely dispatched ones may move;
- nothing open starts before ``now``: each colleague leaves from where they are at ``now``
  (the household of the last visit they have started, or are already on their way to, or
  the station) no earlier than ``now`` or that visit's end, so a visit whose planned start
  has passed is re-timed to start at or after ``now`` plus the travel there, or is reported
  not kept with a reason of :class:`dispatch.reasons.Reason`;
- every caregiver's working minutes of the plan's other days count against the weekly cap, as
  they do for a hotline booking (:func:`dispatch.operations.versions.minutes_elsewhere`).

Only the station's caregivers are routed again; other stations' routes are not touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from dispatch.daily import DayVisit, Pin, route_day
from dispatch.haversine import TravelFn
from dispatch.model import (
    Break,
    Caregiver,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Stop,
    Unassigned,
    rest_applies,
)
from dispatch.operations.day import DayOrder
from dispatch.operations.engine import SolveParams
from dispatch.operations.versions import minutes_elsewhere, revise_plan
from dispatch.reasons import Reason
from dispatch.timeutil import format_hhmm
from dispatch.travel import Place, TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel

__all__ = ["AbsenceOutcome", "LostVisit", "Placement", "reroute_absence"]

#: Why a visit the scenario does not know stays with the absent caregiver.
BY_HAND = (
    "无可用护理员时段，需人工改派 / no caregiver time was found for it; re-dispatch it by hand"
)
#: The prefix of the requests that mark where a caregiver is at ``now`` (never in a plan).
_HERE = "@now:"


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


@dataclass(frozen=True)
class _DayAtNow:
    """The station's day as the router sees it at ``now``: the caregivers (shifts from where
    they are), the households (windows narrowed), the visits to route and the pins; ``done``:
    the caregivers whose shift is over once their visits under way end (their routes stay as
    planned, with the held visits only); ``rested``: the rests taken before ``now``, which the
    new routes keep (the router plans no other)."""

    scenario: Scenario
    visits: list[DayVisit]
    pins: list[Pin]
    done: frozenset[str]
    rested: Mapping[str, RouteBreak]


def _windows_from(windows: Sequence[tuple[int, int]], now: int) -> tuple[tuple[int, int], ...]:
    """The parts of ``windows`` (start windows) that start at or after ``now``."""
    return tuple((max(lo, now), hi) for lo, hi in windows if hi >= max(lo, now))


class _Leg:
    """Minutes between two places for one travel mode, from the day's provider."""

    def __init__(self, provider: TravelProvider, mode: str) -> None:
        self.provider, self.mode = provider, mode

    def __call__(self, a: Place, b: Place) -> int:
        return int(self.provider.matrix([a, b], self.mode)[0, 1])


def _under_way(
    held: Sequence[DayOrder],
    *,
    start: tuple[Place, int],
    now: int,
    homes: Mapping[str, Place],
    leg: _Leg,
) -> tuple[list[DayOrder], int]:
    """The held visits (in visiting order) a caregiver has started or is on the way to at
    ``now``, and from when it is free after them. ``start`` is the station and the shift's
    start. A visit is under way when it has started, its planned start has passed, or leaving
    for it only when free would be too late."""
    where, free = start[0], max(now, start[1])
    prefix: list[DayOrder] = []
    for i, o in enumerate(held):
        there = homes[o.household]
        if o.fixed or o.start < now or free + leg(where, there) > o.start:
            prefix = list(held[: i + 1])
            where, free = there, max(now, o.end)
    return prefix, free


def _rest_at_now(
    c: Caregiver, day: str, planned: RouteBreak | None, now: int
) -> tuple[RouteBreak | None, Break | None]:
    """The rest ``c`` has taken before ``now`` (its planned one once begun; else, when the
    plan had no route for it, the window's first minutes if over by ``now``: it was idle) and
    the rest still to plan (the rule's window from ``now``), at most one of them."""
    rule = rest_applies(c, day)
    if rule is None:
        return None, None
    if planned is not None and planned.start < now:
        return planned, None
    start = max(rule.window_start, now)
    if start + rule.minutes <= rule.window_end:
        return None, Break(start, rule.window_end, rule.minutes)
    if planned is None and rule.window_start + rule.minutes <= now:
        return RouteBreak(rule.window_start, rule.window_start + rule.minutes), None
    return None, None


def _off(c: Caregiver, day: str) -> Caregiver:
    """``c`` without a shift on ``day``."""
    return replace(c, shifts=MappingProxyType({d: s for d, s in c.shifts.items() if d != day}))


def _station_day(
    scenario: Scenario,
    caregiver: str,
    day: str,
    *,
    held: Sequence[DayOrder],
    routed: Sequence[DayOrder],
    windows: Mapping[str, tuple[tuple[int, int], ...]],
    now: int,
    provider: TravelProvider,
    rests: Mapping[str, RouteBreak],
) -> _DayAtNow:
    """The station's day at ``now`` without ``caregiver``: ``held`` visits pinned to their
    caregivers at their starts, ``routed`` ones free in ``windows`` (their start windows from
    ``now``). A caregiver who has started a visit, or is on the way to one, gets a visit of no
    minutes at that household (``@now:<id>``) pinned right after it, at the time it is free:
    nothing can be placed before it and the next visit is reached from there. One who has not
    left leaves the station no earlier than ``now``; one who cannot be back by the end of the
    shift after the visits under way is done for the day (not routed). ``rests`` are the
    planned rests of the day: one begun before ``now`` is kept (a caregiver resting is free
    at its end), one not begun is planned again from ``now`` (:func:`_rest_at_now`)."""
    station = scenario.station(scenario.caregiver(caregiver).station)
    depot = Place(f"station:{station.id}", station.lat, station.lon)
    homes = {h.id: Place(f"household:{h.id}", h.lat, h.lon) for h in scenario.households}
    by_caregiver: dict[str, list[DayOrder]] = defaultdict(list)
    for o in sorted(held, key=lambda o: (o.start, o.sequence)):
        by_caregiver[o.caregiver].append(o)
    narrowed = {**windows, **{o.request or "": ((o.start, o.start),) for o in held}}
    marks: dict[str, list[ServiceRequest]] = defaultdict(list)
    team: list[Caregiver] = []
    pins: list[Pin] = []
    visits: list[DayVisit] = []
    done: set[str] = set()
    rested: dict[str, RouteBreak] = {}
    for c in scenario.caregivers:
        if c.station != station.id:
            continue
        shift = c.shifts.get(day)
        if c.id == caregiver or shift is None:
            team.append(_off(c, day))
            continue
        mine = by_caregiver.get(c.id, [])
        leg = _Leg(provider, c.mode)
        prefix, free = _under_way(mine, start=(depot, shift[0]), now=now, homes=homes, leg=leg)
        taken, rest = _rest_at_now(c, day, rests.get(c.id), now)
        if taken is not None:
            rested[c.id] = taken
            if not prefix:
                free = max(free, taken.end)
        c = replace(c, rest=rest)
        requests = [o.request or "" for o in mine]
        if prefix and free + leg(homes[prefix[-1].household], depot) > shift[1]:
            done.add(c.id)
            team.append(_off(c, day))
            continue
        if prefix:
            here = prefix[-1].household
            mark = ServiceRequest(f"{_HERE}{c.id}", "now", 0, ((free, free),), days=(day,))
            marks[here].append(mark)
            visits.append(DayVisit(mark.id, here))
            requests.insert(len(prefix), mark.id)
            more = None if c.max_visits_per_day is None else c.max_visits_per_day + 1
            team.append(replace(c, max_visits_per_day=more))
        elif free < shift[1]:
            team.append(replace(c, shifts=MappingProxyType({**c.shifts, day: (free, shift[1])})))
        else:  # the shift is over and nothing is held
            team.append(_off(c, day))
            continue
        if requests:
            pins.append(Pin(c.id, tuple(requests)))
    households = tuple(
        replace(
            h,
            requests=tuple(
                replace(r, windows=narrowed[r.id]) if r.id in narrowed else r for r in h.requests
            )
            + tuple(marks.get(h.id, ())),
        )
        for h in scenario.households
    )
    # A two-person visit has an order per caregiver: one visit of the day.
    held = [o for o in held if o.caregiver not in done]
    visits += dict.fromkeys(DayVisit(o.request or "", o.household) for o in [*held, *routed])
    sub = replace(scenario, caregivers=tuple(team), households=households)
    return _DayAtNow(sub, visits, pins, frozenset(done), MappingProxyType(rested))


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
    now: int = 0,
    accepted: Collection[int] = (),
    allow_moving_accepted: bool = False,
    params: SolveParams | None = None,
    provider: TravelProvider | None = None,
    travel: TravelFn | None = None,
) -> AbsenceOutcome:
    """Re-route the day of ``caregiver``'s station without ``caregiver``, at ``now`` (minutes
    from midnight; 0: the whole day is still open).

    ``orders`` are the day's live work orders (not cancelled or refused) of the plan, any
    caregiver's; ``accepted`` the keys of those a caregiver has accepted: a colleague's stay
    with it at its start unless ``allow_moving_accepted``. ``params`` bound the solve
    (default :class:`SolveParams`), ``provider`` gives its travel times and ``travel`` the
    checker's (both default to the scenario's model). Raises ``KeyError`` for an unknown
    caregiver and :class:`dispatch.operations.versions.PlanRejected` when the new version
    would break a rule the old one kept.
    """
    scenario = resolve_travel(scenario)
    station = scenario.caregiver(caregiver).station
    team = {c.id for c in scenario.caregivers if c.station == station}
    working = {c.id for c in scenario.caregivers if c.station == station and day in c.shifts}
    mine = [o for o in orders if o.caregiver in team]
    requests = {r.id: r for _, r in scenario.requests()}
    # An order the scenario does not know (none since bookings add their request) cannot be
    # re-routed: it is left to the dispatcher.
    lost = [
        LostVisit(o.key, o.request, o.household, Reason.CAPACITY.value, BY_HAND, by_hand=True)
        for o in mine
        if o.caregiver == caregiver and not o.fixed and o.request not in requests
    ]
    kept = set() if allow_moving_accepted else set(accepted)
    held = [
        o
        for o in mine
        if o.caregiver != caregiver
        and o.caregiver in working
        and o.request in requests
        and (o.fixed or o.key in kept)
    ]
    held_requests = {o.request for o in held}
    standing = [o for o in mine if not o.fixed and o.request in requests]
    windows = {
        o.request or "": _windows_from(requests[o.request or ""].windows, now)
        for o in standing
        if o.request not in held_requests
    }
    closed = [o for o in standing if o.request in windows and not windows[o.request or ""]]
    routed_orders = [o for o in standing if o.request not in held_requests and o not in closed]
    day_at_now = _station_day(
        scenario,
        caregiver,
        day,
        held=held,
        routed=routed_orders,
        windows={r: w for r, w in windows.items() if w},
        now=now,
        provider=provider if provider is not None else provider_for(scenario),
        rests={r.caregiver: r.rest for r in plan.routes if r.day == day and r.rest is not None},
    )
    routed = route_day(
        day_at_now.scenario,
        day,
        travel=provider,
        visits=day_at_now.visits,
        pins=day_at_now.pins,
        params=params or SolveParams(),
        minutes_used=minutes_elsewhere(plan, day),
    )
    rested = day_at_now.rested
    routed = replace(
        routed,
        routes=tuple(
            replace(
                r,
                stops=tuple(s for s in r.stops if not s.request.startswith(_HERE)),
                rest=rested.get(r.caregiver, r.rest),
            )
            for r in routed.routes
        ),
    )
    # Routes kept as planned, with only the visits that stay: the absent caregiver's started
    # or done ones (they happened), and those of a colleague whose day is over.
    stay: dict[str, set[str | None]] = defaultdict(set)
    for o in mine:
        if o.caregiver == caregiver and o.fixed:
            stay[o.caregiver].add(o.request)
    for o in held:
        if o.caregiver in day_at_now.done:
            stay[o.caregiver].add(o.request)
    routes = [r for r in plan.routes if not (r.day == day and r.caregiver in team)]
    for r in plan.routes:
        if r.day == day and r.caregiver in stay:
            stops = tuple(s for s in r.stops if s.request in stay[r.caregiver])
            if stops:
                routes.append(replace(r, stops=stops))
    routes += routed.routes
    # Held visits keep their caregiver and start: they take their own stops first (the other
    # order of a pair then gets the other stop) and are not reported as placed.
    held_keys = {o.key for o in held}
    routed_held = [o for o in held if o.caregiver not in day_at_now.done]
    placed, dropped = _placements(
        [*routed_held, *(o for o in standing if o not in closed and o.key not in held_keys)],
        routed,
    )
    placed = [p for p in placed if p.order not in held_keys]
    why = {u.request: (u.reason, u.detail) for u in routed.unassigned}
    for o in closed:
        why[o.request or ""] = (
            Reason.NO_TIME_WINDOW_FITS.value,
            f"its start windows closed before {format_hhmm(now)} (时间窗已过)",
        )
    unassigned = list(plan.unassigned)
    for o in [*closed, *dropped]:
        reason, detail = why.get(o.request or "", (Reason.CAPACITY.value, ""))
        if all(x.request != o.request for x in lost):  # once for both orders of a pair
            unassigned.append(Unassigned(o.request or "", o.household, 1, reason, detail))
        lost.append(LostVisit(o.key, o.request, o.household, reason, detail))
    new = revise_plan(scenario, plan, routes, unassigned, travel=travel)
    return AbsenceOutcome(new, tuple(placed), tuple(lost))
