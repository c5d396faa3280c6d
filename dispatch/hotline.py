"""Hotline insertion (12349 热线派单): who can take one more visit today, and at what cost.

:func:`find_insertions` looks at every caregiver working today and tries the new visit at each
position of their route after the caregiver's current position (visits started or done and
visits that should already have started stay where they are). Each position is timed by
:func:`solver.schedule.time_route` and checked: the new visit's window, the later visits'
windows (a visit never moves earlier, only later), the rest (it may slide later inside its
window), the shift end, the daily visit cap, the weekly working minutes (the day's span from
leaving the station to coming back, plus the minutes worked on the other days, at most
``max_minutes_per_week``) and the vehicle's load capacity. One option per caregiver is kept,
the best by the call's ranking; the best few are returned. :func:`find_pair_insertions` finds
two caregivers who can start a two-person visit (双人服务) at the same minute, each inserted
into their own route that way.

Ranking (:func:`ranked_by`, one rule per urgency): ``urgent`` (加急) and ``emergency`` (助急)
calls rank by arrival first, then added travel minutes, then the total delay of the later
visits; ``normal`` calls by added travel first, then the total delay, then the start. The
answer names the rule that ranked it (``ranked_by``), and for an emergency says when nobody
can be there within :data:`EMERGENCY_MINUTES`.

Travel times come from the scenario's travel provider (:func:`dispatch.travel.provider_for`,
passed in; the contract's haversine model by default), one matrix per travel mode over every
candidate route's places and the caller's. Times are integer minutes from midnight.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import numpy as np

from dispatch.model import Caregiver, Route, RouteBreak, Stop, rest_applies
from dispatch.travel import HaversineProvider, Place, TravelProvider, pairwise
from solver.problem import BreakSpec
from solver.schedule import RouteTimes, Shift, time_route

__all__ = [
    "EMERGENCY_MINUTES",
    "RANKED_BY_TEXT",
    "URGENCIES",
    "Call",
    "DayRoute",
    "HotlineAnswer",
    "InsertionOption",
    "Move",
    "PairAnswer",
    "PairOption",
    "RankedBy",
    "RouteVisit",
    "Urgency",
    "apply_option",
    "find_insertions",
    "find_pair_insertions",
    "ranked_by",
]

Urgency = Literal["normal", "urgent", "emergency"]
#: Urgency levels of a hotline call (普通 / 加急 / 助急).
URGENCIES: tuple[str, ...] = ("normal", "urgent", "emergency")
#: An emergency (助急) should have someone on site within this many minutes.
EMERGENCY_MINUTES = 15

RankedBy = Literal["arrival", "added_travel"]
#: What each ranking rule puts first, then next (Chinese / English).
RANKED_BY_TEXT: Mapping[RankedBy, str] = MappingProxyType(
    {
        "arrival": (
            "按到达时间优先，其次增加的路程、后续延误 / by arrival first, then added travel, "
            "then the total delay of later visits"
        ),
        "added_travel": (
            "按增加的路程优先，其次后续延误、开始时间 / by added travel first, then the total "
            "delay of later visits, then the start"
        ),
    }
)


def ranked_by(urgency: Urgency) -> RankedBy:
    """The rule that ranks a call's options: ``"arrival"`` for urgent and emergency calls
    (someone there soonest), ``"added_travel"`` for normal ones (the cheapest route). Raises
    ``ValueError`` for an unknown urgency."""
    if urgency in ("urgent", "emergency"):
        return "arrival"
    if urgency == "normal":
        return "added_travel"
    raise ValueError(f"unknown urgency {urgency!r}, expected one of {', '.join(URGENCIES)}")


@dataclass(frozen=True)
class RouteVisit:
    """One visit of a caregiver's route today: planned ``start``/``end`` (minutes), the start
    ``windows`` it must keep (empty: any time) and whether it is ``fixed`` (started or done).
    ``place`` is its key for the travel provider (``"household:<id>"``; a matrix provider needs
    it, the haversine model does not)."""

    key: str
    lat: float
    lon: float
    start: int
    end: int
    windows: tuple[tuple[int, int], ...] = ()
    fixed: bool = False
    place: str = ""


@dataclass(frozen=True)
class DayRoute:
    """A caregiver's route today: the station it starts from and returns to, the visits in
    order and the rest as planned (``None``: no rest today).

    ``leave`` is when it leaves the station (``None``: unknown, taken as the shift start),
    ``minutes_elsewhere`` the working minutes of the caregiver's other days of the week and
    ``load`` the load units its visits carry today.
    """

    caregiver: Caregiver
    day: str
    station_lat: float
    station_lon: float
    visits: tuple[RouteVisit, ...] = ()
    rest: RouteBreak | None = None
    leave: int | None = None
    minutes_elsewhere: int = 0
    load: int = 0


@dataclass(frozen=True)
class Call:
    """The hotline request: where, how long (minutes), the start window, who may do it;
    ``place`` is the caller's key for the travel provider (``"household:<id>"``, see
    :class:`RouteVisit`)."""

    lat: float
    lon: float
    minutes: int
    window: tuple[int, int]
    skill: str
    urgency: Urgency = "normal"
    gender_preference: str | None = None
    forbidden_caregivers: tuple[str, ...] = ()
    load: int = 0
    place: str = ""


@dataclass(frozen=True)
class Move:
    """A later visit that starts later because of the insertion: its start before and after
    and its new arrival (minutes)."""

    key: str
    start_before: int
    start_after: int
    arrival_after: int

    @property
    def delay(self) -> int:
        """Minutes the visit moves later."""
        return self.start_after - self.start_before


@dataclass(frozen=True)
class InsertionOption:
    """One way to serve the call: ``caregiver`` goes after its first ``position`` visits.

    ``depart`` is when the caregiver sets off from the previous place (the station or a visit),
    ``arrival`` the ETA at the caller's home, ``start``/``end`` the service, ``added_travel``
    the extra travel minutes of the route, ``moves`` the later visits that start later,
    ``rest`` where the rest then lies and ``back`` the new return time to the station.
    """

    caregiver: str
    position: int
    depart: int
    arrival: int
    start: int
    end: int
    added_travel: int
    moves: tuple[Move, ...]
    rest: RouteBreak | None
    back: int

    @property
    def total_delay(self) -> int:
        """Sum of the later visits' delays in minutes."""
        return sum(m.delay for m in self.moves)


