"""Scenario reading and writing: every validation rule names its exact field path."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.catalogue import ServiceType, default_catalogue, load_catalogue
from dispatch.coords import wgs84_to_bd09
from dispatch.model import Break, Scenario
from dispatch.scenario_io import (
    ScenarioError,
    ValidationIssue,
    load_scenario,
    max_visits_in_week,
    merge_windows,
    parse_scenario,
    save_scenario,
    scenario_to_dict,
)
from tests.conftest import fixture_path

Doc = dict[str, Any]


def issues_of(data: Doc) -> tuple[ValidationIssue, ...]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return info.value.issues


def assert_issue(data: Doc, path: str, fragment: str) -> None:
    issues = issues_of(data)
    hits = [i for i in issues if i.path == path]
    assert hits, f"no issue at {path}; got: {[str(i) for i in issues]}"
    assert any(fragment in i.message for i in hits), [str(i) for i in hits]


def warnings_of(data: Doc) -> list[str]:
    return [str(w) for w in parse_scenario(data).warnings]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    la, lb = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((lb - la) / 2) ** 2
        + math.cos(la) * math.cos(lb) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# --------------------------------------------------------------------------------------------
# The fixtures themselves


def test_tiny_fixture_loads_without_warnings(tiny_scenario_data: Doc) -> None:
    parsed = parse_scenario(tiny_scenario_data)
    assert parsed.warnings == ()
    s = parsed.scenario
    assert s.days == ("mon",)
    assert s.week_start == "2026-11-23"
    assert [c.id for c in s.caregivers] == ["C1", "C2", "C3"]
    c1 = s.caregiver("C1")
    assert c1.shifts["mon"] == (8 * 60, 17 * 60)
    assert c1.rest == Break(window_start=11 * 60 + 30, window_end=13 * 60 + 30, minutes=60)
    assert s.caregiver("C2").capacity == 6 and s.caregiver("C2").mode == "walk"
    h1 = s.household("H1")
    assert h1.requests[0].windows == ((510, 660), (840, 960))
    assert h1.gender_preference == "F" and h1.preferred_caregivers == ("C1",)
    assert s.household("H2").requests[1].load == 2
    assert s.station("S1").name == "丽景街道站"


def test_week_fixture_loads_without_warnings(week_scenario: Scenario) -> None:
    assert week_scenario.days == ("mon", "tue", "wed", "thu", "fri")
    assert all(r.visits_per_week == 2 and r.min_gap_days == 2 for _, r in week_scenario.requests())
    assert week_scenario.household("H2").requests[0].days == ("mon", "wed", "fri")
    assert load_scenario(fixture_path("week_scenario.json")).warnings == ()


def test_gcj02_household_is_converted_to_wgs84(tiny_scenario: Scenario) -> None:
    h2 = tiny_scenario.household("H2")
    # The file gives GCJ-02 (38.483956, 106.239396); WGS-84 is ~385 m west of it.
    assert metres((h2.lat, h2.lon), (38.4835, 106.2350)) < 0.01


def test_bd09_household_is_converted_to_wgs84(tiny_scenario_data: Doc) -> None:
    lat, lon = wgs84_to_bd09(38.4790, 106.2270)
    tiny_scenario_data["households"][2].update(lat=lat, lon=lon, coord_system="bd09")
    h3 = parse_scenario(tiny_scenario_data).scenario.household("H3")
    assert metres((h3.lat, h3.lon), (38.4790, 106.2270)) < 0.01


# --------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("name", ["tiny_scenario.json", "week_scenario.json"])
def test_load_save_load_is_identity(name: str, tmp_path: Path) -> None:
    first = load_scenario(fixture_path(name)).scenario
    out = tmp_path / "saved.json"
    save_scenario(first, out)
    second = load_scenario(out).scenario
    assert second == first
    assert scenario_to_dict(second) == scenario_to_dict(first)


def test_saved_file_is_readable_utf8(tiny_scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    save_scenario(tiny_scenario, out)
    text = out.read_text(encoding="utf-8")
    assert "王芳" in text  # not \u escapes
    assert '\n  "days"' in text  # indented by 2
    assert '"coord_system"' not in text  # saved coordinates are WGS-84


def test_saved_scenario_spells_out_catalogue_defaults(tiny_scenario_data: Doc) -> None:
    request = tiny_scenario_data["households"][3]["requests"][0]
    del request["minutes"], request["windows"]
    saved = scenario_to_dict(parse_scenario(tiny_scenario_data).scenario)
    walk = saved["households"][3]["requests"][0]
    assert walk["minutes"] == 60
    assert walk["windows"] == [["09:00", "11:00"], ["15:00", "17:00"]]


# --------------------------------------------------------------------------------------------
# Errors, one class each, with their exact paths

Mutation = Callable[[Doc], None]


def _walk(doc: Doc, path: str) -> tuple[Any, str | int]:
    """The container holding ``path`` (dots, integer parts index lists) and the last key."""
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    return node, int(last) if last.isdigit() else last


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting ``path`` to ``value``."""

    def apply(doc: Doc) -> None:
        node, key = _walk(doc, path)
        node[key] = value

    return apply


