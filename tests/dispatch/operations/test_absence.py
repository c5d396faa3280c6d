"""Absences: the station's day re-routed without the absent caregiver."""

from __future__ import annotations

from dispatch.checker import check_plan
from dispatch.operations.absence import reroute_absence
from dispatch.operations.engine import SolveParams
from tests.dispatch.operations.conftest import orders, plan, scenario

FAST = SolveParams(time_limit=1.0)


def test_an_absent_caregivers_visit_goes_to_a_colleague_with_time_left() -> None:
    tiny = scenario(b_weekly=None)
    outcome = reroute_absence(tiny, plan(), "A", "mon", orders(), params=FAST)
    [placed] = outcome.placed
    assert (placed.order, placed.caregiver, placed.stop.start) == (1, "B", 540)
    assert outcome.lost == ()
    assert [(r.caregiver, r.day) for r in outcome.plan.routes if r.stops] == [("B", "mon")]
    assert outcome.plan.kpis["planned_visits"] == 1.0
    assert check_plan(tiny, outcome.plan).ok


def test_a_colleague_near_the_weekly_cap_is_not_given_more() -> None:
    """B may work 600 minutes a week and has 540 on Tuesday: 60 are left, and H1's visit
    takes 66 (3 there, 60 on site, 3 back). The re-route counts Tuesday as a hotline booking
    does, so the visit is reported instead of pushing B over the cap."""
    tiny = scenario(b_weekly=600)
    outcome = reroute_absence(tiny, plan(), "A", "mon", orders(), params=FAST)
    assert outcome.placed == ()
    [lost] = outcome.lost
    assert (lost.order, lost.request, lost.by_hand) == (1, "R1", False)
    assert [(u.request, u.missing_visits) for u in outcome.plan.unassigned] == [("R1", 1)]
    assert all(not r.stops for r in outcome.plan.routes)
    assert outcome.plan.kpis["planned_visits"] == 0.0
    assert check_plan(tiny, outcome.plan).ok


def test_with_a_little_more_room_the_colleague_takes_it() -> None:
    outcome = reroute_absence(scenario(b_weekly=606), plan(), "A", "mon", orders(), params=FAST)
    assert [(p.order, p.caregiver) for p in outcome.placed] == [(1, "B")]
