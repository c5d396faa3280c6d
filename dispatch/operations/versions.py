"""A new version of a published plan: the changed routes, KPIs recomputed, the checker's word.

Every change of a published plan (a hotline booking, an absence) ends here, so a version never
carries the KPIs of the one before it and never breaks a rule the one before it kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from types import MappingProxyType

from dispatch.checker import Violation, check_plan
from dispatch.haversine import TravelFn
from dispatch.model import Plan, Route, Scenario, Unassigned

__all__ = ["PlanRejected", "minutes_elsewhere", "revise_plan"]


class PlanRejected(ValueError):
    """A changed plan breaks rules of :mod:`dispatch.checker` its previous version kept."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        listed = "; ".join(f"{v.rule}: {v.message}" for v in self.violations[:5])
        super().__init__(f"the changed plan breaks {len(self.violations)} rule(s): {listed}")


def minutes_elsewhere(plan: Plan, day: str) -> dict[str, int]:
    """Each caregiver's working minutes (leaving the station to coming back) on the plan's
    days other than ``day``: what a change of ``day`` adds its route to when it keeps the
    weekly cap (``max_minutes_per_week``). The one home of this rule for changes of a plan."""
    out: dict[str, int] = defaultdict(int)
    for route in plan.routes:
        if route.day != day:
            out[route.caregiver] += route.back - route.leave
    return dict(out)


def _where(v: Violation) -> tuple[str, str | None, str | None, str | None]:
    return (v.rule, v.caregiver, v.day, v.request)


def revise_plan(
    scenario: Scenario,
    previous: Plan,
    routes: Iterable[Route],
    unassigned: Iterable[Unassigned],
    *,
    travel: TravelFn | None = None,
) -> Plan:
    """``previous`` with ``routes`` and ``unassigned`` instead of its own, its KPIs recomputed
    (:func:`dispatch.kpis.plan_kpis`, through the checker).

    ``travel`` is as :func:`dispatch.checker.check_plan` takes it (default: the scenario's
    haversine model). Raises :class:`PlanRejected` when the new plan breaks a rule (by rule,
    caregiver, day and request) that ``previous`` kept for ``scenario``.
    """
    plan = Plan(
        scenario=previous.scenario,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        format=previous.format,
    )
    report = check_plan(scenario, plan, travel=travel)
    if not report.ok:
        before = {_where(v) for v in check_plan(scenario, previous, travel=travel).violations}
        added = [v for v in report.violations if _where(v) not in before]
        if added:
            raise PlanRejected(added)
    return Plan(
        scenario=plan.scenario,
        routes=plan.routes,
        unassigned=plan.unassigned,
        kpis=MappingProxyType(dict(report.kpis)),
        format=plan.format,
    )
