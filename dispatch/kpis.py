"""Key figures of a plan (指标), computed from the plan itself with the independent travel model.

Shared by the checker and by everything that writes plans, so that a plan's ``kpis`` mean the
same wherever it was made. Minutes are whole minutes; shares are in 0..1. A visit is one
occurrence of a request on one day, however many caregivers (stops) it takes.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from statistics import fmean

from dispatch.haversine import (
    EARTH_RADIUS_KM,
    TravelFn,
    household_key,
    scenario_travel,
    station_key,
)
from dispatch.model import (
    DEFAULT_SPEED_KMH,
    MODES,
    Caregiver,
    Household,
    Plan,
    Route,
    Scenario,
    ServiceRequest,
)

__all__ = [
    "CIRCLE_MINUTES",
    "KPI_NAMES",
    "VISIT_TAGS",
    "ScenarioIndex",
    "first_monday",
    "households_outside",
    "plan_kpis",
    "route_date",
    "route_leg_minutes",
    "route_week",
    "station_modes",
    "visit_weeks",
]

#: The "15-minute elderly-care circle" (15分钟养老服务圈): minutes from a station to a home.
CIRCLE_MINUTES = 15
#: Household tags of elders who must be visited regularly (独居 空巢 留守 失能).
VISIT_TAGS: frozenset[str] = frozenset({"living_alone", "empty_nest", "left_behind", "disabled"})

#: Every figure :func:`plan_kpis` returns, in the order it returns them.
KPI_NAMES: tuple[str, ...] = (
    "required_visits",
    "planned_visits",
    "travel_minutes",
    "service_minutes",
    "waiting_minutes",
    "working_minutes",
    "travel_share",
    "requests_fully_served",
    "routes",
    "caregivers_used",
    "utilisation_min",
    "utilisation_mean",
    "utilisation_max",
    "overtime_minutes",
    "distinct_caregivers_per_household",
    "distinct_caregivers_per_request",
    "visit_rate_tagged",
    "households_outside_15min",
)


@dataclass(frozen=True)
class ScenarioIndex:
    """Look-ups by id into a scenario (first occurrence wins when an id repeats)."""

    scenario: Scenario
    caregivers: Mapping[str, Caregiver]
    households: Mapping[str, Household]
    requests: Mapping[str, tuple[Household, ServiceRequest]]
    stations: frozenset[str]

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioIndex:
        """Index ``scenario``'s caregivers, households, requests and stations by id."""
        caregivers: dict[str, Caregiver] = {}
        for c in scenario.caregivers:
            caregivers.setdefault(c.id, c)
        households: dict[str, Household] = {}
        for h in scenario.households:
            households.setdefault(h.id, h)
        requests: dict[str, tuple[Household, ServiceRequest]] = {}
        for h, r in scenario.requests():
            requests.setdefault(r.id, (h, r))
        stations = frozenset(s.id for s in scenario.stations)
        return cls(scenario, caregivers, households, requests, stations)

    def stop_household(self, request_id: str, household_id: str) -> str | None:
        """Where a stop happens: its request's household, else its own if known, else None."""
        if request_id in self.requests:
            return self.requests[request_id][0].id
        return household_id if household_id in self.households else None


def route_leg_minutes(index: ScenarioIndex, route: Route, travel: TravelFn) -> list[int | None]:
    """Travel minutes of each leg of ``route``: station → stop 1 → … → stop n → station.

    Returns ``len(route.stops) + 1`` entries; an entry is ``None`` when the caregiver, their
    station or a stop's household is unknown to the scenario. Errors of ``travel`` propagate.
    """
    cg = index.caregivers.get(route.caregiver)
    home = station_key(cg.station) if cg is not None and cg.station in index.stations else None
    keys: list[str | None] = [home]
    for s in route.stops:
        hid = index.stop_household(s.request, s.household)
        keys.append(household_key(hid) if hid is not None else None)
    keys.append(home)
    legs: list[int | None] = []
    for a, b in pairwise(keys):
        if cg is None or a is None or b is None:
            legs.append(None)
        else:
            legs.append(travel(a, b, cg.mode))
    return legs


def route_date(route: Route) -> dt.date | None:
    """The route's ``date`` as a date, ``None`` when it has none or it is not an ISO date."""
    if route.date is None:
        return None
    try:
        return dt.date.fromisoformat(route.date)
    except ValueError:
        return None


