"""The greedy baseline (``dispatch plan --solver greedy``): a week planned the way it is by hand.

What a dispatcher does today, written down so that the optimiser has something honest to beat:

- requests in order of arrival (file order), visit after visit;
- each visit to the nearest qualified caregiver (travel minutes from their station) with room —
  skill, gender preference and the household's forbidden list respected;
- on that caregiver's first day that fits: a day the request allows, not yet used by the
  request, ``min_gap_days`` from its other visits and, when the request has ``patterns``, inside
  one of them;
- appended at the cheapest feasible position of that caregiver's day (least added travel), keeping
  windows, the shift with travel out and back, the break, the daily visit cap, the weekly minutes
  and the carrying capacity.

A two-person visit goes to the nearest pair of qualified caregivers who can both start it at the
same minute, the pair of its other visits first. A linked visit (``after``) comes after the
request it follows, on a day that one is visited, starting within its delay; that visit's start
is then held where it is. Every visit that finds no place is reported in ``unassigned`` with the
first reason of :class:`dispatch.reasons.Reason` that applies. Times are minutes from midnight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

import numpy as np

from dispatch.diagnose import eligible_caregivers, qualified
from dispatch.kpis import plan_kpis
from dispatch.model import (
    DAYS,
    Caregiver,
    Household,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Stop,
    Unassigned,
    rest_applies,
)
from dispatch.reasons import Reason
from dispatch.travel import Place, TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel, with_record
from solver.schedule import RouteTimes, Shift, time_route

__all__ = ["plan_greedy"]

Windows = tuple[tuple[int, int], ...]
# Two-person visits look for a partner among this many nearest qualified caregivers.
_PAIR_CANDIDATES = 12


@dataclass(frozen=True)
class _Node:
    """One stop of a route under construction; ``windows`` are fixed to one minute for a
    two-person visit once its start is agreed."""

    request: str
    household: str
    loc: int
    minutes: int
    windows: Windows
    load: int


@dataclass(frozen=True)
class _Schedule:
    """Timed route: stop arrivals and starts, leave and back, break start (or None)."""

    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    leave: int
    back: int
    rest_start: int | None

    @property
    def span(self) -> int:
        return self.back - self.leave


@dataclass
class _DayRoute:
    """One caregiver's route on one day while the week is being built."""

    caregiver: Caregiver
    day: str
    shift: tuple[int, int]
    rest: tuple[int, int, int] | None  # (window start, window end, minutes) when required
    home: int
    matrix: list[list[int]]
    nodes: list[_Node] = field(default_factory=list)
    schedule: _Schedule | None = None

    @property
    def load(self) -> int:
        return sum(n.load for n in self.nodes)


def _earliest(arrive: int, windows: Windows) -> int | None:
    """The first start at or after ``arrive`` inside a window (windows sorted by start)."""
    for lo, hi in windows:
        if arrive <= hi:
            return max(lo, arrive)
    return None


def _latest(bound: int, windows: Windows) -> int | None:
    """The last start at or before ``bound`` inside a window."""
    best: int | None = None
    for lo, hi in windows:
        if lo <= bound:
            s = min(hi, bound)
            if best is None or s > best:
                best = s
    return best


def _base_times(route: _DayRoute, nodes: Sequence[_Node], extra: Mapping[int, int]) -> RouteTimes:
    """:func:`solver.schedule.time_route` of ``nodes`` on the route's shift without a rest;
    ``extra`` adds minutes to legs (gap ``g`` is the ride to stop ``g``, ``len(nodes)`` home)."""
    m = route.matrix
    seq = [route.home, *(n.loc for n in nodes), route.home]
    legs = [m[a][b] + extra.get(g, 0) for g, (a, b) in enumerate(pairwise(seq))]
    return time_route(
        legs,
        [n.windows for n in nodes],
        [n.minutes for n in nodes],
        Shift(route.shift[0], route.shift[1]),
    )


