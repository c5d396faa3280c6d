"""Absences on the live day (请假), on the tiny scenario's Monday of the current week.

The published plan is the greedy one (checker-clean). Monday: C1 (e-bike) visits H2
(welfare visit 09:00–09:30) then cleans H1 (09:35–11:05); C2 (walks, 08:00–12:00, the only
other caregiver with welfare visits) walks with H4 (09:00–10:00, window 09:00–11:00) and
brings H2's meal (10:30–10:40, window 10:30–12:00); C3 (car) does H5's rehab (09:00–09:45)
and nurses H3 (09:49–10:34, window 09:00–11:00). Only C1 cleans.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.models import WorkOrder
from api.services.absence import absence_now
from api.services.errors import InputError
from api.settings import Settings
from dispatch.greedy import plan_greedy
from dispatch.plan_io import plan_to_dict
from dispatch.reasons import Reason
from dispatch.scenario_io import parse_scenario
from tests.api.conftest import ADMIN, this_monday, week_scenario_doc
from tests.api.test_hotline import _check_published
from tests.api.test_work_orders import at, set_clock

MONDAY = this_monday().isoformat()
STARTED = ("checked_in", "checked_out")


def _publish(client: TestClient, doc: dict[str, Any]) -> None:
    """Store ``doc`` and publish its greedy plan."""
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    plan = plan_to_dict(plan_greedy(parse_scenario(doc).scenario))
    stored = client.post("/api/v1/plans", json=plan, headers=ADMIN)
    assert stored.status_code == 201, stored.text
    published = client.post(f"/api/v1/plans/{stored.json()['id']}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text


def _orders(client: TestClient) -> dict[str, dict[str, Any]]:
    """Monday's live orders of every caregiver by request."""
    out: dict[str, dict[str, Any]] = {}
    for c in ("C1", "C2", "C3"):
        for o in client.get(
            f"/api/v1/caregivers/{c}/assignments?date={MONDAY}", headers=ADMIN
        ).json():
            if o["status"] != "cancelled":
                out[o["request"]] = o
    return out


def _set_status(client: TestClient, order: int, status: str) -> None:
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        session.execute(update(WorkOrder).where(WorkOrder.id == order).values(status=status))
        session.commit()


def _stops(client: TestClient, plan_id: int) -> dict[str, tuple[str, str]]:
    """Monday's stops of a plan version: request → (caregiver, start)."""
    doc = client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()["document"]
    return {
        s["request"]: (r["caregiver"], s["start"])
        for r in doc["routes"]
        if r["day"] == "mon"
        for s in r["stops"]
    }


def absent(client: TestClient, caregiver: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/caregivers/{caregiver}/absence", json={"date": MONDAY, **body}, headers=ADMIN
    )


def test_an_absence_at_1030_keeps_started_visits_and_moves_nothing_before_it(
    client: TestClient,
) -> None:
    """C1 checked in at H2 at 09:00 and C3 finished H5's rehab; at 10:30 C1 falls ill. Both
    started visits stay as they were; C3 goes on from H5 when free at 10:30 (H3 at 10:34 or
    later), C2 leaves the station at 10:30 for H2's meal; the walk with H4 no longer fits
    C2's morning and H1's cleaning has nobody, both reported with a listed reason."""
    _publish(client, week_scenario_doc())
    before = _orders(client)
    _set_status(client, before["H2-visit"]["id"], "checked_in")
    _set_status(client, before["H5-rehab"]["id"], "checked_out")
    response = absent(client, "C1", now="10:30")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["now"] == "10:30"
    lost = {n["request"]: n["reason"] for n in body["not_kept"]}
    assert set(lost) == {"H1-clean", "H4-walk"}
    assert set(lost.values()) <= {r.value for r in Reason}
    after = _orders(client)
    for request in ("H2-visit", "H5-rehab"):
        assert (after[request]["caregiver"], after[request]["start"]) == (
            before[request]["caregiver"],
            before[request]["start"],
        )
    stops = _stops(client, body["plan_id"])
    assert stops["H2-visit"] == ("C1", "09:00") and stops["H5-rehab"] == ("C3", "09:00")
    moved = {r: s for r, s in stops.items() if r not in ("H2-visit", "H5-rehab")}
    assert moved and all(start >= "10:30" for _, start in moved.values()), moved
    assert stops["H3-nurse"][0] == "C3" and stops["H3-nurse"][1] >= "10:34"
    assert all(o["start"] >= "10:30" for o in after.values() if o["status"] not in STARTED), after
    assert _check_published(client) == []


