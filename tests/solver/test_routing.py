"""Router tests on tiny hand-checkable problems, each answer re-verified independently."""

from __future__ import annotations

import numpy as np
import pytest

from solver import (
    BreakSpec,
    RoutingProblem,
    SolveParams,
    SolverResult,
    VehicleSpec,
    VisitSpec,
    solve,
)

FAST = SolveParams(time_limit=0.5)


def line_matrix(n: int, step: int = 10) -> np.ndarray:
    """Locations 0..n-1 on a line, ``step`` apart: travel = step * |i - j|."""
    idx = np.arange(n)
    return (step * np.abs(idx[:, None] - idx[None, :])).astype(np.int64)


def vehicle(**kw: object) -> VehicleSpec:
    base: dict[str, object] = {
        "start_location": 0,
        "end_location": 0,
        "shift_start": 0,
        "shift_end": 1000,
    }
    base.update(kw)
    return VehicleSpec(**base)  # type: ignore[arg-type]


def verify(problem: RoutingProblem, result: SolverResult) -> None:
    """Independent check of a result: coverage, arithmetic of times, windows, shift, limits."""
    if not result.feasible:
        assert result.routes == ()
        assert result.dropped == tuple(range(len(problem.visits)))
        return
    seen = [i for r in result.routes for i in r.visits]
    assert len(seen) == len(set(seen))
    assert sorted(seen + list(result.dropped)) == list(range(len(problem.visits)))
    for i in result.dropped:
        assert problem.visits[i].penalty is not None, "a mandatory visit was dropped"
    total_travel = 0
    for route in result.routes:
        spec = problem.vehicles[route.vehicle]
        m = problem.matrices[spec.profile]
        assert route.visits, "unused vehicles are not reported"
        assert len(route.arrivals) == len(route.starts) == len(route.visits)
        assert spec.shift_start <= route.leave <= route.back <= spec.shift_end
        if spec.max_duration is not None:
            assert route.back - route.leave <= spec.max_duration
        if spec.max_visits is not None:
            assert len(route.visits) <= spec.max_visits
        if spec.capacity is not None:
            assert sum(problem.visits[i].demand for i in route.visits) <= spec.capacity
        # Gaps: (from end time, from location, to start time, to location).
        gaps = []
        t, loc = route.leave, spec.start_location
        for i, arrival, start in zip(route.visits, route.arrivals, route.starts, strict=True):
            visit = problem.visits[i]
            if visit.allowed_vehicles is not None:
                assert route.vehicle in visit.allowed_vehicles
            if visit.pinned_vehicle is not None:
                assert route.vehicle == visit.pinned_vehicle
            assert arrival == t + int(m[loc, visit.location])
            assert start >= arrival
            assert any(a <= start <= b for a, b in visit.windows), (i, start, visit.windows)
            gaps.append((t, loc, start, visit.location))
            total_travel += int(m[loc, visit.location])
            t, loc = start + visit.duration, visit.location
        assert route.back >= t + int(m[loc, spec.end_location])
        gaps.append((t, loc, route.back, spec.end_location))
        total_travel += int(m[loc, spec.end_location])
        rest = spec.rest
        if rest is None:
            assert route.rest_start is None
            continue
        rs = route.rest_start
        assert rs is not None
        assert rest.earliest <= rs and rs + rest.duration <= rest.latest_end
        outside = rs + rest.duration <= route.leave or rs >= route.back
        inside = any(
            a <= rs and rs + rest.duration <= b and b - a >= int(m[la, lb]) + rest.duration
            for a, la, b, lb in gaps
        )
        assert outside or inside, "the rest fits no gap"
    assert total_travel == result.travel


