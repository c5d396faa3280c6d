"""What-if batches: the variants document, variants applied to a scenario, the comparison rows
and their files, a batch on the local engine and ``dispatch batch`` end to end.

The scenario is a generated district of 40 households at two stations (S01, S02; seed 3),
made once for the module in well under a second.
"""

from __future__ import annotations

import csv
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from dispatch.batch import (
    BASELINE,
    COLUMNS,
    MAX_VARIANTS,
    BatchError,
    StaffCost,
    VariantSpec,
    comparison_row,
    failed_row,
    parse_variants,
    run_batch,
    variant_scenarios,
    variant_slugs,
    write_csv,
    write_xlsx,
)
from dispatch.checker import check_plan
from dispatch.cli import main
from dispatch.engines import RAY_INSTALL_HINT, EngineSettings
from dispatch.generate import generate_district
from dispatch.greedy import plan_greedy
from dispatch.model import Scenario
from dispatch.plan_io import load_plan
from dispatch.scenario_io import save_scenario

DEMO_GRID: dict[str, Any] = {
    "grid": {
        "add_caregivers": {"station": "each", "count": "0..5"},
        "scale_demand": [1.0, 1.2],
    }
}


@pytest.fixture(scope="module")
def district() -> Scenario:
    return generate_district(households=40, stations=2, seed=3, name="batch test district")


# --- the document -------------------------------------------------------------------------------


def test_the_demo_grid_is_twelve_variants_baseline_first() -> None:
    specs, cost = parse_variants(DEMO_GRID)
    names = [s.name for s in specs]
    assert len(names) == 12
    assert names[:4] == [BASELINE, "demand×1.2", "+1@each", "+1@each · demand×1.2"]
    assert names[-1] == "+5@each · demand×1.2"
    assert specs[0].changes == {}
    assert specs[3].changes == {
        "add_caregivers": [{"station": "each", "count": 1, "template": None}],
        "scale_demand": 1.2,
    }
    assert cost == StaffCost()


def test_the_bundled_variants_file_is_the_demo_grid() -> None:
    doc = json.loads(Path("data/demo/variants.json").read_text(encoding="utf-8"))
    assert [s.name for s in parse_variants(doc)[0]] == [
        s.name for s in parse_variants(DEMO_GRID)[0]
    ]


def test_listed_variants_come_before_the_grid_and_the_grid_drops_the_baseline_again() -> None:
    doc = {
        "variants": [
            {"name": " fewer ", "remove_caregivers": ["S01-C01"]},
            {"name": "new site", "add_station": [{"id": "S9", "lat": 38.5, "lon": 106.2}]},
        ],
        "grid": {
            "scale_demand": [1.0, 1.5],
            "add_caregivers": [None, {"station": "S01", "count": 2, "template": "S01-C01"}],
        },
        "staff_cost": {"yuan_per_month": 5000},
    }
    specs, cost = parse_variants(doc)
    assert [s.name for s in specs] == [
        BASELINE,
        "fewer",
        "new site",
        "demand×1.5",  # axes combine in the order of the modifications, not of the document
        "+2@S01",
        "+2@S01 · demand×1.5",
    ]
    assert cost == StaffCost(yuan_per_month=5000.0)
    without = parse_variants({"baseline": False, "grid": {"scale_demand": [1.0, 1.5]}})[0]
    assert [s.name for s in without] == [BASELINE, "demand×1.5"]  # the empty one kept, once


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ([], "$"),
        ({"variant": []}, "$"),
        ({"format": 2}, "format"),
        ({"baseline": "yes"}, "baseline"),
        ({"variants": {}}, "variants"),
        ({"variants": [{"scale_demand": 1.2}]}, "variants[0].name"),
        ({"variants": [{"name": "x", "scale_demand": 0}]}, "variants[0].scale_demand"),
        ({"variants": [{"name": "x", "colour": 1}]}, "variants[0]"),
        (
            {"variants": [{"name": "x", "add_caregivers": {"station": "each", "count": "0..5"}}]},
            "variants[0].add_caregivers.count",
        ),
        (
            {"variants": [{"name": "x", "add_caregivers": {"station": "S01", "count": 1}}]},
            "variants[0].add_caregivers.template",
        ),
        (
            {"variants": [{"name": "x", "move_station": [{"id": "S01", "lat": 100, "lon": 1}]}]},
            "variants[0].move_station[0].lat",
        ),
        ({"variants": [{"name": "x", "remove_caregivers": "C1"}]}, "variants[0].remove_caregivers"),
        ({"grid": {"weather": [1]}}, "grid"),
        ({"grid": {"scale_demand": []}}, "grid.scale_demand"),
        ({"grid": {"scale_demand": [1.2, -1]}}, "grid.scale_demand[1]"),
        (
            {"grid": {"add_caregivers": {"station": "each", "count": "5..1"}}},
            "grid.add_caregivers.count",
        ),
        (
            {
                "grid": {
                    "add_caregivers": {"station": "each", "count": "0..40"},
                    "scale_demand": [1, 2],
                }
            },
            "grid",
        ),
        ({"variants": [{"name": BASELINE, "scale_demand": 2}]}, "variants"),
        ({"baseline": False}, "variants"),
        ({"staff_cost": {"yuan_per_month": -1}}, "staff_cost.yuan_per_month"),
        ({"staff_cost": {"currency": "CNY"}}, "staff_cost"),
    ],
)
def test_each_mistake_names_its_field(doc: Any, path: str) -> None:
    with pytest.raises(BatchError) as err:
        parse_variants(doc)
    assert err.value.path == path
    assert str(err.value).startswith(f"{path}: ")


