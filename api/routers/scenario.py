"""Scenario import/export (contract format 1), sheet imports, household contact cards."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth import Principal, require_roles
from api.deps import SessionDep
from api.models import HouseholdRow
from api.schemas import (
    GeocodedRowPublic,
    GeocodeFlagPublic,
    HouseholdImportPublic,
    HouseholdPublic,
    ImportReportPublic,
    ScenarioImportPublic,
    SheetRefusedBody,
    SheetRefusedResponse,
)
from api.services import locality, master, sheets
from api.services import scenario as scenario_service
from api.services.errors import NotFound, TooLarge
from api.services.privacy import mask_id_number, mask_phone
from api.settings import Settings
from dispatch.geocode import Geocoder

__all__ = ["MAX_UPLOAD_BYTES", "GeocoderDep", "get_geocoder", "router"]

#: Largest sheet a household or caregiver import accepts, in bytes (413 beyond).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_CHUNK = 64 * 1024

router = APIRouter(tags=["scenario"])
Editor = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]
_GEOCODER_LOCK = threading.Lock()


def get_geocoder(request: Request) -> Geocoder | None:
    """The running app's geocoder: ``app.state.geocoder`` when set (tests put a fake there),
    else the one the settings configure (``DISPATCH_GEOCODER``), built on first use with its
    persistent cache and kept there; ``None`` when none is configured. One that cannot be built
    (a missing answers file) is not kept: its stand-in fails each lookup saying why, and the
    next import tries again. Synchronous: building one opens its cache file, which FastAPI
    does in a worker thread."""
    state = request.app.state
    with _GEOCODER_LOCK:
        if not hasattr(state, "geocoder"):
            settings: Settings = state.settings
            key = settings.geocoder_key
            try:
                state.geocoder = sheets.configured_geocoder(
                    settings.geocoder,
                    None if key is None else key.get_secret_value(),
                    settings.geocode_cache,
                )
            except sheets.GeocoderUnavailable as exc:
                return sheets.UnusableGeocoder(str(exc))
    geocoder: Geocoder | None = state.geocoder
    return geocoder


GeocoderDep = Annotated[Geocoder | None, Depends(get_geocoder)]
"""The geocoder of sheet imports (``None``: none configured)."""


@router.post("/scenario", response_model=ScenarioImportPublic)
def import_scenario(
    session: SessionDep, _who: Editor, document: Annotated[dict[str, Any], Body()]
) -> ScenarioImportPublic:
    """Replace the stored scenario with this format-1 document (all or nothing).

    Invalid documents answer 422 naming every field (``body.households[0].lat``); the stored
    scenario is then unchanged. Households that keep their id keep their contact data. A
    household with an assessment level and no requests gets the locality's default package
    for its level (``GET /locality``, ``packages``).
    """
    parsed = scenario_service.store_scenario(
        session, document, packages=locality.current(session).money
    )
    s = parsed.scenario
    return ScenarioImportPublic(
        name=s.name,
        stations=len(s.stations),
        caregivers=len(s.caregivers),
        households=len(s.households),
        requests=sum(len(h.requests) for h in s.households),
        warnings=[f"{w.path}: {w.message}" if w.path else w.message for w in parsed.warnings],
    )


@router.get("/scenario")
def export_scenario(session: SessionDep, _who: Editor) -> dict[str, Any]:
    """The stored scenario as a format-1 document (WGS-84; no contact data)."""
    document = scenario_service.current_document(session)
    if document is None:
        raise NotFound("尚未导入场景 / no scenario has been imported yet")
    return document


def _content(file: UploadFile) -> bytes:
    """The uploaded file, read in chunks: 413 as soon as it passes :data:`MAX_UPLOAD_BYTES`,
    without holding more than that."""
    chunks, size = [], 0
    while chunk := file.file.read(_CHUNK):
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise TooLarge(
                f"文件过大 / the file is larger than {MAX_UPLOAD_BYTES} bytes", path="file"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _report(report: sheets.ImportReport) -> ImportReportPublic:
    return ImportReportPublic(
        rows=report.rows, created=list(report.created), updated=list(report.updated)
    )


def _geocoded(found: sheets.GeocodedRow) -> GeocodedRowPublic:
    point = found.lookup.point
    assert point is not None  # only rows with a point are listed
    return GeocodedRowPublic(
        row=found.row,
        household=found.household,
        address=found.lookup.address,
        lat=point.lat,
        lon=point.lon,
        confidence=point.confidence,
        level=point.level,
        candidates=point.candidates,
        flags=[GeocodeFlagPublic(code=f.code, message=f.message) for f in found.lookup.flags],
        message=found.message,
    )


def _refused(exc: sheets.SheetRefused) -> JSONResponse:
    """The one error shape, with the geocoded and flagged rows listed beside the fields."""
    body = SheetRefusedResponse(
        error=SheetRefusedBody(
            code=exc.code,
            message=exc.message,
            fields=[{"path": f.path, "message": f.message} for f in exc.fields],
            geocoded=[_geocoded(f) for f in exc.geocoded],
            flagged=[_geocoded(f) for f in exc.flagged],
        )
    )
    return JSONResponse(status_code=422, content=jsonable_encoder(body))


# The imports are plain functions: FastAPI runs them in its thread pool, so that reading a
# sheet with pandas never holds up the event loop (and every other request) while it lasts.


@router.post(
    "/import/households",
    response_model=HouseholdImportPublic,
    responses={
        422: {
            "model": SheetRefusedResponse,
            "description": "Invalid input, row errors or flagged geocoded rows (nothing stored)",
        }
    },
)
def import_households(
    session: SessionDep,
    _who: Editor,
    geocoder: GeocoderDep,
    file: Annotated[UploadFile, File()],
    accept_flagged: Annotated[
        bool,
        Query(
            description="Store the points of flagged geocoded rows (low confidence, only a "
            "district or road, several places) instead of refusing the sheet."
        ),
    ] = False,
) -> Any:
    """Households (one row per request, with phone/ID/notes) from .xlsx or .csv.

    Any row error answers 422 listing each as ``第3行 / row 3: lat: ...``; nothing is stored.
    A row with an ``address`` and empty ``lat``/``lon`` is geocoded (``DISPATCH_GEOCODER``,
    docs/geocoding.md): an address not found is a row error; a doubtful answer is flagged and
    the sheet answers 422 ``geocode_review`` unless ``accept_flagged=true``. Both answers list
    the ``geocoded`` and ``flagged`` rows with the point found and why. A file over 5 MB, or an
    .xlsx that would expand beyond its limit, answers 413. Text cells that a spreadsheet would
    run as a formula answer 422 (see :mod:`api.services.sheets`).
    """
    tables = locality.current(session).money
    try:
        report = sheets.import_households(
            session,
            _content(file),
            file.filename or "",
            packages=tables,
            geocoder=geocoder,
            accept_flagged=accept_flagged,
        )
    except sheets.SheetRefused as exc:
        return _refused(exc)
    return HouseholdImportPublic(
        **_report(report).model_dump(),
        geocoded=[_geocoded(f) for f in report.geocoded],
        flagged=[_geocoded(f) for f in report.flagged],
    )


@router.post("/import/caregivers", response_model=ImportReportPublic)
def import_caregivers(
    session: SessionDep, _who: Editor, file: Annotated[UploadFile, File()]
) -> ImportReportPublic:
    """Caregivers (shifts as ``mon``…``sun`` columns ``08:00-17:00``) from .xlsx or .csv;
    limits and refusals as for households."""
    return _report(sheets.import_caregivers(session, _content(file), file.filename or ""))


@router.get("/households/{household_id}", response_model=HouseholdPublic)
def get_household(session: SessionDep, who: Editor, household_id: str) -> HouseholdPublic:
    """A household's contact card; planners see phone and ID number masked."""
    full = who.role in ("admin", "dispatcher")
    row = session.get(HouseholdRow, household_id)
    if row is not None:
        card = HouseholdPublic(
            id=row.id,
            name=row.name,
            address=row.address,
            lat=row.lat,
            lon=row.lon,
            phone=row.phone,
            id_number=row.id_number,
            notes=row.notes,
        )
    else:  # registered after the import: its latest dated change carries the card
        changes = [c for c in master.list_changes(session, entity=household_id) if c.data]
        changes = [c for c in changes if c.kind == "household"]
        if not changes:
            raise NotFound(f"住户不存在 / no household {household_id}")
        data, contact = changes[-1].data or {}, changes[-1].contact or {}
        card = HouseholdPublic(
            id=household_id,
            name=str(data.get("name", "")),
            address=str(data.get("address", "")),
            lat=float(data.get("lat", 0.0)),
            lon=float(data.get("lon", 0.0)),
            phone=contact.get("phone"),
            id_number=contact.get("id_number"),
            notes=str(contact.get("notes", "")),
        )
    if not full:
        card.phone, card.id_number = mask_phone(card.phone), mask_id_number(card.id_number)
    return card
