"""The console's own endpoints: who a token is, the household search of the hotline desk, the
pages and static files with their content security policy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token


def test_whoami_names_the_token_and_its_role(client: TestClient, published: dict[str, Any]) -> None:
    caregiver = new_token(client, "caregiver", "C1")
    assert client.get("/api/v1/whoami", headers=caregiver).json() == {
        "name": "caregiver test",
        "role": "caregiver",
        "caregiver_id": "C1",
    }
    assert client.get("/api/v1/whoami").status_code == 401


def test_households_are_found_by_name_phone_or_address(
    client: TestClient, published: dict[str, Any]
) -> None:
    dispatcher = new_token(client, "dispatcher")

    def ids(q: str) -> list[str]:
        response = client.get("/api/v1/lookup/households", params={"q": q}, headers=dispatcher)
        assert response.status_code == 200, response.text
        return [h["id"] for h in response.json()]

    assert ids("刘奶奶") == ["H1"]
    assert ids("5678") == ["H1"]  # the phone imported for H1, 13812345678
    assert ids("丽景街道") == ["H1"]
    assert ids("奶奶") == ["H1", "H3", "H5"]
    assert ids("nobody") == []
    found = client.get("/api/v1/lookup/households?q=H1", headers=dispatcher).json()
    assert found[0]["phone"] == "13812345678" and found[0]["lat"] == 38.4901
    for role in ("planner", "caregiver"):
        headers = new_token(client, role, "C1" if role == "caregiver" else None)
        assert client.get("/api/v1/lookup/households?q=H", headers=headers).status_code == 403
    assert client.get("/api/v1/lookup/households?q=", headers=ADMIN).status_code == 422


def test_the_places_of_the_map_are_the_master_data_without_contact_or_requests(
    client: TestClient, published: dict[str, Any]
) -> None:
    planner = new_token(client, "planner")
    places = client.get(f"/api/v1/console/places?on={published['date']}", headers=planner)
    assert places.status_code == 200, places.text
    body = places.json()
    assert body["stations"] == [{"id": "S1", "name": "丽景街道站", "lat": 38.4872, "lon": 106.2309}]
    assert [c["id"] for c in body["caregivers"]] == ["C1", "C2", "C3"]
    assert body["caregivers"][0] == {"id": "C1", "name": "王芳", "station": "S1"}
    assert [h["id"] for h in body["households"]] == ["H1", "H2", "H3", "H4", "H5"]
    assert set(body["households"][0]) == {"id", "name", "lat", "lon"}
    caregiver = new_token(client, "caregiver", "C1")
    assert client.get("/api/v1/console/places", headers=caregiver).status_code == 403
    # A dated change is seen at once (the kept answer is keyed by the master data's revision).
    later = (date.fromisoformat(published["date"]) + timedelta(days=14)).isoformat()
    change = {"kind": "caregiver", "id": "C3", "effective_from": later, "data": None}
    assert client.post("/api/v1/master/changes", json=change, headers=planner).status_code == 201
    then = client.get(f"/api/v1/console/places?on={later}", headers=planner).json()
    assert [c["id"] for c in then["caregivers"]] == ["C1", "C2"]
    again = client.get(f"/api/v1/console/places?on={published['date']}", headers=planner).json()
    assert [c["id"] for c in again["caregivers"]] == ["C1", "C2", "C3"]


def test_no_places_before_a_scenario_is_stored(client: TestClient) -> None:
    assert client.get("/api/v1/console/places", headers=ADMIN).status_code == 409


def test_pages_and_static_files_are_served_with_the_console_policy(client: TestClient) -> None:
    for path in ("/", "/board", "/hotline", "/plans", "/phone"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp and "cdn" not in csp
        assert 'src="/static/' in page.text and "http" not in page.text.split("<body")[0]
    script = client.get("/static/common.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/console.css").headers["content-type"].startswith("text/css")
    for missing in ("/static/nothing.js", "/static/..%2Fpage.html", "/static/page.html"):
        assert client.get(missing).status_code == 404, missing
    assert "/board" not in client.get("/openapi.json").json()["paths"]
    api = client.get("/api/v1/health")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