def test_single_visit_hand_computed() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(VisitSpec(location=1, duration=5, windows=((30, 50),)),),
        vehicles=(vehicle(shift_end=100),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert result.feasible and result.dropped == ()
    (route,) = result.routes
    assert route.visits == (0,)
    assert route.leave == 20  # leaves as late as the window allows, not at shift start
    assert route.arrivals == (30,)
    assert route.starts == (30,)
    assert route.back == 45
    assert result.travel == 20


def test_only_the_second_window_fits() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(VisitSpec(location=1, duration=5, windows=((0, 5), (40, 60))),),
        vehicles=(vehicle(shift_end=100),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert result.routes[0].starts == (40,)


def test_gap_between_windows_is_forbidden() -> None:
    # Arrival 10 misses (0, 5); (20, 25) is the earliest possible, not 10..19.
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(VisitSpec(location=1, duration=0, windows=((0, 5), (20, 25), (40, 60))),),
        vehicles=(vehicle(shift_end=100),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert result.routes[0].starts == (20,)


def test_allowed_vehicles() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=5, windows=((0, 500),), allowed_vehicles=frozenset({1})),
            VisitSpec(location=2, duration=5, windows=((0, 500),), allowed_vehicles=frozenset({0})),
        ),
        vehicles=(vehicle(), vehicle()),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    by_vehicle = {r.vehicle: r.visits for r in result.routes}
    assert by_vehicle == {1: (0,), 0: (1,)}


def test_capacity_drops_what_does_not_fit() -> None:
    visits = tuple(
        VisitSpec(location=1, duration=1, windows=((0, 500),), demand=6, penalty=100)
        for _ in range(3)
    )
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=visits,
        vehicles=(vehicle(capacity=10), vehicle(capacity=10)),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert len(result.dropped) == 1
    assert all(len(r.visits) == 1 for r in result.routes)


def test_max_visits() -> None:
    visits = tuple(
        VisitSpec(location=1, duration=1, windows=((0, 500),), penalty=100) for _ in range(3)
    )
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=visits,
        vehicles=(vehicle(max_visits=2),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert len(result.dropped) == 1
    assert len(result.routes[0].visits) == 2


def test_break_is_placed_in_a_gap_that_holds_it() -> None:
    # Visit A must start in [20, 25] (ends by 35), visit B in [70, 90]; the rest of 20 must
    # start in [30, 60] and end by 80, so it can only lie between A and B.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=10, windows=((20, 25),)),
            VisitSpec(location=2, duration=10, windows=((70, 90),)),
        ),
        vehicles=(vehicle(shift_end=200, rest=BreakSpec(earliest=30, latest_end=80, duration=20)),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    (route,) = result.routes
    assert route.visits == (0, 1)
    assert route.rest_start is not None
    assert 30 <= route.rest_start <= 60
    assert route.starts[0] + 10 <= route.rest_start
    assert route.rest_start + 20 <= route.starts[1]


def test_break_forces_a_later_start() -> None:
    # Without the rest B would start at 40; rest [30, 60) of 30 minutes must be between A and B
    # (rest latest_end 70 < B's end), so B starts at 30 + 30 + 10 = 70.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=10, windows=((10, 20),)),
            VisitSpec(location=2, duration=10, windows=((0, 200),)),
        ),
        vehicles=(
            vehicle(
                shift_end=100,
                max_duration=100,
                rest=BreakSpec(earliest=30, latest_end=70, duration=30),
            ),
        ),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    (route,) = result.routes
    assert route.visits == (0, 1) or route.visits == (1, 0)
    assert result.dropped == ()


def test_shift_end_drops_the_cheapest_penalty() -> None:
    # Locations 1 and 2 are in opposite directions; the shift only allows one round trip.
    m = np.array([[0, 20, 20], [20, 0, 40], [20, 40, 0]], dtype=np.int64)
    problem = RoutingProblem(
        matrices=(m,),
        visits=(
            VisitSpec(location=1, duration=5, windows=((0, 100),), penalty=100),
            VisitSpec(location=2, duration=5, windows=((0, 100),), penalty=1000),
        ),
        vehicles=(vehicle(shift_end=50),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert result.dropped == (0,)
    assert result.routes[0].visits == (1,)
    assert result.objective == 40 + 100


def test_mandatory_infeasible_visit() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(VisitSpec(location=1, duration=5, windows=((0, 5),)),),
        vehicles=(vehicle(),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert not result.feasible
    assert result.dropped == (0,)


def test_pins_keep_vehicle_and_order() -> None:
    # Left to itself the router would serve 1 then 2 on one vehicle; the pins ask for
    # vehicle 1 serving location 2 first, then location 1.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=5, windows=((0, 500),), pinned_vehicle=1, pinned_rank=2),
            VisitSpec(location=2, duration=5, windows=((0, 500),), pinned_vehicle=1, pinned_rank=1),
            VisitSpec(location=1, duration=5, windows=((0, 500),)),
        ),
        vehicles=(vehicle(), vehicle()),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    route = next(r for r in result.routes if r.vehicle == 1)
    pinned = [i for i in route.visits if i in (0, 1)]
    assert pinned == [1, 0]


def test_profiles_pick_the_vehicle_matrix() -> None:
    slow = line_matrix(2, step=30)
    problem = RoutingProblem(
        matrices=(line_matrix(2), slow),
        visits=(VisitSpec(location=1, duration=5, windows=((0, 500),)),),
        vehicles=(vehicle(profile=1),),
    )
    result = solve(problem, FAST)
    verify(problem, result)
    assert result.travel == 60
    assert result.routes[0].arrivals[0] - result.routes[0].leave == 30


def random_problem(seed: int, n: int = 14) -> RoutingProblem:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 50, size=(n + 1, 2))
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    m = np.floor(d).astype(np.int64)
    visits = []
    for i in range(1, n + 1):
        a = int(rng.integers(0, 200))
        visits.append(
            VisitSpec(location=i, duration=10, windows=((a, a + 60),), demand=1, penalty=10_000)
        )
    vehicles = tuple(
        vehicle(
            shift_end=400, capacity=6, rest=BreakSpec(earliest=100, latest_end=200, duration=30)
        )
        for _ in range(4)
    )
    return RoutingProblem(matrices=(m,), visits=tuple(visits), vehicles=vehicles)


def routes_of(result: SolverResult) -> list[tuple[int, tuple[int, ...]]]:
    return [(r.vehicle, r.visits) for r in result.routes]


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_and_iteration_limit_same_routes(seed: int) -> None:
    problem = random_problem(seed)
    params = SolveParams(time_limit=60.0, seed=seed, iteration_limit=30)
    first = solve(problem, params)
    second = solve(problem, params)
    verify(problem, first)
    assert routes_of(first) == routes_of(second)
    assert first.objective == second.objective


def test_random_problems_pass_the_independent_check() -> None:
    for seed in range(3):
        problem = random_problem(seed)
        verify(problem, solve(problem, SolveParams(time_limit=1.0, seed=seed)))
