"""Dispatching an order again (改派): refused, unanswered and late orders go to another caregiver
from ranked options, on a new published plan version the checker accepts.

The published plan, on the tiny scenario's Monday of the current week: C1 (08:00–17:00) visits
H1 (cleaning 09:00–10:30) then H2 (welfare visit 10:40–11:10, window 09:00–12:00); C2 (walks,
08:00–12:00, welfare visits among its skills) has nothing on Monday; C3 does no welfare visits.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.services.scenario import current_scenario
from dispatch.checker import check_plan
from dispatch.plan_io import parse_plan
from tests.api.conftest import ADMIN, new_token, plan_doc, this_monday, week_scenario_doc
from tests.api.test_hotline import _check_published, _publish_greedy
from tests.api.test_work_orders import act, at, check, set_clock

MONDAY = this_monday()
ORDERS = "/api/v1/work-orders"


@pytest.fixture
def monday(client: TestClient) -> dict[str, Any]:
    """The Monday plan published; C1's orders H1 and H2 by request id."""
    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    plan_id = stored.json()["id"]
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    set_clock(client, at("08:00", MONDAY))
    mine = client.get(f"/api/v1/caregivers/C1/assignments?date={MONDAY}", headers=ADMIN).json()
    return {"plan": plan_id, **{o["request"]: o["id"] for o in mine}}


def _violations(client: TestClient, plan_id: int) -> set[tuple[str, Any, Any, Any]]:
    doc = client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()["document"]
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        scenario = current_scenario(session)
    assert scenario is not None
    report = check_plan(scenario, parse_plan(doc))
    return {(v.rule, v.caregiver, v.day, v.request) for v in report.violations}


def _no_new_violations(client: TestClient, monday: dict[str, Any], plan_id: int) -> None:
    """The checker finds nothing in the new version, as in the published plan before it."""
    assert _violations(client, monday["plan"]) == set()
    assert _violations(client, plan_id) == set()


def _visits(client: TestClient, caregiver: str) -> list[tuple[str | None, str, str]]:
    orders = client.get(
        f"/api/v1/caregivers/{caregiver}/assignments?date={MONDAY}", headers=ADMIN
    ).json()
    return [(o["request"], o["start"], o["status"]) for o in orders]


