"""Travel tables: a stored road matrix as a scenario's provider, plans that record it, and the
checker judging them with it (and reporting them against the contract's model)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dispatch.checker import check_plan
from dispatch.cli import main
from dispatch.compare_travel import compare_travel
from dispatch.model import Scenario
from dispatch.plan_io import PlanError, load_plan, parse_plan, plan_to_dict
from dispatch.scenario_io import ScenarioError, load_scenario, parse_scenario
from dispatch.travel import HaversineProvider, Place, provider_for
from dispatch.travel_tables import (
    TravelTableError,
    contract_scenario,
    load_table,
    resolve_travel,
    scenario_places,
    travel_of_plan,
)
from dispatch.weekly import plan_week
from solver.problem import SolveParams

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "week_scenario.json"
PARAMS = SolveParams(time_limit=30.0, seed=0, iteration_limit=200)


def _model_minutes(scenario: Scenario) -> tuple[list[str], dict[str, np.ndarray]]:
    places = scenario_places(scenario)
    model = HaversineProvider.from_settings(scenario.travel)
    modes = sorted({c.mode for c in scenario.caregivers})
    return [p.key for p in places], {m: model.matrix(places, m) for m in modes}


def _write_roads(folder: Path, factor: float, extra: int = 0, name: str = "roads.json") -> Path:
    """A road matrix over the fixture's places: the model's minutes times ``factor`` plus
    ``extra`` (a slow bridge), written beside a scenario that names it (relative path)."""
    scenario = load_scenario(FIXTURE).scenario
    keys, model = _model_minutes(scenario)
    minutes = {}
    for mode, m in model.items():
        road = np.maximum(1, np.ceil(m * factor).astype(int) + extra)
        np.fill_diagonal(road, 0)
        minutes[mode] = road.tolist()
    (folder / name).write_text(json.dumps({"format": 1, "places": keys, "minutes": minutes}))
    doc = json.loads(FIXTURE.read_text())
    doc["travel"] = {"provider": "matrix", "matrix": name}
    path = folder / f"scenario-{name}"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path


def test_a_stored_matrix_is_the_scenarios_provider_read_beside_its_file(tmp_path: Path) -> None:
    path = _write_roads(tmp_path, 2.0, extra=3)
    scenario = resolve_travel(load_scenario(path).scenario)
    _keys, model = _model_minutes(scenario)
    places = scenario_places(scenario)
    mode = scenario.caregivers[0].mode
    got = provider_for(scenario).matrix(places, mode)
    assert got[0, 1] == max(1, int(np.ceil(model[mode][0, 1] * 2.0)) + 3)
    assert (got != model[mode]).any()
    assert scenario.travel.table.path == str(tmp_path / "roads.json")


def test_a_plan_made_with_road_minutes_records_them_and_passes_the_check_with_them(
    tmp_path: Path,
) -> None:
    # Roads three times faster than the model: the routes are timed on them.
    path = _write_roads(tmp_path, 1 / 3)
    scenario = load_scenario(path).scenario
    plan = plan_week(scenario, params=PARAMS, deterministic=True)
    assert plan.travel is not None and plan.travel.provider == "matrix"
    table = load_table(tmp_path / "roads.json")
    assert [t.fingerprint for t in plan.travel.tables] == [table.fingerprint]

    judged = check_plan(travel_of_plan(scenario, plan), plan)
    assert judged.ok, judged.violations
    # The same routes against the straight-line model are too fast to be true.
    straight = check_plan(contract_scenario(scenario), plan)
    assert not straight.ok
    assert {str(v.rule) for v in straight.violations} == {"travel"}
    assert judged.kpis["travel_minutes"] < straight.kpis["travel_minutes"]


def test_a_plan_of_the_model_judged_with_slower_roads_breaks_the_travel_rule(
    tmp_path: Path,
) -> None:
    path = _write_roads(tmp_path, 3.0, extra=10)
    roads = load_scenario(path).scenario
    model_plan = plan_week(contract_scenario(roads), params=PARAMS, deterministic=True)
    assert model_plan.travel is None
    assert check_plan(contract_scenario(roads), model_plan).ok
    slow = check_plan(resolve_travel(roads), model_plan)
    assert "travel" in {str(v.rule) for v in slow.violations}


def test_the_record_round_trips_through_the_plan_file_and_a_changed_table_is_refused(
    tmp_path: Path,
) -> None:
    path = _write_roads(tmp_path, 1.5)
    scenario = load_scenario(path).scenario
    plan = plan_week(scenario, params=PARAMS, deterministic=True)
    again = parse_plan(json.loads(json.dumps(plan_to_dict(plan))))
    assert again.travel == plan.travel
    # Someone edits the matrix after planning: the plan no longer matches its record.
    doc = json.loads((tmp_path / "roads.json").read_text())
    mode = next(iter(doc["minutes"]))
    doc["minutes"][mode][0][1] += 1
    (tmp_path / "roads.json").write_text(json.dumps(doc))
    with pytest.raises(TravelTableError, match="not the"):
        travel_of_plan(load_scenario(path).scenario, again)


def test_plan_record_fields_are_validated() -> None:
    doc = {
        "format": 1,
        "scenario": "x",
        "routes": [],
        "unassigned": [],
        "kpis": {
            "required_visits": 0,
            "planned_visits": 0,
            "travel_minutes": 0,
            "service_minutes": 0,
            "requests_fully_served": 1,
        },
        "travel": {"provider": "matrix", "tables": [{"fingerprint": "md5:abc"}]},
    }
    with pytest.raises(PlanError, match=r"travel\.tables\[0\]\.fingerprint"):
        parse_plan(doc)


def _table_doc(**change: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "places": ["station:S1", "household:H1"],
        "minutes": {"*": [[0, 3], [4, 0]]},
    }
    doc.update(change)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_table_doc(minutes={"walk": [[0, 3]]}), r"minutes\.walk: shape \(1, 2\)"),
        (_table_doc(minutes={"walk": [[0, -3], [4, 0]]}), "negative"),
        (_table_doc(minutes={"walk": [[0, 2.5], [4, 0]]}), "fractional"),
        (_table_doc(minutes={"walk": [[1, 3], [4, 0]]}), "diagonal"),
        (_table_doc(places=["station:S1", "station:S1"]), "listed twice"),
        (_table_doc(colour="red"), "unknown field"),
        ({"format": 2, **_table_doc()}, "format"),
    ],
)
def test_a_bad_table_file_is_refused_naming_the_field(
    tmp_path: Path, doc: dict[str, Any], message: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TravelTableError, match=message):
        load_table(path)


def test_tables_read_gzip_and_keep_their_fingerprint_when_saved_again(tmp_path: Path) -> None:
    path = tmp_path / "t.json.gz"
    path.write_bytes(gzip.compress(json.dumps(_table_doc()).encode()))
    table = load_table(path)
    assert table.minutes("station:S1", "household:H1", "ebike") == 3
    assert table.minutes("household:H1", "station:S1", "walk") == 4
    copy = load_table(table.save(tmp_path / "copy.json"))
    assert copy.fingerprint == table.fingerprint
    with pytest.raises(TravelTableError, match="no such travel table"):
        load_table(tmp_path / "missing.json")


def test_places_the_matrix_lacks_are_priced_by_the_model_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_TRAVEL_CACHE", str(tmp_path / "cache"))
    path = _write_roads(tmp_path, 3.0)
    doc = json.loads((tmp_path / "roads.json").read_text())
    last = doc["places"][-1]
    doc["places"] = doc["places"][:-1]
    doc["minutes"] = {m: [row[:-1] for row in v[:-1]] for m, v in doc["minutes"].items()}
    (tmp_path / "roads.json").write_text(json.dumps(doc))
    scenario = resolve_travel(load_scenario(path).scenario)
    keys, model = _model_minutes(scenario)
    places = scenario_places(scenario)
    mode = scenario.caregivers[0].mode
    got = provider_for(scenario).matrix(places, mode)
    n = len(keys) - 1
    assert keys[n] == last
    assert (got[:n, :n] == np.asarray(doc["minutes"][mode])).all()
    assert (got[n, :] == model[mode][n, :]).all() and (got[:, n] == model[mode][:, n]).all()
    assert "1 places by the straight-line model" in scenario.travel.table.provider

    plan = plan_week(load_scenario(path).scenario, params=PARAMS, deterministic=True)
    assert plan.travel is not None
    stored = plan.travel.tables[0].path
    assert Path(stored).is_relative_to(tmp_path / "cache")
    # The check reads the recorded table from the cache (the file holds fewer places).
    assert check_plan(travel_of_plan(contract_scenario(scenario), plan), plan).ok


def test_a_caller_no_table_holds_is_priced_by_the_fallback(tmp_path: Path) -> None:
    scenario = resolve_travel(load_scenario(_write_roads(tmp_path, 2.0)).scenario)
    places = scenario_places(scenario)
    caller = Place("visit:call-1", places[1].lat + 0.003, places[1].lon - 0.002)
    mode = scenario.caregivers[0].mode
    table = scenario.travel.table
    got = table.matrix([*places, caller], mode)
    assert (got[:-1, :-1] == table.matrix(places, mode)).all()
    expected = HaversineProvider.from_settings(scenario.travel).matrix([*places, caller], mode)
    assert (got[-1] == expected[-1]).all() and (got[:, -1] == expected[:, -1]).all()
    table.fallback = None
    with pytest.raises(TravelTableError, match="no place visit:call-1"):
        table.matrix([*places, caller], mode)


@pytest.mark.parametrize(
    ("travel", "field"),
    [
        ({"provider": "googlemaps"}, "travel.provider"),
        ({"provider": "osrm"}, "travel.url"),
        ({"provider": "valhalla", "url": "ftp://x"}, "travel.url"),
        ({"provider": "matrix"}, "travel.matrix"),
        ({"provider": "valhalla_local"}, "travel.config"),
        ({"provider": "osrm", "url": "http://x", "profiles": {"boat": "sea"}}, "travel.profiles"),
        ({"provider": "osrm", "url": "http://x", "max_table_size": 1}, "travel.max_table_size"),
    ],
)
def test_travel_settings_are_validated_naming_the_field(travel: dict[str, Any], field: str) -> None:
    doc = json.loads(FIXTURE.read_text())
    doc["travel"] = travel
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc)
    assert any(i.path.startswith(field) for i in err.value.issues), err.value.issues


def test_cli_plan_and_check_with_a_stored_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_roads(tmp_path, 1 / 3)
    out = tmp_path / "plan.json"
    assert main(["plan", str(path), "--time-limit", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert load_plan(out).travel is not None

    assert main(["check", str(path), str(out)]) == 0
    text = capsys.readouterr().out
    assert "OK: no violations" in text
    assert "travel times: matrix (sha256:" in text
    assert "against the contract's straight-line model" in text

    assert main(["check", str(path), str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert doc["travel"]["provider"] == "matrix"
    assert doc["contract_model"]["ok"] is False
    assert doc["kpis"]["travel_minutes"] < doc["contract_model"]["kpis"]["travel_minutes"]


def test_cli_check_finds_a_moved_table_given_with_travel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_roads(tmp_path, 1 / 3)
    out = tmp_path / "plan.json"
    assert main(["plan", str(path), "--time-limit", "1", "--out", str(out)]) == 0
    moved = tmp_path / "elsewhere.json"
    (tmp_path / "roads.json").rename(moved)
    doc = json.loads(path.read_text())
    doc["travel"] = {"provider": "haversine"}
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["check", str(path), str(out)]) == 2
    assert "no such travel table" in capsys.readouterr().err
    assert main(["check", str(path), str(out), "--travel", str(moved)]) == 0


def test_compare_travel_measures_the_roads_against_the_model(tmp_path: Path) -> None:
    path = _write_roads(tmp_path, 2.0)
    scenario = load_scenario(path).scenario
    rows = compare_travel(scenario, worst=3)
    assert [r.mode for r in rows] == sorted({c.mode for c in scenario.caregivers})
    row = rows[0]
    assert row.pairs == len(scenario_places(scenario)) * (len(scenario_places(scenario)) - 1)
    assert 1.8 <= row.ratio_median <= 2.5
    assert row.road_slower_share == 1.0
    assert row.circuity_median > 2 * 1.3 * 0.9
    worst = row.worst[0]
    assert worst.road_minutes - worst.model_minutes == max(
        p.road_minutes - p.model_minutes for p in row.worst
    )
    with pytest.raises(ValueError, match="haversine is the model itself"):
        compare_travel(contract_scenario(scenario))


def test_cli_compare_travel_names_the_circuity_the_roads_imply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_roads(tmp_path, 2.0)
    assert main(["compare-travel", str(path), "--worst", "2"]) == 0
    text = capsys.readouterr().out
    assert "circuity implied by the roads: median" in text
    assert text.count(" -> ") == 2
    # Another provider named on the command line, against a scenario on the model.
    monkeypatch.chdir(tmp_path)
    code = main(["compare-travel", str(FIXTURE), "--provider", "matrix", "--matrix", "roads.json"])
    assert code == 0
    assert "road slower on 100% of pairs" in capsys.readouterr().out
    assert main(["compare-travel", str(FIXTURE)]) == 2
    assert "haversine is the model itself" in capsys.readouterr().err
    assert main(["compare-travel", str(FIXTURE), "--provider", "osrm"]) == 2
    assert "--url" in capsys.readouterr().err
