"""Plan KPIs of the tiny week in ``test_checker`` (its docstring has the routes and minutes)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch.haversine import scenario_travel
from dispatch.kpis import (
    KPI_NAMES,
    ScenarioIndex,
    households_outside,
    plan_kpis,
    route_leg_minutes,
    station_modes,
)
from dispatch.model import Plan, Route, Station, Stop
from dispatch.timeutil import parse_hhmm as hm
from tests.dispatch.test_checker import (
    C1_MON,
    C1_WED,
    C2_MON,
    tiny_scenario,
    valid_plan,
    with_caregiver,
    with_household,
)


def test_kpis_of_the_tiny_week_by_hand():
    k = plan_kpis(tiny_scenario(), valid_plan())
    assert tuple(k) == KPI_NAMES
    # H1-clean 2 + H2-bath 1 + H3-meal 3 a week; planned H1 mon/wed, H2 mon, H3 mon/wed.
    assert k["required_visits"] == 6
    assert k["planned_visits"] == 5
    # C1 mon 9 + 6 + 19 + 5 = 39; C2 mon 15 + 15 = 30; C1 wed 9 + 14 + 5 = 28.
    assert k["travel_minutes"] == 97
    # C1 mon 90 + 60 + 10; C2 mon 60 (the bath counts for both); C1 wed 90 + 10.
    assert k["service_minutes"] == 320
    # C1 mon 21 + 4 + 1; C2 mon 5; C1 wed 21 + 16.
    assert k["waiting_minutes"] == 68
    # 285 + 95 + 165
    assert k["working_minutes"] == 545
    assert k["travel_share"] == pytest.approx(97 / 545)
    # H1 and H2 fully served, H3 two of three.
    assert k["requests_fully_served"] == pytest.approx(2 / 3)
    assert k["routes"] == 3
    assert k["caregivers_used"] == 2
    # C1 450 of 3 x 540 shift minutes; C2 95 of 2 x 240.
    assert k["utilisation_min"] == pytest.approx(95 / 480)
    assert k["utilisation_max"] == pytest.approx(450 / 1620)
    assert k["utilisation_mean"] == pytest.approx((95 / 480 + 450 / 1620) / 2)
    assert k["overtime_minutes"] == 0
    # H1 {C1}, H2 {C1, C2}, H3 {C1}
    assert k["distinct_caregivers_per_household"] == pytest.approx(4 / 3)


def test_overtime_above_the_weekly_maximum():
    sc = with_caregiver(tiny_scenario(), "C1", max_minutes_per_week=400)
    assert plan_kpis(sc, valid_plan())["overtime_minutes"] == 50


def test_a_two_person_visit_is_one_planned_visit():
    plan = valid_plan()
    only_c1 = replace(plan, routes=tuple(r for i, r in enumerate(plan.routes) if i != C2_MON))
    k = plan_kpis(tiny_scenario(), only_c1)
    assert k["planned_visits"] == 5
    assert k["caregivers_used"] == 1
    assert k["utilisation_min"] == 0.0  # C2 has shifts but no route


def test_empty_plan():
    k = plan_kpis(tiny_scenario(), Plan(scenario="tiny week"))
    assert k["planned_visits"] == 0
    assert k["travel_share"] == 0.0
    assert k["requests_fully_served"] == 0.0
    assert k["routes"] == 0
    assert k["distinct_caregivers_per_household"] == 0.0


def test_legs_of_a_route_and_unknown_places():
    sc = tiny_scenario()
    index = ScenarioIndex.of(sc)
    minutes = scenario_travel(sc)
    assert route_leg_minutes(index, valid_plan().routes[C1_MON], minutes) == [9, 6, 19, 5]
    odd = Route(
        "C1",
        "mon",
        hm("08:00"),
        hm("09:00"),
        (Stop("H9-x", "H9", hm("08:10"), hm("08:10"), hm("08:20")),),
    )
    assert route_leg_minutes(index, odd, minutes) == [None, None]
    stranger = replace(valid_plan().routes[C2_MON], caregiver="C9")
    assert route_leg_minutes(index, stranger, minutes) == [None, None]
    assert plan_kpis(sc, Plan("tiny week", routes=(odd,)))["travel_minutes"] == 0


def test_distinct_caregivers_per_request_by_hand():
    # H1-clean {C1}, H2-bath {C1, C2}, H3-meal {C1}.
    assert plan_kpis(tiny_scenario(), valid_plan())["distinct_caregivers_per_request"] == (
        pytest.approx(4 / 3)
    )
    # Moving Wednesday to C2 gives H1-clean and H3-meal two caregivers each: (2 + 2 + 2) / 3.
    plan = valid_plan()
    routes = list(plan.routes)
    routes[C1_WED] = replace(routes[C1_WED], caregiver="C2")
    k = plan_kpis(tiny_scenario(), replace(plan, routes=tuple(routes)))
    assert k["distinct_caregivers_per_request"] == pytest.approx(2.0)
    assert plan_kpis(tiny_scenario(), Plan("x"))["distinct_caregivers_per_request"] == 0.0


def test_visit_rate_of_tagged_households():
    sc = tiny_scenario()
    assert plan_kpis(sc, valid_plan())["visit_rate_tagged"] == 1.0  # nobody is tagged
    sc = with_household(sc, "H1", tags=("living_alone",))
    sc = with_household(sc, "H2", tags=("disabled", "poor"))
    sc = with_household(sc, "H3", tags=("poor",))  # not one of the tags to visit
    assert plan_kpis(sc, valid_plan())["visit_rate_tagged"] == 1.0
    # Without the bath, H2 has no visit: one of the two tagged households is visited.
    plan = valid_plan()
    routes = tuple(
        replace(r, stops=tuple(s for s in r.stops if s.request != "H2-bath")) for r in plan.routes
    )
    assert plan_kpis(sc, replace(plan, routes=routes))["visit_rate_tagged"] == 0.5
    assert plan_kpis(sc, Plan("x"))["visit_rate_tagged"] == 0.0


def test_households_outside_the_15_minute_circle():
    # E-bikes at 60 km/h: S1-H1 9, S1-H2 15 (exactly 15 is inside), S1-H3 5 minutes.
    sc = tiny_scenario()
    assert households_outside(sc) == []
    assert plan_kpis(sc, valid_plan())["households_outside_15min"] == 0
    assert households_outside(sc, limit=8) == ["H1", "H2"]
    # Walking at 4.5 km/h even H3 (4.45 km: 60 minutes) is outside.
    walking = with_caregiver(with_caregiver(sc, "C1", mode="walk"), "C2", mode="walk")
    assert station_modes(walking) == {"S1": "walk"}
    assert households_outside(walking) == ["H1", "H2", "H3"]
    assert plan_kpis(walking, Plan("x"))["households_outside_15min"] == 3


def test_station_mode_is_the_most_common_and_ties_go_first_in_modes():
    sc = tiny_scenario()
    assert station_modes(with_caregiver(sc, "C2", mode="car")) == {"S1": "ebike"}
    sc = with_caregiver(with_caregiver(sc, "C1", mode="car"), "C2", mode="walk")
    assert station_modes(sc) == {"S1": "walk"}
    # A second station with nobody rides e-bikes: H1 is 14 and H2 8 minutes from S2 (38.20).
    s2 = Station("S2", 38.20, 106.0)
    sc = replace(sc, stations=(*sc.stations, s2))
    assert station_modes(sc) == {"S1": "walk", "S2": "ebike"}
    assert households_outside(sc) == ["H3"]
