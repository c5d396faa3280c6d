"""The week's search (days and routes together) against a checker written here: every route
keeps its vehicle's day, shift and the visits' windows (earliest starts, simulated), every task
lies inside one of its sets, and the objective is the routes' travel, the vehicle-visit costs,
the penalties of exactly the visits reported missing and the prices of each request's distinct
caregivers."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest

from solver.problem import RoutingProblem, Sync, VehicleSpec, VisitSpec
from solver.sisr import SisrResult
from solver.week_sisr import WeekConfig, WeekContinuity, WeekTask, search_week


def week_problem(
    seed: int, *, days: int = 3, per_day: int = 2, tasks: int = 8, fixed: int = 3
) -> tuple[RoutingProblem, list[WeekTask], list[int]]:
    """A random week: a depot at 0 and homes on a 30 x 30 grid, ``per_day`` vehicles a day
    (shift 0-300), tasks once a week on any day or twice on days two apart, and ``fixed``
    visits bound to one day. Returns the problem, its tasks and each visit's day."""
    rng = random.Random(seed)
    homes = [(rng.randint(0, 30), rng.randint(0, 30)) for _ in range(tasks + fixed)]
    points = [(15, 15), *homes]
    matrix = np.array(
        [[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in points] for a in points], dtype=np.int64
    )
    vehicles = [VehicleSpec(0, 0, 0, 300) for _ in range(days * per_day)]
    on_day = [frozenset(range(d * per_day, (d + 1) * per_day)) for d in range(days)]
    visits: list[VisitSpec] = []
    day_of: list[int] = []
    week_tasks: list[WeekTask] = []

    def add(location: int, day: int, windows: tuple[tuple[int, int], ...], minutes: int) -> int:
        visits.append(
            VisitSpec(location, minutes, windows, allowed_vehicles=on_day[day], penalty=200)
        )
        day_of.append(day)
        return len(visits) - 1

    for t in range(tasks):
        start = rng.choice([0, 60, 120])
        windows = ((start, start + rng.choice([60, 150])),)
        if rng.random() < 0.3:
            windows = (*windows, (240, 280))
        minutes = rng.choice([10, 20, 30])
        node = [add(1 + t, d, windows, minutes) for d in range(days)]
        if rng.random() < 0.5:
            sets = tuple((node[d],) for d in range(days))
        else:
            sets = tuple((node[d], node[d + 2]) for d in range(days - 2))
            sets += ((node[0], node[days - 1]),) if days > 3 else ()
        week_tasks.append(WeekTask(patterns=sets))
    for f in range(fixed):
        add(1 + tasks + f, rng.randrange(days), ((0, 300),), 20)
    problem = RoutingProblem(matrices=(matrix,), visits=tuple(visits), vehicles=tuple(vehicles))
    return problem, week_tasks, day_of


def _start(v: VisitSpec, t: int) -> int | None:
    for lo, hi in v.windows:
        if t <= hi:
            return max(t, lo)
    return None


def violations(
    problem: RoutingProblem,
    tasks: Sequence[WeekTask],
    result: SisrResult,
    continuity: WeekContinuity | None = None,
) -> tuple[list[str], int]:
    """What breaks a rule in ``result`` and the objective it should report."""
    bad: list[str] = []
    m = problem.matrices[0]
    seen: set[int] = set()
    cost = 0
    for k, seq in enumerate(result.routes):
        veh = problem.vehicles[k]
        t, at = veh.shift_start, veh.start_location
        for c in seq:
            v = problem.visits[c]
            if c in seen:
                bad.append(f"visit {c} twice")
            seen.add(c)
            if v.allowed_vehicles is not None and k not in v.allowed_vehicles:
                bad.append(f"visit {c} on vehicle {k} of another day")
            start = _start(v, t + int(m[at, v.location]))
            cost += int(m[at, v.location])
            if problem.vehicle_costs:
                cost += int(problem.vehicle_costs.get(c, [0] * len(problem.vehicles))[k])
            if start is None:
                bad.append(f"visit {c} misses its windows on vehicle {k}")
                break
            t, at = start + v.duration, v.location
        if seq:
            cost += int(m[at, veh.end_location])
            if t + int(m[at, veh.end_location]) > veh.shift_end:
                bad.append(f"vehicle {k} back after its shift")
    missing: set[int] = set()
    member = {c for task in tasks for p in task.patterns for c in p}
    for i, task in enumerate(tasks):
        placed = {c for p in task.patterns for c in p if c in seen}
        holding = [p for p in task.patterns if placed <= set(p)]
        if not holding:
            bad.append(f"task {i} on {sorted(placed)}, inside none of its sets")
            continue
        fewest = min(holding, key=lambda p: len(set(p) - placed))
        missing |= set(fewest) - placed
    missing |= {c for c in range(len(problem.visits)) if c not in member and c not in seen}
    if missing != set(result.dropped):
        bad.append(f"dropped {sorted(result.dropped)}, missing {sorted(missing)}")
    cost += sum(problem.visits[c].penalty or 0 for c in missing)
    if continuity is not None:
        vehicle_of = {c: k for k, seq in enumerate(result.routes) for c in seq}
        for members, prices in zip(continuity.groups, continuity.prices, strict=True):
            who = {continuity.caregiver_of[vehicle_of[c]] for c in members if c in vehicle_of}
            cost += sum(prices[w] for w in who)
    return bad, cost