def _evaluate(route: _DayRoute, nodes: Sequence[_Node]) -> _Schedule | None:
    """The earliest timing of ``nodes`` in this order on the route's day, or None if infeasible.

    Without the break, the as-soon-as-possible times are feasible exactly when the sequence is.
    The break goes into the gap (before leaving, between stops, before the ride home or after it)
    that delays the route least; the latest feasible starts bound which gaps can take it.
    """
    m = route.matrix
    home = route.home
    shift_start, shift_end = route.shift
    k = len(nodes)
    if k == 0:
        return _Schedule((), (), shift_start, shift_start, None)
    base = _base_times(route, nodes, {})
    if not base.feasible:
        return None
    if route.rest is None:
        return _Schedule(base.arrivals, base.starts, base.leave, base.back, None)
    early = base.starts
    back_early = base.back
    # Backward: latest starts that still let the rest of the route be on time.
    late = [0] * k
    bound, nxt = shift_end, home
    for i in range(k - 1, -1, -1):
        n = nodes[i]
        s = _latest(bound - m[n.loc][nxt] - n.minutes, n.windows)
        if s is None:
            return None
        late[i] = s
        bound, nxt = s, n.loc
    latest_leave = bound - m[home][nodes[0].loc]
    ws, we, rest_minutes = route.rest
    gap = -1
    best_delay: int | None = None
    for g in range(k + 2):
        if g == 0:  # before leaving the station
            end = max(ws, shift_start) + rest_minutes
            ok = end <= we and end <= latest_leave
            delay = max(0, end + m[home][nodes[0].loc] - early[0])
        elif g <= k:  # after stop g-1, before riding on
            prev = nodes[g - 1]
            end = max(ws, early[g - 1] + prev.minutes) + rest_minutes
            if g < k:
                arrive = end + m[prev.loc][nodes[g].loc]
                ok = end <= we and arrive <= late[g]
                delay = max(0, arrive - early[g])
            else:
                arrive = end + m[prev.loc][home]
                ok = end <= we and arrive <= shift_end
                delay = max(0, arrive - back_early)
        else:  # back at the station
            end = max(ws, back_early) + rest_minutes
            ok = end <= we
            delay = 0
        if ok and (best_delay is None or delay < best_delay):
            gap, best_delay = g, delay
            if delay == 0:
                break
    if gap < 0:
        return None
    return _timed(route, nodes, base, gap)


def _timed(
    route: _DayRoute, nodes: Sequence[_Node], base: RouteTimes, gap: int
) -> _Schedule | None:
    """The times of ``nodes`` with the break in ``gap``, from their times ``base`` without it.

    The greedy baseline takes its break where it is when the gap begins (at the station before
    leaving, gap 0; after stop ``gap - 1``; back at the station, ``len(nodes) + 1``), from the
    window's start at the earliest, and rides on afterwards; the break and any wait for its
    window then lengthen the ride that follows, and :func:`solver.schedule.time_route` times
    the route with that ride. The leave is put off until just in time for the first stop.
    """
    assert route.rest is not None
    ws, we, rest_minutes = route.rest
    k = len(nodes)
    if gap == k + 1:
        rest_start = max(ws, base.back)
        if rest_start + rest_minutes > we:
            return None
        return _Schedule(base.arrivals, base.starts, base.leave, base.back, rest_start)
    # Everything before the gap keeps its times without the break.
    t = route.shift[0] if gap == 0 else base.starts[gap - 1] + nodes[gap - 1].minutes
    rest_start = max(ws, t)
    if rest_start + rest_minutes > we:
        return None
    wait = rest_start + rest_minutes - t
    times = _base_times(route, nodes, {gap: wait})
    if not times.feasible:
        return None
    # A break before leaving is taken at the station: the ride out starts after it.
    leave = times.leave + wait if gap == 0 else times.leave
    return _Schedule(times.arrivals, times.starts, leave, times.back, rest_start)


