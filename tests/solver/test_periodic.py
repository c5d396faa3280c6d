"""The periodic search on tiny problems worked out by hand.

Locations: depot 0 at (0, 0), 1 at (3, 4), 2 at (0, 4), 3 at (3, 0); distances 0-1 5, 0-2 4,
0-3 3, 1-2 3, 1-3 4, 2-3 5. Two days, one vehicle of capacity 10 a day, demand 5 each.
Task 0 (at 1) is served both days; tasks 1 (at 2) and 2 (at 3) on day 0 or day 1. They cannot
share a day (load 15), so each day is depot-1-x-depot: 5 + 3 + 4 = 12 and 3 + 4 + 5 = 12,
total 24 whichever way round.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from solver.periodic import DayFleet, PeriodicProblem, PeriodicTask, route_cost, solve_periodic
from solver.problem import SolveParams

MATRIX = np.array([[0, 5, 4, 3], [5, 0, 3, 4], [4, 3, 0, 5], [3, 4, 5, 0]], dtype=np.int64)
EITHER = ((0,), (1,))


def tiny(**fleet: int | None) -> PeriodicProblem:
    spec = {"vehicles": 1, "capacity": 10, **fleet}
    return PeriodicProblem(
        matrix=MATRIX,
        depot=0,
        tasks=(
            PeriodicTask(location=1, duration=0, demand=5, patterns=((0, 1),)),
            PeriodicTask(location=2, duration=0, demand=5, patterns=EITHER),
            PeriodicTask(location=3, duration=0, demand=5, patterns=EITHER),
        ),
        fleets=(DayFleet(**spec), DayFleet(**spec)),  # type: ignore[arg-type]
    )


QUICK = SolveParams(time_limit=5.0, iteration_limit=50)


def served_days(result_days: tuple[tuple[tuple[int, ...], ...], ...], task: int) -> tuple[int, ...]:
    return tuple(d for d, routes in enumerate(result_days) if any(task in r for r in routes))


def test_tiny_problem_costs_24_with_one_pattern_per_task() -> None:
    problem = tiny()
    result = solve_periodic(problem, QUICK)
    assert result.complete
    assert result.cost == 24
    assert result.cost == sum(route_cost(problem, r) for day in result.days for r in day)
    for t, task in enumerate(problem.tasks):
        chosen = result.patterns[t]
        assert chosen is not None
        assert served_days(result.days, t) == task.patterns[chosen]
    assert served_days(result.days, 1) != served_days(result.days, 2)
    for day in result.days:
        assert len(day) <= 1
        assert sum(problem.tasks[t].demand for r in day for t in r) <= 10


def test_capacity_five_makes_every_visit_an_out_and_back() -> None:
    # With capacity 5 and two vehicles a day every visit is an out-and-back: task 0 twice
    # (2 * 10), task 1 once (8), task 2 once (6).
    result = solve_periodic(tiny(vehicles=2, capacity=5), QUICK)
    assert result.complete
    assert result.cost == 2 * 10 + 8 + 6
    assert all(len(day) == 2 for day in result.days)


def test_duration_bound_is_kept() -> None:
    # A bound of 12 still allows depot-1-x-depot (12); with 11 a day's single vehicle holds
    # task 0 alone (10) or one of the others, never two tasks, so something stays out.
    assert solve_periodic(tiny(max_duration=12), QUICK).cost == 24
    result = solve_periodic(tiny(max_duration=11), QUICK)
    assert not result.complete
    for day in result.days:
        for r in day:
            assert route_cost(tiny(), r) <= 11


def test_task_that_fits_no_pattern_is_left_out() -> None:
    problem = tiny()
    heavy = PeriodicTask(location=3, duration=0, demand=11, patterns=EITHER)
    problem = PeriodicProblem(problem.matrix, 0, (*problem.tasks, heavy), problem.fleets)
    result = solve_periodic(problem, QUICK)
    assert result.patterns[3] is None
    assert not result.complete
    assert result.patterns[:3] != (None, None, None)


def test_same_seed_and_iteration_limit_give_the_same_result() -> None:
    a = solve_periodic(tiny(vehicles=2), SolveParams(seed=3, iteration_limit=30))
    b = solve_periodic(tiny(vehicles=2), SolveParams(seed=3, iteration_limit=30))
    assert a.days == b.days and a.patterns == b.patterns


def test_pattern_day_outside_the_period_is_an_error() -> None:
    bad = PeriodicProblem(MATRIX, 0, (PeriodicTask(1, 0, 1, ((2,),)),), (DayFleet(1), DayFleet(1)))
    with pytest.raises(ValueError, match="outside"):
        solve_periodic(bad, QUICK)


def random_problem(seed: int, n: int = 40, days: int = 4) -> PeriodicProblem:
    """Tasks around a central depot, served once, twice (two days apart at least) or every
    day; two vehicles a day with a capacity and a duration bound that bind."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n + 1, 2))
    xy[0] = (50, 50)
    matrix = np.ceil(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))).astype(np.int64)
    once = tuple((d,) for d in range(days))
    twice = tuple((a, b) for a in range(days) for b in range(a + 2, days))
    every = (tuple(range(days)),)
    tasks = tuple(
        PeriodicTask(
            location=i + 1,
            duration=int(rng.integers(0, 10)),
            demand=int(rng.integers(1, 10)),
            patterns=(once, twice, every)[int(rng.choice(3, p=(0.6, 0.3, 0.1)))],
        )
        for i in range(n)
    )
    fleet = DayFleet(vehicles=3, capacity=60, max_duration=400)
    return PeriodicProblem(matrix=matrix, depot=0, tasks=tasks, fleets=(fleet,) * days)


