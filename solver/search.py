"""Search strategy of the router: OR-Tools search parameters and the rounds across the budget.

Problems whose every rule the compiled string-removal search of :mod:`solver.sisr` keeps are
searched there first, for ``sisr_share`` of the budget; its routes then load into the OR-Tools
model (which checks them against every rule of the model), a greedy descent of OR-Tools' own
operators may still improve them, and the times are decoded there. Problems with synchronised
visits or soft window ends that :mod:`solver.syncsearch` keeps are searched there, for the same
share of the budget, and its own times are the answer. Either way, when the compiled search
finds no plan with every mandatory visit, OR-Tools tries in the rest of the budget.

Each round is an OR-Tools iterated local search (ruin and recreate by string removals, simulated
annealing acceptance, local search on every perturbed solution). When no visit ranks before
another in OR-Tools' insertion order (allowed vehicles, penalty), the recreate takes the removed
visits in a fresh random order each time rather than always in node order. Round 1 starts from a
constructive first solution (or from the pinned sequences); later rounds rebuild the model with
another node order (a different search trajectory) and restart from the best routes so far,
given as a hint to local cheapest insertion, which rebuilds them unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
)

from solver import sisr, syncsearch
from solver.problem import RoutingProblem, SolveParams, SolverResult
from solver.routing import (
    RoutingModel,
    build_model,
    decode,
    descend_from,
    infeasible_result,
    pinned_routes,
)

__all__ = [
    "DEFAULT_CONFIG",
    "SearchConfig",
    "insertion_order_ties",
    "run_search",
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


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of the search, one set for every problem.

    ``rounds`` splits the budget into restarts from the best routes; ``ruin_visits`` and
    ``ruin_sequence`` are the string-removal sizes (average removed visits, longest removed
    string); ``bypass`` the split-string factor; ``random_walk`` (removed visits) and
    ``close_routes`` (ruined routes) add further ruins, combined by ``ruin_composition``;
    ``route_neighbors`` is the (ratio, min, max) of routes the string removal looks at;
    ``recreate_sorting`` names the insertion orders of the recreate (OR-Tools
    ``SORTING_PROPERTY_*``; empty: OR-Tools' order, fewest allowed vehicles then highest
    penalty, ties in node order), dropped in the last ``plain_rounds`` rounds; ``random_ties``
    recreates in a fresh random order on every perturbation when that order ties for all
    visits (a random tie-break: a far more diverse search, e.g. on plain VRPTW);
    ``improve_perturbed`` runs local search on every perturbed solution; ``temperatures``
    the simulated annealing start/end temperatures in objective units (``None``: derived by
    OR-Tools from the arc costs); ``cooling`` the schedule (``EXPONENTIAL`` or ``LINEAR``);
    ``sync_search`` searches the problems that :mod:`solver.sisr` does not keep (synchronised
    visits, soft window ends) with the compiled search of :mod:`solver.syncsearch` where it
    keeps them, for ``sisr_share`` of the budget.
    ``polish`` (an OR-Tools ``LocalSearchMetaheuristic`` name) runs after the rounds from the
    best routes for ``polish_share`` of the budget;
    ``operators_off`` names further local-search operators to switch off; ``bandit`` lets a
    multi-armed bandit order the operators by their recent gains; ``sisr`` runs the compiled
    string-removal search first, for ``sisr_share`` of the budget, on problems it supports.
    """

    rounds: int = 1
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    recreate: str = "LOCAL_CHEAPEST_INSERTION"
    ruin_visits: int = 10
    ruin_sequence: int = 10
    bypass: float = 0.01
    temperatures: tuple[float, float] | None = None
    slow_operators: bool = False
    operators_off: tuple[str, ...] = ()
    bandit: bool = False
    improve_perturbed: bool = True
    recreate_sorting: tuple[str, ...] = ()
    random_ties: bool = True
    random_walk: int = 0
    close_routes: int = 0
    ruin_composition: str = "RUN_ONE_RANDOMLY"
    cooling: str = "EXPONENTIAL"
    route_neighbors: tuple[float, int, int] | None = None
    plain_rounds: int = 0
    polish: str | None = None
    polish_share: float = 0.2
    sisr: bool = True
    sisr_share: float = 0.97
    sync_search: bool = True


DEFAULT_CONFIG = SearchConfig()


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
    if solution_limit is not None:
        sp.solution_limit = solution_limit
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


def run_search(
    problem: RoutingProblem, params: SolveParams, *, config: SearchConfig = DEFAULT_CONFIG
) -> SolverResult:
    """Search ``problem`` with ``params``; ``stats`` counts the rounds run.

    ``params.iteration_limit`` bounds the solutions of every round, so that the same seed and
    limit give the same routes whatever the machine's speed (as long as the time limit is not
    reached first).
    """
    end = time.perf_counter() + params.time_limit
    plain = sisr.supports(problem)
    if config.sisr and plain:
        found = _sisr_first(problem, params, config)
        if found is not None:
            return found
        # No plan with every mandatory visit: OR-Tools tries within what is left of the budget.
        params = replace(params, time_limit=max(end - time.perf_counter(), 0.05))
        end = time.perf_counter() + params.time_limit
    elif config.sync_search and not plain and syncsearch.supports(problem):
        timed = syncsearch.search(
            problem,
            time_limit=min(max(config.sisr_share, 0.0), 1.0) * params.time_limit,
            seed=params.seed,
            iteration_limit=params.iteration_limit,
        )
        if timed is not None:
            return replace(timed, stats={"rounds": 1.0, **timed.stats})
        params = replace(params, time_limit=max(end - time.perf_counter(), 0.05))
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
    return SolverResult(
        routes=best.routes,
        dropped=best.dropped,
        travel=best.travel,
        objective=best.objective,
        feasible=True,
        stats=stats,
    )


def _sisr_first(
    problem: RoutingProblem, params: SolveParams, config: SearchConfig
) -> SolverResult | None:
    """The string-removal search's routes, checked and finished by OR-Tools.

    A greedy descent of OR-Tools' own operators runs from those routes over the rest of the
    budget; where the OR-Tools model rejects them (its rest has less freedom than the router's
    schedule) they are timed by the schedule alone. ``None`` when the search found no plan
    with every mandatory visit (the caller then searches with OR-Tools alone, in the time
    that is left).
    """
    end = time.perf_counter() + params.time_limit
    share = min(max(config.sisr_share, 0.0), 1.0)
    found = sisr.search(
        problem,
        time_limit=share * params.time_limit,
        seed=params.seed,
        iteration_limit=params.iteration_limit,
    )
    if not found.feasible:
        return None
    stats = {
        "rounds": 1.0,
        "sisr_iterations": float(found.iterations),
        "sisr_objective": float(found.objective),
    }
    model = build_model(problem, shuffle_seed=params.seed * 7919)
    sp = search_parameters(
        config,
        time_limit=max(end - time.perf_counter(), 0.05),
        solution_limit=params.iteration_limit,
        log=params.log,
        metaheuristic="GREEDY_DESCENT",
    )
    result = descend_from(model, found.routes, sp, objective=found.objective)
    if result is None:  # pragma: no cover - the search keeps the schedule's rules
        return None
    return replace(result, stats=stats)
