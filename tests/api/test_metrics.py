"""``GET /metrics``: Prometheus counters that move with the requests, jobs and hotline calls of
the app that serves them, and who may scrape them."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from tests.api.conftest import ADMIN, make_settings, new_token

ORDER_ROUTE = "/api/v1/work-orders/{order_id}"


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def hotline_call(client: TestClient) -> Any:
    body = {"household": "H1", "service": "welfare_visit", "now": "08:00"}
    response = client.post("/api/v1/work-orders", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def test_counters_move_with_requests_jobs_and_calls(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/work-orders/999999", headers=ADMIN).status_code == 404
    assert client.get("/no/such/path/42").status_code == 404
    hotline_call(client)
    job = client.post("/api/v1/plans", json={"solver": "greedy"}, headers=ADMIN)
    assert job.status_code == 202, job.text
    queued = scrape(client)
    client.app.state.jobs.wait(job.json()["id"])  # type: ignore[attr-defined]
    finished = client.get(f"/api/v1/plans/{job.json()['id']}", headers=ADMIN).json()["status"]
    after = scrape(client)

    ok = {"method": "GET", "route": ORDER_ROUTE, "status": "200"}
    name = "dispatch_http_requests_total"
    assert value(after, name, **ok) - value(before, name, **ok) == 3
    missing = {**ok, "status": "404"}
    assert value(after, name, **missing) - value(before, name, **missing) == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    calls = {"method": "POST", "route": "/api/v1/work-orders", "status": "201"}
    assert value(after, name, **calls) - value(before, name, **calls) == 1
    # The scrapes themselves are counted too.
    scrapes = {"method": "GET", "route": "/metrics", "status": "200"}
    assert value(after, name, **scrapes) - value(before, name, **scrapes) == 2
    # No label carries an id: only route templates and "unmatched".
    routes = {dict(labels)["route"] for (n, labels) in after if n == name}
    assert ORDER_ROUTE in routes
    assert not [r for r in routes if re.search(r"/\d+(/|$)", r) or r.startswith("/no/")]

    count = "dispatch_http_request_seconds_count"
    by_route = {"method": "GET", "route": ORDER_ROUTE}
    assert value(after, count, **by_route) - value(before, count, **by_route) == 4
    assert value(after, "dispatch_http_request_seconds_sum", **by_route) > value(
        before, "dispatch_http_request_seconds_sum", **by_route
    )

    assert (
        value(after, "dispatch_hotline_seconds_count")
        - value(before, "dispatch_hotline_seconds_count")
        == 1
    )
    assert value(after, "dispatch_hotline_seconds_sum") > 0

    def jobs(samples: dict[Any, float], state: str) -> float:
        return value(samples, "dispatch_jobs", state=state)

    states = ("draft", "running", "done", "failed", "cancelled", "published")
    assert sum(jobs(queued, s) for s in states) == sum(jobs(before, s) for s in states) + 1
    assert jobs(queued, "draft") + jobs(queued, "running") + jobs(queued, "done") == (
        jobs(before, "draft") + jobs(before, "running") + jobs(before, "done") + 1
    )
    assert finished == "done"
    assert jobs(after, "done") == jobs(before, "done") + 1
    assert jobs(after, "draft") == jobs(before, "draft")
    assert jobs(after, "published") == jobs(before, "published") == 1

    runs = "dispatch_solver_runs_total"
    assert value(after, runs, solver="greedy") - value(before, runs, solver="greedy") == 1
    assert value(after, "dispatch_solver_seconds_total", solver="greedy") > 0
    assert any(n == "dispatch_build_info" and v == 1 for (n, _), v in after.items())


def test_metrics_need_an_admin_token(client: TestClient) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    planner = new_token(client, "planner")
    assert client.get("/metrics", headers=planner).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == (
        401
    )
    assert client.get("/metrics", headers=ADMIN).status_code == 200


def test_public_metrics_answer_without_a_token(backend_url: str) -> None:
    app = create_app(make_settings(backend_url, metrics_public=True))
    with TestClient(app) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "dispatch_http_requests_total" in response.text
        assert 'dispatch_jobs{state="done"} 0.0' in response.text


def test_each_app_counts_its_own_requests(backend_url: str, tmp_path: Any) -> None:
    first = create_app(make_settings(backend_url))
    second = create_app(make_settings(f"sqlite:///{tmp_path / 'other.sqlite3'}"))
    with TestClient(first) as one, TestClient(second) as two:
        for _ in range(2):
            one.get("/api/v1/health")
        health = {"method": "GET", "route": "/api/v1/health", "status": "200"}
        assert value(scrape(one), "dispatch_http_requests_total", **health) == 2
        assert value(scrape(two), "dispatch_http_requests_total", **health) == 0
