"""The compiled string-removal search on tiny hand-checkable problems.

Each result goes through the router's independent ``verify`` (times recomputed, windows,
shifts, capacity, caps, allowed vehicles) after the router decodes it.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver import RoutingProblem, SolveParams, VisitSpec, sisr, solve
from solver.problem import BreakSpec, Sync
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
        {"vehicles": (vehicle(rest=BreakSpec(earliest=10, latest_end=100, duration=30)),)},
        {"visits": (VisitSpec(location=1, duration=0, windows=((0, 10), (50, 60))),)},
        {"visits": (VisitSpec(location=1, duration=0, windows=((0, 10),), pinned_vehicle=0),)},
        {"visits": (VisitSpec(location=1, duration=0, windows=((0, 10),), soft_latest=5),)},
        {"vehicles": (vehicle(max_duration=10),)},
    ],
)
def test_rules_the_search_does_not_keep_are_left_to_or_tools(change: dict) -> None:
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
    assert "sisr_iterations" not in result.stats
    verify(problem, result)


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