def violations(
    problem: PeriodicProblem,
    result_days: Sequence[Sequence[Sequence[int]]],
    patterns: Sequence[int | None],
) -> list[str]:
    """An independent check of a periodic plan: each placed task on exactly its pattern's
    days, once a day; each day within its fleet, capacity and duration bound."""
    found: list[str] = []
    for d, routes in enumerate(result_days):
        fleet = problem.fleets[d]
        if len(routes) > fleet.vehicles:
            found.append(f"day {d}: {len(routes)} routes")
        for r in routes:
            load = sum(problem.tasks[t].demand for t in r)
            busy = route_cost(problem, r) + sum(problem.tasks[t].duration for t in r)
            if fleet.capacity is not None and load > fleet.capacity:
                found.append(f"day {d}: load {load}")
            if fleet.max_duration is not None and busy > fleet.max_duration:
                found.append(f"day {d}: duration {busy}")
    for t, task in enumerate(problem.tasks):
        days = [d for d, routes in enumerate(result_days) for r in routes for x in r if x == t]
        k = patterns[t]
        expected = () if k is None else task.patterns[k]
        if tuple(days) != expected:
            found.append(f"task {t}: days {days}, pattern {expected}")
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planned_week_keeps_every_rule_and_its_cost_is_its_routes(seed: int) -> None:
    problem = random_problem(seed)
    result = solve_periodic(problem, SolveParams(seed=seed, iteration_limit=3000))
    assert result.complete
    assert violations(problem, result.days, result.patterns) == []
    assert result.cost == sum(route_cost(problem, r) for day in result.days for r in day)


def test_the_search_improves_on_its_first_plan() -> None:
    problem = random_problem(4)
    first = solve_periodic(problem, SolveParams(seed=0, iteration_limit=1))
    searched = solve_periodic(problem, SolveParams(seed=0, iteration_limit=5000))
    assert violations(problem, searched.days, searched.patterns) == []
    assert searched.cost < first.cost


def test_tasks_move_to_the_days_that_suit_them() -> None:
    # Two clusters far apart, one vehicle a day: tasks that may come on either day end up
    # sharing a day with their own cluster, so each day drives out to one cluster only.
    matrix = np.array(
        [
            [0, 50, 50, 50, 50],
            [50, 0, 1, 99, 99],
            [50, 1, 0, 99, 99],
            [50, 99, 99, 0, 1],
            [50, 99, 99, 1, 0],
        ],
        dtype=np.int64,
    )
    tasks = (
        PeriodicTask(1, 0, 1, ((0,),)),
        PeriodicTask(3, 0, 1, ((1,),)),
        PeriodicTask(2, 0, 1, EITHER),
        PeriodicTask(4, 0, 1, EITHER),
    )
    problem = PeriodicProblem(matrix, 0, tasks, (DayFleet(1), DayFleet(1)))
    result = solve_periodic(problem, SolveParams(seed=5, iteration_limit=200))
    assert result.patterns[2] == 0 and result.patterns[3] == 1
    assert result.cost == 2 * (50 + 1 + 50)


def test_the_same_seed_and_iteration_limit_repeat_a_week() -> None:
    problem = random_problem(6)
    a = solve_periodic(problem, SolveParams(seed=9, iteration_limit=2000))
    b = solve_periodic(problem, SolveParams(seed=9, iteration_limit=2000))
    assert a.days == b.days and a.patterns == b.patterns and a.cost == b.cost


def test_without_numba_the_python_search_plans_the_same_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import solver.periodic

    monkeypatch.setattr(solver.periodic, "HAVE_NUMBA", False)
    problem = random_problem(7, n=20)
    result = solve_periodic(problem, SolveParams(seed=1, iteration_limit=50))
    assert result.complete
    assert violations(problem, result.days, result.patterns) == []


def test_a_week_without_tasks_or_without_vehicles_on_a_day() -> None:
    empty = PeriodicProblem(MATRIX, 0, (), (DayFleet(1), DayFleet(1)))
    result = solve_periodic(empty, QUICK)
    assert result.complete and result.cost == 0 and result.days == ((), ())
    # nobody works on day 0: every task goes to day 1 or stays out
    problem = PeriodicProblem(
        MATRIX, 0, tiny().tasks[1:], (DayFleet(0, capacity=10), DayFleet(1, capacity=10))
    )
    result = solve_periodic(problem, QUICK)
    assert result.days[0] == ()
    assert result.patterns == (1, 1)
    assert result.cost == 4 + 5 + 3
