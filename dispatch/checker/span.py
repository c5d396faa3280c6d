"""The checker of a plan of several weeks whose weeks have master data of their own
(:mod:`dispatch.calendar`): week k is checked against its own scenario, the dates and the
spacing across each week boundary over the whole span, and the KPIs are the weeks' KPIs added
up (:func:`sum_week_kpis`, also what :func:`dispatch.weekly.plan_weeks` reports).

Like the rest of :mod:`dispatch.checker` it shares nothing with the solver.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from statistics import fmean

from dispatch.checker.context import CheckReport, Rule, Violation
from dispatch.haversine import TravelFn, scenario_travel
from dispatch.kpis import route_date
from dispatch.model import DAYS, Plan, Route, Scenario

__all__ = ["WeekCheck", "check_span", "sum_week_kpis"]

#: How one week is checked: :func:`dispatch.checker.check_plan` with the week's scenario,
#: plan and travel model (passed in, as the package that defines it imports this module).
WeekCheck = Callable[[Scenario, Plan, TravelFn], CheckReport]

#: Figures that add up over weeks.
_ADDED: tuple[str, ...] = (
    "required_visits",
    "planned_visits",
    "travel_minutes",
    "service_minutes",
    "waiting_minutes",
    "working_minutes",
    "routes",
    "overtime_minutes",
    "solver_seconds",
)
#: Figures whose span figure is the highest or the lowest weekly one.
_HIGHEST: tuple[str, ...] = ("caregivers_used", "utilisation_max", "households_outside_15min")
_LOWEST: tuple[str, ...] = ("utilisation_min",)


def sum_week_kpis(weeks: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The KPIs of a plan of several weeks from each week's KPIs (each computed with that
    week's scenario), in the order of the first week's figures.

    Counts and minutes add up (:data:`_ADDED`: required and planned visits, travel, service,
    waiting, working and overtime minutes, routes, solver seconds); ``travel_share`` is
    travel over working minutes again; ``caregivers_used``, ``utilisation_max`` and
    ``households_outside_15min`` are the highest week's, ``utilisation_min`` the lowest
    week's; every other figure (``requests_fully_served``, ``utilisation_mean``, the distinct
    caregivers per household and per request, ``visit_rate_tagged`` …) is the mean of the
    weeks, each week weighing the same. A figure missing in some weeks is taken over the
    weeks that have it. Raises ``ValueError`` for no week.
    """
    if not weeks:
        raise ValueError("no week to add up")
    names = list(dict.fromkeys(name for week in weeks for name in week))
    out: dict[str, float] = {}
    for name in names:
        values = [float(week[name]) for week in weeks if name in week]
        if name in _ADDED:
            out[name] = float(sum(values))
        elif name in _HIGHEST:
            out[name] = max(values)
        elif name in _LOWEST:
            out[name] = min(values)
        else:
            out[name] = fmean(values)
    if "travel_share" in out:
        working = out.get("working_minutes", 0.0)
        out["travel_share"] = out.get("travel_minutes", 0.0) / working if working > 0 else 0.0
    return out


def check_span(scenarios: Sequence[Scenario], plan: Plan, *, check_week: WeekCheck) -> CheckReport:
    """Check ``plan``, a plan of ``len(scenarios)`` weeks, week k against ``scenarios[k]``
    (whose ``week_start`` is that week's Monday); never raises for a bad plan. The public
    entry is :func:`dispatch.checker.check_span`, which passes ``check_plan`` as
    ``check_week``.

    With one scenario, or scenarios that differ in nothing but ``week_start``, this is
    ``check_week`` of the first one and the plan (with the scenario's haversine model).
    Otherwise:

    - a route without a date, with a date that is not an ISO date, on another weekday than
      its day or outside the weeks breaks :attr:`Rule.DATE` (as does a plan whose ``weeks``
      is not the number of scenarios);
    - each week is checked by ``check_plan`` against its scenario, as a one-week plan of its
      routes (undated) and of the unassigned entries whose ``week`` is its Monday; the
      findings' ``day`` is the route's date, and "the week" in their text names its Monday;
    - an unassigned entry without ``week``, or whose ``week`` is no Monday of the span, breaks
      :attr:`Rule.UNASSIGNED` and counts for no week (the weeks' counts then tell what is
      missing);
    - across each week boundary, a request's first visit of week k is at least its
      ``min_gap_days`` (week k's request) after its last visit of week k-1, in calendar
      days, else :attr:`Rule.SPACING`;
    - the KPIs are the weeks' KPIs added up by :func:`sum_week_kpis`.

    Raises ``ValueError`` for no scenario, a first scenario without ``week_start``, or
    scenarios whose ``week_start`` are not consecutive Mondays; and a caregiver's travel mode
    without a speed, as ``check_plan`` does.
    """
    if not scenarios:
        raise ValueError("no scenario to check the plan against")
    first = scenarios[0]
    if all(replace(s, week_start=first.week_start) == first for s in scenarios[1:]):
        return check_week(first, plan, scenario_travel(first))
    if first.week_start is None:
        raise ValueError("scenarios of several weeks need the first one's week_start")
    monday = dt.date.fromisoformat(first.week_start)
    mondays = [monday + dt.timedelta(days=7 * k) for k in range(len(scenarios))]
    for k, (s, m) in enumerate(zip(scenarios, mondays, strict=True)):
        if s.week_start is not None and s.week_start != m.isoformat():
            raise ValueError(f"scenario {k} starts on {s.week_start}, not on {m}")

    found: list[Violation] = list(_dates(plan, mondays))
    by_week: dict[int, list[Route]] = defaultdict(list)
    for route in plan.routes:
        week = _week(route, monday)
        if week is not None and 0 <= week < len(scenarios):
            by_week[week].append(route)

    kpis: list[dict[str, float]] = []
    for k, (scenario, m) in enumerate(zip(scenarios, mondays, strict=True)):
        week_plan = replace(
            plan,
            weeks=1,
            routes=tuple(replace(r, date=None) for r in by_week.get(k, ())),
            unassigned=tuple(u for u in plan.unassigned if u.week == m.isoformat()),
        )
        report = check_week(scenario, week_plan, scenario_travel(scenario))
        found.extend(_dated(v, m) for v in report.violations)
        kpis.append(report.kpis)
    found.extend(_unassigned_weeks(plan, mondays))
    found.extend(_boundary_spacing(scenarios, by_week, monday))
    return CheckReport(violations=tuple(found), kpis=sum_week_kpis(kpis))