class _Week:
    """The routes of the week under construction, with each caregiver's minutes used."""

    def __init__(
        self, scenario: Scenario, matrices: Mapping[str, list[list[int]]], loc: Mapping[str, int]
    ):
        self.scenario = scenario
        self.matrices = matrices
        self.loc = loc
        self.routes: dict[tuple[str, str], _DayRoute] = {}
        self.used: dict[str, int] = {}
        self.visits: dict[str, dict[str, list[str]]] = {}  # request -> day -> caregivers

    def empty_route(self, c: Caregiver, day: str) -> _DayRoute:
        """A new, unregistered empty route of ``c`` on ``day`` (a shift that day is required)."""
        shift = c.shifts[day]
        applies = rest_applies(c, day)
        rest = None
        if applies is not None:
            rest = (applies.window_start, applies.window_end, applies.minutes)
        home = self.loc[f"station:{c.station}"]
        return _DayRoute(c, day, shift, rest, home, self.matrices[c.mode])

    def route(self, c: Caregiver, day: str) -> _DayRoute:
        """The route of ``c`` on ``day`` being built (created empty on first use)."""
        key = (c.id, day)
        r = self.routes.get(key)
        if r is None:
            r = self.routes[key] = self.empty_route(c, day)
        return r

    def has_room(self, route: _DayRoute, node: _Node) -> bool:
        """Cheap tests before any timing: the daily cap and the carrying capacity."""
        c = route.caregiver
        if c.max_visits_per_day is not None and len(route.nodes) >= c.max_visits_per_day:
            return False
        return c.capacity is None or route.load + node.load <= c.capacity

    def within_week(self, route: _DayRoute, schedule: _Schedule) -> bool:
        c = route.caregiver
        if c.max_minutes_per_week is None:
            return True
        old = route.schedule.span if route.schedule is not None else 0
        return self.used.get(c.id, 0) - old + schedule.span <= c.max_minutes_per_week

    def insertions(self, route: _DayRoute, node: _Node) -> list[tuple[int, int]]:
        """Positions where ``node`` may go, cheapest added travel first, as (cost, position)."""
        m = route.matrix
        seq = [route.home, *(n.loc for n in route.nodes), route.home]
        return sorted(
            (m[seq[i]][node.loc] + m[node.loc][seq[i + 1]] - m[seq[i]][seq[i + 1]], i)
            for i in range(len(seq) - 1)
        )

    def trial(self, route: _DayRoute, node: _Node, position: int) -> _Schedule | None:
        nodes = [*route.nodes[:position], node, *route.nodes[position:]]
        schedule = _evaluate(route, nodes)
        if schedule is None or not self.within_week(route, schedule):
            return None
        return schedule

    def commit(self, route: _DayRoute, node: _Node, position: int, schedule: _Schedule) -> None:
        c = route.caregiver
        old = route.schedule.span if route.schedule is not None else 0
        self.used[c.id] = self.used.get(c.id, 0) - old + schedule.span
        route.nodes.insert(position, node)
        route.schedule = schedule
        self.visits.setdefault(node.request, {}).setdefault(route.day, []).append(c.id)

    def hold(self, request: str, day: str) -> tuple[int, list[tuple[_DayRoute, int, _Node]]]:
        """Fix the start of ``request``'s visit on ``day`` where it is (a one-minute window on
        every caregiver's node), so that later insertions cannot move it. Returns the start
        and what :meth:`release` needs to undo it."""
        held: list[tuple[_DayRoute, int, _Node]] = []
        start = -1
        for cid in self.visits[request][day]:
            route = self.routes[(cid, day)]
            assert route.schedule is not None
            i = next(k for k, n in enumerate(route.nodes) if n.request == request)
            node = route.nodes[i]
            start = route.schedule.starts[i]
            held.append((route, i, node))
            route.nodes[i] = _Node(
                node.request, node.household, node.loc, node.minutes, ((start, start),), node.load
            )
        return start, held

    def release(self, held: Sequence[tuple[_DayRoute, int, _Node]]) -> None:
        """Undo :meth:`hold` (the routes have not changed since)."""
        for route, i, node in held:
            route.nodes[i] = node

    def place_single(self, route: _DayRoute, node: _Node) -> bool:
        """Insert ``node`` at the cheapest feasible position of ``route``; False when none."""
        if not self.has_room(route, node):
            return False
        for _cost, i in self.insertions(route, node):
            schedule = self.trial(route, node, i)
            if schedule is not None:
                self.commit(route, node, i, schedule)
                return True
        return False

    def place_pair(self, a: _DayRoute, b: _DayRoute, node: _Node) -> bool:
        """Insert a two-person visit into both routes with one common start; False when none."""
        if not (self.has_room(a, node) and self.has_room(b, node)):
            return False
        options = sorted(
            (ca + cb, i, j)
            for ca, i in self.insertions(a, node)
            for cb, j in self.insertions(b, node)
        )
        for _cost, i, j in options:
            ea = _arrival(a, node, i)
            eb = _arrival(b, node, j)
            start = _earliest(max(ea, eb), node.windows)
            if start is None:
                continue
            fixed = _Node(
                node.request, node.household, node.loc, node.minutes, ((start, start),), node.load
            )
            sa = self.trial(a, fixed, i)
            if sa is None:
                continue
            sb = self.trial(b, fixed, j)
            if sb is None:
                continue
            self.commit(a, fixed, i, sa)
            self.commit(b, fixed, j, sb)
            return True
        return False


