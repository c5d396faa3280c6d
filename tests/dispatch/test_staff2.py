"""Two-caregiver visits (双人服务) and linked visits (``after``): file format, router, reasons."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from dispatch.checker import check_plan
from dispatch.daily import DayVisit, compile_day, day_visits, route_day
from dispatch.generate import generate_district
from dispatch.greedy import plan_greedy
from dispatch.haversine import scenario_travel
from dispatch.kpis import ScenarioIndex, route_leg_minutes
from dispatch.model import (
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
    TravelSettings,
)
from dispatch.reasons import Reason
from dispatch.scenario_io import ScenarioError, parse_scenario, scenario_to_dict
from dispatch.timeutil import parse_hhmm as hm
from dispatch.travel import provider_for
from dispatch.weekly import Budget, plan_week
from dispatch.weekly.day import solve_day
from solver import syncsearch
from solver.problem import SolveParams

Doc = dict[str, Any]


def _request(doc: Doc, rid: str) -> Doc:
    for h in doc["households"]:
        for r in h.get("requests", []):
            if r["id"] == rid:
                r_: Doc = r
                return r_
    raise KeyError(rid)


# --- the "after" field in the scenario file ---------------------------------------------------


def test_after_is_read_and_written_back(tiny_scenario_data: Doc) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = {
        "request": "H2-visit",
        "min_minutes": 30,
        "max_minutes": 90,
    }
    scenario = parse_scenario(tiny_scenario_data).scenario
    req = next(r for _, r in scenario.requests() if r.id == "H3-nurse")
    assert req.after == After("H2-visit", 30, 90)
    again = parse_scenario(scenario_to_dict(scenario)).scenario
    assert again == scenario


def test_after_min_minutes_defaults_to_zero(tiny_scenario_data: Doc) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = {"request": "H1-clean", "max_minutes": 5}
    scenario = parse_scenario(tiny_scenario_data).scenario
    req = next(r for _, r in scenario.requests() if r.id == "H3-nurse")
    assert req.after == After("H1-clean", 0, 5)


def test_links_in_a_circle_are_rejected(tiny_scenario_data: Doc) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = {"request": "H1-clean", "max_minutes": 5}
    _request(tiny_scenario_data, "H1-clean")["after"] = {"request": "H3-nurse", "max_minutes": 5}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(tiny_scenario_data)
    texts = [str(i) for i in info.value.issues]
    assert len(texts) == 1 and "circle" in texts[0] and ".after" in texts[0], texts


@pytest.mark.parametrize(
    ("after", "fragment"),
    [
        ({"request": "H9-x", "max_minutes": 5}, "unknown request H9-x"),
        ({"request": "H3-nurse", "max_minutes": 5}, "cannot follow itself"),
        ({"request": "H1-clean", "min_minutes": 50, "max_minutes": 10}, "at least min_minutes"),
        ({"request": "H1-clean"}, "missing required field"),
        ({"request": "H1-clean", "max_minutes": 5, "gap": 1}, "unknown field"),
    ],
)
def test_bad_after_is_rejected(tiny_scenario_data: Doc, after: Doc, fragment: str) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = after
    with pytest.raises(ScenarioError) as info:
        parse_scenario(tiny_scenario_data)
    texts = [str(i) for i in info.value.issues]
    assert any(fragment in t and ".after" in t for t in texts), texts


# --- the daily router -------------------------------------------------------------------------
#
# Geometry as in the checker's tests (meridian 106.00 E, circuity 1.0, e-bike 60 km/h, so travel
# minutes = ceil(km)): S1 38.00, H1 38.08 (9 min from S1), H2 38.13 (15 min from S1, 6 from H1).
# Monday only. C1, C2, C3 bathe and nurse, 08:00-17:00; C1 rests 60 min in 11:30-13:30.
# H2-bath: bed bath by two caregivers, 60 min, start 10:00-11:30.
# H2-dress: dressing 30 min, 60-90 min after the bath starts, window 08:00-16:00.
# H1-clean: cleaning 60 min, 08:30-11:00 (anyone).

LON = 106.0
PARAMS = SolveParams(time_limit=10, iteration_limit=300)


def ward(
    *,
    dress_window: tuple[str, str] = ("08:00", "16:00"),
    bathers: tuple[str, ...] = ("C1", "C2", "C3"),
    c2_shift: tuple[str, str] = ("08:00", "17:00"),
    days: tuple[str, ...] = ("mon",),
) -> Scenario:
    def cg(cid: str, shift: tuple[str, str], rest: Break | None = None) -> Caregiver:
        skills = {"cleaning", "nursing"} | ({"bathing"} if cid in bathers else set())
        return Caregiver(
            id=cid,
            station="S1",
            skills=frozenset(skills),
            shifts=MappingProxyType(dict.fromkeys(days, (hm(shift[0]), hm(shift[1])))),
            rest=rest,
        )

    bath = ServiceRequest(
        id="H2-bath",
        service="bed_bath",
        skill="bathing",
        minutes=60,
        windows=((hm("10:00"), hm("11:30")),),
        staff=2,
    )
    dress = ServiceRequest(
        id="H2-dress",
        service="nursing",
        minutes=30,
        windows=((hm(dress_window[0]), hm(dress_window[1])),),
        after=After("H2-bath", 60, 90),
    )
    clean = ServiceRequest(
        id="H1-clean", service="cleaning", minutes=60, windows=((hm("08:30"), hm("11:00")),)
    )
    return Scenario(
        name="ward",
        days=days,
        travel=TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0})),
        stations=(Station("S1", 38.00, LON),),
        caregivers=(
            cg("C1", ("08:00", "17:00"), Break(hm("11:30"), hm("13:30"), 60)),
            cg("C2", c2_shift),
            cg("C3", ("08:00", "17:00")),
        ),
        households=(
            Household("H1", 38.08, LON, (clean,)),
            Household("H2", 38.13, LON, (bath, dress)),
        ),
    )


def stops_of(plan: Plan, request: str) -> list[tuple[str, int]]:
    return sorted(
        (r.caregiver, s.start) for r in plan.routes for s in r.stops if s.request == request
    )


def reasons(plan: Plan) -> dict[str, str]:
    return {u.request: u.reason for u in plan.unassigned}


def test_two_caregivers_start_the_bath_together_and_the_dressing_follows() -> None:
    sc = ward()
    plan = route_day(sc, "mon", params=PARAMS)
    assert check_plan(sc, plan).violations == ()
    bath = stops_of(plan, "H2-bath")
    assert len(bath) == 2 and bath[0][0] != bath[1][0]
    assert bath[0][1] == bath[1][1]
    assert hm("10:00") <= bath[0][1] <= hm("11:30")
    (dress,) = stops_of(plan, "H2-dress")
    assert 60 <= dress[1] - bath[0][1] <= 90
    assert plan.unassigned == ()


def test_linked_visit_outside_its_delay_is_unassigned() -> None:
    # The bath starts by 11:30, so the dressing must start by 13:00; its window opens at 14:00.
    sc = ward(dress_window=("14:00", "15:00"))
    plan = route_day(sc, "mon", params=PARAMS)
    assert check_plan(sc, plan).violations == ()
    assert len(stops_of(plan, "H2-bath")) == 2
    assert reasons(plan) == {"H2-dress": Reason.LINKED_VISIT.value}


def test_pair_with_one_qualified_caregiver_is_unassigned_with_its_linked_visit() -> None:
    sc = ward(bathers=("C1",))
    plan = route_day(sc, "mon", params=PARAMS)
    assert check_plan(sc, plan).violations == ()
    assert stops_of(plan, "H2-bath") == []
    assert reasons(plan) == {
        "H2-bath": Reason.NO_STAFF_PAIR.value,
        "H2-dress": Reason.LINKED_VISIT.value,
    }


def test_pair_that_only_one_caregiver_can_reach_in_time_is_no_staff_pair() -> None:
    # C3 cannot bathe; C2 works 14:00-17:00, after the bath window: C1 alone could be there.
    sc = ward(bathers=("C1", "C2"), c2_shift=("14:00", "17:00"))
    plan = route_day(sc, "mon", params=PARAMS)
    assert check_plan(sc, plan).violations == ()
    assert reasons(plan)["H2-bath"] == Reason.NO_STAFF_PAIR.value
    assert reasons(plan)["H2-dress"] == Reason.LINKED_VISIT.value


# --- the weekly planner on a generated district -------------------------------------------------


def test_weekly_plan_of_a_district_with_bed_baths_is_checker_clean() -> None:
    # Half of the severely disabled elders get a weekly two-caregiver bed bath (助浴·卧床).
    sc = generate_district(households=60, stations=1, seed=3, bed_bath_share=0.5)
    pairs = {r.id for _, r in sc.requests() if r.staff == 2}
    assert pairs
    plan = plan_week(sc, params=SolveParams(time_limit=5, seed=0))
    assert check_plan(sc, plan).violations == ()
    together: dict[tuple[str, str], set[int]] = {}
    for route in plan.routes:
        for s in route.stops:
            if s.request in pairs:
                together.setdefault((s.request, route.day), set()).add(s.start)
    assert together, "no two-person visit was planned"
    assert all(len(starts) == 1 for starts in together.values())


# --- linked visits in the greedy week and the weekly planner ------------------------------------


def delays(plan: Plan, first: str, then: str) -> list[int]:
    """Minutes from ``first``'s start to ``then``'s on each day both are visited."""
    starts: dict[tuple[str, str], int] = {}
    for route in plan.routes:
        for s in route.stops:
            starts[(s.request, route.day)] = s.start
    return [
        starts[(then, d)] - starts[(first, d)]
        for (rid, d) in sorted(starts)
        if rid == then and (first, d) in starts
    ]


def test_greedy_starts_a_linked_visit_inside_its_delay() -> None:
    sc = ward()
    plan = plan_greedy(sc)
    assert check_plan(sc, plan).violations == ()
    (delay,) = delays(plan, "H2-bath", "H2-dress")
    assert 60 <= delay <= 90


def test_greedy_linked_visit_that_cannot_keep_its_delay_is_unassigned() -> None:
    # The greedy week starts the bath at 10:00; the dressing's window opens at 13:00, 180 min on.
    sc = ward(dress_window=("13:00", "16:00"))
    plan = plan_greedy(sc)
    assert check_plan(sc, plan).violations == ()
    assert reasons(plan) == {"H2-dress": Reason.LINKED_VISIT.value}
    assert "H2-bath" in plan.unassigned[0].detail


def test_greedy_holds_the_first_visit_once_a_linked_one_follows() -> None:
    # C1 cleans A (from 09:30, 30 min); C2, the nurse, starts B 30 min after A. C, later, is a
    # cleaning that must start at 09:00: it fits C1's day only in front of A, which would push A
    # to 10:00 and break B's delay on the other route. A is held: C stays unassigned.
    def cg(cid: str, skill: str) -> Caregiver:
        return Caregiver(
            cid,
            station="S1",
            skills=frozenset({skill}),
            shifts=MappingProxyType({"mon": (hm("08:00"), hm("12:00"))}),
        )

    a = ServiceRequest("A", "cleaning", 30, ((hm("09:30"), hm("10:30")),))
    b = ServiceRequest("B", "nursing", 30, ((hm("08:00"), hm("12:00")),), after=After("A", 30, 30))
    c = ServiceRequest("C", "cleaning", 60, ((hm("09:00"), hm("09:00")),))
    sc = Scenario(
        name="held",
        days=("mon",),
        travel=TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0})),
        stations=(Station("S1", 38.00, LON),),
        caregivers=(cg("C1", "cleaning"), cg("C2", "nursing")),
        households=(Household("H1", 38.01, LON, (a, b)), Household("H2", 38.01, LON, (c,))),
    )
    plan = plan_greedy(sc)
    assert check_plan(sc, plan).violations == ()
    assert delays(plan, "A", "B") == [30]
    assert reasons(plan) == {"C": Reason.CAPACITY.value}


def test_weekly_plan_keeps_a_bath_and_its_dressing_together() -> None:
    sc = ward(days=("mon", "tue", "wed"))
    plan = plan_week(sc, params=SolveParams(time_limit=3, seed=0))
    assert check_plan(sc, plan).violations == ()
    assert plan.unassigned == ()
    (delay,) = delays(plan, "H2-bath", "H2-dress")
    assert 60 <= delay <= 90


def test_weekly_plan_routes_a_linked_pair_of_one_caregiver_visits_on_the_same_days() -> None:
    cg = Caregiver(
        "C1",
        station="S1",
        skills=frozenset({"cleaning", "nursing"}),
        shifts=MappingProxyType(dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), (480, 1020))),
    )
    clean = ServiceRequest(
        "H1-clean", "cleaning", 60, ((hm("08:30"), hm("15:00")),), visits_per_week=2, min_gap_days=2
    )
    dress = ServiceRequest(
        "H1-dress",
        "nursing",
        30,
        ((hm("08:00"), hm("16:00")),),
        visits_per_week=2,
        min_gap_days=2,
        after=After("H1-clean", 90, 120),
    )
    sc = Scenario(
        name="linked week",
        days=("mon", "tue", "wed", "thu", "fri"),
        travel=TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0})),
        stations=(Station("S1", 38.00, LON),),
        caregivers=(cg,),
        households=(Household("H1", 38.05, LON, (clean, dress)),),
    )
    plan = plan_week(sc, params=SolveParams(time_limit=3, seed=0))
    assert check_plan(sc, plan).violations == ()
    assert plan.unassigned == ()
    assert all(90 <= d <= 120 for d in delays(plan, "H1-clean", "H1-dress"))
    assert len(delays(plan, "H1-clean", "H1-dress")) == 2


def test_a_visit_linked_to_a_kept_visit_keeps_the_delay_through_its_windows() -> None:
    # The bath stays on a kept route at 10:00: the dressing may start 11:00-11:30 only.
    sc = ward()
    travel = provider_for(sc)
    dress = compile_day(
        sc, "mon", travel=travel, visits=[DayVisit("H2-dress", "H2")], fixed_starts={"H2-bath": 600}
    )
    assert [v.windows for v in dress.problem.visits] == [((660, 690),)]
    assert dress.problem.syncs == ()
    # The other way: the dressing is kept at 11:40, so both bath nodes start 10:10-10:40.
    bath = compile_day(
        sc, "mon", travel=travel, visits=[DayVisit("H2-bath", "H2")], fixed_starts={"H2-dress": 700}
    )
    assert [v.windows for v in bath.problem.visits] == [((610, 640),), ((610, 640),)]
    # A kept dressing at 15:00 leaves the bath no start in 10:00-11:30.
    late = compile_day(
        sc, "mon", travel=travel, visits=[DayVisit("H2-bath", "H2")], fixed_starts={"H2-dress": 900}
    )
    assert late.problem.visits == ()
    assert [(v.request, r) for v, r, _ in late.prefiltered] == [("H2-bath", Reason.LINKED_VISIT)]


# --- two-person visits inside the weekly planner's day search -----------------------------------


def _pair_day() -> tuple[Scenario, tuple[Route, ...]]:
    """C1 and C2 bathe H3 together at 10:30; C1's cleanings at H1 and H2 come in the worse
    order on the given routes. H1, H2 and H3 lie 12, 23 and 34 minutes north of the station,
    12 apart: H2 first travels 23 + 12 + 23 + 34 = 92 minutes, H1 first 12 + 12 + 12 + 34 = 70;
    C2 travels 34 + 34 = 68."""

    def cg(cid: str) -> Caregiver:
        return Caregiver(
            id=cid,
            station="S1",
            skills=frozenset({"cleaning", "bathing"}),
            shifts=MappingProxyType({"mon": (hm("08:00"), hm("17:00"))}),
        )

    def clean(hid: str) -> ServiceRequest:
        return ServiceRequest(
            id=f"{hid}-clean",
            service="cleaning",
            minutes=30,
            windows=((hm("08:00"), hm("16:00")),),
        )

    bath = ServiceRequest(
        id="H3-bath",
        service="bed_bath",
        skill="bathing",
        minutes=60,
        windows=((hm("10:00"), hm("11:30")),),
        staff=2,
    )
    sc = Scenario(
        name="pair day",
        days=("mon",),
        travel=TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0})),
        stations=(Station("S1", 38.00, LON),),
        caregivers=(cg("C1"), cg("C2")),
        households=(
            Household("H1", 38.10, LON, (clean("H1"),)),
            Household("H2", 38.20, LON, (clean("H2"),)),
            Household("H3", 38.30, LON, (bath,)),
        ),
    )
    at = hm("10:30")
    first = Route(
        "C1",
        "mon",
        hm("08:00"),
        at + 60 + 34,
        (
            Stop("H2-clean", "H2", hm("08:23"), hm("08:23"), hm("08:53")),
            Stop("H1-clean", "H1", hm("09:05"), hm("09:05"), hm("09:35")),
            Stop("H3-bath", "H3", hm("09:58"), at, at + 60),
        ),
    )
    second = Route("C2", "mon", at - 34, at + 60 + 34, (Stop("H3-bath", "H3", at, at, at + 60),))
    return sc, (first, second)


def _travel(sc: Scenario, routes: tuple[Route, ...]) -> int:
    index, minutes = ScenarioIndex.of(sc), scenario_travel(sc)
    return sum(m or 0 for r in routes for m in route_leg_minutes(index, r, minutes))


@pytest.mark.parametrize("anchor", [True, False])
def test_weekly_day_search_reroutes_around_a_two_person_visit(anchor: bool) -> None:
    sc, hint = _pair_day()
    assert _travel(sc, hint) == 92 + 68
    routes, dropped, _ = solve_day(
        sc,
        "mon",
        [DayVisit("H1-clean", "H1"), DayVisit("H2-clean", "H2")],
        {"H1-clean": None, "H2-clean": None},
        provider=provider_for(sc),
        used={},
        budget=Budget.real(SolveParams(time_limit=5, seed=0, iteration_limit=300)),
        seconds=2.0,
        hint=hint,
        locked=frozenset({"C1", "C2"}),
        anchor=anchor,
    )
    plan = Plan(scenario=sc.name, routes=routes)
    assert check_plan(sc, plan).violations == ()
    assert dropped == []
    # The pair keeps its caregivers and start either way.
    assert stops_of(plan, "H3-bath") == [("C1", hm("10:30")), ("C2", hm("10:30"))]
    # Held to its start, the bath no longer locks the routes: the cleanings are re-ordered (or
    # shared with C2, which travels the same 138 minutes).
    assert _travel(sc, routes) == (70 + 68 if anchor else 92 + 68)


@pytest.mark.parametrize("rests", [True, False])
def test_a_day_of_two_person_visits_is_routed_by_the_synchronised_search(rests: bool) -> None:
    # Without linked visits the day is one solver.syncsearch keeps whole, C1's rest included.
    sc = ward()
    sc = replace(
        sc,
        caregivers=tuple(c if rests else replace(c, rest=None) for c in sc.caregivers),
        households=tuple(
            replace(h, requests=tuple(r for r in h.requests if r.after is None))
            for h in sc.households
        ),
    )
    compiled = compile_day(sc, "mon", travel=provider_for(sc), visits=day_visits(sc, "mon"))
    assert syncsearch.supports(compiled.problem)
    plan = route_day(sc, "mon", params=PARAMS)
    assert check_plan(sc, plan).violations == ()
    bath = stops_of(plan, "H2-bath")
    assert len(bath) == 2 and bath[0][0] != bath[1][0] and bath[0][1] == bath[1][1]
    assert plan.unassigned == ()
