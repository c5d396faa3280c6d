"""The periodic search on tiny problems worked out by hand.

Locations: depot 0 at (0, 0), 1 at (3, 4), 2 at (0, 4), 3 at (3, 0); distances 0-1 5, 0-2 4,
0-3 3, 1-2 3, 1-3 4, 2-3 5. Two days, one vehicle of capacity 10 a day, demand 5 each.
Task 0 (at 1) is served both days; tasks 1 (at 2) and 2 (at 3) on day 0 or day 1. They cannot
share a day (load 15), so each day is depot-1-x-depot: 5 + 3 + 4 = 12 and 3 + 4 + 5 = 12,
total 24 whichever way round.
"""

from __future__ import annotations

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
