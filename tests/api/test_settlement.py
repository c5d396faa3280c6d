"""The settlement endpoints on the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.models import WorkOrder
from api.routers import settlement
from api.settings import Settings
from dispatch.evidence import FLAG_SHORT_VISIT
from tests.api.conftest import ADMIN, new_token


def _deliver(client: TestClient, order: int, minutes: int, flags: list[str]) -> None:
    """Store a visit as checked in at 09:00 today and out ``minutes`` later, with ``flags``."""
    start = datetime.now(Settings().zone).replace(hour=9, minute=0, second=0, microsecond=0)
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == order)
            .values(
                status="checked_out",
                checked_in_at=start,
                checked_out_at=start + timedelta(minutes=minutes),
                flags=flags,
            )
        )
        session.commit()


def test_settlement_of_the_month(client: TestClient, published: dict[str, Any]) -> None:
    clean, visit = published["orders"]  # C1 today: H1's cleaning (90 min), H2's visit
    _deliver(client, clean, 90, [])
    _deliver(client, visit, 5, [FLAG_SHORT_VISIT])
    month = published["date"][:7]
    answer = client.get(f"/api/v1/settlement?month={month}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    lines = {line["order"]: line for line in body["lines"]}
    # H1 is level 3 (care insurance): 90 minutes at 30 yuan an hour, paid by the subsidy.
    assert (lines[clean]["planned_fen"], lines[clean]["subsidy_fen"]) == (4500, 4500)
    assert lines[clean]["station"] == "S1" and lines[clean]["exception"] is None
    # H2's 5-minute welfare visit is short: its 10 yuan are withheld.
    assert (lines[visit]["withheld_fen"], lines[visit]["exception"]) == (1000, "short_visit")
    households = {h["key"]: h for h in body["households"]}
    assert households["H1"]["scheme"] == "care_insurance"
    totals = body["totals"]
    assert totals["lines"] == len(body["lines"])
    for key in ("planned_fen", "payable_fen", "withheld_fen"):
        assert totals[key] == sum(line[key] for line in body["lines"])
        assert totals[key] == sum(s[key] for s in body["stations"])
        assert totals[key] == sum(h[key] for h in body["households"])


def test_settlement_workbook(client: TestClient, published: dict[str, Any]) -> None:
    month = published["date"][:7]
    answer = client.get(f"/api/v1/settlement.xlsx?month={month}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == settlement.XLSX
    assert f'filename="settlement-{month}.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["明细", "按家庭", "按站点", "汇总"]


def test_settlement_roles_and_month(client: TestClient, published: dict[str, Any]) -> None:
    caregiver = new_token(client, "caregiver", "C1")
    planner = new_token(client, "planner")
    assert client.get("/api/v1/settlement?month=2026-12", headers=caregiver).status_code == 403
    answer = client.get("/api/v1/settlement.xlsx?month=2026-12", headers=caregiver)
    assert answer.status_code == 403
    empty = client.get("/api/v1/settlement?month=1999-12", headers=planner)
    assert empty.status_code == 200 and empty.json()["totals"]["lines"] == 0
    assert client.get("/api/v1/settlement?month=2026-13", headers=planner).status_code == 422
    assert client.get("/api/v1/settlement?month=12-2026", headers=planner).status_code == 422


def test_visiting_ledger_of_the_stored_plans(client: TestClient, published: dict[str, Any]) -> None:
    answer = client.get(f"/api/v1/visits?on={published['date']}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {row["household"]: row for row in body["households"]}
    # H2 (empty nest: monthly) has its standing welfare visit with C1 today; H1 (living alone,
    # disabled, level 3: weekly) has only a cleaning, which does not count by default.
    assert (rows["H2"]["class"], rows["H2"]["last_visit"], rows["H2"]["by"]) == (
        "key",
        published["date"],
        "C1",
    )
    assert (rows["H1"]["class"], rows["H1"]["last_visit"]) == ("high_risk", None)
    dispatcher = new_token(client, "dispatcher")
    caregiver = new_token(client, "caregiver", "C1")
    assert client.get("/api/v1/visits", headers=dispatcher).status_code == 200
    assert client.get("/api/v1/visits", headers=caregiver).status_code == 403
    assert client.get("/api/v1/visits?month=2026-13", headers=ADMIN).status_code == 422