def test_at_most_max_variants() -> None:
    doc = {"variants": [{"name": f"v{i}", "scale_demand": 1.1} for i in range(MAX_VARIANTS)]}
    with pytest.raises(BatchError, match="at most"):
        parse_variants(doc)


def test_slugs_are_file_names_and_unique() -> None:
    slugs = variant_slugs(["+2@each · demand×1.2", "增加 护理员", "a/b", "a b", "", BASELINE])
    assert slugs == {
        "+2@each · demand×1.2": "plus2-at-each-demand-x1.2",
        "增加 护理员": "增加-护理员",
        "a/b": "a-b",
        "a b": "a-b-2",
        "": "variant",
        BASELINE: BASELINE,
    }


# --- variants applied ---------------------------------------------------------------------------


def test_each_adds_at_every_station_copying_its_first_caregiver(district: Scenario) -> None:
    specs = [
        VariantSpec(BASELINE),
        VariantSpec(
            "+2@each", {"add_caregivers": [{"station": "each", "count": 2, "template": None}]}
        ),
    ]
    (base, same), (plus, more) = variant_scenarios(district, specs)
    assert same == district and base.modifications.add_caregivers == ()
    assert len(more.caregivers) == len(district.caregivers) + 4
    for station in ("S01", "S02"):
        first = next(c for c in district.caregivers if c.station == station)
        new = [c for c in more.caregivers if c.id.startswith(f"{station}-new")]
        assert len(new) == 2
        assert all(c.skills == first.skills and c.shifts == first.shifts for c in new)
    assert [a.template for a in plus.modifications.add_caregivers] == [
        next(c.id for c in district.caregivers if c.station == s) for s in ("S01", "S02")
    ]


def test_a_modification_that_does_not_apply_names_the_variant(district: Scenario) -> None:
    template = district.caregivers[0].id
    bad = VariantSpec(
        "far away", {"add_caregivers": [{"station": "S99", "count": 1, "template": template}]}
    )
    with pytest.raises(BatchError) as err:
        variant_scenarios(district, [VariantSpec(BASELINE), bad])
    assert err.value.path == "far away" and "S99" in str(err.value)
    moved = VariantSpec("moved", {"move_station": [{"id": "S07", "lat": 38.5, "lon": 106.2}]})
    with pytest.raises(BatchError, match=r"^moved: move_station: unknown station 'S07'"):
        variant_scenarios(district, [moved])


