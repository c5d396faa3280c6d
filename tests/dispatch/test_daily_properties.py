"""Property: every plan the daily router writes for a random small scenario passes the checker."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.checker import check_plan
from dispatch.daily import route_day
from dispatch.model import Break, Caregiver, Household, Scenario, ServiceRequest, Station
from solver.problem import SolveParams

SKILLS = ("cleaning", "bathing", "meal_delivery")
LAT, LON = 38.48, 106.23


@st.composite
def windows(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    n = draw(st.integers(1, 2))
    out = []
    t = draw(st.integers(7 * 60, 11 * 60))
    for _ in range(n):
        width = draw(st.integers(0, 180))
        out.append((t, t + width))
        t += width + draw(st.integers(30, 180))
    return tuple(w for w in out if w[1] <= 23 * 60)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    stations = tuple(
        Station(f"S{i}", LAT + draw(st.floats(-0.03, 0.03)), LON + draw(st.floats(-0.03, 0.03)))
        for i in range(draw(st.integers(1, 2)))
    )
    caregivers = []
    for i in range(draw(st.integers(1, 4))):
        start = draw(st.integers(7 * 60, 10 * 60))
        end = draw(st.integers(start + 120, 19 * 60))
        rest = draw(
            st.sampled_from(
                [None, Break(11 * 60 + 30, 13 * 60 + 30, 60), Break(12 * 60, 13 * 60, 30)]
            )
        )
        caregivers.append(
            Caregiver(
                id=f"C{i}",
                station=draw(st.sampled_from(stations)).id,
                gender=draw(st.sampled_from(["F", "M"])),
                mode=draw(st.sampled_from(["walk", "ebike", "car"])),
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
                shifts=MappingProxyType({"mon": (start, end)}),
                rest=rest,
                max_visits_per_day=draw(st.sampled_from([None, 2, 5])),
                max_minutes_per_week=draw(st.sampled_from([None, 240, 2400])),
                capacity=draw(st.sampled_from([None, 3])),
            )
        )
    households = []
    for i in range(draw(st.integers(1, 8))):
        reqs = tuple(
            ServiceRequest(
                id=f"H{i}-R{j}",
                service=draw(st.sampled_from(SKILLS)),
                minutes=draw(st.sampled_from([10, 30, 60, 90])),
                windows=draw(windows()),
                priority=draw(st.integers(1, 100)),
                load=draw(st.sampled_from([0, 0, 1, 2])),
            )
            for j in range(draw(st.integers(1, 2)))
        )
        households.append(
            Household(
                id=f"H{i}",
                lat=LAT + draw(st.floats(-0.04, 0.04)),
                lon=LON + draw(st.floats(-0.04, 0.04)),
                requests=reqs,
                gender_preference=draw(st.sampled_from([None, None, "F", "M"])),
                forbidden_caregivers=tuple(
                    draw(st.sets(st.sampled_from([c.id for c in caregivers]), max_size=1))
                ),
            )
        )
    return Scenario("prop", ("mon",), stations, tuple(caregivers), tuple(households))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_router_output_passes_the_checker(sc: Scenario) -> None:
    plan = route_day(sc, "mon", params=SolveParams(time_limit=2.0, seed=0, iteration_limit=30))
    report = check_plan(sc, plan)
    assert report.violations == (), report.violations
    planned = {s.request for r in plan.routes for s in r.stops}
    missing = {u.request for u in plan.unassigned}
    assert planned | missing == {r.id for _, r in sc.requests()}
    assert not planned & missing
