"""The daily router's domain side: compile one day of a scenario, solve, decode to routes.

The way through: :func:`route_day` picks the caregivers working on the day and the visits
asked for, builds one travel matrix per travel mode, compiles a
:class:`solver.problem.RoutingProblem` (integer minutes, indices), calls
:func:`solver.solve`, decodes the result into :class:`dispatch.model.Route` values and
explains every visit it could not place with a :class:`dispatch.reasons.Reason`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from dispatch.diagnose import diagnose_synced, eligible_caregivers
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
    rest_applies,
)
from dispatch.reasons import Reason
from dispatch.travel import Place, TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel, with_record
from solver import solve
from solver.problem import (
    BreakSpec,
    RoutingProblem,
    SolveParams,
    SolverResult,
    Sync,
    VehicleSpec,
    VisitSpec,
)

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
    """The caregiver's rest on ``day`` for the solver (:func:`dispatch.model.rest_applies`)."""
    rest = rest_applies(c, day)
    if rest is None:
        return None
    return BreakSpec(rest.window_start, rest.window_end, rest.minutes)


_Spec = tuple[Household, ServiceRequest, frozenset[int]]


class _Places:
    """The places of the day's matrices, each key once, in order of first use."""

    def __init__(self) -> None:
        self.places: list[Place] = []
        self.index: dict[str, int] = {}

    def add(self, key: str, lat: float, lon: float) -> int:
        if key not in self.index:
            self.index[key] = len(self.places)
            self.places.append(Place(key, lat, lon))
        return self.index[key]