def _arrival(route: _DayRoute, node: _Node, position: int) -> int:
    """Earliest arrival at ``node`` inserted at ``position`` (no break taken before it)."""
    m = route.matrix
    if position == 0 or route.schedule is None:
        return route.shift[0] + m[route.home][node.loc]
    prev = route.nodes[position - 1]
    return route.schedule.starts[position - 1] + prev.minutes + m[prev.loc][node.loc]


def _patterns(r: ServiceRequest) -> tuple[frozenset[str], ...]:
    """The request's allowed day sets (the optional ``patterns`` field), or () for any."""
    return tuple(frozenset(p) for p in r.patterns or ())


def _day_fits(day: str, chosen: Iterable[str], r: ServiceRequest) -> bool:
    """``day`` is free for one more visit of ``r`` after visits on ``chosen`` days."""
    taken = set(chosen)
    if day in taken:
        return False
    i = DAYS.index(day)
    if any(abs(i - DAYS.index(d)) < r.min_gap_days for d in taken):
        return False
    patterns = _patterns(r)
    return not patterns or any(taken | {day} <= p for p in patterns)


def _most_visits(days: Iterable[str], r: ServiceRequest) -> int:
    """How many visits of ``r`` fit on ``days`` with its spacing and patterns."""
    pool = set(days)
    patterns = _patterns(r) or (frozenset(DAYS),)
    best = 0
    for p in patterns:
        count, last = 0, None
        for i in sorted(DAYS.index(d) for d in pool & p):
            if last is None or i - last >= r.min_gap_days:
                count, last = count + 1, i
        best = max(best, count)
    return min(best, r.visits_per_week)


def _reasons(
    week: _Week,
    h: Household,
    r: ServiceRequest,
    node: _Node,
    candidates: Sequence[Caregiver],
    allowed_days: Sequence[str],
    missing: int,
) -> list[Unassigned]:
    """The unassigned entries for ``missing`` visits of ``r``: why, first reason that applies."""

    def entry(reason: Reason, count: int, detail: str) -> Unassigned:
        return Unassigned(r.id, h.id, count, reason.value, detail)

    scenario = week.scenario
    if not candidates:
        _, reason, detail = eligible_caregivers(
            scenario, h, r, scenario.caregivers, day=allowed_days[0] if allowed_days else "-"
        )
        return [entry(reason or Reason.NO_QUALIFIED_CAREGIVER, missing, detail)]
    if r.after is not None:
        first = sorted(week.visits.get(r.after.request, {}), key=DAYS.index)
        return [
            entry(
                Reason.LINKED_VISIT,
                missing,
                f"follows request {r.after.request}, planned on {', '.join(first) or 'no day'}; "
                f"no qualified caregiver could start it {r.after.min_minutes}-"
                f"{r.after.max_minutes} min after that visit (关联服务间隔无法满足)",
            )
        ]
    working = [d for d in allowed_days if any(d in c.shifts for c in candidates)]
    if not working:
        days = ", ".join(allowed_days) or "none"
        return [
            entry(
                Reason.NO_SHIFT_ON_ALLOWED_DAYS,
                missing,
                f"{len(candidates)} qualified caregiver(s), none works on the allowed "
                f"days ({days})",
            )
        ]
    fitting: list[str] = []
    for d in working:
        alone = 0
        for c in candidates:
            if d not in c.shifts:
                continue
            empty = week.empty_route(c, d)
            if (
                (c.capacity is None or node.load <= c.capacity)
                and (c.max_visits_per_day is None or c.max_visits_per_day >= 1)
                and (s := _evaluate(empty, [node])) is not None
                and (c.max_minutes_per_week is None or s.span <= c.max_minutes_per_week)
            ):
                alone += 1
                if alone >= r.staff:
                    break
        if alone >= r.staff:
            fitting.append(d)
    windows = ", ".join(
        f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in r.windows
    )
    if not fitting:
        return [
            entry(
                Reason.NO_TIME_WINDOW_FITS,
                missing,
                f"windows {windows} with {r.minutes} min of service fit no qualified caregiver's "
                "shift with the ride out and back; a wider window or a longer shift would fit",
            )
        ]
    out: list[Unassigned] = []
    spacing = min(missing, r.visits_per_week - _most_visits(fitting, r))
    if spacing > 0:
        out.append(
            entry(
                Reason.FREQUENCY_SPACING,
                spacing,
                f"{r.visits_per_week} visits a week at least {r.min_gap_days} day(s) apart do not "
                f"fit the days a qualified caregiver can come ({', '.join(fitting)})",
            )
        )
    if missing - spacing > 0:
        out.append(
            entry(
                Reason.CAPACITY,
                missing - spacing,
                "fits a qualified caregiver's day on its own, but their time, visit caps or load "
                "were taken by requests that came earlier (按受理顺序派单后无剩余工时)",
            )
        )
    return out


