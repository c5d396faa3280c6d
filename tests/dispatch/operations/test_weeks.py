"""One week of a plan of several weeks, taken out and put back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from dispatch.model import Scenario
from dispatch.operations.versions import PlanRejected
from dispatch.operations.weeks import is_one_week, week_of, with_week
from dispatch.weekly import plan_weeks
from solver import SolveParams

PARAMS = SolveParams(time_limit=20.0, seed=0, iteration_limit=20)


def test_a_week_taken_out_and_put_back_is_the_plan_again(week_scenario: Scenario) -> None:
    assert week_scenario.week_start is not None
    monday = date.fromisoformat(week_scenario.week_start)
    full = plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True)
    second = week_of(full, monday, 1)
    assert is_one_week(second) and not is_one_week(full)
    next_monday = (monday + timedelta(days=7)).isoformat()
    assert [(r.caregiver, r.day, r.stops) for r in second.routes] == [
        (r.caregiver, r.day, r.stops) for r in full.routes if (r.date or "") >= next_monday
    ]
    assert second.routes and all(r.date is None for r in second.routes)
    back = with_week(full, monday, 1, second, week_scenario)
    assert back.routes == full.routes and back.unassigned == full.unassigned
    assert back.weeks == 2


def test_a_week_that_leaves_the_whole_plan_broken_is_refused(week_scenario: Scenario) -> None:
    """The second week without its routes leaves its visits neither planned nor reported
    missing: the week alone is a plan, the whole is not."""
    assert week_scenario.week_start is not None
    monday = date.fromisoformat(week_scenario.week_start)
    full = plan_weeks(week_scenario, weeks=2, params=PARAMS, deterministic=True)
    emptied = replace(week_of(full, monday, 1), routes=())
    with pytest.raises(PlanRejected):
        with_week(full, monday, 1, emptied, week_scenario)


def test_a_one_week_plan_is_its_own_week(week_scenario: Scenario) -> None:
    one = plan_weeks(week_scenario, weeks=1, params=PARAMS, deterministic=True)
    assert week_of(one, date(2026, 1, 5), 0) is one
    assert with_week(one, date(2026, 1, 5), 0, one, week_scenario) is one