@dataclass(frozen=True)
class HotlineAnswer:
    """The best options (best first, by the rule ``ranked_by`` names), how many caregivers
    were considered, and for an emergency whether someone arrives within
    :data:`EMERGENCY_MINUTES` with a message."""

    options: tuple[InsertionOption, ...]
    considered: int
    ranked_by: RankedBy
    within_emergency_minutes: bool | None = None
    message: str = ""

    @property
    def ranked_by_text(self) -> str:
        """The ranking rule in words (Chinese / English)."""
        return RANKED_BY_TEXT[self.ranked_by]


def _qualified(c: Caregiver, call: Call) -> bool:
    return (
        call.skill in c.skills
        and (call.gender_preference is None or c.gender == call.gender_preference)
        and c.id not in call.forbidden_caregivers
    )


@dataclass
class _Event:
    """A visit (``node`` >= 1, its index among the route's nodes) or the rest (``node`` -1)."""

    visit: RouteVisit | None
    start: int
    end: int
    node: int  # node index of a visit; -1 for the rest


def _events(route: DayRoute) -> list[_Event]:
    events = [_Event(v, v.start, v.end, i + 1) for i, v in enumerate(route.visits)]
    if route.rest is not None:
        at = sum(1 for v in route.visits if v.end <= route.rest.start)
        events.insert(at, _Event(None, route.rest.start, route.rest.end, -1))
    return events


#: A visit without a window may start any time after its planned start (minutes).
_OPEN_END = 48 * 60


def _not_earlier(v: RouteVisit) -> tuple[tuple[int, int], ...]:
    """``v``'s start windows from its planned start on: a booking never moves a visit
    earlier."""
    if not v.windows:
        return ((v.start, _OPEN_END),)
    return tuple((max(a, v.start), b) for a, b in v.windows if b >= v.start)