def first_monday(scenario: Scenario, plan: Plan) -> dt.date | None:
    """The Monday of a plan's first week: the scenario's ``week_start``, else the Monday of
    the plan's earliest route date; ``None`` when neither is known (a one-week plan)."""
    if scenario.week_start is not None:
        try:
            return dt.date.fromisoformat(scenario.week_start)
        except ValueError:
            pass
    dates = [d for d in (route_date(r) for r in plan.routes) if d is not None]
    if not dates:
        return None
    first = min(dates)
    return first - dt.timedelta(days=first.weekday())


def route_week(route: Route, monday: dt.date | None) -> int | None:
    """Which of the plan's weeks (0 = the first) a route falls in: 0 for an undated route,
    ``None`` for a date that is not an ISO date."""
    date = route_date(route)
    if route.date is None:
        return 0
    if date is None or monday is None:
        return None
    return (date - monday).days // 7


def visit_weeks(
    index: ScenarioIndex, plan: Plan, monday: dt.date | None
) -> dict[str, dict[int, set[str]]]:
    """For each known request, week by week (:func:`route_week`), the days it is visited (a
    visit counts once per day)."""
    out: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for route in plan.routes:
        week = route_week(route, monday)
        if week is None:
            continue
        for s in route.stops:
            if s.request in index.requests:
                out[s.request][week].add(route.day)
    return out


def station_modes(scenario: Scenario) -> dict[str, str]:
    """Each station's travel mode: the most common mode of its caregivers.

    Ties go to the mode listed first in :data:`dispatch.model.MODES` (the slower one); a
    station without caregivers rides e-bikes, the usual way in town.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MODES, 0))
    for c in scenario.caregivers:
        if c.mode in MODES:
            counts[c.station][c.mode] += 1
    out: dict[str, str] = {}
    for s in scenario.stations:
        mine = counts.get(s.id)
        if mine is None or not any(mine.values()):
            out[s.id] = "ebike"
        else:
            out[s.id] = max(MODES, key=lambda m: (mine[m], -MODES.index(m)))
    return out


def households_outside(
    scenario: Scenario, *, travel: TravelFn | None = None, limit: int = CIRCLE_MINUTES
) -> list[str]:
    """Ids of households more than ``limit`` minutes from every station.

    The minutes from a station are by that station's mode (:func:`station_modes`), so a home
    next to a rural station that drives counts as inside. With no station every household is
    outside. ``travel`` defaults to the scenario's haversine model.
    """
    modes = station_modes(scenario)
    if travel is not None:
        out = []
        for h in scenario.households:
            there = household_key(h.id)
            if all(
                travel(station_key(s.id), there, modes[s.id]) > limit for s in scenario.stations
            ):
                out.append(h.id)
        return out
    return _outside_by_band(scenario, modes, limit)


def _outside_by_band(scenario: Scenario, modes: Mapping[str, str], limit: int) -> list[str]:
    """:func:`households_outside` with the scenario's haversine model, in time about linear in
    the households: a household only looks at the stations whose latitude alone leaves them
    within reach (the great-circle distance is never below ``R * |Δlatitude|``), then times
    those with the contract's formula. The same answer as looking at every station."""
    minutes = scenario_travel(scenario)
    speeds = dict(DEFAULT_SPEED_KMH)
    speeds.update(scenario.travel.speed_kmh)
    circuity = float(scenario.travel.circuity)
    # ceil(60 * circuity * km / speed) <= limit  <=>  km <= limit * speed / (60 * circuity);
    # a small margin keeps rounding on the safe side (the formula decides in the end).
    reach = {
        s.id: 1.001 * limit * speeds.get(modes[s.id], 0.0) / (60.0 * circuity) + 1e-6
        for s in scenario.stations
    }
    band = max(reach.values(), default=0.0) / EARTH_RADIUS_KM  # radians of latitude
    by_lat = sorted(scenario.stations, key=lambda s: (s.lat, s.id))
    lats = [math.radians(s.lat) for s in by_lat]
    out = []
    for h in scenario.households:
        there = household_key(h.id)
        phi = math.radians(h.lat)
        inside = False
        for k in range(bisect_left(lats, phi - band), bisect_right(lats, phi + band)):
            s = by_lat[k]
            if EARTH_RADIUS_KM * abs(lats[k] - phi) > reach[s.id]:
                continue
            if minutes(station_key(s.id), there, modes[s.id]) <= limit:
                inside = True
                break
        if not inside:
            out.append(h.id)
    return out


