"""Search rounds: restarts from the best routes never lose them and stay feasible."""

from __future__ import annotations

from solver import SolveParams
from solver.routing import build_model, decode
from solver.search import SearchConfig, _hint_routes, _round, run_search, search_parameters
from tests.solver.test_routing import random_problem, verify


def test_later_rounds_start_from_the_best_routes() -> None:
    problem = random_problem(5, n=20)
    params = SolveParams(time_limit=60.0, seed=4, iteration_limit=20)
    one = run_search(problem, params, config=SearchConfig(rounds=1))
    three = run_search(problem, params, config=SearchConfig(rounds=3))
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
    first = run_search(problem, SolveParams(time_limit=60.0, iteration_limit=10))
    model = build_model(problem, shuffle_seed=99)
    hint = _hint_routes(model, first)
    solution = _round(model, SolveParams(iteration_limit=1), SearchConfig(), 60.0, hint)
    hinted = decode(model, solution)
    verify(problem, hinted)
    scratch_model = build_model(problem, shuffle_seed=99)
    scratch = _round(scratch_model, SolveParams(iteration_limit=1), SearchConfig(), 60.0, None)
    verify(problem, decode(scratch_model, scratch))
    assert hinted.objective < scratch.ObjectiveValue()
