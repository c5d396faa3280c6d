"""The caregiver app: assignments of the published plan, role boundaries, the lifecycle,
idempotent check-ins, geofence and short-visit flags.

Checks are recorded at the app's clock: :func:`check` sets a fixed clock to the time it gives
as the phone's, so both agree unless a test says otherwise.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.clock import FixedClock
from api.settings import Settings
from tests.api.conftest import ADMIN, new_token, other_day_code, plan_doc, today_code

# 600 m north of H1 (38.4901, 106.2288): 0.0054 degrees of latitude.
FAR = {"lat": 38.4955, "lon": 106.2288}
AT_H1 = {"lat": 38.4901, "lon": 106.2288}


def at(hhmm: str, day: date | None = None) -> str:
    """``hhmm`` today (or on ``day``) in the service's zone, ISO 8601 with its offset."""
    day = day or datetime.now(Settings().zone).date()
    return f"{day.isoformat()}T{hhmm}:00+08:00"


def set_clock(client: TestClient, when: str) -> None:
    """The app's clock shows ``when`` (ISO 8601) from now on."""
    moment = datetime.fromisoformat(when)
    clock = getattr(client.app.state, "clock", None)  # type: ignore[attr-defined]
    if isinstance(clock, FixedClock):
        clock.set(moment)
    else:
        client.app.state.clock = FixedClock(moment)  # type: ignore[attr-defined]


def act(client: TestClient, order: int, action: str, headers: dict[str, str], **body: Any):
    return client.post(f"/api/v1/work-orders/{order}/{action}", json=body or None, headers=headers)


def check(
    client: TestClient,
    order: int,
    action: str,
    key: str,
    time: str,
    *,
    server: str | None = None,
    **place: Any,
):
    """Check in or out with the phone's ``time``; the server's clock shows ``server``
    (default: the same time)."""
    set_clock(client, server or time)
    body = {**AT_H1, **place, "time": time, "idempotency_key": key}
    return client.post(f"/api/v1/work-orders/{order}/{action}", json=body, headers=ADMIN)


def test_assignments_in_visiting_order_with_what_the_caregiver_needs(
    client: TestClient, published: dict[str, Any]
) -> None:
    c1 = new_token(client, "caregiver", "C1")
    response = client.get(f"/api/v1/caregivers/C1/assignments?date={published['date']}", headers=c1)
    assert response.status_code == 200
    visits = response.json()
    assert [v["request"] for v in visits] == ["H1-clean", "H2-visit"]
    first = visits[0]
    assert (first["sequence"], first["status"], first["service"]) == (1, "dispatched", "cleaning")
    assert first["household"]["address"] == "丽景街道 3-2-101"
    assert first["window"] == {"from": "08:30", "to": "11:00"}
    assert (first["arrival"], first["start"], first["end"], first["minutes"]) == (
        "08:52",
        "09:00",
        "10:30",
        90,
    )
    assert first["notes"] == "钥匙在门卫"
    # Today's own visit: the caregiver may call ahead, so the phone is shown in full.
    assert first["household"]["phone"] == "13812345678"
    assert "id_number" not in first["household"] or first["household"]["id_number"] is None


def test_week_range_and_masking_on_other_days(
    client: TestClient, published: dict[str, Any]
) -> None:
    # A planner sees phones masked even on today's visits.
    planner = new_token(client, "planner")
    visits = client.get(
        f"/api/v1/caregivers/C1/assignments?date={published['date']}", headers=planner
    ).json()
    assert visits[0]["household"]["phone"] == "138****5678"
    c1 = new_token(client, "caregiver", "C1")
    empty = client.get(
        "/api/v1/caregivers/C1/assignments?from=2000-01-01&to=2000-01-31", headers=c1
    )
    assert empty.json() == []
    monday = date.fromisoformat(
        client.get(f"/api/v1/plans/{published['plan']}", headers=ADMIN).json()["week_start"]
    )
    week = f"from={monday}&to={monday + timedelta(days=6)}"
    c2 = new_token(client, "caregiver", "C2")
    c2_week = client.get(f"/api/v1/caregivers/C2/assignments?{week}", headers=c2).json()
    assert [(v["request"], v["day"]) for v in c2_week] == [("H4-walk", other_day_code())]
    # Move H1's visit to another day: the caregiver then sees the phone masked.
    doc = plan_doc(c1_day=other_day_code(), c2_day=other_day_code())
    plan = client.post("/api/v1/plans", json=doc, headers=ADMIN).json()
    client.post(f"/api/v1/plans/{plan['id']}/publish", headers=ADMIN)
    c1_week = client.get(f"/api/v1/caregivers/C1/assignments?{week}", headers=c1).json()
    assert c1_week[0]["request"] == "H1-clean"
    assert c1_week[0]["household"]["phone"] == "138****5678"


