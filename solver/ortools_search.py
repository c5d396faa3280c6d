"""The OR-Tools search of the router: search parameters, rounds across the budget, and searches
from given routes.

:func:`search` splits the budget into rounds. Each round is an OR-Tools iterated local search
(ruin and recreate by string removals, simulated annealing acceptance, local search on every
perturbed solution). When no visit ranks before another in OR-Tools' insertion order (allowed
vehicles, penalty), the recreate takes the removed visits in a fresh random order each time
rather than always in node order. Round 1 starts from a constructive first solution (or from the
pinned sequences); later rounds rebuild the model with another node order (a different search
trajectory) and restart from the best routes so far, given as a hint to local cheapest
insertion, which rebuilds them unchanged. An optional polish runs after the rounds.

:func:`improve` runs OR-Tools' guided local search from given routes, :func:`descend_from` a
given descent (a compiled search's routes checked against every rule of the model), and
:func:`accepted_routes` says which given routes the model takes as they are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
)

from solver.decode import decode, infeasible_result, scheduled_result
from solver.model import RoutingModel, build_model, pinned_routes
from solver.problem import RoutingProblem, SearchConfig, SolveParams, SolverResult

__all__ = [
    "accepted_routes",
    "descend_from",
    "improve",
    "insertion_order_ties",
    "polish_parameters",
    "search",
    "search_parameters",
]

FSS = routing_enums_pb2.FirstSolutionStrategy
LSM = routing_enums_pb2.LocalSearchMetaheuristic
RuinCompositionStrategy = routing_ils_pb2.RuinCompositionStrategy
CoolingSchedule = routing_ils_pb2.CoolingScheduleStrategy
LCIP = routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters
BOOL_FALSE = 2  # ortools.util.optional_boolean_pb2.BOOL_FALSE

# Large-neighbourhood operators that re-insert whole paths: slow on every local-search pass,
# and the ruin-and-recreate perturbation already plays their part.
SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
)


def search_parameters(
    config: SearchConfig,
    *,
    time_limit: float,
    solution_limit: int | None = None,
    log: bool = False,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
) -> Any:
    """OR-Tools search parameters of one round (``time_limit`` in seconds).

    ``metaheuristic`` (an OR-Tools ``LocalSearchMetaheuristic`` name) replaces the iterated
    local search.
    """
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = getattr(FSS, first_solution or config.first_solution)
    sp.local_search_metaheuristic = getattr(LSM, metaheuristic or "GREEDY_DESCENT")
    sp.use_iterated_local_search = metaheuristic is None
    ils = sp.iterated_local_search_parameters
    ils.improve_perturbed_solution = config.improve_perturbed
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = config.ruin_visits
    sisr.max_removed_sequence_size = config.ruin_sequence
    sisr.bypass_factor = config.bypass
    if config.random_walk:
        rr.ruin_strategies.add().random_walk.num_removed_visits = config.random_walk
    if config.close_routes:
        rr.ruin_strategies.add().spatially_close_routes.num_ruined_routes = config.close_routes
    if len(rr.ruin_strategies) > 1:
        rr.ruin_composition_strategy = getattr(RuinCompositionStrategy, config.ruin_composition)
    if config.route_neighbors is not None:
        (
            rr.route_selection_neighbors_ratio,
            rr.route_selection_min_neighbors,
            rr.route_selection_max_neighbors,
        ) = config.route_neighbors
    rr.recreate_strategy.heuristic = getattr(FSS, config.recreate)
    if config.recreate_sorting:
        lci = rr.recreate_strategy.parameters.local_cheapest_insertion
        for prop in config.recreate_sorting:
            lci.insertion_sorting_properties.append(getattr(LCIP, prop))
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    if config.temperatures is None:
        sa.automatic_temperatures = True
    else:
        sa.initial_temperature, sa.final_temperature = config.temperatures
    sa.cooling_schedule_strategy = getattr(CoolingSchedule, config.cooling)
    if not config.slow_operators:
        for name in SLOW_OPERATORS:
            setattr(sp.local_search_operators, name, BOOL_FALSE)
    for name in config.operators_off:
        setattr(sp.local_search_operators, name, BOOL_FALSE)
    sp.use_multi_armed_bandit_concatenate_operators = config.bandit
    sp.time_limit.FromTimedelta(timedelta(seconds=max(time_limit, 0.01)))
    _count_bounded(sp, solution_limit, time_limit)
    sp.log_search = log
    return sp


def insertion_order_ties(problem: RoutingProblem) -> bool:
    """Whether OR-Tools' default insertion order (fewest allowed vehicles, then highest
    penalty) ranks every visit of ``problem`` the same."""
    everyone = len(problem.vehicles)
    keys = set()
    for visit in problem.visits:
        allowed = everyone if visit.allowed_vehicles is None else len(visit.allowed_vehicles)
        if visit.pinned_vehicle is not None:
            allowed = 1
        keys.add((allowed, visit.penalty))
    return len(keys) <= 1


def _hint_routes(model: RoutingModel, result: SolverResult) -> list[list[int]]:
    routes: list[list[int]] = [[] for _ in model.problem.vehicles]
    for route in result.routes:
        routes[route.vehicle] = [model.index_of_visit(i) for i in route.visits]
    return routes


def _round(
    model: RoutingModel,
    params: SolveParams,
    config: SearchConfig,
    time_limit: float,
    hint: list[list[int]] | None,
) -> Any:
    routing = model.routing
    first = None if hint is None else "LOCAL_CHEAPEST_INSERTION"
    sp = search_parameters(
        config,
        time_limit=time_limit,
        solution_limit=params.iteration_limit,
        log=params.log,
        first_solution=first,
    )
    if hint is not None:
        routing.CloseModelWithParameters(sp)
        start = routing.ReadAssignmentFromRoutes(hint, True)
        if start is not None:
            routing.SetFirstSolutionHint(start)
    return routing.SolveWithIteratedLocalSearch(sp)


def _polish(
    model: RoutingModel,
    params: SolveParams,
    config: SearchConfig,
    time_limit: float,
    hint: list[list[int]],
) -> Any:
    """Run ``config.polish`` from the ``hint`` routes (``None`` when they do not load)."""
    routing = model.routing
    sp = search_parameters(
        config,
        time_limit=time_limit,
        solution_limit=params.iteration_limit,
        log=params.log,
        metaheuristic=config.polish,
    )
    routing.CloseModelWithParameters(sp)
    start = routing.ReadAssignmentFromRoutes(hint, True)
    if start is None:
        return None
    return routing.SolveFromAssignmentWithParameters(start, sp)


def search(problem: RoutingProblem, params: SolveParams) -> SolverResult:
    """Search ``problem`` with OR-Tools alone, in rounds over ``params.time_limit`` seconds;
    ``stats["rounds"]`` counts the rounds run.

    ``params.iteration_limit`` bounds the solutions of every round, so that the same seed and
    limit give the same routes whatever the machine's speed (as long as the time limit is not
    reached first). Returns ``feasible=False`` with every visit dropped when no round found a
    solution.
    """
    config = params.search
    end = time.perf_counter() + params.time_limit
    share = min(max(config.polish_share, 0.0), 1.0) if config.polish else 0.0
    deadline = end - share * params.time_limit
    best: SolverResult | None = None
    rounds = max(1, config.rounds)
    ties = insertion_order_ties(problem)
    done = 0
    for r in range(rounds):
        remaining = deadline - time.perf_counter()
        if r and remaining <= 0.05:
            break
        model = build_model(problem, shuffle_seed=params.seed * 7919 + r)
        hint = pinned_routes(model) if best is None else _hint_routes(model, best)
        round_config = config
        if config.random_ties and not config.recreate_sorting and ties:
            round_config = replace(config, recreate_sorting=("SORTING_PROPERTY_RANDOM",))
        if r >= rounds - config.plain_rounds:
            round_config = replace(config, recreate_sorting=())
        solution = _round(model, params, round_config, remaining / (rounds - r), hint)
        done += 1
        if solution is None:
            continue
        result = decode(model, solution)
        if best is None or result.objective < best.objective:
            best = result
    if config.polish and best is not None and end - time.perf_counter() > 0.05:
        model = build_model(problem, shuffle_seed=params.seed * 7919 + rounds)
        solution = _polish(
            model, params, config, end - time.perf_counter(), _hint_routes(model, best)
        )
        done += 1
        if solution is not None:
            result = decode(model, solution)
            if result.objective < best.objective:
                best = result
    stats = {"rounds": float(done)}
    if best is None:
        return infeasible_result(problem, stats)
    return replace(best, feasible=True, stats=stats)


def polish_parameters(
    seconds: float,
    *,
    metaheuristic: str = "GUIDED_LOCAL_SEARCH",
    solution_limit: int | None = None,
) -> Any:
    """OR-Tools settings of a search from given routes (``seconds`` of budget): a
    ``metaheuristic`` (an OR-Tools ``LocalSearchMetaheuristic`` name) from those routes."""
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    sp.local_search_metaheuristic = getattr(LSM, metaheuristic)
    sp.time_limit.FromTimedelta(timedelta(seconds=max(seconds, 0.01)))
    _count_bounded(sp, solution_limit, seconds)
    return sp


def _count_bounded(sp: Any, solution_limit: int | None, seconds: float) -> None:
    """Bound the search by ``solution_limit`` solutions. OR-Tools also bounds each
    large-neighbourhood move by a time of its own (0.1 s by default); under a count that
    limit goes to the whole budget, or a loaded machine would change the result."""
    if solution_limit is None:
        return
    sp.solution_limit = solution_limit
    sp.lns_time_limit.FromTimedelta(timedelta(seconds=max(seconds, 0.01)))


def improve(
    problem: RoutingProblem, params: SolveParams, routes: Sequence[Sequence[int]]
) -> SolverResult | None:
    """OR-Tools' guided local search from ``routes`` (``routes[k]``: visits of vehicle ``k`` in
    order; visits on no route start unperformed), leaving out of the start the routes the model
    rejects on their own. ``None`` when no start can be built."""
    model = build_model(problem, shuffle_seed=params.seed)
    sp = polish_parameters(params.time_limit, solution_limit=params.iteration_limit)
    model.routing.CloseModelWithParameters(sp)
    hint = [[model.index_of_visit(i) for i in r] for r in routes]
    hint += [[] for _ in range(len(problem.vehicles) - len(hint))]
    start = model.routing.ReadAssignmentFromRoutes(hint, True)
    if start is None:
        # Keep the routes the model accepts one by one; the others' visits start unperformed.
        for k, route in enumerate(hint):
            alone: list[list[int]] = [[] for _ in hint]
            alone[k] = route
            if route and model.routing.ReadAssignmentFromRoutes(alone, True) is None:
                hint[k] = []
        start = model.routing.ReadAssignmentFromRoutes(hint, True)
    if start is None:
        return None
    solution = model.routing.SolveFromAssignmentWithParameters(start, sp)
    if solution is None:
        return None
    return decode(model, solution)


def accepted_routes(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> tuple[bool, ...]:
    """For each vehicle's route (visit indices in order), whether the OR-Tools model of
    ``problem`` accepts it on its own (a schedule found by other means may rely on freedoms the
    model does not have, such as where a rest falls)."""
    model = build_model(problem)
    model.routing.CloseModelWithParameters(polish_parameters(1.0))
    verdict = []
    for k, route in enumerate(routes):
        if not route:
            verdict.append(True)
            continue
        alone: list[list[int]] = [[] for _ in problem.vehicles]
        alone[k] = [model.index_of_visit(i) for i in route]
        verdict.append(model.routing.ReadAssignmentFromRoutes(alone, True) is not None)
    return tuple(verdict)


def descend_from(
    model: RoutingModel, routes: Sequence[Sequence[int]], parameters: Any, *, objective: int
) -> SolverResult | None:
    """Load the visits ``routes[k]`` of each vehicle into ``model``, run OR-Tools with
    ``parameters`` (a greedy descent, say) from there and decode the result.

    ``objective`` is what the routes are worth by the caller's count; where the model rejects
    the routes (its rest has less freedom than the router's schedule) or ends above that, the
    routes are timed by the schedule alone (:func:`scheduled_result`).
    """
    routing = model.routing
    routing.CloseModelWithParameters(parameters)
    hint = [[model.index_of_visit(i) for i in route] for route in routes]
    start = routing.ReadAssignmentFromRoutes(hint, True)
    if start is not None:
        solution = routing.SolveFromAssignmentWithParameters(start, parameters)
        if solution is not None:
            result = decode(model, solution)
            if result.objective <= objective:
                return result
    return scheduled_result(model.problem, routes, objective=objective)
