"""Choosing the days again with every day's rules (:mod:`dispatch.weekly.repattern`): the phase
on one station group built as :func:`dispatch.weekly.plan_week` builds it, and whole weeks
through the checker."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from dispatch.checker import check_plan
from dispatch.daily import DayVisit
from dispatch.generate import generate_district
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario, Unassigned
from dispatch.travel import provider_for
from dispatch.weekly import plan_week
from dispatch.weekly.budget import Budget
from dispatch.weekly.day import CONTINUITY_MINUTES
from dispatch.weekly.planner import assemble
from dispatch.weekly.prepare import prepare_tasks, seed_from, station_scenario
from dispatch.weekly.repattern import build_week, can_repattern, repattern_group
from dispatch.weekly.state import Group, WeekState, day_value
from solver.problem import SolveParams
from tests.dispatch.test_weekly import caregiver, household, planned_days, request, week


def one_group(sc: Scenario, params: SolveParams) -> tuple[Group, list[Unassigned]]:
    """The greedy week of a one-station scenario as the planner's group."""
    unassigned: list[Unassigned] = []
    tasks = prepare_tasks(sc, unassigned, [])
    provider = provider_for(sc)
    state = WeekState()
    stations_of = seed_from(sc, plan_greedy(sc, travel=provider), tasks, state)
    ((key, stations),) = stations_of.items()
    sub = station_scenario(sc, stations, tasks)
    return Group(sub, key, tasks, provider, Budget.real(params), state), unassigned


def group_plan(sc: Scenario, g: Group, unassigned: list[Unassigned]) -> Plan:
    return assemble(sc, g.week, unassigned, g.tasks)


def far_pair() -> Scenario:
    """Two homes next to each other 2.2 km north of the station: one visit bound to Wednesday,
    the other once a week on any day. The greedy week puts the free one on Monday (its first
    day): two trips where one would do."""
    bound = request("BOUND", days=("wed",))
    free = request("FREE")
    return week(
        (caregiver("C1"),),
        household("H1", bound, north=0.02),
        household("H2", free, north=0.0201),
    )


def test_a_free_visit_joins_the_day_its_neighbour_is_visited() -> None:
    sc = far_pair()
    g, unassigned = one_group(sc, SolveParams(time_limit=5.0, iteration_limit=20000))
    before = group_plan(sc, g, unassigned)
    assert planned_days(before, "FREE") == ["mon"]
    assert can_repattern(g)
    assert repattern_group(g, 2.0)
    after = group_plan(sc, g, unassigned)
    assert check_plan(sc, after).violations == ()
    assert planned_days(after, "FREE") == ["wed"] and planned_days(after, "BOUND") == ["wed"]
    assert [t.days for t in g.tasks if t.request.id == "FREE"] == [("wed",)]
    travel = lambda p: check_plan(sc, p).kpis["travel_minutes"]  # noqa: E731
    assert travel(after) < travel(before)


def test_the_week_problem_starts_from_every_current_visit() -> None:
    sc = far_pair()
    g, _ = one_group(sc, SolveParams(time_limit=1.0))
    w = build_week(g)
    assert w is not None
    placed = [w.days[w.owner[c][0]].visits[w.owner[c][1]] for seq in w.initial for c in seq]
    assert sorted(placed, key=lambda v: v.request) == [
        DayVisit("BOUND", "H1"),
        DayVisit("FREE", "H2"),
    ]
    # FREE may go on any of the five days, BOUND only on Wednesday.
    assert len(w.problem.visits) == 6
    assert [len(t.patterns) for t in w.week_tasks] == [5]