def _time_tail(
    call: Call,
    route: DayRoute,
    tail: Sequence[_Event],
    *,
    depart: int,
    legs: Sequence[int],
) -> tuple[RouteTimes, BreakSpec | None]:
    """Times of the call and the visits after it (``tail``, with the rest when it lies there),
    leaving the previous place at ``depart``, by :func:`solver.schedule.time_route`.

    The rest keeps its planned place and may slide later inside its window, never earlier;
    a rest that applies today but had no place is taken after coming back. ``legs`` are the
    travel minutes: to the call, then along the tail, then back to the station.
    """
    c = route.caregiver
    shift = c.shifts[route.day]
    visits = [e.visit for e in tail if e.visit is not None]
    rest: BreakSpec | None = None
    gap: int | None = None
    spec = c.rest
    at = next((i for i, e in enumerate(tail) if e.visit is None), None)
    if at is not None and spec is not None and route.rest is not None:
        rest = BreakSpec(route.rest.start, spec.window_end, spec.minutes)
        gap = 1 + sum(1 for e in tail[:at] if e.visit is not None)
    elif route.rest is None and spec is not None and rest_applies(c, route.day) is not None:
        rest = BreakSpec(spec.window_start, spec.window_end, spec.minutes)
        gap = len(visits) + 2  # after coming back
    times = time_route(
        legs,
        [(call.window,), *(_not_earlier(v) for v in visits)],
        [call.minutes, *(v.end - v.start for v in visits)],
        Shift(depart, shift[1], rest),
        rest_gap=gap,
    )
    return times, rest


def _try_route(
    call: Call,
    route: DayRoute,
    *,
    now: int,
    to_new: np.ndarray,
    from_new: np.ndarray,
    leg: np.ndarray,
) -> InsertionOption | None:
    """Cheapest feasible position in ``route``; ``to_new[k]`` minutes from node ``k`` (0 =
    station, 1.. visits) to the call, ``from_new[k]`` from the call to node ``k``, ``leg[k]``
    minutes from node ``k`` to node ``k + 1`` (the last visit's leg leads back to the
    station)."""
    c = route.caregiver
    shift = c.shifts.get(route.day)
    if shift is None:
        return None
    if c.max_visits_per_day is not None and len(route.visits) + 1 > c.max_visits_per_day:
        return None
    if c.capacity is not None and route.load + call.load > c.capacity:
        return None
    events = _events(route)
    # The current position: after every fixed visit and everything that should have started.
    first = 0
    for i, e in enumerate(events):
        if (e.visit is not None and e.visit.fixed) or e.start < now:
            first = i + 1
    best: tuple[tuple[int, ...], InsertionOption] | None = None
    for p in range(first, len(events) + 1):
        # Where the caregiver is and when it is free before position p.
        loc, t = 0, max(shift[0], now)
        for e in events[:p]:
            if e.visit is not None:
                loc = e.node
            t = max(t, e.end)
        if t > call.window[1]:
            break  # free only after the call's latest start here, and later still further on
        if t + int(to_new[loc]) > call.window[1]:
            continue  # arrives after the call's latest start: no timing can make it fit
        tail = events[p:]
        nodes = [e.node for e in tail if e.visit is not None]
        nxt = nodes[0] if nodes else 0
        # Consecutive nodes of the route: node k's leg leads to node k + 1 (the last one's to
        # the station).
        legs = [int(to_new[loc]), int(from_new[nxt]), *(int(leg[k]) for k in nodes)]
        times, rest_spec = _time_tail(call, route, tail, depart=t, legs=legs)
        if not times.feasible:
            continue
        start, back = times.starts[0], times.back
        rest = route.rest
        if rest_spec is not None and times.rest_start is not None:
            rest = RouteBreak(times.rest_start, times.rest_start + rest_spec.duration)
        if c.max_minutes_per_week is not None:
            visits_before = sum(1 for e in events[:p] if e.visit is not None)
            usual = route.leave if route.leave is not None else shift[0]
            if not route.visits:
                leave = t
            elif visits_before == 0:
                leave = min(usual, t)
            else:
                leave = usual
            if route.minutes_elsewhere + back - leave > c.max_minutes_per_week:
                continue
        later = [e.visit for e in tail if e.visit is not None]
        option = InsertionOption(
            caregiver=c.id,
            position=sum(1 for e in events[:p] if e.visit is not None),
            depart=t,
            arrival=t + legs[0],
            start=start,
            end=start + call.minutes,
            added_travel=legs[0] + legs[1] - (int(leg[loc]) if nodes or loc else 0),
            moves=tuple(
                Move(v.key, v.start, new, arrival)
                for v, new, arrival in zip(later, times.starts[1:], times.arrivals[1:], strict=True)
                if new != v.start
            ),
            rest=rest,
            back=back,
        )
        key = _rank(call, option)
        if best is None or key < best[0]:
            best = (key, option)
    return None if best is None else best[1]