def random_continuity(
    problem: RoutingProblem, tasks: Sequence[WeekTask], seed: int, per_day: int = 2
) -> WeekContinuity:
    """Vehicle ``k`` is caregiver ``k % per_day``; each task's visits a group, each other
    visit a group of its own; prices 0 to 40."""
    rng = random.Random(seed)
    member = [sorted({c for p in t.patterns for c in p}) for t in tasks]
    inside = {c for m in member for c in m}
    groups = [tuple(m) for m in member]
    groups += [(c,) for c in range(len(problem.visits)) if c not in inside]
    return WeekContinuity(
        caregiver_of=tuple(k % per_day for k in range(len(problem.vehicles))),
        groups=tuple(groups),
        prices=tuple(tuple(rng.randint(0, 40) for _ in range(per_day)) for _ in groups),
    )


QUICK = {"time_limit": 10.0, "iteration_limit": 3000}


@pytest.mark.parametrize("seed", range(12))
def test_random_weeks_keep_every_rule_and_report_their_cost(seed: int) -> None:
    problem, tasks, _ = week_problem(seed, days=3 + seed % 3)
    result = search_week(problem, tasks, seed=seed, **QUICK)
    bad, cost = violations(problem, tasks, result)
    assert bad == []
    assert result.objective == cost


@pytest.mark.parametrize("seed", range(8))
def test_random_weeks_with_continuity_report_their_caregivers_prices(seed: int) -> None:
    problem, tasks, _ = week_problem(seed, days=3 + seed % 3, tasks=10)
    continuity = random_continuity(problem, tasks, seed)
    result = search_week(problem, tasks, seed=seed, continuity=continuity, **QUICK)
    bad, cost = violations(problem, tasks, result, continuity)
    assert bad == []
    assert result.objective == cost


def two_day_request(price: int) -> tuple[RoutingProblem, WeekContinuity]:
    """One request visited on both of two days (visits 0 and 1 at home 1). Caregivers 0 and
    1 each have a vehicle a day; caregiver 0 starts next to the home on day 0 (1 away) and
    far on day 1 (20 away), caregiver 1 the other way round."""
    # locations: 0 the home's neighbour, 1 the home, 2 far away
    matrix = np.array([[0, 1, 20], [1, 0, 20], [20, 20, 0]], dtype=np.int64)
    d0, d1 = frozenset({0, 1}), frozenset({2, 3})
    visits = (
        VisitSpec(1, 5, ((0, 200),), allowed_vehicles=d0, penalty=1000),
        VisitSpec(1, 5, ((0, 200),), allowed_vehicles=d1, penalty=1000),
    )
    vehicles = (
        VehicleSpec(0, 0, 0, 200),  # day 0, caregiver 0: near
        VehicleSpec(2, 2, 0, 200),  # day 0, caregiver 1: far
        VehicleSpec(2, 2, 0, 200),  # day 1, caregiver 0: far
        VehicleSpec(0, 0, 0, 200),  # day 1, caregiver 1: near
    )
    problem = RoutingProblem(matrices=(matrix,), visits=visits, vehicles=vehicles)
    continuity = WeekContinuity(
        caregiver_of=(0, 1, 0, 1), groups=((0, 1),), prices=((price, price),)
    )
    return problem, continuity


def test_a_dear_second_caregiver_keeps_a_request_with_one() -> None:
    # Split (each day's near caregiver): travel 2 + 2, two caregivers. One caregiver: travel
    # 2 + 40. At a price of 50 one caregiver costs 42 + 50 = 92 against 4 + 100 = 104.
    problem, continuity = two_day_request(50)
    tasks = [WeekTask(patterns=((0, 1),))]
    result = search_week(problem, tasks, continuity=continuity, initial=[[0], [], [], [1]], **QUICK)
    on = {k for k, seq in enumerate(result.routes) if seq}
    assert on in ({0, 2}, {1, 3})
    assert result.objective == 92
    # At a price of 10 the split is cheaper: 4 + 20 = 24 against 42 + 10 = 52.
    problem, continuity = two_day_request(10)
    result = search_week(problem, tasks, continuity=continuity, initial=[[0], [], [2], []], **QUICK)
    assert {k for k, seq in enumerate(result.routes) if seq} == {0, 3}
    assert result.objective == 24