def test_the_week_prices_each_request_s_caregivers_by_the_week_before() -> None:
    # Three caregivers; FREE was served three times by C1 and once by C2 the week before: among
    # FREE's caregivers C1 costs a quarter of the price, C2 three quarters, C3 the whole price.
    # BOUND's household prefers C3: C3 costs it nothing, the others the whole price.
    bound, free = request("BOUND", days=("wed",)), request("FREE")
    sc = week(
        (caregiver("C1"), caregiver("C2"), caregiver("C3")),
        household("H1", bound, north=0.02, preferred_caregivers=("C3",)),
        household("H2", free, north=0.0201),
    )
    g, _ = one_group(sc, SolveParams(time_limit=1.0))
    g.week.before = {"FREE": {"C1": 3, "C2": 1}}
    w = build_week(g)
    assert w is not None
    cont = w.continuity
    names = [cg.id for dp in w.days for cg in dp.caregivers]
    number = dict(zip(names, cont.caregiver_of, strict=True))  # one number for all days
    assert len(set(number.values())) == 3
    assert all(number[n] == k for n, k in zip(names, cont.caregiver_of, strict=True))
    request_of = lambda c: w.days[w.owner[c][0]].visits[w.owner[c][1]].request  # noqa: E731
    prices = {}
    for members, row in zip(cont.groups, cont.prices, strict=True):
        (rid,) = {request_of(c) for c in members}
        prices[rid] = {n: row[number[n]] for n in ("C1", "C2", "C3")}
        assert len(members) == (1 if rid == "BOUND" else 5)  # every day FREE may be on
    price = CONTINUITY_MINUTES
    assert prices == {
        "BOUND": {"C1": price, "C2": price, "C3": 0},
        "FREE": {"C1": price // 4, "C2": price * 3 // 4, "C3": price},
    }


def test_two_person_visits_keep_the_phase_out() -> None:
    pair = request("PAIR", staff=2)
    sc = week(
        (caregiver("C1"), caregiver("C2")),
        household("H1", pair),
        household("H2", request("FREE")),
    )
    g, _ = one_group(sc, SolveParams(time_limit=1.0))
    assert not can_repattern(g)
    assert build_week(g) is None
    assert not repattern_group(g, 1.0)


def test_the_weekly_minutes_hold_when_days_change() -> None:
    # Five one-hour visits a week each for two homes far apart, one caregiver capped at 10 hours
    # a week: the new week may move visits between days but never past the cap.
    tight = replace(caregiver("C1"), max_minutes_per_week=600)
    reqs = [request(f"R{i}", minutes=45) for i in range(6)]
    homes = [household(f"H{i}", r, north=0.004 * (i + 1)) for i, r in enumerate(reqs)]
    sc = week((tight,), *homes)
    g, unassigned = one_group(sc, SolveParams(time_limit=5.0, iteration_limit=20000))
    served = sum(day_value(g.sub, g.routes(d))[0] for d in g.sub.days)
    repattern_group(g, 2.0)
    plan = group_plan(sc, g, unassigned)
    assert check_plan(sc, plan).violations == ()
    assert sum(day_value(g.sub, g.routes(d))[0] for d in g.sub.days) >= served


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_districts_plan_clean_weeks_with_the_phase(seed: int) -> None:
    sc = generate_district(households=40, stations=1, seed=seed)
    plan = plan_week(sc, params=SolveParams(time_limit=6.0, seed=seed))
    report = check_plan(sc, plan)
    assert report.violations == ()
    greedy = check_plan(sc, plan_greedy(sc)).kpis
    assert report.kpis["planned_visits"] >= greedy["planned_visits"]
    assert report.kpis["travel_minutes"] < greedy["travel_minutes"]


def test_a_deterministic_week_with_the_phase_is_the_same_twice() -> None:
    sc = generate_district(households=12, stations=1, seed=2)
    params = SolveParams(time_limit=2.0, seed=1, iteration_limit=50)
    g, _ = one_group(sc, params)
    assert can_repattern(g)
    one = plan_week(sc, params=params, deterministic=True)
    two = plan_week(sc, params=params, deterministic=True)
    assert one == two
    assert check_plan(sc, one).violations == ()


def test_a_shift_without_shifts_is_left_alone() -> None:
    # Nobody works: no week to search.
    sc = week(
        (replace(caregiver("C1"), shifts=MappingProxyType({})),), household("H", request("A"))
    )
    g, _ = one_group(sc, SolveParams(time_limit=1.0))
    assert not can_repattern(g)


def test_a_day_only_ruled_out_patterns_hold_gets_no_visit() -> None:
    # Three visits a week, two days apart: (mon, wed, fri), (mon, wed, sat), (mon, thu, sat),
    # (tue, thu, sat). On Wednesday only a man works and the household wants a woman, so the
    # day's compiled problem leaves the request out: Friday then belongs only to patterns that
    # are ruled out, and the request must not be visited on Friday as well (the patterns are
    # given whole here, as a request may carry them).
    days = ("mon", "tue", "wed", "thu", "fri", "sat")
    thrice = request("THRICE", visits_per_week=3, min_gap_days=2)
    sc = week(
        (
            caregiver("C1", days=("mon", "tue", "thu", "fri", "sat")),
            caregiver("C2", days=days, gender="M"),
        ),
        household("H1", thrice, gender_preference="F"),
        household("H2", request("FREE"), north=0.006),
        days=days,
    )
    g, unassigned = one_group(sc, SolveParams(time_limit=5.0, iteration_limit=20000))
    (task,) = [t for t in g.tasks if t.request.id == "THRICE"]
    task.patterns = (
        ("mon", "wed", "fri"),
        ("mon", "wed", "sat"),
        ("mon", "thu", "sat"),
        ("tue", "thu", "sat"),
    )
    w = build_week(g)
    assert w is not None
    compiled = {(dp.day, v.request) for dp in w.days for v in dp.visits}
    assert ("fri", "THRICE") in compiled and ("wed", "THRICE") not in compiled
    in_week = {(w.days[k].day, w.days[k].visits[i].request) for k, i in w.owner}
    assert ("fri", "THRICE") not in in_week
    repattern_group(g, 2.0)
    plan = group_plan(sc, g, unassigned)
    assert check_plan(sc, plan).violations == ()
    assert len(planned_days(plan, "THRICE")) == 3