def plan_kpis(
    scenario: Scenario, plan: Plan, *, travel: TravelFn | None = None
) -> dict[str, float]:
    """The plan's key figures, named as in :data:`KPI_NAMES`.

    ``travel`` defaults to the scenario's haversine model
    (:func:`dispatch.haversine.scenario_travel`).
    ``service_minutes`` counts caregiver minutes (a two-person visit twice); ``routes`` and
    ``caregivers_used`` count routes with at least one stop; utilisation is working minutes over
    shift minutes on the scenario's days, per caregiver who has any; ``requests_fully_served`` is
    1.0 for a scenario without requests. ``distinct_caregivers_per_request`` is the mean number of
    caregivers over requests with a planned visit (0.0 when none has one);
    ``visit_rate_tagged`` the share of households tagged with one of :data:`VISIT_TAGS` that
    have a planned visit (1.0 when none is tagged); ``households_outside_15min`` the
    number of households outside the 15-minute circle (:func:`households_outside` with the
    scenario's default haversine model, whatever ``travel`` is). Legs
    touching unknown ids add no travel. Raises ``ValueError`` for a caregiver's unknown travel
    mode.

    A plan of several weeks (``plan.weeks``) is counted over all of them: its required visits
    are ``visits_per_week`` times the weeks, a request is fully served when every week has its
    visits, shift minutes and the weekly maximum (overtime) count per ISO week.
    """
    index = ScenarioIndex.of(scenario)
    weeks = max(1, plan.weeks)
    monday = first_monday(scenario, plan)
    minutes = travel if travel is not None else scenario_travel(scenario)

    travel_total = service = waiting = working = 0
    worked: dict[str, int] = defaultdict(int)
    worked_in_week: dict[tuple[str, int | None], int] = defaultdict(int)
    visitors: dict[str, set[str]] = defaultdict(set)
    request_visitors: dict[str, set[str]] = defaultdict(set)
    for route in plan.routes:
        travel_total += sum(m for m in route_leg_minutes(index, route, minutes) if m is not None)
        span = route.back - route.leave
        working += span
        worked[route.caregiver] += span
        worked_in_week[(route.caregiver, route_week(route, monday))] += span
        for s in route.stops:
            service += s.end - s.start
            waiting += max(0, s.start - s.arrival)
            hid = index.stop_household(s.request, s.household)
            if hid is not None:
                visitors[hid].add(route.caregiver)
            if s.request in index.requests:
                request_visitors[s.request].add(route.caregiver)

    by_week = visit_weeks(index, plan, monday)
    requests = scenario.requests()
    required = weeks * sum(r.visits_per_week for _, r in requests)
    planned = sum(len(d) for per_week in by_week.values() for d in per_week.values())
    full = sum(
        1
        for _, r in requests
        if all(len(by_week.get(r.id, {}).get(w, ())) >= r.visits_per_week for w in range(weeks))
    )

    utilisation: list[float] = []
    overtime = 0
    weeks_of: dict[str, list[int]] = defaultdict(list)
    for (cid, _w), m in worked_in_week.items():
        weeks_of[cid].append(m)
    for cg in index.caregivers.values():
        shift = weeks * sum(
            end - start for day, (start, end) in cg.shifts.items() if day in scenario.days
        )
        if shift > 0:
            utilisation.append(worked.get(cg.id, 0) / shift)
        if cg.max_minutes_per_week is not None:
            cap = cg.max_minutes_per_week
            overtime += sum(max(0, m - cap) for m in weeks_of.get(cg.id, ()))

    busy = [r for r in plan.routes if r.stops]
    tagged = [h.id for h in scenario.households if VISIT_TAGS.intersection(h.tags)]
    visited = {index.requests[rid][0].id for rid in by_week}
    return {
        "required_visits": float(required),
        "planned_visits": float(planned),
        "travel_minutes": float(travel_total),
        "service_minutes": float(service),
        "waiting_minutes": float(waiting),
        "working_minutes": float(working),
        "travel_share": travel_total / working if working > 0 else 0.0,
        "requests_fully_served": full / len(requests) if requests else 1.0,
        "routes": float(len(busy)),
        "caregivers_used": float(len({r.caregiver for r in busy})),
        "utilisation_min": min(utilisation, default=0.0),
        "utilisation_mean": fmean(utilisation) if utilisation else 0.0,
        "utilisation_max": max(utilisation, default=0.0),
        "overtime_minutes": float(overtime),
        "distinct_caregivers_per_household": (
            fmean(len(v) for v in visitors.values()) if visitors else 0.0
        ),
        "distinct_caregivers_per_request": (
            fmean(len(v) for v in request_visitors.values()) if request_visitors else 0.0
        ),
        "visit_rate_tagged": (
            sum(1 for h in tagged if h in visited) / len(tagged) if tagged else 1.0
        ),
        # A property of the map, not of the plan: always the contract's default model, which
        # covers every station-household pair whatever travel times the plan was made with.
        "households_outside_15min": float(len(households_outside(scenario))),
    }
