"""Every call the weekly planner makes into the solver, in one place.

- :func:`search_day`: a day's search, from the current routes when there are any
  (:func:`solver.periodic.improve_routes`, or its count-bounded twin :func:`_improve_counted`
  under a deterministic budget), else from scratch (:func:`solver.routing.solve`);
- :func:`accepted`: which routes the router's model takes on their own
  (:func:`solver.periodic.routes_accepted`);
- :func:`route_times` and :func:`retime`: route timing, the rest in its best gap
  (:func:`solver.schedule.schedule_route`, the one truth of route timing).

When the solver's single entry (``solver.solve(problem, params, *, initial_routes=...)``) takes
warm starts and iteration budgets, :func:`search_day` becomes one call to it and
:func:`_improve_counted` goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from ortools.constraint_solver import routing_enums_pb2

from dispatch.weekly.budget import MIN_SOLVE_SECONDS, UNBOUNDED_SECONDS, Budget
from solver import sisr
from solver.periodic import (
    _add_vehicle_costs,
    _polish_parameters,
    improve_routes,
    routes_accepted,
)
from solver.problem import RoutingProblem, SolvedRoute, SolverResult
from solver.routing import build_model, decode, descend_from, solve
from solver.schedule import RouteTimes, schedule_route

__all__ = ["accepted", "linked_visits", "retime", "route_times", "search_day"]


def search_day(
    problem: RoutingProblem,
    start: Sequence[Sequence[int]] | None,
    budget: Budget,
    seconds: float,
    vehicle_costs: Mapping[int, Sequence[int]],
) -> SolverResult:
    """Search ``problem`` within ``seconds`` of ``budget`` (or its iteration budget), from the
    ``start`` routes (visit indices per vehicle) when given and usable, else from scratch.
    ``vehicle_costs[i][k]`` is added when vehicle ``k`` serves visit ``i`` (from a start
    only). The budget's clock counts the seconds allotted."""
    result = None
    if start is not None:
        result = _improve(problem, start, budget, seconds, vehicle_costs)
    if result is None:
        result = solve(problem, budget.solve_params(seconds))
    budget.solved(seconds)
    return result


def accepted(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> tuple[bool, ...]:
    """For each vehicle's route, whether the router's model accepts it on its own."""
    return routes_accepted(problem, routes)


def route_times(
    problem: RoutingProblem,
    vehicle: int,
    seq: Sequence[int],
    *,
    fixed: Mapping[int, int] | None = None,
) -> RouteTimes:
    """The times of ``seq`` for ``vehicle``, the rest in its best gap; ``fixed`` maps visits
    to the starts they keep (see :func:`linked_visits`)."""
    return schedule_route(problem, vehicle, seq, fixed=fixed or None)


def linked_visits(problem: RoutingProblem) -> frozenset[int]:
    """The visits whose start is tied to another's (a linked visit, 关联服务, or one of a
    two-person visit's two): re-timing their route alone must keep their starts, or the
    delay between the two may no longer hold."""
    return frozenset(i for s in problem.syncs for i in (s.first, s.second))


def _improve(
    problem: RoutingProblem,
    start: Sequence[Sequence[int]],
    budget: Budget,
    seconds: float,
    vehicle_costs: Mapping[int, Sequence[int]],
) -> SolverResult | None:
    """:func:`solver.periodic.improve_routes` from ``start`` for ``seconds``, or with a counted
    budget the same search bounded by ``budget.params.iteration_limit``: the string-removal
    search's iterations, then a greedy descent of OR-Tools' operators to its end (or guided
    local search for that many solutions where the string-removal search does not apply)."""
    seed = budget.params.seed
    if not budget.counted:
        return improve_routes(
            problem,
            start,
            time_limit=max(MIN_SOLVE_SECONDS, seconds),
            seed=seed,
            vehicle_costs=vehicle_costs,
        )
    return _improve_counted(problem, start, seed, budget.params.iteration_limit, vehicle_costs)


def _improve_counted(
    problem: RoutingProblem,
    start: Sequence[Sequence[int]],
    seed: int,
    iterations: int | None,
    vehicle_costs: Mapping[int, Sequence[int]],
) -> SolverResult | None:
    """:func:`solver.periodic.improve_routes` bounded by ``iterations`` instead of seconds
    (the same steps, under time limits that never bind)."""
    model = build_model(problem, shuffle_seed=seed)
    if vehicle_costs:
        _add_vehicle_costs(model, vehicle_costs)
    sp = _polish_parameters(UNBOUNDED_SECONDS)
    # OR-Tools bounds each large-neighbourhood move by a time of its own (0.1 s by default): on
    # a loaded machine that would make the count-bounded search depend on the machine again.
    sp.lns_time_limit.FromTimedelta(timedelta(seconds=UNBOUNDED_SECONDS))
    if sisr.supports(problem):
        found = sisr.search(
            problem,
            time_limit=UNBOUNDED_SECONDS,
            seed=seed,
            iteration_limit=iterations,
            initial=start,
            vehicle_costs=vehicle_costs,
        )
        sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        return descend_from(model, found.routes, sp, objective=found.objective)
    if iterations is not None:
        sp.solution_limit = iterations
    model.routing.CloseModelWithParameters(sp)
    hint = [[model.index_of_visit(i) for i in r] for r in start]
    hint += [[] for _ in range(len(problem.vehicles) - len(hint))]
    first = model.routing.ReadAssignmentFromRoutes(hint, True)
    if first is None:
        # Keep the routes the model accepts one by one, as improve_routes does.
        for k, route in enumerate(hint):
            alone: list[list[int]] = [[] for _ in hint]
            alone[k] = route
            if route and model.routing.ReadAssignmentFromRoutes(alone, True) is None:
                hint[k] = []
        first = model.routing.ReadAssignmentFromRoutes(hint, True)
    if first is None:
        return None
    solution = model.routing.SolveFromAssignmentWithParameters(first, sp)
    return None if solution is None else decode(model, solution)


def retime(problem: RoutingProblem, result: SolverResult) -> SolverResult:
    """Times of each route recomputed with the rest in its best gap (earliest starts, latest
    leave; linked visits keep the starts the search gave them); a route no gap makes feasible
    is given up, its visits dropped."""
    routes: list[SolvedRoute] = []
    dropped = list(result.dropped)
    linked = linked_visits(problem)
    for sr in result.routes:
        keep = {i: t for i, t in zip(sr.visits, sr.starts, strict=True) if i in linked}
        times = route_times(problem, sr.vehicle, sr.visits, fixed=keep)
        if not times.feasible:
            dropped.extend(sr.visits)
            continue
        routes.append(
            replace(
                sr,
                arrivals=times.arrivals,
                starts=times.starts,
                leave=times.leave,
                back=times.back,
                rest_start=times.rest_start,
            )
        )
    return replace(result, routes=tuple(routes), dropped=tuple(sorted(dropped)))
