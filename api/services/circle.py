"""The 15-minute circle and station siting over the stored master data of a week.

Read-only: nothing is stored. Each call takes the scenario of the ISO week of a day
(:func:`api.services.master.week_scenario`) and calls one domain function of
:mod:`dispatch.programmes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from api.services import locality
from api.services.master import week_scenario
from dispatch.model import Scenario
from dispatch.programmes.circle import CircleReport, circle_report
from dispatch.programmes.siting import Candidate, SitingResult, choose_sites

__all__ = ["SITING_SECONDS", "circle", "siting"]

#: The covering solver's time limit in a request (seconds); small cases are proved at once.
SITING_SECONDS = 5.0


def circle(session: Session, day: date, minutes: int | None) -> tuple[Scenario, CircleReport]:
    """The week's scenario of ``day`` and who is within ``minutes`` (default: the locality's
    circle) of a station, with the locality's streets. Raises
    :class:`api.services.errors.Conflict` when no scenario is stored."""
    scenario = week_scenario(session, day)
    tables = locality.current(session)
    limit = tables.circle_minutes if minutes is None else minutes
    return scenario, circle_report(scenario, limit=limit, streets=tables.streets)


def siting(
    session: Session,
    day: date,
    k: int,
    minutes: int,
    candidates: Sequence[Candidate] | None,
) -> SitingResult:
    """The ``k`` sites among ``candidates`` (the households' positions when ``None``) that
    bring the most need within ``minutes`` of a station, on the week's master data of ``day``.
    Raises :class:`api.services.errors.Conflict` when no scenario is stored."""
    scenario = week_scenario(session, day)
    return choose_sites(
        scenario, k, candidates=candidates, limit=minutes, time_limit=SITING_SECONDS
    )
