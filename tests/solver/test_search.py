"""Search rounds: restarts from the best routes never lose them and stay feasible.

These are the OR-Tools rounds, so the string-removal search that runs first on the problems it
supports is switched off (``ORTOOLS``); ``test_sisr`` covers the hand-over between the two.
"""

from __future__ import annotations

from dataclasses import replace

from solver import SearchConfig, SolveParams, solve
from solver.decode import decode
from solver.model import build_model
from solver.ortools_search import (
    _hint_routes,
    _round,
    insertion_order_ties,
    search_parameters,
)
from tests.solver.test_routing import random_problem, verify

ORTOOLS = SearchConfig(sisr=False)


def test_later_rounds_start_from_the_best_routes() -> None:
    problem = random_problem(5, n=20)
    params = SolveParams(time_limit=60.0, seed=4, iteration_limit=20)
    one = solve(problem, replace(params, search=SearchConfig(sisr=False, rounds=1)))
    three = solve(problem, replace(params, search=SearchConfig(sisr=False, rounds=3)))
    verify(problem, one)
    verify(problem, three)
    assert three.stats["rounds"] == 3
    assert three.objective <= one.objective


def test_search_parameters_switch_off_path_reinsertion_operators() -> None:
    sp = search_parameters(SearchConfig(), time_limit=1.0, solution_limit=5)
    assert sp.use_iterated_local_search
    assert sp.solution_limit == 5
    assert sp.local_search_operators.use_global_cheapest_insertion_path_lns == 2  # BOOL_FALSE
    ruin = sp.iterated_local_search_parameters.ruin_recreate_parameters.ruin_strategies
    assert len(ruin) == 1 and ruin[0].HasField("sisr")


def test_a_round_starts_from_its_hint_in_a_reshuffled_model() -> None:
    # With a budget of one solution, a round given good routes as a hint ends far below a round
    # started from scratch in the same (reshuffled) model.
    problem = random_problem(6, n=16)
    first = solve(
        problem, replace(SolveParams(time_limit=60.0, iteration_limit=10), search=ORTOOLS)
    )
    model = build_model(problem, shuffle_seed=99)
    hint = _hint_routes(model, first)
    solution = _round(model, SolveParams(iteration_limit=1), SearchConfig(), 60.0, hint)
    hinted = decode(model, solution)
    verify(problem, hinted)
    scratch_model = build_model(problem, shuffle_seed=99)
    scratch = _round(scratch_model, SolveParams(iteration_limit=1), SearchConfig(), 60.0, None)
    verify(problem, decode(scratch_model, scratch))
    assert hinted.objective < scratch.ObjectiveValue()


def test_search_parameters_carry_the_ruin_mix_sorting_and_cooling() -> None:
    config = SearchConfig(
        improve_perturbed=False,
        recreate_sorting=("SORTING_PROPERTY_RANDOM",),
        random_walk=6,
        close_routes=2,
        cooling="LINEAR",
        route_neighbors=(0.5, 3, 20),
    )
    ils = search_parameters(config, time_limit=1.0).iterated_local_search_parameters
    assert not ils.improve_perturbed_solution
    rr = ils.ruin_recreate_parameters
    assert [s.WhichOneof("strategy") for s in rr.ruin_strategies] == [
        "sisr",
        "random_walk",
        "spatially_close_routes",
    ]
    assert rr.ruin_strategies[1].random_walk.num_removed_visits == 6
    assert rr.ruin_strategies[2].spatially_close_routes.num_ruined_routes == 2
    sorting = rr.recreate_strategy.parameters.local_cheapest_insertion.insertion_sorting_properties
    assert list(sorting) == [8]  # SORTING_PROPERTY_RANDOM
    assert (rr.route_selection_min_neighbors, rr.route_selection_max_neighbors) == (3, 20)
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    assert sa.cooling_schedule_strategy == 2  # LINEAR


def test_a_polish_round_after_the_search_keeps_the_best_routes() -> None:
    problem = random_problem(5, n=20)
    params = SolveParams(time_limit=60.0, seed=3, iteration_limit=15)
    plain = solve(problem, replace(params, search=ORTOOLS))
    config = SearchConfig(sisr=False, polish="GUIDED_LOCAL_SEARCH", polish_share=0.5)
    polished = solve(problem, replace(params, search=config))
    verify(problem, polished)
    assert polished.stats["rounds"] == 2
    assert polished.objective <= plain.objective


def test_plain_rounds_recreate_in_node_order_and_stay_reproducible() -> None:
    problem = random_problem(7, n=18)
    params = SolveParams(time_limit=60.0, seed=1, iteration_limit=15)
    config = SearchConfig(
        sisr=False, rounds=2, recreate_sorting=("SORTING_PROPERTY_RANDOM",), plain_rounds=1
    )
    first = solve(problem, replace(params, search=config))
    again = solve(problem, replace(params, search=config))
    verify(problem, first)
    assert first.stats["rounds"] == 2
    assert [r.visits for r in first.routes] == [r.visits for r in again.routes]
    assert first.objective == again.objective


def test_insertion_order_ties_only_when_no_visit_ranks_first() -> None:
    problem = random_problem(3, n=6)
    assert insertion_order_ties(problem)
    visits = list(problem.visits)
    visits[2] = replace(visits[2], penalty=50_000)
    assert not insertion_order_ties(replace(problem, visits=tuple(visits)))
    visits = list(problem.visits)
    visits[4] = replace(visits[4], allowed_vehicles=frozenset({0, 1}))
    assert not insertion_order_ties(replace(problem, visits=tuple(visits)))
    # Every vehicle allowed is the same rank as no restriction.
    visits[4] = replace(visits[4], allowed_vehicles=frozenset(range(4)))
    assert insertion_order_ties(replace(problem, visits=tuple(visits)))


def test_random_ties_change_the_search_but_not_its_reproducibility() -> None:
    problem = random_problem(8, n=20)
    params = SolveParams(time_limit=60.0, seed=2, iteration_limit=40)
    shuffled = solve(problem, replace(params, search=ORTOOLS))
    again = solve(problem, replace(params, search=ORTOOLS))
    fixed = solve(problem, replace(params, search=SearchConfig(sisr=False, random_ties=False)))
    verify(problem, shuffled)
    verify(problem, fixed)
    assert [r.visits for r in shuffled.routes] == [r.visits for r in again.routes]
    assert [r.visits for r in shuffled.routes] != [r.visits for r in fixed.routes]
