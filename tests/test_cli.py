"""The ``dispatch`` command line: ``check`` on the tiny week of ``tests/dispatch/test_checker``.

The files are written here as JSON (travel: circuity 1.0, e-bike 60 km/h, so minutes are
ceil(km); S1-H1 9 min, H1-H2 6, S1-H2 15, S1-H3 5, H1-H3 14, H2-H3 19).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dispatch.cli import COMMANDS, build_parser, main

SCENARIO: dict[str, Any] = {
    "format": 1,
    "name": "tiny week",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "travel": {"provider": "haversine", "circuity": 1.0, "speed_kmh": {"ebike": 60}},
    "stations": [{"id": "S1", "name": "站", "lat": 38.00, "lon": 106.0}],
    "caregivers": [
        {
            "id": "C1", "station": "S1", "gender": "F", "mode": "ebike",
            "skills": ["cleaning", "bathing", "meal_delivery"],
            "shifts": {d: ["08:00", "17:00"] for d in ("mon", "wed", "fri")},
            "break": {"window": ["11:30", "13:30"], "minutes": 60},
            "max_minutes_per_week": 1200, "max_visits_per_day": 3, "capacity": 1,
        },
        {
            "id": "C2", "station": "S1", "gender": "M", "mode": "ebike",
            "skills": ["bathing", "meal_delivery"],
            "shifts": {d: ["08:00", "12:00"] for d in ("mon", "wed")},
        },
    ],
    "households": [
        {
            "id": "H1", "lat": 38.08, "lon": 106.0, "gender_preference": "F",
            "forbidden_caregivers": ["C2"],
            "requests": [{
                "id": "H1-clean", "service": "cleaning", "minutes": 90, "visits_per_week": 2,
                "min_gap_days": 2, "days": ["mon", "tue", "wed", "thu", "fri"],
                "windows": [["08:30", "11:00"]], "staff": 1,
            }],
        },
        {
            "id": "H2", "lat": 38.13, "lon": 106.0,
            "requests": [{
                "id": "H2-bath", "service": "bed_bath", "skill": "bathing", "minutes": 60,
                "visits_per_week": 1, "days": ["mon", "wed"], "windows": [["10:00", "11:30"]],
                "staff": 2,
            }],
        },
        {
            "id": "H3", "lat": 37.96, "lon": 106.0,
            "requests": [{
                "id": "H3-meal", "service": "meal_delivery", "minutes": 10, "visits_per_week": 3,
                "windows": [["10:30", "12:30"], ["16:30", "18:00"]], "staff": 1, "load": 1,
            }],
        },
    ],
}  # fmt: skip

# The clean plan of test_checker's docstring.
PLAN: dict[str, Any] = {
    "format": 1,
    "scenario": "tiny week",
    "routes": [
        {
            "caregiver": "C1", "day": "mon", "leave": "08:00", "back": "12:45",
            "break": {"start": "11:40", "end": "12:40"},
            "stops": [
                {"request": "H1-clean", "household": "H1", "arrival": "08:09", "start": "08:30",
                 "end": "10:00"},
                {"request": "H2-bath", "household": "H2", "arrival": "10:06", "start": "10:10",
                 "end": "11:10"},
                {"request": "H3-meal", "household": "H3", "arrival": "11:29", "start": "11:30",
                 "end": "11:40"},
            ],
        },
        {
            "caregiver": "C2", "day": "mon", "leave": "09:50", "back": "11:25",
            "stops": [
                {"request": "H2-bath", "household": "H2", "arrival": "10:05", "start": "10:10",
                 "end": "11:10"},
            ],
        },
        {
            "caregiver": "C1", "day": "wed", "leave": "08:00", "back": "10:45",
            "break": {"start": "12:00", "end": "13:00"},
            "stops": [
                {"request": "H1-clean", "household": "H1", "arrival": "08:09", "start": "08:30",
                 "end": "10:00"},
                {"request": "H3-meal", "household": "H3", "arrival": "10:14", "start": "10:30",
                 "end": "10:40"},
            ],
        },
    ],
    "unassigned": [
        {"request": "H3-meal", "household": "H3", "missing_visits": 1, "reason": "capacity",
         "detail": "C1 carries one meal a day"},
    ],
    "kpis": {"required_visits": 6, "planned_visits": 5, "travel_minutes": 97,
             "service_minutes": 320, "requests_fully_served": 0.667},
}  # fmt: skip


def write(tmp_path: Path, scenario: Any = SCENARIO, plan: Any = PLAN) -> tuple[str, str]:
    sc, pl = tmp_path / "scenario.json", tmp_path / "plan.json"
    sc.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    pl.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return str(sc), str(pl)


def late_arrival_plan() -> dict[str, Any]:
    plan = copy.deepcopy(PLAN)
    plan["routes"][2]["stops"][0]["arrival"] = "08:05"  # 9 min ride from 08:00: 08:09
    return plan


def test_clean_plan_exits_0_and_prints_the_kpis(tmp_path, capsys):
    assert main(["check", *write(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    lines = out.splitlines()
    assert any(line.split() == ["planned_visits", "5"] for line in lines)
    assert any(line.split() == ["travel_minutes", "97"] for line in lines)
    assert any(line.split() == ["requests_fully_served", "0.667"] for line in lines)


def test_violation_exits_1_one_line_each(tmp_path, capsys):
    assert main(["check", *write(tmp_path, plan=late_arrival_plan())]) == 1
    out = capsys.readouterr().out
    rows = [line.split(None, 4) for line in out.splitlines() if line.startswith("travel ")]
    assert len(rows) == 1
    assert rows[0][:4] == ["travel", "C1", "wed", "H1-clean"]
    assert "08:09" in rows[0][4]


def test_json_report(tmp_path, capsys):
    assert main(["check", *write(tmp_path, plan=late_arrival_plan()), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert [(v["rule"], v["caregiver"], v["day"], v["request"]) for v in doc["violations"]] == [
        ("travel", "C1", "wed", "H1-clean")
    ]
    assert doc["kpis"]["planned_visits"] == 5


def test_json_report_of_a_clean_plan(tmp_path, capsys):
    assert main(["check", *write(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["violations"] == []


def assert_one_line_error(capsys, *words: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("dispatch check: error: ")
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], err


def test_unknown_scenario_field_exits_2_naming_it(tmp_path, capsys):
    sc = copy.deepcopy(SCENARIO)
    sc["caregivers"][1]["skils"] = ["bathing"]
    assert main(["check", *write(tmp_path, scenario=sc)]) == 2
    assert_one_line_error(capsys, "caregivers[1]", "skils")


def test_bad_plan_time_exits_2_naming_the_field(tmp_path, capsys):
    plan = copy.deepcopy(PLAN)
    plan["routes"][1]["stops"][0]["start"] = "25:10"
    assert main(["check", *write(tmp_path, plan=plan)]) == 2
    assert_one_line_error(capsys, "routes[1].stops[0].start")


def test_broken_json_exits_2(tmp_path, capsys):
    sc, pl = write(tmp_path)
    Path(pl).write_text('{"format": 1,', encoding="utf-8")
    assert main(["check", sc, pl]) == 2
    assert_one_line_error(capsys, "line 1")


def test_missing_file_exits_2(tmp_path, capsys):
    sc, _ = write(tmp_path)
    assert main(["check", sc, str(tmp_path / "nowhere.json")]) == 2
    assert_one_line_error(capsys, "nowhere.json")


def test_no_command_and_bad_usage_exit_2(capsys):
    assert main([]) == 2
    assert main(["check", "only-one-file.json"]) == 2
    assert "usage" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_a_command_is_one_register_function():
    def register_hello(sub) -> None:
        p = sub.add_parser("hello", help="say hello")
        p.set_defaults(handler=lambda args: 7)

    COMMANDS.append(register_hello)
    try:
        assert "hello" in build_parser().format_help()
        assert main(["hello"]) == 7
    finally:
        COMMANDS.remove(register_hello)


@pytest.mark.parametrize(("plan", "code"), [(PLAN, 0), (late_arrival_plan(), 1)])
def test_python_dash_m_dispatch(tmp_path, plan, code):
    done = subprocess.run(
        [sys.executable, "-m", "dispatch", "check", *write(tmp_path, plan=plan)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == code, done.stderr


# --- dispatch route ---------------------------------------------------------------------------

TINY = Path(__file__).parent / "fixtures" / "tiny_scenario.json"


def test_route_writes_a_plan_that_check_passes(tmp_path, capsys):
    out = tmp_path / "plan.json"
    code = main(["route", str(TINY), "--time-limit", "2", "--iterations", "50", "--out", str(out)])
    assert code == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["format"] == 1 and plan["routes"]
    assert "visits planned" in capsys.readouterr().err
    assert main(["check", str(TINY), str(out)]) == 0


def test_route_rejects_a_day_outside_the_scenario(capsys):
    assert main(["route", str(TINY), "--day", "sun", "--time-limit", "1"]) == 2
    assert "day" in capsys.readouterr().err


def test_route_rejects_a_non_positive_time_limit(capsys):
    assert main(["route", str(TINY), "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err


# --- dispatch plan / generate -----------------------------------------------------------------

WEEK = Path(__file__).parent / "fixtures" / "week_scenario.json"


def kpi_rows(out: str) -> dict[str, str]:
    return {p[0]: p[1] for p in (line.split() for line in out.splitlines()) if len(p) == 2}


def test_plan_greedy_writes_a_clean_week_and_prints_the_kpis(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", str(WEEK), "--solver", "greedy", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    rows = kpi_rows(captured.out)
    # The week fixture: 2 + 2 + 2 visits, all of them fit (see tests/dispatch/test_greedy).
    assert rows["required_visits"] == "6" and rows["planned_visits"] == "6"
    assert "distinct_caregivers_per_request" in rows and "households_outside_15min" in rows
    assert "checker: OK" in captured.out
    assert "100%" in captured.err.splitlines()[-1]
    assert json.loads(out.read_text(encoding="utf-8"))["format"] == 1
    assert main(["check", str(WEEK), str(out)]) == 0


def test_plan_ours_reports_progress_from_the_planner(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", str(WEEK), "--time-limit", "1", "--seed", "3", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    bars = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(bars) >= 2
    assert bars[-1].startswith("[" + "#" * 30 + "] 100%")
    assert "checker: OK" in captured.out
    assert main(["check", str(WEEK), str(out)]) == 0


def test_plan_of_two_weeks_writes_a_dated_plan_that_check_accepts(tmp_path, capsys):
    out = tmp_path / "fortnight.json"
    argv = ["plan", str(WEEK), "--weeks", "2", "--time-limit", "2", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "checker: OK" in captured.out
    assert kpi_rows(captured.out)["required_visits"] == "12"  # 6 a week
    assert "week 2/2" in captured.err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["weeks"] == 2
    dates = {r["date"] for r in doc["routes"]}
    assert min(dates) >= "2026-11-23" and max(dates) <= "2026-12-06"
    assert any(d >= "2026-11-30" for d in dates)
    assert main(["check", str(WEEK), str(out)]) == 0
    assert "OK: no violations" in capsys.readouterr().out


def test_plan_of_several_weeks_needs_a_week_start(tmp_path, capsys):
    sc = json.loads(WEEK.read_text(encoding="utf-8"))
    del sc["week_start"]
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(sc, ensure_ascii=False), encoding="utf-8")
    assert main(["plan", str(path), "--weeks", "2", "--out", str(tmp_path / "p.json")]) == 2
    assert "week_start" in capsys.readouterr().err


def test_plan_lists_unassigned_visits_by_reason(tmp_path, capsys):
    sc = copy.deepcopy(SCENARIO)
    sc["households"][0]["requests"][0]["skill"] = "nursing"  # nobody has it
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(sc, ensure_ascii=False), encoding="utf-8")
    assert main(["plan", str(path), "--solver", "greedy", "--out", str(tmp_path / "p.json")]) == 0
    rows = kpi_rows(capsys.readouterr().out)
    assert rows["no_qualified_caregiver"] == "2"


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", str(WEEK), "--time-limit", "0", "--out", "p.json"],
        ["plan", str(WEEK), "--solver", "best", "--out", "p.json"],
        ["plan", str(WEEK)],
        ["plan", str(WEEK), "--weeks", "0", "--out", "p.json"],
        ["plan", str(WEEK), "--weeks", "2", "--solver", "greedy", "--out", "p.json"],
    ],
)
def test_plan_bad_options_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_progress_bar_line_and_terminal_redraw():
    import io

    from dispatch.cli import ProgressBar

    ticks = iter([100.0, 102.5, 103.0])
    bar = ProgressBar(io.StringIO(), width=10, clock=lambda: next(ticks))
    assert bar.line("route", 0.44, "S1") == "[####......]  44%   2.5s route: S1"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar(screen, width=4, clock=lambda: 0.0)
    bar(type("P", (), {"stage": "a", "fraction": 0.5, "message": "m"})())
    bar(type("P", (), {"stage": "b", "fraction": 2.0, "message": "n"})())
    bar.close()
    text = screen.getvalue()
    assert text.count("\r") == 2 and text.endswith("[####] 100%   0.0s b: n\n")


def test_generate_then_plan_the_district(tmp_path, capsys):
    scenario = tmp_path / "district.json"
    argv = ["generate", "--households", "12", "--stations", "1", "--seed", "2"]
    assert main([*argv, "--out", str(scenario)]) == 0
    assert "wrote" in capsys.readouterr().out
    doc = json.loads(scenario.read_text(encoding="utf-8"))
    assert len(doc["households"]) == 12 and len(doc["stations"]) == 1
    out = tmp_path / "plan.json"
    assert main(["plan", str(scenario), "--solver", "greedy", "--out", str(out)]) == 0
    assert main(["check", str(scenario), str(out)]) == 0


def test_generate_usage_errors_and_help(capsys):
    assert main(["generate", "--households", "5"]) == 2
    assert "--stations" in capsys.readouterr().err
    assert main(["generate", "--help"]) == 0
    assert "--households" in capsys.readouterr().out
