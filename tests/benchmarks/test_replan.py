"""The re-plan benchmark on a small generated district (short runs), and its summary."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from benchmarks import replan
from benchmarks.replan import StationDay, station_days, summary
from dispatch.generate import generate_district
from dispatch.greedy import plan_greedy
from dispatch.scenario_io import save_scenario


def _row(short: float, long: float, *, fewer: bool = False, violations: int = 0) -> StationDay:
    return StationDay("S1", "mon", 10, 9 if fewer else 10, 10, short, long, violations)


def test_the_gap_is_of_travel_and_a_day_planned_short_is_missed() -> None:
    assert _row(101.0, 100.0).gap_pct == pytest.approx(1.0)
    assert _row(99.0, 100.0).gap_pct == pytest.approx(-1.0)
    assert math.isnan(_row(90.0, 100.0, fewer=True).gap_pct)
    # A missed day ranks above every gap: with two of three missed the median is missed too.
    median, missed, violations = summary(
        [_row(100.0, 100.0), _row(1.0, 2.0, fewer=True), _row(1.0, 2.0, fewer=True)]
    )
    assert (median, missed, violations) == (math.inf, 2, 0)
    assert summary([_row(102.0, 100.0), _row(100.0, 100.0), _row(5.0, 4.0, violations=1)]) == (
        pytest.approx(2.0),
        0,
        1,
    )


def test_station_days_hold_each_stations_stops_of_the_day() -> None:
    scenario = generate_district(households=30, stations=2, seed=5)
    week = plan_greedy(scenario)
    found = station_days(scenario, week)
    assert len(found) == len(scenario.stations) * len(scenario.days)
    planned = sum(len(r.stops) for r in week.routes)
    assert sum(len(visits) for _, _, visits in found) == planned


def test_the_benchmark_replans_each_station_day_and_writes_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "district.json"
    save_scenario(generate_district(households=30, stations=2, seed=5), scenario)
    out_csv = tmp_path / "replan.csv"
    argv = [str(scenario), "--days", "mon", "--short", "0.1", "--long", "0.3"]
    code = replan.main([*argv, "--csv", str(out_csv)])
    out = capsys.readouterr().out
    # Whether the bar is met is a figure of the machine; the exit status says what it printed.
    assert (code == 0) == out.rstrip().endswith("bar met")
    assert "station-days in" in out and "0 violation(s)" in out
    with open(out_csv, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["day"] for r in rows} == {"mon"}
    for r in rows:
        assert r["violations"] == "0"
        assert int(r["planned long"]) == int(r["visits"])  # the greedy day fits again
