"""The one entry: ``solve`` picks the search by ``supports()`` and honours initial routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

import pytest

from solver import (
    RoutingProblem,
    SearchConfig,
    SolveParams,
    SolverResult,
    VisitSpec,
    sisr,
    solve,
    syncsearch,
)
from solver.entry import cut_shifts
from solver.problem import BreakSpec, Sync
from tests.solver.test_routing import line_matrix, random_problem, vehicle, verify

BUDGET = SolveParams(time_limit=30.0, seed=1, iteration_limit=50)


def _window(loc: int, lo: int = 0, hi: int = 1000, **kw: object) -> VisitSpec:
    return VisitSpec(location=loc, duration=10, windows=((lo, hi),), **kw)  # type: ignore[arg-type]


def _two_person_day() -> RoutingProblem:
    """A visit for two caregivers at location 2 and one single visit at location 1."""
    return RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(_window(2), _window(2), _window(1)),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(0, 1),),
    )


def _pinned(problem: RoutingProblem) -> RoutingProblem:
    """``problem`` with its first visit pinned to vehicle 0."""
    first = replace(problem.visits[0], pinned_vehicle=0, pinned_rank=1)
    return replace(problem, visits=(first, *problem.visits[1:]))


def _cost(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> int:
    """Travel of ``routes`` plus the penalties of the visits on none (an independent count)."""
    travel = 0
    for k, seq in enumerate(routes):
        if not seq:
            continue
        spec = problem.vehicles[k]
        locs = [spec.start_location, *(problem.visits[i].location for i in seq), spec.end_location]
        travel += sum(int(problem.matrices[spec.profile][a, b]) for a, b in pairwise(locs))
    served = {i for seq in routes for i in seq}
    out = [v.penalty or 0 for i, v in enumerate(problem.visits) if i not in served]
    return travel + sum(out)


def _routes(problem: RoutingProblem, result: SolverResult) -> list[list[int]]:
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    for route in result.routes:
        routes[route.vehicle] = list(route.visits)
    return routes


def test_a_plain_day_goes_to_the_string_removal_search() -> None:
    problem = random_problem(1)
    assert sisr.supports(problem)
    result = solve(problem, BUDGET)
    verify(problem, result)
    assert result.search == "sisr"
    assert result.stats["sisr_iterations"] >= 1
    assert result.initial_accepted is None and "warm_start" not in result.stats


def test_a_two_person_visit_goes_to_the_synchronised_search() -> None:
    problem = _two_person_day()
    assert not sisr.supports(problem) and syncsearch.supports(problem)
    result = solve(problem, BUDGET)
    verify(problem, result)
    assert result.search == "sync"
    starts = {i: s for r in result.routes for i, s in zip(r.visits, r.starts, strict=True)}
    assert starts[0] == starts[1]


def _capped(problem: RoutingProblem, bound: int) -> RoutingProblem:
    """``problem`` with every vehicle's working time (back - leave) at most ``bound``."""
    return replace(
        problem, vehicles=tuple(replace(v, max_duration=bound) for v in problem.vehicles)
    )


def test_cut_shifts_give_a_bounded_vehicle_a_shift_of_its_bound_around_its_rest() -> None:
    rest = BreakSpec(earliest=100, latest_end=200, duration=30)
    late = BreakSpec(earliest=800, latest_end=900, duration=30)
    wide = BreakSpec(earliest=400, latest_end=700, duration=30)
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(_window(1),),
        vehicles=(
            vehicle(max_duration=300, rest=rest),  # from the start: the rest fits
            vehicle(max_duration=300, rest=late),  # up to the end: only there it fits
            vehicle(max_duration=1000, rest=rest),  # not bounded below its shift
            vehicle(),
        ),
    )
    cut = cut_shifts(problem)
    assert cut is not None
    assert [(v.shift_start, v.shift_end, v.max_duration) for v in cut.vehicles] == [
        (0, 300, None),
        (700, 1000, None),
        (0, 1000, 1000),
        (0, 1000, None),
    ]
    assert cut.visits == problem.visits
    # A rest window wider than the bound fits neither cut; nothing bounded: nothing to cut.
    squeezed = replace(problem, vehicles=(vehicle(max_duration=250, rest=wide),))
    assert cut_shifts(squeezed) is None
    assert cut_shifts(random_problem(1)) is None


def test_a_day_of_capped_caregivers_who_rest_goes_to_the_string_removals_on_cut_shifts() -> None:
    """Weekly caps nearly used up bound each route below its shift: the compiled search does
    not keep that with a rest, so it searches the day with each shift cut to its bound and
    OR-Tools' descent finishes in the whole shift; the routes keep every rule."""
    problem = _capped(random_problem(1), 330)
    assert not sisr.supports(problem)
    result = solve(problem, BUDGET)
    verify(problem, result)
    assert result.search == "sisr_cut"
    assert result.stats["sisr_iterations"] >= 1
    assert all(r.back - r.leave <= 330 for r in result.routes)
    # The same seed and iteration budget give the same routes.
    assert _routes(problem, solve(problem, BUDGET)) == _routes(problem, result)
    off = replace(BUDGET, search=SearchConfig(sisr=False))
    assert solve(problem, off).search == "ortools"