def _h2_visit_at_nine(client: TestClient) -> dict[str, dict[str, Any]]:
    """The plan with H2's welfare visit to start 09:00–09:30 (C1 still does it at 09:00) and
    C2's walk with H4 accepted: for C2 to take H2's visit, the walk must move."""
    doc = week_scenario_doc()
    for h in doc["households"]:
        for r in h["requests"]:
            if r["id"] == "H2-visit":
                r["windows"] = [["09:00", "09:30"]]
    _publish(client, doc)
    orders = _orders(client)
    assert (orders["H2-visit"]["caregiver"], orders["H2-visit"]["start"]) == ("C1", "09:00")
    _set_status(client, orders["H4-walk"]["id"], "accepted")
    return orders


def test_a_colleagues_accepted_order_keeps_its_caregiver_and_start(client: TestClient) -> None:
    before = _h2_visit_at_nine(client)
    response = absent(client, "C1", now="08:00")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reassigned"] == []
    assert {n["request"] for n in body["not_kept"]} == {"H1-clean", "H2-visit"}
    walk = _orders(client)["H4-walk"]
    assert (walk["id"], walk["caregiver"], walk["start"], walk["status"]) == (
        before["H4-walk"]["id"],
        "C2",
        "09:00",
        "accepted",
    )
    assert _stops(client, body["plan_id"])["H4-walk"] == ("C2", "09:00")
    assert _check_published(client) == []


def test_with_allow_moving_accepted_the_accepted_order_may_move(client: TestClient) -> None:
    _h2_visit_at_nine(client)
    response = absent(client, "C1", now="08:00", allow_moving_accepted=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["request"], r["caregiver"]) for r in body["reassigned"]] == [("H2-visit", "C2")]
    assert {n["request"] for n in body["not_kept"]} == {"H1-clean"}
    stops = _stops(client, body["plan_id"])
    assert stops["H2-visit"][0] == "C2" and stops["H4-walk"] != ("C2", "09:00")
    assert _check_published(client) == []
    # The accepted walk moved: its caregiver accepted another time and is asked again.
    walk = _orders(client)["H4-walk"]
    assert (walk["caregiver"], walk["start"]) == stops["H4-walk"]
    assert walk["status"] == "dispatched"


def test_now_defaults_to_the_servers_clock_and_a_past_date_is_refused(
    client: TestClient,
) -> None:
    _publish(client, week_scenario_doc())
    set_clock(client, at("10:30", this_monday()))
    response = absent(client, "C1")
    assert response.status_code == 200, response.text
    assert response.json()["now"] == "10:30"
    assert _check_published(client) == []
    set_clock(client, at("10:30", this_monday() + timedelta(days=1)))
    refused = absent(client, "C2")
    assert refused.status_code == 422, refused.text
    assert "body.date" in refused.text
    assert "is in the past" in refused.text and "已过去" in refused.text


def test_the_time_of_an_absence() -> None:
    """Today: the clock's minute; a later date: the whole day; an earlier one needs ``now``."""
    moment = datetime(2026, 3, 4, 10, 30, tzinfo=Settings().zone)
    assert absence_now(date(2026, 3, 4), None, moment) == 630
    assert absence_now(date(2026, 3, 5), None, moment) == 0
    assert absence_now(date(2026, 3, 3), 600, moment) == 600
    with pytest.raises(InputError) as refused:
        absence_now(date(2026, 3, 3), None, moment)
    assert [f.path for f in refused.value.fields] == ["body.date"]
