"""Master data over time through the API: changes dated from a day (a caregiver leaves, a
household moves), what each week's plan is made from, validation naming the field, withdrawal
of a change not yet in force, and the registration of a household."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token, this_monday, week_scenario_doc
from tests.api.test_work_orders import set_clock

API = "/api/v1"
MONDAY = this_monday()
NEXT = MONDAY + timedelta(days=7)


def _store(client: TestClient) -> dict[str, Any]:
    doc = week_scenario_doc()
    assert client.post(f"{API}/scenario", json=doc, headers=ADMIN).status_code == 200
    set_clock(client, f"{MONDAY}T07:00:00+08:00")
    return doc


def _change(client: TestClient, **body: Any) -> Any:
    return client.post(f"{API}/master/changes", json=body, headers=ADMIN)


def _job(client: TestClient, week: Any) -> dict[str, Any]:
    job = client.post(
        f"{API}/plans", json={"week_start": str(week), "solver": "greedy"}, headers=ADMIN
    )
    assert job.status_code == 202, job.text
    client.app.state.jobs.wait(job.json()["id"])  # type: ignore[attr-defined]
    done = client.get(f"{API}/plans/{job.json()['id']}", headers=ADMIN).json()
    assert done["status"] == "done", done["message"]
    return done


def _ids(document: dict[str, Any], key: str) -> set[str]:
    return {x["id"] for x in document[key]}


def test_a_caregiver_who_leaves_next_week_is_planned_this_week_only(client: TestClient) -> None:
    _store(client)
    left = _change(
        client, kind="caregiver", id="C2", effective_from=str(NEXT), data=None, reason="辞职"
    )
    assert left.status_code == 201, left.text
    assert left.json()["entity"] == "C2" and left.json()["data"] is None
    this_week = client.get(f"{API}/master?on={MONDAY}", headers=ADMIN).json()
    next_week = client.get(f"{API}/master?on={NEXT}", headers=ADMIN).json()
    assert "C2" in _ids(this_week, "caregivers") and "C2" not in _ids(next_week, "caregivers")
    # The stored scenario as imported is unchanged; the change is listed.
    assert "C2" in _ids(client.get(f"{API}/scenario", headers=ADMIN).json(), "caregivers")
    listed = client.get(f"{API}/master/changes", headers=ADMIN).json()
    assert [(c["kind"], c["entity"], c["effective_from"]) for c in listed] == [
        ("caregiver", "C2", str(NEXT))
    ]
    first = _job(client, MONDAY)
    second = _job(client, NEXT)
    assert "C2" in {r["caregiver"] for r in first["document"]["routes"] if r["stops"]}
    assert "C2" not in {r["caregiver"] for r in second["document"]["routes"]}
    for plan in (first, second):
        assert client.post(f"{API}/plans/{plan['id']}/publish", headers=ADMIN).status_code == 200
    orders = client.get(
        f"{API}/work-orders?date_from={NEXT}&date_to={NEXT + timedelta(days=6)}&limit=500",
        headers=ADMIN,
    ).json()["items"]
    assert orders and "C2" not in {o["caregiver"] for o in orders}


def test_a_caregiver_who_leaves_midweek_works_only_the_days_before(client: TestClient) -> None:
    _store(client)
    wednesday = NEXT + timedelta(days=2)
    assert (
        _change(client, kind="caregiver", id="C1", effective_from=str(wednesday), data=None)
    ).status_code == 201
    plan = _job(client, NEXT)
    days = {r["day"] for r in plan["document"]["routes"] if r["caregiver"] == "C1"}
    assert days and days <= {"mon", "tue"}


def test_a_household_that_moves_is_visited_at_its_new_address_from_that_week(
    client: TestClient,
) -> None:
    doc = _store(client)
    h1 = next(h for h in doc["households"] if h["id"] == "H1")
    moved = {**h1, "address": "新家 8-8-808", "lat": h1["lat"] + 0.01, "lon": h1["lon"] + 0.01}
    response = _change(client, kind="household", id="H1", effective_from=str(NEXT), data=moved)
    assert response.status_code == 201, response.text
    for week in (MONDAY, NEXT):
        plan = _job(client, week)
        assert client.post(f"{API}/plans/{plan['id']}/publish", headers=ADMIN).status_code == 200
    for week, address in ((MONDAY, h1.get("address", "")), (NEXT, "新家 8-8-808")):
        orders = client.get(
            f"{API}/work-orders?date_from={week}&date_to={week + timedelta(days=6)}&limit=500",
            headers=ADMIN,
        ).json()["items"]
        mine = [o for o in orders if o["household"]["id"] == "H1"]
        assert mine and {o["household"]["address"] for o in mine} == {address}


def test_an_invalid_change_names_the_field_and_stores_nothing(client: TestClient) -> None:
    doc = _store(client)
    c1 = next(c for c in doc["caregivers"] if c["id"] == "C1")
    bad = _change(
        client, kind="caregiver", id="C1", effective_from=str(NEXT), data={**c1, "station": "S9"}
    )
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert any("station" in f["path"] for f in error["fields"]), error
    assert str(NEXT) in bad.text
    other_id = _change(
        client, kind="caregiver", id="C1", effective_from=str(NEXT), data={**c1, "id": "C7"}
    )
    assert other_id.status_code == 422
    assert other_id.json()["error"]["fields"][0]["path"] == "body.data.id"
    # A station still holding caregivers cannot close.
    closing = _change(client, kind="station", id="S1", effective_from=str(NEXT), data=None)
    assert closing.status_code == 422, closing.text
    assert client.get(f"{API}/master/changes", headers=ADMIN).json() == []


def test_a_change_not_in_force_yet_can_be_withdrawn(client: TestClient) -> None:
    _store(client)
    future = _change(client, kind="caregiver", id="C2", effective_from=str(NEXT), data=None)
    past = _change(client, kind="caregiver", id="C3", effective_from=str(MONDAY), data=None)
    assert future.status_code == past.status_code == 201
    assert (
        client.delete(f"{API}/master/changes/{past.json()['id']}", headers=ADMIN).status_code == 409
    )
    withdrawn = client.delete(f"{API}/master/changes/{future.json()['id']}", headers=ADMIN)
    assert withdrawn.status_code == 200
    assert "C2" in _ids(client.get(f"{API}/master?on={NEXT}", headers=ADMIN).json(), "caregivers")
    assert client.delete(f"{API}/master/changes/999", headers=ADMIN).status_code == 404
    # A new import is the whole master data again: its dated changes go with the old one.
    assert (
        client.post(f"{API}/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    assert client.get(f"{API}/master/changes", headers=ADMIN).json() == []


def test_registering_a_household(client: TestClient) -> None:
    _store(client)
    body = {
        "household": {
            "id": "H9",
            "name": "新住户",
            "lat": 38.49,
            "lon": 106.235,
            "requests": [
                {
                    "id": "H9-visit",
                    "service": "welfare_visit",
                    "minutes": 30,
                    "windows": [["09:00", "12:00"]],
                }
            ],
        },
        "effective_from": str(NEXT),
        "contact": {"phone": "13912345678", "id_number": "640104195001011234"},
    }
    registered = client.post(f"{API}/households", json=body, headers=ADMIN)
    assert registered.status_code == 201, registered.text
    assert "H9" in _ids(client.get(f"{API}/master?on={NEXT}", headers=ADMIN).json(), "households")
    assert "H9" not in _ids(
        client.get(f"{API}/master?on={MONDAY}", headers=ADMIN).json(), "households"
    )
    again = client.post(f"{API}/households", json=body, headers=ADMIN)
    assert again.status_code == 409
    known = client.post(
        f"{API}/households", json={**body, "household": {"id": "H1"}}, headers=ADMIN
    )
    assert known.status_code == 409
    planner = new_token(client, "planner")
    card = client.get(f"{API}/households/H9", headers=planner).json()
    assert card["name"] == "新住户" and card["phone"] == "139****5678"
    plan = _job(client, NEXT)
    served = {s["request"] for r in plan["document"]["routes"] for s in r["stops"]}
    missing = {u["request"] for u in plan["document"]["unassigned"]}
    assert "H9-visit" in served | missing
    assert "H9-visit" not in {
        s["request"] for r in _job(client, MONDAY)["document"]["routes"] for s in r["stops"]
    }