def test_a_refused_order_is_dispatched_again_to_another_caregiver(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H2-visit"]
    c1 = new_token(client, "caregiver", "C1")
    assert act(client, order, "refuse", c1, reason="车坏了 / bike broken").status_code == 200
    asked = client.post(f"{ORDERS}/{order}/redispatch", json={"now": "08:00"}, headers=ADMIN)
    assert asked.status_code == 200, asked.text
    offer = asked.json()
    assert (offer["status"], offer["late"], offer["excluded"]) == ("refused", False, ["C1"])
    assert offer["ranked_by"] == "added_travel"
    assert offer["window"] == {"from": "09:00", "to": "12:00"}
    assert [o["caregiver"] for o in offer["options"]] == ["C2"]
    option = offer["options"][0]
    confirmed = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    fresh = body["work_order"]
    assert (fresh["status"], fresh["caregiver"], fresh["request"], fresh["replaces"]) == (
        "dispatched",
        "C2",
        "H2-visit",
        order,
    )
    assert (fresh["start"], fresh["window"]) == (option["start"], {"from": "09:00", "to": "12:00"})
    old = client.get(f"{ORDERS}/{order}", headers=ADMIN).json()
    assert (old["status"], old["refuse_reason"]) == ("cancelled", "车坏了 / bike broken")
    assert _visits(client, "C1") == [("H1-clean", "09:00", "dispatched")]
    assert _visits(client, "C2") == [("H2-visit", option["start"], "dispatched")]
    plans = {p["id"]: p for p in client.get("/api/v1/plans", headers=ADMIN).json()}
    assert plans[body["plan_id"]]["status"] == "published"
    assert plans[monday["plan"]]["status"] == "done"
    doc = client.get(f"/api/v1/plans/{body['plan_id']}", headers=ADMIN).json()["document"]
    routes = {(r["caregiver"], r["day"]): [s["request"] for s in r["stops"]] for r in doc["routes"]}
    assert routes[("C1", "mon")] == ["H1-clean"]
    assert routes[("C2", "mon")] == ["H2-visit"]
    _no_new_violations(client, monday, body["plan_id"])
    # The new caregiver accepts it like any order; the old one cannot be confirmed again.
    c2 = new_token(client, "caregiver", "C2")
    assert act(client, fresh["id"], "accept", c2).json()["status"] == "accepted"
    again = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert again.status_code == 409


def test_an_unanswered_order_can_be_dispatched_again(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H2-visit"]  # dispatched, never accepted
    offer = client.post(f"{ORDERS}/{order}/redispatch", json={"now": "09:00"}, headers=ADMIN)
    assert offer.status_code == 200, offer.text
    assert [o["caregiver"] for o in offer.json()["options"]] == ["C2"]
    confirmed = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
    assert _visits(client, "C1") == [("H1-clean", "09:00", "dispatched")]
    _no_new_violations(client, monday, confirmed.json()["plan_id"])


def test_a_late_order_shows_options_soonest_first(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H2-visit"]
    assert act(client, order, "accept", ADMIN).status_code == 200
    # Accepted and not late: it stays with its caregiver.
    set_clock(client, at("10:50", MONDAY))
    early = client.get(f"{ORDERS}/{order}/options", headers=ADMIN)
    assert early.status_code == 409
    set_clock(client, at("10:56", MONDAY))
    assert client.get(f"{ORDERS}/{order}", headers=ADMIN).json()["late"] is True
    response = client.get(f"{ORDERS}/{order}/options", headers=ADMIN)
    assert response.status_code == 200, response.text
    options = response.json()
    assert (options["late"], options["ranked_by"], options["now"]) == (True, "arrival", "10:56")
    assert [o["caregiver"] for o in options["options"]] == ["C2"]
    first = options["options"][0]
    assert first["eta"] >= "10:56" and first["minutes_to_arrive"] >= 0
    # Reading options stores nothing: a confirm needs them asked for with POST.
    unasked = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert unasked.status_code == 409
    assert client.post(f"{ORDERS}/{order}/redispatch", headers=ADMIN).status_code == 200
    confirmed = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["work_order"]["start"] >= "10:56"
    _no_new_violations(client, monday, confirmed.json()["plan_id"])


def test_orders_that_are_served_or_not_dispatched_cannot_be_dispatched_again(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H1-clean"]
    assert act(client, order, "accept", ADMIN).status_code == 200
    check(client, order, "check-in", "in", at("09:00", MONDAY))
    response = client.post(f"{ORDERS}/{order}/redispatch", headers=ADMIN)
    assert response.status_code == 409
    assert "改派" in response.json()["error"]["message"]
    assert client.post(f"{ORDERS}/999999/redispatch", headers=ADMIN).status_code == 404
    c1 = new_token(client, "caregiver", "C1")
    assert client.post(f"{ORDERS}/{monday['H2-visit']}/redispatch", headers=c1).status_code == 403


def test_a_wrong_option_is_422_and_a_changed_plan_409(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H2-visit"]
    assert act(client, order, "refuse", ADMIN, reason="sick").status_code == 200
    assert client.post(
        f"{ORDERS}/{order}/redispatch", json={"now": "08:00"}, headers=ADMIN
    ).is_success
    wrong = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C3", "option": 0}, headers=ADMIN
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"][0]["path"] == "body.option"
    bad = client.post(f"{ORDERS}/{order}/redispatch", json={"now": "25:00"}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.now"
    # A hotline booking publishes a new version meanwhile: the options are stale.
    call = client.post(
        ORDERS,
        json={
            "household": "H4",
            "service": "welfare_visit",
            "date": MONDAY.isoformat(),
            "now": "08:00",
            "window": {"from": "08:00", "to": "09:30"},
            "minutes": 30,
        },
        headers=ADMIN,
    ).json()
    booked = client.post(
        f"{ORDERS}/{call['work_order']}/confirm",
        json={"caregiver": call["options"][0]["caregiver"], "option": 0},
        headers=ADMIN,
    )
    assert booked.status_code == 200, booked.text
    stale = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert stale.status_code == 409
    assert "ask again" in stale.json()["error"]["message"]


def test_who_refused_before_is_left_out_again(client: TestClient, monday: dict[str, Any]) -> None:
    order = monday["H2-visit"]
    assert act(client, order, "refuse", ADMIN, reason="sick").status_code == 200
    client.post(f"{ORDERS}/{order}/redispatch", json={"now": "08:00"}, headers=ADMIN)
    fresh = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    ).json()["work_order"]["id"]
    assert act(client, fresh, "refuse", ADMIN, reason="too far").status_code == 200
    offer = client.post(f"{ORDERS}/{fresh}/redispatch", json={"now": "08:00"}, headers=ADMIN)
    assert offer.status_code == 200, offer.text
    assert offer.json()["excluded"] == ["C2", "C1"]
    assert offer.json()["options"] == []


def test_a_checker_clean_plan_stays_clean_when_an_order_is_dispatched_again(
    client: TestClient,
) -> None:
    _publish_greedy(client)
    assert _check_published(client) == []
    day = client.get(f"/api/v1/routes?date={MONDAY}", headers=ADMIN).json()
    moved = 0
    for orders in day.values():
        for order in orders:
            assert act(client, order["id"], "refuse", ADMIN, reason="sick").status_code == 200
            offer = client.post(
                f"{ORDERS}/{order['id']}/redispatch", json={"now": "07:00"}, headers=ADMIN
            ).json()
            if not offer["options"]:
                continue
            option = offer["options"][0]
            confirmed = client.post(
                f"{ORDERS}/{order['id']}/redispatch/confirm",
                json={"caregiver": option["caregiver"], "option": option["option"]},
                headers=ADMIN,
            )
            assert confirmed.status_code == 200, confirmed.text
            assert _check_published(client) == []
            moved += 1
    assert moved > 0


def test_a_dispatcher_may_ask_as_at_a_later_now_and_confirm_it(
    client: TestClient, monday: dict[str, Any]
) -> None:
    order = monday["H2-visit"]
    assert act(client, order, "accept", ADMIN).status_code == 200
    # The clock shows 08:00; the dispatcher looks at the day as at 10:56, when H2 is late.
    offer = client.post(f"{ORDERS}/{order}/redispatch", json={"now": "10:56"}, headers=ADMIN)
    assert offer.status_code == 200, offer.text
    assert (offer.json()["late"], offer.json()["ranked_by"]) == (True, "arrival")
    confirmed = client.post(
        f"{ORDERS}/{order}/redispatch/confirm", json={"caregiver": "C2", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
