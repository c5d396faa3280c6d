"""Master data over time: changes dated from a day, withdrawal of future ones, registration of
households (a hotline caller becomes one only this way), and the master data of any date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, require_roles
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from api.models import MasterChangeRow
from api.schemas import HouseholdRegister, IsoDate, MasterChangeCreate, MasterChangePublic
from api.services import master

__all__ = ["router"]

router = APIRouter(tags=["master data"])
Editor = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]


def _today(clock: ClockDep, settings: SettingsDep) -> date:
    return clock.now().astimezone(settings.zone).date()


Today = Annotated[date, Depends(_today)]


def _public(row: MasterChangeRow) -> MasterChangePublic:
    return MasterChangePublic(
        id=row.id,
        kind=row.kind,
        entity=row.entity_id,
        effective_from=row.effective_from,
        data=row.data,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get("/master/changes", response_model=list[MasterChangePublic])
def list_changes(
    session: SessionDep,
    _who: Editor,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[IsoDate | None, Query(alias="from")] = None,
) -> list[MasterChangePublic]:
    """Stored changes in the order they apply (by date, then as entered), optionally of one
    entity or from a date on."""
    return [_public(r) for r in master.list_changes(session, entity=entity, since=since)]


@router.post("/master/changes", response_model=MasterChangePublic, status_code=201)
def add_change(session: SessionDep, who: Editor, body: MasterChangeCreate) -> MasterChangePublic:
    """A change of a station, caregiver or household from ``effective_from`` on (``data``:
    its whole object from then; ``null``: it ends then). A week's plan is made from the master
    data of that week; plans already stored keep theirs. 422 naming the field when the master
    data would not be valid on that date or a later change's; nothing is stored then."""
    row = master.add_change(
        session,
        kind=body.kind,
        entity=body.id,
        effective_from=body.effective_from,
        data=body.data,
        contact=body.contact.model_dump() if body.contact is not None else None,
        reason=body.reason,
        created_by=who.name,
    )
    return _public(row)


@router.delete("/master/changes/{change_id}", response_model=MasterChangePublic)
def withdraw_change(
    session: SessionDep, today: Today, _who: Editor, change_id: IdPath
) -> MasterChangePublic:
    """Withdraw a change that has not taken effect yet (409 for one in force already)."""
    return _public(master.cancel_change(session, change_id, today=today))


@router.post("/households", response_model=MasterChangePublic, status_code=201)
def register_household(
    session: SessionDep, today: Today, who: Editor, body: HouseholdRegister
) -> MasterChangePublic:
    """Register a household (登记服务对象) from ``effective_from`` (default today), e.g. a
    hotline caller (``from_order``): until then a caller is only their orders' caller. 409
    when the id is a household in force that day already."""
    row = master.register_household(
        session,
        body.household,
        effective_from=body.effective_from or today,
        contact=body.contact.model_dump() if body.contact is not None else None,
        from_order=body.from_order,
        created_by=who.name,
    )
    return _public(row)


@router.get("/master")
def master_on(
    session: SessionDep,
    today: Today,
    _who: Editor,
    on: Annotated[IsoDate | None, Query()] = None,
) -> dict[str, Any]:
    """The master data in force on ``on`` (default today) as a format-1 document, every
    dated change up to that day applied (no one-off orders, no contact data)."""
    return master.master_document(session, on or today)
