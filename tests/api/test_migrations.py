"""Migration 0004 upgrades a database of revision 0003 keeping its work orders and checks:
the old checks' time becomes the phone's time beside it, positions stay WGS-84."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text

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
