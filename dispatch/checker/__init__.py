"""The independent plan checker (方案校验): does a plan keep every rule of the contract?

It shares nothing with the solver: travel times come from :mod:`dispatch.haversine` (plain
``math``), every rule is one small function over the plan as written, and each finding names
the rule it breaks from the closed list :class:`Rule`. Times are minutes from midnight.

A *visit* is one occurrence of a request on one day: all stops of that request on that day
(two of them for a two-person visit).

A plan of several weeks (``plan.weeks``, extension) dates each route: the checker then counts
visits, patterns and working minutes per ISO week, spaces visits by their dates across the whole
span (a Saturday and the next Monday are two days apart) and keeps each date inside the planned
weeks and on its route's weekday. A plan without dates is one week, its days the scenario's.

:mod:`.context` holds the closed list of rules, a finding and the look-ups every rule shares;
:mod:`.routes` the rules of each route and stop; :mod:`.week` the rules over the week.
:func:`check_plan` runs them all, in the order of :data:`_RULES`. :func:`check_span` checks a
plan of several weeks whose weeks have master data of their own (:mod:`.span`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from dispatch.checker import span as _span
from dispatch.checker.context import RULE_TEXT, CheckReport, Rule, Violation, _Context
from dispatch.checker.routes import (
    _breaks,
    _capacity,
    _daily_visits,
    _dates,
    _duplicate_routes,
    _forbidden,
    _gender,
    _shifts,
    _skills,
    _stop_times,
    _time_windows,
    _travel,
    _unknown_references,
)
from dispatch.checker.week import (
    _after,
    _frequency,
    _patterns,
    _request_days,
    _spacing,
    _staff,
    _unassigned,
    _weekly_minutes,
)
from dispatch.haversine import TravelFn, scenario_travel
from dispatch.kpis import ScenarioIndex, plan_kpis
from dispatch.model import Plan, Scenario

__all__ = ["RULE_TEXT", "CheckReport", "Rule", "Violation", "check_plan", "check_span"]


def check_plan(scenario: Scenario, plan: Plan, *, travel: TravelFn | None = None) -> CheckReport:
    """Check ``plan`` against every rule of ``scenario``; never raises for a bad plan.

    ``travel`` gives whole minutes ``(from_key, to_key, mode)`` between place keys
    ``"station:<id>"``/``"household:<id>"``; it defaults to the scenario's haversine model.
    Raises ``ValueError`` only when a caregiver's travel mode has no speed.
    """
    minutes = travel if travel is not None else scenario_travel(scenario)
    ctx = _Context(scenario, plan, ScenarioIndex.of(scenario), minutes)
    found = tuple(v for rule in _RULES for v in rule(ctx))
    return CheckReport(violations=found, kpis=plan_kpis(scenario, plan, travel=minutes))


def check_span(scenarios: Sequence[Scenario], plan: Plan) -> CheckReport:
    """Check a plan of several weeks whose weeks have master data of their own, week k
    against ``scenarios[k]``; :func:`dispatch.checker.span.check_span` tells the rules."""
    return _span.check_span(scenarios, plan, check_week=lambda s, p, t: check_plan(s, p, travel=t))


_RULES: tuple[Callable[[_Context], Iterator[Violation]], ...] = (
    _unknown_references,
    _duplicate_routes,
    _dates,
    _shifts,
    _time_windows,
    _stop_times,
    _travel,
    _breaks,
    _skills,
    _gender,
    _forbidden,
    _request_days,
    _daily_visits,
    _weekly_minutes,
    _frequency,
    _spacing,
    _patterns,
    _staff,
    _after,
    _capacity,
    _unassigned,
)
