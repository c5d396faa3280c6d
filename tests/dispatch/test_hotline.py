"""Hotline insertion on a hand-made line of places.

The places lie on the equator; with circuity 1 and the speed below, one degree of longitude
is 100 minutes, so every step of 0.103 degrees is 10.3 minutes: S→A 11, A→B 11, B→C 11,
S→B 21 (20.6), A→C 21, S→C 31 (30.9).
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType

import pytest

from dispatch.checker import check_plan
from dispatch.daily import day_visits, route_day
from dispatch.hotline import (
    Call,
    DayRoute,
    RouteVisit,
    apply_option,
    find_insertions,
    find_pair_insertions,
)
from dispatch.model import (
    Break,
    Caregiver,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    Stop,
    TravelSettings,
)
from dispatch.scenario_io import parse_scenario
from dispatch.travel import EARTH_RADIUS_KM, HaversineProvider, provider_for
from solver.problem import SolveParams
from tests.conftest import fixture_data

SPEED = 0.6 * math.pi / 180 * EARTH_RADIUS_KM  # km/h: 1 degree of longitude = 100 minutes
TRAVEL = HaversineProvider.from_settings(
    TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": SPEED, "car": SPEED}))
)
STEP = 0.103
A, B, C = STEP, 2 * STEP, 3 * STEP


def caregiver(cid: str = "C", **changes: object) -> Caregiver:
    values: dict[str, object] = {
        "id": cid,
        "station": "S",
        "gender": "F",
        "skills": frozenset({"cleaning", "emergency"}),
        "shifts": MappingProxyType({"mon": (480, 1020)}),
    }
    values.update(changes)
    return Caregiver(**values)  # type: ignore[arg-type]


def route(c: Caregiver, *visits: RouteVisit, station_lon: float = 0.0, **kw: object) -> DayRoute:
    return DayRoute(c, "mon", 0.0, station_lon, tuple(visits), **kw)  # type: ignore[arg-type]


V1 = RouteVisit("V1", 0.0, A, 540, 600, ((540, 600),))
V2 = RouteVisit("V2", 0.0, C, 630, 690, ((630, 700),))


def call(window: tuple[int, int] = (480, 720), **kw: object) -> Call:
    return Call(lat=0.0, lon=B, minutes=30, window=window, skill="cleaning", **kw)  # type: ignore[arg-type]


def test_cheapest_position_is_after_the_last_visit() -> None:
    answer = find_insertions(call(), [route(caregiver(), V1, V2)], now=480, travel=TRAVEL)
    [best] = answer.options
    # Before V1: +21; between V1 and V2: 11 + 11 - 21 = 1 but V2 moves 22 minutes later;
    # after V2: 11 + 21 - 31 = 1 and nothing moves, so it wins the tie.
    assert (best.position, best.arrival, best.start, best.end) == (2, 701, 701, 731)
    assert (best.added_travel, best.moves, best.back) == (1, (), 752)


def test_between_visits_moves_the_later_one() -> None:
    answer = find_insertions(call((480, 650)), [route(caregiver(), V1, V2)], now=480, travel=TRAVEL)
    [best] = answer.options
    # Leave V1 at 10:00, arrive 10:11, serve to 10:41, V2 ready at 10:52 instead of 10:30.
    assert (best.position, best.arrival, best.added_travel) == (1, 611, 1)
    assert [(m.key, m.start_before, m.start_after, m.delay) for m in best.moves] == [
        ("V2", 630, 652, 22)
    ]
    assert best.back == 712 + 31


def test_a_broken_window_makes_a_position_infeasible() -> None:
    tight = RouteVisit("V2", 0.0, C, 630, 690, ((630, 640),))
    answer = find_insertions(
        call((480, 650)), [route(caregiver(), V1, tight)], now=480, travel=TRAVEL
    )
    [best] = answer.options
    # After V1, V2 would start at 10:52, past its window's 10:40: only before V1 is left,
    # where V1 starts 2 minutes late (arrive B 08:21, leave 08:51, A at 09:02).
    assert (best.position, best.start, best.added_travel) == (0, 501, 21)
    assert [(m.key, m.delay) for m in best.moves] == [("V1", 2)]


def test_no_option_when_every_window_breaks() -> None:
    tight1 = RouteVisit("V1", 0.0, A, 540, 600, ((540, 540),))
    tight2 = RouteVisit("V2", 0.0, C, 630, 690, ((630, 640),))
    answer = find_insertions(
        call((480, 650)), [route(caregiver(), tight1, tight2)], now=480, travel=TRAVEL
    )
    assert answer.options == ()
    assert "nobody" in answer.message


def test_visits_already_started_stay_and_now_bounds_the_start() -> None:
    fixed = RouteVisit("V1", 0.0, A, 540, 600, ((540, 600),), fixed=True)
    answer = find_insertions(call(), [route(caregiver(), fixed, V2)], now=500, travel=TRAVEL)
    assert all(o.position >= 1 for o in answer.options)
    # At 11:00 V2 has started too: the only place is after it, leaving C at 11:30.
    late = find_insertions(call(), [route(caregiver(), V1, V2)], now=660, travel=TRAVEL)
    assert [(o.position, o.arrival) for o in late.options] == [(2, 701)]


def test_skill_gender_forbidden_and_cap_filter_caregivers() -> None:
    routes = [
        route(caregiver("F1")),
        route(caregiver("M1", gender="M")),
        route(caregiver("N1", skills=frozenset({"walking"}))),
        route(caregiver("X1")),
        route(caregiver("K1", max_visits_per_day=1), V1),
    ]
    answer = find_insertions(
        call(gender_preference="F", forbidden_caregivers=("X1",)),
        routes,
        now=480,
        travel=TRAVEL,
    )
    assert [o.caregiver for o in answer.options] == ["F1"]
    assert answer.considered == 2  # F1 and K1 qualify; K1 is at its daily cap


def test_shift_end_is_kept() -> None:
    short = caregiver(shifts=MappingProxyType({"mon": (480, 740)}))
    answer = find_insertions(call(), [route(short, V1, V2)], now=480, travel=TRAVEL)
    # After V2 it would be back at 12:32 (past 12:20); between, back at 12:23; before V1 at
    # 11:51 with V1 +2 minutes and V2 unchanged.
    assert [(o.position, o.back) for o in answer.options] == [(0, 721)]


def test_rest_slides_later_inside_its_window() -> None:
    c = caregiver(rest=Break(690, 810, 60))
    placed = RouteBreak(690, 750)
    answer = find_insertions(
        call((480, 720)), [route(c, V1, V2, rest=placed)], now=480, travel=TRAVEL
    )
    [best] = answer.options
    # After V2 (ends 11:30) the visit starts 11:41; the rest then starts at 12:11.
    assert (best.position, best.start, best.rest) == (2, 701, RouteBreak(731, 791))
    too_late = caregiver(rest=Break(690, 780, 60))
    none = find_insertions(
        call((700, 720)), [route(too_late, V1, V2, rest=placed)], now=480, travel=TRAVEL
    )
    assert none.options == ()


def test_emergency_ranks_by_arrival_and_says_when_nobody_is_near() -> None:
    near = route(caregiver("NEAR"), V1, V2)
    far = route(caregiver("FAR"), station_lon=B + 0.505)  # 51 minutes away (50.5), idle
    emergency = Call(0.0, B, 30, (600, 720), "emergency", urgency="emergency")
    answer = find_insertions(emergency, [far, near], now=600, travel=TRAVEL)
    assert [o.caregiver for o in answer.options] == ["NEAR", "FAR"]
    assert answer.options[0].arrival == 611
    assert answer.within_emergency_minutes is True
    alone = find_insertions(emergency, [far], now=600, travel=TRAVEL)
    assert alone.within_emergency_minutes is False
    assert alone.options[0].arrival == 651
    assert "15" in alone.message and "51" in alone.message


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        find_insertions(call(), [], now=480, limit=0)
    with pytest.raises(ValueError):
        find_insertions(call((700, 600)), [], now=480)


def _monday_routes(tiny: Scenario, day: Plan) -> tuple[dict[str, Route], list[DayRoute]]:
    """Monday's routes of ``day`` by caregiver (an empty one for a caregiver without visits)
    and the same as the hotline search sees them."""
    minutes = {r.id: r for _, r in tiny.requests()}
    homes = {h.id: h for h in tiny.households}
    routes = {r.caregiver: r for r in day.routes}
    day_routes = []
    for c in tiny.caregivers:
        if "mon" not in c.shifts:
            continue
        route = routes.get(c.id) or Route(c.id, "mon", c.shifts["mon"][0], c.shifts["mon"][0])
        routes[c.id] = route
        station = tiny.station(c.station)
        visits = tuple(
            RouteVisit(
                s.request,
                homes[s.household].lat,
                homes[s.household].lon,
                s.start,
                s.end,
                minutes[s.request].windows,
            )
            for s in route.stops
        )
        day_routes.append(DayRoute(c, "mon", station.lat, station.lon, visits, route.rest))
    return routes, day_routes


@pytest.mark.parametrize("window", [(540, 720), (540, 560)])
def test_an_inserted_visit_passes_the_checker(window: tuple[int, int]) -> None:
    """Route the tiny Monday without H2's welfare visit, insert it through the hotline search
    on each caregiver's best position, and check the whole day with the checker (the early
    window pushes later visits)."""
    tiny = parse_scenario(fixture_data("tiny_scenario.json")).scenario
    left_out = "H2-visit"
    todo = [v for v in day_visits(tiny, "mon") if v.request != left_out]
    day = route_day(tiny, "mon", visits=todo, params=SolveParams(time_limit=1))
    assert check_plan(tiny, replace(day, unassigned=(*day.unassigned,))).violations  # H2 missing
    household = tiny.household("H2")
    request = next(r for r in household.requests if r.id == left_out)
    routes, day_routes = _monday_routes(tiny, day)
    assert any(lo <= window[0] and window[1] <= hi for lo, hi in request.windows)
    call = Call(household.lat, household.lon, request.minutes, window, "welfare_visit")
    answer = find_insertions(call, day_routes, now=0, travel=provider_for(tiny), limit=5)
    assert answer.options
    for option in answer.options:
        old = routes[option.caregiver]
        stop = Stop(left_out, household.id, option.arrival, option.start, option.end)
        new = apply_option(old, option, stop, [s.request for s in old.stops])
        others = tuple(r for r in day.routes if r.caregiver != option.caregiver)
        plan = replace(day, routes=(*others, new))
        report = check_plan(tiny, plan)
        assert report.ok, (option, report.violations)


def test_weekly_minutes_cap_counts_the_other_days() -> None:
    """The route leaves at 529 (11 minutes before V1). After V2 the day spans 529..752 (223
    minutes); between V1 and V2 it spans 529..743 (214: V2 and the return move 22 later)."""
    capped = caregiver(max_minutes_per_week=1000)
    free = find_insertions(call(), [route(capped, V1, V2, leave=529)], now=480, travel=TRAVEL)
    assert [o.position for o in free.options] == [2]
    tight = route(capped, V1, V2, leave=529, minutes_elsewhere=780)  # 1000 - 780 = 220 left
    [best] = find_insertions(call(), [tight], now=480, travel=TRAVEL).options
    assert (best.position, best.back) == (1, 743)
    full = route(capped, V1, V2, leave=529, minutes_elsewhere=800)  # 200 left: nothing fits
    assert find_insertions(call(), [full], now=480, travel=TRAVEL).options == ()


def test_load_capacity_is_kept() -> None:
    van = caregiver(capacity=4)
    loaded = route(van, V1, V2, load=3)
    assert find_insertions(call(load=1), [loaded], now=480, travel=TRAVEL).options
    assert find_insertions(call(load=2), [loaded], now=480, travel=TRAVEL).options == ()


# --- two-person calls (双人服务) ---------------------------------------------------------------


def test_a_pair_starts_together_where_their_added_travel_is_least() -> None:
    # C1 is free: alone it could start at B at 08:21 (+42). C2 has V1 at A 09:00-10:00: before
    # V1 it starts 08:21 and delays V1 by 2 minutes (+21), after V1 at 10:11 (+21). Together:
    # 08:21 (+63, 2 minutes of delay) or 10:11 (+63, none): 10:11 wins. C3 lacks the skill.
    routes = [
        route(caregiver("C1")),
        route(caregiver("C2"), V1),
        route(caregiver("C3", skills=frozenset({"emergency"}))),
    ]
    answer = find_pair_insertions(call(), routes, now=480, travel=TRAVEL)
    assert answer.considered == 2
    best = answer.options[0]
    assert set(best.caregivers) == {"C1", "C2"}
    assert (best.start, best.first.start, best.second.start) == (611, 611, 611)
    assert (best.added_travel, best.total_delay) == (63, 0)
    assert len(answer.options) == 1  # one pair of two caregivers


def test_an_emergency_pair_starts_as_early_as_both_can_be_there() -> None:
    routes = [route(caregiver("C1")), route(caregiver("C2"), V1)]
    emergency = call(urgency="emergency")
    answer = find_pair_insertions(emergency, routes, now=480, travel=TRAVEL)
    best = answer.options[0]
    assert (best.start, best.arrival, best.total_delay) == (501, 501, 2)
    assert answer.within_emergency_minutes is False  # 21 minutes away
    assert "21" in answer.message


def test_no_pair_when_only_one_caregiver_is_qualified() -> None:
    routes = [route(caregiver("C1")), route(caregiver("C2", skills=frozenset({"emergency"})))]
    answer = find_pair_insertions(call(), routes, now=480, travel=TRAVEL)
    assert answer.options == () and answer.considered == 1
    assert "two caregivers" in answer.message


def test_an_inserted_pair_passes_the_checker() -> None:
    """As above for one caregiver, with H2's welfare visit made a two-person one: both
    insertions go in, and the checker sees one synchronised visit."""
    tiny = parse_scenario(fixture_data("tiny_scenario.json")).scenario
    left_out = "H2-visit"
    household = tiny.household("H2")
    request = replace(next(r for r in household.requests if r.id == left_out), staff=2)
    household = replace(
        household,
        requests=tuple(request if r.id == left_out else r for r in household.requests),
    )
    tiny = replace(
        tiny, households=tuple(household if h.id == "H2" else h for h in tiny.households)
    )
    todo = [v for v in day_visits(tiny, "mon") if v.request != left_out]
    day = route_day(tiny, "mon", visits=todo, params=SolveParams(time_limit=1))
    routes, day_routes = _monday_routes(tiny, day)
    window = request.windows[0]
    pair_call = Call(household.lat, household.lon, request.minutes, window, "welfare_visit")
    answer = find_pair_insertions(pair_call, day_routes, now=0, travel=provider_for(tiny), limit=5)
    assert answer.options
    for pair in answer.options:
        new = {}
        for option in (pair.first, pair.second):
            old = routes[option.caregiver]
            stop = Stop(left_out, household.id, option.arrival, option.start, option.end)
            new[option.caregiver] = apply_option(old, option, stop, [s.request for s in old.stops])
        others = tuple(r for r in day.routes if r.caregiver not in new)
        plan = replace(day, routes=(*others, *new.values()))
        report = check_plan(tiny, plan)
        assert report.ok, (pair, report.violations)
