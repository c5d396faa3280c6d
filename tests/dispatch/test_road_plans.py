"""Plans on a road-routing server's minutes: a local fake OSRM/Valhalla server started by the
test, chunked tables cached on disk by content, and failures that stop before any plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dispatch.checker import check_plan
from dispatch.cli import main
from dispatch.roads import RoadServerError
from dispatch.scenario_io import load_scenario
from dispatch.travel import Place
from dispatch.travel_tables import (
    contract_scenario,
    forget_resolved,
    load_table,
    resolve_travel,
    scenario_places,
    travel_of_plan,
)
from dispatch.weekly import plan_week
from solver.problem import SolveParams
from tests.fake_router import FakeRouter

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "week_scenario.json"
PARAMS = SolveParams(time_limit=30.0, seed=0, iteration_limit=200)


@pytest.fixture
def router() -> Iterator[FakeRouter]:
    # The fixture has four places: a limit of two makes every table a chunked one.
    with FakeRouter(osrm_limit=2, valhalla_limit=2) as server:
        yield server


def _scenario_file(folder: Path, travel: dict[str, Any]) -> Path:
    doc = json.loads(FIXTURE.read_text())
    doc["travel"] = travel
    path = folder / "scenario.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path


def _expected(router: FakeRouter, kind: str, profile: str, places: list[Place]) -> np.ndarray:
    n = len(places)
    out = np.zeros((n, n), dtype=np.int64)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                seconds = router.seconds(kind, profile, (a.lat, a.lon), (b.lat, b.lon))
                out[i, j] = int(np.ceil(seconds / 60))
    return out


@pytest.mark.parametrize(("kind", "profile"), [("osrm", "bike"), ("valhalla", "bicycle")])
def test_a_plan_on_server_minutes_is_chunked_cached_recorded_and_checked(
    router: FakeRouter, tmp_path: Path, kind: str, profile: str
) -> None:
    forget_resolved()
    cache = tmp_path / "cache"
    path = _scenario_file(tmp_path, {"provider": kind, "url": router.url, "max_table_size": 2})
    scenario = resolve_travel(load_scenario(path).scenario, cache_dir=cache)
    places = scenario_places(scenario)
    mode = scenario.caregivers[0].mode
    assert mode == "ebike"
    table = scenario.travel.table.matrix(places, mode)
    assert (table == _expected(router, kind, profile, places)).all()
    # More than one request, each within the server's limit.
    asked = list(router.seen)
    assert len(asked) > 1
    assert all(s.profile == profile for s in asked)
    if kind == "osrm":
        assert max(s.coords for s in asked) <= 2
    else:
        assert max(max(s.sources, s.targets) for s in asked) <= 2

    plan = plan_week(scenario, params=PARAMS, deterministic=True)
    assert plan.travel is not None and plan.travel.provider == kind
    stored = load_table(plan.travel.tables[0].path)
    assert stored.fingerprint == plan.travel.tables[0].fingerprint
    assert Path(plan.travel.tables[0].path).is_relative_to(cache)
    assert check_plan(travel_of_plan(load_scenario(path).scenario, plan), plan).ok

    # A new process (nothing remembered) reads the disk cache: the server is not asked again.
    forget_resolved()
    again = resolve_travel(load_scenario(path).scenario, cache_dir=cache)
    assert len(router.seen) == len(asked)
    assert again.travel.table.fingerprint == scenario.travel.table.fingerprint
    # Another dataset is another question.
    forget_resolved()
    path = _scenario_file(
        tmp_path, {"provider": kind, "url": router.url, "max_table_size": 2, "dataset": "2027-01"}
    )
    resolve_travel(load_scenario(path).scenario, cache_dir=cache)
    assert len(router.seen) > len(asked)


@pytest.mark.parametrize(
    ("fault", "message"),
    [("status500", "HTTP 500"), ("slow", "timed out"), ("malformed", "not valid JSON")],
)
def test_a_failing_server_stops_the_plan_before_it_starts(
    router: FakeRouter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    message: str,
) -> None:
    forget_resolved()
    router.fault = fault
    router.fault_from = 2  # the first chunk answers, a later one fails
    router.delay = 2.0
    path = _scenario_file(
        tmp_path, {"provider": "osrm", "url": router.url, "max_table_size": 2, "timeout": 0.3}
    )
    scenario = load_scenario(path).scenario
    with pytest.raises(RoadServerError, match=message):
        resolve_travel(scenario, cache_dir=tmp_path / "cache")
    # Nothing half-made was cached: the same question asks the server again.
    assert not list((tmp_path / "cache").glob("matrices/*.npy"))
    out = tmp_path / "plan.json"
    code = main(["plan", str(path), "--time-limit", "1", "--out", str(out)])
    assert code == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "dispatch plan: error:" in err and router.url in err


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    forget_resolved()
    with FakeRouter() as server:
        url = server.url
    path = _scenario_file(tmp_path, {"provider": "valhalla", "url": url, "timeout": 1})
    with pytest.raises(RoadServerError, match=url.split("//")[1]):
        plan_week(load_scenario(path).scenario, params=PARAMS, deterministic=True)


def test_the_model_and_the_roads_are_reported_side_by_side(
    router: FakeRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forget_resolved()
    path = _scenario_file(tmp_path, {"provider": "osrm", "url": router.url, "max_table_size": 2})
    out = tmp_path / "plan.json"
    assert main(["plan", str(path), "--time-limit", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", str(path), str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    roads = doc["kpis"]["travel_minutes"]
    model = doc["contract_model"]["kpis"]["travel_minutes"]
    assert roads != model
    scenario = load_scenario(path).scenario
    assert check_plan(contract_scenario(scenario), json_plan(out)).kpis["travel_minutes"] == model


def json_plan(path: Path) -> Any:
    from dispatch.plan_io import load_plan

    return load_plan(path)


def test_a_new_household_asks_the_server_for_its_pairs_only(tmp_path: Path) -> None:
    forget_resolved()
    cache = tmp_path / "cache"
    doc = json.loads(FIXTURE.read_text())
    base = doc["households"][0]
    for k in range(12):  # a district of 16 places, so that two new ones are few
        extra = json.loads(json.dumps(base))
        extra["id"] = f"HX{k}"
        extra["lat"] += 0.001 * (k + 1)
        extra["lon"] -= 0.0007 * k
        extra["requests"] = []
        doc["households"].append(extra)
    with FakeRouter(osrm_limit=4) as router:
        doc["travel"] = {"provider": "osrm", "url": router.url, "max_table_size": 4}
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(doc, ensure_ascii=False))
        first = resolve_travel(load_scenario(path).scenario, cache_dir=cache)
        full = len(router.seen)
        newcomer = json.loads(json.dumps(base))
        newcomer["id"] = "H-new"
        newcomer["lat"] += 0.004
        newcomer["requests"] = []
        doc["households"].append(newcomer)
        # A household that moved is a new place too.
        doc["households"][1]["lon"] += 0.003
        path.write_text(json.dumps(doc, ensure_ascii=False))
        second = resolve_travel(load_scenario(path).scenario, cache_dir=cache)
        asked = len(router.seen) - full
        assert 0 < asked < full / 2
        assert max(s.coords for s in router.seen) <= 4
        places = scenario_places(second)
        got = second.travel.table.matrix(places, "ebike")
        assert (got == _expected(router, "osrm", "bike", places)).all()
        assert first.travel.table.fingerprint != second.travel.table.fingerprint
        # The extended table went to the disk cache: a new process asks nothing.
        forget_resolved()
        before = len(router.seen)
        resolve_travel(load_scenario(path).scenario, cache_dir=cache)
        assert len(router.seen) == before