def test_a_task_put_back_whole_looks_again_for_the_caregiver_it_already_has() -> None:
    # One pattern iteration from nothing: the cheapest places alone are each day's near
    # caregiver (two caregivers); the second visit, looked at again with the first one
    # placed, goes to the same caregiver (42 + 50 = 92 against 4 + 100 = 104).
    problem, continuity = two_day_request(50)
    result = search_week(
        problem,
        [WeekTask(patterns=((0, 1),))],
        continuity=continuity,
        config=WeekConfig(pattern_rate=1.0),
        time_limit=10.0,
        iteration_limit=1,
    )
    assert result.iterations == 1
    assert result.objective == 92


def spread_caregivers(seed: int) -> tuple[RoutingProblem, list[WeekTask], WeekContinuity]:
    """Three caregivers whose bases (where each day's route starts and ends) rotate with the
    day, so that the nearest caregiver of a home changes from day to day; twelve requests
    visited on two days two apart of four, a caregiver costing 25 among a request's."""
    rng = random.Random(seed)
    cgs, days = 3, 4
    points = [(rng.randint(0, 30), rng.randint(0, 30)) for _ in range(cgs + 12)]
    matrix = np.array(
        [[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in points] for a in points], dtype=np.int64
    )
    vehicles = [
        VehicleSpec((j + d) % cgs, (j + d) % cgs, 0, 400) for d in range(days) for j in range(cgs)
    ]
    visits: list[VisitSpec] = []
    tasks: list[WeekTask] = []
    groups: list[tuple[int, ...]] = []
    for t in range(12):
        node = []
        for d in range(days):
            on_day = frozenset(range(d * cgs, (d + 1) * cgs))
            visits.append(
                VisitSpec(cgs + t, 15, ((0, 400),), allowed_vehicles=on_day, penalty=1000)
            )
            node.append(len(visits) - 1)
        tasks.append(WeekTask(patterns=tuple((node[d], node[d + 2]) for d in range(days - 2))))
        groups.append(tuple(node))
    problem = RoutingProblem(matrices=(matrix,), visits=tuple(visits), vehicles=tuple(vehicles))
    continuity = WeekContinuity(
        caregiver_of=tuple(k % cgs for k in range(len(vehicles))),
        groups=tuple(groups),
        prices=tuple((25,) * cgs for _ in groups),
    )
    return problem, tasks, continuity


@pytest.mark.parametrize("seed", range(6))
def test_insertions_weigh_continuity_so_requests_keep_one_caregiver_early(seed: int) -> None:
    # A few hundred iterations from nothing: insertions that weighed travel alone would split
    # requests between the day's nearest caregivers and leave the annealing to mend them.
    problem, tasks, continuity = spread_caregivers(seed)
    result = search_week(
        problem, tasks, seed=seed, continuity=continuity, time_limit=10.0, iteration_limit=300
    )
    bad, cost = violations(problem, tasks, result, continuity)
    assert bad == []
    assert result.objective == cost
    vehicle_of = {c: k for k, seq in enumerate(result.routes) for c in seq}
    for members in continuity.groups:
        assert (
            len({continuity.caregiver_of[vehicle_of[c]] for c in members if c in vehicle_of}) == 1
        )


def test_a_request_moves_whole_to_a_nearer_caregiver_at_no_price() -> None:
    # Caregiver 1 starts next to the home on both days, caregiver 0 far on both: the request
    # starts with caregiver 0 and moves to caregiver 1, one caregiver either way (travel 80 ->
    # 4). A price per visit moved (2 x 50 = 100 > 76 saved) would have kept it where it was.
    matrix = np.array([[0, 1, 20], [1, 0, 20], [20, 20, 0]], dtype=np.int64)
    d0, d1 = frozenset({0, 1}), frozenset({2, 3})
    visits = (
        VisitSpec(1, 5, ((0, 200),), allowed_vehicles=d0, penalty=1000),
        VisitSpec(1, 5, ((0, 200),), allowed_vehicles=d1, penalty=1000),
    )
    far, near = VehicleSpec(2, 2, 0, 200), VehicleSpec(0, 0, 0, 200)
    problem = RoutingProblem(matrices=(matrix,), visits=visits, vehicles=(far, near, far, near))
    continuity = WeekContinuity(caregiver_of=(0, 1, 0, 1), groups=((0, 1),), prices=((50, 50),))
    result = search_week(
        problem,
        [WeekTask(patterns=((0, 1),))],
        continuity=continuity,
        initial=[[0], [], [1], []],
        **QUICK,
    )
    assert result.routes == ((), (0,), (), (1,))
    assert result.objective == 2 + 2 + 50


