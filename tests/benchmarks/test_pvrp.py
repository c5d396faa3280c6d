"""PVRP benchmark: parser, pattern codes, independent evaluator and CLI on a hand-made instance.

``tests/fixtures/pvrp_tiny.txt``: one vehicle a day, two days, no duration limit, capacity 10.
Depot (0, 0); customer 1 at (3, 4) every day (pattern 3 = binary 11); customers 2 at (0, 4) and
3 at (3, 0) once, on day 1 (pattern 2 = 10) or day 2 (pattern 1 = 01); demand 5 each. They
cannot share a day (15 > 10), so the optimum is [1, 2] one day and [3, 1] the other, or the
mirror: 5 + 3 + 4 = 12 and 3 + 4 + 5 = 12, total 24.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks.pvrp import (
    build_problem,
    decode_pattern,
    evaluate,
    load_bks,
    main,
    parse_instance,
)
from tests.conftest import fixture_path

TINY = fixture_path("pvrp_tiny.txt")


def test_pattern_codes_read_left_to_right() -> None:
    assert decode_pattern(10, 5) == (1, 3)  # 01010: days 2 and 4
    assert decode_pattern(3, 2) == (0, 1)
    assert decode_pattern(2, 2) == (0,)
    assert decode_pattern(1, 2) == (1,)


def test_parse_tiny_instance() -> None:
    inst = parse_instance(TINY)
    assert (inst.vehicles, inst.days, inst.capacity, inst.max_duration) == (1, 2, (10, 10), (0, 0))
    assert inst.depot == (0.0, 0.0)
    assert [c.id for c in inst.customers] == [1, 2, 3]
    assert inst.customers[0].patterns == ((0, 1),)
    assert inst.customers[1].patterns == ((0,), (1,))


def test_malformed_file_is_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("1 1 3 2\n0 10\n")
    with pytest.raises(ValueError, match="bad"):
        parse_instance(bad)


def test_problem_scales_and_rounds_distances_up() -> None:
    problem, routed = build_problem(parse_instance(TINY))
    assert [c.id for c in routed] == [1, 2, 3]
    assert problem.matrix[0, 1] == 5000
    assert problem.matrix[2, 3] == 5000
    assert problem.fleets[0].capacity == 10 and problem.fleets[0].max_duration is None


def test_customer_on_the_depot_is_not_routed(tmp_path: Path) -> None:
    text = TINY.read_text().replace("1 1 3 2", "1 1 4 2") + " 4 0 0 0 10 1 1 2\n"
    path = tmp_path / "ondepot"
    path.write_text(text)
    inst = parse_instance(path)
    _, routed = build_problem(inst)
    assert [c.id for c in routed] == [1, 2, 3]
    distance, problems = evaluate(inst, [[[1, 2]], [[3, 1]]])
    assert problems == [] and distance == pytest.approx(24.0)


def test_evaluator_accepts_the_optimum() -> None:
    distance, problems = evaluate(parse_instance(TINY), [[[1, 2]], [[3, 1]]])
    assert problems == []
    assert distance == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("days", "fragment"),
    [
        ([[[1, 2, 3]], [[1]]], "capacity"),
        ([[[1, 2]], [[1], [3]]], "fleet"),
        ([[[1, 2]], [[1]]], "customer 3"),
        ([[[1, 2]], [[3, 1, 2]]], "capacity"),
        ([[[2]], [[3, 1]]], "customer 1"),
        ([[[1, 2]], [[3, 1]], []], "3 days"),
        ([[[1, 2, 9]], [[3, 1]]], "unknown customer 9"),
    ],
)
def test_evaluator_reports_broken_rules(days: list[list[list[int]]], fragment: str) -> None:
    _, problems = evaluate(parse_instance(TINY), days)
    assert any(fragment in p for p in problems), problems


def test_evaluator_checks_route_duration(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_text(TINY.read_text().replace("0 10\n0 10", "11.5 10\n11.5 10"))
    _, problems = evaluate(parse_instance(path), [[[1, 2]], [[3, 1]]])
    assert any("duration 12.000 > 11.5" in p for p in problems), problems


def test_cli_solves_writes_routes_and_prints_the_gap(tmp_path: Path) -> None:
    bks = tmp_path / "bks.csv"
    bks.write_text(
        "instance,vehicles,distance,source,convention\n"
        "pvrp_tiny.txt,1,24.00,hand,bks_distance_double\n"
        "pvrp_tiny.txt,1,30.00,hand,other\n"
    )
    assert load_bks(bks) == {"pvrp_tiny.txt": 24.0}
    out = io.StringIO()
    status = main(
        [
            str(TINY),
            "--time-limit",
            "0.5",
            "--bks",
            str(bks),
            "--routes-out",
            str(tmp_path / "routes"),
            "--csv",
            str(tmp_path / "out.csv"),
        ],
        out=out,
    )
    assert status == 0
    text = out.getvalue()
    assert "24.00" in text and "mean gap 0.00 %" in text
    saved = json.loads((tmp_path / "routes" / "pvrp_tiny.txt.json").read_text())
    assert saved["instance"] == "pvrp_tiny.txt"
    distance, problems = evaluate(parse_instance(TINY), saved["days"])
    assert problems == [] and distance == pytest.approx(24.0)
    assert "gap_pct" in (tmp_path / "out.csv").read_text()


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "nope"), "--time-limit", "0.1"], out=io.StringIO()) == 2


def test_pvrp_suite_passes_instances_and_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import benchmarks.__main__ as bench
    from benchmarks import pvrp

    seen: list[list[str]] = []
    (tmp_path / "instances").mkdir()
    for name in ("p01", "p02", "pr01"):
        (tmp_path / "instances" / name).write_text("")
    monkeypatch.setattr(pvrp, "PVRP_DIR", tmp_path)

    def fake_main(argv: list[str]) -> int:
        seen.append(list(argv))
        return 0

    monkeypatch.setattr(pvrp, "main", fake_main)
    status = bench.main(
        ["--suites", "pvrp", "--instances", "p0*", "--time-limit", "7", "--out", str(tmp_path)]
    )
    assert status == 0
    argv = seen[0]
    assert [Path(a).name for a in argv[:2]] == ["p01", "p02"]
    assert argv[argv.index("--time-limit") + 1] == "7.0"
    assert argv[argv.index("--csv") + 1] == str(tmp_path / "pvrp.csv")
    assert argv[argv.index("--routes-out") + 1] == str(tmp_path / "pvrp_routes")
