"""The daily router's domain side: compile one day of a scenario, solve, decode to routes.

The way through: :func:`route_day` picks the caregivers working on the day and the visits
asked for, builds one travel matrix per travel mode, compiles a
:class:`solver.problem.RoutingProblem` (integer minutes, indices), calls
:func:`solver.routing.solve`, decodes the result into :class:`dispatch.model.Route` values and
explains every visit it could not place with a :class:`dispatch.reasons.Reason`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from dispatch.diagnose import diagnose_visit, eligible_caregivers
from dispatch.kpis import plan_kpis
from dispatch.model import (
    Caregiver,
    Household,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Stop,
    Unassigned,
)
from dispatch.reasons import Reason
from dispatch.travel import Place, TravelProvider, provider_for
from solver.problem import (
    BreakSpec,
    RoutingProblem,
    SolveParams,
    SolverResult,
    VehicleSpec,
    VisitSpec,
)
from solver.routing import solve

__all__ = [
    "DayProblem",
    "DayVisit",
    "Pin",
    "compile_day",
    "day_visits",
    "decode_day",
    "priority_penalty",
    "route_day",
]


@dataclass(frozen=True)
class DayVisit:
    """One visit of a request on the day being routed."""

    request: str
    household: str


@dataclass(frozen=True)
class Pin:
    """Visits fixed to a caregiver in this order (re-planning keeps started or promised work)."""

    caregiver: str
    requests: tuple[str, ...]


@dataclass(frozen=True)
class DayProblem:
    """A compiled day: the solver problem plus the maps back to domain ids."""

    day: str
    problem: RoutingProblem
    caregivers: tuple[Caregiver, ...]
    visits: tuple[DayVisit, ...]
    places: tuple[Place, ...]
    modes: tuple[str, ...]
    prefiltered: tuple[tuple[DayVisit, Reason, str], ...]


def day_visits(scenario: Scenario, day: str) -> list[DayVisit]:
    """One visit for every request that may be served on ``day`` (its ``days`` allow it)."""
    return [
        DayVisit(r.id, h.id)
        for h, r in scenario.requests()
        if r.visits_per_week >= 1 and (r.days is None or day in r.days)
    ]


def priority_penalty(priority: int, unit: int) -> int:
    """Cost of leaving a visit of ``priority`` (1–100) unplanned.

    ``unit`` exceeds the most travel one visit can add to a route, so serving a visit always pays
    and, under overload, one visit of higher priority outweighs any travel saving; the constant
    part keeps low priorities worth far more than any detour.
    """
    return unit * (100 + priority)


def _rest_for(c: Caregiver, day: str) -> BreakSpec | None:
    shift = c.shifts.get(day)
    if c.rest is None or shift is None:
        return None
    # The contract requires the break on days whose shift covers the whole break window.
    if shift[0] <= c.rest.window_start and c.rest.window_end <= shift[1]:
        return BreakSpec(c.rest.window_start, c.rest.window_end, c.rest.minutes)
    return None


def compile_day(
    scenario: Scenario,
    day: str,
    *,
    travel: TravelProvider,
    visits: Sequence[DayVisit],
    pins: Sequence[Pin] = (),
    minutes_used: Mapping[str, int] | None = None,
    optional: bool = True,
) -> DayProblem:
    """Build the integer routing problem of ``day`` for ``visits``.

    ``minutes_used`` is the working time each caregiver already has this week (their weekly cap
    then bounds the day's route length). Visits no caregiver could ever do (skill, gender,
    forbidden, no shift) are not sent to the solver; they come back in ``prefiltered`` with their
    reason. ``optional=False`` makes every visit mandatory (benchmarks whose instances demand it).
    Raises ``KeyError`` for ids that are not in the scenario.
    """
    used = minutes_used or {}
    working = tuple(c for c in scenario.caregivers if day in c.shifts)
    modes = tuple(sorted({c.mode for c in working})) or ("ebike",)
    households = {h.id: h for h in scenario.households}
    requests: dict[str, tuple[Household, ServiceRequest]] = {
        r.id: (h, r) for h, r in scenario.requests()
    }

    places: list[Place] = []
    place_index: dict[str, int] = {}

    def place(key: str, lat: float, lon: float) -> int:
        if key not in place_index:
            place_index[key] = len(places)
            places.append(Place(key, lat, lon))
        return place_index[key]

    station_loc = {s.id: place(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations}

    pinned: dict[str, tuple[int, int]] = {}
    vehicle_of = {c.id: v for v, c in enumerate(working)}
    for pin in pins:
        if pin.caregiver not in vehicle_of:
            raise KeyError(f"pin: caregiver {pin.caregiver!r} does not work on {day}")
        for rank, rid in enumerate(pin.requests):
            pinned[rid] = (vehicle_of[pin.caregiver], rank)

    kept: list[DayVisit] = []
    kept_specs: list[tuple[Household, ServiceRequest, frozenset[int]]] = []
    prefiltered: list[tuple[DayVisit, Reason, str]] = []
    for visit in visits:
        h, r = requests[visit.request]
        if h.id != visit.household or h.id not in households:
            raise KeyError(
                f"visit of request {visit.request!r} names household {visit.household!r}"
            )
        allowed, reason, detail = eligible_caregivers(scenario, h, r, working, day=day)
        if visit.request in pinned:
            # A dispatcher's pin overrides eligibility: the visit is promised to that caregiver.
            allowed = frozenset({pinned[visit.request][0]})
        elif not allowed:
            assert reason is not None
            prefiltered.append((visit, reason, detail))
            continue
        kept.append(visit)
        kept_specs.append((h, r, frozenset(allowed)))

    hh_loc = {h.id: place(f"household:{h.id}", h.lat, h.lon) for h, _, _ in kept_specs}
    matrices = tuple(np.asarray(travel.matrix(places, m), dtype=np.int64) for m in modes)
    unit = 2 * max((int(m.max()) for m in matrices if m.size), default=0) + 1

    specs = tuple(
        VisitSpec(
            location=hh_loc[h.id],
            duration=r.minutes,
            windows=tuple(sorted(r.windows)),
            allowed_vehicles=allowed if len(allowed) < len(working) else None,
            penalty=None
            if (not optional or v.request in pinned)
            else priority_penalty(r.priority, unit),
            demand=r.load,
            pinned_vehicle=pinned[v.request][0] if v.request in pinned else None,
            pinned_rank=pinned[v.request][1] if v.request in pinned else None,
        )
        for v, (h, r, allowed) in zip(kept, kept_specs, strict=True)
    )
    vehicles = tuple(
        VehicleSpec(
            start_location=station_loc[c.station],
            end_location=station_loc[c.station],
            shift_start=c.shifts[day][0],
            shift_end=c.shifts[day][1],
            profile=modes.index(c.mode),
            capacity=c.capacity,
            max_visits=c.max_visits_per_day,
            max_duration=None
            if c.max_minutes_per_week is None
            else max(0, c.max_minutes_per_week - used.get(c.id, 0)),
            rest=_rest_for(c, day),
        )
        for c in working
    )
    return DayProblem(
        day=day,
        problem=RoutingProblem(matrices=matrices, visits=specs, vehicles=vehicles),
        caregivers=working,
        visits=tuple(kept),
        places=tuple(places),
        modes=modes,
        prefiltered=tuple(prefiltered),
    )


def decode_day(
    scenario: Scenario, compiled: DayProblem, result: SolverResult
) -> tuple[tuple[Route, ...], tuple[Unassigned, ...]]:
    """Routes and unassigned visits of a solved day, in domain ids and minutes."""
    requests = {r.id: r for _, r in scenario.requests()}
    routes: list[Route] = []
    for sr in result.routes:
        c = compiled.caregivers[sr.vehicle]
        stops = []
        for node, arrival, start in zip(sr.visits, sr.arrivals, sr.starts, strict=True):
            v = compiled.visits[node]
            stops.append(
                Stop(v.request, v.household, arrival, start, start + requests[v.request].minutes)
            )
        rest = None
        if sr.rest_start is not None and c.rest is not None:
            rest = RouteBreak(sr.rest_start, sr.rest_start + c.rest.minutes)
        routes.append(Route(c.id, compiled.day, sr.leave, sr.back, tuple(stops), rest))
    routes.sort(key=lambda r: r.caregiver)

    unassigned = [
        Unassigned(v.request, v.household, 1, reason.value, detail)
        for v, reason, detail in compiled.prefiltered
    ]
    for node in result.dropped:
        v = compiled.visits[node]
        reason, detail = diagnose_visit(compiled.problem, node, solved=result.feasible)
        unassigned.append(Unassigned(v.request, v.household, 1, reason.value, detail))
    return tuple(routes), tuple(unassigned)


def route_day(
    scenario: Scenario,
    day: str,
    *,
    travel: TravelProvider | None = None,
    params: SolveParams | None = None,
    visits: Sequence[DayVisit] | None = None,
    pins: Sequence[Pin] = (),
    minutes_used: Mapping[str, int] | None = None,
    optional: bool = True,
) -> Plan:
    """Route one day: every visit in ``visits`` (default :func:`day_visits`) that fits.

    Returns a contract plan for that day whose ``unassigned`` lists each visit that could not be
    placed with its reason. ``travel`` defaults to the scenario's own provider (haversine).
    Raises ``ValueError`` for a day the scenario does not plan.
    """
    if day not in scenario.days:
        raise ValueError(f"day: {day!r} is not one of the scenario's days {list(scenario.days)}")
    provider = travel if travel is not None else provider_for(scenario)
    todo = list(visits) if visits is not None else day_visits(scenario, day)
    compiled = compile_day(
        scenario,
        day,
        travel=provider,
        visits=todo,
        pins=pins,
        minutes_used=minutes_used,
        optional=optional,
    )
    result = solve(compiled.problem, params or SolveParams())
    routes, unassigned = decode_day(scenario, compiled, result)
    plan = Plan(scenario=scenario.name, routes=routes, unassigned=unassigned)
    kpis = _day_kpis(scenario, compiled, plan, len(todo))
    kpis["solver_seconds"] = round(float(result.stats.get("seconds", 0.0)), 3)
    return replace(plan, kpis=MappingProxyType(kpis))


def _day_kpis(
    scenario: Scenario, compiled: DayProblem, plan: Plan, required: int
) -> dict[str, float]:
    """The plan KPIs of :mod:`dispatch.kpis` on the matrices the day was solved with.

    The day's own ``required_visits`` (the visits asked for) replace the week's.
    """
    index = {p.key: i for i, p in enumerate(compiled.places)}
    matrices = dict(zip(compiled.modes, compiled.problem.matrices, strict=True))

    def minutes(a: str, b: str, mode: str) -> int:
        return int(matrices[mode][index[a], index[b]])

    kpis = plan_kpis(scenario, plan, travel=minutes)
    planned = kpis["planned_visits"]
    kpis["required_visits"] = required
    kpis["requests_fully_served"] = planned / required if required else 1.0
    return kpis