def _week(route: Route, monday: dt.date) -> int | None:
    date = route_date(route)
    return None if date is None else (date - monday).days // 7


def _dates(plan: Plan, mondays: Sequence[dt.date]) -> Iterator[Violation]:
    weeks = len(mondays)
    if plan.weeks != weeks:
        yield Violation(
            Rule.DATE.value, f"a plan of {plan.weeks} week(s) checked against {weeks} weeks"
        )
    last = mondays[-1] + dt.timedelta(days=6)
    for route in plan.routes:
        where = {"caregiver": route.caregiver, "day": route.date or route.day}
        if route.date is None:
            yield Violation(Rule.DATE.value, f"no date, in a plan of {weeks} weeks", **where)
            continue
        date = route_date(route)
        if date is None:
            yield Violation(
                Rule.DATE.value, f"date {route.date!r} is not an ISO date YYYY-MM-DD", **where
            )
            continue
        weekday = DAYS[date.weekday()]
        if weekday != route.day:
            yield Violation(
                Rule.DATE.value, f"{route.date} is a {weekday}, the route says {route.day}", **where
            )
        if not mondays[0] <= date <= last:
            yield Violation(
                Rule.DATE.value,
                f"{route.date} lies outside the planned weeks {mondays[0]} to {last}",
                **where,
            )


def _dated(v: Violation, monday: dt.date) -> Violation:
    """A finding of one week as a finding of the span: its day as a date, its week named."""
    day = v.day
    if day in DAYS:
        day = (monday + dt.timedelta(days=DAYS.index(day))).isoformat()
    message = v.message
    if "the week" in message and "the week of" not in message:
        message = message.replace("the week", f"the week of {monday}")
    return replace(v, day=day, message=message)


def _unassigned_weeks(plan: Plan, mondays: Sequence[dt.date]) -> Iterator[Violation]:
    weeks = {m.isoformat() for m in mondays}
    for u in plan.unassigned:
        if u.week is None:
            yield Violation(
                Rule.UNASSIGNED.value,
                "does not say its week, in a plan of several weeks",
                request=u.request,
            )
        elif u.week not in weeks:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"week {u.week} is not one of the plan's weeks {mondays[0]} to {mondays[-1]}",
                request=u.request,
            )


def _boundary_spacing(
    scenarios: Sequence[Scenario], by_week: Mapping[int, Sequence[Route]], monday: dt.date
) -> Iterator[Violation]:
    # Inside a week check_plan spaces the visits; here only the last visit of a week and the
    # first of the next one.
    visited: dict[int, dict[str, list[dt.date]]] = {}
    for k, routes in by_week.items():
        days: dict[str, list[dt.date]] = defaultdict(list)
        for route in routes:
            date = route_date(route)
            if date is not None:
                for s in route.stops:
                    days[s.request].append(date)
        visited[k] = days
    for k in range(1, len(scenarios)):
        before, now = visited.get(k - 1, {}), visited.get(k, {})
        for _hh, req in scenarios[k].requests():
            if req.id not in before or req.id not in now:
                continue
            last, first = max(before[req.id]), min(now[req.id])
            gap = (first - last).days
            if gap < req.min_gap_days:
                yield Violation(
                    Rule.SPACING.value,
                    f"visits on {last} and {first} are "
                    f"{gap} day(s) apart, at least {req.min_gap_days} wanted",
                    day=first.isoformat(),
                    request=req.id,
                )
