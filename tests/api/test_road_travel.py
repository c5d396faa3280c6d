"""The service on road travel times: a stored scenario naming a stored matrix plans, checks
and answers the hotline with its minutes; a request body cannot name one; a road server that
does not answer is a 503 naming it, with nothing stored lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from dispatch.travel_tables import forget_resolved, load_table
from tests.api.conftest import ADMIN, make_settings, plan_doc, week_scenario_doc
from tests.fake_router import FakeRouter

LEG = 20  # every road leg takes 20 minutes, whatever the mode: far from the model's 1–13


@pytest.fixture
def road_client(tmp_path: Path) -> Iterator[TestClient]:
    forget_resolved()
    settings = make_settings(
        f"sqlite:///{tmp_path / 'dispatch.sqlite3'}", travel_cache=str(tmp_path / "cache")
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _matrix_scenario(folder: Path) -> dict[str, Any]:
    doc = week_scenario_doc()
    keys = [f"station:{s['id']}" for s in doc["stations"]]
    keys += [f"household:{h['id']}" for h in doc["households"]]
    n = len(keys)
    minutes = [[0 if i == j else LEG for j in range(n)] for i in range(n)]
    path = folder / "roads.json"
    path.write_text(json.dumps({"format": 1, "places": keys, "minutes": {"*": minutes}}))
    doc["travel"] = {"provider": "matrix", "matrix": str(path)}
    return doc


def _stored(client: TestClient, folder: Path) -> dict[str, Any]:
    doc = _matrix_scenario(folder)
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    return doc


def _finished(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """The plan row of a job of ``body``, waited for."""
    job = client.post("/api/v1/plans", json=body, headers=ADMIN)
    assert job.status_code == 202, job.text
    client.app.state.jobs.wait(job.json()["id"])  # type: ignore[attr-defined]
    done: dict[str, Any] = client.get(f"/api/v1/plans/{job.json()['id']}", headers=ADMIN).json()
    assert done["status"] == "done", done["message"]
    return done


def test_plans_checks_and_hotline_answers_use_the_stored_matrix(
    road_client: TestClient, tmp_path: Path
) -> None:
    client = road_client
    doc = _stored(client, tmp_path)

    # A hand plan that keeps every rule on the straight-line model is too quick for the roads.
    hand = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    assert hand.status_code == 422, hand.text
    assert "travel" in hand.text

    done = _finished(client, {"solver": "ours", "time_limit": 1})
    record = done["document"]["travel"]
    assert record["provider"] == "matrix"
    assert record["tables"][0]["fingerprint"] == load_table(tmp_path / "roads.json").fingerprint
    routes = [r for r in done["document"]["routes"] if r["stops"]]
    assert routes
    for route in routes:
        first = route["stops"][0]
        # The first visit is reached after one road leg from the station.
        leave = int(route["leave"][:2]) * 60 + int(route["leave"][3:])
        arrival = int(first["arrival"][:2]) * 60 + int(first["arrival"][3:])
        assert arrival - leave == LEG
    published = client.post(f"/api/v1/plans/{done['id']}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text

    monday = doc["week_start"]
    asked = client.post(
        "/api/v1/work-orders",
        json={
            "date": monday,
            "now": "08:00",
            "service": "welfare_visit",
            "household": "H4",
            "window": {"from": "08:00", "to": "12:00"},
            "minutes": 30,
        },
        headers=ADMIN,
    )
    assert asked.status_code == 201, asked.text
    options = asked.json()["options"]
    assert options
    for option in options:
        assert option["minutes_to_arrive"] >= LEG
        # Into an empty route: there and back; between two places: one leg more than before;
        # beside a visit at the same home: nothing more.
        assert option["added_travel"] in (0, LEG, 2 * LEG)
    assert any(o["added_travel"] > 0 for o in options)


def test_a_request_body_cannot_name_a_road_provider(
    road_client: TestClient, tmp_path: Path
) -> None:
    body = {"scenario": _matrix_scenario(tmp_path), "solver": "greedy"}
    response = road_client.post("/api/v1/plans", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    fields = [f["path"] for f in response.json()["error"]["fields"]]
    assert "body.scenario.travel.provider" in fields


def test_a_road_server_that_does_not_answer_is_a_503_naming_it(road_client: TestClient) -> None:
    with FakeRouter() as server:
        url = server.url  # closed when the block ends: nothing listens there any more
    doc = week_scenario_doc()
    before = road_client.post("/api/v1/scenario", json=doc, headers=ADMIN)
    assert before.status_code == 200
    doc["travel"] = {"provider": "osrm", "url": url, "timeout": 1}
    # The scenario's import does not need its minutes; the first request that does says the
    # server failed, and names it.
    assert road_client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    response = road_client.post(
        "/api/v1/plans/check", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN
    )
    assert response.status_code == 503, response.text
    assert url.split("//")[1] in response.text
    assert "road travel times unavailable" in response.json()["error"]["message"]
    stored = road_client.get("/api/v1/scenario", headers=ADMIN).json()
    assert stored["travel"]["provider"] == "osrm"
    assert len(stored["households"]) == len(doc["households"])


def test_a_what_if_with_new_households_plans_on_the_roads_and_the_model_beside(
    road_client: TestClient, tmp_path: Path
) -> None:
    _stored(road_client, tmp_path)
    done = _finished(road_client, {"solver": "greedy", "modifications": {"scale_demand": 2.0}})
    visited = {s["household"] for r in done["document"]["routes"] for s in r["stops"]}
    assert any("-x" in h for h in visited), visited  # the copies were planned
    [table] = done["document"]["travel"]["tables"]
    assert table["fingerprint"] != load_table(tmp_path / "roads.json").fingerprint
    assert Path(table["path"]).is_relative_to(tmp_path / "cache")  # the service's setting
    extended = load_table(table["path"])
    assert "places by the straight-line model" in extended.provider
