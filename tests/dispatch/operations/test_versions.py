"""New plan versions: KPIs recomputed, the checker's word, other days' working minutes."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from dispatch.model import Route, Stop
from dispatch.operations.versions import PlanRejected, minutes_elsewhere, revise_plan
from tests.dispatch.operations.conftest import plan, scenario


def test_minutes_elsewhere_sums_the_other_days_from_leave_to_back() -> None:
    week = replace(plan(), routes=(*plan().routes, Route("B", "mon", 600, 700)))
    assert minutes_elsewhere(week, "mon") == {"B": 540}
    assert minutes_elsewhere(week, "tue") == {"A": 66, "B": 100}


def test_a_new_version_gets_its_own_kpis() -> None:
    stale = replace(plan(), kpis=MappingProxyType({"planned_visits": 99.0}))
    revised = revise_plan(scenario(), stale, stale.routes, stale.unassigned)
    assert revised.kpis["planned_visits"] == 1.0
    assert revised.kpis["working_minutes"] == 66 + 540


def test_a_change_that_breaks_a_rule_is_refused() -> None:
    """The visit moved out of its window (09:00–12:00) breaks a rule the plan kept."""
    late = Route("A", "mon", 722, 788, (Stop("R1", "H1", 725, 725, 785),))
    with pytest.raises(PlanRejected) as caught:
        revise_plan(scenario(), plan(), (late, plan().routes[1]), ())
    assert caught.value.violations
