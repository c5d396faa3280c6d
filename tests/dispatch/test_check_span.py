"""Plans of several weeks whose weeks have master data of their own: the span checker
(``dispatch/checker/span.py``), the weeks' KPIs added up, ``plan_weeks(week_scenarios=...)``
and the unassigned entries' ``week``.

The hand fixture: one station, two caregivers and two households, all homes where the station
is except H2 from the second week on (it moves); C2 leaves on Wednesday of the second week.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from dispatch.calendar import MasterChange, span_documents
from dispatch.checker import Rule, check_plan, check_span
from dispatch.checker.span import sum_week_kpis
from dispatch.haversine import scenario_travel
from dispatch.model import Plan, Route, Scenario, Stop, Unassigned
from dispatch.plan_io import PlanError, parse_plan, plan_to_dict
from dispatch.reasons import Reason
from dispatch.scenario_io import parse_scenario
from dispatch.weekly import plan_weeks
from solver.problem import SolveParams

MONDAY = dt.date(2026, 11, 23)
DAYS6 = ["mon", "tue", "wed", "thu", "fri", "sat"]
LAT, LON = 38.49, 106.23


def day(i: int) -> dt.date:
    return MONDAY + dt.timedelta(days=i)


def caregiver(cid: str, station: str = "S1") -> dict[str, Any]:
    return {
        "id": cid,
        "station": station,
        "skills": ["welfare_visit", "cleaning"],
        "shifts": {d: ["08:00", "17:00"] for d in DAYS6},
    }


def household(hid: str, lat: float = LAT, lon: float = LON, gap: int = 1) -> dict[str, Any]:
    return {
        "id": hid,
        "lat": lat,
        "lon": lon,
        "requests": [
            {
                "id": f"{hid}-visit",
                "service": "welfare_visit",
                "minutes": 60,
                "windows": [["08:00", "17:00"]],
                "visits_per_week": 1,
                "min_gap_days": gap,
            }
        ],
    }


BASE: dict[str, Any] = {
    "format": 1,
    "name": "span",
    "week_start": MONDAY.isoformat(),
    "days": DAYS6,
    "stations": [{"id": "S1", "lat": LAT, "lon": LON}],
    "caregivers": [caregiver("C1"), caregiver("C2")],
    "households": [household("H1", gap=3), household("H2")],
}
CHANGES = [
    MasterChange("caregiver", "C2", day(9), None),  # leaves on Wednesday of week 2
    MasterChange("household", "H2", day(7), household("H2", lat=LAT + 0.01)),  # moves
]


def scenarios(changes: list[MasterChange] = CHANGES) -> list[Scenario]:
    return [parse_scenario(d).scenario for d in span_documents(BASE, changes, MONDAY, 2)]


def visit(cid: str, when: dt.date, hid: str, travel: int = 0) -> Route:
    """A route of one one-hour visit starting at 09:00, ``travel`` minutes each way."""
    stop = Stop(f"{hid}-visit", hid, arrival=540, start=540, end=600)
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return Route(
        cid, days[when.weekday()], 540 - travel, 600 + travel, (stop,), date=when.isoformat()
    )


def moved_minutes() -> int:
    """Minutes from the station to H2's new home by e-bike (about 1.1 km: 6 minutes)."""
    return scenario_travel(scenarios()[1])("station:S1", "household:H2", "ebike")


def clean_routes() -> list[Route]:
    return [
        visit("C2", day(0), "H2"),
        visit("C1", day(5), "H1"),  # Saturday
        visit("C1", day(8), "H2", moved_minutes()),  # Tuesday: C2 still works
        visit("C1", day(9), "H1"),  # Wednesday: four days after Saturday
    ]


def plan_of(routes: list[Route], unassigned: tuple[Unassigned, ...] = ()) -> Plan:
    return Plan(scenario="span", routes=tuple(routes), unassigned=unassigned, weeks=2)


def rules(plan: Plan, scs: list[Scenario] | None = None) -> list[tuple[str, str | None]]:
    report = check_span(scs or scenarios(), plan)
    return [(v.rule, v.day) for v in report.violations]


def test_the_weeks_differ() -> None:
    one, two = scenarios()
    assert one != two
    assert list(two.caregivers[1].shifts) == ["mon", "tue"]
    assert moved_minutes() == 6


