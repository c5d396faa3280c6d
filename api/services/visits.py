"""The visiting ledger (探访台账) of the stored plans: the master data of a day's week, the plans
in force week by week from the start of that day's quarter (the longest period a rule counts
over) up to the day, the desks' phone visits of those weeks, and the locality's visiting rules
and streets (:mod:`api.services.locality`, :mod:`dispatch.programmes.visiting`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.services import live, locality, master
from api.services.errors import Conflict
from dispatch.model import Plan
from dispatch.programmes.visiting import ledger, ledger_to_dict

__all__ = ["visits_ledger"]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def visits_ledger(session: Session, on: date, month: date | None = None) -> dict[str, Any]:
    """The ledger on ``on`` with the visit rate of ``month`` (default: ``on``'s), as
    :func:`dispatch.programmes.visiting.ledger_to_dict` gives it. Weeks without a plan in
    force count no visit. Raises :class:`Conflict` when no scenario is stored."""
    scenario = master.week_scenario(session, on)
    dated: list[tuple[date, Plan]] = []
    monday = master.monday_of(_quarter_start(on))
    while monday <= on:
        try:
            row = live.published(session, monday)
        except Conflict:
            row = None
        if row is not None:
            dated.append((monday, live.week_plan(session, row, monday)))
        monday += timedelta(days=7)
    tables = locality.current(session)
    calls = locality.phone_visits(session, master.monday_of(_quarter_start(on)), on)
    book = ledger(scenario, tables.visiting, dated, on=on, phone_visits=calls)
    return ledger_to_dict(book, month=month, streets=tables.streets)
