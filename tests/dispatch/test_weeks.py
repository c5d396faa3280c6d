"""Several weeks in one plan: spacing across week boundaries, dates, per-week counts.

The fixture is ``tests/fixtures/week_scenario.json`` (Monday 2026-11-23, mon-fri, two
caregivers, three requests of two visits a week at least two days apart).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from itertools import pairwise

import pytest

from dispatch.checker import check_plan
from dispatch.model import Route, Scenario, ServiceRequest, Stop
from dispatch.travel import provider_for
from dispatch.weekly import Progress, plan_week, plan_weeks, scenario_of_week
from dispatch.weekly.budget import Budget
from dispatch.weekly.state import Group, WeekState
from solver.problem import SolveParams

# Small and reproducible: a seed and an iteration budget give one plan.
PARAMS = SolveParams(time_limit=2.0, seed=1, iteration_limit=50)
MONDAY = dt.date(2026, 11, 30)


def with_request(sc: Scenario, rid: str, **changes: object) -> Scenario:
    hhs = tuple(
        replace(h, requests=tuple(replace(r, **changes) if r.id == rid else r for r in h.requests))
        for h in sc.households
    )
    return replace(sc, households=hhs)


def request(sc: Scenario, rid: str) -> ServiceRequest:
    return next(r for _, r in sc.requests() if r.id == rid)


# --- the week's scenario ----------------------------------------------------------------------


def test_a_gap_reaching_into_the_next_week_narrows_its_days(week_scenario: Scenario) -> None:
    # H1-clean (every planned day) last visited Friday 11-27: Monday 11-30 is 3 days later.
    sc = with_request(week_scenario, "H1-clean", min_gap_days=4)
    sub = scenario_of_week(sc, MONDAY, {"H1-clean": dt.date(2026, 11, 27)})
    assert request(sub, "H1-clean").days == ("tue", "wed", "thu", "fri")
    assert sub.week_start == "2026-11-30"


def test_a_gap_that_ends_in_time_leaves_the_request_as_it_is(week_scenario: Scenario) -> None:
    sub = scenario_of_week(
        week_scenario, MONDAY, {"H1-clean": dt.date(2026, 11, 27), "H2-care": dt.date(2026, 11, 27)}
    )
    assert request(sub, "H1-clean") == request(week_scenario, "H1-clean")  # days stay None
    assert request(sub, "H2-care") == request(week_scenario, "H2-care")


def test_a_requests_own_days_are_narrowed_too(week_scenario: Scenario) -> None:
    # H2-care allows mon/wed/fri; a gap of 5 after Friday 11-27 starts on Wednesday 12-02.
    sc = with_request(week_scenario, "H2-care", min_gap_days=5, visits_per_week=1)
    sub = scenario_of_week(sc, MONDAY, {"H2-care": dt.date(2026, 11, 27)})
    assert request(sub, "H2-care").days == ("wed", "fri")


def test_fixed_patterns_keep_their_days_after_the_gap(week_scenario: Scenario) -> None:
    # Last visit Friday 11-27, 3 days apart at least: Monday 11-30 is too close.
    sc = with_request(
        week_scenario, "H1-clean", min_gap_days=4, patterns=(("mon", "thu"), ("tue", "fri"))
    )
    sub = scenario_of_week(sc, MONDAY, {"H1-clean": dt.date(2026, 11, 27)})
    assert request(sub, "H1-clean").patterns == (("thu",), ("tue", "fri"))


def test_a_pattern_cut_short_still_plans_a_clean_fortnight(week_scenario: Scenario) -> None:
    # Every pattern holds Monday and a visit can fall on Friday: after a Friday visit week 2
    # gets only the pattern's later day, and the checker finds every rule kept.
    sc = with_request(
        week_scenario, "H1-clean", min_gap_days=4, patterns=(("mon", "fri"),), days=None
    )
    plan = plan_weeks(sc, weeks=2, params=PARAMS, deterministic=True)
    assert check_plan(sc, plan).violations == ()
    cleans = sorted(r.date or "" for r in plan.routes for s in r.stops if s.request == "H1-clean")
    assert cleans == ["2026-11-23", "2026-11-27", "2026-12-04"]
    (short,) = (u for u in plan.unassigned if u.request == "H1-clean")
    assert short.missing_visits == 1 and short.detail.startswith("week of 2026-11-30")


# --- continuity from week to week -------------------------------------------------------------


def test_a_group_prefers_last_weeks_caregivers(week_scenario: Scenario) -> None:
    # C1 cleaned H1 twice last week and cleans it this Monday; C2 visited H3 last week.
    week = WeekState(before={"H1-clean": {"C1": 2}, "H3-visit": {"C2": 1}})
    g = Group(week_scenario, "S1", [], provider_for(week_scenario), Budget.real(PARAMS), week)
    monday = Route("C1", "mon", 480, 600, (Stop("H1-clean", "H1", 490, 510, 600),))
    week.routes[("S1", "mon")] = (monday,)
    assert g.affinity("wed") == {"H1-clean": {"C1": 3}, "H3-visit": {"C2": 1}}
    assert g.affinity("mon") == {"H1-clean": {"C1": 2}, "H3-visit": {"C2": 1}}


# --- plans of several weeks -------------------------------------------------------------------


def test_two_weeks_are_checker_clean_and_dated(week_scenario: Scenario) -> None:
    plan = plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True)
    assert plan.weeks == 2
    dates = {r.date or "" for r in plan.routes}
    assert min(dates) >= "2026-11-23" and max(dates) <= "2026-12-06"
    assert any(d >= "2026-11-30" for d in dates)
    report = check_plan(week_scenario, plan)
    assert report.violations == ()
    assert plan.kpis["required_visits"] == 2 * 6
    assert plan.kpis["planned_visits"] == report.kpis["planned_visits"]
    assert "solver_seconds" in plan.kpis


def test_spacing_holds_across_the_week_boundary(week_scenario: Scenario) -> None:
    # One visit a week at least 6 days apart: week 2's visit comes no earlier than 6 days
    # after week 1's, whatever day that was.
    sc = with_request(week_scenario, "H3-visit", visits_per_week=1, min_gap_days=6)
    plan = plan_weeks(sc, weeks=3, params=PARAMS, deterministic=True)
    assert check_plan(sc, plan).violations == ()
    visits = sorted(
        dt.date.fromisoformat(r.date or "")
        for r in plan.routes
        for s in r.stops
        if s.request == "H3-visit"
    )
    assert all((b - a).days >= 6 for a, b in pairwise(visits))


def test_one_week_is_the_weekly_plan_as_it_is(week_scenario: Scenario) -> None:
    one = plan_weeks(week_scenario, weeks=1, params=PARAMS, deterministic=True)
    assert one.weeks == 1 and all(r.date is None for r in one.routes)
    again = plan_week(week_scenario, params=PARAMS, deterministic=True)
    assert (one.routes, one.unassigned) == (again.routes, again.unassigned)


def test_bad_week_counts_and_a_missing_week_start(week_scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        plan_weeks(week_scenario, weeks=0)
    with pytest.raises(ValueError, match="week_start"):
        plan_weeks(replace(week_scenario, week_start=None), weeks=2)


def test_progress_of_several_weeks_carries_the_best_plan_so_far(week_scenario: Scenario) -> None:
    """Each report with a plan holds the weeks planned and the current week's best so far,
    dated, and passes the checker over those weeks."""
    reports: list[Progress] = []
    plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True, progress=reports.append)
    partial = [p.plan for p in reports if p.plan is not None and p.stage != "done"]
    assert {p.weeks for p in partial} == {1, 2}
    for plan in partial:
        assert all(r.date is not None for r in plan.routes)
        assert all(u.week is not None for u in plan.unassigned)
        assert check_plan(week_scenario, plan).ok
    final = next(p.plan for p in reports if p.stage == "done")
    assert final is not None
    week_one = [r for r in final.routes if (r.date or "") < "2026-11-30"]
    second = next(p for p in partial if p.weeks == 2)
    assert week_one and all(r in second.routes for r in week_one)
