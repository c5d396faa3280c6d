"""One week of a plan of several weeks, taken out for a change of the day and put back.

The operations of :mod:`dispatch.operations` change one day of a one-week plan. A dated plan
of several weeks (``plan.weeks``, routes with ``date``) hands them the week of the day as a
one-week plan (:func:`week_of`) and takes their result back into the whole
(:func:`with_week`), which the checker then judges over every week.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType

from dispatch.checker import check_plan
from dispatch.haversine import scenario_travel
from dispatch.model import DAYS, Plan, Route, Scenario
from dispatch.operations.versions import PlanRejected

__all__ = ["is_one_week", "week_of", "with_week"]


def is_one_week(plan: Plan) -> bool:
    """A plan of one undated week (every plan before plans of several weeks)."""
    return plan.weeks == 1 and all(r.date is None for r in plan.routes)


def _week(route: Route, first_monday: date) -> int:
    return 0 if route.date is None else (date.fromisoformat(route.date) - first_monday).days // 7


def week_of(plan: Plan, first_monday: date, week: int) -> Plan:
    """The routes of ``week`` (0 = the week of ``first_monday``) as a one-week plan, without
    dates; a one-week plan is itself."""
    if is_one_week(plan):
        return plan
    routes = tuple(replace(r, date=None) for r in plan.routes if _week(r, first_monday) == week)
    return replace(plan, weeks=1, routes=routes)


def with_week(full: Plan, first_monday: date, week: int, changed: Plan, scenario: Scenario) -> Plan:
    """``full`` with ``week`` replaced by ``changed`` (a one-week plan made from
    :func:`week_of`): its routes dated again, its new unassigned entries added and the KPIs
    recomputed over all weeks; ``changed`` itself when ``full`` is one week. Raises
    :class:`PlanRejected` when the whole plan breaks a rule of ``scenario`` (the week passed
    the checker on its own, but a standing request added for that week only would be missing
    from the others)."""
    if is_one_week(full):
        return changed
    monday = first_monday + timedelta(days=7 * week)
    before = week_of(full, first_monday, week)
    routes = [r for r in full.routes if _week(r, first_monday) != week]
    routes += [
        replace(r, date=(monday + timedelta(days=DAYS.index(r.day))).isoformat())
        for r in changed.routes
    ]
    routes.sort(key=lambda r: (r.date or "", r.caregiver))
    added = tuple(u for u in changed.unassigned if u not in before.unassigned)
    merged = replace(full, routes=tuple(routes), unassigned=full.unassigned + added)
    report = check_plan(scenario, merged, travel=scenario_travel(scenario))
    if not report.ok:
        raise PlanRejected(report.violations)
    return replace(merged, kpis=MappingProxyType({**full.kpis, **report.kpis}))
