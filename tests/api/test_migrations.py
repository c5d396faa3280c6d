"""Migrations upgrade older databases keeping their data: 0004 keeps work orders and checks
(the old checks' time becomes the phone's time beside it, positions stay WGS-84); 0005 puts the
published plan and the hotline visits stored as standing requests into the calendar; 0006
encrypts contact data and scopes idempotency keys to their work order."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from api.crypto import cipher_for
from api.db import alembic_config
from tests.api.conftest import _find_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database with no tables at all, one per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    base, reason = _find_postgres()
    if base is None:
        pytest.skip(f"PostgreSQL does not answer, its tests are skipped ({reason})")
    schema = f"test_migrate_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _upgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_0004_keeps_orders_and_checks(empty_url: str) -> None:
    _upgrade(empty_url, "0003")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO work_orders (id, source, status, household_id, service, "
                    "sequence, planned_minutes, household_name, address, lat, lon, notes, flags, "
                    "refuse_reason, created_at, updated_at) VALUES (1, 'plan', 'checked_in', 'H1', "
                    "'cleaning', 1, 90, '', '', 38.49, 106.22, '', '[]', '', "
                    "'2026-11-23 01:00:00+00', '2026-11-23 01:00:00+00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO check_ins (id, work_order_id, kind, idempotency_key, lat, lon, "
                    "at, distance_m, flags, response, created_at) VALUES (1, 1, 'check_in', 'k1', "
                    "38.49, 106.22, '2026-11-23 01:00:00+00', 3.5, '[]', '{}', "
                    "'2026-11-23 01:00:00+00')"
                )
            )
        _upgrade(empty_url, "head")
        with engine.connect() as connection:
            order = connection.execute(
                text("SELECT status, review_rating, review_comment, replaces_id FROM work_orders")
            ).one()
            checks = connection.execute(
                text("SELECT at, phone_time, coord_system, raw_lat, raw_lon FROM check_ins")
            ).one()
            offers = connection.execute(text("SELECT count(*) FROM redispatch_offers")).scalar()
    finally:
        engine.dispose()
    assert tuple(order) == ("checked_in", None, "", None)
    assert checks.phone_time == checks.at
    assert (checks.coord_system, checks.raw_lat, checks.raw_lon) == ("wgs84", 38.49, 106.22)
    assert offers == 0


def test_0005_moves_the_published_plan_and_hotline_visits_into_the_calendar(empty_url: str) -> None:
    """A database of revision 0004 with a published plan of two weeks and a hotline visit that
    was written into the master data as a standing request of a new caller: after the upgrade
    the plan is in force in both its weeks and the visit is a one-off order on its date."""
    _upgrade(empty_url, "0004")
    engine = create_engine(empty_url)
    stamp = "'2026-11-23 01:00:00+00'"
    request = '{"id": "hotline-7", "service": "welfare_visit", "minutes": 30, "days": ["tue"]}'
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO plans (id, version, name, status, scenario_name, week_start, "
                    "parameters, document, kpis, progress, message, created_by, created_at, "
                    f"updated_at, published_at) VALUES (1, 1, '', 'published', '', '2026-11-23', "
                    """'{}', '{"format": 1, "weeks": 2, "routes": []}', '{}', 1.0, '', '', """
                    f"{stamp}, {stamp}, {stamp})"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO households (id, position, name, address, lat, lon, notes, data) "
                    "VALUES ('caller-7', 0, '新来电', '', 38.49, 106.23, '', "
                    """'{"id": "caller-7", "name": "新来电", "lat": 38.49, "lon": 106.23}')"""
                )
            )
            connection.execute(
                text(
                    "INSERT INTO requests (id, household_id, position, service, data) VALUES "
                    f"('hotline-7', 'caller-7', 0, 'welfare_visit', '{request}')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO work_orders (id, source, plan_id, status, household_id, "
                    "request_id, service, visit_date, sequence, planned_minutes, household_name, "
                    "address, lat, lon, notes, flags, refuse_reason, created_at, updated_at) "
                    "VALUES (7, 'hotline', 1, 'dispatched', 'caller-7', 'hotline-7', "
                    "'welfare_visit', '2026-11-24', 1, 30, '新来电', '', 38.49, 106.23, '', '[]', "
                    f"'', {stamp}, {stamp})"
                )
            )
        _upgrade(empty_url, "head")
        with engine.connect() as connection:
            weeks = connection.execute(
                text("SELECT week_start, plan_id FROM week_plans ORDER BY week_start")
            ).all()
            dated = connection.execute(
                text("SELECT id, visit_date, household_id, work_order_id FROM dated_requests")
            ).all()
            requests = connection.execute(text("SELECT count(*) FROM requests")).scalar()
            households = connection.execute(text("SELECT count(*) FROM households")).scalar()
            order = connection.execute(text("SELECT status, plan_id FROM work_orders")).one()
    finally:
        engine.dispose()
    assert [(str(w), p) for w, p in weeks] == [("2026-11-23", 1), ("2026-11-30", 1)]
    assert [(i, str(d), h, o) for i, d, h, o in dated] == [
        ("hotline-7", "2026-11-24", "caller-7", 7)
    ]
    assert (requests, households) == (0, 0)
    assert tuple(order) == ("dispatched", 1)


def test_0006_encrypts_contact_data_and_scopes_idempotency_keys_to_their_order(
    empty_url: str,
) -> None:
    """A database of revision 0005 with a household's phone and ID number, a registered
    household's contact and a check-in: after the upgrade the values are Fernet tokens of the
    data key (the key file beside a SQLite database), the same key may serve another order's
    check-in but not its own order's twice; the downgrade gives the plain values back."""
    _upgrade(empty_url, "0005")
    engine = create_engine(empty_url)
    stamp = "'2026-11-23 01:00:00+00'"
    contact = '{"phone": "13900001111", "id_number": "110105195001010011", "notes": "二楼"}'
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO households (id, position, name, address, lat, lon, phone, "
                    "id_number, notes, data) VALUES ('H1', 0, '刘奶奶', '', 38.49, 106.22, "
                    "'13812345678', '110105194912310021', '', '{}')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO master_changes (id, kind, entity_id, effective_from, data, "
                    "contact, reason, created_by, created_at) VALUES (1, 'household', 'H9', "
                    f"'2026-11-23', '{{}}', '{contact}', '', '', {stamp})"
                )
            )
            for order in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO work_orders (id, source, status, household_id, service, "
                        "sequence, planned_minutes, household_name, address, lat, lon, notes, "
                        "flags, refuse_reason, created_at, updated_at) VALUES (:id, 'plan', "
                        "'checked_in', 'H1', 'cleaning', 1, 90, '', '', 38.49, 106.22, '', "
                        f"'[]', '', {stamp}, {stamp})"
                    ),
                    {"id": order},
                )
            insert_check = text(
                "INSERT INTO check_ins (work_order_id, kind, idempotency_key, lat, lon, at, "
                "distance_m, flags, response, coord_system, created_at) VALUES (:order, "
                f"'check_in', 'same-key', 38.49, 106.22, {stamp}, 0, '[]', '{{}}', 'wgs84', "
                f"{stamp})"
            )
            connection.execute(insert_check, {"order": 1})
        _upgrade(empty_url, "head")
        with engine.connect() as connection:
            phone, id_number = connection.execute(
                text("SELECT phone, id_number FROM households")
            ).one()
            (stored_contact,) = connection.execute(text("SELECT contact FROM master_changes")).one()
            cipher = cipher_for(connection, os.environ.get("DISPATCH_DATA_KEY"))
        with engine.begin() as connection:
            connection.execute(insert_check, {"order": 2})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert_check, {"order": 1})
        assert "13812345678" not in phone and "110105194912310021" not in id_number
        assert (cipher.decrypt(phone), cipher.decrypt(id_number)) == (
            "13812345678",
            "110105194912310021",
        )
        assert "13900001111" not in stored_contact
        assert json.loads(cipher.decrypt(stored_contact)) == json.loads(contact)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM check_ins WHERE work_order_id = 2"))
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
        with engine.connect() as connection:
            plain = connection.execute(text("SELECT phone, id_number FROM households")).one()
    finally:
        engine.dispose()
    assert tuple(plain) == ("13812345678", "110105194912310021")
