"""The compiled search for synchronised visits and soft window ends (solver.syncsearch).

Results are checked by the router's independent checker (tests.solver.test_routing.verify) plus
the sync rules and the objective recomputed here; tiny problems are compared with the optimum
found by enumerating every plan.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import numpy as np
import pytest

from solver import RoutingProblem, SearchConfig, SolveParams, VisitSpec, solve, syncsearch
from solver.problem import BreakSpec, SolverResult, Sync
from solver.schedule import schedule_route
from solver.syncsearch import search, supports
from tests.solver.test_routing import line_matrix, vehicle, verify


def check(problem: RoutingProblem, result: SolverResult) -> int:
    """Verify ``result`` (times, syncs) and return its objective recomputed from the routes."""
    verify(problem, result)
    start = {}
    for route in result.routes:
        for i, s in zip(route.visits, route.starts, strict=True):
            start[i] = (route.vehicle, s)
    for s in problem.syncs:
        a, b = start.get(s.first), start.get(s.second)
        assert (a is None) == (b is None), "half a pair is served"
        if a is not None and b is not None:
            assert a[0] != b[0], "a pair on one vehicle"
            assert s.min_delay <= b[1] - a[1] <= s.max_delay
    return objective_of(problem, {i: t for i, (_, t) in start.items()}, result.travel)


def assert_earliest(problem: RoutingProblem, result: SolverResult) -> None:
    """Every visit starts as early as its route allows; a pair as early as both routes allow
    within its delay (no caregiver waits for nothing)."""
    ready: dict[int, int] = {}  # earliest start by the route alone
    start: dict[int, int] = {}
    for route in result.routes:
        spec = problem.vehicles[route.vehicle]
        m = problem.matrices[spec.profile]
        t, loc = spec.shift_start, spec.start_location
        for i, s in zip(route.visits, route.starts, strict=True):
            v = problem.visits[i]
            ready[i] = max(t + int(m[loc, v.location]), v.windows[0][0])
            start[i] = s
            t, loc = s + v.duration, v.location
    synced = {}
    for s in problem.syncs:
        if s.first in start:
            ta = max(ready[s.first], ready[s.second] - s.max_delay)
            synced[s.first] = ta
            synced[s.second] = max(ready[s.second], ta + s.min_delay)
    for i, s in start.items():
        assert s == synced.get(i, ready[i]), (i, s, ready[i])


def objective_of(problem: RoutingProblem, start: dict[int, int], travel: int) -> int:
    late = {
        i: max(0, t - v.soft_latest)
        for i, t in start.items()
        if (v := problem.visits[i]).soft_latest is not None
    }
    tard = sum(late[i] * problem.visits[i].tardiness_cost for i in late)
    worst = max(late.values(), default=0)
    dropped = sum(
        problem.visits[i].penalty or 0 for i in range(len(problem.visits)) if i not in start
    )
    return travel + tard + problem.max_tardiness_cost * worst + dropped


def visit(loc: int, dur: int = 10, lo: int = 0, hi: int = 1000, **kw: object) -> VisitSpec:
    return VisitSpec(location=loc, duration=dur, windows=((lo, hi),), **kw)  # type: ignore[arg-type]


def test_a_pair_starts_together_on_two_vehicles_at_the_later_arrival() -> None:
    # Vehicle 0 serves location 1 from 10 to 60 first; the pair at location 2 starts when both
    # are there: vehicle 1 at 20, vehicle 0 at 60 + 10.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            visit(1, dur=50, lo=10, hi=10, allowed_vehicles=frozenset({0})),
            visit(2),
            visit(2),
        ),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(1, 2),),
    )
    result = search(problem, time_limit=5, iteration_limit=200)
    assert result is not None
    check(problem, result)
    start = {
        i: (r.vehicle, s) for r in result.routes for i, s in zip(r.visits, r.starts, strict=True)
    }
    assert start[0] == (0, 10)
    assert start[1][1] == start[2][1] == 70
    assert {start[1][0], start[2][0]} == {0, 1}


def test_a_linked_pair_keeps_its_delay_and_waits_for_it() -> None:
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(visit(1, lo=30, hi=40), visit(1)),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(0, 1, 60, 90),),
    )
    result = search(problem, time_limit=5, iteration_limit=200)
    assert result is not None
    check(problem, result)
    start = {i: s for r in result.routes for i, s in zip(r.visits, r.starts, strict=True)}
    assert start[0] == 30 and start[1] == 90  # the second at the first start + 60


def test_a_pair_with_one_qualified_vehicle_is_not_staffed() -> None:
    one = frozenset({0})
    mandatory = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(visit(1, allowed_vehicles=one), visit(1, allowed_vehicles=one)),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(0, 1),),
    )
    assert search(mandatory, time_limit=5, iteration_limit=100) is None
    optional = replace(mandatory, visits=tuple(replace(v, penalty=500) for v in mandatory.visits))
    result = search(optional, time_limit=5, iteration_limit=100)
    assert result is not None
    assert result.routes == () and result.dropped == (0, 1)
    assert check(optional, result) == result.objective == 1000


def test_lateness_is_priced_and_traded_against_travel() -> None:
    # One vehicle; visits at 3 (soft end 200) and at 1 (soft end 10, 5 per unit late). Both
    # orders travel 60; serving location 3 first makes the other 45 late (225 more).
    m = line_matrix(4)
    problem = RoutingProblem(
        matrices=(m,),
        visits=(
            visit(3, dur=5, soft_latest=200, tardiness_cost=1),
            visit(1, dur=5, soft_latest=10, tardiness_cost=5),
        ),
        vehicles=(vehicle(),),
    )
    result = search(problem, time_limit=5, iteration_limit=200)
    assert result is not None
    assert result.routes[0].visits == (1, 0)
    assert check(problem, result) == result.objective == 60


def test_the_largest_lateness_is_charged_once_more() -> None:
    # Two visits at one place that cannot both be on time on one vehicle: one vehicle travels
    # 20 and makes the second visit 15 late (35); two vehicles travel 40. Charging the largest
    # lateness 5 times more (20 + 15 + 75) makes the two vehicles cheaper.
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(
            visit(1, dur=15, soft_latest=10, tardiness_cost=1),
            visit(1, dur=15, soft_latest=10, tardiness_cost=1),
        ),
        vehicles=(vehicle(), vehicle()),
    )
    cheap = search(problem, time_limit=5, iteration_limit=300)
    assert cheap is not None
    assert len(cheap.routes) == 1
    assert check(problem, cheap) == cheap.objective == 35
    dear = replace(problem, max_tardiness_cost=5)
    split = search(dear, time_limit=5, iteration_limit=300)
    assert split is not None
    assert len(split.routes) == 2
    assert check(dear, split) == split.objective == 40


def test_vehicle_rules_it_does_not_keep_are_left_to_or_tools() -> None:
    plain = RoutingProblem(matrices=(line_matrix(2),), visits=(visit(1),), vehicles=(vehicle(),))
    rest = replace(plain, vehicles=(vehicle(rest=BreakSpec(100, 200, 30)),))
    assert supports(plain) and supports(rest)
    assert not supports(replace(plain, vehicles=(vehicle(max_duration=50),)))
    # lateness and a rest together are left to OR-Tools
    late = (visit(1, soft_latest=5, tardiness_cost=1),)
    assert supports(replace(plain, visits=late))
    assert not supports(replace(rest, visits=late))
    assert not supports(replace(rest, max_tardiness_cost=1))


def test_a_pair_waits_for_the_caregiver_who_rests_first() -> None:
    # Vehicle 0 must rest 50 minutes by 60 (from 0), so it reaches location 1 at 60; vehicle 1
    # is there at 10. The pair starts at 60.
    problem = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(visit(1, dur=30), visit(1, dur=30)),
        vehicles=(vehicle(rest=BreakSpec(0, 60, 50)), vehicle()),
        syncs=(Sync(0, 1),),
    )
    result = search(problem, time_limit=5, iteration_limit=100)
    assert result is not None
    assert check(problem, result) == result.objective == 40
    assert {r.vehicle: r.starts for r in result.routes} == {0: (60,), 1: (60,)}
    rested = next(r for r in result.routes if r.vehicle == 0)
    assert rested.rest_start is not None and rested.rest_start + 50 <= 60


def test_an_earlier_pair_start_that_leaves_no_room_for_the_rest_is_not_taken() -> None:
    # Vehicle 0 rests 60 minutes inside [100, 170] and serves a visit at location 1 fixed to
    # [100, 110] first; the pair at location 2 (30 minutes) cannot start before the rest is over
    # on vehicle 0, however early vehicle 1 gets there.
    problem = RoutingProblem(
        matrices=(line_matrix(3),),
        visits=(
            visit(1, dur=5, lo=100, hi=110, allowed_vehicles=frozenset({0})),
            visit(2, dur=30, allowed_vehicles=frozenset({0, 1})),
            visit(2, dur=30, allowed_vehicles=frozenset({0, 1})),
        ),
        vehicles=(vehicle(rest=BreakSpec(100, 170, 60)), vehicle()),
        syncs=(Sync(1, 2),),
    )
    result = search(problem, time_limit=5, iteration_limit=300)
    assert result is not None
    check(problem, result)
    start = {i: s for r in result.routes for i, s in zip(r.visits, r.starts, strict=True)}
    # before the visit at 1 (at 20 from both, 30 long) or after it and the rest (from 175)
    assert start[1] == start[2]
    assert start[1] == 20 or start[1] >= 175


def test_visit_and_sync_rules_it_does_not_keep_are_left_to_or_tools() -> None:
    base = RoutingProblem(
        matrices=(line_matrix(2),),
        visits=(visit(1), visit(1), visit(1)),
        vehicles=(vehicle(), vehicle()),
        syncs=(Sync(0, 1),),
    )
    assert supports(base)
    two_windows = replace(base, visits=(VisitSpec(1, 10, ((0, 10), (50, 60))), *base.visits[1:]))
    pinned = replace(base, visits=(replace(base.visits[0], pinned_vehicle=0), *base.visits[1:]))
    assert not supports(two_windows)
    assert not supports(pinned)
    assert not supports(replace(base, syncs=(Sync(0, 1, both=False),)))
    assert not supports(replace(base, syncs=(Sync(0, 1, distinct=False),)))
    assert not supports(replace(base, syncs=(Sync(0, 1), Sync(1, 2))))


def _random_problem(
    seed: int, *, visits: int, vehicles: int, pairs: int, rests: bool = False
) -> RoutingProblem:
    rng = random.Random(seed)
    n = visits + 1
    pts = [(rng.randint(0, 40), rng.randint(0, 40)) for _ in range(n)]
    m = np.array([[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in pts] for a in pts], dtype=np.int64)
    specs = []
    for i in range(visits):
        lo = rng.randint(0, 150)
        specs.append(
            VisitSpec(
                location=i + 1,
                duration=rng.randint(5, 25),
                windows=((lo, lo + rng.randint(60, 400)),),
                allowed_vehicles=frozenset(rng.sample(range(vehicles), rng.randint(2, vehicles))),
                penalty=rng.choice([None, 400, 400]),
                soft_latest=lo + rng.randint(0, 60),
                tardiness_cost=rng.randint(0, 2),
            )
        )
    syncs = []
    for k in range(pairs):
        a, b = 2 * k, 2 * k + 1
        specs[b] = replace(specs[b], location=specs[a].location, penalty=specs[a].penalty)
        lo = rng.choice([0, 0, 10])
        syncs.append(Sync(a, b, lo, lo + rng.choice([0, 30])))
    if not rests:
        return RoutingProblem(
            matrices=(m,),
            visits=tuple(specs),
            vehicles=tuple(vehicle(shift_end=800) for _ in range(vehicles)),
            syncs=tuple(syncs),
            max_tardiness_cost=rng.randint(0, 2),
        )
    fleet = []
    for _ in range(vehicles):
        earliest = rng.randint(60, 250)
        span = rng.randint(60, 160)
        fleet.append(vehicle(shift_end=800, rest=BreakSpec(earliest, earliest + span, 45)))
    return RoutingProblem(
        matrices=(m,),
        visits=tuple(replace(v, soft_latest=None, tardiness_cost=0) for v in specs),
        vehicles=tuple(fleet),
        syncs=tuple(syncs),
    )


def _earliest(problem: RoutingProblem, routes: tuple[tuple[int, ...], ...]) -> int | None:
    """Objective of ``routes`` at their earliest times (pairs waiting for each other), or
    ``None`` when they break a rule: the reference the search is compared with."""
    m = problem.matrices[0]
    on = {i: k for k, seq in enumerate(routes) for i in seq}
    for s in problem.syncs:
        if (s.first in on) != (s.second in on):
            return None
        if s.first in on and on[s.first] == on[s.second]:
            return None
    for i, k in on.items():
        allowed = problem.visits[i].allowed_vehicles
        if allowed is not None and k not in allowed:
            return None
    if any(problem.visits[i].penalty is None for i in range(len(problem.visits)) if i not in on):
        return None
    floor = {i: problem.visits[i].windows[0][0] for i in on}
    for _ in range(4 * len(on) + 4):
        start: dict[int, int] = {}
        for k, seq in enumerate(routes):
            t, loc = problem.vehicles[k].shift_start, problem.vehicles[k].start_location
            for i in seq:
                v = problem.visits[i]
                start[i] = max(t + int(m[loc, v.location]), floor[i])
                t, loc = start[i] + v.duration, v.location
        moved = False
        for s in problem.syncs:
            if s.first in on:
                need_b = start[s.first] + s.min_delay
                need_a = start[s.second] - s.max_delay
                if start[s.second] < need_b:
                    floor[s.second] = max(floor[s.second], need_b)
                    moved = True
                if start[s.first] < need_a:
                    floor[s.first] = max(floor[s.first], need_a)
                    moved = True
        if not moved:
            break
    else:
        return None
    travel = 0
    for k, seq in enumerate(routes):
        if not seq:
            continue
        spec = problem.vehicles[k]
        locs = [spec.start_location, *(problem.visits[i].location for i in seq), spec.end_location]
        travel += sum(int(m[a, b]) for a, b in itertools.pairwise(locs))
        last = problem.visits[seq[-1]]
        if start[seq[-1]] + last.duration + int(m[last.location, spec.end_location]) > (
            spec.shift_end
        ):
            return None
    for i, t in start.items():
        if t > problem.visits[i].windows[0][1]:
            return None
    return objective_of(problem, start, travel)


def _optimum(problem: RoutingProblem) -> int | None:
    n, nveh = len(problem.visits), len(problem.vehicles)
    best = None
    for served in itertools.product([False, True], repeat=n):
        chosen = [i for i in range(n) if served[i]]
        for order in itertools.permutations(chosen):
            for cuts in itertools.combinations_with_replacement(range(len(order) + 1), nveh - 1):
                bounds = (0, *cuts, len(order))
                routes = tuple(order[a:b] for a, b in itertools.pairwise(bounds))
                cost = _earliest(problem, routes)
                if cost is not None and (best is None or cost < best):
                    best = cost
    return best


@pytest.mark.parametrize("seed", range(12))
def test_tiny_problems_reach_the_optimum_of_every_plan(seed: int) -> None:
    problem = _random_problem(seed, visits=5, vehicles=2, pairs=1)
    optimum = _optimum(problem)
    result = search(problem, time_limit=20, seed=seed, iteration_limit=3000)
    if optimum is None:
        assert result is None
        return
    assert result is not None
    assert check(problem, result) == result.objective == optimum


@pytest.mark.parametrize("rests", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_random_problems_give_plans_the_checker_accepts(seed: int, rests: bool) -> None:
    # with rests, the checker also places each route's rest (verify)
    problem = _random_problem(seed, visits=20 if rests else 24, vehicles=4, pairs=4, rests=rests)
    assert supports(problem)
    result = search(problem, time_limit=20, seed=seed, iteration_limit=1500)
    if result is None:
        # no plan with every mandatory visit: OR-Tools alone finds none either
        alone = SearchConfig(sync_search=False)
        assert not solve(problem, SolveParams(time_limit=5, search=alone)).feasible
        return
    assert check(problem, result) == result.objective
    if not rests:
        assert_earliest(problem, result)


def test_same_seed_and_iteration_budget_give_the_same_plan() -> None:
    problem = _random_problem(3, visits=20, vehicles=4, pairs=3)
    a = search(problem, time_limit=20, seed=7, iteration_limit=800)
    b = search(problem, time_limit=20, seed=7, iteration_limit=800)
    assert a is not None and b is not None
    assert a.routes == b.routes and a.objective == b.objective


def test_the_router_searches_synchronised_days_here() -> None:
    problem = _random_problem(5, visits=16, vehicles=3, pairs=2)
    result = solve(problem, SolveParams(time_limit=20, seed=1, iteration_limit=800))
    assert result.feasible
    assert result.stats.get("sync_iterations", 0) > 0
    assert check(problem, result) == result.objective
    assert_earliest(problem, result)


@pytest.mark.parametrize("rests", [False, True])
@pytest.mark.parametrize("seed", range(30))
def test_the_compiled_route_timing_agrees_with_the_schedule(seed: int, rests: bool) -> None:
    # Random routes of one vehicle, synchronised visits held at random starts in their windows:
    # the compiled walk keeps a route exactly when solver.schedule times it, with the same
    # travel and (without a rest, where one chain holds every start) the same starts.
    rng = random.Random(seed)
    problem = _random_problem(seed, visits=10, vehicles=2, pairs=3, rests=rests)
    t = syncsearch._tables(problem, syncsearch.DEFAULT_CONFIG)
    nvis = len(problem.visits)
    state = syncsearch._state(len(problem.vehicles), nvis)
    routes, route_facts, start = state[0], state[1], state[2]
    kept = 0
    for _ in range(25):
        seq = rng.sample(range(nvis), rng.randint(1, 6))
        fixed = {}
        for c in seq:
            if t.visit_facts[c, syncsearch.VISIT_ROLE] != 0:
                (lo, hi), *_ = problem.visits[c].windows
                start[c] = fixed[c] = rng.randint(lo, hi)
        routes[0, : len(seq)] = seq
        route_facts[0, syncsearch.ROUTE_LENGTH] = len(seq)
        fail = syncsearch._time_route(0, state, t.travel, t.visit_facts, t.vehicle_facts)
        times = schedule_route(problem, 0, seq, fixed=fixed)
        assert (fail < 0) == times.feasible, (seq, fixed)
        if fail >= 0:
            continue
        kept += 1
        spec = problem.vehicles[0]
        locs = [spec.start_location, *(problem.visits[c].location for c in seq), spec.end_location]
        m = problem.matrices[0]
        travel = sum(int(m[a, b]) for a, b in itertools.pairwise(locs))
        assert route_facts[0, syncsearch.ROUTE_TRAVEL] == travel
        if not rests:
            assert tuple(int(start[c]) for c in seq) == times.starts
    assert kept > 0