def _delete(path: str) -> Mutation:
    """A mutation removing ``path``."""

    def apply(doc: Doc) -> None:
        node, key = _walk(doc, path)
        del node[key]

    return apply


def _rename_households(doc: Doc) -> None:
    doc["househlds"] = doc.pop("households")


ERROR_CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "window ends before it starts",
        _set("households.0.requests.0.windows", [["08:30", "11:00"], ["10:00", "09:00"]]),
        "households[0].requests[0].windows[1]",
        "ends 09:00 before it starts 10:00",
    ),
    (
        "unknown top-level field with hint",
        _rename_households,
        "househlds",
        "unknown field, did you mean households?",
    ),
    (
        "unknown nested field with hint",
        _set("caregivers.0.skils", ["cleaning"]),
        "caregivers[0].skils",
        "did you mean skills?",
    ),
    (
        "unknown request field",
        _set("households.4.requests.0.minute", 45),
        "households[4].requests[0].minute",
        "did you mean minutes?",
    ),
    (
        "wrong type: number as string",
        _set("stations.0.lat", "38.4872"),
        "stations[0].lat",
        'expected a number, got a string ("38.4872")',
    ),
    (
        "wrong type: boolean is not a whole number",
        _set("caregivers.0.max_visits_per_day", True),
        "caregivers[0].max_visits_per_day",
        "expected a whole number, got true",
    ),
    (
        "wrong type: list expected",
        _set("caregivers", {"C1": {}}),
        "caregivers",
        "expected a list, got an object",
    ),
    (
        "missing required field",
        _delete("caregivers.1.station"),
        "caregivers[1].station",
        "missing required field",
    ),
    (
        "null in a required field",
        _set("households.2.lat", None),
        "households[2].lat",
        "expected a number, got null",
    ),
    ("format must be 1", _set("format", 2), "format", "unsupported format 2"),
    ("scenario day code", _set("days", ["mon", "monday"]), "days[1]", 'unknown value "monday"'),
    ("duplicate scenario day", _set("days", ["mon", "mon"]), "days[1]", "duplicate day mon"),
    ("empty day list", _set("days", []), "days", "must not be an empty list"),
    (
        "shift day code",
        _set("caregivers.0.shifts", {"monday": ["08:00", "17:00"]}),
        "caregivers[0].shifts.monday",
        "did you mean mon?",
    ),
    (
        "request day code",
        _set("households.0.requests.0.days", ["mon", "xyz"]),
        "households[0].requests[0].days[1]",
        'unknown value "xyz"',
    ),
    (
        "week_start not a Monday",
        _set("week_start", "2026-11-24"),
        "week_start",
        "2026-11-24 is a Tuesday, not a Monday",
    ),
    (
        "week_start not a date",
        _set("week_start", "2026-02-30"),
        "week_start",
        "expected an ISO date YYYY-MM-DD",
    ),
    (
        "duplicate station id",
        lambda d: d["stations"].append({"id": "S1", "lat": 38.5, "lon": 106.2}),
        "stations[1].id",
        "duplicate station id S1 (first at stations[0].id)",
    ),
    (
        "duplicate caregiver id",
        _set("caregivers.2.id", "C1"),
        "caregivers[2].id",
        "duplicate caregiver id C1 (first at caregivers[0].id)",
    ),
    (
        "duplicate household id",
        _set("households.4.id", "H2"),
        "households[4].id",
        "duplicate household id H2",
    ),
    (
        "duplicate request id across households",
        _set("households.3.requests.0.id", "H1-clean"),
        "households[3].requests[0].id",
        "duplicate request id H1-clean (first at households[0].requests[0].id)",
    ),
    (
        "caregiver's station must exist",
        _set("caregivers.1.station", "S-1"),
        "caregivers[1].station",
        "unknown station S-1, did you mean S1?",
    ),
    (
        "preferred caregiver must exist",
        _set("households.0.preferred_caregivers", ["C1", "C9"]),
        "households[0].preferred_caregivers[1]",
        "unknown caregiver C9",
    ),
    (
        "forbidden caregiver must exist",
        _set("households.2.forbidden_caregivers", ["X7"]),
        "households[2].forbidden_caregivers[0]",
        "unknown caregiver X7",
    ),
    (
        "caregiver both preferred and forbidden",
        _set("households.0.forbidden_caregivers", ["C1"]),
        "households[0].forbidden_caregivers[0]",
        "C1 is also preferred",
    ),
    (
        "HH:MM out of range",
        _set("caregivers.0.shifts.mon", ["08:00", "25:00"]),
        "caregivers[0].shifts.mon[1]",
        'expected a time "HH:MM" between 00:00 and 23:59, got a string ("25:00")',
    ),
    (
        "HH:MM malformed",
        _set("households.0.requests.0.windows", [["8:30", "11:00"]]),
        "households[0].requests[0].windows[0][0]",
        'got a string ("8:30")',
    ),
    (
        "shift ends before it starts",
        _set("caregivers.2.shifts.mon", ["16:30", "08:30"]),
        "caregivers[2].shifts.mon",
        "ends 08:30 before it starts 16:30",
    ),
    (
        "shift of zero length",
        _set("caregivers.2.shifts.mon", ["08:30", "08:30"]),
        "caregivers[2].shifts.mon",
        "ends when it starts (08:30)",
    ),
    (
        "break minutes must be positive",
        _set("caregivers.0.break.minutes", 0),
        "caregivers[0].break.minutes",
        "must be at least 1, got 0",
    ),
    (
        "break must fit its window",
        _set("caregivers.2.break.minutes", 90),
        "caregivers[2].break.minutes",
        "90 minutes do not fit the window 12:00–13:00 (60 minutes)",
    ),
    (
        "break window reversed",
        _set("caregivers.0.break.window", ["13:30", "11:30"]),
        "caregivers[0].break.window",
        "ends 11:30 before it starts 13:30",
    ),
    (
        "break window past 23:59",
        _set("caregivers.0.break.window", ["23:00", "24:00"]),
        "caregivers[0].break.window[1]",
        'got a string ("24:00")',
    ),
    (
        "visits_per_week at least 1",
        _set("households.0.requests.0.visits_per_week", 0),
        "households[0].requests[0].visits_per_week",
        "must be at least 1, got 0",
    ),
    (
        "min_gap_days at least 1",
        _set("households.0.requests.0.min_gap_days", 0),
        "households[0].requests[0].min_gap_days",
        "must be at least 1, got 0",
    ),
    (
        "staff 1 or 2",
        _set("households.0.requests.0.staff", 3),
        "households[0].requests[0].staff",
        "must be between 1 and 2, got 3",
    ),
    (
        "priority 1..100",
        _set("households.2.requests.0.priority", 101),
        "households[2].requests[0].priority",
        "must be between 1 and 100, got 101",
    ),
    (
        "priority 0",
        _set("households.2.requests.0.priority", 0),
        "households[2].requests[0].priority",
        "must be between 1 and 100, got 0",
    ),
    (
        "gender F or M",
        _set("caregivers.1.gender", "male"),
        "caregivers[1].gender",
        'unknown value "male"',
    ),
    (
        "gender preference F or M",
        _set("households.0.gender_preference", "f"),
        "households[0].gender_preference",
        "expected one of F, M",
    ),
    (
        "mode from MODES with hint",
        _set("caregivers.0.mode", "bike"),
        "caregivers[0].mode",
        'unknown value "bike", did you mean ebike?',
    ),
    (
        "latitude range",
        _set("stations.0.lat", 91),
        "stations[0].lat",
        "must be between -90.0 and 90.0, got 91",
    ),
    (
        "longitude range",
        _set("households.1.lon", -180.5),
        "households[1].lon",
        "must be between -180.0 and 180.0, got -180.5",
    ),
    (
        "coordinate system",
        _set("households.1.coord_system", "gcj"),
        "households[1].coord_system",
        'unknown value "gcj", did you mean gcj02?',
    ),
    ("circuity > 0", _set("travel.circuity", 0), "travel.circuity", "must be greater than 0"),
    (
        "speed for an unknown mode",
        _set("travel.speed_kmh", {"bike": 12}),
        "travel.speed_kmh.bike",
        "unknown field, did you mean ebike?",
    ),
    (
        "speed > 0",
        _set("travel.speed_kmh.walk", -1),
        "travel.speed_kmh.walk",
        "must be greater than 0, got -1",
    ),
    (
        "windows non-empty",
        _set("households.4.requests.0.windows", []),
        "households[4].requests[0].windows",
        "must not be an empty list",
    ),
    (
        "window is a pair",
        _set("households.4.requests.0.windows", [["09:00", "10:00", "11:00"]]),
        "households[4].requests[0].windows[0]",
        'expected a pair ["HH:MM", "HH:MM"], got 3 items',
    ),
    (
        "minutes > 0",
        _set("households.2.requests.0.minutes", 0),
        "households[2].requests[0].minutes",
        "must be at least 1, got 0",
    ),
    (
        "empty id",
        _set("stations.0.id", " "),
        "stations[0].id",
        "must not be empty",
    ),
    (
        "capacity extension >= 0",
        _set("caregivers.1.capacity", -1),
        "caregivers[1].capacity",
        "must be at least 0, got -1",
    ),
    (
        "load extension >= 0",
        _set("households.1.requests.1.load", -2),
        "households[1].requests[1].load",
        "must be at least 0, got -2",
    ),
    (
        "station address extension is text",
        _set("stations.0.address", 12),
        "stations[0].address",
        "expected a string, got a number (12)",
    ),
    (
        "household name extension is text",
        _set("households.0.name", ["刘"]),
        "households[0].name",
        "expected a string, got a list",
    ),
    (
        "unknown service without minutes",
        _set("households.3.requests.0", {"id": "H4-x", "service": "gardening", "minutes": 30}),
        "households[3].requests[0].windows",
        "service gardening is not in the service catalogue",
    ),
    (
        "document must be an object",
        lambda d: d.update(households=["H1"]),
        "households[0]",
        "expected an object, got a string",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_names_exact_path(
    tiny_scenario_data: Doc, mutate: Mutation, path: str, fragment: str
) -> None:
    mutate(tiny_scenario_data)
    assert_issue(tiny_scenario_data, path, fragment)


def test_all_issues_are_collected_before_raising(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["format"] = 3
    tiny_scenario_data["caregivers"][0]["gender"] = "X"
    tiny_scenario_data["households"][4]["requests"][0]["windows"][1] = ["15:30", "14:00"]
    tiny_scenario_data["households"][2]["lat"] = 100
    with pytest.raises(ScenarioError) as info:
        parse_scenario(tiny_scenario_data)
    paths = [i.path for i in info.value.issues]
    assert paths == [
        "format",
        "caregivers[0].gender",
        "households[2].lat",
        "households[4].requests[0].windows[1]",
    ]
    # The message lists every issue, one per line.
    assert str(info.value).splitlines() == [str(i) for i in info.value.issues]
    assert isinstance(info.value, ValueError)


def test_missing_top_level_fields_are_each_reported() -> None:
    paths = {i.path for i in issues_of({"format": 1})}
    assert paths == {"days", "stations", "caregivers", "households"}


def test_top_level_must_be_an_object() -> None:
    (issue,) = issues_of([1, 2])  # type: ignore[arg-type]
    assert str(issue) == "expected an object, got a list"


def test_issue_text_is_path_colon_message() -> None:
    assert str(ValidationIssue("househlds", "unknown field")) == "househlds: unknown field"


def test_null_optional_field_means_absent(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["caregivers"][1]["gender"] = None
    tiny_scenario_data["caregivers"][1]["capacity"] = None
    c2 = parse_scenario(tiny_scenario_data).scenario.caregiver("C2")
    assert c2.gender is None and c2.capacity is None


def test_bad_json_reports_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": 1,\n  "days": ["mon",]\n}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert "invalid JSON at line 3, column 18" in str(info.value)


def test_non_utf8_file_is_a_scenario_error(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.json"
    bad.write_bytes('{"name": "银川"}'.encode("gbk"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(bad)


# --------------------------------------------------------------------------------------------
# Normalisation on load


def test_windows_are_sorted_and_overlaps_merged(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["households"][4]["requests"][0]["windows"] = [
        ["14:00", "15:30"],
        ["09:00", "10:00"],
        ["09:30", "11:00"],
    ]
    rehab = parse_scenario(tiny_scenario_data).scenario.household("H5").requests[0]
    assert rehab.windows == ((540, 660), (840, 930))


def test_days_are_put_in_week_order(week_scenario_data: Doc) -> None:
    week_scenario_data["days"] = ["fri", "mon", "wed", "tue", "thu"]
    week_scenario_data["households"][1]["requests"][0]["days"] = ["fri", "mon", "wed"]
    s = parse_scenario(week_scenario_data).scenario
    assert s.days == ("mon", "tue", "wed", "thu", "fri")
    assert s.household("H2").requests[0].days == ("mon", "wed", "fri")


def test_travel_overrides_merge_with_default_speeds(week_scenario_data: Doc) -> None:
    week_scenario_data["travel"] = {"circuity": 1.5, "speed_kmh": {"ebike": 12}}
    travel = parse_scenario(week_scenario_data).scenario.travel
    assert travel.provider == "haversine"
    assert travel.circuity == 1.5
    assert dict(travel.speed_kmh) == {"walk": 4.5, "ebike": 12.0, "car": 25.0}


def test_omitted_optional_fields_take_contract_defaults(week_scenario: Scenario) -> None:
    h3 = week_scenario.household("H3").requests[0]
    assert (h3.staff, h3.skill, h3.required_skill, h3.load, h3.days) == (
        1,
        None,
        "welfare_visit",
        0,
        None,
    )
    assert week_scenario.household("H2").requests[0].priority == 50
    assert week_scenario.travel.circuity == 1.3


# --------------------------------------------------------------------------------------------
# Catalogue defaults


def test_minutes_windows_staff_come_from_the_catalogue(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["caregivers"][0]["skills"].append("bed_bath")
    tiny_scenario_data["caregivers"][2]["skills"].append("bed_bath")
    tiny_scenario_data["households"][0]["requests"].append({"id": "H1-bath", "service": "bed_bath"})
    parsed = parse_scenario(tiny_scenario_data)
    bath = parsed.scenario.household("H1").requests[1]
    assert (bath.minutes, bath.staff) == (90, 2)
    assert bath.windows == ((600, 690), (840, 960))
    assert parsed.warnings == ()


def test_explicit_values_beat_the_catalogue(tiny_scenario_data: Doc) -> None:
    request = tiny_scenario_data["households"][3]["requests"][0]
    request.update(minutes=75, staff=1)
    del request["windows"]
    walk = parse_scenario(tiny_scenario_data).scenario.household("H4").requests[0]
    assert walk.minutes == 75
    assert walk.windows == ((540, 660), (900, 1020))  # from the catalogue


def test_a_given_catalogue_is_used(tiny_scenario_data: Doc) -> None:
    request = tiny_scenario_data["households"][3]["requests"][0]
    del request["minutes"], request["windows"]
    catalogue = load_catalogue(
        overrides={"walking": {"minutes": 40, "windows": [["16:00", "17:00"]]}}
    )
    walk = (
        parse_scenario(tiny_scenario_data, catalogue=catalogue).scenario.household("H4").requests[0]
    )
    assert (walk.minutes, walk.windows) == (40, ((960, 1020),))


def test_catalogue_skill_other_than_code_becomes_the_request_skill(tiny_scenario_data: Doc) -> None:
    catalogue = load_catalogue(overrides={"nursing": {"skill": "registered_nurse"}})
    tiny_scenario_data["caregivers"][2]["skills"].append("registered_nurse")
    nurse = parse_scenario(tiny_scenario_data, catalogue=catalogue).scenario.household("H3")
    assert nurse.requests[0].required_skill == "registered_nurse"


def test_unknown_service_missing_both_reports_both(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["households"][3]["requests"][0] = {"id": "H4-x", "service": "gardening"}
    paths = [i.path for i in issues_of(tiny_scenario_data)]
    assert paths == ["households[3].requests[0].minutes", "households[3].requests[0].windows"]


def test_default_catalogue_is_the_bundled_one() -> None:
    assert default_catalogue()["cleaning"] == ServiceType(
        code="cleaning",
        name_zh="助洁",
        name_en="Cleaning",
        minutes=90,
        windows=((510, 690), (840, 1020)),
        staff=1,
        skill="cleaning",
        frequency="1–2 / week",
        qualification="caregiver level 5 (五级)",
        note="90–120 minutes depending on the home; set minutes per request",
    )


# --------------------------------------------------------------------------------------------
# Warnings


def test_warning_skill_nobody_has(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["households"][3]["requests"][0]["skill"] = "bed_bath"
    assert warnings_of(tiny_scenario_data) == [
        "households[3].requests[0].skill: no caregiver has skill bed_bath"
    ]


def test_warning_two_staff_but_one_holder(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["households"][4]["requests"][0]["staff"] = 2
    assert warnings_of(tiny_scenario_data) == [
        "households[4].requests[0].skill: needs 2 caregivers with skill rehab, only 1 has it"
    ]


def test_warning_more_visits_than_days_hold(week_scenario_data: Doc) -> None:
    week_scenario_data["households"][1]["requests"][0]["visits_per_week"] = 4
    assert warnings_of(week_scenario_data) == [
        "households[1].requests[0].visits_per_week: 4 visits do not fit the allowed days "
        "(mon, wed, fri) with min_gap_days 2: at most 3"
    ]


def test_warning_request_day_not_planned(week_scenario_data: Doc) -> None:
    week_scenario_data["households"][1]["requests"][0]["days"] = ["mon", "sat", "wed"]
    assert warnings_of(week_scenario_data) == [
        "households[1].requests[0].days[1]: sat is not a planned day of the scenario"
    ]


def test_warning_unknown_service_with_explicit_minutes_and_windows(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["caregivers"][1]["skills"].append("gardening")
    tiny_scenario_data["households"][3]["requests"][0]["service"] = "gardening"
    parsed = parse_scenario(tiny_scenario_data)
    assert [str(w) for w in parsed.warnings] == [
        "households[3].requests[0].service: gardening is not in the service catalogue; "
        "using the minutes and windows given"
    ]
    walk = parsed.scenario.household("H4").requests[0]
    assert (walk.service, walk.minutes, walk.staff) == ("gardening", 60, 1)


def test_warning_caregiver_without_planned_shift(week_scenario_data: Doc) -> None:
    week_scenario_data["caregivers"][1]["shifts"] = {"sat": ["08:00", "12:00"]}
    assert warnings_of(week_scenario_data) == ["caregivers[1].shifts: no shift on any planned day"]


def test_warnings_do_not_stop_loading(tiny_scenario_data: Doc) -> None:
    tiny_scenario_data["households"][3]["requests"][0]["skill"] = "bed_bath"
    parsed = parse_scenario(tiny_scenario_data)
    assert parsed.scenario.household("H4").requests[0].skill == "bed_bath"


# --------------------------------------------------------------------------------------------
# Helpers


@pytest.mark.parametrize(
    ("days", "gap", "expected"),
    [
        (["mon", "tue", "wed", "thu", "fri"], 1, 5),
        (["mon", "tue", "wed", "thu", "fri"], 2, 3),
        (["mon", "tue", "wed", "thu", "fri"], 3, 2),
        (["mon", "tue"], 2, 1),
        (["fri", "mon", "wed"], 2, 3),
        ([], 1, 0),
    ],
)
def test_max_visits_in_week(days: list[str], gap: int, expected: int) -> None:
    assert max_visits_in_week(days, gap) == expected


def test_merge_windows_keeps_the_same_start_minutes() -> None:
    assert merge_windows([(600, 660), (540, 600), (661, 700), (800, 810)]) == (
        (540, 700),
        (800, 810),
    )
