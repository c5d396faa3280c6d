"""Who may plan and publish, and a plan that would empty every route."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token, other_day_code, plan_doc, today_code
from tests.api.conftest import week_scenario_doc as scenario_doc

API = "/api/v1"


def _stored_plan(client: TestClient, document: dict[str, Any]) -> int:
    response = client.post(f"{API}/plans", json=document, headers=ADMIN)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_dispatchers_read_and_check_plans_but_only_planners_plan_cancel_and_publish(
    client: TestClient,
) -> None:
    assert client.post(f"{API}/scenario", json=scenario_doc(), headers=ADMIN).status_code == 200
    document = plan_doc(c1_day=today_code(), c2_day=other_day_code())
    plan_id = _stored_plan(client, document)
    dispatcher, planner = new_token(client, "dispatcher"), new_token(client, "planner")

    for method, path, body in (
        ("POST", f"{API}/plans", document),
        ("POST", f"{API}/plans", {"solver": "greedy", "time_limit": 1}),
        ("DELETE", f"{API}/plans/{plan_id}", None),
        ("POST", f"{API}/plans/{plan_id}/publish", None),
    ):
        refused = client.request(method, path, json=body, headers=dispatcher)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
    assert client.get(f"{API}/plans", headers=dispatcher).status_code == 200
    assert client.get(f"{API}/plans/{plan_id}", headers=dispatcher).status_code == 200
    checked = client.post(f"{API}/plans/check", json=document, headers=dispatcher)
    assert checked.status_code == 200, checked.text

    assert client.post(f"{API}/plans", json=document, headers=planner).status_code == 201
    published = client.post(f"{API}/plans/{plan_id}/publish", headers=planner)
    assert published.status_code == 200, published.text
    # a dispatcher keeps the live day: the day's routes
    assert client.get(f"{API}/routes", headers=dispatcher).status_code == 200


def test_a_plan_without_visits_is_not_published_over_master_data_that_asks_for_visits(
    client: TestClient,
) -> None:
    assert client.post(f"{API}/scenario", json=scenario_doc(), headers=ADMIN).status_code == 200
    full = plan_doc(c1_day=today_code(), c2_day=other_day_code())
    published = _stored_plan(client, full)
    assert client.post(f"{API}/plans/{published}/publish", headers=ADMIN).status_code == 200
    empty = {
        **full,
        "routes": [],
        "unassigned": [
            {"request": r, "household": h, "missing_visits": 1, "reason": "solver_limit"}
            for r, h in (
                ("H1-clean", "H1"),
                ("H2-visit", "H2"),
                ("H2-meal", "H2"),
                ("H3-nurse", "H3"),
                ("H4-walk", "H4"),
                ("H5-rehab", "H5"),
            )
        ],
    }
    empty_id = _stored_plan(client, empty)

    refused = client.post(f"{API}/plans/{empty_id}/publish", headers=ADMIN)
    assert refused.status_code == 409, refused.text
    assert "no visit" in refused.json()["error"]["message"]
    # the published plan and its orders are untouched
    assert client.get(f"{API}/plans/{published}", headers=ADMIN).json()["status"] == "published"
    routes = client.get(f"{API}/routes", headers=ADMIN).json()
    assert routes and all(routes.values())