def compile_day(
    scenario: Scenario,
    day: str,
    *,
    travel: TravelProvider,
    visits: Sequence[DayVisit],
    pins: Sequence[Pin] = (),
    minutes_used: Mapping[str, int] | None = None,
    optional: bool = True,
    fixed_starts: Mapping[str, int] | None = None,
) -> DayProblem:
    """Build the integer routing problem of ``day`` for ``visits``.

    A two-person request (``staff`` 2) becomes two solver visits at the same place and windows,
    linked by a :class:`solver.problem.Sync` (same start, distinct caregivers, both or none); a
    request with ``after`` is synced to its first request's visit when that one is routed too.

    ``minutes_used`` is the working time each caregiver already has this week (their weekly cap
    then bounds the day's route length). ``fixed_starts`` are the starts of visits routed
    elsewhere this day and not moved (a kept route): a visit linked to one of them (``after``,
    either way) keeps its delay through narrowed windows. Visits no caregiver could ever do
    (skill, gender,
    forbidden, no shift) are not sent to the solver; they come back in ``prefiltered`` with their
    reason. ``optional=False`` makes every visit mandatory (benchmarks whose instances demand it).
    Raises ``KeyError`` for ids that are not in the scenario.
    """
    working = tuple(c for c in scenario.caregivers if day in c.shifts)
    modes = tuple(sorted({c.mode for c in working})) or ("ebike",)
    requests: dict[str, tuple[Household, ServiceRequest]] = {
        r.id: (h, r) for h, r in scenario.requests()
    }
    places = _Places()
    station_loc = {s.id: places.add(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations}
    pinned, pinned_second = _pin_slots(pins, working, day)
    kept, kept_specs, prefiltered = _eligible_visits(
        scenario, day, visits, working, requests, pinned
    )
    fixed = dict(fixed_starts or {})
    followers = _followers(fixed, requests)
    kept, kept_specs, linked_out = _drop_unlinked(kept, kept_specs, day, fixed, followers)
    prefiltered.extend(linked_out)
    windows_of = {
        v.request: _linked_windows(r, fixed, followers)
        for v, (_h, r, _a) in zip(kept, kept_specs, strict=True)
    }
    hh_loc = {h.id: places.add(f"household:{h.id}", h.lat, h.lon) for h, _, _ in kept_specs}
    matrices = tuple(np.asarray(travel.matrix(places.places, m), dtype=np.int64) for m in modes)
    unit = 2 * max((int(m.max()) for m in matrices if m.size), default=0) + 1
    specs, nodes, syncs = _visit_specs(
        kept,
        kept_specs,
        hh_loc=hh_loc,
        windows_of=windows_of,
        slots=(pinned, pinned_second),
        everyone=len(working),
        unit=unit if optional else None,
    )
    vehicles = _vehicles(working, day, station_loc, modes, minutes_used or {})
    return DayProblem(
        day=day,
        problem=RoutingProblem(
            matrices=matrices, visits=tuple(specs), vehicles=vehicles, syncs=tuple(syncs)
        ),
        caregivers=working,
        visits=tuple(nodes),
        places=tuple(places.places),
        modes=modes,
        prefiltered=tuple(prefiltered),
    )


def _pin_slots(
    pins: Sequence[Pin], working: Sequence[Caregiver], day: str
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """(vehicle, rank) of every pinned request; a two-person visit pinned to two caregivers has
    its second pin in the second map (for its second node). Raises ``KeyError`` for a pin to a
    caregiver who does not work on ``day``."""
    pinned: dict[str, tuple[int, int]] = {}
    pinned_second: dict[str, tuple[int, int]] = {}
    vehicle_of = {c.id: v for v, c in enumerate(working)}
    for pin in pins:
        if pin.caregiver not in vehicle_of:
            raise KeyError(f"pin: caregiver {pin.caregiver!r} does not work on {day}")
        for rank, rid in enumerate(pin.requests):
            target = pinned_second if rid in pinned else pinned
            target[rid] = (vehicle_of[pin.caregiver], rank)
    return pinned, pinned_second


def _eligible_visits(
    scenario: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    working: Sequence[Caregiver],
    requests: Mapping[str, tuple[Household, ServiceRequest]],
    pinned: Mapping[str, tuple[int, int]],
) -> tuple[list[DayVisit], list[_Spec], list[tuple[DayVisit, Reason, str]]]:
    """The visits some working caregiver (or pair) may do, each with the vehicles allowed, and
    the others with their reason. Raises ``KeyError`` for unknown ids."""
    households = {h.id for h in scenario.households}
    kept: list[DayVisit] = []
    kept_specs: list[_Spec] = []
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
        elif r.staff >= 2 and len(allowed) < r.staff:
            only = ", ".join(working[v].id for v in sorted(allowed))
            prefiltered.append(
                (
                    visit,
                    Reason.NO_STAFF_PAIR,
                    f"needs {r.staff} caregivers with skill {r.required_skill}, only {only} "
                    f"may do it on {day} (双人服务缺少第二名护理员)",
                )
            )
            continue
        kept.append(visit)
        kept_specs.append((h, r, frozenset(allowed)))
    return kept, kept_specs, prefiltered


def _visit_specs(
    kept: Sequence[DayVisit],
    kept_specs: Sequence[_Spec],
    *,
    hh_loc: Mapping[str, int],
    windows_of: Mapping[str, tuple[tuple[int, int], ...]],
    slots: tuple[Mapping[str, tuple[int, int]], Mapping[str, tuple[int, int]]],
    everyone: int,
    unit: int | None,
) -> tuple[list[VisitSpec], list[DayVisit], list[Sync]]:
    """The solver visits (one node per caregiver a visit needs), the day visit of each node,
    and the syncs: same start for the nodes of a two-person visit, the delay of a linked one.
    ``unit`` prices a dropped visit (:func:`priority_penalty`); ``None`` makes all mandatory."""
    specs: list[VisitSpec] = []
    nodes: list[DayVisit] = []
    first_node: dict[str, int] = {}
    syncs: list[Sync] = []
    for v, (h, r, allowed) in zip(kept, kept_specs, strict=True):
        first_node[v.request] = len(specs)
        for k in range(max(1, r.staff)):
            spot = slots[0 if k == 0 else 1].get(v.request)
            if k:
                syncs.append(Sync(first_node[v.request], len(specs)))
            nodes.append(v)
            specs.append(
                VisitSpec(
                    location=hh_loc[h.id],
                    duration=r.minutes,
                    windows=windows_of[v.request],
                    allowed_vehicles=allowed if len(allowed) < everyone else None,
                    penalty=None
                    if (unit is None or spot is not None)
                    else priority_penalty(r.priority, unit),
                    demand=r.load,
                    pinned_vehicle=spot[0] if spot is not None else None,
                    pinned_rank=spot[1] if spot is not None else None,
                )
            )
    for v, (_h, r, _allowed) in zip(kept, kept_specs, strict=True):
        if r.after is None or r.after.request not in first_node:
            continue  # no link, or to a fixed visit: kept by the narrowed windows
        for k in range(max(1, r.staff)):
            syncs.append(
                Sync(
                    first_node[r.after.request],
                    first_node[v.request] + k,
                    r.after.min_minutes,
                    r.after.max_minutes,
                    distinct=False,
                    both=False,
                )
            )
    return specs, nodes, syncs


def _vehicles(
    working: Sequence[Caregiver],
    day: str,
    station_loc: Mapping[str, int],
    modes: Sequence[str],
    used: Mapping[str, int],
) -> tuple[VehicleSpec, ...]:
    """One vehicle per working caregiver: shift, travel profile, caps, the weekly minutes left
    as the longest route, and the rest when it applies on ``day``."""
    return tuple(
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
    served = {i: sr.starts[k] for sr in result.routes for k, i in enumerate(sr.visits)}
    reported: set[DayVisit] = set()
    for node in result.dropped:
        v = compiled.visits[node]
        if v in reported:  # the other caregiver's node of a two-person visit
            continue
        reported.add(v)
        reason, detail = diagnose_synced(
            compiled.problem, node, served=served, solved=result.feasible
        )
        unassigned.append(Unassigned(v.request, v.household, 1, reason.value, detail))
    return tuple(routes), tuple(unassigned)


def _followers(
    fixed: Mapping[str, int], requests: Mapping[str, tuple[Household, ServiceRequest]]
) -> dict[str, list[tuple[int, int]]]:
    """For each request that a visit with a ``fixed`` start follows (``after``), the starts
    that keep those delays."""
    out: dict[str, list[tuple[int, int]]] = {}
    for rid, start in fixed.items():
        link = requests[rid][1].after if rid in requests else None
        if link is not None:
            bound = (start - link.max_minutes, start - link.min_minutes)
            out.setdefault(link.request, []).append(bound)
    return out


def _linked_windows(
    r: ServiceRequest, fixed: Mapping[str, int], followers: Mapping[str, list[tuple[int, int]]]
) -> tuple[tuple[int, int], ...]:
    """``r``'s start windows, narrowed by its links to visits with ``fixed`` starts: after its
    first visit, or before the visits that follow it (``followers``, see :func:`_followers`);
    empty when no start keeps the delays."""
    bounds = [(lo, hi) for lo, hi in sorted(r.windows)]
    limits = list(followers.get(r.id, ()))
    if r.after is not None and r.after.request in fixed:
        start = fixed[r.after.request]
        limits.append((start + r.after.min_minutes, start + r.after.max_minutes))
    for lo_l, hi_l in limits:
        bounds = [(max(lo, lo_l), min(hi, hi_l)) for lo, hi in bounds]
        bounds = [(lo, hi) for lo, hi in bounds if lo <= hi]
    return tuple(bounds)


def _drop_unlinked(
    kept: list[DayVisit],
    specs: list[tuple[Household, ServiceRequest, frozenset[int]]],
    day: str,
    fixed: Mapping[str, int],
    followers: Mapping[str, list[tuple[int, int]]],
) -> tuple[
    list[DayVisit],
    list[tuple[Household, ServiceRequest, frozenset[int]]],
    list[tuple[DayVisit, Reason, str]],
]:
    """Leave out linked visits (``after``) whose first visit is neither routed this day nor
    ``fixed``, repeatedly (a chain breaks from its first missing link), and visits whose links to
    ``fixed`` visits leave no start."""
    out: list[tuple[DayVisit, Reason, str]] = []
    while True:
        present = {v.request for v in kept} | set(fixed)
        bad: list[tuple[int, str]] = []
        for i, (_h, r, _a) in enumerate(specs):
            link = r.after
            if link is not None and link.request not in present:
                bad.append(
                    (
                        i,
                        f"follows request {link.request}, which is not routed on {day} "
                        "(关联的前序服务当天未安排)",
                    )
                )
            elif fixed and not _linked_windows(r, fixed, followers):
                bad.append(
                    (
                        i,
                        f"no start in its windows keeps its delay to the visits kept on {day} "
                        "(与已排关联服务的间隔无法满足)",
                    )
                )
        if not bad:
            return kept, specs, out
        out += [(kept[i], Reason.LINKED_VISIT, detail) for i, detail in bad]
        drop = {i for i, _ in bad}
        kept = [v for i, v in enumerate(kept) if i not in drop]
        specs = [s for i, s in enumerate(specs) if i not in drop]


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
    scenario = resolve_travel(scenario)
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
    plan = replace(plan, kpis=MappingProxyType(kpis))
    return plan if travel is not None else with_record(plan, scenario)


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