# --- the comparison -----------------------------------------------------------------------------


def test_comparison_row_is_the_checkers_kpis(district: Scenario) -> None:
    plan = plan_greedy(district)
    report = check_plan(district, plan)
    row = comparison_row("baseline", district, plan, StaffCost())
    k = report.kpis
    assert list(row) == list(COLUMNS)
    assert row["status"] == "done" and row["violations"] == len(report.violations) == 0
    assert row["required_visits"] == k["required_visits"]
    assert row["planned_visits"] == k["planned_visits"]
    assert row["planned_share"] == round(k["planned_visits"] / k["required_visits"], 4)
    assert row["travel_minutes"] == int(k["travel_minutes"])
    assert row["overtime_minutes"] == int(k["overtime_minutes"])
    assert row["distinct_caregivers_per_request"] == round(k["distinct_caregivers_per_request"], 3)
    assert row["utilisation_mean"] == round(k["utilisation_mean"], 4)
    assert row["households_outside_15min"] == int(k["households_outside_15min"])
    assert row["caregivers"] == len(district.caregivers)
    unassigned = sum(v for c, v in row.items() if c.startswith("unassigned_"))
    assert unassigned == sum(u.missing_visits for u in plan.unassigned)
    # 4,000 yuan a month is 4000 * 12 / 52 a week per caregiver, without overtime.
    assert row["staff_cost_yuan"] == pytest.approx(
        len(district.caregivers) * 4000 * 12 / 52 + k["overtime_minutes"] / 60 * 4000 / 174 * 1.5,
        abs=0.01,
    )


