"""The circle and siting endpoints on the real app (its router added as ``api.app`` will)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dispatch.programmes.circle import circle_report
from dispatch.scenario_io import parse_scenario
from tests.api.conftest import ADMIN, new_token, week_scenario_doc


def test_no_scenario_is_a_conflict(client: TestClient) -> None:
    assert client.get("/api/v1/circle", headers=ADMIN).status_code == 409


def test_circle_matches_the_domain_and_dispatchers_may_read_it(client: TestClient) -> None:
    doc = week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    expected = circle_report(parse_scenario(doc).scenario, limit=5)
    dispatcher = new_token(client, "dispatcher")
    answer = client.get("/api/v1/circle", params={"minutes": 5}, headers=dispatcher)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [o["id"] for o in body["outside"]] == [r.household for r in expected.outside]
    assert [o["minutes"] for o in body["outside"]] == [r.minutes for r in expected.outside]
    assert body["district"]["share"] == expected.district.share
    assert [s["area"] for s in body["stations"]] == [c.area for c in expected.stations]
    geo = client.get("/api/v1/circle.geojson", headers=dispatcher)
    assert geo.status_code == 200
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    first = doc["stations"][0]
    assert features[0]["geometry"]["coordinates"] == [first["lon"], first["lat"]]
    assert client.post("/api/v1/siting", json={"k": 1}, headers=dispatcher).status_code == 403


def test_siting_proposes_sites_and_bounds_its_input(client: TestClient) -> None:
    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    planner = new_token(client, "planner")
    answer = client.post("/api/v1/siting", json={"k": 1, "minutes": 3}, headers=planner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["id"] for s in body["sites"]] == ["NEW1"]
    assert len(body["outside_after"]) <= len(body["outside_before"])
    assert body["need_inside_after"] >= body["need_inside_before"]
    assert body["optimal"] is True
    too_many = client.post("/api/v1/siting", json={"k": 21}, headers=planner)
    assert too_many.status_code == 422 and "k" in too_many.text
    crowd = [{"lat": 38.5, "lon": 106.2}] * 2001
    wide = client.post("/api/v1/siting", json={"k": 1, "candidates": crowd}, headers=planner)
    assert wide.status_code == 422 and "candidates" in wide.text
