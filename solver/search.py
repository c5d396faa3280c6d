"""Search strategy of the router: OR-Tools search parameters and the runs across the budget."""

from __future__ import annotations

import time
from datetime import timedelta

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.problem import RoutingProblem, SolveParams, SolverResult
from solver.routing import build_model, decode, infeasible_result, pinned_routes

__all__ = ["run_search", "search_parameters"]

FSS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic


def search_parameters(
    *, time_limit: float, solution_limit: int | None = None, log: bool = False
) -> object:
    """OR-Tools search parameters of one run (``time_limit`` in seconds)."""
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = FSS.PARALLEL_CHEAPEST_INSERTION
    sp.local_search_metaheuristic = LSM.GUIDED_LOCAL_SEARCH
    sp.time_limit.FromTimedelta(timedelta(seconds=max(time_limit, 0.01)))
    if solution_limit is not None:
        sp.solution_limit = solution_limit
    sp.log_search = log
    return sp


def run_search(problem: RoutingProblem, params: SolveParams) -> SolverResult:
    """Search ``problem`` with ``params``; ``stats`` holds the runs and solutions counted."""
    t0 = time.perf_counter()
    model = build_model(problem, shuffle_seed=params.seed)
    sp = search_parameters(
        time_limit=params.time_limit, solution_limit=params.iteration_limit, log=params.log
    )
    routing = model.routing
    hint = pinned_routes(model)
    solution = None
    if hint is not None:
        routing.CloseModelWithParameters(sp)
        start = routing.ReadAssignmentFromRoutes(hint, True)
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, sp)
    if solution is None:
        solution = routing.SolveWithParameters(sp)
    stats = {"runs": 1.0, "search_seconds": time.perf_counter() - t0}
    if solution is None:
        return infeasible_result(problem, stats)
    result = decode(model, solution)
    return SolverResult(
        routes=result.routes,
        dropped=result.dropped,
        travel=result.travel,
        objective=result.objective,
        feasible=True,
        stats=stats,
    )
