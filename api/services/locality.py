"""The locality's programme tables in the store (one row; the bundled defaults until a planner
stores a document) and the phone visits of station desks.

A document is checked whole before it replaces the stored one (:func:`store`): a bad one
changes nothing and is refused naming every bad field. The visiting ledger, the settlement and
the circle read the tables through :func:`current`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import LocalityRow, PhoneVisitRow, utcnow
from api.services import master
from api.services.errors import Conflict, FieldProblem, InputError
from dispatch.programmes.rules import Locality, default_document, parse_locality
from dispatch.programmes.visiting import PhoneVisit

__all__ = ["add_phone_visit", "current", "document", "phone_visits", "store"]


def document(session: Session) -> dict[str, Any]:
    """The stored locality document, else the bundled defaults as one."""
    row = session.get(LocalityRow, 1)
    return dict(row.document) if row is not None else default_document()


def current(session: Session) -> Locality:
    """The locality's tables in force (stored, else the bundled defaults)."""
    return parse_locality(document(session))


def _stations(session: Session) -> list[str] | None:
    try:
        frame = master.base_document(session)
    except Conflict:
        return None
    return [str(s.get("id")) for s in frame.get("stations", [])]


def store(session: Session, data: Any, by: str) -> Locality:
    """Replace the stored tables with ``data`` once it parses whole (against the stored
    stations); commits. Raises :class:`dispatch.document.DocumentError` naming every bad
    field, leaving the stored tables as they were."""
    locality = parse_locality(data, stations=_stations(session))
    row = session.get(LocalityRow, 1)
    if row is None:
        row = LocalityRow(id=1, document=data)
        session.add(row)
    row.document = data
    row.updated_by = by
    row.updated_at = utcnow()
    session.commit()
    return locality


def add_phone_visit(
    session: Session, household: str, day: date, desk: str, note: str, by: str
) -> PhoneVisitRow:
    """Record a desk's visiting call to ``household`` on ``day``; commits. Raises
    :class:`InputError` naming ``body.household`` when no such household lives in the master
    data of that day."""
    try:
        known = {h.get("id") for h in master.master_document(session, day).get("households", [])}
    except Conflict:
        known = set()
    if household not in known:
        raise InputError(
            f"住户不存在 / no household {household!r} on {day}",
            [FieldProblem("body.household", f"no household {household!r} on {day}")],
        )
    row = PhoneVisitRow(household_id=household, visit_date=day, desk=desk, note=note, created_by=by)
    session.add(row)
    session.commit()
    return row


def phone_visits(session: Session, first: date, last: date) -> list[PhoneVisit]:
    """The desks' visiting calls from ``first`` to ``last`` (inclusive), by date."""
    rows = session.scalars(
        select(PhoneVisitRow)
        .where(PhoneVisitRow.visit_date >= first, PhoneVisitRow.visit_date <= last)
        .order_by(PhoneVisitRow.visit_date, PhoneVisitRow.id)
    )
    return [PhoneVisit(r.household_id, r.visit_date, r.desk) for r in rows]
