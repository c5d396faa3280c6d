"""Planner jobs: submit (202), poll, cancel, restart, what-if modifications, compare."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.services import jobs
from dispatch.checker import check_plan
from dispatch.greedy import plan_greedy
from dispatch.plan_io import parse_plan
from dispatch.scenario_io import parse_scenario
from dispatch.weekly import Progress
from dispatch.whatif import AddCaregivers, Modifications, apply_modifications
from tests.api.conftest import ADMIN, make_settings, plan_doc, week_scenario_doc


def _store(client: TestClient) -> dict[str, Any]:
    doc = week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    return doc


def _submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/plans", json=body, headers=ADMIN)
    assert response.status_code == 202, response.text
    return response.json()


def _finish(client: TestClient, plan_id: int) -> dict[str, Any]:
    client.app.state.jobs.wait(plan_id)  # type: ignore[attr-defined]
    return client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()


def test_job_solves_in_the_background_and_passes_the_checker(client: TestClient) -> None:
    doc = _store(client)
    job = _submit(client, solver="ours", time_limit=1, seed=3, name="weekly")
    assert job["status"] in ("draft", "running", "done")
    done = _finish(client, job["id"])
    assert (done["status"], done["progress"], done["name"]) == ("done", 1.0, "weekly")
    assert done["kpis"]["planned_visits"] >= 1
    scenario = parse_scenario(doc).scenario
    report = check_plan(scenario, parse_plan(done["document"]))
    assert report.ok, report.violations
    # One week (the default) is a plan without weeks or dates, as before.
    assert "weeks" not in done["document"]
    assert all("date" not in r for r in done["document"]["routes"])
    # It does not replace the published plan until published.
    assert client.post(f"/api/v1/plans/{job['id']}/publish", headers=ADMIN).status_code == 200


def test_what_if_modifications_are_applied(client: TestClient) -> None:
    doc = _store(client)
    job = _submit(
        client,
        solver="greedy",
        modifications={
            "add_caregivers": [{"station": "S1", "count": 1, "template": "C1"}],
            "remove_caregivers": ["C2"],
            "scale_demand": 1.4,
        },
    )
    done = _finish(client, job["id"])
    assert done["status"] == "done"
    plan = parse_plan(done["document"])
    caregivers = {r.caregiver for r in plan.routes}
    assert "C2" not in caregivers
    scenario = apply_modifications(
        parse_scenario(doc).scenario,
        Modifications(
            add_caregivers=(AddCaregivers("S1", 1, "C1"),),
            remove_caregivers=("C2",),
            scale_demand=1.4,
        ),
    )
    assert len(scenario.households) == 7
    report = check_plan(scenario, plan)
    assert report.ok, report.violations
    assert done["kpis"]["required_visits"] == sum(r.visits_per_week for _, r in scenario.requests())
    bad = client.post(
        "/api/v1/plans", json={"modifications": {"remove_caregivers": ["NOPE"]}}, headers=ADMIN
    )
    assert bad.status_code == 422 and "NOPE" in bad.json()["error"]["message"]
    wrong = client.post("/api/v1/plans", json={"solver": "magic"}, headers=ADMIN)
    assert wrong.status_code == 422


def test_cancel_a_running_and_a_queued_job(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in planner reports its first plan, waits for the test, then reports again: the
    second report finds the job cancelled and stops it, the first plan stays; the job queued
    behind it never starts."""
    started, proceed = threading.Event(), threading.Event()
    reports: list[str] = []
    first_kpis: dict[str, float] = {}

    def planner(scenario: Any, *, weeks: int, params: Any, progress: Any, **_: Any) -> Any:
        first = plan_greedy(scenario)
        first_kpis.update(first.kpis)
        progress(Progress("route", 0.5, "half way", first.kpis, first))
        reports.append("first")
        started.set()
        proceed.wait()
        progress(Progress("route", 0.9, "almost"))
        reports.append("second")
        raise AssertionError("the cancelled job went on")

    monkeypatch.setattr(jobs, "plan_weeks", planner)
    _store(client)
    first = _submit(client, solver="ours")
    second = _submit(client, solver="ours")
    try:
        assert started.wait(timeout=60)
        running = client.get(f"/api/v1/plans/{first['id']}", headers=ADMIN).json()
        assert (running["status"], running["progress"]) == ("running", 0.5)
        assert running["kpis"]["planned_visits"] == first_kpis["planned_visits"]  # best so far
        best = running["document"]  # the best plan so far, before the job ends
        assert best is not None and best["routes"] and best["kpis"] == running["kpis"]
        scenario = parse_scenario(week_scenario_doc()).scenario
        assert check_plan(scenario, parse_plan(best)).ok
        for job in (first, second):
            response = client.delete(f"/api/v1/plans/{job['id']}", headers=ADMIN)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "cancelled"
    finally:
        proceed.set()  # never leave the worker waiting
    kept = _finish(client, first["id"])
    assert (kept["status"], kept["document"]) == ("cancelled", best)
    queued = _finish(client, second["id"])
    assert (queued["status"], queued["document"]) == ("cancelled", None)
    assert reports == ["first"]
    again = client.delete(f"/api/v1/plans/{first['id']}", headers=ADMIN)
    assert again.status_code == 409


