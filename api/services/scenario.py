"""The stored scenario: import (replace-all, one transaction), export, contact data.

A scenario document is validated by :func:`dispatch.scenario_io.parse_scenario` before the
database is touched; the stored form is the normalised document of
:func:`dispatch.scenario_io.scenario_to_dict` (WGS-84, every default explicit), so an export
is a valid format-1 document. Elders' contact data (``phone``, ``id_number``, ``notes``) is not
part of the format: it is kept per household id across JSON imports and set by sheet imports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.models import (
    CaregiverRow,
    HouseholdRow,
    MasterChangeRow,
    RequestRow,
    ScenarioSettings,
    StationRow,
    utcnow,
)
from api.services.travel import with_travel
from dispatch.document import DocumentError
from dispatch.model import DAYS, Scenario
from dispatch.programmes.entitlements import Tables
from dispatch.programmes.packages import apply_packages
from dispatch.scenario_io import (
    FORMAT_VERSION,
    ParsedScenario,
    ScenarioError,
    ValidationIssue,
    load_json,
    parse_scenario,
    scenario_to_dict,
)

__all__ = [
    "Contact",
    "current_document",
    "current_scenario",
    "empty_document",
    "is_empty",
    "load_demo",
    "store_scenario",
]

log = logging.getLogger("api.scenario")


@dataclass(frozen=True)
class Contact:
    """Contact data of a household that the scenario format does not carry."""

    phone: str | None = None
    id_number: str | None = None
    notes: str = ""


def empty_document() -> dict[str, Any]:
    """The frame used before any scenario is stored: every day of the week, nothing in it."""
    return {
        "format": FORMAT_VERSION,
        "name": "",
        "days": list(DAYS),
        "stations": [],
        "caregivers": [],
        "households": [],
    }


def is_empty(session: Session) -> bool:
    """True when no scenario has been stored yet."""
    return (
        session.get(ScenarioSettings, 1) is None
        and session.scalar(select(func.count()).select_from(HouseholdRow)) == 0
    )


def current_document(session: Session) -> dict[str, Any] | None:
    """The stored scenario as a format-1 document, or ``None`` when none is stored."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        return None
    out: dict[str, Any] = {"format": FORMAT_VERSION, "name": frame.name}
    if frame.week_start is not None:
        out["week_start"] = frame.week_start
    out["days"] = list(frame.days)
    out["travel"] = dict(frame.travel)
    out["stations"] = [
        dict(s.data) for s in session.scalars(select(StationRow).order_by(StationRow.position))
    ]
    out["caregivers"] = [
        dict(c.data) for c in session.scalars(select(CaregiverRow).order_by(CaregiverRow.position))
    ]
    households = []
    for h in session.scalars(select(HouseholdRow).order_by(HouseholdRow.position)):
        doc = dict(h.data)
        doc["requests"] = [dict(r.data) for r in h.requests]
        households.append(doc)
    out["households"] = households
    return out


def current_scenario(session: Session) -> Scenario | None:
    """The stored scenario as model values, or ``None`` when none is stored."""
    doc = current_document(session)
    return None if doc is None else with_travel(parse_scenario(doc).scenario)


def _contacts(session: Session) -> dict[str, Contact]:
    return {
        h.id: Contact(phone=h.phone, id_number=h.id_number, notes=h.notes)
        for h in session.scalars(select(HouseholdRow))
    }


def _replace_rows(
    session: Session, document: Mapping[str, Any], contacts: Mapping[str, Contact]
) -> None:
    session.execute(delete(RequestRow))
    session.execute(delete(HouseholdRow))
    session.execute(delete(CaregiverRow))
    session.execute(delete(StationRow))
    session.execute(delete(ScenarioSettings))
    session.flush()
    session.add(
        ScenarioSettings(
            id=1,
            name=document.get("name", ""),
            week_start=document.get("week_start"),
            days=list(document["days"]),
            travel=dict(document.get("travel", {})),
            updated_at=utcnow(),
        )
    )
    for i, s in enumerate(document["stations"]):
        session.add(
            StationRow(
                id=s["id"],
                position=i,
                name=s.get("name", ""),
                address=s.get("address", ""),
                lat=s["lat"],
                lon=s["lon"],
                data=dict(s),
            )
        )
    session.flush()  # caregivers reference stations
    for i, c in enumerate(document["caregivers"]):
        session.add(
            CaregiverRow(
                id=c["id"],
                position=i,
                station_id=c["station"],
                name=c.get("name", ""),
                gender=c.get("gender"),
                data=dict(c),
            )
        )
    for i, h in enumerate(document["households"]):
        contact = contacts.get(h["id"], Contact())
        data = {k: v for k, v in h.items() if k != "requests"}
        row = HouseholdRow(
            id=h["id"],
            position=i,
            name=h.get("name", ""),
            address=h.get("address", ""),
            lat=h["lat"],
            lon=h["lon"],
            phone=contact.phone,
            id_number=contact.id_number,
            notes=contact.notes,
            data=data,
        )
        row.requests = [
            RequestRow(id=r["id"], position=j, service=r["service"], data=dict(r))
            for j, r in enumerate(h.get("requests", ()))
        ]
        session.add(row)


