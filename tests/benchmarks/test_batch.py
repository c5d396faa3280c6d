"""The batch benchmark on a tiny generated district with the greedy planner (quick), and its
figures from hand-made runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from benchmarks import batch
from benchmarks.batch import Run, overhead_lines, run_line
from dispatch.generate import generate_district
from dispatch.scenario_io import save_scenario


def test_runs_and_overhead_are_worked_out_against_the_local_pool() -> None:
    local1 = Run("local", 1, 100.0, 0.0, ())
    local2 = Run("local", 2, 50.0, 0.0, ())
    ray2 = Run("ray", 2, 55.0, 8.0, ())
    assert run_line(local2, local1)[:4] == ["local:2", "50.0", "2.00", "-"]
    assert run_line(ray2, local1)[3] == "8.0"
    assert overhead_lines([local1, local2, ray2]) == [
        "ray:2 against local:2: +5.0 s (+10.0% of 50.0 s); with the cluster's start (8.0 s): "
        "+13.0 s (+26.0%)"
    ]
    assert overhead_lines([local1, ray2]) == []  # no local run with as many workers


def test_the_benchmark_runs_a_batch_and_writes_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "district.json"
    save_scenario(generate_district(households=30, stations=2, seed=5), scenario)
    variants = tmp_path / "variants.json"
    variants.write_text(json.dumps({"grid": {"scale_demand": [1.0, 1.2]}}), encoding="utf-8")
    argv = ["--scenario", str(scenario), "--variants", str(variants), "--solver", "greedy"]
    code = batch.main([*argv, "--runs", "local:1", "--csv", str(tmp_path / "b.csv")])
    out = capsys.readouterr().out
    assert code == 0
    assert "local:1    " in out and "2/2" in out
    assert "KPIs of local:1, each beside the baseline's:" in out
    with open(tmp_path / "b.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["variant"], r["violations"]) for r in rows] == [
        ("local:1", "baseline", "0"),
        ("local:1", "demand×1.2", "0"),
    ]


def test_runs_are_engine_and_workers() -> None:
    assert batch.build_parser().parse_args(["--runs", "local:2,ray:1"]).runs == [
        ("local", 2),
        ("ray", 1),
    ]
    with pytest.raises(SystemExit):
        batch.build_parser().parse_args(["--runs", "spark:2"])
