"""Solomon parser, tenths matrix, evaluator, adapters and CLI on a five-row hand-made instance.

``tests/fixtures/solomon_tiny.txt`` (CRLF, trailing blanks, like the real files)::

    no.  x  y  demand  ready  due  service        capacity 10, fleet 2
    0    0  0    0       0    100     0  (depot)
    1    3  4    4       0      6     2
    2    6  8    4      10     30     2
    3    1  3    5       5     50     1
    4    4  0    3       0     15     1

Arcs in tenths, floor(10 * euclid): 0-1 50, 0-2 100, 0-3 31 (sqrt 10 = 3.162; rounding would
give 32), 0-4 40, 1-2 50, 1-3 22, 1-4 41, 2-3 70, 2-4 82, 3-4 42.

Routes [1, 2] and [3, 4]: distance 50+50+100 + 31+42+40 = 313 tenths. Route 1 starts customer
1 at 50 (due 60), ends 70, customer 2 at 120 (window 100..300), back at 240. Route 2 reaches
customer 3 at 31, waits until 50, ends 60, reaches customer 4 at 102 (due 150), back at 152.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
from pathlib import Path

import pytest

from benchmarks import solomon
from benchmarks.solomon import (
    BestKnown,
    evaluate,
    parse_solomon,
    plan_to_routes,
    read_bks,
    read_solomon,
    run_solver,
    tenths,
    to_scenario,
)

TINY = Path(__file__).resolve().parent.parent / "fixtures" / "solomon_tiny.txt"
GOOD = [[1, 2], [3, 4]]


@pytest.fixture
def tiny() -> solomon.SolomonInstance:
    return read_solomon(TINY)


# ----------------------------------------------------------------------------- parser


def test_parse_reads_header_fleet_and_rows(tiny):
    assert b"\r\n" in TINY.read_bytes()  # the fixture keeps the real files' CRLF
    assert tiny.name == "TINY"
    assert (tiny.vehicles, tiny.capacity) == (2, 10)
    assert tiny.number == (0, 1, 2, 3, 4)
    assert tiny.x == (0, 3, 6, 1, 4)
    assert tiny.y == (0, 4, 8, 3, 0)
    assert tiny.demand == (0, 4, 4, 5, 3)
    assert tiny.ready == (0, 0, 10, 5, 0)
    assert tiny.due == (100, 6, 30, 50, 15)
    assert tiny.service == (0, 2, 2, 1, 1)
    assert tiny.num_customers == 4


def test_parse_ignores_line_endings(tiny):
    text = TINY.read_text().replace("\r\n", "\n")
    assert parse_solomon(text) == tiny


def test_parse_rejects_missing_sections_and_ragged_tables():
    with pytest.raises(ValueError, match="VEHICLE"):
        parse_solomon("X\nCUSTOMER\n0 0 0 0 0 10 0\n")
    with pytest.raises(ValueError, match="multiple of 7"):
        parse_solomon("X\nVEHICLE\nNUMBER CAPACITY\n1 5\nCUSTOMER\n0 0 0 0 0 10 0 1 2\n")
    with pytest.raises(ValueError, match="empty"):
        parse_solomon("  \r\n")


# ----------------------------------------------------------------------------- tenths


def test_tenths_truncates_every_arc(tiny):
    m = tenths(tiny).matrix
    expected = [
        [0, 50, 100, 31, 40],
        [50, 0, 50, 22, 41],
        [100, 50, 0, 70, 82],
        [31, 22, 70, 0, 42],
        [40, 41, 82, 42, 0],
    ]
    assert m.tolist() == expected


def test_tenths_scales_times(tiny):
    d = tenths(tiny)
    assert d.ready == (0, 0, 100, 50, 0)
    assert d.due == (1000, 60, 300, 500, 150)
    assert d.service == (0, 20, 20, 10, 10)
    assert d.horizon == 1000


def test_tenths_with_fractional_coordinates(tiny):
    # (0, 0) to (0.3, 0.4) is 0.5 -> 5 tenths; (0, 0) to (0.1, 0.1) is 0.1414 -> 1 tenth.
    inst = dataclasses.replace(tiny, x=(0.0, 0.3, 0.1, 1.0, 4.0), y=(0.0, 0.4, 0.1, 3.0, 0.0))
    m = tenths(inst).matrix
    assert (int(m[0, 1]), int(m[0, 2]), int(m[0, 3])) == (5, 1, 31)


def test_tenths_rejects_times_finer_than_tenths(tiny):
    inst = dataclasses.replace(tiny, service=(0.0, 2.05, 2.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="tenths"):
        tenths(inst)


# ----------------------------------------------------------------------------- evaluator


def test_evaluate_feasible_solution(tiny):
    ev = evaluate(tiny, GOOD)
    assert ev == solomon.Evaluation(distance=313, routes=2, violations=())
    assert ev.feasible


def test_evaluate_ignores_empty_routes(tiny):
    assert evaluate(tiny, [[1, 2], [], [3, 4]]).routes == 2
    assert evaluate(tiny, [[1, 2], [], [3, 4]]).feasible


def test_evaluate_flags_late_start(tiny):
    # [2, 1]: customer 2 at 100..120, customer 1 reached at 170 > due 60.
    ev = evaluate(tiny, [[2, 1], [3, 4]])
    assert ev.distance == 313
    assert len(ev.violations) == 1
    assert "customer 1 starts at 17.0" in ev.violations[0]


def test_evaluate_waits_for_ready_time(tiny):
    # Customer 4 due 10.0 (100): served at 102 because of the wait at customer 3 until 50;
    # without waiting it would be reached at 83 and look feasible.
    inst = dataclasses.replace(tiny, due=(100.0, 6.0, 30.0, 50.0, 10.0))
    ev = evaluate(inst, GOOD)
    assert len(ev.violations) == 1
    assert "customer 4 starts at 10.2" in ev.violations[0]


def test_evaluate_flags_return_after_horizon(tiny):
    # Horizon 20.0 (200): route [1, 2] is back at 240, route [3, 4] at 152.
    inst = dataclasses.replace(tiny, due=(20.0, 6.0, 30.0, 50.0, 15.0))
    ev = evaluate(inst, GOOD)
    assert len(ev.violations) == 1
    assert "route 1: back at the depot at 24.0" in ev.violations[0]


def test_evaluate_flags_capacity(tiny):
    # [1, 3, 4] carries 4 + 5 + 3 = 12 > 10; times hold (customer 4 reached at 144 <= 150).
    ev = evaluate(tiny, [[1, 3, 4], [2]])
    assert ev.distance == 50 + 22 + 42 + 40 + 100 + 100
    assert ev.violations == ("route 1: load 12 over capacity 10",)


def test_evaluate_flags_fleet_size(tiny):
    ev = evaluate(tiny, [[1], [2], [3, 4]])
    assert ev.violations == ("3 routes but the fleet has 2 vehicles",)


def test_evaluate_flags_missing_and_repeated_customers(tiny):
    assert evaluate(tiny, [[1, 2], [3]]).violations == ("1 customers not served: 4",)
    ev = evaluate(tiny, [[1, 2], [1, 3, 4]])
    assert any("more than once: 1" in v for v in ev.violations)


def test_evaluate_flags_unknown_and_depot_numbers(tiny):
    ev = evaluate(tiny, [[1, 2], [3, 4, 9]])
    assert any("unknown or depot numbers [9]" in v for v in ev.violations)
    ev = evaluate(tiny, [[1, 2, 0], [3, 4]])
    assert any("unknown or depot numbers [0]" in v for v in ev.violations)


def _brute_force_optimum(inst: solomon.SolomonInstance) -> int:
    best = None
    for perm in itertools.permutations(inst.number[1:]):
        for cut in range(len(perm) + 1):
            ev = evaluate(inst, [perm[:cut], perm[cut:]])
            if ev.feasible and (best is None or ev.distance < best):
                best = ev.distance
    assert best is not None
    return best


def test_brute_force_optimum_of_tiny_is_313(tiny):
    assert _brute_force_optimum(tiny) == 313


# ----------------------------------------------------------------------------- BKS and runs


def test_read_bks_keeps_one_convention(tmp_path):
    path = tmp_path / "bks.csv"
    path.write_text(
        "instance,vehicles,distance,source,convention\n"
        'TINY,2,31.3,"hand, checked",dimacs_trunc1_distance_min\n'
        "TINY,2,31.9,x,distance_min_double\n",
        encoding="utf-8",
    )
    assert read_bks(path) == {"TINY": BestKnown(distance=31.3, vehicles=2)}


def _fake(routes):
    def solve(instance, data, *, time_limit, seed):
        return tuple(tuple(r) for r in routes)

    return solve


def _boom(instance, data, *, time_limit, seed):
    raise RuntimeError("no luck")


def test_run_solver_evaluates_and_computes_gap(tiny):
    r = run_solver(
        tiny,
        "fake",
        time_limit=1,
        bks=BestKnown(distance=31.0, vehicles=2),
        solvers={"fake": _fake(GOOD)},
    )
    assert r.feasible
    assert r.distance == pytest.approx(31.3)
    assert r.gap == pytest.approx(100 * 0.3 / 31.0)
    assert r.routes == ((1, 2), (3, 4))


def test_run_solver_records_a_crash_as_infeasible(tiny, capsys):
    r = run_solver(tiny, "boom", time_limit=1, solvers={"boom": _boom})
    assert not r.feasible
    assert r.error == "RuntimeError: no luck"
    assert r.gap is None


# ----------------------------------------------------------------------------- "ours" adapter


def test_to_scenario_builds_one_day_domain_values(tiny):
    scenario, provider = to_scenario(tiny)
    assert scenario.days == ("mon",)
    assert [s.id for s in scenario.stations] == ["depot"]
    assert [c.id for c in scenario.caregivers] == ["V1", "V2"]
    for c in scenario.caregivers:
        assert c.station == "depot"
        assert dict(c.shifts) == {"mon": (0, 1000)}
        assert c.capacity == 10
    assert [h.id for h in scenario.households] == ["1", "2", "3", "4"]
    (req,) = scenario.household("1").requests
    assert (req.minutes, req.windows, req.load) == (20, ((0, 60),), 4)
    for c in scenario.caregivers:
        assert req.required_skill in c.skills

    from dispatch.travel import Place

    places = [Place("station:depot", 0.0, 0.0), Place("household:3", 0.0, 0.0)]
    assert provider.matrix(places, "walk").tolist() == [[0, 31], [31, 0]]


def test_plan_to_routes_reads_household_ids():
    from dispatch.model import Plan, Route, Stop

    plan = Plan(
        scenario="TINY",
        routes=(
            Route(
                caregiver="V1",
                day="mon",
                leave=0,
                back=152,
                stops=(Stop("3", "3", 31, 50, 60), Stop("4", "4", 102, 102, 112)),
            ),
            Route(caregiver="V2", day="mon", leave=0, back=0),
        ),
    )
    assert plan_to_routes(plan) == ((3, 4),)


# ----------------------------------------------------------------------------- real solvers


@pytest.mark.parametrize("name", ["pyvrp", "vroom", "ours"])
def test_each_solver_finds_the_tiny_optimum(tiny, name):
    module = {"pyvrp": "pyvrp", "vroom": "vroom", "ours": "dispatch.daily"}[name]
    pytest.importorskip(module)
    r = run_solver(tiny, name, time_limit=0.5, seed=1)
    assert r.error == ""
    assert r.feasible, r.evaluation.violations
    assert r.evaluation.distance == _brute_force_optimum(tiny)


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def fake_solvers(monkeypatch):
    fakes = {"good": _fake(GOOD), "late": _fake([[2, 1], [3, 4]])}
    monkeypatch.setattr(solomon, "SOLVERS", fakes)
    monkeypatch.setattr(solomon, "_PROBES", {k: lambda: None for k in fakes})
    return fakes


@pytest.fixture
def bks_file(tmp_path):
    path = tmp_path / "bks.csv"
    path.write_text(
        "instance,vehicles,distance,source,convention\nTINY,2,31.3,x,dimacs_trunc1_distance_min\n",
        encoding="utf-8",
    )
    return path


def test_cli_single_solver_writes_csv_and_routes(tmp_path, fake_solvers, bks_file):
    out = io.StringIO()
    rc = solomon.main(
        [
            str(TINY),
            "--solver",
            "good",
            "--bks",
            str(bks_file),
            "--csv",
            str(tmp_path / "r.csv"),
            "--routes-out",
            str(tmp_path / "routes"),
        ],
        out=out,
    )
    assert rc == 0
    text = out.getvalue()
    assert "TINY" in text and "31.3" in text and "0.00" in text
    assert "INFEASIBLE" not in text
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [(r["instance"], r["solver"], r["distance"], r["feasible"]) for r in rows] == [
        ("TINY", "good", "31.3", "True")
    ]
    assert rows[0]["gap_pct"] == "0.000"
    assert json.loads((tmp_path / "routes" / "TINY.json").read_text()) == {
        "instance": "TINY",
        "routes": [[1, 2], [3, 4]],
    }


def test_cli_several_solvers_reports_infeasible_runs(tmp_path, fake_solvers, bks_file):
    out = io.StringIO()
    rc = solomon.main(
        [
            str(TINY),
            "--solver",
            "good,late",
            "--bks",
            str(bks_file),
            "--routes-out",
            str(tmp_path / "routes"),
        ],
        out=out,
    )
    assert rc == 1
    text = out.getvalue()
    assert "!! 1 INFEASIBLE run(s):" in text
    assert "TINY late: route 1: customer 1 starts at 17.0" in text
    assert (tmp_path / "routes" / "good" / "TINY.json").is_file()
    assert (tmp_path / "routes" / "late" / "TINY.json").is_file()


def test_cli_rejects_unknown_solver(fake_solvers, capsys):
    with pytest.raises(SystemExit):
        solomon.main([str(TINY), "--solver", "good,nope"])
    assert "nope" in capsys.readouterr().err


def test_cli_instances_filter_selects_by_pattern(fake_solvers, bks_file, capsys):
    common = [str(TINY), "--solver", "good", "--bks", str(bks_file)]
    assert solomon.main([*common, "--instances", "C1*"]) == 2
    assert "no instance selected" in capsys.readouterr().err
    assert solomon.main([*common, "--instances", "R101,Solomon_T*"], out=io.StringIO()) == 0
