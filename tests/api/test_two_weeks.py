"""Two weeks of a district's operations through the HTTP API, on SQLite and PostgreSQL.

A planner publishes week 1, then plans and publishes week 2 while week 1 runs; on week 1's
Tuesday the hotline books a one-off visit; on Wednesday at 10:30 a caregiver falls ill after
starting a visit; on Thursday a refused order is dispatched again; an uploaded plan with a
violation is refused. The master data never changes by the hotline call, a new caller becomes a
household only when registered, publishing week 2 leaves week 1 alone, and every version that
enters the store passes the checker against the master data of its week.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token
from tests.api.test_work_orders import set_clock

API = "/api/v1"
WEEK1 = date(2027, 1, 4)  # a Monday
WEEK2 = WEEK1 + timedelta(days=7)
TUESDAY, WEDNESDAY, THURSDAY = (WEEK1 + timedelta(days=d) for d in (1, 2, 3))
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]
SKILLS = ["cleaning", "welfare_visit", "walking", "meal_delivery", "personal_care"]


def _household(n: int, requests: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"H{n}",
        "name": f"住户{n}",
        "address": f"丽景街道 {n}-1-101",
        "lat": 38.4872 + 0.004 * ((n % 3) - 1) + 0.001 * n,
        "lon": 106.2309 + 0.004 * ((n % 4) - 1.5),
        "requests": requests,
        **extra,
    }


def _request(rid: str, service: str, minutes: int, window: list[str], **extra: Any) -> dict:
    return {
        "id": rid,
        "service": service,
        "skill": service,
        "minutes": minutes,
        "windows": [window],
        "visits_per_week": 1,
        **extra,
    }


def scenario() -> dict[str, Any]:
    """One station, three caregivers working Monday to Saturday, eight households; C3 is the
    preferred caregiver of the Wednesday visits of H5, H6 and H8 (09:00, 11:00, 13:00)."""
    shifts = {d: ["08:00", "17:00"] for d in DAYS}
    caregiver = {"station": "S1", "mode": "ebike", "skills": SKILLS, "shifts": shifts}
    households = [
        _household(
            1,
            [
                _request(
                    "H1-clean",
                    "cleaning",
                    90,
                    ["08:30", "16:00"],
                    visits_per_week=2,
                    min_gap_days=2,
                )
            ],
        ),
        _household(
            2,
            [
                _request(
                    "H2-visit",
                    "welfare_visit",
                    30,
                    ["09:00", "17:00"],
                    visits_per_week=2,
                    min_gap_days=2,
                )
            ],
        ),
        _household(3, [_request("H3-walk", "walking", 60, ["09:00", "11:00"])]),
        _household(
            4,
            [
                _request(
                    "H4-meal",
                    "meal_delivery",
                    20,
                    ["10:30", "12:30"],
                    visits_per_week=3,
                    min_gap_days=2,
                )
            ],
        ),
        _household(5, [_request("H5-care", "personal_care", 60, ["09:00", "10:00"], days=["wed"])]),
        _household(
            6, [_request("H6-visit", "welfare_visit", 30, ["11:00", "12:00"], days=["wed"])]
        ),
        _household(7, [_request("H7-clean", "cleaning", 60, ["14:00", "16:00"])]),
        _household(8, [_request("H8-care", "personal_care", 45, ["13:00", "15:00"], days=["wed"])]),
    ]
    for h in households:
        if any(r.get("days") == ["wed"] for r in h["requests"]):
            h["preferred_caregivers"] = ["C3"]
    return {
        "format": 1,
        "name": "丽景街道 two weeks",
        "week_start": WEEK1.isoformat(),
        "days": DAYS,
        "stations": [{"id": "S1", "name": "丽景街道站", "lat": 38.4872, "lon": 106.2309}],
        "caregivers": [
            {"id": "C1", "name": "王芳", "gender": "F", **caregiver},
            {"id": "C2", "name": "李娜", "gender": "F", **caregiver},
            {"id": "C3", "name": "张伟", "gender": "M", **caregiver},
        ],
        "households": households,
    }


def _job(client: TestClient, week: date) -> dict[str, Any]:
    """A finished one-week plan of the stored master data for the week of ``week``."""
    job = client.post(
        f"{API}/plans",
        json={"week_start": week.isoformat(), "time_limit": 3, "seed": 1},
        headers=ADMIN,
    )
    assert job.status_code == 202, job.text
    plan_id = job.json()["id"]
    client.app.state.jobs.wait(plan_id)  # type: ignore[attr-defined]
    done = client.get(f"{API}/plans/{plan_id}", headers=ADMIN).json()
    assert done["status"] == "done", done["message"]
    assert done["week_start"] == week.isoformat()
    return done


def _orders(client: TestClient, first: date, last: date) -> list[dict[str, Any]]:
    page = client.get(
        f"{API}/work-orders?date_from={first}&date_to={last}&limit=500", headers=ADMIN
    ).json()
    return sorted(page["items"], key=lambda o: o["id"])


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _snapshot(orders: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(o["id"], o["status"], o["plan_id"], o["caregiver"], o["start"]) for o in orders]


def _in_force(client: TestClient) -> dict[str, int]:
    weeks = client.get(f"{API}/plans/in-force?from={WEEK1}&weeks=2", headers=ADMIN).json()
    return {w["week_start"]: w["plan_id"] for w in weeks}


def _clean(client: TestClient, plan_id: int) -> None:
    """The plan version passes the checker against the stored master data of its week(s)."""
    row = client.get(f"{API}/plans/{plan_id}", headers=ADMIN).json()
    checked = client.post(
        f"{API}/plans/check?week_start={row['week_start']}", json=row["document"], headers=ADMIN
    ).json()
    assert checked["ok"], checked["violations"]


def _requests_of(document: dict[str, Any]) -> set[str]:
    return {r["id"] for h in document["households"] for r in h["requests"]}


def test_two_weeks_of_operations(client: TestClient) -> None:
    assert client.post(f"{API}/scenario", json=scenario(), headers=ADMIN).status_code == 200
    master_before = client.get(f"{API}/scenario", headers=ADMIN).json()

    # Week 1 planned and published.
    week1 = _job(client, WEEK1)
    assert client.post(f"{API}/plans/{week1['id']}/publish", headers=ADMIN).status_code == 200
    _clean(client, week1["id"])
    week1_orders = _orders(client, WEEK1, WEEK1 + timedelta(days=6))
    assert week1_orders and all(o["status"] == "dispatched" for o in week1_orders)

    # Week 1 runs (its Monday morning); week 2 is planned and published meanwhile, without
    # touching a single order of week 1.
    set_clock(client, f"{WEEK1}T08:00:00+08:00")
    week2 = _job(client, WEEK2)
    assert client.post(f"{API}/plans/{week2['id']}/publish", headers=ADMIN).status_code == 200
    assert _snapshot(_orders(client, WEEK1, WEEK1 + timedelta(days=6))) == _snapshot(week1_orders)
    assert _orders(client, WEEK2, WEEK2 + timedelta(days=6))
    assert _in_force(client) == {WEEK1.isoformat(): week1["id"], WEEK2.isoformat(): week2["id"]}
    plans = {p["id"]: p["status"] for p in client.get(f"{API}/plans", headers=ADMIN).json()}
    assert plans[week1["id"]] == plans[week2["id"]] == "published"

    # Tuesday: a hotline call of household H3 books a one-off welfare visit.
    set_clock(client, f"{TUESDAY}T08:00:00+08:00")
    call = client.post(
        f"{API}/work-orders",
        json={"date": str(TUESDAY), "now": "08:00", "service": "welfare_visit", "household": "H3"},
        headers=ADMIN,
    )
    assert call.status_code == 201, call.text
    answer = call.json()
    option = answer["options"][0]
    booked = client.post(
        f"{API}/work-orders/{answer['work_order']}/confirm",
        json={"caregiver": option["caregiver"], "option": option["option"]},
        headers=ADMIN,
    )
    assert booked.status_code == 200, booked.text
    version = booked.json()["plan_id"]
    _clean(client, version)
    assert _in_force(client) == {WEEK1.isoformat(): version, WEEK2.isoformat(): week2["id"]}
    hotline_request = booked.json()["work_order"]["request"]
    # The master data is unchanged; the one-off visit lives on its date only.
    assert client.get(f"{API}/scenario", headers=ADMIN).json() == master_before
    for day in (TUESDAY, WEEK2 + timedelta(days=1)):
        on = client.get(f"{API}/master?on={day}", headers=ADMIN).json()
        assert hotline_request not in _requests_of(on)
        assert _requests_of(on) == _requests_of(master_before)
    week2_doc = client.get(f"{API}/plans/{week2['id']}", headers=ADMIN).json()["document"]
    assert hotline_request not in {s["request"] for r in week2_doc["routes"] for s in r["stops"]}

    # A new caller on Thursday is served as the order's caller, not as a household, until a
    # dispatcher registers them from week 2 on.
    caller = client.post(
        f"{API}/work-orders",
        json={
            "date": str(THURSDAY),
            "now": "08:00",
            "service": "welfare_visit",
            "caller": {
                "name": "赵大爷",
                "address": "丽景街道 9-9-909",
                "lat": 38.49,
                "lon": 106.23,
            },
        },
        headers=ADMIN,
    ).json()
    first = caller["options"][0]
    confirmed = client.post(
        f"{API}/work-orders/{caller['work_order']}/confirm",
        json={"caregiver": first["caregiver"], "option": first["option"]},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
    _clean(client, confirmed.json()["plan_id"])
    caller_id = caller["household"]
    households = {
        h["id"] for h in client.get(f"{API}/scenario", headers=ADMIN).json()["households"]
    }
    assert caller_id not in households
    registered = client.post(
        f"{API}/households",
        json={
            "household": {"id": "H9", "requests": []},
            "from_order": caller["work_order"],
            "effective_from": str(WEEK2),
            "contact": {"phone": "13800001234"},
        },
        headers=ADMIN,
    )
    assert registered.status_code == 201, registered.text
    assert "H9" in {
        h["id"] for h in client.get(f"{API}/master?on={WEEK2}", headers=ADMIN).json()["households"]
    }
    assert "H9" not in {
        h["id"]
        for h in client.get(f"{API}/master?on={THURSDAY}", headers=ADMIN).json()["households"]
    }
    card = client.get(f"{API}/households/H9", headers=ADMIN).json()
    assert (card["name"], card["phone"]) == ("赵大爷", "13800001234")

    # Wednesday: C3 starts H5's visit, then falls ill at 10:30. The started visit stays with
    # C3; C3's other visits (not started, whenever they were planned) go to colleagues, none
    # before 10:30.
    wednesday = {
        o["request"]: o
        for o in _orders(client, WEDNESDAY, WEDNESDAY)
        if o["caregiver"] == "C3" and o["status"] != "cancelled"
    }
    assert {"H5-care", "H6-visit"} <= set(wednesday), wednesday.keys()
    started = wednesday["H5-care"]
    set_clock(client, f"{WEDNESDAY}T{started['start']}:00+08:00")
    c3 = new_token(client, "caregiver", "C3")
    assert client.post(f"{API}/work-orders/{started['id']}/accept", headers=c3).status_code == 200
    h5 = next(h for h in scenario()["households"] if h["id"] == "H5")
    checked_in = client.post(
        f"{API}/work-orders/{started['id']}/check-in",
        json={"lat": h5["lat"], "lon": h5["lon"], "idempotency_key": "h5-in"},
        headers=c3,
    )
    assert checked_in.status_code == 200, checked_in.text
    set_clock(client, f"{WEDNESDAY}T10:30:00+08:00")
    before = {o["id"]: o for o in _orders(client, WEDNESDAY, WEDNESDAY)}
    absence = client.post(
        f"{API}/caregivers/C3/absence", json={"date": str(WEDNESDAY), "now": "10:30"}, headers=ADMIN
    )
    assert absence.status_code == 200, absence.text
    result = absence.json()
    moved = {r["request"]: r for r in result["reassigned"]}
    assert set(moved) == set(wednesday) - {"H5-care"}
    assert "H6-visit" in moved
    assert all(r["caregiver"] != "C3" and r["start"] >= "10:30" for r in moved.values())
    _clean(client, result["plan_id"])
    after = {o["id"]: o for o in _orders(client, WEDNESDAY, WEDNESDAY)}
    assert (after[started["id"]]["status"], after[started["id"]]["caregiver"]) == (
        "checked_in",
        "C3",
    )
    for o in after.values():
        if o["status"] in ("cancelled", "refused"):
            continue
        was = before.get(o["id"])
        if was is None or (was["start"], was["caregiver"]) != (o["start"], o["caregiver"]):
            assert o["start"] >= "10:30", o  # nothing moved into the past

    # Later in the week a caregiver refuses an order; it is dispatched again from ranked options.
    later = [
        o
        for o in _orders(client, THURSDAY, WEEK1 + timedelta(days=5))
        if o["status"] == "dispatched" and o["source"] == "plan"
    ]
    assert later
    refused = later[0]
    set_clock(client, f"{refused['date']}T07:30:00+08:00")
    token = new_token(client, "caregiver", refused["caregiver"])
    response = client.post(
        f"{API}/work-orders/{refused['id']}/refuse", json={"reason": "车坏了"}, headers=token
    )
    assert response.status_code == 200, response.text
    offer = client.post(
        f"{API}/work-orders/{refused['id']}/redispatch", json={"now": "07:30"}, headers=ADMIN
    )
    assert offer.status_code == 200, offer.text
    chosen = offer.json()["options"][0]
    assert chosen["caregiver"] != refused["caregiver"]
    again = client.post(
        f"{API}/work-orders/{refused['id']}/redispatch/confirm",
        json={"caregiver": chosen["caregiver"], "option": chosen["option"]},
        headers=ADMIN,
    )
    assert again.status_code == 200, again.text
    fresh = again.json()["work_order"]
    assert (fresh["status"], fresh["caregiver"], fresh["replaces"]) == (
        "dispatched",
        chosen["caregiver"],
        refused["id"],
    )
    _clean(client, again.json()["plan_id"])

    # An uploaded plan with a violation is refused, nothing stored.
    count = len(client.get(f"{API}/plans", headers=ADMIN).json())
    bad = copy.deepcopy(week2_doc)
    route = next(r for r in bad["routes"] if r["stops"])
    route["caregiver"] = "C9"
    refused_upload = client.post(f"{API}/plans?week_start={WEEK2}", json=bad, headers=ADMIN)
    assert refused_upload.status_code == 422
    bad = copy.deepcopy(week2_doc)
    stop = next(r for r in bad["routes"] if r["stops"])["stops"][0]
    length = _minutes(stop["end"]) - _minutes(stop["start"])
    stop["arrival"] = stop["start"] = "06:00"  # before the shift and the window
    stop["end"] = f"{6 + length // 60:02d}:{length % 60:02d}"
    refused_upload = client.post(f"{API}/plans?week_start={WEEK2}", json=bad, headers=ADMIN)
    assert refused_upload.status_code == 422
    assert refused_upload.json()["error"]["code"] == "plan_violations"
    assert len(client.get(f"{API}/plans", headers=ADMIN).json()) == count

    # In the end: the master data as imported, both weeks' plans in force checker-clean, and
    # week 2 still the plan published for it.
    assert client.get(f"{API}/scenario", headers=ADMIN).json() == master_before
    final = _in_force(client)
    assert final[WEEK2.isoformat()] == week2["id"]
    for plan_id in final.values():
        _clean(client, plan_id)