def _rank(call: Call, o: InsertionOption) -> tuple[int, ...]:
    if ranked_by(call.urgency) == "arrival":
        return (o.arrival, o.added_travel, o.total_delay)
    return (o.added_travel, o.total_delay, o.start)


def _candidates(
    call: Call, routes: Sequence[DayRoute], travel: TravelProvider | None, limit: int
) -> tuple[TravelProvider, list[DayRoute]]:
    """The travel provider (default: the contract's haversine model) and the routes of the
    caregivers qualified for ``call``; raises ``ValueError`` for a non-positive ``limit`` or an
    inverted window."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if call.window[0] > call.window[1]:
        raise ValueError(f"window {call.window} ends before it starts")
    provider = travel if travel is not None else HaversineProvider()
    return provider, [r for r in routes if _qualified(r.caregiver, call)]


_Legs = list[tuple[DayRoute, np.ndarray, np.ndarray, np.ndarray]]


def _nodes(r: DayRoute) -> list[Place]:
    """A route's places: the station, its visits, the station again."""
    station = Place(f"station:{r.caregiver.station}", r.station_lat, r.station_lon)
    visits = [Place(v.place or f"visit:{v.key}", v.lat, v.lon) for v in r.visits]
    return [station, *visits, station]


def _legs(call: Call, candidates: Sequence[DayRoute], provider: TravelProvider) -> _Legs:
    """Each of ``candidates`` with its travel minutes: ``to_new[k]`` from node ``k`` (0 =
    station, 1.. visits) to the caller, ``from_new[k]`` back, ``leg[k]`` from node ``k`` to the
    next; the legs of every route of one travel mode in one :func:`dispatch.travel.pairwise`
    call each (a few per place, never the square of the day's places)."""
    by_mode: dict[str, list[int]] = {}
    for i, r in enumerate(candidates):
        by_mode.setdefault(r.caregiver.mode, []).append(i)
    caller = Place(call.place or "caller", call.lat, call.lon)
    found: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for mode, members in by_mode.items():
        nodes = [_nodes(candidates[i]) for i in members]
        every = [p for route_nodes in nodes for p in route_nodes]
        callers = [caller] * len(every)
        to_new = pairwise(provider, every, callers, mode)
        from_new = pairwise(provider, callers, every, mode)
        steps = [(a, b) for route_nodes in nodes for a, b in itertools.pairwise(route_nodes)]
        step = pairwise(provider, [a for a, _ in steps], [b for _, b in steps], mode)
        off = step_off = 0
        for i, route_nodes in zip(members, nodes, strict=True):
            n = len(route_nodes)
            # leg[k] leads from node k to node k + 1; the closing station has none (0).
            leg = np.append(step[step_off : step_off + n - 1], 0)
            found[i] = (to_new[off : off + n], from_new[off : off + n], leg)
            off += n
            step_off += n - 1
    return [(r, *found[i]) for i, r in enumerate(candidates)]


def _options(call: Call, legs: _Legs, *, now: int) -> list[InsertionOption]:
    """The cheapest option of each route of ``legs`` where the call fits."""
    found = (
        _try_route(call, r, now=now, to_new=to_new, from_new=from_new, leg=leg)
        for r, to_new, from_new, leg in legs
    )
    return [o for o in found if o is not None]


def _bound(
    call: Call,
    route: DayRoute,
    to_new: np.ndarray,
    from_new: np.ndarray,
    leg: np.ndarray,
    *,
    now: int,
) -> int:
    """A lower bound of the first element of :func:`_rank` of ``route``'s best option (exact
    per position, before timing): by arrival, leaving no earlier than the shift's start and
    ``now`` for the nearest of its places; by added travel, the least detour over every
    position. A route whose caregiver does not work the day gets no bound worth trying."""
    shift = route.caregiver.shifts.get(route.day)
    if shift is None:
        return _NO_BOUND
    n = len(route.visits)
    if ranked_by(call.urgency) == "arrival":
        return max(shift[0], now) + int(to_new[: n + 1].min())
    after = np.arange(n + 1)  # the position after node k (0 = the station)
    nxt = np.where(after < n, after + 1, 0)
    saved = np.where((after < n) | (after > 0), leg[after], 0)
    return int((to_new[after] + from_new[nxt] - saved).min())


