"""One week of a plan of several weeks, taken out for a change of the live day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from dispatch.checker import check_plan
from dispatch.model import Scenario, Unassigned
from dispatch.operations.weeks import is_one_week, week_of
from dispatch.weekly import plan_weeks
from solver import SolveParams

PARAMS = SolveParams(time_limit=20.0, seed=0, iteration_limit=20)


def test_a_week_taken_out_is_its_routes_undated_and_passes_the_checker(
    week_scenario: Scenario,
) -> None:
    assert week_scenario.week_start is not None
    monday = date.fromisoformat(week_scenario.week_start)
    full = plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True)
    second = week_of(full, monday, 1)
    assert is_one_week(second) and not is_one_week(full)
    next_monday = monday + timedelta(days=7)
    assert [(r.caregiver, r.day, r.stops) for r in second.routes] == [
        (r.caregiver, r.day, r.stops) for r in full.routes if (r.date or "") >= str(next_monday)
    ]
    assert second.routes and all(r.date is None for r in second.routes)
    week_two = replace(week_scenario, week_start=next_monday.isoformat())
    assert check_plan(week_two, second).ok


def test_a_week_keeps_only_its_own_unassigned_entries(week_scenario: Scenario) -> None:
    assert week_scenario.week_start is not None
    monday = date.fromisoformat(week_scenario.week_start)
    full = plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True)
    second = str(monday + timedelta(days=7))
    missing = (
        Unassigned("H1-clean", "H1", 1, "no_time", week=str(monday)),
        Unassigned("H3-visit", "H3", 1, "no_time", week=second),
    )
    taken = week_of(replace(full, unassigned=missing), monday, 1)
    assert taken.unassigned == (Unassigned("H3-visit", "H3", 1, "no_time"),)


def test_a_one_week_plan_is_its_own_week(week_scenario: Scenario) -> None:
    one = plan_weeks(week_scenario, weeks=1, params=PARAMS, deterministic=True)
    assert week_of(one, date(2026, 1, 5), 0) is one
