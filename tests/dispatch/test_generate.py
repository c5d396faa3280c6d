"""The demo-district generator: determinism, sizes, qualification, windows, load and the file."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path
from types import MappingProxyType

import pytest

from dispatch.generate import (
    CITY_CENTRE,
    DEFAULT_DAYS,
    TARGET_LOAD,
    add_generate_arguments,
    estimate_load,
    generate_district,
    generate_main,
    productive_minutes,
    run_generate,
)
from dispatch.greedy import plan_greedy
from dispatch.haversine import haversine_km
from dispatch.model import (
    Break,
    Caregiver,
    Household,
    Scenario,
    ServiceRequest,
    Station,
)
from dispatch.scenario_io import load_scenario, max_visits_in_week, save_scenario, scenario_to_dict
from dispatch.timeutil import parse_hhmm


@pytest.fixture(scope="module")
def district() -> Scenario:
    return generate_district(households=300, stations=6, seed=1)


def _qualified(h: Household, r: ServiceRequest, c: Caregiver) -> bool:
    return (
        r.required_skill in c.skills
        and (h.gender_preference is None or c.gender == h.gender_preference)
        and c.id not in h.forbidden_caregivers
    )


def _is_rural(scenario: Scenario, station_id: str) -> bool:
    s = scenario.station(station_id)
    return haversine_km(s.lat, s.lon, *CITY_CENTRE) > 12.0


# -- determinism and sizes


def test_same_seed_same_district_other_seed_other_district():
    a = generate_district(households=80, stations=3, seed=7)
    b = generate_district(households=80, stations=3, seed=7)
    c = generate_district(households=80, stations=3, seed=8)
    assert scenario_to_dict(a) == scenario_to_dict(b)
    assert scenario_to_dict(a) != scenario_to_dict(c)


@pytest.mark.parametrize(("households", "stations"), [(1, 1), (7, 3), (300, 6), (1500, 25)])
def test_counts_and_unique_ids(households, stations):
    sc = generate_district(households=households, stations=stations, seed=2)
    assert len(sc.households) == households
    assert len(sc.stations) == stations
    assert sc.days == DEFAULT_DAYS == ("mon", "tue", "wed", "thu", "fri", "sat")
    assert sc.week_start == "2026-11-23"
    for ids in (
        [s.id for s in sc.stations],
        [c.id for c in sc.caregivers],
        [h.id for h in sc.households],
        [r.id for _, r in sc.requests()],
    ):
        assert len(ids) == len(set(ids))
    assert all(h.requests for h in sc.households)
    station_ids = {s.id for s in sc.stations}
    assert {c.station for c in sc.caregivers} <= station_ids


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="household"):
        generate_district(households=0, stations=1)
    with pytest.raises(ValueError, match="station"):
        generate_district(households=5, stations=0)
    with pytest.raises(ValueError, match="bed_bath_share"):
        generate_district(households=5, stations=1, bed_bath_share=1.5)
    with pytest.raises(ValueError, match="Monday"):
        generate_district(households=5, stations=1, week_start="2026-11-24")  # a Tuesday
    with pytest.raises(ValueError, match="Monday"):
        generate_district(households=5, stations=1, week_start="next week")


# -- every request can be served by someone


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_request_has_a_qualified_caregiver_on_enough_days(seed):
    sc = generate_district(households=150, stations=5, seed=seed)
    for h, r in sc.requests():
        able = [c for c in sc.caregivers if _qualified(h, r, c)]
        allowed = [d for d in (r.days or sc.days) if d in sc.days]
        days = [d for d in allowed if sum(d in c.shifts for c in able) >= r.staff]
        assert max_visits_in_week(days, r.min_gap_days) >= r.visits_per_week, r.id


def test_preferences_name_caregivers_of_the_right_gender(district):
    by_id = {c.id: c for c in district.caregivers}
    prefs = [h for h in district.households if h.preferred_caregivers]
    assert prefs, "some households ask for continuity"
    for h in prefs:
        for cid in h.preferred_caregivers:
            assert cid in by_id
            assert cid not in h.forbidden_caregivers
            if h.gender_preference is not None:
                assert by_id[cid].gender == h.gender_preference
    assert any(h.gender_preference for h in district.households)
    forbidden = sum(bool(h.forbidden_caregivers) for h in district.households)
    assert forbidden < len(district.households) * 0.05  # rare


# -- requests: windows, frequencies, services by level


def test_windows_lie_inside_day_shifts(district):
    earliest, latest = parse_hhmm("08:00"), parse_hhmm("17:00")
    for _, r in district.requests():
        assert r.windows
        for start, end in r.windows:
            assert earliest <= start <= end
            assert end + r.minutes <= latest, r.id  # a visit starting last still ends in time
        assert 1 <= r.priority <= 100
        assert 1 <= r.visits_per_week <= len(district.days)
        if r.visits_per_week in (2, 3):
            assert r.min_gap_days == 2  # never on consecutive days


def test_services_follow_the_assessment_level(district):
    care = {h.id: r for h, r in district.requests() if r.service == "personal_care"}
    for h in district.households:
        level = h.assessment_level
        assert level in range(5)
        if level <= 1:
            assert h.id not in care
        else:
            assert care[h.id].visits_per_week == {2: 3, 3: 5, 4: 6}[level]
    levels = Counter(h.assessment_level for h in district.households)
    assert levels[0] + levels[1] + levels[2] > 0.6 * len(district.households)
    assert levels[4] > 0


def test_meal_delivery_is_a_daily_lunch_round_with_one_box(district):
    meals = [r for _, r in district.requests() if r.service == "meal_delivery"]
    assert meals
    for r in meals:
        assert r.visits_per_week == 6 and r.load == 1
        assert r.windows == ((parse_hhmm("10:30"), parse_hhmm("12:30")),)
    ebikes = [c.capacity for c in district.caregivers if c.mode == "ebike"]
    assert ebikes and set(ebikes) == {10}


def test_no_two_caregiver_visits_unless_asked():
    plain = generate_district(households=300, stations=6, seed=4)
    assert all(r.staff == 1 for _, r in plain.requests())
    beds = generate_district(households=300, stations=6, seed=4, bed_bath_share=1.0)
    two = [(h, r) for h, r in beds.requests() if r.staff == 2]
    assert two and all(r.service == "bed_bath" for _, r in two)
    assert all(h.assessment_level == 4 for h, _ in two)


# -- caregivers


def test_caregivers_have_shifts_breaks_and_caps(district):
    for c in district.caregivers:
        assert c.gender in ("F", "M")
        assert len(c.shifts) == 5 and set(c.shifts) <= set(district.days)
        for shift in c.shifts.values():
            # full time 08:00-17:00, or the early shift 早班 07:30-11:30
            assert shift in ((parse_hhmm("08:00"), parse_hhmm("17:00")), (450, 690))
        if c.rest is not None:
            # lunch after the meal round
            assert c.rest == Break(parse_hhmm("12:00"), parse_hhmm("14:00"), 60)
        assert c.max_minutes_per_week in (1200, 2400)
    genders = Counter(c.gender for c in district.caregivers)
    assert genders["F"] > 0.75 * len(district.caregivers)
    assert any("sat" in c.shifts for c in district.caregivers)
    part = [c for c in district.caregivers if c.max_minutes_per_week == 1200]
    assert part and all(c.rest is None for c in part)
    skills = Counter(s for c in district.caregivers for s in c.skills)
    assert 0 < skills["nursing"] < skills["personal_care"] < skills["meal_delivery"]


def test_rural_stations_drive_and_urban_ones_ride_or_walk(district):
    kinds = Counter(_is_rural(district, s.id) for s in district.stations)
    assert kinds[True] >= 1 and kinds[False] >= 1
    for c in district.caregivers:
        if _is_rural(district, c.station):
            assert c.mode == "car"
        else:
            assert c.mode in ("ebike", "walk")


def test_urban_homes_cluster_and_rural_homes_scatter(district):
    rural: list[float] = []
    urban: list[float] = []
    for h in district.households:
        nearest = min(district.stations, key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon))
        km = haversine_km(h.lat, h.lon, nearest.lat, nearest.lon)
        (rural if _is_rural(district, nearest.id) else urban).append(km)
    assert 0.15 < len(rural) / len(district.households) < 0.35
    assert max(urban) < 2.0  # estates within a short ride
    assert sorted(rural)[len(rural) // 2] > 2.0  # villages several km out


# -- load


def test_load_of_a_hand_built_scenario():
    # 0.009 degrees of latitude = 1.00076 km; ceil(60 * 1.3 * 1.00076 / 15) = ceil(5.20) = 6.
    caregiver = Caregiver(
        id="C1",
        station="S1",
        skills=frozenset({"cleaning"}),
        shifts=MappingProxyType(dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), (480, 1020))),
        rest=Break(690, 810, 60),
        max_minutes_per_week=2400,
    )
    request = ServiceRequest(
        id="H1-clean", service="cleaning", minutes=30, windows=((540, 600),), visits_per_week=2
    )
    sc = Scenario(
        name="t",
        days=DEFAULT_DAYS,
        stations=(Station(id="S1", lat=38.0, lon=106.0),),
        caregivers=(caregiver,),
        households=(Household(id="H1", lat=38.009, lon=106.0, requests=(request,)),),
    )
    load = estimate_load(sc)
    # 5 days x (540 - 60) = 2400 minutes of work, but 2400 away from the station include 5 breaks.
    assert productive_minutes(caregiver, DEFAULT_DAYS) == 2100
    assert (load.visits, load.service_minutes, load.travel_minutes) == (2, 60, 12.0)
    assert load.capacity_minutes == 2100
    assert load.ratio == pytest.approx(72 / 2100)


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_required_work_is_about_seventy_percent_of_capacity(seed):
    # Skills and the morning peak need more hands than the total alone; with days off moved to
    # where the slack is and spare slots dropped, the load comes within a few points of target.
    sc = generate_district(households=300, stations=6, seed=seed)
    load = estimate_load(sc)
    assert TARGET_LOAD - 0.04 < load.ratio <= TARGET_LOAD + 0.01
    assert 0 < load.travel_minutes < load.service_minutes


def test_a_low_target_load_is_met_by_topping_up_the_team():
    sc = generate_district(households=40, stations=1, seed=0, target_load=0.2)
    load = estimate_load(sc)
    assert 0.15 < load.ratio <= 0.2 + 1e-9


def _station_of(sc: Scenario, h: Household) -> str:
    return min(sc.stations, key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon)).id


def _day_need(
    sc: Scenario, station: str, day: str, skill: str | None, *, morning: bool, noon: bool = False
) -> float:
    """Service + one-leg travel minutes a day, each request's visits spread over its days
    (``morning``: those whose windows close by 12:30; ``noon``: those over by 12:00)."""
    st = sc.station(station)
    modes = [c.mode for c in sc.caregivers if c.station == station]
    need = 0.0
    for h, r in sc.requests():
        if _station_of(sc, h) != station or (skill is not None and r.required_skill != skill):
            continue
        if morning and max(end for _, end in r.windows) > parse_hhmm("12:30"):
            continue
        if noon and max(end for _, end in r.windows) + r.minutes > parse_hhmm("12:00"):
            continue
        allowed = [d for d in sc.days if r.days is None or d in r.days]
        if day not in allowed:
            continue
        km = haversine_km(h.lat, h.lon, st.lat, st.lon)
        leg = sum(math.ceil(60 * 1.3 * km / sc.travel.speed_kmh[m]) for m in modes) / len(modes)
        need += min(1.0, r.visits_per_week / len(allowed)) * (r.minutes + leg) * r.staff
    return need


def _day_supply(
    sc: Scenario, station: str, day: str, skill: str | None, *, morning: bool, noon: bool = False
) -> float:
    total = 0.0
    for c in sc.caregivers:
        if c.station != station or day not in c.shifts or (skill and skill not in c.skills):
            continue
        start, end = c.shifts[day]
        if noon:
            total += max(0, min(end, parse_hhmm("12:00")) - start)
        elif morning:
            total += max(0, min(end, parse_hhmm("12:30")) - start)
        else:
            total += productive_minutes(c, sc.days) / len(c.shifts)
    return total


@pytest.mark.parametrize("seed", [1, 6])
def test_each_skill_and_the_morning_peaks_fit_every_station_and_day(seed):
    sc = generate_district(households=200, stations=4, seed=seed)
    for st in sc.stations:
        for day in sc.days:
            for skill in ("personal_care", "nursing", "rehab", None):
                need = _day_need(sc, st.id, day, skill, morning=False)
                assert need <= 0.85 * _day_supply(sc, st.id, day, skill, morning=False) + 1e-6
            for skill in ("personal_care", None):  # personal care and the lunch round
                need = _day_need(sc, st.id, day, skill, morning=True)
                assert need <= 0.80 * _day_supply(sc, st.id, day, skill, morning=True) + 1e-6
                need = _day_need(sc, st.id, day, skill, morning=False, noon=True)
                assert need <= 0.75 * _day_supply(sc, st.id, day, skill, morning=False, noon=True)
    part = [c for c in sc.caregivers if c.max_minutes_per_week == 1200]
    assert part and all(set(c.shifts.values()) == {(450, 690)} for c in part)  # 07:30-11:30
    saturday = [c for c in sc.caregivers if "sat" in c.shifts]
    assert {d for c in saturday for d in DEFAULT_DAYS[:5] if d not in c.shifts}  # a weekday off


@pytest.mark.parametrize(("households", "stations", "seed"), [(120, 3, 3), (200, 4, 1)])
def test_the_greedy_baseline_plans_nearly_every_visit(households, stations, seed):
    sc = generate_district(households=households, stations=stations, seed=seed)
    plan = plan_greedy(sc)
    required = sum(r.visits_per_week for _, r in sc.requests())
    missing = sum(u.missing_visits for u in plan.unassigned)
    assert missing <= 0.01 * required


# -- file and command line


def test_file_round_trips_through_the_scenario_loader(district, tmp_path):
    path = tmp_path / "district.json"
    save_scenario(district, path)
    parsed = load_scenario(path)
    assert parsed.warnings == ()
    assert parsed.scenario == district


def test_cli_writes_the_same_district(tmp_path, capsys):
    out = tmp_path / "d.json"
    code = generate_main(
        ["--households", "40", "--stations", "2", "--seed", "3", "--out", str(out)]
    )
    assert code == 0
    expected = generate_district(households=40, stations=2, seed=3)
    assert json.loads(out.read_text(encoding="utf-8")) == scenario_to_dict(expected)
    assert "40 households" in capsys.readouterr().out


def test_options_plug_into_a_subcommand_parser(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="dispatch")
    sub = parser.add_subparsers()
    add_generate_arguments(sub.add_parser("generate"))
    out = tmp_path / "d.json"
    args = parser.parse_args(
        ["generate", "--households", "12", "--stations", "1", "--out", str(out)]
    )
    assert (args.seed, args.week_start, args.bed_bath_share) == (0, "2026-11-23", 0.0)
    assert run_generate(args) == 0
    assert len(load_scenario(out).scenario.households) == 12
    assert "12 households" in capsys.readouterr().out


def test_cli_reports_bad_numbers(tmp_path, capsys):
    code = generate_main(["--households", "0", "--stations", "2", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bundled_demo_is_the_generators_output():
    path = Path(__file__).resolve().parents[2] / "data" / "demo" / "district.json"
    parsed = load_scenario(path)
    assert parsed.warnings == ()
    expected = generate_district(
        households=300, stations=6, seed=1, name="演示辖区 demo district, week 48"
    )
    assert scenario_to_dict(parsed.scenario) == scenario_to_dict(expected)
