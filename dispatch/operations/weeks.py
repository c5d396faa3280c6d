"""One week of a plan of several weeks, taken out for a change of the live day.

The operations of :mod:`dispatch.operations` change one day of a one-week plan. A dated plan
of several weeks (``plan.weeks``, routes with ``date``) hands them the week of the day as a
one-week plan (:func:`week_of`); what they return is a new version of that week alone (the
service keeps the plan in force per ISO week, :mod:`api.services.live`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from dispatch.model import Plan, Route

__all__ = ["is_one_week", "week_of"]


def is_one_week(plan: Plan) -> bool:
    """A plan of one undated week (every plan before plans of several weeks)."""
    return plan.weeks == 1 and all(r.date is None for r in plan.routes)


def _week(route: Route, first_monday: date) -> int:
    return 0 if route.date is None else (date.fromisoformat(route.date) - first_monday).days // 7


def week_of(plan: Plan, first_monday: date, week: int) -> Plan:
    """The routes of ``week`` (0 = the week of ``first_monday``) as a one-week plan, without
    dates, with the unassigned entries of that week (those that name it; an entry that names
    no week is kept); a one-week plan is itself."""
    if is_one_week(plan):
        return plan
    monday = (first_monday + timedelta(days=7 * week)).isoformat()
    routes = tuple(replace(r, date=None) for r in plan.routes if _week(r, first_monday) == week)
    unassigned = tuple(
        replace(u, week=None) for u in plan.unassigned if u.week is None or u.week == monday
    )
    return replace(plan, weeks=1, routes=routes, unassigned=unassigned)
