"""What the web console needs besides the rest of the API: who the token is, and a search of
registered households by name, phone or address for the hotline desk."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Principal, PrincipalDep, require_roles
from api.deps import ClockDep, SessionDep, SettingsDep
from api.models import CaregiverRow, HouseholdRow, MasterChangeRow, ScenarioSettings, StationRow
from api.schemas import HouseholdPublic, IsoDate
from api.services import master
from api.services.kept import Kept

__all__ = ["router"]

router = APIRouter(tags=["console"])
Dispatcher = Annotated[Principal, Depends(require_roles("dispatcher"))]
Editor = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]


class StationPlace(BaseModel):
    id: str
    name: str
    lat: float
    lon: float


class CaregiverPlace(BaseModel):
    id: str
    name: str
    station: str


class HouseholdPlace(BaseModel):
    id: str
    name: str
    lat: float
    lon: float


class Places(BaseModel):
    """What the console's map draws: stations, caregivers' stations and households' positions
    (WGS-84) in force on a day; no contact data, no requests."""

    stations: list[StationPlace]
    caregivers: list[CaregiverPlace]
    households: list[HouseholdPlace]


class WhoAmI(BaseModel):
    """The calling token: its name, role and (caregivers) caregiver id."""

    name: str
    role: str
    caregiver_id: str | None


@router.get("/whoami", response_model=WhoAmI)
async def whoami(who: PrincipalDep) -> WhoAmI:
    """The token's own name and role (the console shows the pages of that role)."""
    return WhoAmI(name=who.name, role=who.role, caregiver_id=who.caregiver_id)


@router.get(
    "/console/places",
    response_model=Places,
    responses={
        409: {
            "description": "No scenario stored yet",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
    },
)
def places(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _who: Editor,
    on: Annotated[IsoDate | None, Query()] = None,
) -> Response:
    """The master data in force on ``on`` (default today) reduced to what the map draws: a
    fraction of ``GET /master``, serialised once."""
    day: date = on or clock.now().astimezone(settings.zone).date()
    body = _places.get_or_build(_revision(session, day), lambda: _build_places(session, day))
    return Response(body, media_type="application/json")


#: Answers of ``/console/places`` by :func:`_revision`: building one reads and applies the whole
#: master data (most of a second for 1,500 households), the day board asks for it every time.
_places: Kept[tuple[object, ...], bytes] = Kept(16)


def _revision(session: Session, day: date) -> tuple[object, ...]:
    """What the places of ``day`` are built from: the stored master data's revision (an
    import, a contact change or a dated change moves it: :func:`api.services.master.revision`)
    and the day."""
    return (master.revision(session), day)


def _build_places(session: Session, day: date) -> bytes:
    document: dict[str, Any]
    if session.scalar(select(func.count(MasterChangeRow.id))):
        document = master.master_document(session, day)
    else:  # nothing dated: the master data as imported, read without the requests
        if session.get(ScenarioSettings, 1) is None:
            master.base_document(session)  # 409: no scenario stored
        document = {
            "stations": session.scalars(select(StationRow.data).order_by(StationRow.position)),
            "caregivers": session.scalars(
                select(CaregiverRow.data).order_by(CaregiverRow.position)
            ),
            "households": session.scalars(
                select(HouseholdRow.data).order_by(HouseholdRow.position)
            ),
        }
    body = {
        "stations": [
            {"id": s["id"], "name": s.get("name", ""), "lat": s["lat"], "lon": s["lon"]}
            for s in document.get("stations", [])
        ],
        "caregivers": [
            {"id": c["id"], "name": c.get("name", ""), "station": c["station"]}
            for c in document.get("caregivers", [])
        ],
        "households": [
            {"id": h["id"], "name": h.get("name", ""), "lat": h["lat"], "lon": h["lon"]}
            for h in document.get("households", [])
        ],
    }
    return json.dumps(body, ensure_ascii=False).encode()


@router.get("/lookup/households", response_model=list[HouseholdPublic])
def find_households(
    session: SessionDep,
    _who: Dispatcher,
    q: Annotated[str, Query(min_length=1, max_length=100, description="name, phone or address")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[HouseholdPublic]:
    """Registered households whose name, phone or address contains ``q`` (case-insensitive),
    in id order, at most ``limit``: the hotline desk finds its caller."""
    needle = q.strip().lower()
    found: list[HouseholdPublic] = []
    if not needle:
        return found
    digits = "".join(c for c in needle if c.isdigit())
    for row in session.scalars(select(HouseholdRow).order_by(HouseholdRow.id)):
        phone = row.phone or ""
        if (
            needle in row.name.lower()
            or needle in row.address.lower()
            or needle in row.id.lower()
            or (len(digits) >= 3 and digits in "".join(c for c in phone if c.isdigit()))
        ):
            found.append(
                HouseholdPublic(
                    id=row.id,
                    name=row.name,
                    address=row.address,
                    lat=row.lat,
                    lon=row.lon,
                    phone=phone or None,
                    notes=row.notes,
                )
            )
            if len(found) >= limit:
                break
    return found
