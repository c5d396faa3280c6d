"""Shared test fixtures: small scenarios a person can check by hand.

- ``tiny_scenario``: Yinchuan, one Monday, station S1, caregivers C1 (F, e-bike, lunch break),
  C2 (M, walking, capacity 6, morning only), C3 (F, car, short break); households H1–H5 with
  one request each except H2 (two); H2 is given in GCJ-02 and lands at WGS-84
  (38.4835, 106.2350).
- ``week_scenario``: the same station, Monday–Friday, two caregivers, three households whose
  requests want two visits a week at least two days apart.

The ``*_data`` fixtures are fresh decoded JSON documents, safe to modify in a test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from dispatch.model import Scenario
from dispatch.scenario_io import load_scenario

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests draw new examples on every local run; CI (CI=true) draws the same ones each
# time, so that a submission's result does not depend on the luck of the draw. A failure found
# locally is kept in .hypothesis/ and replayed until fixed.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def fixture_path(name: str) -> Path:
    """Path of a file in ``tests/fixtures``."""
    return FIXTURES / name


def fixture_data(name: str) -> Any:
    """A fresh decoded copy of a JSON file in ``tests/fixtures``."""
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


@pytest.fixture
def tiny_scenario_data() -> dict[str, Any]:
    """``tests/fixtures/tiny_scenario.json`` as a dict (a fresh copy per test)."""
    data: dict[str, Any] = fixture_data("tiny_scenario.json")
    return data


@pytest.fixture
def tiny_scenario() -> Scenario:
    """The one-day Yinchuan scenario of ``tests/fixtures/tiny_scenario.json``."""
    return load_scenario(fixture_path("tiny_scenario.json")).scenario


@pytest.fixture
def week_scenario_data() -> dict[str, Any]:
    """``tests/fixtures/week_scenario.json`` as a dict (a fresh copy per test)."""
    data: dict[str, Any] = fixture_data("week_scenario.json")
    return data


@pytest.fixture
def week_scenario() -> Scenario:
    """The Monday–Friday scenario of ``tests/fixtures/week_scenario.json``."""
    return load_scenario(fixture_path("week_scenario.json")).scenario


@pytest.fixture(autouse=True)
def _travel_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Road matrices and travel tables a test resolves go to a folder of the test run, never
    to the checkout's ``var/``; nothing resolved by one test is remembered by the next."""
    from dispatch.travel_tables import forget_resolved

    monkeypatch.setenv("DISPATCH_TRAVEL_CACHE", str(tmp_path_factory.getbasetemp() / "travel"))
    forget_resolved()