def test_the_table_reads_back_from_csv_and_excel(district: Scenario, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = [
        comparison_row("baseline", district, plan_greedy(district), StaffCost()),
        failed_row("增加 护理员", "failed", "ValueError: boom"),
    ]
    write_csv(rows, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as f:
        read = list(csv.DictReader(f))
    assert list(read[0]) == [*COLUMNS, "error"]
    assert read[0]["planned_share"] == str(rows[0]["planned_share"])
    assert read[0]["travel_minutes"] == str(rows[0]["travel_minutes"])
    assert read[1]["variant"] == "增加 护理员" and read[1]["error"] == "ValueError: boom"
    assert read[1]["travel_minutes"] == ""

    write_xlsx(rows, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["comparison"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [*COLUMNS, "error"]
    first = dict(zip(values[0], values[1], strict=True))
    assert first["planned_share"] == rows[0]["planned_share"]
    assert first["staff_cost_yuan"] == rows[0]["staff_cost_yuan"]
    second = dict(zip(values[0], values[2], strict=True))
    assert second["variant"] == "增加 护理员" and second["status"] == "failed"


# --- a batch ------------------------------------------------------------------------------------


def test_a_batch_on_the_local_engine_gives_checked_plans(district: Scenario) -> None:
    specs, _ = parse_variants(
        {
            "variants": [
                {"name": "+1@each", "add_caregivers": {"station": "each", "count": 1}},
                {"name": "less demand", "scale_demand": 0.8},
            ]
        }
    )
    started: list[str] = []
    ended: list[str] = []
    outcomes = run_batch(
        district,
        specs,
        engine=EngineSettings("local", workers=2),
        time_limit=1.0,
        on_report=lambda name, r: started.append(name) if r.get("started") else None,
        on_outcome=lambda o: ended.append(o.variant.name),
    )
    assert [o.variant.name for o in outcomes] == [BASELINE, "+1@each", "less demand"]
    assert sorted(started) == sorted(ended) == sorted(o.variant.name for o in outcomes)
    for o in outcomes:
        assert o.plan is not None and o.error is None and o.attempts == 1
        assert check_plan(o.scenario, o.plan).ok
        assert o.row["status"] == "done" and o.row["violations"] == 0
    assert len(outcomes[1].scenario.caregivers) == len(district.caregivers) + 2
    assert outcomes[2].row["required_visits"] < outcomes[0].row["required_visits"]


# --- dispatch batch -----------------------------------------------------------------------------


@pytest.fixture
def files(district: Scenario, tmp_path: Path) -> tuple[Path, Path]:
    scenario = tmp_path / "district.json"
    save_scenario(district, scenario)
    variants = tmp_path / "variants.json"
    doc = {
        "grid": {"add_caregivers": {"station": "each", "count": [0, 1]}, "scale_demand": [1.0, 1.2]}
    }
    variants.write_text(json.dumps(doc), encoding="utf-8")
    return scenario, variants


def test_the_command_writes_the_files_and_prints_the_table(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, variants = files
    out = tmp_path / "out"
    argv = ["batch", str(scenario), "--variants", str(variants), "--solver", "greedy"]
    code = main([*argv, "--time-limit", "1", "--workers", "2", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    lines = printed.out.splitlines()
    assert lines[0].startswith("4 variants of 'batch test district', greedy")
    assert lines[1].split()[:4] == ["variant", "status", "staff", "planned"]
    assert lines[2].split()[:2] == [BASELINE, "done"] and "(+" not in lines[2]
    assert [line.split()[0] for line in lines[3:6]] == ["demand×1.2", "+1@each", "+1@each"]
    assert "(+2)" in lines[4]  # staff: one more caregiver at each of the two stations
    assert lines[-1].startswith("checker: OK")
    assert "4/4 done" in printed.err
    summary = json.loads((out / "variants.json").read_text(encoding="utf-8"))
    assert summary["solver"] == "greedy" and summary["engine"] == "local"
    assert [v["status"] for v in summary["variants"]] == ["done"] * 4
    for v in summary["variants"]:
        plan = load_plan(out / v["file"])
        assert plan.routes
    assert sorted(p.name for p in (out / "plans").iterdir()) == [
        "baseline.json",
        "demand-x1.2.json",
        "plus1-at-each-demand-x1.2.json",
        "plus1-at-each.json",
    ]
    with open(out / "comparison.csv", encoding="utf-8-sig") as f:
        assert [r["variant"] for r in csv.DictReader(f)] == [v["name"] for v in summary["variants"]]
    assert (out / "comparison.xlsx").stat().st_size > 0


def test_the_command_without_ray_says_how_to_install_it(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    scenario, variants = files
    code = main(
        [
            "batch",
            str(scenario),
            "--variants",
            str(variants),
            "--engine",
            "ray",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f"dispatch batch: error: {RAY_INSTALL_HINT}"]


@pytest.mark.parametrize(
    ("extra", "doc", "field"),
    [
        ([], {"variants": [{"name": "x", "scale_demand": 0}]}, "variants[0].scale_demand"),
        (["--workers", "0"], {}, "--workers"),
        (["--time-limit", "0"], {}, "--time-limit"),
        (["--engine", "local", "--address", "auto"], {}, "--address"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    doc: dict[str, Any],
    field: str,
) -> None:
    scenario, variants = files
    if doc:
        variants.write_text(json.dumps(doc), encoding="utf-8")
    code = main(
        ["batch", str(scenario), "--variants", str(variants), "--out", str(tmp_path / "o"), *extra]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert field in err[0]


def test_a_cancelled_batch_leaves_every_variant_cancelled(district: Scenario) -> None:
    cancel = threading.Event()
    cancel.set()
    specs, _ = parse_variants({"grid": {"scale_demand": [1.0, 1.2]}})
    outcomes = run_batch(district, specs, engine=EngineSettings("local", workers=1), cancel=cancel)
    assert [(o.variant.name, o.row["status"], o.plan) for o in outcomes] == [
        (BASELINE, "cancelled", None),
        ("demand×1.2", "cancelled", None),
    ]


def test_a_batch_refuses_an_unknown_solver_or_time_limit(district: Scenario) -> None:
    specs = [VariantSpec(BASELINE)]
    with pytest.raises(BatchError, match=r"^solver: "):
        run_batch(district, specs, solver="vroom")
    with pytest.raises(BatchError, match=r"^time_limit: "):
        run_batch(district, specs, time_limit=0)
