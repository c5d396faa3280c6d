"""The visiting ledger (探访台账) of the stored plans: the master data of a day's week, the plans
in force week by week from the start of that day's quarter (the longest period a rule counts
over) up to the day, the desks' phone visits of those weeks, and the locality's visiting rules
and streets (:mod:`api.services.locality`, :mod:`dispatch.programmes.visiting`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.services import live, locality, master
from api.services.errors import Conflict, FieldProblem, InputError
from dispatch.model import Plan, Scenario
from dispatch.programmes.visiting import (
    Ledger,
    VisitingRules,
    ledger,
    ledger_to_dict,
    with_visits,
)
from dispatch.scenario_write import request_to_dict

__all__ = ["visits_ledger", "with_programme"]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _stored_ledger(session: Session, on: date, rules: VisitingRules) -> Ledger:
    """The ledger on ``on`` of the plans in force and the phone visits of ``on``'s quarter."""
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
    calls = locality.phone_visits(session, master.monday_of(_quarter_start(on)), on)
    return ledger(scenario, rules, dated, on=on, phone_visits=calls)


def with_programme(
    session: Session, scenarios: Sequence[Scenario]
) -> tuple[list[Scenario], list[dict[str, Any]]]:
    """Each week's scenario with the visiting programme's visits due that week
    (:func:`dispatch.programmes.visiting.with_visits`, the required ones: at the deadline of
    each period not met yet), knowing the visits of the plans published before the first week
    and the visits required in the weeks before it here; and those visit requests (id,
    household, format-1 request) for publishing to keep. Raises :class:`InputError` naming
    ``body.visiting`` when the weeks have no dates."""
    if not scenarios or scenarios[0].week_start is None:
        why = "the visiting programme needs the weeks' dates (a week_start)"
        raise InputError(f"探访计划需要周起始日期 / {why}", [FieldProblem("body.visiting", why)])
    first = date.fromisoformat(scenarios[0].week_start)
    rules = locality.current(session).visiting
    visited: dict[str, set[date]] = defaultdict(set)
    try:
        before = _stored_ledger(session, first - timedelta(days=1), rules).entries
    except Conflict:  # no master data stored (a job of a scenario of its own)
        before = ()
    for entry in before:
        visited[entry.household].update(v.date for v in entry.visits)
    out: list[Scenario] = []
    programme: list[dict[str, Any]] = []
    for k, scenario in enumerate(scenarios):
        monday = first + timedelta(days=7 * k)
        week = with_visits(
            replace(scenario, week_start=monday.isoformat()), rules, monday, visited, spare=False
        )
        own = {r.id for _, r in scenario.requests()}
        for household, request in week.requests():
            if request.id not in own:
                # Met for its period from here on (its exact day is the plan's to choose).
                visited[household.id].add(monday)
                programme.append(
                    {
                        "id": request.id,
                        "week": monday.isoformat(),
                        "household": household.id,
                        "request": request_to_dict(request),
                    }
                )
        out.append(week)
    return out, programme


def visits_ledger(session: Session, on: date, month: date | None = None) -> dict[str, Any]:
    """The ledger on ``on`` with the visit rate of ``month`` (default: ``on``'s), as
    :func:`dispatch.programmes.visiting.ledger_to_dict` gives it. Weeks without a plan in
    force count no visit. Raises :class:`Conflict` when no scenario is stored."""
    tables = locality.current(session)
    book = _stored_ledger(session, on, tables.visiting)
    return ledger_to_dict(book, month=month, streets=tables.streets)
