"""What the web console needs besides the rest of the API: who the token is, and a search of
registered households by name, phone or address for the hotline desk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.auth import Principal, PrincipalDep, require_roles
from api.deps import SessionDep
from api.models import HouseholdRow
from api.schemas import HouseholdPublic

__all__ = ["router"]

router = APIRouter(tags=["console"])
Dispatcher = Annotated[Principal, Depends(require_roles("dispatcher"))]


class WhoAmI(BaseModel):
    """The calling token: its name, role and (caregivers) caregiver id."""

    name: str
    role: str
    caregiver_id: str | None


@router.get("/whoami", response_model=WhoAmI)
async def whoami(who: PrincipalDep) -> WhoAmI:
    """The token's own name and role (the console shows the pages of that role)."""
    return WhoAmI(name=who.name, role=who.role, caregiver_id=who.caregiver_id)


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
