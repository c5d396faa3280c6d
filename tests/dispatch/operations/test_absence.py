"""Absences: the station's day re-routed without the absent caregiver."""

from __future__ import annotations

from dataclasses import replace

from dispatch.checker import check_plan
from dispatch.model import (
    Break,
    Household,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Stop,
)
from dispatch.operations.absence import reroute_absence
from dispatch.operations.day import DayOrder
from dispatch.operations.engine import SolveParams
from dispatch.reasons import Reason
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


# --- the live day: ``now``, started visits and accepted orders -----------------------------
#
# H2 lies 0.56 km north of H1 (3 minutes by e-bike; the station is 3 minutes from H1 and 6
# from H2). B's order 2 serves R2 at H2 (60 minutes, window 09:00–12:00).

H2 = (38.48, 106.27)


def _with_b_at_h2(r1_windows: tuple[tuple[int, int], ...] = ((540, 720),)) -> Scenario:
    tiny = scenario()
    r1 = replace(tiny.households[0].requests[0], windows=r1_windows)
    r2 = ServiceRequest("R2", "welfare_visit", 60, ((540, 720),), days=("mon",))
    return replace(
        tiny,
        households=(
            replace(tiny.households[0], requests=(r1,)),
            Household("H2", *H2, (r2,)),
        ),
    )


def _plan_with_b(start: int) -> Plan:
    """A visits H1 at 09:00, B visits H2 at ``start``."""
    return Plan(
        scenario="tiny",
        routes=(
            Route("A", "mon", 537, 603, (Stop("R1", "H1", 540, 540, 600),)),
            Route("B", "mon", start - 6, start + 66, (Stop("R2", "H2", start, start, start + 60),)),
        ),
    )


def _b_order(start: int, *, fixed: bool = False) -> DayOrder:
    return DayOrder(2, "B", "R2", "H2", start, start + 60, *H2, (540, 720), fixed=fixed)


def _starts(plan: Plan) -> dict[str, tuple[str, int]]:
    return {s.request: (r.caregiver, s.start) for r in plan.routes for s in r.stops}


def test_nothing_moves_before_now_and_the_taker_leaves_the_station_at_now() -> None:
    """At 10:30 A's 09:00 visit has not started; B has nothing yet and leaves the station at
    10:30: 3 minutes to H1, the visit starts 10:33."""
    tiny = scenario()
    outcome = reroute_absence(tiny, plan(), "A", "mon", orders(), now=630, params=FAST)
    [placed] = outcome.placed
    assert (placed.order, placed.caregiver, placed.stop.arrival, placed.stop.start) == (
        1,
        "B",
        633,
        633,
    )
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert b.leave == 630
    assert check_plan(tiny, outcome.plan).ok


def test_a_window_closed_before_now_is_reported_with_its_reason() -> None:
    outcome = reroute_absence(scenario(), plan(), "A", "mon", orders(), now=750, params=FAST)
    assert outcome.placed == ()
    [lost] = outcome.lost
    assert (lost.order, lost.reason) == (1, Reason.NO_TIME_WINDOW_FITS.value)
    assert "12:30" in lost.detail
    assert [u.request for u in outcome.plan.unassigned] == ["R1"]


def test_a_started_visit_stays_and_the_next_is_reached_from_there() -> None:
    """B checked in at H2 at 09:30 (until 10:30); at 10:00 A is absent. B's visit stays at
    09:30 and B goes on from H2 when it ends: 3 minutes to H1, R1 starts 10:33."""
    tiny = _with_b_at_h2()
    day = [*orders(), _b_order(570, fixed=True)]
    outcome = reroute_absence(tiny, _plan_with_b(570), "A", "mon", day, now=600, params=FAST)
    starts = _starts(outcome.plan)
    assert starts == {"R1": ("B", 633), "R2": ("B", 570)}
    assert not any(s.request.startswith("@") for r in outcome.plan.routes for s in r.stops)
    assert check_plan(tiny, outcome.plan).ok


def test_a_colleagues_accepted_order_keeps_its_caregiver_and_start() -> None:
    """B accepted H2 at 11:00–12:00. A's R1 (60 minutes) may only start 10:30–11:30: before
    H2 it would end 11:30, after it B reaches H1 at 12:03. Kept where it is, H2 leaves no
    room, and R1 is reported."""
    tiny = _with_b_at_h2(((630, 690),))
    day = [*orders(), _b_order(660)]
    outcome = reroute_absence(tiny, _plan_with_b(660), "A", "mon", day, accepted={2}, params=FAST)
    assert _starts(outcome.plan) == {"R2": ("B", 660)}
    assert [(x.order, x.request) for x in outcome.lost] == [(1, "R1")]
    assert check_plan(tiny, outcome.plan).ok


