"""Plan reading and writing: the contract's shape, ``"HH:MM"`` times, closed reason list."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.model import Plan, Route, RouteBreak, Stop, Unassigned
from dispatch.plan_io import PlanError, load_plan, parse_plan, plan_to_dict, save_plan
from dispatch.reasons import Reason

PLAN: dict[str, Any] = {
    "format": 1,
    "scenario": "银川 tiny Monday",
    "routes": [
        {
            "caregiver": "C1",
            "day": "mon",
            "leave": "08:40",
            "back": "16:10",
            "break": {"start": "12:00", "end": "13:00"},
            "stops": [
                {
                    "request": "H1-clean",
                    "household": "H1",
                    "arrival": "08:52",
                    "start": "09:00",
                    "end": "10:30",
                },
                {
                    "request": "H2-visit",
                    "household": "H2",
                    "arrival": "10:40",
                    "start": "10:40",
                    "end": "11:10",
                },
            ],
        },
        {"caregiver": "C2", "day": "mon", "leave": "08:00", "back": "08:00", "stops": []},
    ],
    "unassigned": [
        {
            "request": "H7-bath",
            "household": "H7",
            "missing_visits": 1,
            "reason": "no_qualified_caregiver",
            "detail": "no caregiver with skill bed_bath works on the allowed days",
        }
    ],
    "kpis": {
        "required_visits": 3,
        "planned_visits": 2,
        "travel_minutes": 34,
        "service_minutes": 120,
        "requests_fully_served": 0.667,
        "overtime_minutes": 0,
    },
}


def plan_data() -> dict[str, Any]:
    return copy.deepcopy(PLAN)


def issues(data: Any) -> list[str]:
    with pytest.raises(PlanError) as info:
        parse_plan(data)
    return [str(i) for i in info.value.issues]


def test_parse_converts_times_to_minutes() -> None:
    plan = parse_plan(plan_data())
    assert plan.scenario == "银川 tiny Monday"
    c1 = plan.routes[0]
    assert (c1.caregiver, c1.day, c1.leave, c1.back) == ("C1", "mon", 520, 970)
    assert c1.rest == RouteBreak(start=720, end=780)
    assert c1.stops[0] == Stop("H1-clean", "H1", arrival=532, start=540, end=630)
    assert plan.routes[1].rest is None and plan.routes[1].stops == ()
    assert plan.unassigned == (
        Unassigned(
            "H7-bath",
            "H7",
            1,
            Reason.NO_QUALIFIED_CAREGIVER,
            "no caregiver with skill bed_bath works on the allowed days",
        ),
    )
    assert plan.kpis["requests_fully_served"] == 0.667
    assert plan.kpis["overtime_minutes"] == 0  # extra figures are kept


def test_dict_round_trip_is_identity() -> None:
    assert plan_to_dict(parse_plan(plan_data())) == PLAN


def test_file_round_trip(tmp_path: Path) -> None:
    plan = parse_plan(plan_data())
    out = tmp_path / "plan.json"
    save_plan(plan, out)
    assert load_plan(out) == plan
    text = out.read_text(encoding="utf-8")
    assert "银川" in text and '\n  "routes"' in text


def test_model_values_round_trip() -> None:
    plan = Plan(
        scenario="w48",
        routes=(
            Route(
                "C3",
                "fri",
                510,
                900,
                (Stop("H5-rehab", "H5", 525, 540, 585),),
                RouteBreak(720, 750),
            ),
        ),
        unassigned=(Unassigned("H9-walk", "H9", 2, Reason.CAPACITY),),
        kpis={
            "required_visits": 3,
            "planned_visits": 1,
            "travel_minutes": 30,
            "service_minutes": 45,
            "requests_fully_served": 0.5,
        },
    )
    again = parse_plan(plan_to_dict(plan))
    assert again == plan
    assert plan_to_dict(plan)["unassigned"][0] == {
        "request": "H9-walk",
        "household": "H9",
        "missing_visits": 2,
        "reason": "capacity",
    }


def test_unknown_field_with_hint() -> None:
    data = plan_data()
    data["routes"][0]["stops"][0]["arival"] = "08:50"
    assert "routes[0].stops[0].arival: unknown field, did you mean arrival?" in issues(data)


def test_bad_time() -> None:
    data = plan_data()
    data["routes"][0]["leave"] = "8:40"
    assert issues(data) == [
        'routes[0].leave: expected a time "HH:MM" between 00:00 and 23:59, got a string ("8:40")'
    ]


def test_reason_must_be_in_the_closed_list() -> None:
    data = plan_data()
    data["unassigned"][0]["reason"] = "no_time"
    (issue,) = issues(data)
    assert issue.startswith('unassigned[0].reason: unknown value "no_time"')
    assert "no_time_window_fits" in issue


def test_arrival_after_start() -> None:
    data = plan_data()
    data["routes"][0]["stops"][1]["arrival"] = "10:45"
    assert issues(data) == ["routes[0].stops[1].start: 10:40 is before arrival 10:45"]


def test_end_before_start_and_back_before_leave() -> None:
    data = plan_data()
    data["routes"][0]["back"] = "08:00"
    data["routes"][0]["break"]["end"] = "11:00"
    assert issues(data) == [
        "routes[0].back: 08:00 is before leave 08:40",
        "routes[0].break.end: 11:00 is before start 12:00",
    ]


def test_missing_fields_and_kpis() -> None:
    data = plan_data()
    del data["routes"][1]["day"]
    del data["kpis"]["travel_minutes"]
    data["kpis"]["planned_visits"] = "2"
    assert issues(data) == [
        "routes[1].day: missing required field",
        "kpis.planned_visits: expected a number",
        "kpis.travel_minutes: missing required figure",
    ]


def test_missing_visits_at_least_one() -> None:
    data = plan_data()
    data["unassigned"][0]["missing_visits"] = 0
    assert issues(data) == ["unassigned[0].missing_visits: must be at least 1, got 0"]


def test_second_route_of_a_caregiver_on_a_day() -> None:
    data = plan_data()
    data["routes"][1]["caregiver"] = "C1"
    assert issues(data) == ["routes[1]: second route of caregiver C1 on mon (first: routes[0])"]


def test_format_and_day() -> None:
    data = plan_data()
    data["format"] = 2
    data["routes"][0]["day"] = "Mon"
    found = issues(data)
    assert found[0] == "format: unsupported format 2; this version reads format 1"
    assert found[1].startswith('routes[0].day: unknown value "Mon", did you mean mon?')


def test_not_an_object() -> None:
    assert issues(["routes"]) == ["expected an object, got a list"]


def test_bad_json_file(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"format": 1,\n "routes": [}', encoding="utf-8")
    with pytest.raises(PlanError, match="invalid JSON at line 2, column 13"):
        load_plan(bad)


def test_format_document_lists_every_reason() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "SCENARIO.md").read_text("utf-8")
    listed = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    assert {r.value for r in Reason} <= listed


# --- plans of several weeks (extension: "weeks" and each route's "date") ---------------------


def dated_data() -> dict[str, Any]:
    """The plan over two weeks from Monday 2026-11-23: C1 on both Mondays, C2 on the first."""
    data = plan_data()
    data["weeks"] = 2
    second = copy.deepcopy(data["routes"][0])
    data["routes"][0]["date"] = "2026-11-23"
    data["routes"][1]["date"] = "2026-11-23"
    second["date"] = "2026-11-30"
    data["routes"].append(second)
    return data


def test_dated_plan_round_trips() -> None:
    plan = parse_plan(dated_data())
    assert plan.weeks == 2
    assert [(r.caregiver, r.day, r.date) for r in plan.routes] == [
        ("C1", "mon", "2026-11-23"),
        ("C2", "mon", "2026-11-23"),
        ("C1", "mon", "2026-11-30"),
    ]
    assert plan_to_dict(plan) == dated_data()
    assert list(plan_to_dict(plan)["routes"][0])[:3] == ["caregiver", "day", "date"]


def test_one_week_plan_is_written_without_weeks_or_dates(tmp_path: Path) -> None:
    plan = parse_plan(plan_data())
    assert plan.weeks == 1 and all(r.date is None for r in plan.routes)
    out = tmp_path / "plan.json"
    save_plan(plan, out)
    text = out.read_text(encoding="utf-8")
    assert '"date"' not in text and '"weeks"' not in text
    assert list(json.loads(text)) == list(PLAN)
    assert list(json.loads(text)["routes"][0]) == list(PLAN["routes"][0])


def test_date_must_be_iso_and_on_the_routes_day() -> None:
    data = dated_data()
    data["routes"][0]["date"] = "2026-11-24"
    data["routes"][1]["date"] = "23.11.2026"
    assert issues(data) == [
        "routes[0].date: 2026-11-24 is a tue, not mon",
        "routes[1].date: expected an ISO date YYYY-MM-DD, got '23.11.2026'",
    ]


def test_routes_of_a_dated_plan_all_carry_dates() -> None:
    data = dated_data()
    del data["routes"][1]["date"]
    assert issues(data) == ["routes[1].date: missing: the plan's other routes or weeks are dated"]
    data = plan_data()
    data["weeks"] = 2
    assert len(issues(data)) == 2
    data["weeks"] = 0
    assert issues(data) == ["weeks: must be at least 1, got 0"]


def test_two_routes_of_a_caregiver_on_one_date() -> None:
    data = dated_data()
    data["routes"][2]["date"] = "2026-11-23"
    assert issues(data) == [
        "routes[2]: second route of caregiver C1 on 2026-11-23 (first: routes[0])"
    ]
