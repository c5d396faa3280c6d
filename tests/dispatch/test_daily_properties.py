"""Property: every plan the daily router writes for a random small scenario passes the checker."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from dispatch.checker import check_plan
from dispatch.daily import route_day
from dispatch.model import Scenario
from solver.problem import SolveParams
from tests.strategies import scenarios


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(days=("mon",), weekly=False))
def test_router_output_passes_the_checker(sc: Scenario) -> None:
    plan = route_day(sc, "mon", params=SolveParams(time_limit=2.0, seed=0, iteration_limit=30))
    report = check_plan(sc, plan)
    assert report.violations == (), report.violations
    planned = {s.request for r in plan.routes for s in r.stops}
    missing = {u.request for u in plan.unassigned}
    assert planned | missing == {r.id for _, r in sc.requests()}
    assert not planned & missing
