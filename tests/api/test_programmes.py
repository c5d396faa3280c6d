"""The locality's programme tables in the store and the desks' phone visits: a bad document is
refused naming every bad field and changes nothing; a stored one is what the ledger, the
settlement and the circle use; a phone visit counts in the ledger. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token


def _default(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/v1/locality", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_bad_document_names_every_field_and_changes_nothing(
    client: TestClient, published: dict[str, Any]
) -> None:
    before = _default(client)
    assert [c["id"] for c in before["visiting"]["classes"]] == ["high_risk", "key", "other"]
    bad = {**before, "visiting": {**before["visiting"]}, "prices": {**before["prices"]}}
    bad["visiting"]["classes"] = [
        {**before["visiting"]["classes"][0], "tags_any": ["livng_alone"]},
        *before["visiting"]["classes"][1:],
    ]
    bad["prices"]["cleaning"] = {"per": "hour", "yuan": -30}
    bad["circle"] = {"minutes": 15, "streets": {"S9": "某街道"}}
    planner = new_token(client, "planner")
    answer = client.put("/api/v1/locality", json=bad, headers=planner)
    assert answer.status_code == 422, answer.text
    paths = {f["path"] for f in answer.json()["error"]["fields"]}
    assert {
        "body.visiting.classes[0].tags_any[0]",
        "body.prices.cleaning.yuan",
        "body.circle.streets.S9",
    } <= paths
    assert _default(client) == before
    dispatcher = new_token(client, "dispatcher")
    assert client.put("/api/v1/locality", json=before, headers=dispatcher).status_code == 403


def test_the_stored_tables_are_the_ones_used(client: TestClient, published: dict[str, Any]) -> None:
    doc = _default(client)
    doc["name"] = "兴庆区"
    doc["circle"] = {"minutes": 1, "streets": {"S1": "丽景街道"}}
    doc["prices"]["welfare_visit"] = {"per": "visit", "yuan": 12}
    planner = new_token(client, "planner")
    answer = client.put("/api/v1/locality", json=doc, headers=planner)
    assert answer.status_code == 200, answer.text
    assert _default(client)["name"] == "兴庆区"
    ledger = client.get(f"/api/v1/visits?on={published['date']}", headers=ADMIN).json()
    assert set(ledger["month_rate"]["streets"]) == {"丽景街道"}
    circle = client.get(f"/api/v1/circle?date={published['date']}", headers=ADMIN).json()
    assert circle["minutes"] == 1 and [s["area"] for s in circle["streets"]] == ["丽景街道"]
    month = published["date"][:7]
    settled = client.get(f"/api/v1/settlement?month={month}", headers=ADMIN).json()
    visit = [line for line in settled["lines"] if line["service"] == "welfare_visit"]
    assert visit and all(line["planned_fen"] == 1200 for line in visit)


def test_a_phone_visit_counts_in_the_ledger(client: TestClient, published: dict[str, Any]) -> None:
    day = published["date"]
    dispatcher = new_token(client, "dispatcher")
    body = {"household": "H1", "date": day, "desk": "丽景站", "note": "身体好"}
    answer = client.post("/api/v1/visits/phone", json=body, headers=dispatcher)
    assert answer.status_code == 201, answer.text
    rows = {
        r["household"]: r
        for r in client.get(f"/api/v1/visits?on={day}", headers=ADMIN).json()["households"]
    }
    assert (rows["H1"]["last_visit"], rows["H1"]["by"]) == (day, "phone:丽景站")
    unknown = {**body, "household": "H99"}
    answer = client.post("/api/v1/visits/phone", json=unknown, headers=dispatcher)
    assert answer.status_code == 422
    assert [f["path"] for f in answer.json()["error"]["fields"]] == ["body.household"]
    caregiver = new_token(client, "caregiver", "C1")
    assert client.post("/api/v1/visits/phone", json=body, headers=caregiver).status_code == 403


def test_a_household_without_requests_gets_its_levels_package(client: TestClient) -> None:
    from tests.api.conftest import week_scenario_doc

    doc = week_scenario_doc()
    lone = {**doc["households"][0], "id": "H9", "requests": [], "assessment_level": 3}
    lone.pop("preferred_caregivers", None)
    doc["households"].append(lone)
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    stored = client.get("/api/v1/master", headers=ADMIN).json()
    h9 = next(h for h in stored["households"] if h["id"] == "H9")
    # The bundled package for level 3: personal care, 5 hour-long visits a week.
    assert [(r["service"], r["visits_per_week"], r["minutes"]) for r in h9["requests"]] == [
        ("personal_care", 5, 60)
    ]
    tables = _default(client)
    del tables["packages"]["3"]
    assert client.put("/api/v1/locality", json=tables, headers=ADMIN).status_code == 200
    doc["households"][-1] = {**lone, "id": "H10"}
    answer = client.post("/api/v1/scenario", json=doc, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    fields = answer.json()["error"]["fields"]
    assert [f["path"] for f in fields] == [
        f"body.households[{len(doc['households']) - 1}].requests"
    ]
    assert "packages.3" in fields[0]["message"]


def _job(client: TestClient, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/plans", json=body, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    plan_id = answer.json()["id"]
    client.app.state.jobs.wait(plan_id)  # type: ignore[attr-defined]
    done: dict[str, Any] = client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()
    assert done["status"] == "done", done
    return done


def test_a_plan_job_schedules_the_visits_due_and_publishing_keeps_them(
    client: TestClient,
) -> None:
    from tests.api.conftest import week_scenario_doc

    doc = week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    monday = doc["week_start"]
    wanted = f"H1-visit-{monday.replace('-', '')}"
    # Without the programme nobody visits H1 (living alone, disabled, level 3: weekly).
    plain = _job(client, solver="greedy")
    assert wanted not in {s["request"] for r in plain["document"]["routes"] for s in r["stops"]}
    done = _job(client, solver="greedy", visiting=True)
    stops = [(r, s) for r in done["document"]["routes"] for s in r["stops"]]
    visit = [(r, s) for r, s in stops if s["request"] == wanted]
    assert len(visit) == 1, [s["request"] for _, s in stops]
    # H2's standing welfare visit already counts: no second one.
    assert not any(s["request"].startswith("H2-visit-") for _, s in stops)
    assert client.post(f"/api/v1/plans/{done['id']}/publish", headers=ADMIN).status_code == 200
    route, _stop = visit[0]
    from datetime import date, timedelta

    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    day = date.fromisoformat(monday) + timedelta(days=days.index(route["day"]))
    rows = {
        r["household"]: r
        for r in client.get(f"/api/v1/visits?on={day + timedelta(days=1)}", headers=ADMIN).json()[
            "households"
        ]
    }
    assert (rows["H1"]["last_visit"], rows["H1"]["by"]) == (str(day), route["caregiver"])
    # The visit is a request of its week in the master data now: a new job of the week plans
    # it as such, without adding another, and publishes.
    again = _job(client, solver="greedy", visiting=True)
    ids = [s["request"] for r in again["document"]["routes"] for s in r["stops"]]
    assert ids.count(wanted) == 1
    assert client.post(f"/api/v1/plans/{again['id']}/publish", headers=ADMIN).status_code == 200


def test_a_plan_job_books_nothing_beyond_the_entitlement(client: TestClient) -> None:
    from tests.api.conftest import week_scenario_doc

    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    tables = _default(client)
    # One yuan a month for every assessed household, no top-up: none of their visits fits
    # (the cheapest costs 10 yuan). H1, H3 and H5 are assessed; H2 and H4 are not (no scheme:
    # their visits are not the programme's to cut).
    tables["entitlements"] = {
        "tiny": {"yuan_per_month": 1, "levels": [0, 1, 2, 3, 4], "tags": [], "top_up": False}
    }
    assert client.put("/api/v1/locality", json=tables, headers=ADMIN).status_code == 200

    def households(plan: dict[str, Any]) -> set[str]:
        return {s["household"] for r in plan["document"]["routes"] for s in r["stops"]}

    free = _job(client, solver="greedy")
    bound = _job(client, solver="greedy", entitlements=True)
    assert households(free) & {"H1", "H3", "H5"}
    assert households(bound) == households(free) - {"H1", "H3", "H5"}
    cut = {
        u["household"] for u in bound["document"]["unassigned"] if u["reason"] == "over_entitlement"
    }
    assert cut == households(free) & {"H1", "H3", "H5"}
    missing = sum(
        u["missing_visits"]
        for u in bound["document"]["unassigned"]
        if u["reason"] == "over_entitlement"
    )
    assert f"{missing} visit(s) left unassigned, 0 kept as family top-ups" in bound["message"]
    # With a top-up allowed the visits stay, and the families' share is said.
    tables["entitlements"]["tiny"]["top_up"] = True
    assert client.put("/api/v1/locality", json=tables, headers=ADMIN).status_code == 200
    topped = _job(client, solver="greedy", entitlements=True)
    assert households(topped) == households(free)
    assert f"0 visit(s) left unassigned, {missing} kept as family top-ups" in topped["message"]