@pytest.mark.parametrize(
    "problem",
    [
        _pinned(random_problem(2)),
        # several windows of a two-person day: neither compiled search keeps both
        replace(
            _two_person_day(),
            visits=(
                _window(2),
                _window(2),
                VisitSpec(location=1, duration=10, windows=((0, 100), (300, 400))),
            ),
        ),
    ],
    ids=["pins", "sync-with-several-windows"],
)
def test_what_no_compiled_search_keeps_goes_to_or_tools(problem: RoutingProblem) -> None:
    assert not sisr.supports(problem) and not syncsearch.supports(problem)
    result = solve(problem, BUDGET)
    verify(problem, result)
    assert result.search == "ortools"
    assert result.stats["rounds"] >= 1


def test_the_settings_can_switch_a_compiled_search_off() -> None:
    problem = random_problem(1)
    assert solve(problem, replace(BUDGET, search=SearchConfig(sisr=False))).search == "ortools"
    sync_day = _two_person_day()
    off = replace(BUDGET, search=SearchConfig(sync_search=False))
    assert solve(sync_day, off).search == "ortools"


@pytest.mark.parametrize("seed", [3, 4])
def test_a_feasible_start_is_never_made_worse_by_the_string_removal_search(seed: int) -> None:
    problem = random_problem(seed)
    start = sisr.search(problem, time_limit=5, seed=seed, iteration_limit=1).routes
    result = solve(problem, replace(BUDGET, seed=seed), initial_routes=start)
    verify(problem, result)
    assert result.search == "sisr" and result.stats["warm_start"] == 1.0
    assert result.initial_accepted is None  # the verdict is given by a call with no time
    assert _cost(problem, _routes(problem, result)) <= _cost(problem, start)


def test_a_feasible_start_is_never_made_worse_by_or_tools() -> None:
    problem = _pinned(random_problem(5))
    first = solve(problem, SolveParams(time_limit=30.0, seed=2, iteration_limit=1))
    start = _routes(problem, first)
    result = solve(problem, BUDGET, initial_routes=start)
    verify(problem, result)
    assert result.search == "ortools" and result.stats["warm_start"] == 1.0
    verdict = solve(problem, SolveParams(time_limit=0.0), initial_routes=start).initial_accepted
    assert verdict == (True,) * len(problem.vehicles)
    assert _cost(problem, _routes(problem, result)) <= _cost(problem, start)


def _two_mandatory_visits(pinned: int | None = None) -> RoutingProblem:
    """Visits at locations 1 and 2 due by 30: served 2 then 1 the first is late."""
    return RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(_window(1, hi=30, pinned_vehicle=pinned), _window(2, hi=30)),
        vehicles=(vehicle(), vehicle()),
    )


def test_a_start_that_breaks_a_window_is_dropped_and_its_visits_planned_anew() -> None:
    problem = _two_mandatory_visits()
    assert sisr.supports(problem)
    result = solve(problem, BUDGET, initial_routes=[[1, 0], []])
    verify(problem, result)
    assert result.feasible and not result.dropped
    verdict = solve(problem, SolveParams(time_limit=0.0), initial_routes=[[1, 0], []])
    assert verdict.initial_accepted == (False, True)


def test_a_start_or_tools_cannot_load_falls_back_to_a_search_from_scratch() -> None:
    problem = _two_mandatory_visits(pinned=0)
    assert not sisr.supports(problem)
    result = solve(problem, BUDGET, initial_routes=[[1, 0], []])
    verify(problem, result)
    assert result.feasible and not result.dropped
    verdict = solve(problem, SolveParams(time_limit=0.0), initial_routes=[[1, 0], []])
    assert verdict.initial_accepted == (False, True)
    assert result.stats["warm_start"] == 0.0
    assert result.search == "ortools"


def test_more_initial_routes_than_vehicles_is_an_error() -> None:
    with pytest.raises(ValueError):
        solve(random_problem(1), BUDGET, initial_routes=[[]] * 5)


def test_vehicle_costs_are_priced_where_the_search_keeps_them() -> None:
    # Serving visit 0 costs 1000 more on any vehicle but the last: the plan puts it there (left
    # to itself, it serves visit 0 with another vehicle).
    problem = replace(random_problem(7), vehicle_costs={0: (1000, 1000, 1000, 0)})
    assert not syncsearch.supports(replace(_two_person_day(), vehicle_costs={0: (5, 0)}))
    for config in (SearchConfig(), SearchConfig(sisr=False)):
        result = solve(problem, replace(BUDGET, search=config))
        verify(problem, result)
        on = {i: r.vehicle for r in result.routes for i in r.visits}
        assert on.get(0) == 3


def test_no_time_answers_the_given_routes_with_their_verdict() -> None:
    """Locations 0-3 on a line, 10 minutes apart; vehicle 0 is given the visits at 1 and 2,
    vehicle 1 (shift from 10) the visit at 3 whose window closes at 5, before it can get
    there (it may be left out, at a price): nothing is searched, vehicle 0's route comes back
    timed as given, vehicle 1's visit is dropped and the result is not feasible."""
    problem = RoutingProblem(
        matrices=(line_matrix(4),),
        visits=(_window(1), _window(2), _window(3, 0, 5, penalty=1000)),
        vehicles=(vehicle(), replace(vehicle(), shift_start=10)),
    )
    result = solve(problem, SolveParams(time_limit=0.0), initial_routes=[[0, 1], [2]])
    assert result.search == "given"
    assert [(r.vehicle, r.visits) for r in result.routes] == [(0, (0, 1))]
    assert result.routes[0].starts == (10, 30)  # 10 out, 10 of service, 10 on
    assert result.dropped == (2,)
    assert result.travel == result.objective == 40  # 0 -> 1 -> 2 -> 0 on the line
    assert not result.feasible
    assert result.initial_accepted == (True, False)
