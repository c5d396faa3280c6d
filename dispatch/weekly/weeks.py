"""Several weeks in one plan (多周排班): :func:`plan_weeks` plans consecutive ISO weeks from the
scenario's ``week_start``, each from the same master data, one after another.

What carries from one week to the next:

- spacing: a request's visits of week k+1 come no earlier than ``min_gap_days`` after its last
  visit before (a Saturday visit and the next Monday's are two days apart), by leaving the
  days too close out of the request's allowed days for that week — its candidate day
  patterns (:func:`dispatch.weekly.prepare.candidate_patterns`) then lie after them;
- continuity of care: who served each request in week k is preferred in week k+1, as a
  request's caregivers of the other days are (``plan_week(..., before=...)``);
- time: ``params.time_limit`` is the whole run's; each week gets the time left over the weeks
  left (:mod:`.budget`'s clock).

``visits_per_week`` and the caregivers' ``max_minutes_per_week`` hold per week because each
week is planned as a week of its own. Each route carries its ISO ``date``, each unassigned
entry its week's Monday (``week``).

When the master data changes between weeks (:mod:`dispatch.calendar`), each week is planned
from a scenario of its own (``week_scenarios``); continuity and spacing carry by request and
caregiver ids, which simply match nothing for those absent that week, and the KPIs are each
week's added up (:func:`dispatch.checker.span.sum_week_kpis`, as the span checker does).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from dispatch.calendar import patterns_within
from dispatch.checker.span import sum_week_kpis
from dispatch.haversine import scenario_travel
from dispatch.kpis import plan_kpis
from dispatch.model import DAYS, Plan, Route, Scenario, TravelRecord, Unassigned
from dispatch.travel import TravelProvider
from dispatch.travel_tables import merge_records, resolve_travel
from dispatch.weekly.budget import Budget
from dispatch.weekly.planner import DEFAULT_PARAMS, Progress, ProgressFn, plan_week
from solver.problem import SolveParams

__all__ = ["plan_weeks", "scenario_of_week"]


def scenario_of_week(
    scenario: Scenario, monday: dt.date, last_visit: Mapping[str, dt.date]
) -> Scenario:
    """The scenario of the week starting ``monday``: the same master data, ``week_start`` that
    Monday, and each request whose last visit before (``last_visit[request]``) is closer than
    its ``min_gap_days`` to some of the week's days allowed only the days after them.

    A request left with no allowed day gets an empty ``days`` (it is reported unassigned). Fixed
    ``patterns`` lose the days left out: the week's visits still lie inside one of them, fewer
    when a whole pattern no longer fits.
    """
    households = []
    for h in scenario.households:
        requests = []
        for r in h.requests:
            last = last_visit.get(r.id)
            if last is not None:
                earliest = last + dt.timedelta(days=r.min_gap_days)
                allowed = r.days if r.days is not None else scenario.days
                # Only narrow what the gap forbids: a request untouched keeps ``days=None``.
                kept = tuple(
                    d for d in allowed if monday + dt.timedelta(days=DAYS.index(d)) >= earliest
                )
                if kept != tuple(allowed):
                    r = replace(r, days=kept, patterns=patterns_within(r.patterns, kept))
            requests.append(r)
        households.append(replace(h, requests=tuple(requests)))
    return replace(scenario, week_start=monday.isoformat(), households=tuple(households))


def _dated(routes: Sequence[Route], monday: dt.date) -> list[Route]:
    """``routes`` of the week of ``monday`` with their ISO ``date``."""
    return [
        replace(r, date=(monday + dt.timedelta(days=DAYS.index(r.day))).isoformat()) for r in routes
    ]


def _of_week(entries: Sequence[Unassigned], monday: dt.date) -> list[Unassigned]:
    """Unassigned entries of the week of ``monday``: its ``week``, its Monday in the detail."""
    return [
        replace(
            u,
            detail=f"week of {monday}: {u.detail}" if u.detail else f"week of {monday}",
            week=monday.isoformat(),
        )
        for u in entries
    ]


def plan_weeks(
    scenario: Scenario,
    *,
    weeks: int = 1,
    travel: TravelProvider | None = None,
    params: SolveParams = DEFAULT_PARAMS,
    progress: ProgressFn | None = None,
    workers: int = 1,
    deterministic: bool = False,
    week_scenarios: Sequence[Scenario] | None = None,
) -> Plan:
    """A plan of ``weeks`` consecutive ISO weeks from ``scenario.week_start``.

    One week is :func:`~dispatch.weekly.planner.plan_week` as it is (a plan without dates).
    Several weeks give a plan with ``weeks`` set and every route dated; its ``unassigned``
    entries are per week (their detail names the week) and its KPIs count all weeks
    (``solver_seconds`` is the whole run's). Its progress reports carry the best plan so far:
    the weeks planned and the current week's best so far (``weeks`` = the weeks it holds).
    ``params.time_limit`` is the budget of the whole run in seconds; the other options are
    :func:`plan_week`'s, for each week.

    ``week_scenarios`` (one per week) plans week k from ``week_scenarios[k]`` (master data of
    its own, e.g. from :func:`dispatch.calendar.span_documents`) instead of ``scenario``, which
    then gives the plan's name and first Monday; the KPIs are then each week's, computed with
    its scenario, added up by :func:`~dispatch.checker.span.sum_week_kpis`.

    Raises ``ValueError`` for ``weeks`` < 1, several weeks without ``week_start``, or
    ``week_scenarios`` not one per week, and what :func:`plan_week` raises.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    if week_scenarios is not None and len(week_scenarios) != weeks:
        raise ValueError(f"{len(week_scenarios)} week scenarios for {weeks} weeks")
    if weeks == 1:
        return plan_week(
            scenario if week_scenarios is None else week_scenarios[0],
            travel=travel,
            params=params,
            progress=progress,
            workers=workers,
            deterministic=deterministic,
        )
    if scenario.week_start is None:
        raise ValueError("a plan of several weeks needs the scenario's week_start")
    first = dt.date.fromisoformat(scenario.week_start)
    scenario = resolve_travel(scenario)
    records: list[TravelRecord | None] = []
    budget = Budget.deterministic(params) if deterministic else Budget.real(params)
    deadline = budget.now() + max(0.05, params.time_limit)
    report = progress or (lambda _p: None)

    routes: list[Route] = []
    unassigned: list[Unassigned] = []
    last_visit: dict[str, dt.date] = {}
    before: dict[str, dict[str, int]] = {}
    seconds = 0.0
    week_kpis: list[dict[str, float]] = []
    for k in range(weeks):
        monday = first + dt.timedelta(days=7 * k)
        # The time left over the weeks left, so that a week that overran costs the others.
        share = max(0.05, (deadline - budget.now()) / (weeks - k))
        master = scenario if week_scenarios is None else resolve_travel(week_scenarios[k])
        sub = scenario_of_week(master, monday, last_visit)

        def relay(p: Progress, k: int = k, monday: dt.date = monday) -> None:
            # The best plan so far: the weeks planned, and this week's best so far.
            partial = None
            if p.plan is not None:
                partial = Plan(
                    scenario=scenario.name,
                    routes=(*routes, *_dated(p.plan.routes, monday)),
                    unassigned=(*unassigned, *_of_week(p.plan.unassigned, monday)),
                    weeks=k + 1,
                )
            report(
                Progress(
                    p.stage,
                    (k + p.fraction) / weeks,
                    f"week {k + 1}/{weeks} ({monday}): {p.message}",
                    p.kpis,
                    partial,
                )
            )

        plan = plan_week(
            sub,
            travel=travel,
            params=replace(params, time_limit=share),
            progress=relay if progress is not None else None,
            workers=workers,
            deterministic=deterministic,
            before=before,
        )
        budget.solved(share)
        records.append(plan.travel)
        seconds += plan.kpis.get("solver_seconds", 0.0)
        served: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for route in _dated(plan.routes, monday):
            routes.append(route)
            date = dt.date.fromisoformat(route.date or "")
            for stop in route.stops:
                served[stop.request][route.caregiver] += 1
                last_visit[stop.request] = max(date, last_visit.get(stop.request, date))
        # Continuity from the week just planned: last week's caregivers, not older ones.
        before = {rid: dict(counts) for rid, counts in served.items()}
        unassigned.extend(_of_week(plan.unassigned, monday))
        if week_scenarios is not None:
            # Counted against the week's own master data, not the narrowed days of ``sub``.
            own = replace(master, week_start=monday.isoformat())
            week_kpis.append(plan_kpis(own, plan, travel=scenario_travel(own)))

    merged = Plan(
        scenario=scenario.name,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        weeks=weeks,
        travel=merge_records(records),
    )
    if week_scenarios is None:
        kpis = plan_kpis(scenario, merged, travel=scenario_travel(scenario))
    else:
        kpis = sum_week_kpis(week_kpis)
    kpis["solver_seconds"] = round(seconds, 3)
    merged = replace(merged, kpis=MappingProxyType(kpis))
    report(
        Progress("done", 1.0, f"{weeks} weeks planned / {weeks} 周计划完成", merged.kpis, merged)
    )
    return merged
