"""Monthly settlement (结算) of the plans in force: lines, per household, per station, totals.

``GET /settlement?month=2026-12`` answers JSON with amounts in integer fen (分) and yuan
strings beside them; ``GET /settlement.xlsx?month=2026-12`` the same month as an Excel
workbook (sheets 明细, 按家庭, 按站点, 汇总). Dispatchers, planners and admins may read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Principal, require_roles
from api.deps import ClockDep, SessionDep, SettingsDep
from api.routers.work_orders import rules_of
from api.services.settlement import month_settlement
from dispatch.programmes.settlement import (
    EXCEPTIONS,
    SettledLine,
    Totals,
    settlement_workbook,
)

__all__ = ["XLSX", "router"]

router = APIRouter(tags=["settlement"])
#: The media type of an .xlsx workbook.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Reader = Annotated[Principal, Depends(require_roles("dispatcher", "planner"))]
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, e.g. 2026-12")]


def _yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _totals(t: Totals) -> dict[str, Any]:
    return {
        "key": t.key,
        "lines": t.lines,
        "planned_fen": t.planned,
        "subsidy_fen": t.subsidy,
        "family_fen": t.family,
        "payable_fen": t.payable,
        "withheld_fen": t.withheld,
        "payable_yuan": _yuan(t.payable),
        "withheld_yuan": _yuan(t.withheld),
    }


def _line(x: SettledLine) -> dict[str, Any]:
    v = x.visit
    return {
        "order": v.order,
        "date": v.date.isoformat(),
        "household": v.household,
        "station": v.station,
        "caregiver": v.caregiver,
        "service": v.service,
        "planned_minutes": v.planned_minutes,
        "delivered_minutes": x.delivered_minutes,
        "planned_fen": x.planned,
        "subsidy_fen": x.subsidy,
        "family_fen": x.family,
        "payable_fen": x.payable,
        "withheld_fen": x.withheld,
        "exception": x.exception,
        "exception_text": None if x.exception is None else " / ".join(EXCEPTIONS[x.exception]),
        "flags": list(v.flags),
    }


@router.get("/settlement", summary="A month's settlement (结算)")
def get_settlement(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, _who: Reader, month: Month
) -> dict[str, Any]:
    """Lines, totals per household and per station, and the month's totals, in fen."""
    s = month_settlement(session, month, clock.now(), rules_of(settings))
    return {
        "month": s.month,
        "lines": [_line(x) for x in s.lines],
        "households": [{**_totals(t), "scheme": s.schemes.get(t.key, "")} for t in s.households],
        "stations": [_totals(t) for t in s.stations],
        "totals": _totals(s.total),
    }


@router.get(
    "/settlement.xlsx",
    summary="A month's settlement as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The workbook"}},
)
def get_settlement_workbook(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, _who: Reader, month: Month
) -> Response:
    """The month's settlement workbook: sheets 明细, 按家庭, 按站点, 汇总."""
    s = month_settlement(session, month, clock.now(), rules_of(settings))
    return Response(
        settlement_workbook(s),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="settlement-{month}.xlsx"'},
    )
