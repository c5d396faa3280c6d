"""The store under load and races: many clients wait instead of failing, a work order moves
once however many requests race for it, idempotency keys belong to their work order,
timestamps carry their offset, a check on another day than the visit's is refused or flagged,
and elders' phone and ID numbers are encrypted at rest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.settings import Settings
from tests.api.conftest import ADMIN, new_token
from tests.api.test_work_orders import AT_H1, at, check, set_clock


def _race(count: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``call(i)`` from ``count`` threads released at once; their answers in order."""
    barrier = threading.Barrier(count)
    answers: list[httpx.Response | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = call(i)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _count(client: TestClient, sql: str, **params: Any) -> int:
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def _raw(client: TestClient, sql: str, **params: Any) -> Any:
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).one()
    finally:
        engine.dispose()


# --- 1. back-pressure ------------------------------------------------------------------------


def test_64_concurrent_clients_all_answer(client: TestClient, published: dict[str, Any]) -> None:
    """64 clients reading assignments at once (four reads each) queue for the worker threads;
    none waits for a database connection, none answers 500."""
    c1 = new_token(client, "caregiver", "C1")
    url = f"/api/v1/caregivers/C1/assignments?date={published['date']}"

    def read(_i: int) -> httpx.Response:
        last = None
        for _ in range(4):
            last = client.get(url, headers=c1)
            if last.status_code != 200:
                return last
        assert last is not None
        return last

    answers = _race(64, read)
    assert [a.status_code for a in answers] == [200] * 64, [
        a.text for a in answers if a.status_code != 200
    ][:2]


# --- 2. atomic moves ----------------------------------------------------------------------------


def test_racing_check_outs_store_one(client: TestClient, published: dict[str, Any]) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    assert check(client, order, "check-in", "in", at("09:00")).status_code == 200
    set_clock(client, at("10:30"))

    def check_out(i: int) -> httpx.Response:
        body = {**AT_H1, "time": at("10:30"), "idempotency_key": f"out-{i}"}
        return client.post(f"/api/v1/work-orders/{order}/check-out", json=body, headers=ADMIN)

    answers = _race(20, check_out)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 19, [a.text for a in answers if a.status_code not in (200, 409)]
    stored = _count(
        client,
        "SELECT count(*) FROM check_ins WHERE work_order_id = :o AND kind = 'check_out'",
        o=order,
    )
    assert stored == 1


def test_racing_reviews_succeed_once(client: TestClient, published: dict[str, Any]) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    assert check(client, order, "check-in", "in", at("09:00")).status_code == 200
    assert check(client, order, "check-out", "out", at("10:30")).status_code == 200

    def review(i: int) -> httpx.Response:
        body = {"rating": 1 + i % 5, "comment": f"call {i}"}
        return client.post(f"/api/v1/work-orders/{order}/review", json=body, headers=ADMIN)

    answers = _race(10, review)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 9
    winner = next(a for a in answers if a.status_code == 200).json()
    stored = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert stored["status"] == "reviewed"
    assert (stored["review_rating"], stored["review_comment"]) == (
        winner["review_rating"],
        winner["review_comment"],
    )


def test_racing_retries_of_one_check_in_give_one_answer(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    set_clock(client, at("09:00"))

    def check_in(_i: int) -> httpx.Response:
        body = {**AT_H1, "time": at("09:00"), "idempotency_key": "same"}
        return client.post(f"/api/v1/work-orders/{order}/check-in", json=body, headers=ADMIN)

    answers = _race(8, check_in)
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.text for a in answers}) == 1
    assert _count(client, "SELECT count(*) FROM check_ins WHERE work_order_id = :o", o=order) == 1


# --- 3. idempotency keys per work order -----------------------------------------------------


def test_the_same_key_on_two_orders_is_two_check_ins(
    client: TestClient, published: dict[str, Any]
) -> None:
    """Two caregivers' phones (here two orders) that happen to make the same key each check
    in; neither answer names the other order."""
    first, second = published["orders"][:2]
    for order in (first, second):
        assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    one = check(client, first, "check-in", "device-key-1", at("09:00"))
    two = check(client, second, "check-in", "device-key-1", at("10:40"))
    assert (one.status_code, two.status_code) == (200, 200), two.text
    assert (one.json()["work_order"], two.json()["work_order"]) == (first, second)


