"""The HHC benchmark on two hand-made instances (``tests/fixtures/hhc_*_tiny.*``).

Mankowska-format tiny: office (0, 0); p1 at 5 from it needs s1 and s2 together (window 0-3);
p2 at 10 from the office and 5 from p1 needs s1 (window 20-40); every service lasts 10; c1 does
s1, c2 does s1 and s2. Best: c1 and c2 reach p1 at 5 and start together (2 late each), one
goes on to p2 (15 + 5 = 20, on time): D = 5+5+10 + 5+5 = 30, T = 4, Tmax = 2, objective
(30 + 4 + 2) / 3 = 12.

Kummer-format tiny: the same distances (integers), p1's s2 starts 5-10 after its s1, windows
0-100: c1 starts s1 at 5, c2 starts s2 at 10; p2 visited from p1: D = 30, objective 10.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks.hhc import (
    Visit,
    build_problem,
    evaluate,
    main,
    parse_kummer,
    parse_mankowska,
    solve_instance,
)
from tests.conftest import fixture_path

MANKOWSKA = fixture_path("hhc_mankowska_tiny.txt")
KUMMER = fixture_path("hhc_kummer_tiny.json")


def test_mankowska_reader() -> None:
    inst = parse_mankowska(MANKOWSKA)
    assert inst.patients == 2
    assert inst.distance.shape == (3, 3)
    assert inst.qualified == (frozenset({0}), frozenset({0, 1}))
    assert [(s.patient, s.service, s.duration) for s in inst.services] == [
        (1, 0, 10.0),
        (1, 1, 10.0),
        (2, 0, 10.0),
    ]
    assert [(d.first, d.second, d.min_delay, d.max_delay) for d in inst.doubles] == [
        (0, 1, 0.0, 0.0)
    ]
    assert inst.windows[1:] == ((0.0, 3.0), (20.0, 40.0))


def test_kummer_reader() -> None:
    inst = parse_kummer(KUMMER)
    assert inst.patients == 2
    assert [(d.first, d.second, d.min_delay, d.max_delay) for d in inst.doubles] == [
        (0, 1, 5.0, 10.0)
    ]
    assert inst.qualified == (frozenset({0}), frozenset({0, 1}))


def test_problem_scales_and_syncs() -> None:
    problem = build_problem(parse_mankowska(MANKOWSKA))
    assert problem.matrices[0][0, 2] == 1000  # 10.0 at scale 100
    assert [v.soft_latest for v in problem.visits] == [300, 300, 4000]
    assert [v.allowed_vehicles for v in problem.visits] == [
        frozenset({0, 1}),
        frozenset({1}),
        frozenset({0, 1}),
    ]
    assert [(s.first, s.second, s.min_delay, s.max_delay, s.distinct) for s in problem.syncs] == [
        (0, 1, 0, 0, True)
    ]


def test_evaluator_on_the_best_mankowska_routes() -> None:
    inst = parse_mankowska(MANKOWSKA)
    routes = [[Visit(1, 0, 5.0), Visit(2, 0, 20.0)], [Visit(1, 1, 5.0)]]
    ev = evaluate(inst, routes)
    assert ev.violations == ()
    assert (ev.distance, ev.tardiness, ev.max_tardiness) == (30.0, 4.0, 2.0)
    assert ev.objective == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("routes", "fragment"),
    [
        # c1 may not do s2.
        ([[Visit(1, 1, 5.0), Visit(2, 0, 20.0)], [Visit(1, 0, 5.0)]], "not qualified"),
        # The pair starts 1 apart.
        ([[Visit(1, 0, 5.0), Visit(2, 0, 20.0)], [Visit(1, 1, 6.0)]], "apart"),
        # p2 is left out.
        ([[Visit(1, 0, 5.0)], [Visit(1, 1, 5.0)]], "not done"),
        # p2 at 19: p1 ends 15, 5 to ride.
        ([[Visit(1, 0, 5.0), Visit(2, 0, 19.5)], [Visit(1, 1, 5.0)]], "cannot reach"),
        # c2 does both of p1's services.
        ([[Visit(2, 0, 20.0)], [Visit(1, 0, 5.0), Visit(1, 1, 5.0)]], "one caregiver"),
    ],
)
def test_evaluator_finds_broken_rules(routes: list[list[Visit]], fragment: str) -> None:
    ev = evaluate(parse_mankowska(MANKOWSKA), routes)
    assert not ev.feasible
    assert any(fragment in v for v in ev.violations), ev.violations


@pytest.mark.parametrize(("path", "objective"), [(MANKOWSKA, 12.0), (KUMMER, 10.0)])
def test_solver_finds_the_best_tiny_solution(path: Path, objective: float) -> None:
    inst = parse_mankowska(path) if path.suffix == ".txt" else parse_kummer(path)
    routes, dropped, _ = solve_instance(inst, time_limit=3)
    ev = evaluate(inst, routes)
    assert dropped == []
    assert ev.violations == ()
    assert ev.objective == pytest.approx(objective)


def test_cli_prints_gaps_and_writes_routes(tmp_path: Path) -> None:
    bks = tmp_path / "bks.csv"
    bks.write_text(
        "instance,objective,set\nhhc_mankowska_tiny,10.0,Tiny-2\nhhc_kummer_tiny,10.0,Tiny-2\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    argv = [str(MANKOWSKA), str(KUMMER), "--time-limit", "2", "--bks", str(bks)]
    status = main([*argv, "--routes-out", str(tmp_path / "routes")], out=out)
    text = out.getvalue()
    assert status == 0
    # Mankowska: 12 against 10 is 20 % above; Kummer: 0 %; the group's mean is 10 %.
    assert "20.00" in text and "10.00" in text
    doc = json.loads((tmp_path / "routes" / "hhc_mankowska_tiny.json").read_text("utf-8"))
    visits = {
        (loc["patient"], loc["service"]): (r["caregiver_id"], loc["arrival_time"])
        for r in doc["routes"]
        for loc in r["locations"]
    }
    assert visits[("p1", "s1")] == ("c1", 5.0)
    assert visits[("p1", "s2")] == ("c2", 5.0)
    assert visits[("p2", "s1")][1] == 20.0


def test_cli_missing_file_is_status_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "nope.txt"), "--time-limit", "1"], out=io.StringIO()) == 2
