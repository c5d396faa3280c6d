"""Handing whole routes to the caregivers who make their requests' other visits (step 6 of a
weekly plan): continuity of care (服务连续性) at no cost in travel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ortools.graph.python.linear_sum_assignment import SimpleLinearSumAssignment

from dispatch.daily import DayProblem, DayVisit, compile_day, decode_day
from dispatch.model import Route
from dispatch.weekly.solving import linked_visits, route_times
from dispatch.weekly.state import Group
from solver.problem import SolvedRoute, SolverResult

__all__ = ["relabel_day", "relabel_group"]


def relabel_group(g: Group, *, passes: int = 6) -> None:
    """Continuity of care (服务连续性) at no cost in travel: hand each day's routes, whole, to
    the caregivers who visit their requests on other days.

    A route may go to another caregiver of the same station and travel mode (so its travel is
    unchanged) who is qualified for all of its stops and whose shift, rest and weekly minutes
    hold it; each day is one assignment of routes to caregivers maximising the visits their
    caregivers also make on the other days (a household's preferred caregiver counts too).
    """
    days = [d for d in g.sub.days if g.routes(d)]
    for _ in range(passes):
        changed = False
        for day in days:
            changed |= relabel_day(g, day)
        if not changed:
            return


def relabel_day(g: Group, day: str) -> bool:
    """One day of :func:`relabel_group`; returns whether any route changed hands."""
    routes = g.routes(day)
    locked = g.locked_on(day)
    movable = [r for r in routes if r.stops and r.caregiver not in locked]
    if len(movable) < 1:
        return False
    visits = [DayVisit(s.request, s.household) for r in movable for s in r.stops]
    free = replace(g.sub, caregivers=tuple(c for c in g.sub.caregivers if c.id not in locked))
    compiled = compile_day(
        free, day, travel=g.provider, visits=visits, minutes_used=g.minutes_used(day)
    )
    if compiled.prefiltered:
        return False
    node = {v.request: i for i, v in enumerate(compiled.visits)}
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    if len(node) != len(visits) or any(r.caregiver not in vehicle for r in movable):
        return False
    linked = linked_visits(compiled.problem)
    kept_starts = [
        {node[s.request]: s.start for s in r.stops if node[s.request] in linked} for r in movable
    ]
    arcs = _handover_arcs(g, day, compiled, movable, node, kept_starts)
    mates = _best_assignment(arcs, len(movable), len(compiled.caregivers))
    if mates is None:
        return False
    now = sum(arcs[(i, vehicle[r.caregiver])] for i, r in enumerate(movable))
    if sum(arcs[(i, k)] for i, k in mates.items()) <= now:
        return False
    solved: list[SolvedRoute] = []
    moved: set[int] = set()
    for i, route in enumerate(movable):
        k = mates[i]
        if k == vehicle[route.caregiver]:
            continue
        moved.add(i)
        order = tuple(node[s.request] for s in route.stops)
        times = route_times(compiled.problem, k, order, fixed=kept_starts[i])
        solved.append(
            SolvedRoute(
                k, order, times.arrivals, times.starts, times.leave, times.back, times.rest_start
            )
        )
    result = SolverResult(routes=tuple(solved), dropped=(), travel=0, objective=0, feasible=True)
    relabelled, _ = decode_day(free, compiled, result)
    gone = {movable[i].caregiver for i in moved}
    kept = [r for r in routes if r.caregiver not in gone]
    g.week.routes[(g.key, day)] = tuple(sorted((*kept, *relabelled), key=lambda r: r.caregiver))
    return True


def _handover_arcs(
    g: Group,
    day: str,
    compiled: DayProblem,
    movable: Sequence[Route],
    node: Mapping[str, int],
    kept_starts: Sequence[Mapping[int, int]],
) -> dict[tuple[int, int], int]:
    """(route, vehicle) -> what handing route ``i`` to vehicle ``k`` is worth: twice the visits
    of its requests that caregiver makes on the other days, plus one per stop whose household
    prefers them; only for caregivers of the same station and travel mode who may serve every
    stop and whose day holds the route (its linked visits at their starts)."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for (key, d), others in g.week.routes.items():
        if key != g.key or d == day:
            continue
        for r in others:
            for s in r.stops:
                seen[(s.request, r.caregiver)] += 1
    preferred = {h.id: h.preferred_caregivers for h in g.sub.households}
    specs = compiled.problem.visits

    def worth(route: Route, c: str) -> int:
        return sum(
            2 * seen.get((s.request, c), 0) + (c in preferred.get(s.household, ()))
            for s in route.stops
        )

    arcs: dict[tuple[int, int], int] = {}
    for i, route in enumerate(movable):
        own = g.sub.caregiver(route.caregiver)
        seq = [node[s.request] for s in route.stops]
        for k, c in enumerate(compiled.caregivers):
            if c.id != own.id:
                if c.station != own.station or c.mode != own.mode:
                    continue
                if any(
                    specs[j].allowed_vehicles is not None
                    and k not in (specs[j].allowed_vehicles or ())
                    for j in seq
                ):
                    continue
                spec = compiled.problem.vehicles[k]
                if spec.max_visits is not None and len(seq) > spec.max_visits:
                    continue
                if spec.capacity is not None and spec.capacity < sum(specs[j].demand for j in seq):
                    continue
                if not route_times(compiled.problem, k, seq, fixed=kept_starts[i]).feasible:
                    continue
            arcs[(i, k)] = worth(route, c.id)
    return arcs


def _best_assignment(
    arcs: Mapping[tuple[int, int], int], routes: int, vehicles: int
) -> dict[int, int] | None:
    """The assignment of the ``routes`` to vehicles of most worth (``arcs``); rows beyond the
    routes stand for no route. ``None`` when none exists."""
    top = max(arcs.values(), default=0)
    assignment = SimpleLinearSumAssignment()
    for (i, k), value in arcs.items():
        assignment.add_arc_with_cost(i, k, top - value)
    for i in range(routes, vehicles):  # no route: any caregiver, at the same cost
        for k in range(vehicles):
            assignment.add_arc_with_cost(i, k, top)
    if assignment.solve() != SimpleLinearSumAssignment.OPTIMAL:
        return None
    return {i: assignment.right_mate(i) for i in range(routes)}