# Column sizes of the tables (api/models.py): longer texts are input errors, not database errors.
_SIZES = {"id": 64, "name": 200, "address": 400, "station": 64, "service": 64}


def _check_sizes(document: Mapping[str, Any]) -> None:
    """Raise :class:`ScenarioError` for texts longer than their columns or holding NUL."""
    issues: list[ValidationIssue] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str) and "\x00" in value:
            issues.append(ValidationIssue(path, "contains a NUL character"))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                limit = _SIZES.get(str(key)) if path else (200 if key == "name" else None)
                if limit is not None and isinstance(item, str) and len(item) > limit:
                    issues.append(ValidationIssue(child, f"longer than {limit} characters"))
                walk(item, child)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(document, "")
    if issues:
        raise ScenarioError(issues)


def store_scenario(
    session: Session,
    data: Mapping[str, Any],
    *,
    contacts: Mapping[str, Contact] | None = None,
    keep_changes: bool = False,
    packages: Tables | None = None,
) -> ParsedScenario:
    """Validate ``data`` and make it the stored scenario, replacing all of the old one and,
    unless ``keep_changes`` (a sheet updating some rows of it), its dated changes
    (:mod:`api.services.master`; one-off orders stay, they are operations).

    Contact data of households that keep their id is kept unless ``contacts`` gives new
    data for them. With ``packages`` (the locality's tables), a household with an assessment
    level and no requests gets its level's default package. Everything happens in one
    transaction: on any error nothing changes. Raises
    :class:`dispatch.scenario_io.ScenarioError` naming every invalid field (a household whose
    level has no package by its ``requests``).
    """
    parsed = parse_scenario(data)
    if packages is not None:
        parsed = replace(parsed, scenario=_with_packages(parsed.scenario, packages))
    document = scenario_to_dict(parsed.scenario)
    _check_sizes(document)
    try:
        merged = _contacts(session)
        merged.update(contacts or {})
        if not keep_changes:  # the document is the whole master data now
            session.execute(delete(MasterChangeRow))
        _replace_rows(session, document, merged)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return parsed


def _with_packages(scenario: Scenario, tables: Tables) -> Scenario:
    """``scenario`` with the default packages (:func:`dispatch.programmes.packages.apply_packages`);
    a level without a package is reported on each household that needs one."""
    try:
        return apply_packages(scenario, tables)
    except DocumentError:
        problems = [
            ValidationIssue(
                f"households[{i}].requests",
                f"no requests, and the locality has no default package for assessment level "
                f"{h.assessment_level} (packages.{h.assessment_level})",
            )
            for i, h in enumerate(scenario.households)
            if h.assessment_level is not None
            and not h.requests
            and h.assessment_level not in tables.packages
        ]
        raise ScenarioError(problems) from None


def load_demo(session: Session, path: str | Path) -> bool:
    """Import the scenario file at ``path`` when the database is empty; True when imported.

    A missing file is skipped; an invalid one is logged and skipped (the service still starts).
    """
    file = Path(path)
    if not file.is_file() or not is_empty(session):
        return False
    try:
        document = load_json(file)
        travel = document.get("travel") if isinstance(document, dict) else None
        for key in ("matrix", "config"):
            # A road matrix or configuration named beside the file is found from any folder.
            if isinstance(travel, dict) and isinstance(travel.get(key), str):
                named = Path(travel[key])
                if not named.is_absolute():
                    travel[key] = str(file.resolve().parent / named)
        store_scenario(session, document)
    except ValueError as exc:
        log.error("demo scenario %s not loaded: %s", file, exc)
        return False
    log.info("demo scenario %s loaded", file)
    return True
