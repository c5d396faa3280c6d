"""Synchronised visits in the router, on a line a person can check by hand.

Locations: 0 depot, 1 at 10 min, 2 at 10 min from the depot and 15 min from 1. Two vehicles
work 0-200.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver import solve
from solver.problem import BreakSpec, RoutingProblem, SolveParams, Sync, VehicleSpec, VisitSpec
from solver.schedule import times_from_starts
from solver.sync import unsupported_visits

M = np.array([[0, 10, 10], [10, 0, 15], [10, 15, 0]], dtype=np.int64)
# The iteration budget ends each search; the time limit only guards against a hang (a fresh
# clone compiles the searches inside the first solve, and a busy machine is slow).
PARAMS = SolveParams(time_limit=2, iteration_limit=200)


def pair_problem(*extra: Sync, vehicles: int = 2, windows=((0, 100),)) -> RoutingProblem:
    visits = (
        VisitSpec(1, 30, windows, penalty=1000),
        VisitSpec(1, 30, windows, penalty=1000),
        VisitSpec(2, 20, ((50, 60),), penalty=1000),
    )
    fleet = tuple(VehicleSpec(0, 0, 0, 200) for _ in range(vehicles))
    return RoutingProblem((M,), visits, fleet, syncs=(Sync(0, 1), *extra))


def starts_of(result) -> dict[int, tuple[int, int]]:
    """visit -> (vehicle, start)"""
    return {
        i: (r.vehicle, t) for r in result.routes for i, t in zip(r.visits, r.starts, strict=True)
    }


def test_two_person_visit_starts_together_on_two_vehicles() -> None:
    result = solve(pair_problem(), PARAMS)
    at = starts_of(result)
    assert result.dropped == ()
    assert at[0][0] != at[1][0]
    # Both can be there at 10 (10 min ride); the start is shared.
    assert at[0][1] == at[1][1] == 10


def test_linked_visit_starts_inside_its_delay() -> None:
    # Visit 2 starts 40-45 min after visit 0: 0 at 10 gives 50-55, inside 2's window 50-60.
    result = solve(pair_problem(Sync(0, 2, 40, 45, distinct=False, both=False)), PARAMS)
    at = starts_of(result)
    assert result.dropped == ()
    assert 40 <= at[2][1] - at[0][1] <= 45


def test_linked_visit_outside_any_delay_is_dropped() -> None:
    # The pair cannot start before 10, so 2 would start at 110 or later: past its window.
    # OR-Tools searches this one for its whole time limit (dropping a linked visit leaves no
    # solution count to end on): a limit that holds on a busy machine too.
    params = replace(PARAMS, time_limit=8)
    result = solve(pair_problem(Sync(0, 2, 100, 120, distinct=False, both=False)), params)
    assert result.dropped == (2,)
    assert {0, 1} <= set(starts_of(result))


def test_pair_with_one_vehicle_is_dropped_whole() -> None:
    result = solve(pair_problem(vehicles=1), PARAMS)
    assert set(result.dropped) == {0, 1}
    assert set(starts_of(result)) == {2}


def test_unsupported_visits_drop_half_pairs_and_orphaned_links() -> None:
    syncs = [Sync(0, 1), Sync(1, 2, 0, 5, distinct=False, both=False)]
    # 1 is missing: 0 is half a pair, and 2 follows a visit that is then not served.
    assert unsupported_visits(syncs, {0: 0, 2: 1}) == {0, 2}
    # Same vehicle for a distinct pair: both go.
    assert unsupported_visits(syncs[:1], {0: 1, 1: 1}) == {0, 1}
    assert unsupported_visits(syncs, {0: 0, 1: 1, 2: 1}) == set()


def test_times_from_starts_tightens_leave_and_back() -> None:
    problem = pair_problem()
    # Vehicle 0 does visit 0 (at location 1) at 20 then visit 2 (location 2) at 60:
    # leave 20 - 10 = 10, arrive 2 at 50 + 15 = 65 > 60: late.
    late = times_from_starts(problem, 0, [0, 2], [20, 60], leave=0, back=200, rest_start=None)
    assert not late.feasible
    # Visit 0 at 10, visit 2 at 60: leave 0, arrive 2 at 55 (waits to 60), back 80 + 10 = 90.
    times = times_from_starts(problem, 0, [0, 2], [10, 60], leave=0, back=200, rest_start=None)
    assert (times.leave, times.arrivals, times.starts) == (0, (10, 55), (10, 60))
    assert (times.back, times.feasible) == (90, True)


def test_times_from_starts_keeps_the_rest_in_the_gap_the_search_gave_it() -> None:
    # The rest (30, between 40 and 100) starts at 45, between visit 0 (10-40) and visit 2
    # (at 90): the schedule places it as early as that gap allows, at 40.
    rest = BreakSpec(earliest=40, latest_end=100, duration=30)
    problem = replace(pair_problem(), vehicles=(VehicleSpec(0, 0, 0, 200, rest=rest),) * 2)
    problem = replace(
        problem, visits=(*problem.visits[:2], VisitSpec(2, 20, ((50, 90),), penalty=1000))
    )
    times = times_from_starts(problem, 0, [0, 2], [10, 90], leave=0, back=200, rest_start=45)
    assert (times.leave, times.starts, times.rest_start, times.back) == (0, (10, 90), 40, 120)
    assert times.feasible


def test_malformed_sync_is_a_value_error() -> None:
    problem = RoutingProblem(
        (M,), (VisitSpec(1, 1, ((0, 10),)),), (VehicleSpec(0, 0, 0, 100),), syncs=(Sync(0, 0),)
    )
    with pytest.raises(ValueError, match="sync 0"):
        solve(problem, PARAMS)