_NO_BOUND = 1 << 40


def _best_options(call: Call, legs: _Legs, *, now: int, limit: int) -> list[InsertionOption]:
    """The best ``limit`` options of :func:`_options`, in rank order, trying routes in order of
    :func:`_bound` and stopping once no route left can rank among them (the answer is the same
    as trying every route; a dispatcher's call tries a few routes instead of every one)."""
    bounds = sorted(
        (_bound(call, r, to_new, from_new, leg, now=now), i)
        for i, (r, to_new, from_new, leg) in enumerate(legs)
    )
    found: list[InsertionOption] = []
    for bound, i in bounds:
        if bound >= _NO_BOUND:
            break
        if len(found) >= limit and bound > _rank(call, found[limit - 1])[0]:
            break
        r, to_new, from_new, leg = legs[i]
        option = _try_route(call, r, now=now, to_new=to_new, from_new=from_new, leg=leg)
        if option is not None:
            found.append(option)
            found.sort(key=lambda o: (*_rank(call, o), o.caregiver))
    return found[:limit]


def find_insertions(
    call: Call,
    routes: Sequence[DayRoute],
    *,
    now: int,
    travel: TravelProvider | None = None,
    limit: int = 3,
    emergency_minutes: int = EMERGENCY_MINUTES,
) -> HotlineAnswer:
    """The best ``limit`` caregivers to serve ``call`` today, best first (one option each).

    ``routes`` are today's routes of every caregiver working today (an empty route for one
    without visits); ``now`` is the current time in minutes from midnight. Caregivers without
    the skill, of the wrong gender or on the caller's forbidden list are skipped. Raises
    ``ValueError`` for a non-positive ``limit`` or an inverted window.
    """
    provider, candidates = _candidates(call, routes, travel, limit)
    chosen = tuple(_best_options(call, _legs(call, candidates, provider), now=now, limit=limit))
    rule = ranked_by(call.urgency)
    if call.urgency != "emergency":
        message = "" if chosen else "今天无人可以接单 / nobody can take this visit today"
        return HotlineAnswer(chosen, len(candidates), rule, None, message)
    within = bool(chosen) and chosen[0].arrival <= now + emergency_minutes
    if within:
        message = ""
    elif chosen:
        message = (
            f"{emergency_minutes}分钟内无人可到，最早{chosen[0].arrival - now}分钟 / nobody can "
            f"be there within {emergency_minutes} minutes; the earliest arrives in "
            f"{chosen[0].arrival - now} minutes"
        )
    else:
        message = (
            f"{emergency_minutes}分钟内无人可到，今天无人可以接单 / nobody can be there within "
            f"{emergency_minutes} minutes, nor later today"
        )
    return HotlineAnswer(chosen, len(candidates), rule, within, message)


@dataclass(frozen=True)
class PairOption:
    """Two caregivers who start a two-person visit (双人服务) together: ``first`` and
    ``second`` are their own insertions, with the same ``start``."""

    first: InsertionOption
    second: InsertionOption

    @property
    def start(self) -> int:
        return self.first.start

    @property
    def arrival(self) -> int:
        """When the later of the two arrives."""
        return max(self.first.arrival, self.second.arrival)

    @property
    def added_travel(self) -> int:
        return self.first.added_travel + self.second.added_travel

    @property
    def total_delay(self) -> int:
        return self.first.total_delay + self.second.total_delay

    @property
    def caregivers(self) -> tuple[str, str]:
        return (self.first.caregiver, self.second.caregiver)


@dataclass(frozen=True)
class PairAnswer:
    """The best pairs (best first, by the rule ``ranked_by`` names), how many qualified
    caregivers were considered, and for an emergency whether a pair can start within
    :data:`EMERGENCY_MINUTES`, with a message."""

    options: tuple[PairOption, ...]
    considered: int
    ranked_by: RankedBy
    within_emergency_minutes: bool | None = None
    message: str = ""

    @property
    def ranked_by_text(self) -> str:
        """The ranking rule in words (Chinese / English)."""
        return RANKED_BY_TEXT[self.ranked_by]


