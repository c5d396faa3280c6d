"""Plan versions: list, read, store a finished plan document, publish."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from api.auth import Principal, require_roles
from api.deps import SessionDep
from api.models import PlanRow
from api.schemas import PlanPublic, PlanSummary
from api.services import plans

__all__ = ["router"]

router = APIRouter(prefix="/plans", tags=["plans"])
Reader = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]


def _summary(row: PlanRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PlanSummary.model_fields}


@router.get("", response_model=list[PlanSummary])
def list_plans(session: SessionDep, _who: Reader) -> list[PlanSummary]:
    """Every plan version, newest first."""
    return [PlanSummary(**_summary(row)) for row in plans.list_plans(session)]


@router.post("", response_model=PlanPublic, status_code=201)
def store_plan(
    session: SessionDep,
    who: Reader,
    document: Annotated[dict[str, Any], Body()],
    name: Annotated[str, Query(max_length=200)] = "",
) -> PlanPublic:
    """Store a finished format-1 plan of the stored scenario as a new version (status done).

    It does not replace the published plan until it is published itself.
    """
    row = plans.store_plan(session, document, name=name, created_by=who.name)
    return PlanPublic(**_summary(row), document=row.document)


@router.get("/{plan_id}", response_model=PlanPublic)
def get_plan(session: SessionDep, _who: Reader, plan_id: int) -> PlanPublic:
    """One plan version with its document."""
    row = plans.get_plan(session, plan_id)
    return PlanPublic(**_summary(row), document=row.document)


@router.post("/{plan_id}/publish", response_model=PlanSummary)
def publish_plan(session: SessionDep, _who: Reader, plan_id: int) -> PlanSummary:
    """Make this plan the one in use: one work order per stop, dispatched to its caregiver;
    open orders of the previously published plan are cancelled."""
    return PlanSummary(**_summary(plans.publish_plan(session, plan_id)))
