"""The daily router end to end on tiny scenarios whose numbers can be worked out by hand.

Geometry: the station sits at 38.48 N 106.23 E. One hundredth of a degree of latitude is
1.11195 km; with circuity 1.3 that is 60 * 1.3 * 1.11195 / 15 = 5.78 -> 6 min by e-bike and
60 * 1.3 * 1.11195 / 4.5 = 19.27 -> 20 min on foot.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from dispatch.checker import check_plan
from dispatch.daily import DayVisit, Pin, route_day
from dispatch.model import Break, Caregiver, Household, Scenario, ServiceRequest, Station
from dispatch.reasons import Reason
from solver.problem import SolveParams

LAT, LON = 38.48, 106.23
FAST = SolveParams(time_limit=1.0, seed=1, iteration_limit=200)


def caregiver(cid: str, **kw) -> Caregiver:
    base = dict(
        station="S1",
        gender="F",
        mode="ebike",
        skills=frozenset({"cleaning", "meal_delivery"}),
        shifts=MappingProxyType({"mon": (8 * 60, 17 * 60)}),
    )
    base.update(kw)
    return Caregiver(id=cid, **base)  # type: ignore[arg-type]


def household(hid: str, dlat: float, *requests: ServiceRequest, **kw) -> Household:
    return Household(id=hid, lat=LAT + dlat, lon=LON, requests=requests, **kw)


def request(rid: str, windows=((8 * 60, 16 * 60),), **kw) -> ServiceRequest:
    base = dict(service="cleaning", minutes=60, windows=tuple(windows))
    base.update(kw)
    return ServiceRequest(id=rid, **base)  # type: ignore[arg-type]


def scenario(caregivers, households) -> Scenario:
    return Scenario(
        name="tiny",
        days=("mon",),
        stations=(Station("S1", LAT, LON, "站"),),
        caregivers=tuple(caregivers),
        households=tuple(households),
    )


def assert_clean(sc: Scenario, plan) -> None:
    report = check_plan(sc, plan)
    assert report.violations == (), report.violations


def test_single_visit_times_by_hand():
    sc = scenario(
        [caregiver("C1")], [household("H1", 0.01, request("R1", [(9 * 60, 9 * 60 + 30)]))]
    )
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    (route,) = plan.routes
    (stop,) = route.stops
    # Leaves as late as possible: 6 min ride, start at the window's opening 09:00.
    assert (route.leave, stop.arrival, stop.start, stop.end, route.back) == (
        534,
        540,
        540,
        600,
        606,
    )
    assert plan.kpis["travel_minutes"] == 12
    assert plan.unassigned == ()


def test_walking_caregiver_uses_walking_speed():
    sc = scenario(
        [caregiver("C1", mode="walk")],
        [household("H1", 0.01, request("R1", [(9 * 60, 9 * 60 + 30)]))],
    )
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert plan.routes[0].leave == 9 * 60 - 20
    assert plan.kpis["travel_minutes"] == 40


@pytest.mark.parametrize(
    ("caregivers", "hh_kw", "req_kw", "reason"),
    [
        ([caregiver("C1")], {}, {"service": "bathing"}, Reason.NO_QUALIFIED_CAREGIVER),
        ([caregiver("C1")], {"gender_preference": "M"}, {}, Reason.GENDER_PREFERENCE),
        ([caregiver("C1")], {"forbidden_caregivers": ("C1",)}, {}, Reason.FORBIDDEN_CAREGIVERS),
        (
            [
                caregiver("C1", shifts=MappingProxyType({"tue": (480, 1020)})),
                caregiver("C2", skills=frozenset()),
            ],
            {},
            {},
            Reason.NO_SHIFT_ON_ALLOWED_DAYS,
        ),
        ([caregiver("C1")], {}, {"windows": ((6 * 60, 7 * 60),)}, Reason.NO_TIME_WINDOW_FITS),
    ],
)
def test_unassigned_reasons(caregivers, hh_kw, req_kw, reason):
    sc = scenario(caregivers, [household("H1", 0.01, request("R1", **req_kw), **hh_kw)])
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert [(u.request, u.reason) for u in plan.unassigned] == [("R1", reason.value)]
    assert plan.unassigned[0].detail


def test_overload_drops_the_lowest_priority_first():
    # Shift 08:00-10:00 holds one 60-min visit 6 min away (6+60+6), not two (at least 6+60+60+6).
    c = caregiver("C1", shifts=MappingProxyType({"mon": (480, 600)}))
    sc = scenario(
        [c],
        [
            household("H1", 0.01, request("low", priority=10)),
            household("H2", -0.01, request("high", priority=90)),
        ],
    )
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert [s.request for s in plan.routes[0].stops] == ["high"]
    assert [(u.request, u.reason) for u in plan.unassigned] == [("low", Reason.CAPACITY.value)]


def test_meal_boxes_respect_the_ebike_capacity():
    c1 = caregiver("C1", capacity=5)
    meals = [
        household(f"H{i}", 0.002 * i, request(f"M{i}", service="meal_delivery", minutes=10, load=2))
        for i in range(1, 5)
    ]
    sc = scenario([c1, caregiver("C2", capacity=5)], meals)
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert sum(len(r.stops) for r in plan.routes) == 4
    assert all(len(r.stops) <= 2 for r in plan.routes)


def test_daily_visit_cap():
    hs = [household(f"H{i}", 0.001 * i, request(f"R{i}", minutes=20)) for i in range(1, 5)]
    sc = scenario([caregiver("C1", max_visits_per_day=3)], hs)
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert len(plan.routes[0].stops) == 3
    assert len(plan.unassigned) == 1


def test_lunch_break_is_taken_inside_its_window():
    rest = Break(11 * 60 + 30, 13 * 60 + 30, 60)
    hs = [
        household("H1", 0.01, request("R1", [(11 * 60, 11 * 60)])),
        household("H2", 0.011, request("R2", [(12 * 60, 13 * 60 + 30)])),
    ]
    sc = scenario([caregiver("C1", rest=rest)], hs)
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    (route,) = plan.routes
    assert route.rest is not None
    assert rest.window_start <= route.rest.start and route.rest.end <= rest.window_end
    # R1 runs 11:00-12:00, so the hour of rest cannot start before 12:00 and R2 waits for it.
    assert route.rest.start >= 12 * 60
    assert [s.request for s in route.stops] == ["R1", "R2"]
    assert route.stops[1].start >= route.rest.end


def test_multiple_windows_second_one_used():
    c = caregiver("C1", shifts=MappingProxyType({"mon": (10 * 60, 17 * 60)}))
    sc = scenario(
        [c], [household("H1", 0.01, request("R1", [(8 * 60, 9 * 60), (14 * 60, 15 * 60)]))]
    )
    plan = route_day(sc, "mon", params=FAST)
    assert_clean(sc, plan)
    assert plan.routes[0].stops[0].start == 14 * 60


def test_pins_keep_caregiver_and_order():
    hs = [household(f"H{i}", 0.003 * i, request(f"R{i}", minutes=30)) for i in range(1, 5)]
    sc = scenario([caregiver("C1"), caregiver("C2")], hs)
    pins = [Pin("C2", ("R4", "R1"))]
    plan = route_day(sc, "mon", params=FAST, pins=pins)
    assert_clean(sc, plan)
    c2 = next(r for r in plan.routes if r.caregiver == "C2")
    order = [s.request for s in c2.stops]
    assert order.index("R4") < order.index("R1")


def test_explicit_visit_list_and_unknown_day():
    hs = [household("H1", 0.01, request("R1")), household("H2", 0.02, request("R2"))]
    sc = scenario([caregiver("C1")], hs)
    plan = route_day(sc, "mon", params=FAST, visits=[DayVisit("R2", "H2")])
    assert [s.request for r in plan.routes for s in r.stops] == ["R2"]
    with pytest.raises(ValueError, match="day"):
        route_day(sc, "tue", params=FAST)


def test_same_seed_and_iteration_budget_give_the_same_plan():
    hs = [
        household(f"H{i}", 0.004 * ((i * 7) % 11) - 0.02, request(f"R{i}", minutes=30))
        for i in range(12)
    ]
    sc = scenario([caregiver("C1"), caregiver("C2"), caregiver("C3", mode="walk")], hs)
    params = SolveParams(time_limit=30.0, seed=7, iteration_limit=50)
    a = route_day(sc, "mon", params=params)
    b = route_day(sc, "mon", params=params)
    assert a.routes == b.routes
    assert_clean(sc, a)
