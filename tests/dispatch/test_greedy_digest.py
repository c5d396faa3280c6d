"""The greedy baseline is deterministic: digests of its plans, recorded from the code before the
restructuring of its route timing, must not change.

A digest covers every route (caregiver, day, leave, back, stops with arrival and start, rest),
every unassigned entry with its reason and detail, and the KPIs rounded to six places.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dispatch.generate import generate_district
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario
from dispatch.scenario_io import load_scenario

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "district.json"


def plan_digest(plan: Plan) -> str:
    """A SHA-256 of the plan's content in a fixed, format-independent order."""
    parts: list[str] = [plan.scenario]
    for r in plan.routes:
        stops = [(s.request, s.household, s.arrival, s.start, s.end) for s in r.stops]
        rest = None if r.rest is None else (r.rest.start, r.rest.end)
        parts.append(repr((r.caregiver, r.day, r.leave, r.back, stops, rest)))
    for u in plan.unassigned:
        parts.append(repr((u.request, u.household, u.missing_visits, u.reason, u.detail)))
    parts.append(repr(sorted((k, round(float(v), 6)) for k, v in plan.kpis.items())))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _demo() -> Scenario:
    return load_scenario(DEMO).scenario


def _district() -> Scenario:
    return generate_district(households=300, stations=6, seed=1)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_demo, "c9881074eff3c45e83225a1283b36ab58d21ac196eefc3b4730f8291bc2ab245"),
        (_district, "3132dae5a1db32eba0670289e3f86a8edb8c1738b5d2cda80597fda1ad519175"),
    ],
    ids=["demo", "district-300-6-seed1"],
)
def test_greedy_plan_is_unchanged(build, expected: str) -> None:
    assert plan_digest(plan_greedy(build())) == expected