def plan_greedy(scenario: Scenario, *, travel: TravelProvider | None = None) -> Plan:
    """Plan the week greedily, by hand's rules (see the module docstring).

    ``travel`` defaults to the scenario's own provider (haversine). Returns a contract plan whose
    ``kpis`` are :func:`dispatch.kpis.plan_kpis` on the same travel times. Raises ``ValueError``
    for a travel mode without a speed or a provider the scenario cannot build.
    """
    scenario = resolve_travel(scenario)
    provider = travel if travel is not None else provider_for(scenario)
    places = [Place(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations]
    places += [Place(f"household:{h.id}", h.lat, h.lon) for h in scenario.households]
    loc: dict[str, int] = {}
    for i, p in enumerate(places):
        loc.setdefault(p.key, i)
    modes = sorted({c.mode for c in scenario.caregivers})
    matrices = {
        mode: np.asarray(provider.matrix(places, mode), dtype=np.int64).tolist() for mode in modes
    }
    week = _Week(scenario, matrices, loc)
    unassigned: list[Unassigned] = []
    for h, r in _linked_order(scenario):
        if r.visits_per_week < 1:
            continue
        hloc = loc[f"household:{h.id}"]
        node = _Node(r.id, h.id, hloc, r.minutes, tuple(sorted(r.windows)), r.load)
        candidates = sorted(
            (c for c in scenario.caregivers if qualified(c, h, r)),
            key=lambda c: matrices[c.mode][loc[f"station:{c.station}"]][hloc],
        )
        allowed_days = [d for d in scenario.days if r.days is None or d in r.days]
        chosen: list[str] = []
        for _ in range(r.visits_per_week):
            if r.after is not None:
                placed = _place_linked(week, node, candidates, allowed_days, chosen, r)
            elif r.staff <= 1:
                placed = _place_single(week, node, candidates, allowed_days, chosen, r)
            else:
                placed = _place_pair(week, node, candidates, allowed_days, chosen, r)
            if placed is None:
                break
            chosen.append(placed)
        missing = r.visits_per_week - len(chosen)
        if missing > 0:
            unassigned += _reasons(week, h, r, node, candidates, allowed_days, missing)
    plan = Plan(scenario=scenario.name, routes=_routes(week), unassigned=tuple(unassigned))
    kpis = plan_kpis(scenario, plan, travel=_travel_fn(matrices, loc))
    plan = Plan(plan.scenario, plan.routes, plan.unassigned, MappingProxyType(kpis))
    return plan if travel is not None else with_record(plan, scenario)


def _linked_order(scenario: Scenario) -> list[tuple[Household, ServiceRequest]]:
    """Requests in order of arrival, each linked one (``after``) moved to just after the request
    it follows when that one comes later; links in a circle keep their order at the end."""
    requests = list(scenario.requests())
    known = {r.id for _, r in requests}
    waiting: dict[str, list[tuple[Household, ServiceRequest]]] = {}
    out: list[tuple[Household, ServiceRequest]] = []
    done: set[str] = set()

    def emit(item: tuple[Household, ServiceRequest]) -> None:
        stack = [item]
        while stack:
            h, r = stack.pop()
            out.append((h, r))
            done.add(r.id)
            stack.extend(reversed(waiting.pop(r.id, [])))

    for h, r in requests:
        first = r.after.request if r.after is not None else None
        if first is None or first in done or first not in known:
            emit((h, r))
        else:
            waiting.setdefault(first, []).append((h, r))
    return out + [item for items in waiting.values() for item in items]


def _place_linked(
    week: _Week,
    node: _Node,
    candidates: Sequence[Caregiver],
    allowed_days: Sequence[str],
    chosen: Sequence[str],
    r: ServiceRequest,
) -> str | None:
    """A visit of linked request ``r`` on a day its first request is visited, starting within
    the delay after that visit, whose start is held from then on."""
    link = r.after
    assert link is not None
    visited = week.visits.get(link.request, {})
    for d in allowed_days:
        if d not in visited or not _day_fits(d, chosen, r):
            continue
        start, held = week.hold(link.request, d)
        lo, hi = start + link.min_minutes, start + link.max_minutes
        windows = tuple(
            (max(a, lo), min(b, hi)) for a, b in node.windows if max(a, lo) <= min(b, hi)
        )
        linked = _Node(node.request, node.household, node.loc, node.minutes, windows, node.load)
        if windows:
            place = _place_single if r.staff <= 1 else _place_pair
            if place(week, linked, candidates, [d], chosen, r) is not None:
                return d
        week.release(held)
    return None


def _place_single(
    week: _Week,
    node: _Node,
    candidates: Sequence[Caregiver],
    allowed_days: Sequence[str],
    chosen: Sequence[str],
    r: ServiceRequest,
) -> str | None:
    for c in candidates:
        for d in allowed_days:
            if (
                d in c.shifts
                and _day_fits(d, chosen, r)
                and week.place_single(week.route(c, d), node)
            ):
                return d
    return None


def _place_pair(
    week: _Week,
    node: _Node,
    candidates: Sequence[Caregiver],
    allowed_days: Sequence[str],
    chosen: Sequence[str],
    r: ServiceRequest,
) -> str | None:
    # Continuity of care for the pair: the two who made the request's other visits first.
    before = {cid for cids in week.visits.get(node.request, {}).values() for cid in cids}
    for d in allowed_days:
        if not _day_fits(d, chosen, r):
            continue
        team = [c for c in candidates if d in c.shifts][:_PAIR_CANDIDATES]
        pairs = [(a, b) for i, a in enumerate(team) for b in team[i + 1 :]]
        pairs.sort(key=lambda ab: -((ab[0].id in before) + (ab[1].id in before)))
        for a, b in pairs:
            if week.place_pair(week.route(a, d), week.route(b, d), node):
                return d
    return None


def _routes(week: _Week) -> tuple[Route, ...]:
    order = {c.id: i for i, c in enumerate(week.scenario.caregivers)}
    out: list[Route] = []
    for (cid, day), route in sorted(
        week.routes.items(), key=lambda kv: (DAYS.index(kv[0][1]), order[kv[0][0]])
    ):
        s = route.schedule
        if s is None or not route.nodes:
            continue
        stops = tuple(
            Stop(n.request, n.household, a, st, st + n.minutes)
            for n, a, st in zip(route.nodes, s.arrivals, s.starts, strict=True)
        )
        rest = None
        if route.rest is not None and s.rest_start is not None:
            rest = RouteBreak(s.rest_start, s.rest_start + route.rest[2])
        out.append(Route(cid, day, s.leave, s.back, stops, rest))
    return tuple(out)


def _travel_fn(
    matrices: Mapping[str, list[list[int]]], loc: Mapping[str, int]
) -> Callable[[str, str, str], int]:
    def minutes(a: str, b: str, mode: str) -> int:
        return matrices[mode][loc[a]][loc[b]]

    return minutes
