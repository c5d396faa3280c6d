"""Fixtures of the service tests: the real app on a real database, SQLite and PostgreSQL.

``backend_url`` is parametrised over ``sqlite`` (a fresh file per test) and ``postgresql``
(a uniquely named schema for the test session on the server at 127.0.0.1:5432, emptied before
each test, dropped at the end). When PostgreSQL does not answer its tests are skipped with the
reason, and the run's summary says so. ``DISPATCH_TEST_POSTGRES_URL`` overrides the server URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from api.app import create_app
from api.models import Base
from api.settings import Settings
from dispatch.model import DAYS
from tests.conftest import fixture_data

ADMIN_TOKEN = "test-admin-token-0123456789"
_CANDIDATES = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
_postgres_skip_reason: list[str] = []


def _find_postgres() -> tuple[str | None, str]:
    """A URL that connects, or ``None`` and why not."""
    configured = os.environ.get("DISPATCH_TEST_POSTGRES_URL")
    reasons = []
    for url in (configured,) if configured else _CANDIDATES:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            return url, ""
        except Exception as exc:
            reasons.append(f"{url}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        finally:
            engine.dispose()
    return None, "; ".join(reasons)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A URL whose search path is a fresh schema for this session, or ``None``."""
    base, reason = _find_postgres()
    if base is None:
        _postgres_skip_reason.append(reason)
        yield None
        return
    schema = f"test_api_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            existing = set(inspect(connection).get_table_names())
            names = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
            if names:
                connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Any, postgres_url: str | None) -> str:
    """A database URL with nothing stored, one per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dispatch.sqlite3'}"
    if postgres_url is None:
        pytest.skip(
            f"PostgreSQL does not answer, its tests are skipped ({_postgres_skip_reason[0]})"
        )
    _empty_tables(postgres_url)
    return postgres_url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _postgres_skip_reason:
        terminalreporter.write_line(
            "PostgreSQL tests were skipped: the server did not answer "
            f"({_postgres_skip_reason[0]})",
            yellow=True,
        )


def make_settings(url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "admin_token": ADMIN_TOKEN,
        "load_demo": False,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def client(backend_url: str) -> Iterator[TestClient]:
    """The real app on a fresh database, started (migrated) and stopped around the test."""
    with TestClient(create_app(make_settings(backend_url))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def new_token(client: TestClient, role: str, caregiver_id: str | None = None) -> dict[str, str]:
    """Headers with a new token of ``role`` created through the admin endpoint."""
    body: dict[str, Any] = {"name": f"{role} test", "role": role}
    if caregiver_id is not None:
        body["caregiver_id"] = caregiver_id
    response = client.post("/api/v1/tokens", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


def this_monday() -> date:
    """Monday of the current week in the service's default zone (Asia/Shanghai)."""
    today = datetime.now(Settings().zone).date()
    return today - timedelta(days=today.weekday())


def today_code() -> str:
    return DAYS[datetime.now(Settings().zone).date().weekday()]


def other_day_code() -> str:
    return DAYS[(DAYS.index(today_code()) + 1) % 7]


def week_scenario_doc() -> dict[str, Any]:
    """The tiny scenario on the current week, every day planned (so today is a plan day),
    each caregiver working its Monday shift every day."""
    data: dict[str, Any] = fixture_data("tiny_scenario.json")
    data["week_start"] = this_monday().isoformat()
    data["days"] = list(DAYS)
    for caregiver in data["caregivers"]:
        caregiver["shifts"] = {day: caregiver["shifts"]["mon"] for day in DAYS}
    return data


def plan_doc(*, c1_day: str, c2_day: str) -> dict[str, Any]:
    """A hand-written plan of the tiny scenario that keeps every rule of the checker on
    :func:`week_scenario_doc`: C1 visits H1 then H2 and rests after; C2 visits H4; the other
    requests are reported unassigned. Its ``kpis`` are what a document may claim (the service
    recomputes them: 46 minutes of travel, not 30)."""
    return {
        "format": 1,
        "scenario": "银川 tiny Monday",
        "routes": [
            {
                "caregiver": "C1",
                "day": c1_day,
                "leave": "08:40",
                "back": "11:30",
                "break": {"start": "11:30", "end": "12:30"},
                "stops": [
                    {
                        "request": "H1-clean",
                        "household": "H1",
                        "arrival": "08:52",
                        "start": "09:00",
                        "end": "10:30",
                    },
                    {
                        "request": "H2-visit",
                        "household": "H2",
                        "arrival": "10:40",
                        "start": "10:40",
                        "end": "11:10",
                    },
                ],
            },
            {
                "caregiver": "C2",
                "day": c2_day,
                "leave": "08:52",
                "back": "10:30",
                "stops": [
                    {
                        "request": "H4-walk",
                        "household": "H4",
                        "arrival": "09:10",
                        "start": "09:10",
                        "end": "10:10",
                    }
                ],
            },
        ],
        "unassigned": [
            {"request": r, "household": h, "missing_visits": 1, "reason": "solver_limit"}
            for r, h in (("H2-meal", "H2"), ("H3-nurse", "H3"), ("H5-rehab", "H5"))
        ],
        "kpis": {
            "required_visits": 3,
            "planned_visits": 3,
            "travel_minutes": 30,
            "service_minutes": 180,
            "requests_fully_served": 1.0,
        },
    }


H1_CSV = (
    "id,name,address,lat,lon,phone,id_number,notes,tags,assessment_level,gender_preference,"
    "preferred_caregivers,request_id,service,minutes,visits_per_week,windows,priority\n"
    "H1,刘奶奶,丽景街道 3-2-101,38.4901,106.2288,13812345678,110105194912310021,"
    "钥匙在门卫,living_alone;disabled,3,F,C1,H1-clean,cleaning,90,1,08:30-11:00;14:00-16:00,60\n"
)


@pytest.fixture
def published(client: TestClient) -> dict[str, Any]:
    """Scenario of this week stored, H1's phone imported, a plan published: C1 today, C2
    tomorrow. Gives the plan id and C1's work-order ids in visiting order."""
    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    files = {"file": ("h1.csv", H1_CSV.encode("utf-8"), "text/csv")}
    response = client.post("/api/v1/import/households", files=files, headers=ADMIN)
    assert response.status_code == 200, response.text
    stored = client.post(
        "/api/v1/plans", json=plan_doc(c1_day=today_code(), c2_day=other_day_code()), headers=ADMIN
    )
    assert stored.status_code == 201, stored.text
    plan_id = stored.json()["id"]
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    today = datetime.now(Settings().zone).date().isoformat()
    orders = client.get(f"/api/v1/caregivers/C1/assignments?date={today}", headers=ADMIN).json()
    return {"plan": plan_id, "orders": [o["id"] for o in orders], "date": today}
