"""Scenario import/export: round trip, field-named errors, nothing lost on a bad import."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import ADMIN, make_settings, new_token
from tests.conftest import fixture_data, fixture_path


def test_import_then_export_gives_the_scenario_back(client: TestClient) -> None:
    response = client.post(
        "/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["households"] == 5
    assert response.json()["requests"] == 6
    exported = client.get("/api/v1/scenario", headers=ADMIN).json()
    assert exported["name"] == "银川 tiny Monday"
    assert [h["id"] for h in exported["households"]] == ["H1", "H2", "H3", "H4", "H5"]
    assert [c["id"] for c in exported["caregivers"]] == ["C1", "C2", "C3"]
    h2 = exported["households"][1]
    # Given in GCJ-02, stored and exported in WGS-84 (conftest: lands at 38.4835, 106.2350).
    assert "coord_system" not in h2 or h2["coord_system"] == "wgs84"
    assert abs(h2["lat"] - 38.4835) < 1e-3 and abs(h2["lon"] - 106.2350) < 1e-3
    # The export is itself a valid document: importing it again changes nothing.
    assert client.post("/api/v1/scenario", json=exported, headers=ADMIN).status_code == 200
    assert client.get("/api/v1/scenario", headers=ADMIN).json() == exported


def test_invalid_import_names_the_field_and_keeps_the_stored_scenario(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    before = client.get("/api/v1/scenario", headers=ADMIN).json()
    bad = fixture_data("tiny_scenario.json")
    bad["name"] = "replacement"
    bad["households"][0]["lat"] = "north"
    response = client.post("/api/v1/scenario", json=bad, headers=ADMIN)
    assert response.status_code == 422
    paths = [f["path"] for f in response.json()["error"]["fields"]]
    assert "body.households[0].lat" in paths
    assert client.get("/api/v1/scenario", headers=ADMIN).json() == before


def test_unknown_reference_is_rejected_without_loss(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    bad = fixture_data("tiny_scenario.json")
    bad["caregivers"][0]["station"] = "S9"
    response = client.post("/api/v1/scenario", json=bad, headers=ADMIN)
    assert response.status_code == 422
    assert "body.caregivers[0].station" in [f["path"] for f in response.json()["error"]["fields"]]
    assert client.get("/api/v1/scenario", headers=ADMIN).json()["caregivers"][0]["station"] == "S1"


def test_a_body_that_is_not_an_object_is_a_422(client: TestClient) -> None:
    response = client.post("/api/v1/scenario", json=[1, 2], headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"].startswith("body")
    broken = client.post(
        "/api/v1/scenario",
        content=b"{",
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert broken.status_code == 422


def test_export_before_any_import_is_a_404(client: TestClient) -> None:
    response = client.get("/api/v1/scenario", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_caregivers_may_not_import_or_export(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    caregiver = new_token(client, "caregiver", "C1")
    assert client.get("/api/v1/scenario", headers=caregiver).status_code == 403
    data = fixture_data("tiny_scenario.json")
    assert client.post("/api/v1/scenario", json=data, headers=caregiver).status_code == 403
    planner = new_token(client, "planner")
    assert client.get("/api/v1/scenario", headers=planner).status_code == 200


def test_texts_longer_than_their_columns_are_422_not_500(client: TestClient) -> None:
    data = fixture_data("tiny_scenario.json")
    data["households"][0]["id"] = "H" * 65
    response = client.post("/api/v1/scenario", json=data, headers=ADMIN)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.households[0].id"]
    data = fixture_data("tiny_scenario.json")
    data["stations"][0]["name"] = "站\x00"
    response = client.post("/api/v1/scenario", json=data, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.stations[0].name"


def test_demo_is_loaded_into_an_empty_database_only(backend_url: str) -> None:
    demo = str(fixture_path("tiny_scenario.json"))
    with TestClient(
        create_app(make_settings(backend_url, load_demo=True, demo_scenario=demo))
    ) as c:
        assert c.get("/api/v1/scenario", headers=ADMIN).json()["name"] == "银川 tiny Monday"
        replacement = fixture_data("tiny_scenario.json")
        replacement["name"] = "edited"
        assert c.post("/api/v1/scenario", json=replacement, headers=ADMIN).status_code == 200
    with TestClient(
        create_app(make_settings(backend_url, load_demo=True, demo_scenario=demo))
    ) as c:
        assert c.get("/api/v1/scenario", headers=ADMIN).json()["name"] == "edited"


def test_a_missing_demo_file_is_skipped(backend_url: str) -> None:
    settings = make_settings(backend_url, load_demo=True, demo_scenario="no/such/file.json")
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/v1/scenario", headers=ADMIN).status_code == 404
