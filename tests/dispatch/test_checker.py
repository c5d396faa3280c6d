"""The independent checker on one tiny hand-made week: a clean plan, then one broken rule a case.

Geometry (all on the meridian 106.00 E, so distance is latitude alone): one degree of latitude
is 6371.0088 * pi / 180 = 111.195 km. The scenario sets circuity 1.0 and e-bikes to 60 km/h,
so travel minutes = ceil(km):

    S1 38.00   H1 38.08   H2 38.13   H3 37.96
    S1-H1 0.08 deg  8.90 km ->  9 min      H1-H2 0.05 deg  5.56 km ->  6 min
    S1-H2 0.13 deg 14.46 km -> 15 min      H1-H3 0.12 deg 13.34 km -> 14 min
    S1-H3 0.04 deg  4.45 km ->  5 min      H2-H3 0.17 deg 18.90 km -> 19 min

Caregivers (days mon-fri planned):
    C1  F, skills cleaning/bathing/meal_delivery, mon/wed/fri 08:00-17:00,
        break 60 min in 11:30-13:30, <= 1200 min a week, <= 3 visits a day, capacity 1
    C2  M, skills bathing/meal_delivery, mon/wed 08:00-12:00, no break, no limits
Requests:
    H1-clean  cleaning 90 min, 2 a week, >= 2 days apart, window 08:30-11:00, mon-fri;
              household H1 wants a woman and refuses C2
    H2-bath   bed bath (skill bathing) 60 min, two caregivers, 1 a week, 10:00-11:30, mon/wed
    H3-meal   meal delivery 10 min, load 1, 3 a week, 10:30-12:30 or 16:30-18:00

The clean plan (worked out by hand):
    C1 mon: leave 08:00; H1 arr 08:09 (+9) start 08:30 end 10:00; H2 arr 10:06 (+6) start
            10:10 end 11:10; H3 arr 11:29 (+19) start 11:30 end 11:40; break 11:40-12:40;
            back 12:45 (12:40 + 5). Works 285 min.
    C2 mon: leave 09:50; H2 arr 10:05 (+15) start 10:10 end 11:10; back 11:25 (+15). 95 min.
    C1 wed: leave 08:00; H1 arr 08:09 start 08:30 end 10:00; H3 arr 10:14 (+14) start 10:30
            end 10:40; back 10:45 (+5); break 12:00-13:00 after the route. 165 min.
    H3-meal gets 2 of 3 visits: one unassigned visit, reason capacity.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from dispatch.checker import RULE_TEXT, CheckReport, Rule, Violation, check_plan
from dispatch.haversine import haversine_km, scenario_travel
from dispatch.model import (
    After,
    Break,
    Caregiver,
    Household,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Station,
    Stop,
    TravelSettings,
    Unassigned,
)
from dispatch.timeutil import parse_hhmm as hm

LON = 106.0


def tiny_scenario() -> Scenario:
    """The week described in the module docstring."""
    c1 = Caregiver(
        id="C1",
        station="S1",
        gender="F",
        skills=frozenset({"cleaning", "bathing", "meal_delivery"}),
        shifts=MappingProxyType({d: (hm("08:00"), hm("17:00")) for d in ("mon", "wed", "fri")}),
        rest=Break(hm("11:30"), hm("13:30"), 60),
        max_minutes_per_week=1200,
        max_visits_per_day=3,
        capacity=1,
    )
    c2 = Caregiver(
        id="C2",
        station="S1",
        gender="M",
        skills=frozenset({"bathing", "meal_delivery"}),
        shifts=MappingProxyType({d: (hm("08:00"), hm("12:00")) for d in ("mon", "wed")}),
    )
    clean = ServiceRequest(
        id="H1-clean",
        service="cleaning",
        minutes=90,
        windows=((hm("08:30"), hm("11:00")),),
        visits_per_week=2,
        min_gap_days=2,
        days=("mon", "tue", "wed", "thu", "fri"),
    )
    bath = ServiceRequest(
        id="H2-bath",
        service="bed_bath",
        skill="bathing",
        minutes=60,
        windows=((hm("10:00"), hm("11:30")),),
        days=("mon", "wed"),
        staff=2,
    )
    meal = ServiceRequest(
        id="H3-meal",
        service="meal_delivery",
        minutes=10,
        windows=((hm("10:30"), hm("12:30")), (hm("16:30"), hm("18:00"))),
        visits_per_week=3,
        load=1,
    )
    return Scenario(
        name="tiny week",
        days=("mon", "tue", "wed", "thu", "fri"),
        travel=TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0})),
        stations=(Station("S1", 38.00, LON, "站"),),
        caregivers=(c1, c2),
        households=(
            Household(
                "H1", 38.08, LON, (clean,), gender_preference="F", forbidden_caregivers=("C2",)
            ),
            Household("H2", 38.13, LON, (bath,)),
            Household("H3", 37.96, LON, (meal,)),
        ),
    )


def stop(request: str, household: str, arrival: str, start: str, end: str) -> Stop:
    return Stop(request, household, hm(arrival), hm(start), hm(end))


def valid_plan() -> Plan:
    """The clean plan described in the module docstring."""
    c1_mon = Route(
        "C1",
        "mon",
        hm("08:00"),
        hm("12:45"),
        (
            stop("H1-clean", "H1", "08:09", "08:30", "10:00"),
            stop("H2-bath", "H2", "10:06", "10:10", "11:10"),
            stop("H3-meal", "H3", "11:29", "11:30", "11:40"),
        ),
        RouteBreak(hm("11:40"), hm("12:40")),
    )
    c2_mon = Route(
        "C2", "mon", hm("09:50"), hm("11:25"), (stop("H2-bath", "H2", "10:05", "10:10", "11:10"),)
    )
    c1_wed = Route(
        "C1",
        "wed",
        hm("08:00"),
        hm("10:45"),
        (
            stop("H1-clean", "H1", "08:09", "08:30", "10:00"),
            stop("H3-meal", "H3", "10:14", "10:30", "10:40"),
        ),
        RouteBreak(hm("12:00"), hm("13:00")),
    )
    return Plan(
        scenario="tiny week",
        routes=(c1_mon, c2_mon, c1_wed),
        unassigned=(Unassigned("H3-meal", "H3", 1, "capacity", "C1 carries one meal a day"),),
    )


# Indexes into valid_plan().routes
C1_MON, C2_MON, C1_WED = 0, 1, 2


def with_route(plan: Plan, i: int, **changes) -> Plan:
    routes = list(plan.routes)
    routes[i] = replace(routes[i], **changes)
    return replace(plan, routes=tuple(routes))


def with_stop(plan: Plan, i: int, j: int, **changes) -> Plan:
    """Change stop ``j`` of route ``i``; ``"HH:MM"`` values become minutes."""
    values: dict[str, Any] = {
        k: hm(v) if isinstance(v, str) and ":" in v else v for k, v in changes.items()
    }
    stops = list(plan.routes[i].stops)
    stops[j] = replace(stops[j], **values)
    return with_route(plan, i, stops=tuple(stops))


def with_caregiver(sc: Scenario, cid: str, **changes) -> Scenario:
    cgs = tuple(replace(c, **changes) if c.id == cid else c for c in sc.caregivers)
    return replace(sc, caregivers=cgs)


def with_household(sc: Scenario, hid: str, **changes) -> Scenario:
    hhs = tuple(replace(h, **changes) if h.id == hid else h for h in sc.households)
    return replace(sc, households=hhs)


def with_request(sc: Scenario, rid: str, **changes) -> Scenario:
    hhs = tuple(
        replace(h, requests=tuple(replace(r, **changes) if r.id == rid else r for r in h.requests))
        for h in sc.households
    )
    return replace(sc, households=hhs)


def rules(report: CheckReport) -> set[str]:
    return {v.rule for v in report.violations}


# --- the clean plan ---------------------------------------------------------------------------


def test_travel_minutes_worked_out_by_hand():
    minutes = scenario_travel(tiny_scenario())
    expected = {
        ("station:S1", "household:H1"): 9,
        ("household:H1", "household:H2"): 6,
        ("station:S1", "household:H2"): 15,
        ("station:S1", "household:H3"): 5,
        ("household:H1", "household:H3"): 14,
        ("household:H2", "household:H3"): 19,
    }
    for (a, b), m in expected.items():
        assert minutes(a, b, "ebike") == m
        assert minutes(b, a, "ebike") == m
    assert minutes("household:H2", "household:H2", "ebike") == 0
    # Walking keeps the contract's default 4.5 km/h: 8.8956 km -> 118.6 -> 119 min.
    assert minutes("station:S1", "household:H1", "walk") == 119


def test_haversine_km_of_one_degree_of_latitude():
    assert haversine_km(38.0, LON, 39.0, LON) == pytest.approx(111.19508, abs=1e-4)
    assert haversine_km(38.0, LON, 38.0, LON) == 0.0


def test_default_travel_model_agrees_with_the_solvers_matrix():
    from dispatch.travel import HaversineProvider, Place

    sc = replace(tiny_scenario(), travel=TravelSettings())
    minutes = scenario_travel(sc)
    places = [Place("station:S1", 38.0, LON)] + [
        Place(f"household:{h.id}", h.lat, h.lon) for h in sc.households
    ]
    for mode in ("walk", "ebike", "car"):
        m = HaversineProvider().matrix(places, mode)
        for i, a in enumerate(places):
            for j, b in enumerate(places):
                assert minutes(a.key, b.key, mode) == int(m[i, j])


def test_default_travel_model_agrees_with_the_solvers_matrix_on_a_district():
    import random

    from dispatch.travel import HaversineProvider, Place

    rng = random.Random(7)
    households = tuple(
        Household(f"H{i}", 38.45 + rng.random() * 0.1, 106.2 + rng.random() * 0.1)
        for i in range(60)
    )
    sc = replace(tiny_scenario(), households=households, travel=TravelSettings())
    minutes = scenario_travel(sc)
    places = [Place(f"household:{h.id}", h.lat, h.lon) for h in households]
    m = HaversineProvider().matrix(places, "ebike")
    mine = [[minutes(a.key, b.key, "ebike") for b in places] for a in places]
    assert mine == m.tolist()


def test_unknown_mode_is_a_value_error():
    minutes = scenario_travel(tiny_scenario())
    with pytest.raises(ValueError, match="horse"):
        minutes("station:S1", "household:H1", "horse")


def test_plan_on_one_of_the_fixed_patterns_is_clean():
    sc = with_request(SC, "H1-clean", patterns=(("tue", "thu"), ("mon", "wed")))
    assert check_plan(sc, PLAN).violations == ()


def test_valid_plan_is_clean():
    report = check_plan(tiny_scenario(), valid_plan())
    assert report.violations == ()
    assert report.ok
    assert report.kpis["planned_visits"] == 5


# --- one broken rule per case -----------------------------------------------------------------

SC, PLAN = tiny_scenario(), valid_plan()

BROKEN: list[tuple[str, Scenario, Plan, Rule]] = [
    # A route by a caregiver the scenario does not know; the two-person bath still has two.
    ("unknown caregiver", SC, with_route(PLAN, C2_MON, caregiver="C9"), Rule.UNKNOWN_REFERENCE),
    # Saturday is not planned; C1 has no Saturday shift, but unknown days are not judged further.
    ("unknown day", SC, with_route(PLAN, C1_WED, day="sat"), Rule.UNKNOWN_REFERENCE),
    # H3's Wednesday meal names request H9-x; H3-meal then lacks a visit (see ALSO_EXPECTED).
    (
        "unknown request",
        SC,
        with_route(
            PLAN,
            C1_WED,
            stops=(PLAN.routes[C1_WED].stops[0], stop("H9-x", "H3", "10:14", "10:30", "10:40")),
        ),
        Rule.UNKNOWN_REFERENCE,
    ),
    (
        "stop household mismatch",
        SC,
        with_stop(PLAN, C1_WED, 1, household="H1"),
        Rule.UNKNOWN_REFERENCE,
    ),
    (
        "unassigned household mismatch",
        SC,
        replace(PLAN, unassigned=(Unassigned("H3-meal", "H1", 1, "capacity"),)),
        Rule.UNKNOWN_REFERENCE,
    ),
    # An empty second Monday route for C2 (no time, no stops) breaks nothing else.
    (
        "duplicate route",
        SC,
        replace(PLAN, routes=(*PLAN.routes, Route("C2", "mon", hm("08:00"), hm("08:00")))),
        Rule.DUPLICATE_ROUTE,
    ),
    ("leave before shift", SC, with_route(PLAN, C1_WED, leave=hm("07:50")), Rule.SHIFT),
    # C2 back 12:10 after a shift ending 12:00.
    ("back after shift", SC, with_route(PLAN, C2_MON, back=hm("12:10")), Rule.SHIFT),
    # Thursday: C1 has no shift; H1 mon/thu are 3 days apart; the break is still in its window.
    ("no shift that day", SC, with_route(PLAN, C1_WED, day="thu"), Rule.SHIFT),
    # H3 on Wednesday at 10:20 (arrival 10:14, back 10:45 >= 10:30 + 5), window opens 10:30.
    (
        "start outside window",
        SC,
        with_stop(PLAN, C1_WED, 1, start="10:20", end="10:30"),
        Rule.TIME_WINDOW,
    ),
    # End 10:39 instead of 10:40 (earlier, so the ride back still fits).
    ("end is not start plus minutes", SC, with_stop(PLAN, C1_WED, 1, end="10:39"), Rule.STOP_TIMES),
    # Arrives 08:35 at H1 but starts 08:30; the ride from 08:00 (9 min) still fits.
    ("start before arrival", SC, with_stop(PLAN, C1_WED, 0, arrival="08:35"), Rule.STOP_TIMES),
    # Arrival 08:05 at H1 is under the 9 min ride from leaving at 08:00.
    ("first leg too short", SC, with_stop(PLAN, C1_WED, 0, arrival="08:05"), Rule.TRAVEL),
    # H1 ends 10:00, H3 needs 14 min: arrival 10:10 is too early.
    ("middle leg too short", SC, with_stop(PLAN, C1_WED, 1, arrival="10:10"), Rule.TRAVEL),
    # H3 ends 10:40, station 5 min away: back 10:44 is too early.
    ("last leg too short", SC, with_route(PLAN, C1_WED, back=hm("10:44")), Rule.TRAVEL),
    # Monday: H3 ends 11:40, 60 min break, 5 min ride: back 12:44 leaves 4 min to ride.
    ("break leaves no time to ride", SC, with_route(PLAN, C1_MON, back=hm("12:44")), Rule.TRAVEL),
    ("break missing", SC, with_route(PLAN, C1_WED, rest=None), Rule.BREAK),
    (
        "break too short",
        SC,
        with_route(PLAN, C1_WED, rest=RouteBreak(hm("12:00"), hm("12:50"))),
        Rule.BREAK,
    ),
    (
        "break outside window",
        SC,
        with_route(PLAN, C1_WED, rest=RouteBreak(hm("13:00"), hm("14:00"))),
        Rule.BREAK,
    ),
    # 11:35-12:35 overlaps H3's 11:30-11:40; the ride back still fits: 12:45 - 11:40 - 55 >= 5.
    (
        "break overlaps a visit",
        SC,
        with_route(PLAN, C1_MON, rest=RouteBreak(hm("11:35"), hm("12:35"))),
        Rule.BREAK,
    ),
    (
        "skill missing",
        with_caregiver(SC, "C2", skills=frozenset({"meal_delivery"})),
        PLAN,
        Rule.SKILL,
    ),
    ("gender preference", with_household(SC, "H2", gender_preference="F"), PLAN, Rule.GENDER),
    (
        "forbidden caregiver",
        with_household(SC, "H2", forbidden_caregivers=("C2",)),
        PLAN,
        Rule.FORBIDDEN,
    ),
    (
        "day the request does not allow",
        with_request(SC, "H2-bath", days=("tue", "wed")),
        PLAN,
        Rule.REQUEST_DAY,
    ),
    ("daily visit cap", with_caregiver(SC, "C1", max_visits_per_day=2), PLAN, Rule.DAILY_VISITS),
    # C1 works 285 + 165 = 450 min.
    (
        "weekly minutes",
        with_caregiver(SC, "C1", max_minutes_per_week=449),
        PLAN,
        Rule.WEEKLY_MINUTES,
    ),
    (
        "more visits than a week wants",
        with_request(SC, "H1-clean", visits_per_week=1),
        PLAN,
        Rule.FREQUENCY,
    ),
    # C2 also brings H3's meal on Monday: H2 ends 11:10, +19 -> 11:29, start 11:35, end 11:45,
    # back 11:50 (+5) inside C2's shift; C1 brought it at 11:30: two visits that day.
    (
        "two visits on one day",
        SC,
        with_route(
            PLAN,
            C2_MON,
            back=hm("11:50"),
            stops=(*PLAN.routes[C2_MON].stops, stop("H3-meal", "H3", "11:29", "11:35", "11:45")),
        ),
        Rule.FREQUENCY,
    ),
    ("spacing", with_request(SC, "H1-clean", min_gap_days=3), PLAN, Rule.SPACING),
    # H1-clean is planned on mon and wed; neither fixed pattern holds both.
    (
        "days outside every fixed pattern",
        with_request(SC, "H1-clean", patterns=(("mon", "thu"), ("tue", "fri"))),
        PLAN,
        Rule.PATTERN,
    ),
    # C2 starts the bath at 10:11 (end 11:11, back 11:26), C1 at 10:10.
    (
        "two-person visit not together",
        SC,
        with_stop(
            with_route(PLAN, C2_MON, back=hm("11:26")), C2_MON, 0, start="10:11", end="11:11"
        ),
        Rule.STAFF,
    ),
    (
        "two-person visit by one caregiver",
        SC,
        replace(PLAN, routes=(PLAN.routes[C1_MON], PLAN.routes[C1_WED])),
        Rule.STAFF,
    ),
    # Same as "two visits on one day" but C2 starts at 11:30 with C1: one visit, two people.
    (
        "one-person visit by two",
        SC,
        with_route(
            PLAN,
            C2_MON,
            back=hm("11:45"),
            stops=(*PLAN.routes[C2_MON].stops, stop("H3-meal", "H3", "11:29", "11:30", "11:40")),
        ),
        Rule.STAFF,
    ),
    # H3's meal starts 11:30 Monday, 180 min after H1's 08:30 clean (Wednesday: 10:30, 120 min).
    (
        "linked visit outside its delay",
        with_request(SC, "H3-meal", after=After("H1-clean", 0, 60)),
        PLAN,
        Rule.AFTER,
    ),
    # The bath is planned on Monday only; the Wednesday meal has no bath to follow.
    (
        "linked visit without its first visit",
        with_request(SC, "H3-meal", after=After("H2-bath", 0, 120)),
        PLAN,
        Rule.AFTER,
    ),
    # C1 carries H3's meal (load 1) on Monday and Wednesday.
    ("capacity", with_caregiver(SC, "C1", capacity=0), PLAN, Rule.CAPACITY),
    (
        "unassigned count wrong",
        SC,
        replace(PLAN, unassigned=(Unassigned("H3-meal", "H3", 2, "capacity"),)),
        Rule.UNASSIGNED,
    ),
    ("unassigned entry missing", SC, replace(PLAN, unassigned=()), Rule.UNASSIGNED),
    (
        "unassigned reason not in the list",
        SC,
        replace(PLAN, unassigned=(Unassigned("H3-meal", "H3", 1, "too_busy"),)),
        Rule.UNASSIGNED,
    ),
    (
        "unassigned for a fully planned request",
        SC,
        replace(PLAN, unassigned=(*PLAN.unassigned, Unassigned("H1-clean", "H1", 1, "capacity"))),
        Rule.UNASSIGNED,
    ),
]


def dated(plan: Plan, dates: tuple[str, ...], *, weeks: int = 1) -> Plan:
    """``plan`` with route ``i`` dated ``dates[i]``."""
    routes = tuple(replace(r, date=d) for r, d in zip(plan.routes, dates, strict=True))
    return replace(plan, routes=routes, weeks=weeks)


# The valid plan in the week of Monday 2026-11-23.
SC_DATED = replace(SC, week_start="2026-11-23")
PLAN_DATED = dated(PLAN, ("2026-11-23", "2026-11-23", "2026-11-25"))

BROKEN += [
    # Thursday's date on a Wednesday route.
    (
        "date on another weekday",
        SC_DATED,
        with_route(PLAN_DATED, C1_WED, date="2026-11-26"),
        Rule.DATE,
    ),
]

# The unknown request removes a planned visit of H3-meal, which the unassigned rule must see.
ALSO_EXPECTED = {"unknown request": {Rule.UNASSIGNED}}


@pytest.mark.parametrize(("name", "sc", "plan", "rule"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_rule_is_reported_alone(name: str, sc: Scenario, plan: Plan, rule: Rule):
    report = check_plan(sc, plan)
    assert not report.ok
    assert rules(report) == {rule.value} | ALSO_EXPECTED.get(name, set()), report.violations
    for v in report.violations:
        assert v.message


def test_every_rule_has_a_broken_case_and_a_text():
    assert {b[3] for b in BROKEN} == set(Rule)
    assert set(RULE_TEXT) == set(Rule)


def test_linked_visit_inside_its_delay_is_clean():
    # Monday 11:30 - 08:30 = 180 min, Wednesday 10:30 - 08:30 = 120 min: both in 120-180.
    sc = with_request(SC, "H3-meal", after=After("H1-clean", 120, 180))
    assert check_plan(sc, PLAN).violations == ()


def test_violation_names_where_it_happened():
    report = check_plan(tiny_scenario(), with_stop(PLAN, C1_WED, 0, arrival="08:05"))
    assert report.violations == (
        Violation(
            rule="travel",
            message=report.violations[0].message,
            caregiver="C1",
            day="wed",
            request="H1-clean",
        ),
    )
    assert "08:09" in report.violations[0].message


def test_break_not_required_when_shift_does_not_cover_the_window():
    # C2 gets C1's break rule; its 08:00-12:00 shift does not contain 11:30-13:30.
    sc = with_caregiver(SC, "C2", rest=Break(hm("11:30"), hm("13:30"), 60))
    assert check_plan(sc, PLAN).ok


def test_two_broken_routes_give_two_violations():
    sc = with_caregiver(SC, "C1", capacity=0)
    report = check_plan(sc, PLAN)
    assert [(v.caregiver, v.day) for v in report.violations] == [("C1", "mon"), ("C1", "wed")]


def test_custom_travel_function_is_used():
    # Everything 30 min apart: C1's first ride (08:00 -> 08:09) is now too short, among others.
    def slow(a: str, b: str, mode: str) -> int:
        return 0 if a == b else 30

    report = check_plan(tiny_scenario(), valid_plan(), travel=slow)
    assert rules(report) == {Rule.TRAVEL.value}
    assert report.kpis["travel_minutes"] == 30 * 9


def test_checker_does_not_load_the_solver_or_numpy():
    code = (
        "import sys, dispatch.checker; "
        "bad = [m for m in ('ortools', 'numpy', 'solver', 'dispatch.travel') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- plans of several weeks -------------------------------------------------------------------
#
# Two weeks from Monday 2026-11-23 over mon-sat; C1 also works Saturdays. Week 1 is the valid
# plan with C1's Wednesday route moved to Saturday 11-28; week 2 is the valid plan as it is
# (Monday 11-30, Wednesday 12-02). H1-clean: 11-23, 11-28, 11-30, 12-02; Saturday to the next
# Monday is 2 days. C1 works 285 + 165 = 450 min each week, 900 in all. H3-meal misses one
# visit a week.


def two_weeks(*, gap: int = 2, cap: int = 1200) -> tuple[Scenario, Plan]:
    days = ("mon", "tue", "wed", "thu", "fri", "sat")
    sc = replace(SC, days=days, week_start="2026-11-23")
    shifts = MappingProxyType({d: (hm("08:00"), hm("17:00")) for d in ("mon", "wed", "fri", "sat")})
    sc = with_caregiver(sc, "C1", shifts=shifts, max_minutes_per_week=cap)
    sc = with_request(sc, "H1-clean", days=days, min_gap_days=gap)
    c1_mon, c2_mon, c1_wed = PLAN.routes
    routes = (
        replace(c1_mon, date="2026-11-23"),
        replace(c2_mon, date="2026-11-23"),
        replace(c1_wed, day="sat", date="2026-11-28"),
        replace(c1_mon, date="2026-11-30"),
        replace(c2_mon, date="2026-11-30"),
        replace(c1_wed, date="2026-12-02"),
    )
    missing = (Unassigned("H3-meal", "H3", 2, "capacity"),)
    return sc, Plan(scenario=sc.name, routes=routes, unassigned=missing, weeks=2)


def test_two_week_plan_is_clean_and_counted_over_both_weeks():
    sc, plan = two_weeks()
    report = check_plan(sc, plan)
    assert report.violations == ()
    # (2 + 1 + 3) a week, two weeks; 5 visits a week planned.
    assert report.kpis["required_visits"] == 12
    assert report.kpis["planned_visits"] == 10


def test_spacing_across_the_week_boundary_is_counted_in_days():
    # Saturday 11-28 to Monday 11-30 is 2 days: enough for a gap of 2, too little for 3.
    assert check_plan(*two_weeks(gap=2)).violations == ()
    sc, plan = two_weeks(gap=3)
    found = check_plan(sc, plan).violations
    # Monday 11-30 to Wednesday 12-02 is 2 days as well.
    assert [(v.rule, v.day, v.request) for v in found] == [
        ("spacing", "2026-11-30", "H1-clean"),
        ("spacing", "2026-12-02", "H1-clean"),
    ]
    assert "2026-11-28 and 2026-11-30 are 2 day(s) apart" in found[0].message


def test_sunday_then_monday_breaks_a_gap_of_two_and_keeps_a_gap_of_one():
    def sunday_first(gap: int) -> tuple[Scenario, Plan]:
        sc, plan = two_weeks(gap=gap)
        sc = replace(sc, days=(*sc.days, "sun"))
        sc = with_request(sc, "H1-clean", days=sc.days)
        shifts = {**sc.caregiver("C1").shifts, "sun": (hm("08:00"), hm("17:00"))}
        sc = with_caregiver(sc, "C1", shifts=MappingProxyType(shifts))
        return sc, with_route(plan, 2, day="sun", date="2026-11-29")

    assert check_plan(*sunday_first(1)).violations == ()
    assert rules(check_plan(*sunday_first(2))) == {Rule.SPACING.value}


def test_weekly_minutes_are_counted_per_iso_week():
    # 450 min a week is 90 % of 500: each week keeps the cap though the plan has 900.
    assert check_plan(*two_weeks(cap=500)).violations == ()
    found = check_plan(*two_weeks(cap=440)).violations
    assert [v.rule for v in found] == ["weekly_minutes", "weekly_minutes"]
    assert "the week of 2026-11-23" in found[0].message
    assert "the week of 2026-11-30" in found[1].message


def test_one_week_over_the_cap_is_flagged_alone():
    sc, plan = two_weeks(cap=500)
    # C1 also works Friday 12-04 in week 2: 450 + 55 = 505 min.
    friday = Route("C1", "fri", hm("09:00"), hm("09:55"), (), None, "2026-12-04")
    found = check_plan(sc, replace(plan, routes=(*plan.routes, friday))).violations
    assert [(v.rule, v.caregiver) for v in found] == [("weekly_minutes", "C1")]
    assert "505 working minutes in the week of 2026-11-30" in found[0].message


def test_visits_per_week_are_counted_per_week():
    sc, plan = two_weeks()
    # A third H1-clean visit in week 1, on C1's Wednesday 11-25 (the valid Wednesday route).
    extra = replace(PLAN.routes[C1_WED], date="2026-11-25")
    found = check_plan(sc, replace(plan, routes=(*plan.routes, extra))).violations
    assert Rule.FREQUENCY.value in rules(CheckReport(found))
    assert any("the week of 2026-11-23" in v.message for v in found if v.rule == "frequency")


def test_missing_visits_are_counted_per_week():
    sc, plan = two_weeks()
    # Without week 2's Wednesday, H1-clean and H3-meal each miss one more visit there.
    short = replace(plan, routes=plan.routes[:5])
    found = check_plan(sc, short).violations
    assert {v.request for v in found if v.rule == "unassigned"} == {"H1-clean", "H3-meal"}
    fixed = replace(
        short,
        unassigned=(
            Unassigned("H1-clean", "H1", 1, "capacity"),
            Unassigned("H3-meal", "H3", 3, "capacity"),
        ),
    )
    assert check_plan(sc, fixed).violations == ()
    assert check_plan(sc, fixed).kpis["planned_visits"] == 8


def test_dates_outside_the_planned_weeks_or_on_another_weekday_are_flagged():
    sc, plan = two_weeks()
    one_week = replace(plan, weeks=1)
    found = check_plan(sc, one_week).violations
    assert {v.rule for v in found} >= {"date"}
    assert sum(1 for v in found if v.rule == "date") == 3  # the three routes of week 2
    assert "outside the planned weeks 2026-11-23 to 2026-11-29" in found[0].message
    early = with_route(plan, 0, date="2026-11-16")
    assert any(v.rule == "date" for v in check_plan(sc, early).violations)


def test_routes_partly_dated_are_flagged():
    sc, plan = two_weeks()
    found = check_plan(sc, with_route(plan, 3, date=None)).violations
    assert any(v.rule == "date" and "no date" in v.message for v in found)
    undated = replace(plan, routes=tuple(replace(r, date=None) for r in plan.routes))
    assert any(v.rule == "date" for v in check_plan(sc, undated).violations)


def test_two_routes_of_a_caregiver_on_one_date_but_not_one_weekday():
    sc, plan = two_weeks()
    again = replace(plan, routes=(*plan.routes, plan.routes[1]))
    assert Rule.DUPLICATE_ROUTE.value in rules(check_plan(sc, again))
    # The same weekday in two weeks is two days: two Monday routes of C1 are no duplicate.
    assert Rule.DUPLICATE_ROUTE.value not in rules(check_plan(sc, plan))


def test_undated_one_week_plan_is_checked_as_before():
    report = check_plan(SC_DATED, PLAN)
    assert report.violations == ()
    assert report.kpis == check_plan(SC, PLAN).kpis


def test_violations_of_a_dated_plan_name_the_date():
    sc, plan = two_weeks()
    late = with_route(plan, 5, back=hm("17:10"))  # C1 on Wednesday 12-02, shift ends 17:00
    assert [(v.rule, v.caregiver, v.day) for v in check_plan(sc, late).violations] == [
        ("shift", "C1", "2026-12-02")
    ]
