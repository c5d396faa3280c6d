"""The city generator and the city planner: a small city of six districts, split into station
groups planned on the local pool and on a local Ray cluster, and a group whose task fails."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from dispatch.checker import check_plan
from dispatch.city import (
    CitySplit,
    assign_households,
    group_scenario,
    group_seconds,
    plan_city,
    plan_group_task,
    run_city,
    split_city,
)
from dispatch.engines import EngineSettings, Reporter
from dispatch.generate import YINCHUAN, city_shares, generate_city
from dispatch.model import Scenario
from dispatch.reasons import Reason
from dispatch.scenario_io import parse_scenario, scenario_to_dict
from solver.problem import SolveParams

HOUSEHOLDS, STATIONS = 360, 8


@pytest.fixture(scope="module")
def city() -> Scenario:
    return generate_city(households=HOUSEHOLDS, stations=STATIONS, seed=5)


@pytest.fixture(scope="module")
def split(city: Scenario) -> CitySplit:
    # Small groups, so that even this small city has several.
    return split_city(city, max_households=100, max_stations=2)


def _requests_accounted(city: Scenario, plan: Any) -> None:
    """Every request is planned in full or its missing visits are unassigned with a reason."""
    days: dict[str, set[str]] = {}
    for route in plan.routes:
        for stop in route.stops:
            days.setdefault(stop.request, set()).add(route.day)
    missing: Counter[str] = Counter()
    for u in plan.unassigned:
        assert u.reason in {r.value for r in Reason}
        assert u.detail
        missing[u.request] += u.missing_visits
    for _, r in city.requests():
        assert len(days.get(r.id, ())) + missing[r.id] == r.visits_per_week


# ------------------------------------------------------------------------------------------
# The generator


def test_city_is_deterministic_with_unique_ids_over_urban_and_rural_districts(city):
    again = generate_city(households=HOUSEHOLDS, stations=STATIONS, seed=5)
    assert scenario_to_dict(again) == scenario_to_dict(city)
    other = generate_city(households=HOUSEHOLDS, stations=STATIONS, seed=6)
    assert scenario_to_dict(other) != scenario_to_dict(city)

    assert len(city.households) == HOUSEHOLDS and len(city.stations) == STATIONS
    for ids in (
        [s.id for s in city.stations],
        [c.id for c in city.caregivers],
        [h.id for h in city.households],
        [r.id for _, r in city.requests()],
    ):
        assert len(ids) == len(set(ids))
    codes = {d.code for d in YINCHUAN}
    assert {s.id.split("-")[0] for s in city.stations} == codes
    assert {h.id.split("-")[0] for h in city.households} == codes
    stations = {s.id for s in city.stations}
    assert all(c.station in stations and c.id[:2] == c.station[:2] for c in city.caregivers)
    # Urban community stations and rural township centres, spread over the city's 50 km.
    names = [s.name for s in city.stations]
    assert any("社区居家养老服务站" in n for n in names)
    assert any("镇居家养老服务中心" in n for n in names)
    lats = [h.lat for h in city.households]
    assert min(lats) > 38.0 and max(lats) < 38.8 and max(lats) - min(lats) > 0.3
    # Households split by the districts' shares.
    per = Counter(h.id.split("-")[0] for h in city.households)
    assert [per[d.code] for d in YINCHUAN] == city_shares(HOUSEHOLDS, [d.share for d in YINCHUAN])


def test_city_shares_add_up_and_need_one_per_district():
    assert city_shares(10, [0.5, 0.3, 0.2]) == [5, 3, 2]
    assert sum(city_shares(250, [d.share for d in YINCHUAN])) == 250
    assert min(city_shares(6, [0.9, 0.05, 0.05])) == 1
    with pytest.raises(ValueError, match="at least 6"):
        generate_city(households=100, stations=5)


def test_city_built_in_processes_is_the_same_city():
    serial = generate_city(households=90, stations=6, seed=2)
    pooled = generate_city(households=90, stations=6, seed=2, workers=2)
    assert scenario_to_dict(pooled) == scenario_to_dict(serial)


# ------------------------------------------------------------------------------------------
# The split


def test_each_household_in_one_group_and_every_caregiver_with_its_station(city, split):
    station_of = assign_households(city)
    assert set(station_of) == {h.id for h in city.households}
    group_of_station = {}
    for g in split.groups:
        for sid in g.stations:
            assert sid not in group_of_station
            group_of_station[sid] = g.key
        assert len(g.stations) <= 2
        assert len(g.households) <= 100 or len(g.stations) == 1
    assert set(group_of_station) == {s.id for s in city.stations}
    seen = Counter(hid for g in split.groups for hid in g.households)
    assert set(seen) == {h.id for h in city.households} and set(seen.values()) == {1}
    for g in split.groups:
        for hid in g.households:
            assert station_of[hid] in g.stations
    crew = Counter(group_of_station[c.station] for c in city.caregivers)
    assert {g.key: g.caregivers for g in split.groups if g.caregivers} == dict(crew)


def test_households_go_to_the_nearest_station_qualified_for_them(city):
    station_of = assign_households(city)
    skills: dict[str, set[str]] = {}
    for c in city.caregivers:
        skills.setdefault(c.station, set()).update(c.skills)
    for h in city.households:
        if h.gender_preference is None and not h.forbidden_caregivers:
            assert all(r.required_skill in skills[station_of[h.id]] for r in h.requests)


def test_group_documents_name_only_their_own_caregivers(city):
    # A household that forbids a caregiver of another station and prefers one of a third (the
    # generator never makes these; a city's master data may).
    first = city.households[0]
    station_of = assign_households(city)
    far = [c for c in reversed(city.caregivers) if c.station != station_of[first.id]]
    odd = replace(first, forbidden_caregivers=(far[0].id,), preferred_caregivers=(far[-1].id,))
    changed = replace(city, households=(odd, *city.households[1:]))
    split = split_city(changed, max_households=100, max_stations=2)
    for g in split.groups:
        sub = group_scenario(changed, g)
        here = {c.id for c in sub.caregivers}
        for h in sub.households:
            assert set(h.preferred_caregivers) <= here and set(h.forbidden_caregivers) <= here
        assert parse_scenario(scenario_to_dict(sub)).scenario.households == sub.households


def test_a_household_goes_to_the_station_of_the_caregiver_it_prefers(city):
    station_of = assign_households(city)
    h = next(h for h in city.households if not h.gender_preference and not h.forbidden_caregivers)
    skills = {}
    for c in city.caregivers:
        skills.setdefault(c.station, set()).update(c.skills)
    other = next(
        c
        for c in city.caregivers
        if c.station != station_of[h.id]
        and all(r.required_skill in skills[c.station] for r in h.requests)
    )
    moved = replace(city, households=(replace(h, preferred_caregivers=(other.id,)),))
    assert assign_households(moved)[h.id] == other.station


def test_group_seconds_follow_the_visits_and_fill_the_limit(split):
    seconds = group_seconds(split, time_limit=20.0, workers=2)
    assert set(seconds) == {g.key for g in split.groups}
    big = max(split.groups, key=lambda g: g.visits)
    small = min(split.groups, key=lambda g: g.visits)
    assert seconds[big.key] >= seconds[small.key]
    assert sum(seconds.values()) == pytest.approx(40.0, rel=0.05)
    with pytest.raises(ValueError):
        group_seconds(split, time_limit=0, workers=1)


# ------------------------------------------------------------------------------------------
# Planning the city


def test_plan_city_on_the_local_pool_is_clean(city):
    plan = plan_city(
        city, engine=EngineSettings("local", workers=2), params=SolveParams(time_limit=2.0)
    )
    assert check_plan(city, plan).ok
    _requests_accounted(city, plan)
    assert plan.kpis["planned_visits"] > 0.9 * plan.kpis["required_visits"]
    assert plan.kpis["city_failed_groups"] == 0
    assert plan.kpis["city_critical_path_seconds"] > 0


def _fails_on_first_group(item: Mapping[str, Any], report: Reporter) -> dict[str, Any]:
    """A task that fails on group G001 every time (the test hook of ``run_city(task=...)``)."""
    if item["key"] == "G001":
        raise RuntimeError("injected failure")
    return plan_group_task(item, report)


def test_a_group_that_fails_twice_leaves_its_requests_unassigned(city, split):
    result = run_city(
        city,
        engine=EngineSettings("local", workers=2),
        params=SolveParams(time_limit=4.0),
        split=split,
        task=_fails_on_first_group,
    )
    failed = split.group("G001")
    assert [o.key for o in result.failed] == ["G001"]
    assert result.failed[0].attempts == 2 and "injected failure" in (result.failed[0].error or "")
    assert not result.violations and check_plan(city, result.plan).ok
    mine = set(failed.households)
    lost = [u for u in result.plan.unassigned if u.household in mine]
    wanted = [r for h in city.households if h.id in mine for r in h.requests]
    assert {u.request for u in lost} == {r.id for r in wanted}
    assert all(u.reason == Reason.SOLVER_LIMIT.value and "G001" in u.detail for u in lost)
    routed = {s.household for route in result.plan.routes for s in route.stops}
    assert not routed & mine
    others = {h.id for h in city.households} - mine
    assert routed & others, "the other groups are planned"
    assert result.plan.kpis["city_failed_groups"] == 1


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_plan_city_on_a_local_ray_cluster_is_clean(city):
    plan = plan_city(
        city, engine=EngineSettings("ray", workers=2), params=SolveParams(time_limit=2.0)
    )
    assert check_plan(city, plan).ok
    _requests_accounted(city, plan)
    assert plan.kpis["planned_visits"] > 0.9 * plan.kpis["required_visits"]


def test_dispatch_plan_with_an_engine_plans_the_city_in_groups(city, tmp_path, capsys):
    from dispatch.cli import main
    from dispatch.plan_io import load_plan
    from dispatch.scenario_io import save_scenario

    path, out = tmp_path / "city.json", tmp_path / "plan.json"
    save_scenario(city, path)
    argv = ["plan", str(path), "--engine", "local", "--workers", "2", "--time-limit", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "checker: OK" in printed and "city_groups" in printed
    plan = load_plan(out)
    assert check_plan(city, plan).ok
    assert plan.kpis["city_groups"] > 1


def test_dispatch_plan_with_an_engine_refuses_weeks_and_the_greedy_baseline(city, tmp_path, capsys):
    from dispatch.cli import main
    from dispatch.scenario_io import save_scenario

    path = tmp_path / "city.json"
    save_scenario(city, path)
    for extra in (["--weeks", "2"], ["--solver", "greedy"]):
        code = main(["plan", str(path), "--engine", "local", *extra, "--out", str(tmp_path / "p")])
        assert code == 2
        assert "--engine: a city is planned one week at a time" in capsys.readouterr().err