def test_a_job_cut_off_by_a_restart_is_marked_failed(backend_url: str) -> None:
    settings = make_settings(backend_url)
    with TestClient(create_app(settings)) as client:
        _store(client)
        job = _submit(client, solver="greedy")
        _finish(client, job["id"])
    # The process died while the row said running, its last heartbeat an hour ago; another
    # server process is still working on a second job, its heartbeat fresh.
    engine = create_engine(backend_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE plans SET status = 'running', progress = 0.4, heartbeat_at = :at "
                "WHERE id = :id"
            ),
            {"id": job["id"], "at": datetime.now(UTC) - timedelta(hours=1)},
        )
        connection.execute(
            text(
                "INSERT INTO plans (version, name, status, scenario_name, parameters, kpis, "
                "progress, message, created_by, created_at, updated_at, heartbeat_at) VALUES "
                "(99, 'elsewhere', 'running', '', '{}', '{}', 0.2, '', '', :at, :at, :at)"
            ),
            {"at": datetime.now(UTC)},
        )
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        row = client.get(f"/api/v1/plans/{job['id']}", headers=ADMIN).json()
        listed = client.get("/api/v1/plans", headers=ADMIN).json()
    others = [p for p in listed if p["version"] == 99]
    assert row["status"] == "failed"
    assert "restart" in row["message"] and "重启" in row["message"]
    assert [p["status"] for p in others] == ["running"]


def test_a_greedy_job_reports_its_plan_and_its_heartbeat(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress callback sees the greedy plan before the job ends; the row carries a
    heartbeat."""
    seen: list[Any] = []
    runner = client.app.state.jobs  # type: ignore[attr-defined]
    original = jobs._report

    def spy(session: Any, plan_id: int, p: Progress) -> None:
        seen.append(p.plan)
        original(session, plan_id, p)

    monkeypatch.setattr(jobs, "_report", spy)
    _store(client)
    job = _submit(client, solver="greedy")
    runner.wait(job["id"])
    assert seen[0] is None and seen[-1] is not None and seen[-1].routes
    with runner.database.session() as session:
        row = session.get(jobs.PlanRow, job["id"])
        assert row is not None and row.heartbeat_at is not None
        assert row.status == "done"


def test_compare_two_plans(client: TestClient) -> None:
    """The KPIs compared are those the checker recomputes: b leaves H2's visit out (and says
    so) but claims the same figures as a."""
    _store(client)
    a = plan_doc(c1_day="mon", c2_day="tue")
    b = plan_doc(c1_day="mon", c2_day="tue")
    b["routes"][0]["stops"] = b["routes"][0]["stops"][:1]
    b["routes"][0]["back"] = "10:45"
    b["unassigned"].append(
        {"request": "H2-visit", "household": "H2", "missing_visits": 1, "reason": "solver_limit"}
    )
    ids = [client.post("/api/v1/plans", json=d, headers=ADMIN).json()["id"] for d in (a, b)]
    response = client.get(f"/api/v1/plans/compare?a={ids[0]}&b={ids[1]}", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["a"]["id"], body["b"]["id"]) == tuple(ids)
    kpis = {k["name"]: k for k in body["kpis"]}
    assert kpis["travel_minutes"] == {"name": "travel_minutes", "a": 46, "b": 40, "difference": -6}
    assert kpis["planned_visits"]["difference"] == -1
    missing = client.get(f"/api/v1/plans/compare?a={ids[0]}&b=999", headers=ADMIN)
    assert missing.status_code == 404


def test_the_weekly_planner_reports_its_plans_to_the_job(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real weekly planner hands the job its greedy start and each improved week, each a
    whole plan of the scenario that keeps every rule."""
    stages: list[tuple[str, Any]] = []
    original = jobs._report

    def spy(session: Any, plan_id: int, p: Progress) -> None:
        stages.append((p.stage, p.plan))
        original(session, plan_id, p)

    monkeypatch.setattr(jobs, "_report", spy)
    scenario = parse_scenario(_store(client)).scenario
    job = _submit(client, solver="ours", time_limit=2)
    _finish(client, job["id"])
    with_plan = [(stage, plan) for stage, plan in stages if plan is not None]
    assert [stage for stage, _ in with_plan][:1] == ["greedy"]
    assert [stage for stage, _ in with_plan][-1] == "done"
    assert len(with_plan) >= 3  # greedy, at least one station group, done
    for _, plan in with_plan:
        assert check_plan(scenario, plan).ok


def test_the_two_kinds_of_plan_body(client: TestClient) -> None:
    """``POST /plans`` takes a plan document (a body with ``routes``) or a planner job; each is
    validated as its own kind and an error names the field as the client sent it."""
    _store(client)
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    assert stored.status_code == 201 and stored.json()["status"] == "done"
    assert stored.json()["document"]["routes"][0]["caregiver"] == "C1"
    broken = plan_doc(c1_day="mon", c2_day="tue")
    broken["routes"][0]["leave"] = "25:00"
    bad_document = client.post("/api/v1/plans", json=broken, headers=ADMIN)
    assert bad_document.status_code == 422
    error = bad_document.json()["error"]
    assert error["code"] == "invalid_document"
    assert [f["path"] for f in error["fields"]] == ["body.routes[0].leave"]
    bad_job = client.post("/api/v1/plans", json={"solver": "magic", "seed": -1}, headers=ADMIN)
    assert bad_job.status_code == 422
    assert {f["path"] for f in bad_job.json()["error"]["fields"]} == {"body.solver", "body.seed"}
    unknown = client.post("/api/v1/plans", json={"time_limit": 5, "colour": "red"}, headers=ADMIN)
    assert unknown.status_code == 422
    assert [f["path"] for f in unknown.json()["error"]["fields"]] == ["body.colour"]
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/plans"]["post"]["requestBody"]["content"]["application/json"]
    assert "oneOf" in body["schema"]
