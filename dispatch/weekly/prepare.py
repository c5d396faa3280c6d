"""Preparing a weekly plan (steps 1 and 2): each request's candidate day patterns and first
caregiver, what cannot be served at all, and the greedy week the planning starts from, split
into station groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import combinations, pairwise

from dispatch.diagnose import eligible_caregivers, qualified
from dispatch.model import (
    DAYS,
    Caregiver,
    Household,
    Plan,
    Scenario,
    ServiceRequest,
    Unassigned,
)
from dispatch.reasons import Reason
from dispatch.travel import haversine_km
from dispatch.weekly.state import Task, WeekState

__all__ = [
    "candidate_patterns",
    "capacity_minutes",
    "pairs_missing",
    "prepare_tasks",
    "seed_from",
    "station_scenario",
    "unassigned_request",
]


def _spaced(days: Sequence[str], gap: int) -> bool:
    idx = [DAYS.index(d) for d in days]
    return all(b - a >= gap for a, b in pairwise(idx))


def candidate_patterns(
    request: ServiceRequest, days: Sequence[str], *, visits: int | None = None
) -> tuple[tuple[str, ...], ...]:
    """Day sets on which the request's visits may fall, each in week order.

    ``days`` are the days that may be used (the scenario's, possibly narrowed to days someone
    qualified works). With fixed ``patterns`` those lying inside ``days`` are returned (a partial
    pattern is never invented); otherwise every set of ``visits`` (default ``visits_per_week``)
    days allowed by the request and spaced by ``min_gap_days``.
    """
    k = request.visits_per_week if visits is None else visits
    usable = [d for d in DAYS if d in days and (request.days is None or d in request.days)]
    if request.patterns is not None:
        return tuple(
            tuple(d for d in DAYS if d in p)
            for p in request.patterns
            if len(p) == k and all(d in usable for d in p)
        )
    if k <= 0:
        return ((),)
    return tuple(c for c in combinations(usable, k) if _spaced(c, request.min_gap_days))


def prepare_tasks(
    scenario: Scenario,
    unassigned: list[Unassigned],
    pairs: list[tuple[Household, ServiceRequest]],
) -> list[Task]:
    """Tasks of every servable request; what cannot be served at all goes to ``unassigned``,
    two-person requests (kept as the greedy week plans them) to ``pairs``."""
    stations = {s.id: s for s in scenario.stations}
    tasks: list[Task] = []
    assigned_minutes: dict[str, float] = defaultdict(float)
    for h in scenario.households:
        by_station = sorted(
            stations.values(), key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon)
        )
        rank = {s.id: i for i, s in enumerate(by_station)}
        primary: str | None = None
        for r in sorted(h.requests, key=lambda q: -q.visits_per_week * q.minutes):
            if r.visits_per_week < 1:
                continue
            able = [c for c in scenario.caregivers if qualified(c, h, r)]
            if not able:
                _, reason, detail = eligible_caregivers(scenario, h, r, (), day=scenario.days[0])
                unassigned.append(
                    unassigned_request(
                        h, r, r.visits_per_week, reason or Reason.NO_QUALIFIED_CAREGIVER, detail
                    )
                )
                continue
            if r.staff > 1:
                pairs.append((h, r))
                continue
            work_days = [d for d in scenario.days if any(d in c.shifts for c in able)]
            patterns = candidate_patterns(r, work_days)
            k = r.visits_per_week
            while not patterns and k > 1:
                k -= 1
                patterns = candidate_patterns(r, work_days, visits=k)
            if not patterns:
                allowed = [d for d in scenario.days if r.days is None or d in r.days]
                unassigned.append(
                    unassigned_request(
                        h,
                        r,
                        r.visits_per_week,
                        Reason.NO_SHIFT_ON_ALLOWED_DAYS,
                        f"{len(able)} qualified caregiver(s) but none works on "
                        f"{', '.join(allowed) or 'the allowed days'}; a shift on one of them "
                        "would fit",
                    )
                )
                continue
            if k < r.visits_per_week:
                unassigned.append(_spacing_shortfall(h, r, k, work_days))
            if primary is None or primary not in {c.id for c in able}:
                primary = _pick_primary(h, r, able, rank, assigned_minutes)
            assigned_minutes[primary] += k * r.minutes
            station = scenario.caregiver(primary).station
            tasks.append(Task(h, r, patterns, primary, station))
    return tasks


def _spacing_shortfall(
    h: Household, r: ServiceRequest, k: int, work_days: Sequence[str]
) -> Unassigned:
    days = [d for d in work_days if r.days is None or d in r.days]
    what = (
        "none of its fixed patterns fits the days worked"
        if r.patterns is not None
        else f"{r.visits_per_week} visits at least {r.min_gap_days} day(s) apart do not fit "
        f"into {', '.join(days)}"
    )
    return unassigned_request(
        h,
        r,
        r.visits_per_week - k,
        Reason.FREQUENCY_SPACING,
        f"{what}; at most {k} visit(s) can be planned — allow more days or a smaller gap "
        "(放宽服务日或间隔)",
    )


def unassigned_request(
    h: Household, r: ServiceRequest, missing: int, reason: Reason, detail: str
) -> Unassigned:
    return Unassigned(r.id, h.id, missing, reason.value, detail)


def capacity_minutes(c: Caregiver, days: Sequence[str]) -> float:
    shift = sum(c.shifts[d][1] - c.shifts[d][0] for d in days if d in c.shifts)
    if c.max_minutes_per_week is not None:
        shift = min(shift, c.max_minutes_per_week)
    return max(1.0, float(shift))


def _pick_primary(
    h: Household,
    r: ServiceRequest,
    able: Sequence[Caregiver],
    rank: Mapping[str, int],
    assigned: Mapping[str, float],
) -> str:
    """The preferred caregiver if qualified and not full, else the nearest station's least
    loaded qualified caregiver (load relative to the caregiver's weekly time)."""

    def fill(c: Caregiver) -> float:
        return (assigned.get(c.id, 0.0) + r.minutes * r.visits_per_week) / capacity_minutes(
            c, tuple(c.shifts)
        )

    preferred = [c for c in able if c.id in h.preferred_caregivers and fill(c) <= 0.8]
    if preferred:
        return min(preferred, key=fill).id
    best = min(able, key=lambda c: (rank.get(c.station, 99), fill(c) > 0.8, fill(c), c.id))
    return best.id


def station_scenario(
    scenario: Scenario, stations: frozenset[str], group: Sequence[Task]
) -> Scenario:
    """The part of ``scenario`` some stations plan: their caregivers and the requests they
    serve."""
    requests: dict[str, list[ServiceRequest]] = defaultdict(list)
    homes: dict[str, Household] = {}
    for t in group:
        requests[t.household.id].append(t.request)
        homes[t.household.id] = t.household
    return replace(
        scenario,
        caregivers=tuple(c for c in scenario.caregivers if c.station in stations),
        households=tuple(replace(h, requests=tuple(requests[h.id])) for h in homes.values()),
    )


def pairs_missing(
    start: Plan, pairs: Sequence[tuple[Household, ServiceRequest]]
) -> list[Unassigned]:
    """Two-person visits keep the days, caregivers and starts the greedy week gave them (the
    rest of their routes is searched again around them); what it could not place is reported
    with its reason."""
    days: dict[str, set[str]] = defaultdict(set)
    for route in start.routes:
        for stop in route.stops:
            days[stop.request].add(route.day)
    why = {u.request: (u.reason, u.detail) for u in start.unassigned}
    missing = []
    for h, r in pairs:
        short = r.visits_per_week - len(days.get(r.id, ()))
        if short > 0:
            reason, detail = why.get(
                r.id,
                (
                    Reason.CAPACITY.value,
                    "no two qualified caregivers were free together; assign it by hand "
                    "(双人服务需人工安排)",
                ),
            )
            missing.append(Unassigned(r.id, h.id, short, reason, detail))
    return missing


def seed_from(
    scenario: Scenario, start: Plan, tasks: Sequence[Task], week: WeekState
) -> dict[str, frozenset[str]]:
    """Take the greedy plan's days and routes; group stations whose caregivers share requests
    (they must be routed together). Returns the groups by key; sets ``task.station`` to its
    group's key."""
    station_of = {c.id: c.station for c in scenario.caregivers}
    parent = {s.id: s.id for s in scenario.stations}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    served_by: dict[str, set[str]] = defaultdict(set)
    days_of: dict[str, set[str]] = defaultdict(set)
    for route in start.routes:
        for stop in route.stops:
            served_by[stop.request].add(station_of[route.caregiver])
            days_of[stop.request].add(route.day)
    for t in tasks:
        stations = served_by.get(t.request.id) or {t.station}
        first, *rest = sorted(stations)
        for other in rest:
            parent[find(other)] = find(first)
    for stations in served_by.values():
        first, *rest = sorted(stations)
        for other in rest:
            parent[find(other)] = find(first)
    members: dict[str, set[str]] = defaultdict(set)
    for sid in parent:
        members[find(sid)].add(sid)
    keys = {root: "+".join(sorted(ms)) for root, ms in members.items()}
    for t in tasks:
        stations = served_by.get(t.request.id) or {t.station}
        t.station = keys[find(min(stations))]
        t.days = tuple(d for d in DAYS if d in days_of.get(t.request.id, ()))
    by_request = {t.request.id: t for t in tasks}
    for route in start.routes:
        key = keys[find(station_of[route.caregiver])]
        week.routes[(key, route.day)] = (*week.routes.get((key, route.day), ()), route)
        if any(s.request not in by_request for s in route.stops):
            # A two-person visit: it keeps its caregivers and start (dispatch.weekly.day), and the
            # requests of the route keep their days.
            week.locked.add((route.caregiver, route.day))
            for s in route.stops:
                if s.request in by_request:
                    by_request[s.request].pinned = True
    for u in start.unassigned:
        week.fallback.setdefault(u.request, (Reason(u.reason), u.detail))
    return {keys[root]: frozenset(ms) for root, ms in members.items()}
