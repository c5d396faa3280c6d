"""Plan integrity: every plan that enters the store has passed the checker against its master
data and carries the KPIs the checker recomputes, on SQLite and PostgreSQL.

The tiny scenario of the current week (``week_scenario_doc``): C1 (e-bike) visits H1 and H2 on
Monday, C2 (walks, 18 minutes from the station to H4) H4 on Tuesday (``plan_doc``, 46 minutes
of travel in all).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.models import PlanRow
from api.services.jobs import JobRunner
from dispatch.checker import check_plan
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Stop
from dispatch.plan_io import parse_plan
from dispatch.scenario_io import parse_scenario
from dispatch.weekly import Progress
from tests.api.conftest import ADMIN, plan_doc, this_monday, week_scenario_doc

MONDAY = this_monday().isoformat()


def _scenario(client: TestClient, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = doc if doc is not None else week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    return doc


def _published(client: TestClient) -> int:
    _scenario(client)
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    assert stored.status_code == 201, stored.text
    plan_id: int = stored.json()["id"]
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    return plan_id


def _broken() -> dict[str, Any]:
    """The issue's plan: C3 (no cleaning, no welfare visits) does C1's round, C2 leaves the
    station at 09:00 and is at H4 by 09:10 (18 minutes away), and it claims 1 minute of
    travel."""
    doc = plan_doc(c1_day="mon", c2_day="tue")
    doc["routes"][0]["caregiver"] = "C3"
    doc["routes"][0]["leave"] = "08:40"
    doc["routes"][1]["leave"] = "09:00"
    doc["kpis"]["travel_minutes"] = 1
    return doc


def _state(client: TestClient) -> dict[str, Any]:
    """What a refused upload must leave alone: plans, the published routes, master data."""
    return {
        "plans": client.get("/api/v1/plans", headers=ADMIN).json(),
        "routes": client.get(f"/api/v1/routes?date={MONDAY}", headers=ADMIN).json(),
        "scenario": client.get("/api/v1/scenario", headers=ADMIN).json(),
    }


def test_an_uploaded_plan_with_violations_is_refused_and_nothing_changes(
    client: TestClient,
) -> None:
    _published(client)
    before = _state(client)
    response = client.post("/api/v1/plans", json=_broken(), headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "plan_violations"
    assert "not stored" in error["message"] and "未保存" in error["message"]
    found = {(v["rule"], v["caregiver"], v["day"], v["request"]) for v in error["violations"]}
    assert ("skill", "C3", "mon", "H1-clean") in found
    assert ("skill", "C3", "mon", "H2-visit") in found
    assert ("travel", "C2", "tue", "H4-walk") in found
    assert all(v["message"] for v in error["violations"])
    paths = {f["path"] for f in error["fields"]}
    assert {"body.routes[0].stops[0]", "body.routes[1].stops[0]"} <= paths
    assert _state(client) == before


def test_a_valid_upload_is_stored_with_the_kpis_the_checker_recomputes(
    client: TestClient,
) -> None:
    _scenario(client)
    doc = plan_doc(c1_day="mon", c2_day="tue")
    doc["kpis"] = {**doc["kpis"], "travel_minutes": 1, "planned_visits": 99, "quality": 100}
    response = client.post("/api/v1/plans", json=doc, headers=ADMIN)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["status"] == "done"
    for kpis in (stored["kpis"], stored["document"]["kpis"]):
        assert (kpis["travel_minutes"], kpis["planned_visits"]) == (46, 3)
        assert "quality" not in kpis
    again = client.get(f"/api/v1/plans/{stored['id']}", headers=ADMIN).json()
    assert again["kpis"]["travel_minutes"] == 46


def test_check_a_plan_without_storing_it(client: TestClient) -> None:
    assert client.post("/api/v1/plans/check", json=_broken(), headers=ADMIN).status_code == 409
    _scenario(client)
    good = client.post(
        "/api/v1/plans/check", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN
    )
    assert good.status_code == 200, good.text
    assert good.json()["ok"] is True and good.json()["violations"] == []
    assert good.json()["kpis"]["travel_minutes"] == 46
    bad = client.post("/api/v1/plans/check", json=_broken(), headers=ADMIN)
    assert bad.status_code == 200, bad.text
    body = bad.json()
    assert body["ok"] is False
    assert {"skill", "travel"} <= {v["rule"] for v in body["violations"]}
    assert set(body["violations"][0]) == {"rule", "message", "caregiver", "day", "request"}
    assert body["kpis"]["travel_minutes"] != 1
    assert client.get("/api/v1/plans", headers=ADMIN).json() == []
    broken = plan_doc(c1_day="mon", c2_day="tue")
    broken["routes"][0]["leave"] = "25:00"
    invalid = client.post("/api/v1/plans/check", json=broken, headers=ADMIN)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"][0]["path"] == "body.routes[0].leave"


def test_publish_refuses_a_plan_that_breaks_the_stored_master_data(client: TestClient) -> None:
    """A plan stored while it kept every rule, then C1 loses the cleaning skill: it can no
    longer be published, and the answer names the violation."""
    _scenario(client)
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    plan_id = stored.json()["id"]
    changed = week_scenario_doc()
    changed["caregivers"][0]["skills"].remove("cleaning")
    _scenario(client, changed)
    response = client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN)
    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    assert "skill" in message and "H1-clean" in message and "不能发布" in message
    plans = client.get("/api/v1/plans", headers=ADMIN).json()
    assert [p["status"] for p in plans] == ["done"]
    assert client.get(f"/api/v1/routes?date={MONDAY}", headers=ADMIN).json() == {}


def _bad_copy(plan: Plan) -> Plan:
    """``plan`` with its first stop starting an hour before the caregiver arrives."""
    i = next(i for i, r in enumerate(plan.routes) if r.stops)
    route = plan.routes[i]
    first = route.stops[0]
    early = Stop(first.request, first.household, first.arrival, first.start - 60, first.end - 60)
    routes = list(plan.routes)
    routes[i] = replace(route, stops=(early, *route.stops[1:]))
    return replace(plan, routes=tuple(routes))


def test_a_computed_plan_with_violations_is_stored_failed_and_never_published(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def planner(scenarios: Any, options: Any, progress: Any) -> Plan:
        return replace(_bad_copy(plan_greedy(scenarios[0])), kpis={"travel_minutes": 1.0})

    monkeypatch.setattr(JobRunner, "_solve", staticmethod(planner))
    _scenario(client)
    job = client.post("/api/v1/plans", json={"solver": "greedy"}, headers=ADMIN).json()
    client.app.state.jobs.wait(job["id"])  # type: ignore[attr-defined]
    row = client.get(f"/api/v1/plans/{job['id']}", headers=ADMIN).json()
    assert row["status"] == "failed"
    assert "stop_times" in row["message"] and "breaks" in row["message"]
    assert row["kpis"]["travel_minutes"] != 1
    response = client.post(f"/api/v1/plans/{job['id']}/publish", headers=ADMIN)
    assert response.status_code == 409
    assert "stop_times" in response.json()["error"]["message"]


def test_a_jobs_stored_plans_are_checker_clean_with_recomputed_kpis(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner reports a broken plan so far, then a good one with claimed KPIs: the row
    never holds the broken one, and holds the good one with the checker's KPIs."""
    seen: list[Any] = []
    database = client.app.state.database  # type: ignore[attr-defined]

    def row_now(plan_id: int) -> tuple[Any, Any]:
        with database.session() as session:
            row = session.get(PlanRow, plan_id)
            assert row is not None
            return row.document, dict(row.kpis)

    ids: list[int] = []
    ready = threading.Event()

    def planner(scenarios: Any, options: Any, progress: Any) -> Plan:
        ready.wait(10)
        good = plan_greedy(scenarios[0])
        claimed = {"travel_minutes": 1.0, "planned_visits": 99.0}
        progress(Progress("greedy", 0.1, "first", claimed, _bad_copy(good)))
        seen.append(row_now(ids[0]))
        progress(Progress("route", 0.5, "better", claimed, good))
        seen.append(row_now(ids[0]))
        return replace(good, kpis={**claimed, "solver_seconds": 0.5})

    monkeypatch.setattr(JobRunner, "_solve", staticmethod(planner))
    scenario = parse_scenario(_scenario(client)).scenario
    job = client.post("/api/v1/plans", json={"solver": "greedy"}, headers=ADMIN).json()
    ids.append(job["id"])
    ready.set()
    client.app.state.jobs.wait(job["id"])  # type: ignore[attr-defined]
    (broken_doc, broken_kpis), (good_doc, good_kpis) = seen
    assert broken_doc is None and broken_kpis == {}
    assert check_plan(scenario, parse_plan(good_doc)).ok
    assert good_kpis["planned_visits"] != 99 and good_kpis["travel_minutes"] != 1
    assert good_doc["kpis"] == good_kpis
    done = client.get(f"/api/v1/plans/{job['id']}", headers=ADMIN).json()
    assert done["status"] == "done"
    final = parse_plan(done["document"])
    report = check_plan(scenario, final)
    assert report.ok
    assert done["kpis"] == {**report.kpis, "solver_seconds": 0.5}
    assert client.post(f"/api/v1/plans/{job['id']}/publish", headers=ADMIN).status_code == 200


def test_a_what_if_job_is_checked_against_its_own_scenario(client: TestClient) -> None:
    """Two new caregivers exist only in the what-if scenario: its plan is checker-clean there
    (done), and cannot be published on the stored master data when it uses them."""
    _scenario(client)
    body = {
        "solver": "greedy",
        "modifications": {"add_caregivers": [{"station": "S1", "count": 2, "template": "C1"}]},
    }
    job = client.post("/api/v1/plans", json=body, headers=ADMIN).json()
    client.app.state.jobs.wait(job["id"])  # type: ignore[attr-defined]
    done = client.get(f"/api/v1/plans/{job['id']}", headers=ADMIN).json()
    assert done["status"] == "done", done["message"]
    stored = {c["id"] for c in week_scenario_doc()["caregivers"]}
    if {r["caregiver"] for r in done["document"]["routes"]} - stored:
        refused = client.post(f"/api/v1/plans/{job['id']}/publish", headers=ADMIN)
        assert refused.status_code == 409
