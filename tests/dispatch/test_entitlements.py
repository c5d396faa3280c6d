"""Entitlement tables, default packages and the monthly budget check after planning."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.checker import check_plan
from dispatch.document import DocumentError
from dispatch.greedy import plan_greedy
from dispatch.model import Caregiver, Household, Scenario, ServiceRequest, Station
from dispatch.programmes.entitlements import (
    default_tables,
    parse_tables,
    scheme_of,
    trim_to_entitlement,
)
from dispatch.programmes.packages import apply_packages

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def tables_doc(*, top_up: bool = False, **changes: Any) -> dict[str, Any]:
    """50 yuan a cleaning visit, 200 yuan a month for level-1 low-income households."""
    doc: dict[str, Any] = {
        "format": 1,
        "prices": {"cleaning": {"per": "visit", "yuan": 50}},
        "entitlements": {
            "basic": {
                "yuan_per_month": 200,
                "levels": [1],
                "tags": ["low_income"],
                "top_up": top_up,
            }
        },
        "packages": {"1": [{"service": "cleaning", "visits_per_week": 2, "minutes": 60}]},
    }
    doc.update(changes)
    return doc


def scenario(*households: Household) -> Scenario:
    """One station and one caregiver working 08:00–17:00 Monday to Friday in December 2026."""
    return Scenario(
        name="budget",
        days=WEEKDAYS,
        stations=(Station("S1", 38.49, 106.23),),
        caregivers=(
            Caregiver(
                "C1",
                "S1",
                skills=frozenset({"cleaning", "welfare_visit", "personal_care"}),
                shifts={d: (480, 1020) for d in WEEKDAYS},
            ),
        ),
        households=households,
        week_start="2026-12-07",
    )


def five_cleanings(**kw: Any) -> Household:
    request = ServiceRequest(
        "H1-clean", "cleaning", 60, ((480, 900),), visits_per_week=5, min_gap_days=1
    )
    return Household("H1", 38.491, 106.231, requests=(request,), **kw)


def test_a_budget_stops_the_fifth_visit() -> None:
    world = scenario(five_cleanings(assessment_level=1, tags=("low_income",)))
    plan = plan_greedy(world)
    assert sum(len(r.stops) for r in plan.routes) == 5 and check_plan(world, plan).ok
    trimmed = trim_to_entitlement(world, plan, parse_tables(tables_doc()))
    stops = [(r.day, s.request) for r in trimmed.plan.routes for s in r.stops]
    assert stops == [(d, "H1-clean") for d in ("mon", "tue", "wed", "thu")]
    [unassigned] = trimmed.plan.unassigned
    assert (unassigned.request, unassigned.missing_visits, unassigned.reason) == (
        "H1-clean",
        1,
        "over_entitlement",
    )
    assert trimmed.top_ups == ()
    report = check_plan(world, trimmed.plan)
    assert report.ok, report.violations
    assert trimmed.plan.kpis["planned_visits"] == 4


def test_what_was_spent_before_counts() -> None:
    world = scenario(five_cleanings(assessment_level=1, tags=("low_income",)))
    trimmed = trim_to_entitlement(
        world,
        plan_greedy(world),
        parse_tables(tables_doc()),
        spent_so_far={("H1", "2026-12"): 150_00},
    )
    assert [s.request for r in trimmed.plan.routes for s in r.stops] == ["H1-clean"]
    assert trimmed.plan.unassigned[0].missing_visits == 4
    assert check_plan(world, trimmed.plan).ok


def test_a_top_up_keeps_the_fifth_visit_and_flags_50_yuan() -> None:
    world = scenario(five_cleanings(assessment_level=1, tags=("low_income",)))
    trimmed = trim_to_entitlement(world, plan_greedy(world), parse_tables(tables_doc(top_up=True)))
    assert sum(len(r.stops) for r in trimmed.plan.routes) == 5
    assert trimmed.plan.unassigned == ()
    [top_up] = trimmed.top_ups
    assert (top_up.household, top_up.month, top_up.visits, top_up.fen) == ("H1", "2026-12", 1, 5000)
    assert str(top_up.yuan) == "50"


def test_a_household_without_a_scheme_is_not_trimmed() -> None:
    world = scenario(five_cleanings(assessment_level=1))  # not low-income: no scheme
    plan = plan_greedy(world)
    trimmed = trim_to_entitlement(world, plan, parse_tables(tables_doc()))
    assert trimmed.plan.routes == plan.routes and trimmed.top_ups == ()


def test_minutes_scheme_counts_minutes() -> None:
    doc = tables_doc(
        entitlements={
            "care": {"minutes_per_month": {"2": 180}, "levels": [2], "top_up": True},
        }
    )
    world = scenario(five_cleanings(assessment_level=2))
    trimmed = trim_to_entitlement(world, plan_greedy(world), parse_tables(doc))
    # 180 minutes cover three hour-long visits; two more are the family's at 50 yuan each.
    assert [(t.visits, t.fen) for t in trimmed.top_ups] == [(2, 100_00)]


def test_packages_for_a_level() -> None:
    bare = Household("H7", 38.492, 106.232, assessment_level=1)
    served = five_cleanings(assessment_level=1)
    world = apply_packages(scenario(bare, served), parse_tables(tables_doc()))
    [request] = world.household("H7").requests
    assert (request.id, request.service, request.visits_per_week, request.minutes) == (
        "H7-pkg-cleaning",
        "cleaning",
        2,
        60,
    )
    assert request.windows == ((510, 690), (840, 1020))  # the catalogue's, none given
    assert world.household("H1") == served


def test_default_packages_follow_care_insurance() -> None:
    tables = default_tables()
    visits = {lvl: sum(i.visits_per_week for i in tables.packages[lvl]) for lvl in (2, 3, 4)}
    assert visits == {2: 3, 3: 5, 4: 7}
    level3 = Household("H3", 0, 0, assessment_level=3)
    scheme = scheme_of(level3, tables)
    assert scheme is not None and scheme.code == "care_insurance"
    assert scheme.budget(3) == 22 * 60
    poor = Household("H1", 0, 0, assessment_level=1, tags=("low_income",))
    basic = scheme_of(poor, tables)
    assert basic is not None and basic.fen_per_month == 200_00 and not basic.top_up


def test_a_level_without_a_package_names_the_field() -> None:
    world = scenario(Household("H0012", 38.49, 106.23, assessment_level=3))
    with pytest.raises(DocumentError) as caught:
        apply_packages(world, parse_tables(tables_doc()))
    [issue] = caught.value.issues
    assert issue.path == "packages.3"
    assert str(issue) == "packages.3: no package for assessment level 3 (household H0012 needs one)"


def test_a_negative_price_names_the_field() -> None:
    doc = tables_doc(prices={"cleaning": {"per": "visit", "yuan": -5}})
    with pytest.raises(DocumentError) as caught:
        parse_tables(doc)
    assert [i.path for i in caught.value.issues] == ["prices.cleaning.yuan"]


def test_an_unknown_service_suggests_the_catalogue_code() -> None:
    doc = tables_doc(prices={"cleaning": {"per": "visit", "yuan": 5}, "claening": {}})
    with pytest.raises(DocumentError) as caught:
        parse_tables(doc)
    [issue] = caught.value.issues
    assert issue.path == "prices.claening" and "did you mean cleaning?" in issue.message


def test_package_service_needs_a_price_and_levels_need_minutes() -> None:
    doc = tables_doc(
        entitlements={"care": {"minutes_per_month": {"2": 60}, "levels": [2, 3], "top_up": 1}},
        packages={"1": [{"service": "bathing", "visits_per_week": 1}], "9": []},
    )
    with pytest.raises(DocumentError) as caught:
        parse_tables(doc)
    assert {i.path for i in caught.value.issues} == {
        "entitlements.care.top_up",
        "entitlements.care.minutes_per_month.3",
        "packages.1[0].service",
        "packages.9",
    }


def test_bundled_tables_parse() -> None:
    tables = default_tables()
    assert set(tables.packages) == {0, 1, 2, 3, 4}
    assert tables.price("cleaning").per == "hour"