# --- 5. timestamps with their offset ------------------------------------------------------------


def _has_offset(value: str) -> bool:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset() is not None


def test_timestamps_carry_their_offset(client: TestClient, published: dict[str, Any]) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    assert check(client, order, "check-in", "in", at("09:00")).status_code == 200
    stored = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    plan = client.get(f"/api/v1/plans/{published['plan']}", headers=ADMIN).json()
    tokens = client.get("/api/v1/tokens", headers=ADMIN).json()
    stamps = {
        "checked_in_at": stored["checked_in_at"],
        "created_at": plan["created_at"],
        "updated_at": plan["updated_at"],
        "published_at": plan["published_at"],
        "token created_at": tokens[0]["created_at"],
    }
    assert {k: _has_offset(v) for k, v in stamps.items()} == {k: True for k in stamps}, stamps


# --- 6. checks on another day than the visit's --------------------------------------------------


def test_a_check_in_days_after_the_visit_is_refused(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    later = date.fromisoformat(published["date"]) + timedelta(days=13)
    response = check(client, order, "check-in", "late-in", at("09:00", later))
    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    assert "not the visit's date" in message and "服务日期" in message
    assert later.isoformat() in message and published["date"] in message
    assert client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()["status"] == "accepted"


def test_a_check_out_on_the_next_day_is_flagged_off_date(
    client: TestClient, published: dict[str, Any]
) -> None:
    order = published["orders"][0]
    assert client.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    assert check(client, order, "check-in", "in", at("09:00")).status_code == 200
    tomorrow = date.fromisoformat(published["date"]) + timedelta(days=1)
    out = check(client, order, "check-out", "out", at("08:00", tomorrow))
    assert out.status_code == 200, out.text
    assert "off_date" in out.json()["flags"]
    assert out.json()["review_needed"] is True


# --- 7. sensitive data encrypted at rest ------------------------------------------------------


def test_phone_and_id_number_are_encrypted_at_rest(
    client: TestClient, published: dict[str, Any]
) -> None:
    phone, id_number = _raw(client, "SELECT phone, id_number FROM households WHERE id = 'H1'")
    assert phone and id_number
    assert "13812345678" not in phone and "5678" not in phone
    assert "110105194912310021" not in id_number and "0021" not in id_number
    dispatcher = new_token(client, "dispatcher")
    planner = new_token(client, "planner")
    full = client.get("/api/v1/households/H1", headers=dispatcher).json()
    masked = client.get("/api/v1/households/H1", headers=planner).json()
    assert (full["phone"], full["id_number"]) == ("13812345678", "110105194912310021")
    assert (masked["phone"], masked["id_number"]) == ("138****5678", "110***********0021")


def test_registered_households_contact_is_encrypted_at_rest(client: TestClient) -> None:
    from tests.api.conftest import week_scenario_doc

    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    today = datetime.now(Settings().zone).date()
    body = {
        "effective_from": today.isoformat(),
        "household": {"id": "H9", "name": "新住户", "lat": 38.49, "lon": 106.23, "requests": []},
        "contact": {"phone": "13900001111", "id_number": "110105195001010011", "notes": "二楼"},
    }
    response = client.post("/api/v1/households", json=body, headers=ADMIN)
    if response.status_code not in (200, 201):
        # The registration body is the master data router's; the stored column is what counts.
        raise AssertionError(response.text)
    (contact,) = _raw(client, "SELECT contact FROM master_changes WHERE entity_id = 'H9'")
    assert "13900001111" not in str(contact) and "110105195001010011" not in str(contact)
    card = client.get("/api/v1/households/H9", headers=ADMIN).json()
    assert (card["phone"], card["id_number"]) == ("13900001111", "110105195001010011")


def test_the_data_key_file_is_kept_beside_the_sqlite_database(tmp_path: Any) -> None:
    from api.app import create_app
    from tests.api.conftest import make_settings

    url = f"sqlite:///{tmp_path / 'db' / 'dispatch.sqlite3'}"
    with TestClient(create_app(make_settings(url))):
        pass
    key = tmp_path / "db" / "dispatch.sqlite3.key"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0
