"""The dispatcher's queue: filters, pages, sorts, late orders, the day's summary.

The published plan (``published`` fixture): C1 visits H1 (09:00–10:30) then H2 (10:40–11:10)
today; C2 visits H4 (09:10–10:10) tomorrow.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, new_token, plan_doc, today_code
from tests.api.test_work_orders import act, at, check, set_clock

QUEUE = "/api/v1/work-orders"


def _queue(client: TestClient, query: str, headers: dict[str, str] = ADMIN) -> Any:
    response = client.get(f"{QUEUE}?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _requests(page: dict[str, Any]) -> list[str | None]:
    return [o["request"] for o in page["items"]]


def _week(published: dict[str, Any]) -> str:
    today = date.fromisoformat(published["date"])
    return f"date_from={today}&date_to={today + timedelta(days=1)}"


def test_the_queue_lists_a_day_or_a_range_by_start(
    client: TestClient, published: dict[str, Any]
) -> None:
    set_clock(client, at("08:00"))
    day = _queue(client, f"date={published['date']}")
    assert (day["total"], _requests(day)) == (2, ["H1-clean", "H2-visit"])
    both = _queue(client, _week(published))
    assert _requests(both) == ["H1-clean", "H2-visit", "H4-walk"]
    assert [o["late"] for o in both["items"]] == [False, False, False]


def test_filters_by_status_caregiver_and_station(
    client: TestClient, published: dict[str, Any]
) -> None:
    set_clock(client, at("08:00"))
    first, second = published["orders"]
    assert act(client, first, "refuse", ADMIN, reason="sick").status_code == 200
    assert act(client, second, "accept", ADMIN).status_code == 200
    week = _week(published)
    assert _requests(_queue(client, f"{week}&status=refused")) == ["H1-clean"]
    assert _requests(_queue(client, f"{week}&status=refused,accepted")) == [
        "H1-clean",
        "H2-visit",
    ]
    assert _requests(_queue(client, f"{week}&status=refused&status=dispatched")) == [
        "H1-clean",
        "H4-walk",
    ]
    assert _requests(_queue(client, f"{week}&caregiver=C2")) == ["H4-walk"]
    assert _queue(client, f"{week}&station=S1")["total"] == 3
    assert _queue(client, f"{week}&station=S9")["total"] == 0


def test_pages_sorts_and_the_total(client: TestClient, published: dict[str, Any]) -> None:
    set_clock(client, at("08:00"))
    week = _week(published)
    assert act(client, published["orders"][1], "accept", ADMIN).status_code == 200
    response = client.get(f"{QUEUE}?{week}&limit=1&offset=1", headers=ADMIN)
    page = response.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert _requests(page) == ["H2-visit"]
    assert response.headers["X-Total-Count"] == "3"
    assert _requests(_queue(client, f"{week}&sort=caregiver")) == [
        "H1-clean",
        "H2-visit",
        "H4-walk",
    ]
    # By lifecycle: dispatched before accepted; equal states by date and start.
    assert _requests(_queue(client, f"{week}&sort=status")) == [
        "H1-clean",
        "H4-walk",
        "H2-visit",
    ]
    # Pages of the same query cut one order.
    pages = [_requests(_queue(client, f"{week}&sort=status&limit=1&offset={i}")) for i in range(3)]
    assert pages == [["H1-clean"], ["H4-walk"], ["H2-visit"]]


def test_a_visit_without_check_in_15_minutes_after_its_start_is_late(
    client: TestClient, published: dict[str, Any]
) -> None:
    first = published["orders"][0]
    day = published["date"]
    set_clock(client, at("09:15"))
    assert _queue(client, f"date={day}&late=true")["total"] == 0
    set_clock(client, at("09:16"))
    late = _queue(client, f"date={day}&late=true")
    assert [o["id"] for o in late["items"]] == [first]
    assert late["items"][0]["late"] is True
    assert _requests(_queue(client, f"date={day}&late=false")) == ["H2-visit"]
    assert client.get(f"{QUEUE}/{first}", headers=ADMIN).json()["late"] is True
    # A dispatcher may look at the day as at another moment.
    earlier = at("09:10").replace("+", "%2B")
    assert _queue(client, f"date={day}&late=true&now={earlier}")["total"] == 0
    # Checked in: no longer late.
    assert act(client, first, "accept", ADMIN).status_code == 200
    check(client, first, "check-in", "in", at("09:20"))
    assert _queue(client, f"date={day}&late=true")["total"] == 0


def test_flagged_orders_are_filtered(client: TestClient, published: dict[str, Any]) -> None:
    first = published["orders"][0]
    assert act(client, first, "accept", ADMIN).status_code == 200
    check(client, first, "check-in", "far", at("09:00"), lat=38.4955)
    day = published["date"]
    assert [o["id"] for o in _queue(client, f"date={day}&flagged=true")["items"]] == [first]
    assert _requests(_queue(client, f"date={day}&flagged=false")) == ["H2-visit"]


def test_the_day_summary(client: TestClient, published: dict[str, Any]) -> None:
    first, second = published["orders"]
    assert act(client, second, "refuse", ADMIN, reason="sick").status_code == 200
    assert act(client, first, "accept", ADMIN).status_code == 200
    check(client, first, "check-in", "far", at("09:00"), lat=38.4955)
    set_clock(client, at("11:00"))
    # A hotline call of today still waiting for a caregiver.
    call = client.post(
        QUEUE,
        json={
            "household": "H4",
            "service": "welfare_visit",
            "date": published["date"],
            "now": "08:00",
        },
        headers=ADMIN,
    )
    assert call.status_code == 201, call.text
    response = client.get(f"{QUEUE}/summary?date={published['date']}", headers=ADMIN)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary == {
        "date": published["date"],
        "total": 3,
        "by_status": {"created": 1, "refused": 1, "checked_in": 1},
        "late": 1,  # the refused H2 visit, 10:40, has nobody on site
        "flagged": 1,
        "unassigned": 3,  # the plan leaves H2's meal, H3's nursing and H5's rehab out
        "waiting": 1,
    }
    assert (
        client.get(f"{QUEUE}/summary", headers=new_token(client, "caregiver", "C1")).status_code
        == 403
    )


def test_a_caregiver_lists_only_its_own_orders(
    client: TestClient, published: dict[str, Any]
) -> None:
    c1 = new_token(client, "caregiver", "C1")
    week = _week(published)
    assert _requests(_queue(client, f"{week}&caregiver=C1", c1)) == ["H1-clean", "H2-visit"]
    assert client.get(f"{QUEUE}?{week}", headers=c1).status_code == 403
    assert client.get(f"{QUEUE}?{week}&caregiver=C2", headers=c1).status_code == 403
    now = at("09:00").replace("+", "%2B")
    assert client.get(f"{QUEUE}?{week}&caregiver=C1&now={now}", headers=c1).status_code == 403


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("", "query.date"),
        ("date_from=2026-11-23", "query.date_to"),
        ("date_from=2026-11-30&date_to=2026-11-23", "query.date_to"),
        ("date_from=2026-01-01&date_to=2026-12-31", "query.date_to"),
        ("date=2026-11-23&status=lost", "query.status"),
        ("date=2026-11-23&sort=household", "query.sort"),
        ("date=2026-11-23&limit=0", "query.limit"),
        ("date=2026-11-23&offset=-1", "query.offset"),
        ("date=2026-11-23&late=maybe", "query.late"),
        ("date=2026-11-23&now=noon", "query.now"),
    ],
)
def test_bad_queue_queries_are_422(
    client: TestClient, published: dict[str, Any], query: str, path: str
) -> None:
    response = client.get(f"{QUEUE}?{query}", headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["path"] == path


def test_the_summary_counts_the_published_plans_unassigned_visits(
    client: TestClient, published: dict[str, Any]
) -> None:
    # A new version whose only change is C2's visit left out as well: one more unassigned.
    doc = plan_doc(c1_day=today_code(), c2_day=today_code())
    doc["routes"] = doc["routes"][:1]
    doc["unassigned"].append(
        {"request": "H4-walk", "household": "H4", "missing_visits": 1, "reason": "solver_limit"}
    )
    stored = client.post("/api/v1/plans", json=doc, headers=ADMIN)
    assert stored.status_code == 201, stored.text
    assert client.post(f"/api/v1/plans/{stored.json()['id']}/publish", headers=ADMIN).is_success
    summary = client.get(f"{QUEUE}/summary?date={published['date']}", headers=ADMIN).json()
    assert summary["unassigned"] == 4
    # A day the published plan does not cover has nothing unassigned.
    elsewhere = client.get(f"{QUEUE}/summary?date=2000-01-03", headers=ADMIN).json()
    assert (elsewhere["total"], elsewhere["unassigned"]) == (0, 0)
