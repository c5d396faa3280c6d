"""The compiled string-removal search on tiny hand-checkable problems.

Each result goes through the router's independent ``verify`` (times recomputed, windows,
shifts, capacity, caps, allowed vehicles) after the router decodes it.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver import RoutingProblem, SolveParams, VisitSpec, sisr, solve
from solver.problem import BreakSpec, Sync
from solver.schedule import schedule_route
from tests.solver.test_routing import line_matrix, vehicle, verify

QUICK = SolveParams(time_limit=0.5, seed=1, iteration_limit=2000)


def _served(result: sisr.SisrResult) -> set[int]:
    return {i for route in result.routes for i in route}


def test_orders_visits_by_their_windows() -> None:
    # Location 2 must be served first (window ends at 30), location 1 afterwards.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=5, windows=((50, 100),)),
            VisitSpec(location=2, duration=5, windows=((0, 30),)),
        ),
        vehicles=(vehicle(),),
    )
    found = sisr.search(problem, time_limit=1, seed=0, iteration_limit=200)
    assert found.feasible
    assert found.routes == ((1, 0),)
    # 0 -> 2 (20), 2 -> 1 (10), 1 -> 0 (10)
    assert found.objective == 40
    result = solve(problem, QUICK)
    verify(problem, result)
    assert result.routes[0].visits == (1, 0)
    assert result.stats["sisr_iterations"] >= 1


def test_capacity_splits_the_visits() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=0, windows=((0, 1000),), demand=1),
            VisitSpec(location=2, duration=0, windows=((0, 1000),), demand=1),
        ),
        vehicles=(vehicle(capacity=1), vehicle(capacity=1)),
    )
    found = sisr.search(problem, time_limit=1, iteration_limit=200)
    assert sorted(len(r) for r in found.routes) == [1, 1]
    verify(problem, solve(problem, QUICK))


def test_visit_cap_and_allowed_vehicles() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(4),),
        visits=(
            VisitSpec(
                location=1, duration=0, windows=((0, 1000),), allowed_vehicles=frozenset({1})
            ),
            VisitSpec(location=2, duration=0, windows=((0, 1000),)),
            VisitSpec(location=3, duration=0, windows=((0, 1000),)),
        ),
        vehicles=(vehicle(max_visits=1), vehicle(max_visits=2)),
    )
    found = sisr.search(problem, time_limit=1, iteration_limit=500)
    assert found.feasible
    assert 0 in found.routes[1]
    assert len(found.routes[0]) <= 1
    assert _served(found) == {0, 1, 2}
    verify(problem, solve(problem, QUICK))


def test_drops_an_optional_visit_only_when_its_penalty_is_below_the_detour() -> None:
    # Location 3 is a 60-unit round trip away.
    def problem(penalty: int) -> RoutingProblem:
        return RoutingProblem(
            matrices=(line_matrix(4),),
            visits=(
                VisitSpec(location=1, duration=0, windows=((0, 1000),)),
                VisitSpec(location=3, duration=0, windows=((0, 1000),), penalty=penalty),
            ),
            vehicles=(vehicle(),),
        )

    cheap = sisr.search(problem(30), time_limit=1, iteration_limit=300)
    assert cheap.dropped == (1,)
    assert cheap.objective == 20 + 30
    dear = sisr.search(problem(100), time_limit=1, iteration_limit=300)
    assert dear.dropped == ()
    assert dear.objective == 60
    for penalty in (30, 100):
        verify(problem(penalty), solve(problem(penalty), QUICK))


def test_an_unreachable_mandatory_visit_makes_the_search_infeasible() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(VisitSpec(location=2, duration=0, windows=((0, 5),)),),
        vehicles=(vehicle(),),
    )
    found = sisr.search(problem, time_limit=1, iteration_limit=50)
    assert not found.feasible
    assert found.dropped == (0,)
    result = solve(problem, QUICK)
    assert not result.feasible
    verify(problem, result)


def test_vehicles_keep_their_own_shift_locations_and_profiles() -> None:
    slow = line_matrix(5, step=30)
    problem = RoutingProblem(
        matrices=(line_matrix(5), slow),
        visits=(
            VisitSpec(location=1, duration=10, windows=((0, 60),)),
            VisitSpec(location=3, duration=10, windows=((0, 60),)),
        ),
        # The walker (profile 1) cannot reach location 3 by 60; the second vehicle starts at 4.
        vehicles=(vehicle(profile=1, shift_end=200), vehicle(start_location=4, end_location=4)),
    )
    found = sisr.search(problem, time_limit=1, iteration_limit=500)
    assert found.feasible
    assert 1 in found.routes[1]
    verify(problem, solve(problem, QUICK))


def test_same_seed_and_iteration_budget_give_the_same_routes() -> None:
    rng = np.random.default_rng(3)
    points = rng.integers(0, 100, size=(31, 2))
    matrix = np.rint(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    visits = tuple(
        VisitSpec(location=i, duration=10, windows=((int(s), int(s) + 200),), demand=1)
        for i, s in zip(range(1, 31), rng.integers(0, 600, size=30), strict=True)
    )
    problem = RoutingProblem(
        matrices=(matrix.astype(np.int64),),
        visits=visits,
        vehicles=tuple(vehicle(capacity=8) for _ in range(6)),
    )
    runs = [sisr.search(problem, time_limit=30, seed=5, iteration_limit=3000) for _ in range(2)]
    assert runs[0].routes == runs[1].routes
    assert runs[0].objective == runs[1].objective
    assert runs[0].iterations == 3000
    result = solve(problem, SolveParams(time_limit=30, seed=5, iteration_limit=3000))
    verify(problem, result)
    assert result.travel <= runs[0].objective


@pytest.mark.parametrize(
    "change",
    [
        {"visits": (VisitSpec(location=1, duration=0, windows=((0, 10),), pinned_vehicle=0),)},
        {"visits": (VisitSpec(location=1, duration=0, windows=((0, 10),), soft_latest=5),)},
        # A span bound where a visit may wait for its window.
        {
            "visits": (VisitSpec(location=1, duration=0, windows=((500, 1000),)),),
            "vehicles": (vehicle(max_duration=100),),
        },
        {
            "vehicles": (
                vehicle(max_duration=100, rest=BreakSpec(earliest=0, latest_end=99, duration=9)),
            )
        },
    ],
)
def test_rules_the_search_does_not_keep_are_not_searched_by_it(change: dict) -> None:
    base = {
        "matrices": (line_matrix(3),),
        "visits": (VisitSpec(location=1, duration=0, windows=((0, 1000),)),),
        "vehicles": (vehicle(),),
    }
    base.update(change)
    problem = RoutingProblem(**base)
    assert not sisr.supports(problem)
    with pytest.raises(ValueError, match="does not keep"):
        sisr.search(problem, time_limit=1)
    result = solve(problem, QUICK)
    verify(problem, result)
    if "vehicles" in change:
        # A bounded span: the search may still run on shifts cut to the bound (the cut of
        # the waiting visit's vehicle cannot reach its window, so OR-Tools plans that one).
        assert result.search == ("sisr_cut" if "visits" not in change else "ortools")
    else:
        assert "sisr_iterations" not in result.stats


def test_a_visit_starts_in_its_second_window_when_the_first_has_passed() -> None:
    # Location 3 is 30 away; its first window closes at 20, its second opens at 100.
    problem = RoutingProblem(
        matrices=(line_matrix(4),),
        visits=(VisitSpec(location=3, duration=10, windows=((0, 20), (100, 120))),),
        vehicles=(vehicle(),),
    )
    assert sisr.supports(problem)
    assert sisr.insertion_fits(problem, 0, [], 0, 0)
    late = RoutingProblem(
        matrices=problem.matrices, visits=problem.visits, vehicles=(vehicle(shift_end=139),)
    )
    # start 100 + 10 service + 30 back = 140 > 139
    assert not sisr.insertion_fits(late, 0, [], 0, 0)
    result = solve(problem, QUICK)
    verify(problem, result)
    assert result.routes[0].starts == (100,)


def test_the_rest_goes_where_it_fits_and_the_shift_must_hold_it() -> None:
    # Two visits at location 1 (10 away): the first at 100 sharp for 50, the second in
    # [150, 210] for 50; a rest of 60 inside [60, 210].
    rest = BreakSpec(earliest=60, latest_end=210, duration=60)
    visits = (
        VisitSpec(location=1, duration=50, windows=((100, 100),)),
        VisitSpec(location=1, duration=50, windows=((150, 210),)),
    )

    def problem(shift_end: int) -> RoutingProblem:
        return RoutingProblem(
            matrices=(line_matrix(2),),
            visits=visits,
            vehicles=(vehicle(shift_end=shift_end, rest=rest),),
        )

    # Before leaving (60-120) the first visit is missed; before the first visit it ends past
    # 100; after either visit it ends past 210. Only 150-210 between them is left: the second
    # visit starts at 210 and the vehicle is back at 270.
    assert sisr.insertion_fits(problem(270), 0, [0], 1, 1)
    assert not sisr.insertion_fits(problem(269), 0, [0], 1, 1)
    assert not sisr.insertion_fits(problem(400), 0, [1], 0, 1)  # the other order
    result = solve(problem(270), QUICK)
    verify(problem(270), result)
    assert result.dropped == ()
    assert result.routes[0].starts == (100, 210)
    assert result.routes[0].rest_start == 150
    assert "sisr_iterations" in result.stats


def _random_problem(seed: int) -> RoutingProblem:
    """Visits with one or two windows, vehicles with and without a rest, two profiles."""
    rng = np.random.default_rng(seed)
    n = 12
    xy = rng.integers(0, 40, size=(n + 2, 2))
    base = np.floor(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))).astype(np.int64)
    visits = []
    for i in range(n):
        a = int(rng.integers(0, 300))
        w: tuple[tuple[int, int], ...] = ((a, a + int(rng.integers(0, 60))),)
        if rng.random() < 0.4:
            b = w[0][1] + int(rng.integers(20, 100))
            w = (*w, (b, b + int(rng.integers(0, 60))))
        visits.append(
            VisitSpec(location=i + 2, duration=int(rng.integers(5, 40)), windows=w, penalty=500)
        )
    vehicles = []
    for k in range(3):
        rest = None
        if k != 2:
            e = int(rng.integers(50, 250))
            rest = BreakSpec(earliest=e, latest_end=e + int(rng.integers(30, 120)), duration=30)
        vehicles.append(
            vehicle(
                start_location=k % 2,
                end_location=k % 2,
                shift_start=int(rng.integers(0, 60)),
                shift_end=int(rng.integers(300, 450)),
                profile=k % 2,
                rest=rest,
            )
        )
    return RoutingProblem(matrices=(base, 2 * base), visits=tuple(visits), vehicles=tuple(vehicles))


@pytest.mark.parametrize("seed", range(6))
def test_insertion_test_agrees_with_the_routers_schedule(seed: int) -> None:
    """Sound and complete: a visit fits exactly where the router's schedule finds it feasible
    (every rest gap tried, earliest starts, then the latest leave)."""
    from solver.schedule import schedule_route

    problem = _random_problem(seed)
    rng = np.random.default_rng(100 + seed)
    checked = 0
    for _ in range(300):
        k = int(rng.integers(len(problem.vehicles)))
        order = [int(i) for i in rng.permutation(len(problem.visits))]
        seq: list[int] = []
        for i in order[:4]:  # a random feasible route, built visit by visit
            if schedule_route(problem, k, [*seq, i]).feasible:
                seq.append(i)
        visit = order[5]
        for position in range(len(seq) + 1):
            expected = schedule_route(problem, k, [*seq[:position], visit, *seq[position:]])
            assert sisr.insertion_fits(problem, k, seq, visit, position) == expected.feasible, (
                k,
                seq,
                visit,
                position,
            )
            checked += 1
    assert checked > 300


@pytest.mark.parametrize("seed", range(4))
def test_routes_with_rests_and_windows_load_into_the_or_tools_model(seed: int) -> None:
    from solver.model import build_model
    from solver.schedule import schedule_route

    problem = _random_problem(seed)
    found = sisr.search(problem, time_limit=30, seed=seed, iteration_limit=3000)
    for k, route in enumerate(found.routes):
        if route:
            assert schedule_route(problem, k, route).feasible
    model = build_model(problem)
    hint = [[model.index_of_visit(i) for i in route] for route in found.routes]
    model.routing.CloseModel()
    assert model.routing.ReadAssignmentFromRoutes(hint, True) is not None
    result = solve(problem, SolveParams(time_limit=30, seed=seed, iteration_limit=3000))
    verify(problem, result)
    assert result.stats["sisr_iterations"] == 3000
    assert result.objective <= found.objective


def test_vehicle_costs_steer_visits_to_their_caregiver() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(VisitSpec(location=1, duration=0, windows=((0, 1000),)),),
        vehicles=(vehicle(), vehicle()),
    )
    # Serving with vehicle 0 costs 50 more: vehicle 1 gets it, the objective holds travel only.
    found = sisr.search(problem, time_limit=1, iteration_limit=100, vehicle_costs={0: [50, 0]})
    assert found.routes == ((), (0,))
    assert found.objective == 20


def test_starts_from_given_routes_and_never_ends_worse() -> None:
    problem = _random_problem(1)
    first = sisr.search(problem, time_limit=30, seed=1, iteration_limit=2000)
    # From those routes, a short cold run keeps them or finds better.
    again = sisr.search(
        problem,
        time_limit=30,
        seed=2,
        iteration_limit=50,
        initial=first.routes,
        config=sisr.SisrConfig(start_temperature=1e-6, end_temperature=1e-7),
    )
    assert again.objective <= first.objective
    # A route that breaks a rule is dropped from the start: its visits begin unplanned (and
    # one cold iteration puts them back, each once).
    k = next(k for k, r in enumerate(first.routes) if r)
    broken = [list(r) for r in first.routes]
    broken[k] = broken[k] + broken[k][:1]  # a visit twice on one route
    start = sisr.search(
        problem,
        time_limit=30,
        seed=2,
        iteration_limit=1,
        initial=broken,
        config=sisr.SisrConfig(start_temperature=1e-6, end_temperature=1e-7),
    )
    placed = [i for r in start.routes for i in r]
    assert len(placed) == len(set(placed))
    assert sorted(placed + list(start.dropped)) == list(range(len(problem.visits)))
    for v, route in enumerate(start.routes):
        if route:
            assert schedule_route(problem, v, route).feasible


def test_a_start_route_with_a_visit_twice_is_not_taken() -> None:
    # Wide windows: only the repetition is wrong with [0, 1, 0].
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=tuple(VisitSpec(location=i, duration=5, windows=((0, 1000),)) for i in (1, 2)),
        vehicles=(vehicle(), vehicle()),
    )
    cold = sisr.SisrConfig(start_temperature=1e-6, end_temperature=1e-7)
    found = sisr.search(
        problem, time_limit=30, iteration_limit=1, initial=[[0, 1, 0], [7]], config=cold
    )
    placed = [i for r in found.routes for i in r]
    assert sorted(placed) == [0, 1]
    assert found.objective == 40  # 0 -> 1 -> 2 -> 0 rebuilt from nothing


def test_a_span_bound_without_waiting_limits_the_route_length() -> None:
    # No window ever makes a vehicle wait: three visits of 10 at location 1 (10 away); a span
    # bound of 45 holds two of them (20 travel + 20 service) but not three (50).
    visits = tuple(VisitSpec(location=1, duration=10, windows=((0, 1000),)) for _ in range(3))
    problem = RoutingProblem(
        matrices=(line_matrix(4),), visits=visits, vehicles=(vehicle(max_duration=45),) * 2
    )
    assert sisr.supports(problem)
    found = sisr.search(problem, time_limit=1, iteration_limit=300)
    assert found.feasible
    assert sorted(len(r) for r in found.routes) == [1, 2]
    verify(problem, solve(problem, QUICK))


def test_synchronised_visits_are_left_to_or_tools() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            VisitSpec(location=1, duration=10, windows=((0, 100),)),
            VisitSpec(location=1, duration=10, windows=((0, 100),)),
        ),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(first=0, second=1),),
    )
    assert not sisr.supports(problem)


def test_a_warm_start_searches_from_the_given_routes() -> None:
    problem = _random_problem(2)
    start = sisr.search(problem, time_limit=5, seed=0, iteration_limit=1)  # the greedy insertion
    result = solve(problem, SolveParams(time_limit=1.0), initial_routes=start.routes)
    assert result.search == "sisr" and result.stats["warm_start"] == 1.0
    verify(problem, result)
    assert result.objective <= start.objective
