"""Plans of several weeks through the service: the planner job's ``weeks``, publishing on the
routes' dates, and the live day (hotline calls) on any date the published plan covers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from dispatch.checker import check_plan
from dispatch.model import DAYS
from dispatch.plan_io import parse_plan
from dispatch.scenario_io import parse_scenario, scenario_to_dict
from tests.api.conftest import ADMIN, this_monday, week_scenario_doc


def parse_and_export(doc: dict[str, Any]) -> dict[str, Any]:
    """A scenario document as the service exports it once stored (normalised)."""
    return scenario_to_dict(parse_scenario(doc).scenario)


def _store(client: TestClient, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = doc if doc is not None else week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    return doc


def _two_weeks(client: TestClient) -> dict[str, Any]:
    """A two-week job of the stored tiny scenario, finished."""
    job = client.post("/api/v1/plans", json={"weeks": 2, "time_limit": 2}, headers=ADMIN)
    assert job.status_code == 202, job.text
    plan_id = job.json()["id"]
    client.app.state.jobs.wait(plan_id)  # type: ignore[attr-defined]
    done = client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()
    assert done["status"] == "done", done["message"]
    return done


def test_a_two_week_job_plans_dated_routes_in_both_weeks(client: TestClient) -> None:
    doc = _store(client)
    done = _two_weeks(client)
    document = done["document"]
    assert document["weeks"] == 2
    monday = this_monday()
    dates = {date.fromisoformat(r["date"]) for r in document["routes"]}
    assert {(d - monday).days // 7 for d in dates} == {0, 1}
    report = check_plan(parse_scenario(doc).scenario, parse_plan(document))
    assert report.ok, report.violations


def test_publishing_puts_orders_on_the_routes_dates_and_the_live_day_covers_both_weeks(
    client: TestClient,
) -> None:
    doc = _store(client)
    done = _two_weeks(client)
    published = client.post(f"/api/v1/plans/{done['id']}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text
    monday = this_monday()
    week_two = sorted(
        r["date"]
        for r in done["document"]["routes"]
        if r["stops"] and date.fromisoformat(r["date"]) >= monday + timedelta(days=7)
    )
    assert week_two
    day = week_two[0]
    routes = client.get(f"/api/v1/routes?date={day}", headers=ADMIN).json()
    planned = {
        (r["caregiver"], s["request"])
        for r in done["document"]["routes"]
        if r["date"] == day
        for s in r["stops"]
    }
    listed = {(c, o["request"]) for c, orders in routes.items() for o in orders}
    assert listed == planned
    assert all(o["date"] == day for orders in routes.values() for o in orders)

    # A hotline call on a week-2 date is booked on a new version of week 2 alone: the plan of
    # two weeks stays in force in week 1, and the one-off visit lives on its date only.
    call = client.post(
        "/api/v1/work-orders",
        json={"date": day, "now": "08:00", "service": "welfare_visit", "household": "H4"},
        headers=ADMIN,
    )
    assert call.status_code == 201, call.text
    options = call.json()["options"]
    assert options
    confirmed = client.post(
        f"/api/v1/work-orders/{call.json()['work_order']}/confirm",
        json={"caregiver": options[0]["caregiver"], "option": 0},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
    version = confirmed.json()["plan_id"]
    in_force = client.get(f"/api/v1/plans/in-force?from={monday}&weeks=2", headers=ADMIN).json()
    assert [(w["week_start"], w["plan_id"]) for w in in_force] == [
        (monday.isoformat(), done["id"]),
        ((monday + timedelta(days=7)).isoformat(), version),
    ]
    new = client.get(f"/api/v1/plans/{version}", headers=ADMIN).json()
    assert new["week_start"] == (monday + timedelta(days=7)).isoformat()
    checked = client.post(
        f"/api/v1/plans/check?week_start={new['week_start']}", json=new["document"], headers=ADMIN
    ).json()
    assert checked["ok"], checked["violations"]
    assert client.get("/api/v1/scenario", headers=ADMIN).json() == parse_and_export(doc)
    del doc

    # A date after the plan's weeks answers as before.
    later = (monday + timedelta(days=14)).isoformat()
    outside = client.post(
        "/api/v1/work-orders",
        json={"date": later, "now": "08:00", "service": "welfare_visit", "household": "H4"},
        headers=ADMIN,
    )
    assert outside.status_code == 409, outside.text
    assert later in outside.json()["error"]["message"]


def test_several_weeks_are_refused_for_the_greedy_baseline_and_without_week_start(
    client: TestClient,
) -> None:
    _store(client)
    greedy = client.post("/api/v1/plans", json={"weeks": 2, "solver": "greedy"}, headers=ADMIN)
    assert greedy.status_code == 422, greedy.text
    assert [f["path"] for f in greedy.json()["error"]["fields"]] == ["body.weeks"]
    too_many = client.post("/api/v1/plans", json={"weeks": 9}, headers=ADMIN)
    assert too_many.status_code == 422
    assert [f["path"] for f in too_many.json()["error"]["fields"]] == ["body.weeks"]
    undated = week_scenario_doc()
    del undated["week_start"]
    _store(client, undated)
    refused = client.post("/api/v1/plans", json={"weeks": 2}, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert [f["path"] for f in refused.json()["error"]["fields"]] == ["body.weeks"]
    assert "week_start" in refused.json()["error"]["message"]


def test_an_absence_in_the_second_week_reroutes_that_date_only(client: TestClient) -> None:
    doc = _store(client)
    done = _two_weeks(client)
    assert client.post(f"/api/v1/plans/{done['id']}/publish", headers=ADMIN).status_code == 200
    monday = this_monday()
    route = next(
        r
        for r in sorted(done["document"]["routes"], key=lambda r: r["date"])
        if r["stops"] and date.fromisoformat(r["date"]) >= monday + timedelta(days=7)
    )
    day, caregiver = route["date"], route["caregiver"]
    response = client.post(
        f"/api/v1/caregivers/{caregiver}/absence",
        json={"date": day, "now": "07:00"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # The new version is of that week alone; the plan of two weeks stays in force in week 1.
    new = client.get(f"/api/v1/plans/{body['plan_id']}", headers=ADMIN).json()
    second = monday + timedelta(days=7)
    assert new["week_start"] == second.isoformat()
    document = new["document"]
    assert document.get("weeks", 1) == 1
    code = DAYS[date.fromisoformat(day).weekday()]

    def other_days(routes: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
        return sorted((r["day"], r["caregiver"], r["stops"]) for r in routes if r["day"] != code)

    week_two = [
        {**r, "day": DAYS[date.fromisoformat(r["date"]).weekday()]}
        for r in done["document"]["routes"]
        if date.fromisoformat(r["date"]) >= second
    ]
    assert other_days(document["routes"]) == other_days(week_two)
    assert not [
        s
        for r in document["routes"]
        if (r["day"], r["caregiver"]) == (code, caregiver)
        for s in r["stops"]
    ]
    scenario = replace(parse_scenario(doc).scenario, week_start=second.isoformat())
    report = check_plan(scenario, parse_plan(document))
    assert report.ok, report.violations
    in_force = client.get(f"/api/v1/plans/in-force?from={monday}&weeks=2", headers=ADMIN).json()
    assert [w["plan_id"] for w in in_force] == [done["id"], body["plan_id"]]
    assert client.get(f"/api/v1/routes?date={day}", headers=ADMIN).json().get(caregiver) is None
