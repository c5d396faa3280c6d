"""The weekly planner: frequency, spacing, patterns, continuity, weekly minutes, reasons.

Small weeks built in code: station S at (38.0, 106.0); households a few hundred metres away
(e-bike, travel a few minutes); caregivers work 08:00–17:00 on the days given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.checker import check_plan
from dispatch.daily import DayVisit, compile_day
from dispatch.greedy import plan_greedy
from dispatch.model import (
    DAYS,
    After,
    Break,
    Caregiver,
    Household,
    Plan,
    Route,
    Scenario,
    ServiceRequest,
    Station,
    Stop,
)
from dispatch.reasons import Reason
from dispatch.timeutil import parse_hhmm as hm
from dispatch.travel import provider_for
from dispatch.weekly import (
    CONTINUITY_MINUTES,
    Budget,
    Progress,
    candidate_patterns,
    plan_week,
)
from dispatch.weekly.day import continuity_costs
from dispatch.weekly.polish import reroute_station_day
from dispatch.weekly.relabel import relabel_group
from dispatch.weekly.state import Group, WeekState, day_value
from solver import solve
from solver.problem import RoutingProblem, SolveParams, VehicleSpec, VisitSpec

WEEK = ("mon", "tue", "wed", "thu", "fri")
FAST = SolveParams(time_limit=0.5)


def caregiver(
    cid: str,
    *,
    days: tuple[str, ...] = WEEK,
    skills: tuple[str, ...] = ("cleaning", "care"),
    gender: str = "F",
    **kw: Any,
) -> Caregiver:
    shifts = MappingProxyType({d: (hm("08:00"), hm("17:00")) for d in days})
    return Caregiver(
        id=cid, station="S", gender=gender, skills=frozenset(skills), shifts=shifts, **kw
    )


def request(rid: str, **kw: Any) -> ServiceRequest:
    base: dict[str, Any] = {
        "service": "cleaning",
        "minutes": 60,
        "windows": ((hm("08:30"), hm("16:00")),),
    }
    base.update(kw)
    return ServiceRequest(id=rid, **base)


def household(hid: str, *requests: ServiceRequest, north: float = 0.004, **kw: Any) -> Household:
    return Household(hid, 38.0 + north, 106.0, tuple(requests), **kw)


def week(
    caregivers: tuple[Caregiver, ...], *households: Household, days: tuple[str, ...] = WEEK
) -> Scenario:
    return Scenario(
        name="test week",
        days=days,
        stations=(Station("S", 38.0, 106.0),),
        caregivers=caregivers,
        households=households,
    )


def planned_days(plan: Plan, rid: str) -> list[str]:
    days = {r.day for r in plan.routes for s in r.stops if s.request == rid}
    return [d for d in DAYS if d in days]


def visitors(plan: Plan, hid: str) -> set[str]:
    return {r.caregiver for r in plan.routes for s in r.stops if s.household == hid}


def reasons(plan: Plan) -> dict[str, tuple[str, int]]:
    return {u.request: (u.reason, u.missing_visits) for u in plan.unassigned}


def clean(scenario: Scenario, plan: Plan) -> None:
    report = check_plan(scenario, plan)
    assert report.violations == (), report.violations


# --- candidate patterns -------------------------------------------------------------------


def test_candidate_patterns_respect_spacing_and_days() -> None:
    r = request("R", visits_per_week=2, min_gap_days=3, days=("mon", "tue", "wed", "thu", "fri"))
    assert candidate_patterns(r, WEEK) == (("mon", "thu"), ("mon", "fri"), ("tue", "fri"))


def test_candidate_patterns_of_fixed_patterns_keep_those_on_usable_days() -> None:
    r = request("R", visits_per_week=2, patterns=(("mon", "thu"), ("tue", "sat")))
    assert candidate_patterns(r, WEEK) == (("mon", "thu"),)


# --- the week fixture ---------------------------------------------------------------------


def test_week_fixture_is_fully_planned_and_clean(week_scenario: Scenario) -> None:
    plan = plan_week(week_scenario, params=FAST)
    clean(week_scenario, plan)
    assert plan.unassigned == ()
    assert plan.kpis["planned_visits"] == 6
    for rid in ("H1-clean", "H2-care", "H3-visit"):
        days = planned_days(plan, rid)
        assert len(days) == 2
        assert DAYS.index(days[1]) - DAYS.index(days[0]) >= 2
    assert set(planned_days(plan, "H2-care")) <= {"mon", "wed", "fri"}


# --- frequency, spacing, patterns ---------------------------------------------------------


def test_three_visits_two_days_apart_fall_on_mon_wed_fri() -> None:
    sc = week((caregiver("C1"),), household("H1", request("R", visits_per_week=3, min_gap_days=2)))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert planned_days(plan, "R") == ["mon", "wed", "fri"]


def _dead_pattern_week(*, second_station: bool = False) -> Scenario:
    """One caregiver, Tuesday to Saturday, mornings; Saturday is longer. B (a long visit, on
    Thursday or Saturday) comes first: the greedy week puts it on Thursday, where A no longer
    fits, so A gets Tuesday and Friday, and the third visit two days on has no day left. A's
    only pattern is Tuesday, Thursday, Saturday; on Saturday both fit.

    With ``second_station``, station T 11 km north has D1, who works Fridays and does personal
    care only; C's visits (Wednesday and Friday) go to C1 on Wednesday and, as C1's Friday is
    full, to D1 on Friday: the two stations share a request and are planned as one group."""
    days = ("tue", "wed", "thu", "fri", "sat")
    hours = {d: (hm("08:00"), hm("11:00")) for d in days} | {"sat": (hm("08:00"), hm("13:00"))}
    c1 = replace(caregiver("C1", days=days), shifts=MappingProxyType(hours))
    b = request("B", minutes=150, windows=((hm("08:00"), hm("10:30")),), days=("thu", "sat"))
    a = request(
        "A", windows=((hm("08:00"), hm("10:00")),), visits_per_week=3, min_gap_days=2, priority=80
    )
    homes = [household("H1", replace(b, priority=40)), household("H2", a, north=0.008)]
    if not second_station:
        return week((c1,), *homes, days=days)
    d1 = replace(caregiver("D1", days=("fri",), skills=("care",)), station="T")
    c = request("C", service="care", minutes=120, visits_per_week=2, patterns=(("wed", "fri"),))
    return Scenario(
        name="two stations, one group",
        days=days,
        stations=(Station("S", 38.0, 106.0), Station("T", 38.1, 106.0)),
        caregivers=(c1, d1),
        households=(*homes, household("H3", c, north=-0.004)),
    )


def test_visits_left_on_days_of_no_pattern_are_moved_onto_one() -> None:
    sc = _dead_pattern_week()
    greedy = plan_greedy(sc)
    assert planned_days(greedy, "A") == ["tue", "fri"] and planned_days(greedy, "B") == ["thu"]
    plan = plan_week(sc, params=SolveParams(time_limit=5))
    clean(sc, plan)
    assert planned_days(plan, "A") == ["tue", "thu", "sat"]
    assert planned_days(plan, "B") == ["sat"]
    assert plan.unassigned == ()


def test_a_group_of_stations_moves_visits_onto_a_pattern_too() -> None:
    sc = _dead_pattern_week(second_station=True)
    greedy = plan_greedy(sc)
    assert planned_days(greedy, "A") == ["tue", "fri"] and planned_days(greedy, "B") == ["thu"]
    assert {r.caregiver for r in greedy.routes for s in r.stops if s.request == "C"} == {
        "C1",
        "D1",
    }
    plan = plan_week(sc, params=SolveParams(time_limit=5))
    clean(sc, plan)
    assert planned_days(plan, "A") == ["tue", "thu", "sat"]
    assert planned_days(plan, "B") == ["sat"]
    assert planned_days(plan, "C") == ["wed", "fri"]
    assert plan.unassigned == ()


@pytest.mark.parametrize("measured", [None, 100.0])
def test_no_visit_is_added_when_a_day_re_route_does_not_fit_the_time(
    monkeypatch: pytest.MonkeyPatch, measured: float | None
) -> None:
    """Adding A's missing visit re-routes days. When the polish could re-route no day in the
    group's time (nothing measured), or one re-route takes longer than the time there is,
    the week stays as the greedy one left it instead of overrunning its budget."""

    def polish(g: Any, deadline: float) -> None:
        if measured is not None:
            g.week.day_seconds[g.key] = measured

    monkeypatch.setattr("dispatch.weekly.planner.polish_group", polish)
    sc = _dead_pattern_week()
    plan = plan_week(sc, params=SolveParams(time_limit=5))
    clean(sc, plan)
    assert planned_days(plan, "A") == ["tue", "fri"]
    assert reasons(plan)["A"][1] == 1


def test_visits_that_cannot_be_spread_are_frequency_spacing() -> None:
    # Three visits three days apart need seven days; mon..fri holds two (mon+thu or tue+fri).
    sc = week((caregiver("C1"),), household("H1", request("R", visits_per_week=3, min_gap_days=3)))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert len(planned_days(plan, "R")) == 2
    assert reasons(plan)["R"] == (Reason.FREQUENCY_SPACING.value, 1)
    assert "at most 2" in plan.unassigned[0].detail


def test_fixed_pattern_is_followed() -> None:
    r = request("R", visits_per_week=2, patterns=(("tue", "fri"),))
    sc = week((caregiver("C1"),), household("H1", r))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert planned_days(plan, "R") == ["tue", "fri"]


def test_pattern_chosen_where_the_caregiver_works() -> None:
    r = request("R", visits_per_week=2, patterns=(("mon", "wed"), ("tue", "thu")))
    sc = week((caregiver("C1", days=("tue", "thu")),), household("H1", r))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert planned_days(plan, "R") == ["tue", "thu"]


# --- continuity and preferences -----------------------------------------------------------


def test_one_caregiver_serves_all_of_a_households_visits() -> None:
    h = household(
        "H1",
        request("R1", visits_per_week=2, min_gap_days=2),
        request("R2", service="care", visits_per_week=3, min_gap_days=2),
    )
    sc = week((caregiver("C1"), caregiver("C2")), h)
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert plan.kpis["planned_visits"] == 5
    assert len(visitors(plan, "H1")) == 1


def test_preferred_caregiver_is_the_one_who_visits() -> None:
    h = household("H1", request("R", visits_per_week=2), preferred_caregivers=("C2",))
    sc = week((caregiver("C1"), caregiver("C2")), h)
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert visitors(plan, "H1") == {"C2"}


# --- weekly minutes -----------------------------------------------------------------------


def test_weekly_minutes_cap_leaves_visits_unassigned_for_capacity() -> None:
    # Each 60-minute visit with a short ride costs a bit more than 60 working minutes, so a cap
    # of 150 minutes fits two visits of the five wanted.
    c1 = caregiver("C1", max_minutes_per_week=150)
    r = request("R", visits_per_week=5)
    sc = week((c1,), household("H1", r))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert len(planned_days(plan, "R")) == 2
    assert reasons(plan)["R"] == (Reason.CAPACITY.value, 3)
    worked = sum(r.back - r.leave for r in plan.routes)
    assert worked <= 150


# --- every unassigned reason --------------------------------------------------------------


def test_reasons_for_requests_nobody_can_serve() -> None:
    sc = week(
        (caregiver("C1", gender="F"), caregiver("C2", gender="F", days=("mon",))),
        household("H1", request("R-skill", service="bathing")),
        household("H2", request("R-gender"), gender_preference="M"),
        household("H3", request("R-forbidden"), forbidden_caregivers=("C1", "C2")),
        household("H4", request("R-window", windows=((hm("06:00"), hm("06:30")),))),
    )
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    got = reasons(plan)
    assert got["R-skill"] == (Reason.NO_QUALIFIED_CAREGIVER.value, 1)
    assert got["R-gender"] == (Reason.GENDER_PREFERENCE.value, 1)
    assert got["R-forbidden"] == (Reason.FORBIDDEN_CAREGIVERS.value, 1)
    assert got["R-window"] == (Reason.NO_TIME_WINDOW_FITS.value, 1)
    assert all(u.detail for u in plan.unassigned)


def test_no_shift_on_the_allowed_days() -> None:
    sc = week(
        (caregiver("C1", days=("mon", "tue")),),
        household("H1", request("R", days=("thu", "fri"))),
    )
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert reasons(plan)["R"] == (Reason.NO_SHIFT_ON_ALLOWED_DAYS.value, 1)


def test_capacity_when_higher_priorities_fill_the_day() -> None:
    # One caregiver, one day, 08:00-12:00 with two 150-minute visits: only the priority 90 fits.
    c1 = Caregiver(
        id="C1",
        station="S",
        gender="F",
        skills=frozenset({"cleaning"}),
        shifts=MappingProxyType({"mon": (hm("08:00"), hm("12:00"))}),
    )
    low = request("R-low", minutes=150, priority=20)
    high = request("R-high", minutes=150, priority=90)
    sc = week((c1,), household("H1", low), household("H2", high, north=-0.004), days=("mon",))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert planned_days(plan, "R-high") == ["mon"]
    assert reasons(plan)["R-low"] == (Reason.CAPACITY.value, 1)


# --- progress -----------------------------------------------------------------------------


def test_progress_reports_rise_to_one_with_kpis(week_scenario: Scenario) -> None:
    seen: list[Progress] = []
    plan_week(week_scenario, params=FAST, progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert seen[-1].kpis["planned_visits"] == 6
    assert all(p.message for p in seen)


# --- property: every plan passes the checker ----------------------------------------------


@st.composite
def small_weeks(draw: st.DrawFn) -> Scenario:
    days = WEEK[: draw(st.integers(2, 5))]
    caregivers = []
    for i in range(draw(st.integers(1, 3))):
        work = tuple(d for d in days if draw(st.booleans())) or days[:1]
        caregivers.append(
            caregiver(
                f"C{i}",
                days=work,
                gender=draw(st.sampled_from(["F", "M"])),
                skills=tuple(draw(st.sets(st.sampled_from(["cleaning", "care"]), min_size=1))),
                rest=Break(hm("11:30"), hm("13:30"), 60) if draw(st.booleans()) else None,
                max_minutes_per_week=draw(st.sampled_from([None, 200, 600])),
                max_visits_per_day=draw(st.sampled_from([None, 2, 4])),
            )
        )
    households = []
    for j in range(draw(st.integers(1, 5))):
        reqs = []
        for k in range(draw(st.integers(1, 2))):
            start = draw(st.integers(8 * 60, 15 * 60))
            reqs.append(
                request(
                    f"H{j}-R{k}",
                    service=draw(st.sampled_from(["cleaning", "care"])),
                    minutes=draw(st.sampled_from([30, 60, 90])),
                    windows=((start, start + draw(st.integers(0, 180))),),
                    visits_per_week=draw(st.integers(1, 3)),
                    min_gap_days=draw(st.integers(1, 2)),
                    priority=draw(st.integers(1, 100)),
                    staff=draw(st.sampled_from([1, 1, 1, 2])),
                    after=After(f"H{j}-R0", 30, draw(st.sampled_from([30, 120])))
                    if k == 1 and draw(st.booleans())
                    else None,
                )
            )
        households.append(
            household(
                f"H{j}",
                *reqs,
                north=draw(st.floats(-0.02, 0.02)),
                gender_preference=draw(st.sampled_from([None, None, "F"])),
            )
        )
    return week(tuple(caregivers), *households, days=days)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_weeks())
def test_random_small_weeks_give_checker_clean_plans(sc: Scenario) -> None:
    plan = plan_week(sc, params=SolveParams(time_limit=0.3))
    clean(sc, plan)
    wanted: dict[str, int] = defaultdict(int)
    for _, r in sc.requests():
        wanted[r.id] = r.visits_per_week
    for rid, n in wanted.items():
        missing = sum(u.missing_visits for u in plan.unassigned if u.request == rid)
        assert len(planned_days(plan, rid)) + missing == n


def test_two_person_visits_keep_the_greedy_pair_and_the_plan_stays_clean() -> None:
    # The greedy week pairs C1 and C2 for the bath on Monday; those routes are kept as they are.
    bath = request("R-bath", service="care", staff=2, visits_per_week=1)
    sc = week(
        (caregiver("C1"), caregiver("C2")),
        household("H1", bath),
        household("H2", request("R-clean", visits_per_week=2), north=-0.004),
    )
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    bath_stops = [
        (r.caregiver, s.start) for r in plan.routes for s in r.stops if s.request == "R-bath"
    ]
    assert sorted(c for c, _ in bath_stops) == ["C1", "C2"]
    assert len({start for _, start in bath_stops}) == 1
    assert len(planned_days(plan, "R-clean")) == 2
    assert plan.unassigned == ()


def test_two_person_visit_without_a_pair_is_unassigned() -> None:
    bath = request("R-bath", service="care", staff=2, visits_per_week=1)
    sc = week((caregiver("C1"),), household("H1", bath))
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert reasons(plan)["R-bath"][1] == 1


# --- continuity by handing whole routes over ---------------------------------------------


def _swapped_week(*, second_mode: str = "ebike") -> tuple[Scenario, Group]:
    """Mon: C1 visits H1, C2 visits H2; Wed: the other way round (each route alone is fine)."""
    h1 = household("H1", request("R1", visits_per_week=2, days=("mon", "wed")))
    h2 = household("H2", request("R2", visits_per_week=2, days=("mon", "wed")), north=-0.004)
    sc = week((caregiver("C1"), caregiver("C2", mode=second_mode)), h1, h2)

    def route(cid: str, day: str, h: Household) -> Route:
        r = h.requests[0]
        return Route(cid, day, hm("08:20"), hm("09:40"), (Stop(r.id, h.id, 510, 510, 570),))

    state = WeekState()
    state.routes[("S", "mon")] = (route("C1", "mon", h1), route("C2", "mon", h2))
    state.routes[("S", "wed")] = (route("C1", "wed", h2), route("C2", "wed", h1))
    return sc, Group(sc, "S", [], provider_for(sc), Budget.real(FAST), state)


def _who(week: WeekState, rid: str) -> set[str]:
    return {
        r.caregiver for rs in week.routes.values() for r in rs for s in r.stops if s.request == rid
    }


def test_relabel_hands_routes_to_the_caregiver_of_the_other_days() -> None:
    sc, group = _swapped_week()
    relabel_group(group)
    assert len(_who(group.week, "R1")) == 1
    assert len(_who(group.week, "R2")) == 1
    # Nothing lost, and Wednesday's routes (re-timed for their new caregivers) are clean.
    wed = group.routes("wed")
    assert sorted(s.request for r in wed for s in r.stops) == ["R1", "R2"]
    plan = Plan(scenario=sc.name, routes=(*group.routes("mon"), *wed))
    clean(sc, plan)


def test_relabel_keeps_routes_with_caregivers_of_another_travel_mode() -> None:
    _, group = _swapped_week(second_mode="walk")
    before = dict(group.week.routes)
    relabel_group(group)
    assert group.week.routes == before  # a walker's travel differs: the swap would change travel


def test_week_with_swapped_caregivers_is_planned_with_one_caregiver_per_request() -> None:
    sc, _ = _swapped_week()
    plan = plan_week(sc, params=FAST)
    clean(sc, plan)
    assert plan.kpis["planned_visits"] == 4
    assert plan.kpis["distinct_caregivers_per_request"] == 1.0


# --- station groups in worker processes ---------------------------------------------------


def _two_stations() -> Scenario:
    """Stations S and T about 11 km apart, two caregivers and two households at each."""
    t_cgs = tuple(replace(caregiver(c), station="T") for c in ("D1", "D2"))
    homes = (
        household("H1", request("R1", visits_per_week=2, min_gap_days=2)),
        household("H2", request("R2", visits_per_week=3, min_gap_days=2), north=-0.004),
        household("H3", request("R3", visits_per_week=2, min_gap_days=2), north=0.104),
        household("H4", request("R4", visits_per_week=1), north=0.096),
    )
    return Scenario(
        name="two stations",
        days=WEEK,
        stations=(Station("S", 38.0, 106.0), Station("T", 38.1, 106.0)),
        caregivers=(caregiver("C1"), caregiver("C2"), *t_cgs),
        households=homes,
    )


def test_station_groups_planned_in_two_processes_give_a_clean_full_plan() -> None:
    sc = _two_stations()
    seen: list[Progress] = []
    plan = plan_week(sc, params=SolveParams(time_limit=2.0), workers=2, progress=seen.append)
    clean(sc, plan)
    assert plan.kpis["planned_visits"] == 8
    assert visitors(plan, "H1") | visitors(plan, "H2") <= {"C1", "C2"}
    assert visitors(plan, "H3") | visitors(plan, "H4") <= {"D1", "D2"}
    assert plan.kpis["distinct_caregivers_per_request"] == 1.0
    assert seen[-1].fraction == 1.0


def test_one_process_and_two_give_plans_of_the_same_size() -> None:
    sc = _two_stations()
    one = plan_week(sc, params=FAST)
    two = plan_week(sc, params=FAST, workers=2)
    assert one.kpis["planned_visits"] == two.kpis["planned_visits"] == 8


# --- the deterministic mode --------------------------------------------------------------


def test_a_deterministic_week_is_the_same_plan_in_one_process_and_two() -> None:
    sc = _two_stations()
    params = SolveParams(time_limit=3.0, seed=1, iteration_limit=50)
    first = plan_week(sc, params=params, deterministic=True)
    again = plan_week(sc, params=params, deterministic=True)
    clean(sc, first)
    assert first == again  # the modelled seconds too
    # Groups in worker processes (other hash seeds) each take their share of the modelled time.
    two = plan_week(sc, params=params, deterministic=True, workers=2)
    assert two == plan_week(sc, params=params, deterministic=True, workers=2)


def test_a_linked_visit_keeps_its_delay_when_its_route_is_re_timed() -> None:
    # The dressing must start 30-120 min after the bath; the bath may start at 08:00 or 08:01,
    # the dressing only at 10:01. Re-timing the route with earliest starts used to put the bath
    # at 08:00, 121 min before the dressing; the search's starts of linked visits now hold.
    bath = request("B", minutes=30, windows=((hm("08:00"), hm("08:01")),))
    after = After(request="B", min_minutes=30, max_minutes=120)
    dressing = request("D", minutes=30, windows=((hm("10:01"), hm("10:01")),), after=after)
    home = household("H", bath, dressing, north=0.0)  # at the station: no travel
    sc = week((caregiver("C1", days=("mon",)),), home, days=WEEK[:2])
    params = SolveParams(time_limit=0.5, iteration_limit=50)
    plan = plan_week(sc, params=params, deterministic=True)
    clean(sc, plan)
    assert [(s.request, s.start) for r in plan.routes for s in r.stops] == [
        ("B", hm("08:01")),
        ("D", hm("10:01")),
    ]


def test_a_deterministic_week_needs_an_iteration_budget() -> None:
    with pytest.raises(ValueError, match="iteration_limit"):
        plan_week(_two_stations(), params=FAST, deterministic=True)


def test_the_modelled_clock_moves_by_the_seconds_allotted() -> None:
    budget = Budget.deterministic(SolveParams(time_limit=10.0, iteration_limit=20))
    budget.solved(0.5)
    budget.solved(0.001)  # every sub-solve takes at least the shortest search
    assert budget.now() == pytest.approx(0.52)
    assert budget.solve_params(0.5).iteration_limit == 20
    assert Budget.real(FAST).solve_params(0.5).iteration_limit is None


# --- the router's continuity costs --------------------------------------------------------


def _one_visit_two_vehicles() -> RoutingProblem:
    """Depot 0 and one 30-minute visit at 1, 5 minutes away; two identical vehicles."""
    matrix = np.array([[0, 5], [5, 0]], dtype=np.int64)
    vehicle = VehicleSpec(start_location=0, end_location=0, shift_start=0, shift_end=600)
    return RoutingProblem(
        matrices=(matrix,),
        visits=(VisitSpec(location=1, duration=30, windows=((0, 500),)),),
        vehicles=(vehicle, vehicle),
    )


def test_vehicle_costs_move_a_visit_to_the_cheaper_vehicle() -> None:
    problem = _one_visit_two_vehicles()
    params = SolveParams(time_limit=0.2)
    plain = solve(problem, params, initial_routes=[[0], []])
    assert [r.vehicle for r in plain.routes if r.visits] == [0]  # same travel: no reason to move
    costed = solve(replace(problem, vehicle_costs={0: (8, 0)}), params, initial_routes=[[0], []])
    assert [r.vehicle for r in costed.routes if r.visits] == [1]
    assert costed.dropped == ()


def test_continuity_costs_are_free_for_the_usual_caregiver() -> None:
    sc, _ = _swapped_week()
    compiled = compile_day(
        sc, "wed", travel=provider_for(sc), visits=[DayVisit("R1", "H1"), DayVisit("R2", "H2")]
    )
    costs = continuity_costs(compiled, {"R1": {"C1": 1}, "R2": {"C1": 1, "C2": 3}})
    order = [c.id for c in compiled.caregivers]
    assert order == ["C1", "C2"]
    assert costs[0] == [0, CONTINUITY_MINUTES]
    assert costs[1] == [CONTINUITY_MINUTES * 3 // 4, CONTINUITY_MINUTES // 4]


# --- stations that share requests: each station's routes among themselves ----------------


def test_station_routes_of_a_day_are_reordered_among_themselves() -> None:
    """C1 zigzags north, south, north on Monday; re-routing S's routes serves the same three
    visits with less travel, leaves T's route alone, and the day stays clean."""
    h1 = household("H1", request("R1", visits_per_week=1, days=("mon",)), north=0.010)
    h2 = household("H2", request("R2", visits_per_week=1, days=("mon",)), north=-0.010)
    h3 = household("H3", request("R3", visits_per_week=1, days=("mon",)), north=0.011)
    h4 = household("H4", request("R4", visits_per_week=1, days=("mon",)), north=0.100)
    sc = replace(_two_stations(), households=(h1, h2, h3, h4), days=("mon",), name="zigzag")

    def stop(h: Household, start: str) -> Stop:
        return Stop(h.requests[0].id, h.id, hm(start), hm(start), hm(start) + 60)

    zigzag = Route(
        "C1",
        "mon",
        hm("08:45"),
        hm("13:00"),
        (stop(h1, "09:00"), stop(h2, "10:30"), stop(h3, "12:00")),
    )
    far = Route("D1", "mon", hm("08:45"), hm("10:15"), (stop(h4, "09:00"),))
    week = WeekState(routes={("S+T", "mon"): (zigzag, far)})
    group = Group(sc, "S+T", [], provider_for(sc), Budget.real(FAST), week)
    before = day_value(sc, (zigzag,))
    reroute_station_day(group, "mon", "S", 0.5)
    routes = group.routes("mon")
    assert far in routes
    mine = [r for r in routes if r.caregiver in {"C1", "C2"}]
    assert sorted(s.request for r in mine for s in r.stops) == ["R1", "R2", "R3"]
    assert day_value(sc, mine)[1] > before[1]  # less travel
    clean(sc, Plan(scenario=sc.name, routes=routes))
