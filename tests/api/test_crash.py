"""kill -9 during a planner job: a real server process is killed while its job runs; the next
server on the same database marks the job failed within two heartbeat periods of answering,
and the published plan, its work orders and the check-in are as they were.

Runs two ``uvicorn`` processes of this source tree on a SQLite file (nothing outside the
repository), with a heartbeat of one second.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from api.settings import Settings
from benchmarks.server import ROOT, LoopbackServer
from tests.api.conftest import ADMIN, plan_doc, today_code, week_scenario_doc

HEARTBEAT = 1.0
STALE = 2.0
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


class Server(LoopbackServer):
    """The app on a free loopback port over ``database``, with a heartbeat of one second."""

    def __init__(self, database: Path, log: Path) -> None:
        env = {
            "DISPATCH_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "DISPATCH_JOB_STALE_SECONDS": str(STALE),
        }
        super().__init__(f"sqlite:///{database}", admin_token=TOKEN, log=log, env=env)
        self.http = httpx.Client(base_url=f"{self.base}/api/v1", timeout=30)

    def wait_up(self, timeout: float = 60.0) -> float:
        """Block until ``/health`` answers; the instant it first did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}")
            try:
                if self.http.get("/health").status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not answer in time")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        super().stop()
        self.http.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def _snapshot(database: Path) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
                ]
                for table in ("week_plans", "work_orders", "check_ins")
            } | {
                "published": [
                    tuple(row)
                    for row in connection.execute(
                        text("SELECT * FROM plans WHERE status = 'published' ORDER BY id")
                    )
                ]
            }
    finally:
        engine.dispose()


def test_a_job_cut_off_by_kill_9_is_failed_and_the_plan_and_checks_are_intact(
    tmp_path: Path, servers: list[Server]
) -> None:
    database = tmp_path / "crash.sqlite3"
    log = tmp_path / "servers.log"
    first = Server(database, log)
    servers.append(first)
    first.wait_up()
    api = first.http
    assert api.post("/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    stored = api.post(
        "/plans", json=plan_doc(c1_day=today_code(), c2_day=today_code()), headers=ADMIN
    )
    assert stored.status_code == 201, stored.text
    plan_id = stored.json()["id"]
    assert api.post(f"/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    today = datetime.now(Settings().zone).date().isoformat()
    orders = api.get(f"/caregivers/C1/assignments?date={today}", headers=ADMIN).json()
    assert orders, "the published plan gives C1 orders today"
    order = orders[0]["id"]
    assert api.post(f"/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    checked = api.post(
        f"/work-orders/{order}/check-in",
        json={"lat": 38.4901, "lon": 106.2288, "idempotency_key": "crash-in"},
        headers=ADMIN,
    )
    assert checked.status_code == 200, checked.text
    # A long job on the demo district: it is running when the process is killed.
    district = json.loads((ROOT / "data" / "demo" / "district.json").read_text("utf-8"))
    job = api.post("/plans", json={"scenario": district, "time_limit": 60}, headers=ADMIN)
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    deadline = time.monotonic() + 20
    while api.get(f"/plans/{job_id}", headers=ADMIN).json()["status"] != "running":
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.1)
    before = _snapshot(database)
    first.kill()

    second = Server(database, log)
    servers.append(second)
    up = second.wait_up()
    while True:
        row = second.http.get(f"/plans/{job_id}", headers=ADMIN).json()
        if row["status"] == "failed":
            failed_after = time.monotonic() - up
            break
        assert time.monotonic() - up < 10 * HEARTBEAT, f"still {row['status']}"
        time.sleep(0.05)
    assert failed_after <= 2 * HEARTBEAT, failed_after
    assert "interrupted" in row["message"] and "中断" in row["message"]
    after = _snapshot(database)
    assert after == before
    stored_order = second.http.get(f"/work-orders/{order}", headers=ADMIN).json()
    assert stored_order["status"] == "checked_in"
    assert stored_order["checked_in_at"] is not None
    published = second.http.get(f"/plans/{plan_id}", headers=ADMIN).json()
    assert published["status"] == "published"


def test_the_reaper_fails_orphans_while_the_server_runs(tmp_path: Path) -> None:
    """A job row of a process that is gone (no runner here owns it) turns stale while the
    server runs: the heartbeat thread marks it failed without a restart; a row whose heartbeat
    keeps coming (another live process) stays running."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_settings

    url = f"sqlite:///{tmp_path / 'reap.sqlite3'}"
    # The live row is beaten every loop turn below; a stale window of a few turns' worth of
    # a busy machine keeps it alive however slow a request is, while the orphan still goes
    # stale within the wait.
    settings = make_settings(url, job_heartbeat_seconds=0.2, job_stale_seconds=2.0)
    insert = text(
        "INSERT INTO plans (version, name, status, scenario_name, parameters, kpis, progress, "
        "message, created_by, created_at, updated_at, heartbeat_at) VALUES (:v, :n, 'running', "
        "'', '{}', '{}', 0.2, '', '', :at, :at, :at)"
    )
    with TestClient(create_app(settings)) as client:
        engine = create_engine(url)
        try:
            now = datetime.now(UTC)
            with engine.begin() as connection:
                connection.execute(insert, {"v": 1, "n": "orphan", "at": now})
                connection.execute(insert, {"v": 2, "n": "alive", "at": now})
            started = time.monotonic()
            statuses: dict[str, str] = {}
            while time.monotonic() - started < 30:
                with engine.begin() as connection:
                    # The other process keeps beating for its job.
                    connection.execute(
                        text("UPDATE plans SET heartbeat_at = :at WHERE name = 'alive'"),
                        {"at": datetime.now(UTC)},
                    )
                listed = client.get("/api/v1/plans", headers=ADMIN).json()
                statuses = {p["name"]: p["status"] for p in listed}
                if statuses.get("orphan") == "failed":
                    break
                time.sleep(0.05)
        finally:
            engine.dispose()
    assert statuses == {"orphan": "failed", "alive": "running"}
