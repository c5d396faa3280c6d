"""The dispatcher's day board (``GET /routes``) is kept between reads only while it is exact:
an order that changes, a visit that turns late and a clock that goes back all give the answer a
fresh build gives."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.models import WorkOrder
from tests.api.conftest import ADMIN, plan_doc, this_monday, week_scenario_doc
from tests.api.test_work_orders import at, set_clock

MONDAY = this_monday()


@pytest.fixture
def board(client: TestClient) -> TestClient:
    """Monday's plan published: C1 cleans at H1 from 09:00 and visits H2 from 10:40."""
    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    assert (
        client.post(f"/api/v1/plans/{stored.json()['id']}/publish", headers=ADMIN).status_code
        == 200
    )
    return client


def _c1(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/routes?date={MONDAY}", headers=ADMIN)
    assert answer.status_code == 200
    return list(answer.json()["C1"])


def test_a_visit_turns_late_on_a_kept_board(board: TestClient) -> None:
    set_clock(board, at("09:10", MONDAY))
    first = _c1(board)
    assert [o["late"] for o in first] == [False, False]
    assert _c1(board) == first  # the kept answer, the same
    set_clock(board, at("09:16", MONDAY))  # 15 minutes after H1's 09:00 start have passed
    assert [o["late"] for o in _c1(board)] == [True, False]
    set_clock(board, at("09:10", MONDAY))  # a clock set back: built again, not kept
    assert [o["late"] for o in _c1(board)] == [False, False]


def test_a_changed_order_shows_at_once(board: TestClient) -> None:
    set_clock(board, at("08:00", MONDAY))
    before = _c1(board)
    order = before[0]["id"]
    assert board.post(f"/api/v1/work-orders/{order}/accept", headers=ADMIN).status_code == 200
    assert [o["status"] for o in _c1(board)] == ["accepted", "dispatched"]
    # A change written around the services (a bulk update) is seen too: every update of an
    # order stamps its updated_at, which the board's key reads.
    database = board.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        session.execute(update(WorkOrder).where(WorkOrder.id == order).values(notes="带钥匙"))
        session.commit()
    assert _c1(board)[0]["notes"] == "带钥匙"