def test_caregiver_cannot_read_another_caregivers_assignments(
    client: TestClient, published: dict[str, Any]
) -> None:
    c2 = new_token(client, "caregiver", "C2")
    response = client.get(f"/api/v1/caregivers/C1/assignments?date={published['date']}", headers=c2)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    order = published["orders"][0]
    assert client.get(f"/api/v1/work-orders/{order}", headers=c2).status_code == 403


def test_caregiver_cannot_act_on_another_caregivers_order(
    client: TestClient, published: dict[str, Any]
) -> None:
    c2 = new_token(client, "caregiver", "C2")
    order = published["orders"][0]
    assert act(client, order, "accept", c2).status_code == 403
    assert act(client, order, "refuse", c2, reason="busy").status_code == 403
    body = {**AT_H1, "idempotency_key": "k"}
    response = client.post(f"/api/v1/work-orders/{order}/check-in", json=body, headers=c2)
    assert response.status_code == 403
    # Nothing changed.
    assert (
        client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["status"] == "dispatched"
    )


def test_planner_cannot_act_and_caregiver_cannot_review(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    assert act(client, order, "accept", new_token(client, "planner")).status_code == 403
    assert act(client, order, "review", new_token(client, "caregiver", "C1")).status_code == 403


def test_full_lifecycle_by_the_caregiver(client: TestClient, published: dict[str, Any]) -> None:
    c1 = new_token(client, "caregiver", "C1")
    order = published["orders"][0]
    assert act(client, order, "accept", c1).json()["status"] == "accepted"
    set_clock(client, at("09:00"))
    body = {**AT_H1, "time": at("09:00"), "idempotency_key": "in-1"}
    assert (
        client.post(f"/api/v1/work-orders/{order}/check-in", json=body, headers=c1).json()["status"]
        == "checked_in"
    )
    set_clock(client, at("10:30"))
    body = {**AT_H1, "time": at("10:30"), "idempotency_key": "out-1"}
    out = client.post(f"/api/v1/work-orders/{order}/check-out", json=body, headers=c1).json()
    assert (out["status"], out["flags"], out["review_needed"]) == ("checked_out", [], False)
    assert act(client, order, "review", ADMIN).json()["status"] == "reviewed"
    assert act(client, order, "settle", ADMIN).json()["status"] == "settled"


def _accept(client: TestClient, order: int) -> None:
    assert act(client, order, "accept", ADMIN).status_code == 200


def _check_in(client: TestClient, order: int) -> None:
    _accept(client, order)
    assert check(client, order, "check-in", "pre-in", at("09:00")).status_code == 200


def _check_out(client: TestClient, order: int) -> None:
    _check_in(client, order)
    assert check(client, order, "check-out", "pre-out", at("10:30")).status_code == 200


def _refuse(client: TestClient, order: int) -> None:
    assert act(client, order, "refuse", ADMIN, reason="sick").status_code == 200


ILLEGAL = [
    ("check-in before accepting", None, "check-in"),
    ("check-out before check-in", _accept, "check-out"),
    ("accepting twice", _accept, "accept"),
    ("accepting a refused order", _refuse, "accept"),
    ("checking in a refused order", _refuse, "check-in"),
    ("refusing after check-in", _check_in, "refuse"),
    ("checking in twice with a new key", _check_in, "check-in"),
    ("review before check-out", _check_in, "review"),
    ("settle before review", _check_out, "settle"),
    ("check-in after check-out", _check_out, "check-in"),
]


@pytest.mark.parametrize(("name", "prepare", "action"), ILLEGAL, ids=[i[0] for i in ILLEGAL])
def test_illegal_transition_is_409(
    client: TestClient, published: dict[str, Any], name: str, prepare: Any, action: str
) -> None:
    order = published["orders"][0]
    if prepare is not None:
        prepare(client, order)
    before = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["status"]
    if action in ("check-in", "check-out"):
        response = check(client, order, action, f"new-{action}", at("11:00"))
    elif action == "refuse":
        response = act(client, order, action, ADMIN, reason="x")
    else:
        response = act(client, order, action, ADMIN)
    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    assert f"work order {order} is {before}: cannot" in message
    assert "不能" in message
    assert client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["status"] == before


def test_check_in_is_idempotent(client: TestClient, published: dict[str, Any]) -> None:
    order = published["orders"][0]
    _accept(client, order)
    first = check(client, order, "check-in", "retry-me", at("09:00"), **FAR)
    again = check(client, order, "check-in", "retry-me", at("09:05"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    stored = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert stored["flags"] == ["check_in_outside_geofence"]
    day = datetime.now(Settings().zone).date().isoformat()
    assert stored["checked_in_at"].startswith(f"{day}T01:00:00")
    # The key belongs to that check-in: used for a check-out it is refused.
    reused = check(client, order, "check-out", "retry-me", at("10:30"))
    assert reused.status_code == 409


def test_check_in_outside_the_geofence_is_accepted_but_flagged(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    _accept(client, order)
    response = check(client, order, "check-in", "far", at("09:00"), **FAR)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "checked_in"
    assert answer["flags"] == ["check_in_outside_geofence"]
    assert 550 < answer["distance_m"] < 650
    assert answer["review_needed"] is True


def test_check_in_inside_the_geofence_is_not_flagged(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    _accept(client, order)
    # 100 m north: inside the default 200 m.
    near = check(client, order, "check-in", "near", at("09:00"), lat=38.4910)
    assert near.json()["flags"] == []


def test_short_visit_is_flagged_at_check_out(client: TestClient, published: dict[str, Any]) -> None:
    order = published["orders"][0]  # 90 planned minutes: under 45 is short
    _check_in(client, order)
    out = check(client, order, "check-out", "short", at("09:20"), **FAR)
    assert out.status_code == 200
    assert out.json()["flags"] == ["check_out_outside_geofence", "short_visit"]
    stored = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert stored["flags"] == ["check_out_outside_geofence", "short_visit"]


def test_check_out_before_check_in_time_is_422(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    _check_in(client, order)
    response = check(client, order, "check-out", "early", at("08:00"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.time"
    assert (
        client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["status"] == "checked_in"
    )


def test_new_plan_replaces_assignments_only_when_published(
    client: TestClient, published: dict[str, Any]
) -> None:
    url = f"/api/v1/caregivers/C1/assignments?date={published['date']}"
    doc = plan_doc(c1_day=today_code(), c2_day=other_day_code())
    doc["routes"][0]["stops"] = doc["routes"][0]["stops"][1:]  # only H2 this time
    doc["unassigned"].append(
        {"request": "H1-clean", "household": "H1", "missing_visits": 1, "reason": "solver_limit"}
    )
    second = client.post("/api/v1/plans", json=doc, headers=ADMIN).json()
    assert second["status"] == "done" and second["version"] == 2
    assert [v["request"] for v in client.get(url, headers=ADMIN).json()] == ["H1-clean", "H2-visit"]
    assert client.post(f"/api/v1/plans/{second['id']}/publish", headers=ADMIN).status_code == 200
    assert [v["request"] for v in client.get(url, headers=ADMIN).json()] == ["H2-visit"]
    old = client.get(f"/api/v1/work-orders/{published['orders'][0]}", headers=ADMIN).json()
    assert old["status"] == "cancelled"
    statuses = {p["id"]: p["status"] for p in client.get("/api/v1/plans", headers=ADMIN).json()}
    assert statuses == {published["plan"]: "done", second["id"]: "published"}
    again = client.post(f"/api/v1/plans/{second['id']}/publish", headers=ADMIN)
    assert again.status_code == 409


def test_plan_naming_unknown_ids_is_422(client: TestClient, published: dict[str, Any]) -> None:
    doc = plan_doc(c1_day=today_code(), c2_day=other_day_code())
    doc["routes"][1]["caregiver"] = "C9"
    doc["routes"][0]["stops"][0]["request"] = "H1-nothing"
    response = client.post("/api/v1/plans", json=doc, headers=ADMIN)
    assert response.status_code == 422
    paths = {f["path"] for f in response.json()["error"]["fields"]}
    assert paths == {"body.routes[1].caregiver", "body.routes[0].stops[0].request"}


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("", "query.date"),
        ("?from=2026-11-23", "query.to"),
        ("?from=2026-11-30&to=2026-11-23", "query.to"),
        ("?from=2026-01-01&to=2026-12-31", "query.to"),
        ("?date=2026-11-23&from=2026-11-23", "query.date"),
        ("?date=monday", "query.date"),
    ],
)
def test_bad_assignment_queries_are_422(
    client: TestClient, published: dict[str, Any], query: str, path: str
) -> None:
    response = client.get(f"/api/v1/caregivers/C1/assignments{query}", headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == path


def test_unknown_work_order_is_404(client: TestClient, published: dict[str, Any]) -> None:
    assert act(client, 999999, "accept", ADMIN).status_code == 404