def test_an_accepted_order_moves_when_the_dispatcher_allows_it() -> None:
    """The same day with ``allow_moving_accepted``: H2 moves out of R1's way and both are
    served by B."""
    tiny = _with_b_at_h2(((630, 690),))
    day = [*orders(), _b_order(660)]
    outcome = reroute_absence(
        tiny,
        _plan_with_b(660),
        "A",
        "mon",
        day,
        accepted={2},
        allow_moving_accepted=True,
        params=FAST,
    )
    starts = _starts(outcome.plan)
    assert starts["R1"][0] == starts["R2"][0] == "B"
    assert starts["R2"][1] != 660
    assert outcome.lost == ()
    assert check_plan(tiny, outcome.plan).ok


def test_a_merely_dispatched_order_of_a_colleague_may_move() -> None:
    tiny = _with_b_at_h2(((630, 690),))
    day = [*orders(), _b_order(660)]
    outcome = reroute_absence(tiny, _plan_with_b(660), "A", "mon", day, params=FAST)
    assert outcome.lost == ()
    assert _starts(outcome.plan)["R2"][1] != 660


def test_a_colleague_whose_shift_is_over_keeps_the_visits_done() -> None:
    """At 16:57 B, who checked in at H2 at 09:30, could not be back at the station by 17:00
    from H2 (6 minutes): B's day is over and stays as it was; A's visit (window closed at
    12:00) is reported."""
    tiny = _with_b_at_h2()
    day = [*orders(), _b_order(570, fixed=True)]
    outcome = reroute_absence(tiny, _plan_with_b(570), "A", "mon", day, now=1017, params=FAST)
    assert outcome.placed == ()
    assert [(x.order, x.reason) for x in outcome.lost] == [(1, Reason.NO_TIME_WINDOW_FITS.value)]
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert (b.leave, [s.start for s in b.stops], b.back) == (564, [570], 636)
    assert check_plan(tiny, outcome.plan).ok


# --- the rest (午休) of the colleague who takes over: 11:30–13:30, 60 minutes -------------


def _b_rests(tiny: Scenario) -> Scenario:
    """``tiny`` with B's rest of 60 minutes in 11:30–13:30 and R1 open 09:00–16:00."""
    r1 = replace(tiny.households[0].requests[0], windows=((540, 960),))
    b = replace(tiny.caregivers[1], rest=Break(690, 810, 60))
    return replace(
        tiny,
        caregivers=(tiny.caregivers[0], b),
        households=(replace(tiny.households[0], requests=(r1,)), *tiny.households[1:]),
    )


def test_a_rest_not_yet_begun_is_planned_from_now_inside_its_window() -> None:
    """At 11:50 B takes A's visit: B's rest still fits 11:50–13:30 and the new route has one
    there, of 60 minutes, apart from the visit."""
    tiny = _b_rests(scenario())
    outcome = reroute_absence(tiny, plan(), "A", "mon", orders(), now=710, params=FAST)
    [placed] = outcome.placed
    assert placed.caregiver == "B"
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert b.rest is not None and b.rest.start >= 710 and b.rest.end <= 810
    assert b.rest.end - b.rest.start == 60
    assert b.rest.end <= placed.stop.arrival or placed.stop.end <= b.rest.start
    assert check_plan(tiny, outcome.plan).ok


def test_a_rest_taken_before_now_stays_where_it_was() -> None:
    """B rested 12:00–13:00 on the plan; at 14:00 A falls ill and B leaves the station at
    14:00 for A's visit, the rest kept as it was."""
    tiny = _b_rests(scenario())
    planned = replace(
        plan(),
        routes=(
            *plan().routes,
            Route("B", "mon", 480, 1020, (), RouteBreak(720, 780)),
        ),
    )
    outcome = reroute_absence(tiny, planned, "A", "mon", orders(), now=840, params=FAST)
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert b.rest == RouteBreak(720, 780)
    assert (b.leave, [s.start for s in b.stops]) == (840, [843])
    assert check_plan(tiny, outcome.plan).ok


def test_a_rest_in_progress_delays_the_taker_until_it_ends() -> None:
    """At 12:30 B is resting (12:00–13:00): B leaves for A's visit when the rest ends."""
    tiny = _b_rests(scenario())
    planned = replace(
        plan(), routes=(*plan().routes, Route("B", "mon", 480, 1020, (), RouteBreak(720, 780)))
    )
    outcome = reroute_absence(tiny, planned, "A", "mon", orders(), now=750, params=FAST)
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert b.rest == RouteBreak(720, 780)
    assert b.leave >= 780 and [s.start for s in b.stops] == [b.leave + 3]
    assert check_plan(tiny, outcome.plan).ok


def test_an_idle_colleague_past_the_rest_window_has_rested() -> None:
    """B had nothing on Monday: at 14:00 the rest window is over and B was free in it, so the
    new route records the rest at the window's start (11:30–12:30)."""
    tiny = _b_rests(scenario())
    outcome = reroute_absence(tiny, plan(), "A", "mon", orders(), now=840, params=FAST)
    [b] = [r for r in outcome.plan.routes if r.caregiver == "B" and r.day == "mon"]
    assert b.rest == RouteBreak(690, 750)
    assert [s.start for s in b.stops] == [843]
    assert check_plan(tiny, outcome.plan).ok