def _pair_rank(call: Call, o: PairOption) -> tuple[int, ...]:
    # A pair has arrived when both are there and start together: its common start.
    if ranked_by(call.urgency) == "arrival":
        return (o.start, o.added_travel, o.total_delay)
    return (o.added_travel, o.total_delay, o.start)


def find_pair_insertions(
    call: Call,
    routes: Sequence[DayRoute],
    *,
    now: int,
    travel: TravelProvider | None = None,
    limit: int = 3,
    emergency_minutes: int = EMERGENCY_MINUTES,
    pairs_per_start: int = 3,
) -> PairAnswer:
    """The best ``limit`` pairs of caregivers to start a two-person ``call`` together today.

    The common start is looked for among the minutes at which some qualified caregiver can
    start it on their own (:func:`find_insertions`'s options): at each, every caregiver's
    cheapest insertion starting exactly then, and the ``pairs_per_start`` cheapest pairs of
    them. Ranking as :func:`find_insertions` (:func:`ranked_by`), the pair's added travel and
    delays summed; by arrival, a pair arrives at its common start. Raises ``ValueError`` as
    :func:`find_insertions` does.
    """
    provider, candidates = _candidates(call, routes, travel, limit)
    legs = _legs(call, candidates, provider)  # the same for every start tried
    alone = _options(call, legs, now=now)
    best: dict[frozenset[str], PairOption] = {}
    for t in sorted({o.start for o in alone}):
        at = replace(call, window=(t, t))
        options = sorted(
            _options(at, legs, now=now),
            key=lambda o: (*_rank(at, o), o.caregiver),
        )
        pairs = sorted(
            (PairOption(a, b) for i, a in enumerate(options) for b in options[i + 1 :]),
            key=lambda p: _pair_rank(call, p),
        )
        for pair in pairs[:pairs_per_start]:
            key = frozenset(pair.caregivers)
            if key not in best or _pair_rank(call, pair) < _pair_rank(call, best[key]):
                best[key] = pair
    chosen = tuple(
        sorted(best.values(), key=lambda p: (*_pair_rank(call, p), p.caregivers))[:limit]
    )
    if not chosen:
        message = (
            "今天没有两名护理员能同时到场 / no two caregivers can start this visit together today"
        )
    elif call.urgency == "emergency" and chosen[0].start > now + emergency_minutes:
        message = (
            f"{emergency_minutes}分钟内无两人可到，最早{chosen[0].start - now}分钟 / no pair can "
            f"start within {emergency_minutes} minutes; the earliest starts in "
            f"{chosen[0].start - now} minutes"
        )
    else:
        message = ""
    within = None
    if call.urgency == "emergency":
        within = bool(chosen) and chosen[0].start <= now + emergency_minutes
    return PairAnswer(chosen, len(candidates), ranked_by(call.urgency), within, message)


def apply_option(
    route: Route, option: InsertionOption, new_stop: Stop, keys: Sequence[str]
) -> Route:
    """``route`` with ``new_stop`` inserted as ``option`` says: later stops moved, the rest
    where the option puts it, the return (and, for a first visit, the leave) updated.

    ``keys[i]`` is the key the search knew ``route.stops[i]`` by. Raises ``ValueError`` when
    ``keys`` does not match the stops.
    """
    if len(keys) != len(route.stops):
        raise ValueError(f"{len(keys)} keys for {len(route.stops)} stops")
    moved = {m.key: m for m in option.moves}
    stops = []
    for key, stop in zip(keys, route.stops, strict=True):
        m = moved.get(key)
        if m is not None:
            length = stop.end - stop.start
            stop = Stop(
                stop.request, stop.household, m.arrival_after, m.start_after, m.start_after + length
            )
        stops.append(stop)
    stops.insert(option.position, new_stop)
    leave = min(route.leave, option.depart) if option.position == 0 else route.leave
    if not route.stops:
        leave = option.depart
    return Route(
        route.caregiver,
        route.day,
        leave,
        max(route.back, option.back) if route.stops else option.back,
        tuple(stops),
        option.rest if option.rest is not None else route.rest,
    )
