"""The district benchmark on a tiny generated district, with stand-in planners for speed."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest

import benchmarks.__main__ as bench
from benchmarks import district
from benchmarks.district import (
    DistrictRow,
    bar_results,
    default_time_limit,
    format_rows,
    run_size,
    stations_for,
)
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario


def greedy_only(scenario: Scenario, time_limit: float, seed: int) -> Plan:
    return plan_greedy(scenario)


def half_the_routes(scenario: Scenario, time_limit: float, seed: int) -> Plan:
    """A stand-in for ours: the greedy plan without its second half of routes (less travel)."""
    plan = plan_greedy(scenario)
    return replace(plan, routes=plan.routes[: len(plan.routes) // 2])


PLANNERS = {"ours": half_the_routes, "greedy": greedy_only}


def row(**changes) -> DistrictRow:
    base = DistrictRow(
        households=300, stations=4, caregivers=70, required_visits=1800, solver="ours",
        time_limit=30.0, violations=0, planned_pct=99.6, travel_minutes=750,
        travel_per_visit=0.42, travel_reduction_pct=25.0, distinct_caregivers_per_request=1.5,
        utilisation_mean=0.6, seconds=30.1,
    )  # fmt: skip
    return replace(base, **changes)


def test_sizes_of_districts_and_time_limits():
    assert stations_for(1500) == 20
    assert stations_for(300) == 4
    assert stations_for(10) == 1
    assert default_time_limit(300) == 30.0
    assert default_time_limit(1500) == 120.0


def test_bars_at_and_beyond_their_targets():
    assert [b.ok for b in bar_results(row())] == [True, True, True, True]
    worse = row(violations=1, planned_pct=99.4, travel_reduction_pct=24.9,
                distinct_caregivers_per_request=1.51)  # fmt: skip
    assert [b.ok for b in bar_results(worse)] == [False, False, False, False]
    assert not bar_results(row(travel_reduction_pct=None))[2].ok


def test_run_size_checks_every_plan_and_compares_travel_with_greedy():
    rows = run_size(12, time_limit=1.0, seed=2, planners=PLANNERS)
    ours, greedy = rows
    assert (ours.solver, greedy.solver) == ("ours", "greedy")
    assert ours.households == greedy.households == 12 and ours.stations == 1
    # Dropping routes leaves their visits neither planned nor reported: the checker says so.
    assert ours.violations > 0 and greedy.violations == 0
    assert greedy.travel_reduction_pct is None
    expected = 100.0 * (greedy.travel_minutes - ours.travel_minutes) / greedy.travel_minutes
    assert ours.travel_reduction_pct == pytest.approx(expected)
    assert ours.travel_minutes < greedy.travel_minutes
    assert ours.planned_pct < greedy.planned_pct
    table = format_rows(rows)
    assert table.splitlines()[0].split()[:2] == ["households", "solver"]
    assert f"{-expected:+.1f} %" in table


def test_main_prints_table_and_bars_writes_csv_and_fails_on_violations(tmp_path, capsys):
    out = tmp_path / "district.csv"
    argv = ["--sizes", "12", "--time-limit", "1", "--seed", "2", "--csv", str(out)]
    assert district.main(argv, planners=PLANNERS) == 1  # the stand-in breaks the rules
    text = capsys.readouterr().out
    assert "bars, 12 households (ours):" in text
    with out.open(encoding="utf-8") as fh:
        assert [r["solver"] for r in csv.DictReader(fh)] == ["ours", "greedy"]
    clean = {"ours": greedy_only, "greedy": greedy_only}
    assert district.main(["--sizes", "12", "--seed", "2"], planners=clean) == 0


def test_out_keeps_the_district_and_its_plans_for_dispatch_check(tmp_path, capsys):
    from dispatch.cli import main as dispatch_main

    clean = {"ours": greedy_only, "greedy": greedy_only}
    folder = tmp_path / "runs"
    argv = ["--sizes", "12", "--seed", "2", "--solvers", "greedy", "--out", str(folder)]
    assert district.main(argv, planners=clean) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "district_12.json",
        "district_12_greedy.json",
    ]
    scenario, plan = folder / "district_12.json", folder / "district_12_greedy.json"
    assert dispatch_main(["check", str(scenario), str(plan)]) == 0


def test_time_limits_must_match_the_sizes(capsys):
    assert district.main(["--sizes", "10,20", "--time-limit", "1,2,3"], planners=PLANNERS) == 2
    assert "3 time limits for 2 sizes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        district.main(["--solvers", "ours,magic"])


def test_suite_is_registered_and_passes_seed_and_csv(monkeypatch, tmp_path):
    seen: list[list[str]] = []
    monkeypatch.setattr(district, "main", lambda argv: seen.append(list(argv)) or 0)
    assert "district" in bench.SUITES
    assert bench.main(["--suites", "district", "--seed", "4", "--out", str(tmp_path)]) == 0
    assert seen == [["--seed", "4", "--csv", str(tmp_path / "district.csv")]]