@pytest.mark.parametrize("seed", range(6))
def test_the_search_improves_on_the_week_it_starts_from(seed: int) -> None:
    # Start: every task on its first set, each visit at the end of its day's first vehicle
    # when the times allow it.
    problem, tasks, day_of = week_problem(seed, days=4, tasks=10)
    per_day = 2
    initial: list[list[int]] = [[] for _ in problem.vehicles]
    for task in tasks:
        for c in task.patterns[0]:
            initial[day_of[c] * per_day].append(c)
    start = SisrResult(
        routes=tuple(tuple(r) for r in initial),
        dropped=(),
        objective=0,
        feasible=True,
        iterations=0,
    )
    bad, start_cost = violations(problem, tasks, start)
    result = search_week(problem, tasks, seed=seed, initial=initial, **QUICK)
    after, cost = violations(problem, tasks, result)
    assert after == []
    assert result.objective == cost
    if not bad:  # a feasible start: the search only keeps better weeks
        assert cost <= start_cost


def test_a_task_moves_to_the_day_its_neighbour_is_visited() -> None:
    # Depot 0, homes 1 and 2 next to each other, 10 away. Visit 0/1 is task A on day 0 or 1;
    # visit 2 (home 2) is bound to day 1. A on day 1 costs 21 (0-1-2-0), on day 0 40.
    matrix = np.array([[0, 10, 10], [10, 0, 1], [10, 1, 0]], dtype=np.int64)
    d0, d1 = frozenset({0}), frozenset({1})
    visits = (
        VisitSpec(1, 5, ((0, 100),), allowed_vehicles=d0, penalty=100),
        VisitSpec(1, 5, ((0, 100),), allowed_vehicles=d1, penalty=100),
        VisitSpec(2, 5, ((0, 100),), allowed_vehicles=d1, penalty=100),
    )
    problem = RoutingProblem(
        matrices=(matrix,), visits=visits, vehicles=(VehicleSpec(0, 0, 0, 100),) * 2
    )
    tasks = [WeekTask(patterns=((0,), (1,)))]
    result = search_week(problem, tasks, initial=[[0], [2]], **QUICK)
    assert result.routes[0] == ()
    assert sorted(result.routes[1]) == [1, 2]
    assert result.objective == 21
    assert result.dropped == ()


def test_a_task_that_fits_on_no_day_of_a_set_counts_the_missing_visits() -> None:
    # Task: both days or neither. Day 1's shift is too short for the home: one visit planned
    # (day 0), the other one missing with its penalty.
    matrix = np.array([[0, 10], [10, 0]], dtype=np.int64)
    visits = (
        VisitSpec(1, 5, ((0, 100),), allowed_vehicles=frozenset({0}), penalty=50),
        VisitSpec(1, 5, ((0, 100),), allowed_vehicles=frozenset({1}), penalty=50),
    )
    problem = RoutingProblem(
        matrices=(matrix,),
        visits=visits,
        vehicles=(VehicleSpec(0, 0, 0, 100), VehicleSpec(0, 0, 0, 15)),
    )
    result = search_week(problem, [WeekTask(patterns=((0, 1),))], **QUICK)
    assert result.routes == ((0,), ())
    assert result.dropped == (1,)
    assert result.objective == 20 + 50


def test_same_seed_and_iterations_give_the_same_week() -> None:
    problem, tasks, _ = week_problem(3, days=5, tasks=12)
    one = search_week(problem, tasks, seed=7, **QUICK)
    two = search_week(problem, tasks, seed=7, **QUICK)
    assert one.routes == two.routes
    assert one.objective == two.objective


def test_malformed_tasks_and_unsupported_problems_are_refused() -> None:
    problem, tasks, _ = week_problem(1)
    with pytest.raises(ValueError, match="already in tasks"):
        search_week(problem, [tasks[0], tasks[0]], **QUICK)
    with pytest.raises(ValueError, match="not a visit of the problem"):
        search_week(problem, [WeekTask(patterns=((999,),))], **QUICK)
    synced = RoutingProblem(
        matrices=problem.matrices,
        visits=problem.visits,
        vehicles=problem.vehicles,
        syncs=(Sync(0, 1),),
    )
    with pytest.raises(ValueError, match="does not keep"):
        search_week(synced, tasks, **QUICK)
    good = random_continuity(problem, tasks, 0)
    for bad, match in [
        ({"caregiver_of": (0,)}, "caregiver_of"),
        ({"groups": (*good.groups, (0,))}, "prices"),
        ({"groups": ((0,), (0,)), "prices": ((1, 1), (1, 1))}, "already in group"),
        ({"groups": ((999,),), "prices": ((1, 1),)}, "not a visit of the problem"),
        ({"prices": ((1,),) * len(good.groups)}, "caregivers"),
    ]:
        broken = WeekContinuity(**{**good.__dict__, **bad})
        with pytest.raises(ValueError, match=match):
            search_week(problem, tasks, continuity=broken, **QUICK)
