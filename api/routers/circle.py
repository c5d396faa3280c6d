"""The 15-minute elderly-care circle (15分钟养老服务圈) and where to open a station.

``GET /circle`` and ``GET /circle.geojson`` show who lives more than ``minutes`` from every
station (planners, dispatchers); ``POST /siting`` proposes ``k`` new sites (planners). All read
the stored master data of the ISO week of ``date`` (default today) and store nothing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, require_roles
from api.deps import ClockDep, SessionDep, SettingsDep
from api.schemas import IsoDate
from api.services import circle as service
from dispatch.programmes.circle import Coverage, circle_geojson
from dispatch.programmes.siting import Candidate

__all__ = ["router"]

router = APIRouter(tags=["circle"])
Reader = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]
Planner = Annotated[Principal, Depends(require_roles("planner"))]
Minutes = Annotated[
    int | None,
    Query(ge=1, le=120, description="the circle's minutes (default: the locality's, 15)"),
]
Day = Annotated[
    IsoDate | None, Query(alias="date", description="a day of the week (default today)")
]


def _day(day: date | None, clock: ClockDep, settings: SettingsDep) -> date:
    return day or clock.now().astimezone(settings.zone).date()


class OutsidePublic(BaseModel):
    """A household outside the circle: minutes to its nearest station (``null`` without any)."""

    id: str
    name: str
    lat: float
    lon: float
    minutes: int | None
    station: str | None


class CoveragePublic(BaseModel):
    """Households of an area and the share of them inside the circle."""

    area: str
    households: int
    inside: int
    share: float


class CirclePublic(BaseModel):
    """Who is outside the circle, and the coverage per station, street and district."""

    minutes: int
    outside: list[OutsidePublic]
    stations: list[CoveragePublic]
    streets: list[CoveragePublic]
    district: CoveragePublic


class CandidateIn(BaseModel):
    """A point where a station could open (WGS-84)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    name: str = Field(default="", max_length=200)


class SitingIn(BaseModel):
    """How many sites to open, where they may go (default: the households' own positions) and
    the circle's minutes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    k: int = Field(ge=0, le=20)
    candidates: list[CandidateIn] | None = Field(default=None, max_length=2000)
    minutes: int = Field(default=15, ge=1, le=120)


class SitePublic(BaseModel):
    """A proposed new station."""

    id: str
    name: str
    lat: float
    lon: float


class SitingPublic(BaseModel):
    """The proposed sites and the circle before and after them. ``need_*`` are need weights
    (assessment level + 1 per household); ``optimal`` says the solver proved the choice best."""

    minutes: int
    mode: str
    sites: list[SitePublic]
    outside_before: list[str]
    outside_after: list[str]
    share_inside_before: float
    share_inside_after: float
    need_inside_before: int
    need_inside_after: int
    need_total: int
    optimal: bool


def _coverage(c: Coverage) -> CoveragePublic:
    return CoveragePublic(area=c.area, households=c.households, inside=c.inside, share=c.share)


@router.get("/circle", response_model=CirclePublic)
def circle(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _who: Reader,
    minutes: Minutes = None,
    day: Day = None,
) -> CirclePublic:
    """Households more than ``minutes`` from their nearest station (by that station's
    caregivers' mode), and the share inside per station, street (a station is its own) and
    district. 409 when no scenario is stored."""
    _scenario, report = service.circle(session, _day(day, clock, settings), minutes)
    return CirclePublic(
        minutes=report.limit,
        outside=[
            OutsidePublic(
                id=r.household,
                name=r.name,
                lat=r.lat,
                lon=r.lon,
                minutes=r.minutes,
                station=r.station,
            )
            for r in report.outside
        ],
        stations=[_coverage(c) for c in report.stations],
        streets=[_coverage(c) for c in report.streets],
        district=_coverage(report.district),
    )


@router.get(
    "/circle.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def circle_map(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _who: Reader,
    minutes: Minutes = None,
    day: Day = None,
) -> Response:
    """The circle as a GeoJSON FeatureCollection (RFC 7946, ``[lon, lat]``): households with
    ``minutes``, ``station`` and ``inside``; stations with ``kind`` "station"."""
    scenario, report = service.circle(session, _day(day, clock, settings), minutes)
    body = json.dumps(circle_geojson(scenario, report), ensure_ascii=False)
    return Response(body, media_type="application/geo+json")


@router.post("/siting", response_model=SitingPublic)
def siting(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _who: Planner,
    body: SitingIn,
    day: Day = None,
) -> SitingPublic:
    """The ``k`` new sites (at most 20, among at most 2000 candidates) that bring the most
    need inside the circle; households already inside count as covered. Nothing is stored:
    the sites are a what-if (``add_stations``). 409 when no scenario is stored."""
    candidates = (
        None
        if body.candidates is None
        else [Candidate(c.lat, c.lon, c.name) for c in body.candidates]
    )
    result = service.siting(session, _day(day, clock, settings), body.k, body.minutes, candidates)
    return SitingPublic(
        minutes=result.limit,
        mode=result.mode,
        sites=[SitePublic(id=s.id, name=s.name, lat=s.lat, lon=s.lon) for s in result.sites],
        outside_before=list(result.outside_before),
        outside_after=list(result.outside_after),
        share_inside_before=result.share_before,
        share_inside_after=result.share_after,
        need_inside_before=result.weight_before,
        need_inside_after=result.weight_after,
        need_total=result.total_weight,
        optimal=result.optimal,
    )