def test_a_clean_plan_passes() -> None:
    report = check_span(scenarios(), plan_of(clean_routes()))
    assert report.violations == ()
    assert report.kpis["required_visits"] == 4 and report.kpis["planned_visits"] == 4
    assert report.kpis["travel_minutes"] == 12


def test_a_caregiver_routed_after_leaving_is_caught() -> None:
    routes = clean_routes()
    routes[2] = visit("C2", day(10), "H2", moved_minutes())  # Thursday, after C2 left
    report = check_span(scenarios(), plan_of(routes))
    assert [(v.rule, v.caregiver, v.day) for v in report.violations] == [
        (Rule.SHIFT.value, "C2", "2026-12-03")
    ]


def test_the_weeks_own_coordinates_are_used() -> None:
    routes = clean_routes()
    routes[2] = visit("C1", day(8), "H2")  # as if H2 still lived at the station
    # Six minutes short on the way there and on the way back.
    assert rules(plan_of(routes)) == [(Rule.TRAVEL.value, "2026-12-01")] * 2


def test_spacing_across_the_boundary() -> None:
    routes = clean_routes()
    routes[3] = visit("C1", day(7), "H1")  # Monday after Saturday: two days, three wanted
    report = check_span(scenarios(), plan_of(routes))
    assert [(v.rule, v.request, v.day, v.message) for v in report.violations] == [
        (
            Rule.SPACING.value,
            "H1-visit",
            "2026-11-30",
            "visits on 2026-11-28 and 2026-11-30 are 2 day(s) apart, at least 3 wanted",
        )
    ]
    # Week 2's request decides: with two days from then on, Saturday and Monday are fine.
    relaxed = [*CHANGES, MasterChange("household", "H1", day(7), household("H1", gap=2))]
    assert rules(plan_of(routes), scenarios(relaxed)) == []


def test_equal_master_data_is_check_plan() -> None:
    scs = scenarios([])
    routes = clean_routes()
    routes[3] = visit("C1", day(7), "H1")
    plan = plan_of(routes)
    assert check_span(scs, plan) == check_plan(scs[0], plan)
    assert check_span(scs[:1], plan) == check_plan(scs[0], plan)
    assert check_span([scs[0], scs[0]], plan) == check_plan(scs[0], plan)


def test_dates_outside_missing_or_wrong() -> None:
    routes = clean_routes()
    routes[0] = visit("C2", day(14), "H2")
    routes.append(Route("C2", "fri", 540, 600, (), date="2026-11-26"))
    routes.append(Route("C2", "fri", 540, 600, ()))
    found = rules(plan_of(routes))
    assert found[:3] == [
        (Rule.DATE.value, "2026-12-07"),
        (Rule.DATE.value, "2026-11-26"),
        (Rule.DATE.value, "fri"),
    ]
    # H2 is then not visited in week 1 and nothing says so.
    assert (Rule.UNASSIGNED.value, None) in found


def test_unassigned_entries_count_for_their_week() -> None:
    routes = clean_routes()[1:]
    missing = Unassigned("H2-visit", "H2", 1, Reason.CAPACITY, "", week="2026-11-23")
    assert rules(plan_of(routes, (missing,))) == []
    wrong_week = Unassigned("H2-visit", "H2", 1, Reason.CAPACITY, "", week="2026-11-30")
    assert rules(plan_of(routes, (wrong_week,))) == [
        (Rule.UNASSIGNED.value, None),
        (Rule.UNASSIGNED.value, None),
    ]
    no_week = Unassigned("H2-visit", "H2", 1, Reason.CAPACITY)
    report = check_span(scenarios(), plan_of(routes, (no_week,)))
    assert [v.message for v in report.violations] == [
        "0 of 1 visits planned but 0 reported missing, not 1",
        "does not say its week, in a plan of several weeks",
    ]


def test_week_findings_name_their_week() -> None:
    scs = scenarios()
    capped = [scs[0], scs[1]]
    doc = span_documents(BASE, CHANGES, MONDAY, 2)[1]
    doc["caregivers"][0]["max_minutes_per_week"] = 100
    capped[1] = parse_scenario(doc).scenario
    routes = clean_routes()
    report = check_span(capped, plan_of(routes))
    assert [v.message for v in report.violations] == [
        "132 working minutes in the week of 2026-11-30, at most 100"
    ]


