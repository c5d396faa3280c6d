"""Check-in as evidence: the server's time is the record's, the phone's is kept beside it and a
difference is flagged; GCJ-02 and BD-09 positions are converted before the geofence test;
back-filled and missing check-outs are flagged and listed per day; the follow-up's rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.settings import Settings
from dispatch.coords import wgs84_to_bd09, wgs84_to_gcj02
from dispatch.haversine import haversine_km
from tests.api.conftest import ADMIN, new_token
from tests.api.test_work_orders import AT_H1, act, at, check, set_clock


def instant(text: str) -> datetime:
    """An ISO instant as stored (SQLite gives UTC back without an offset)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _accepted(client: TestClient, published: dict[str, Any]) -> int:
    order = published["orders"][0]  # H1, 09:00–10:30, 90 minutes
    assert act(client, order, "accept", ADMIN).status_code == 200
    return int(order)


def test_a_phone_clock_a_year_ahead_is_not_the_records_time(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    today = datetime.now(Settings().zone).date()
    ahead = at("09:00", today + timedelta(days=360))
    response = check(client, order, "check-in", "ahead", ahead, server=at("09:02"))
    assert response.status_code == 200, response.text
    answer = response.json()
    server = datetime.fromisoformat(at("09:02"))
    assert datetime.fromisoformat(answer["time"]) == server
    assert datetime.fromisoformat(answer["phone_time"]) == datetime.fromisoformat(ahead)
    assert answer["flags"] == ["clock_skew"]
    assert answer["review_needed"] is True
    stored = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert instant(stored["checked_in_at"]) == server
    assert stored["flags"] == ["clock_skew"]


def test_a_phone_clock_a_few_minutes_off_is_not_flagged(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    response = check(client, order, "check-in", "close", at("09:04"), server=at("09:00"))
    assert response.json()["flags"] == []
    # Without a phone time there is nothing to compare.
    set_clock(client, at("10:30"))
    body = {**AT_H1, "idempotency_key": "no-time"}
    out = client.post(f"/api/v1/work-orders/{order}/check-out", json=body, headers=ADMIN).json()
    assert (out["phone_time"], out["flags"]) == (None, [])


def test_a_gcj02_position_at_the_home_is_inside_the_geofence(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    lat, lon = wgs84_to_gcj02(AT_H1["lat"], AT_H1["lon"])
    # Taken as WGS-84 the Amap position would be far outside the 200 m geofence.
    assert haversine_km(AT_H1["lat"], AT_H1["lon"], lat, lon) * 1000 > 200
    response = check(
        client, order, "check-in", "amap", at("09:00"), lat=lat, lon=lon, coord_system="gcj02"
    )
    assert response.status_code == 200, response.text
    assert response.json()["flags"] == []
    assert response.json()["distance_m"] < 1.0


def test_a_bd09_position_is_converted_and_a_raw_gcj02_one_is_flagged(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    lat, lon = wgs84_to_gcj02(AT_H1["lat"], AT_H1["lon"])
    # Sent without saying it is GCJ-02, the same position is hundreds of metres off.
    wrong = check(client, order, "check-in", "raw", at("09:00"), lat=lat, lon=lon)
    assert wrong.json()["flags"] == ["check_in_outside_geofence"]
    blat, blon = wgs84_to_bd09(AT_H1["lat"], AT_H1["lon"])
    out = check(
        client, order, "check-out", "baidu", at("10:30"), lat=blat, lon=blon, coord_system="bd09"
    )
    assert out.json()["flags"] == []
    assert out.json()["distance_m"] < 1.0


def test_an_unknown_coordinate_system_is_422(client: TestClient, published: dict[str, Any]) -> None:
    order = _accepted(client, published)
    response = check(client, order, "check-in", "x", at("09:00"), coord_system="utm")
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.coord_system"


def test_a_check_in_entered_after_the_planned_end_is_back_filled(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    # The phone claims 09:00; the server receives it at 11:00, after the 10:30 end.
    response = check(client, order, "check-in", "late-entry", at("09:00"), server=at("11:00"))
    assert response.json()["flags"] == ["clock_skew", "back_filled"]
    # A check-out within the margin (30 minutes after the planned end) is not back-filled
    # (by the server's times the visit lasted minutes: short).
    out = check(client, order, "check-out", "out", at("11:00"))
    assert out.json()["flags"] == ["short_visit"]
    # H2's visit ends 11:10: a check-out the server receives at 11:45 was entered afterwards.
    second = published["orders"][1]
    assert act(client, second, "accept", ADMIN).status_code == 200
    check(client, second, "check-in", "h2-in", at("10:40"))
    late_out = check(client, second, "check-out", "h2-out", at("11:10"), server=at("11:45"))
    assert {"clock_skew", "back_filled"} <= set(late_out.json()["flags"])


def test_a_missing_check_out_is_flagged_and_listed_for_the_day(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    check(client, order, "check-in", "in", at("09:00"))
    set_clock(client, at("10:59"))
    assert client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["flags"] == []
    set_clock(client, at("11:01"))
    assert client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["flags"] == [
        "missing_check_out"
    ]
    day = published["date"]
    listed = client.get(f"/api/v1/work-orders/flags?date={day}", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    orders = listed.json()["orders"]
    assert [(o["work_order"], o["flags"]) for o in orders] == [(order, ["missing_check_out"])]
    assert [c["kind"] for c in orders[0]["checks"]] == ["check_in"]
    # An explicit earlier "now" sees the visit as still running.
    earlier = at("10:45").replace("+", "%2B")
    again = client.get(f"/api/v1/work-orders/flags?date={day}&now={earlier}", headers=ADMIN)
    assert again.json()["orders"] == []


def test_flags_of_the_day_list_every_kind_with_the_checks_as_sent(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    lat, lon = wgs84_to_gcj02(38.4955, 106.2288)  # 600 m north, from Amap
    check(client, order, "check-in", "in", at("09:00"), lat=lat, lon=lon, coord_system="gcj02")
    check(client, order, "check-out", "out", at("09:10"), server=at("09:20"))
    listed = client.get(f"/api/v1/work-orders/flags?date={published['date']}", headers=ADMIN)
    (flagged,) = listed.json()["orders"]
    assert flagged["flags"] == ["check_in_outside_geofence", "short_visit", "clock_skew"]
    check_in, check_out = flagged["checks"]
    assert (check_in["coord_system"], check_in["raw_lat"], check_in["raw_lon"]) == (
        "gcj02",
        lat,
        lon,
    )
    assert 550 < check_in["distance_m"] < 650
    assert check_out["flags"] == ["short_visit", "clock_skew"]
    assert instant(check_out["time"]) == datetime.fromisoformat(at("09:20"))
    assert instant(check_out["phone_time"]) == datetime.fromisoformat(at("09:10"))
    # Only dispatchers read the day's flags.
    c1 = new_token(client, "caregiver", "C1")
    assert client.get("/api/v1/work-orders/flags", headers=c1).status_code == 403


def test_the_follow_up_stores_its_rating_and_comment(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = _accepted(client, published)
    check(client, order, "check-in", "in", at("09:00"))
    check(client, order, "check-out", "out", at("10:30"))
    bad = act(client, order, "review", ADMIN, rating=6)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.rating"
    reviewed = act(client, order, "review", ADMIN, rating=5, comment="刘奶奶很满意 / very pleased")
    assert reviewed.status_code == 200, reviewed.text
    body = reviewed.json()
    assert (body["status"], body["review_rating"], body["review_comment"]) == (
        "reviewed",
        5,
        "刘奶奶很满意 / very pleased",
    )
    shown = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert (shown["review_rating"], shown["review_comment"]) == (5, "刘奶奶很满意 / very pleased")
