"""The visiting programme and the locality's tables: the ledger (探访台账) and 月探访率 of the
stored plans (``GET /visits?on=&month=``, dispatchers, planners and admins), a desk's phone
visits (``POST /visits/phone``, dispatchers), the programme tables (``GET /locality``;
``PUT /locality`` for planners)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, require_roles
from api.deps import SessionDep, SettingsDep
from api.schemas import IsoDate
from api.services import locality
from api.services.settlement import month_range
from api.services.visits import visits_ledger

__all__ = ["router"]

router = APIRouter(tags=["programmes"])
Reader = Annotated[Principal, Depends(require_roles("dispatcher", "planner"))]
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, e.g. 2026-12")
]


@router.get("/visits", summary="The visiting ledger and monthly visit rate (探访台账, 月探访率)")
def get_visits(
    session: SessionDep,
    settings: SettingsDep,
    _who: Reader,
    on: Annotated[IsoDate | None, Query(description="the ledger's day (default today)")] = None,
    month: Month = None,
) -> dict[str, Any]:
    """Per household of the visiting programme: class, last visit, by whom, next due, overdue
    days; the visit rate of ``month`` (default: that of ``on``) per station, street and
    district, with a reason for every miss. 409 when no scenario is stored."""
    day = on if on is not None else datetime.now(settings.zone).date()
    first = month_range(month)[0] if month else None
    return visits_ledger(session, day, first)


class PhoneVisitIn(BaseModel):
    """A desk's visiting call (电话探访): the household, the day (default today), the desk and
    a note."""

    model_config = ConfigDict(extra="forbid", strict=True)

    household: str = Field(min_length=1, max_length=64)
    date: IsoDate | None = None
    desk: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


class PhoneVisitPublic(BaseModel):
    """A stored phone visit."""

    id: int
    household: str
    date: date
    desk: str
    note: str


Desk = Annotated[Principal, Depends(require_roles("dispatcher"))]
Planner = Annotated[Principal, Depends(require_roles("planner"))]


@router.post("/visits/phone", status_code=201, response_model=PhoneVisitPublic)
def post_phone_visit(
    session: SessionDep, settings: SettingsDep, who: Desk, body: PhoneVisitIn
) -> PhoneVisitPublic:
    """Record a desk's visiting call; the ledger counts it when the locality's rule allows
    phone visits. 422 naming ``body.household`` for a household not in the master data."""
    day = body.date if body.date is not None else datetime.now(settings.zone).date()
    row = locality.add_phone_visit(session, body.household, day, body.desk, body.note, who.name)
    return PhoneVisitPublic(
        id=row.id, household=row.household_id, date=row.visit_date, desk=row.desk, note=row.note
    )


@router.get("/locality", summary="The locality's programme tables")
def get_locality(session: SessionDep, _who: Reader) -> dict[str, Any]:
    """The stored programme tables (visiting rules, prices, entitlements, packages, the
    circle's minutes and streets), else the bundled defaults (docs/programmes/)."""
    return locality.document(session)


@router.put("/locality", summary="Replace the locality's programme tables")
def put_locality(session: SessionDep, who: Planner, body: dict[str, Any]) -> dict[str, Any]:
    """Store a whole locality document. It is checked whole first: every bad field of every
    section is named (422, ``body.visiting.classes[0].tags_any[1]``) and nothing stored
    changes."""
    locality.store(session, body, who.name)
    return locality.document(session)