def test_sum_week_kpis() -> None:
    one = {
        "required_visits": 2.0,
        "travel_minutes": 30.0,
        "working_minutes": 300.0,
        "travel_share": 0.1,
        "requests_fully_served": 1.0,
        "caregivers_used": 2.0,
        "utilisation_min": 0.2,
    }
    two = {**one, "travel_minutes": 90.0, "requests_fully_served": 0.5, "utilisation_min": 0.1}
    two["caregivers_used"] = 3.0
    assert sum_week_kpis([one, two]) == {
        "required_visits": 4.0,
        "travel_minutes": 120.0,
        "working_minutes": 600.0,
        "travel_share": 0.2,
        "requests_fully_served": 0.75,
        "caregivers_used": 3.0,
        "utilisation_min": 0.1,
    }
    with pytest.raises(ValueError):
        sum_week_kpis([])


def test_unassigned_week_is_written_read_and_validated() -> None:
    plan = Plan(
        scenario="span",
        unassigned=(Unassigned("H2-visit", "H2", 1, Reason.CAPACITY, "x", week="2026-11-30"),),
        kpis={
            "required_visits": 1,
            "planned_visits": 0,
            "travel_minutes": 0,
            "service_minutes": 0,
            "requests_fully_served": 0,
        },
        weeks=2,
    )
    data = plan_to_dict(plan)
    assert data["unassigned"][0]["week"] == "2026-11-30"
    assert parse_plan(data) == plan
    one_week = plan_to_dict(Plan(scenario="s", unassigned=(Unassigned("a", "b", 1, "capacity"),)))
    assert "week" not in one_week["unassigned"][0]
    bad = copy.deepcopy(data)
    bad["unassigned"][0]["week"] = "2026-12-01"
    with pytest.raises(PlanError) as err:
        parse_plan(bad)
    assert [str(i.path) for i in err.value.issues] == ["unassigned[0].week"]
    assert "not a Monday" in str(err.value)
    bad["unassigned"][0]["week"] = "1.12.2026"
    with pytest.raises(PlanError, match=r"unassigned\[0\]\.week"):
        parse_plan(bad)


def district() -> dict[str, Any]:
    """One station, three caregivers, six households around it."""
    homes = [
        household(f"H{i}", lat=LAT + 0.004 * (i % 3), lon=LON + 0.005 * (i // 3), gap=2)
        for i in range(1, 7)
    ]
    for h in homes[::2]:
        h["requests"][0]["visits_per_week"] = 2
    return {
        **copy.deepcopy(BASE),
        "caregivers": [caregiver("C1"), caregiver("C2"), caregiver("C3")],
        "households": homes,
    }


def test_plan_weeks_over_changing_master_data_passes_the_span_checker() -> None:
    base = district()
    changes = [
        MasterChange("caregiver", "C3", day(9), None),
        MasterChange("household", "H2", day(7), household("H2", lat=LAT + 0.01, gap=2)),
        MasterChange("household", "H7", day(10), household("H7", lat=LAT - 0.003)),
        MasterChange("household", "H6", day(16), None),
    ]
    docs = span_documents(base, changes, MONDAY, 3)
    scs = [parse_scenario(d).scenario for d in docs]
    params = SolveParams(time_limit=1.5, seed=1, iteration_limit=50)
    plan = plan_weeks(scs[0], weeks=3, params=params, deterministic=True, week_scenarios=scs)
    report = check_span(scs, plan)
    assert report.violations == ()
    assert report.kpis["planned_visits"] == report.kpis["required_visits"]
    assert plan.weeks == 3 and all(r.date is not None for r in plan.routes)
    assert all(u.week in {"2026-11-23", "2026-11-30", "2026-12-07"} for u in plan.unassigned)
    assert not any(r.caregiver == "C3" and r.date >= "2026-12-02" for r in plan.routes)
    figures = {k: v for k, v in plan.kpis.items() if k != "solver_seconds"}
    assert figures == report.kpis
    # H7 arrives on Thursday of week 2 (one visit a week); H6 leaving on Wednesday of week 3
    # still has Monday and Tuesday for its one visit.
    assert report.kpis["required_visits"] == 9 + 10 + 10
    with pytest.raises(ValueError, match="2 week scenarios for 3 weeks"):
        plan_weeks(scs[0], weeks=3, week_scenarios=scs[:2])
