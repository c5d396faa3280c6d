"""Tight route times by hand: earliest starts, latest leave, the rest inside a gap."""

from __future__ import annotations

import numpy as np

from solver import BreakSpec, RoutingProblem, VehicleSpec, VisitSpec
from solver.schedule import earliest_start, schedule_route


def one_visit_problem(window: tuple[int, int], rest: BreakSpec | None) -> RoutingProblem:
    m = np.array([[0, 10], [10, 0]], dtype=np.int64)
    return RoutingProblem(
        matrices=(m,),
        visits=(VisitSpec(location=1, duration=5, windows=(window,)),),
        vehicles=(
            VehicleSpec(start_location=0, end_location=0, shift_start=0, shift_end=200, rest=rest),
        ),
    )


def test_earliest_start_skips_closed_windows() -> None:
    assert earliest_start(((0, 5), (20, 25)), 10) == 20
    assert earliest_start(((0, 5), (20, 25)), 3) == 3
    assert earliest_start(((0, 5),), 6) is None


def test_rest_may_split_the_travel() -> None:
    # Gap leave..start must hold travel 10 + rest 30 = 40: leave 0, rest 5..35, start 40.
    problem = one_visit_problem((40, 42), BreakSpec(earliest=5, latest_end=100, duration=30))
    times = schedule_route(problem, 0, [0], rest_gap=0)
    assert times.feasible
    assert times.starts == (40,)
    assert times.leave == 0
    assert times.rest_start == 5
    assert times.back == 55


def test_latest_leave_without_rest() -> None:
    problem = one_visit_problem((40, 42), None)
    times = schedule_route(problem, 0, [0])
    assert (times.leave, times.arrivals, times.starts, times.back) == (30, (40,), (40,), 55)
    assert times.rest_start is None


def test_rest_after_back_and_before_leave() -> None:
    rest = BreakSpec(earliest=0, latest_end=200, duration=30)
    after = schedule_route(one_visit_problem((40, 42), rest), 0, [0], rest_gap=2)
    assert after.feasible and after.rest_start == after.back == 55
    before = schedule_route(one_visit_problem((40, 42), rest), 0, [0], rest_gap=-1)
    assert before.feasible and before.leave == 30
    assert before.rest_start is not None and before.rest_start + 30 <= before.leave


def test_window_missed_is_infeasible() -> None:
    problem = one_visit_problem((0, 5), None)
    assert not schedule_route(problem, 0, [0]).feasible
