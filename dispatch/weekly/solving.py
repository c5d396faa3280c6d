"""Every call the weekly planner makes into the solver, in one place.

- :func:`search_day`: a day's search through :func:`solver.solve`, from the current routes
  when there are any (a warm start, with the continuity costs in the problem), else from
  scratch; under a deterministic budget its iteration budget bounds it, not the clock;
- :func:`search_week_problem`: a week's days and routes searched together
  (:func:`solver.week_sisr.search_week`), under the same budget rules; :func:`warm_up`
  compiles the compiled searches before a plan's clock starts;
- :func:`accepted`: which routes the router's model takes on their own (:func:`solver.solve`
  with the routes and no time: their verdict, nothing searched);
- :func:`route_times` and :func:`retime`: route timing, the rest in its best gap
  (:func:`solver.schedule.schedule_route`, the one truth of route timing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from dispatch.weekly.budget import Budget
from solver import SolveParams, solve
from solver import warm_up as warm_up_solver
from solver.problem import RoutingProblem, SolvedRoute, SolverResult
from solver.schedule import RouteTimes, schedule_route
from solver.sisr import SisrResult
from solver.week_sisr import WeekContinuity, WeekTask, search_week

__all__ = [
    "accepted",
    "linked_visits",
    "retime",
    "route_times",
    "search_day",
    "search_week_problem",
    "warm_up",
]


def search_day(
    problem: RoutingProblem,
    start: Sequence[Sequence[int]] | None,
    budget: Budget,
    seconds: float,
    vehicle_costs: Mapping[int, Sequence[int]],
) -> SolverResult:
    """Search ``problem`` within ``seconds`` of ``budget`` (or its iteration budget), from the
    ``start`` routes (visit indices per vehicle) when given, else from scratch (also when no
    start can be built from them). ``vehicle_costs[i][k]`` is added when vehicle ``k`` serves
    visit ``i`` (from a start only). The budget's clock counts the seconds allotted."""
    params = budget.solve_params(seconds)
    if start is None:
        result = solve(problem, params)
    else:
        costed = replace(problem, vehicle_costs=vehicle_costs) if vehicle_costs else problem
        result = solve(costed, params, initial_routes=start)
    budget.solved(seconds)
    return result


def search_week_problem(
    problem: RoutingProblem,
    tasks: Sequence[WeekTask],
    start: Sequence[Sequence[int]],
    budget: Budget,
    seconds: float,
    continuity: WeekContinuity,
    days: int,
) -> SisrResult:
    """Search a week ``problem`` (caregiver-days, request-days) of ``days`` days with its
    ``tasks`` and ``continuity`` within ``seconds`` of ``budget`` from the ``start`` routes;
    under an iteration budget, a sub-solve's iterations for each day."""
    params = budget.solve_params(seconds)
    limit = params.iteration_limit
    result = search_week(
        problem,
        tasks,
        time_limit=params.time_limit,
        seed=params.seed,
        iteration_limit=None if limit is None else limit * max(1, days),
        initial=start,
        continuity=continuity,
    )
    budget.solved(seconds)
    return result


def warm_up() -> None:
    """Compile the compiled searches now (:func:`solver.warm_up`), so that a plan's time goes
    to searching."""
    warm_up_solver()


def accepted(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> tuple[bool, ...]:
    """For each vehicle's route, whether the router's model accepts it on its own."""
    verdict = solve(problem, SolveParams(time_limit=0.0), initial_routes=routes).initial_accepted
    assert verdict is not None  # always given with initial routes
    return verdict


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
