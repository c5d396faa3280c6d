"""Hostile input over HTTP: ids beyond the database's integers, dates that are not ISO dates."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN

TOO_BIG = 2**63

ID_ROUTES = [
    ("GET", "/api/v1/work-orders/{id}", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/accept", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/check-in", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/settle", "path.order_id"),
    ("GET", "/api/v1/work-orders/{id}/options", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/confirm", "path.order_id"),
    ("GET", "/api/v1/plans/{id}", "path.plan_id"),
    ("DELETE", "/api/v1/plans/{id}", "path.plan_id"),
    ("POST", "/api/v1/plans/{id}/publish", "path.plan_id"),
    ("DELETE", "/api/v1/tokens/{id}", "path.token_id"),
    ("DELETE", "/api/v1/master/changes/{id}", "path.change_id"),
    ("GET", "/api/v1/plans/compare?a={id}&b=1", "query.a"),
    ("GET", "/api/v1/plans/compare?a=1&b={id}", "query.b"),
]


def _paths(response_json: dict) -> list[str]:
    return [f["path"] for f in response_json["error"]["fields"]]


def test_an_id_outside_the_databases_integers_answers_422_naming_it(client: TestClient) -> None:
    for method, template, field in ID_ROUTES:
        for value in (TOO_BIG, 2**31, 10**30, 0, -1):
            response = client.request(method, template.format(id=value), headers=ADMIN)
            assert response.status_code == 422, (method, template, value, response.text)
            assert field in _paths(response.json())


def test_the_largest_id_is_looked_up(client: TestClient) -> None:
    response = client.get(f"/api/v1/plans/{2**31 - 1}", headers=ADMIN)
    assert response.status_code == 404, response.text


DATE_QUERIES = [
    ("/api/v1/work-orders?date={d}", "query.date"),
    ("/api/v1/work-orders?date_from={d}&date_to=2026-01-06", "query.date_from"),
    ("/api/v1/work-orders?date_from=2026-01-05&date_to={d}", "query.date_to"),
    ("/api/v1/caregivers/C1/assignments?date={d}", "query.date"),
    ("/api/v1/caregivers/C1/assignments?from={d}&to=2026-01-06", "query.from"),
    ("/api/v1/work-orders/summary?date={d}", "query.date"),
    ("/api/v1/work-orders/flags?date={d}", "query.date"),
    ("/api/v1/routes?date={d}", "query.date"),
    ("/api/v1/master?on={d}", "query.on"),
    ("/api/v1/master/changes?from={d}", "query.from"),
    ("/api/v1/plans/in-force?from={d}", "query.from"),
]


def test_a_date_in_the_query_must_be_an_iso_date(client: TestClient) -> None:
    for template, field in DATE_QUERIES:
        for bad in ("0", "1700000000", "2026-01-05T00:00:00", "20260105", "5.1.2026"):
            response = client.get(template.format(d=bad), headers=ADMIN)
            assert response.status_code == 422, (template, bad, response.text)
            assert field in _paths(response.json())


BODY_DATES = [
    ("POST", "/api/v1/caregivers/C1/absence", {}, "date", "body.date"),
    (
        "POST",
        "/api/v1/work-orders",
        {"household": "H1", "service": "cleaning"},
        "date",
        "body.date",
    ),
    (
        "POST",
        "/api/v1/master/changes",
        {"kind": "caregiver", "id": "C1", "data": None},
        "effective_from",
        "body.effective_from",
    ),
    (
        "POST",
        "/api/v1/households",
        {"household": {"id": "H9", "lat": 38.5, "lon": 106.2, "requests": []}},
        "effective_from",
        "body.effective_from",
    ),
    ("POST", "/api/v1/plans", {"solver": "greedy"}, "week_start", "body.week_start"),
]


def test_a_date_in_a_body_must_be_an_iso_date(client: TestClient) -> None:
    for method, path, body, key, field in BODY_DATES:
        for bad in (0, 1700000000, "0", "2026-01-05T00:00:00", 20260105):
            response = client.request(method, path, json={**body, key: bad}, headers=ADMIN)
            assert response.status_code == 422, (path, bad, response.text)
            assert field in _paths(response.json())


def test_plan_query_week_start_must_be_an_iso_date(client: TestClient) -> None:
    response = client.post("/api/v1/plans/check?week_start=0", json={"routes": []}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "query.week_start" in _paths(response.json())
