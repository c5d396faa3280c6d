"""Batches through the API: 202 with a Location, progress per variant, the comparison table equal
to each stored plan's checker-recomputed KPIs (as JSON, CSV and Excel), compare and publish a
variant, cancel keeping the finished variants, 422 naming the field, roles, and the Ray engine.

The scenario is a generated district of 20 households and two stations; each variant is solved
for one or two seconds on the local pool of two processes (Ray: two CPUs)."""

from __future__ import annotations

import copy
import csv
import functools
import importlib.util
import io
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.models import BatchRow, PlanRow, utcnow
from api.services.jobs import INTERRUPTED_MESSAGE
from api.settings import Settings, SettingsError
from dispatch.batch import COLUMNS, comparison_row, parse_variants, variant_scenarios
from dispatch.checker import check_plan
from dispatch.generate import generate_district
from dispatch.plan_io import parse_plan
from dispatch.scenario_io import parse_scenario, scenario_to_dict
from tests.api.conftest import ADMIN, make_settings, new_token

BATCHES = "/api/v1/batches"


@functools.cache
def _district() -> dict[str, Any]:
    return scenario_to_dict(generate_district(households=20, stations=2, seed=3))


def district() -> dict[str, Any]:
    """A fresh copy of the district document (stations S01 and S02)."""
    return copy.deepcopy(_district())


def _store(client: TestClient) -> dict[str, Any]:
    doc = district()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    return doc


def _start(client: TestClient, headers: dict[str, str] = ADMIN, **body: Any) -> Any:
    return client.post(BATCHES, json=body, headers=headers)


def _wait(client: TestClient, batch_id: int) -> dict[str, Any]:
    client.app.state.batches.wait(batch_id, timeout=120)  # type: ignore[attr-defined]
    response = client.get(f"{BATCHES}/{batch_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _number(value: Any) -> Any:
    """A cell of the CSV or the workbook as the JSON table has it."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _same(a: Any, b: Any) -> bool:
    a, b = _number(a), _number(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) < 1e-9
    return a == b


VARIANTS = {
    "variants": [{"name": "more demand / 需求增加", "scale_demand": 1.3}],
    "grid": {"add_caregivers": {"station": "each", "count": [0, 1]}},
    "staff_cost": {"yuan_per_month": 4200},
}


def test_a_batch_solves_every_variant_and_its_table_is_the_stored_plans(
    client: TestClient,
) -> None:
    doc = _store(client)
    response = _start(client, name="周计划对比", time_limit=1, seed=2, **VARIANTS)
    assert response.status_code == 202, response.text
    batch = response.json()
    assert response.headers["Location"] == f"{BATCHES}/{batch['id']}"
    assert batch["status"] in ("draft", "running")
    assert batch["parameters"]["engine"] == {"kind": "local", "workers": 2}

    # Progress per variant while it runs: one plan row each, named after the batch.
    seen: dict[str, set[str]] = {}
    progressed = False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = client.get(f"{BATCHES}/{batch['id']}", headers=ADMIN).json()
        for v in now["variants"]:
            seen.setdefault(v["variant"], set()).add(v["status"])
            progressed |= v["status"] == "running" and v["progress"] > 0
        if now["status"] not in ("draft", "running"):
            break
        time.sleep(0.1)
    done = _wait(client, batch["id"])
    names = ["baseline", "more demand / 需求增加", "+1@each"]
    assert [v["variant"] for v in done["variants"]] == names
    assert all("running" in seen[name] or "draft" in seen[name] for name in names)
    assert progressed, seen
    assert done["status"] == "done", done["message"]
    assert [v["status"] for v in done["variants"]] == ["done"] * 3

    # The table: one line per variant, baseline first, each from its stored plan's KPIs, which
    # are the checker's recomputation of the stored plan for the variant's scenario.
    specs, cost = parse_variants(VARIANTS)
    assert cost.yuan_per_month == 4200
    scenarios = dict((v.name, s) for v, s in variant_scenarios(parse_scenario(doc).scenario, specs))
    rows = done["rows"]
    assert [r["variant"] for r in rows] == names
    for variant, row in zip(done["variants"], rows, strict=True):
        plan = client.get(f"/api/v1/plans/{variant['plan_id']}", headers=ADMIN).json()
        assert plan["name"] == f"周计划对比 · {variant['variant']}"
        stored = parse_plan(plan["document"])
        report = check_plan(scenarios[variant["variant"]], stored)
        assert report.ok, report.violations
        for key, value in report.kpis.items():
            assert plan["kpis"][key] == pytest.approx(value), key
        expected = comparison_row(
            variant["variant"], scenarios[variant["variant"]], stored, cost, kpis=report.kpis
        )
        assert row == expected
        assert row["planned_visits"] == int(plan["kpis"]["planned_visits"])
        assert row["travel_minutes"] == int(plan["kpis"]["travel_minutes"])
    assert rows[2]["caregivers"] == rows[0]["caregivers"] + 2  # one more at each station

    # The same numbers as CSV and as Excel.
    got = client.get(f"{BATCHES}/{batch['id']}/comparison.csv", headers=ADMIN)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert f'filename="batch-{batch["id"]}.csv"' in got.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert list(lines[0]) == list(COLUMNS)
    for line, row in zip(lines, rows, strict=True):
        assert all(_same(line[k], row[k]) for k in COLUMNS), (line, row)
    got = client.get(f"{BATCHES}/{batch['id']}/comparison.xlsx", headers=ADMIN)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(got.content))["comparison"]
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == list(COLUMNS)
    for cell, row in zip(cells, rows, strict=True):
        assert all(_same(c, row[k]) for k, c in zip(header, cell, strict=True)), (cell, row)

    # Each variant is an ordinary plan: compared, and the baseline published.
    base, more = done["variants"][0]["plan_id"], done["variants"][2]["plan_id"]
    compared = client.get(f"/api/v1/plans/compare?a={base}&b={more}", headers=ADMIN)
    assert compared.status_code == 200, compared.text
    travel = next(k for k in compared.json()["kpis"] if k["name"] == "travel_minutes")
    assert travel["a"] == rows[0]["travel_minutes"] and travel["b"] == rows[2]["travel_minutes"]
    published = client.post(f"/api/v1/plans/{base}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text
    in_force = client.get(f"/api/v1/plans/in-force?from={doc['week_start']}", headers=ADMIN)
    assert [w["plan_id"] for w in in_force.json()] == [base]

    listed = client.get(BATCHES, headers=ADMIN).json()
    assert [b["id"] for b in listed] == [batch["id"]]
    # Every variant's solve is counted with the planner jobs' solves.
    metrics = client.get("/metrics", headers=ADMIN).text
    runs = next(
        line
        for line in metrics.splitlines()
        if line.startswith('dispatch_solver_runs_total{solver="ours"}')
    )
    assert float(runs.split()[-1]) >= 3
    assert 'dispatch_batches{state="done"} 1.0' in metrics
    assert 'dispatch_batches{state="running"} 0.0' in metrics


@pytest.fixture
def quick_client(tmp_path: Any) -> Iterator[TestClient]:
    """SQLite, with a heartbeat every 0.2 s and jobs orphaned after 0.6 s: a queued variant
    must be kept alive by the runner, not reaped."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'dispatch.sqlite3'}",
        job_heartbeat_seconds=0.2,
        job_stale_seconds=0.6,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_cancel_keeps_the_finished_variants(quick_client: TestClient) -> None:
    client = quick_client
    _store(client)
    # Two workers, three variants: the third starts when one of the first two ends, so a
    # cancel just after the first variant is done stops at least the third.
    # The cancel comes once a variant is done, its line is in the table while the batch
    # runs, and a running variant has a best plan so far (stored at the end of a phase).
    body = {"grid": {"scale_demand": [1.0, 0.8, 1.2]}, "time_limit": 4, "name": "cancel"}
    batch = _start(client, **body).json()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = client.get(f"{BATCHES}/{batch['id']}", headers=ADMIN).json()
        assert now["status"] in ("draft", "running"), now
        done = {v["variant"] for v in now["variants"] if v["status"] == "done"}
        best = [v for v in now["variants"] if v["status"] == "running" and v["kpis"]]
        if done and best and {r["variant"] for r in now["rows"]} == done:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"no variant done beside a running one with a plan so far: {now}")
    kept = best[0]
    cancelled = client.delete(f"{BATCHES}/{batch['id']}", headers=ADMIN)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    ended = _wait(client, batch["id"])
    states = [v["status"] for v in ended["variants"]]
    assert ended["status"] == "cancelled"
    assert set(states) == {"done", "cancelled"}, states
    assert states[2] == "cancelled"
    assert [r["variant"] for r in ended["rows"]] == [v["variant"] for v in ended["variants"]]
    for variant, row in zip(ended["variants"], ended["rows"], strict=True):
        assert row["status"] == variant["status"]
        plan = client.get(f"/api/v1/plans/{variant['plan_id']}", headers=ADMIN).json()
        if variant["status"] == "done":
            assert plan["document"] is not None
            assert row["planned_visits"] == int(plan["kpis"]["planned_visits"])
        else:
            assert row["planned_visits"] is None
    # The running variant cancelled keeps its best plan so far, as a cancelled job does.
    plan = client.get(f"/api/v1/plans/{kept['plan_id']}", headers=ADMIN).json()
    assert plan["status"] in ("cancelled", "done"), plan["status"]
    assert plan["document"] is not None and plan["kpis"]
    # Ended: a second cancel is refused.
    assert client.delete(f"{BATCHES}/{batch['id']}", headers=ADMIN).status_code == 409


def test_an_orphaned_batch_is_failed_by_the_heartbeat(quick_client: TestClient) -> None:
    database = quick_client.app.state.database  # type: ignore[attr-defined]
    old = utcnow() - timedelta(minutes=5)
    with database.session() as session:
        batch = BatchRow(
            name="gone", status="running", parameters={}, rows=[], created_at=old, updated_at=old
        )
        session.add(batch)
        session.flush()
        session.add(
            PlanRow(
                version=1,
                name="gone · baseline",
                status="running",
                batch_id=batch.id,
                variant="baseline",
                created_at=old,
                updated_at=old,
            )
        )
        session.commit()
        batch_id = batch.id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = quick_client.get(f"{BATCHES}/{batch_id}", headers=ADMIN).json()
        if got["status"] == "failed" and got["variants"][0]["status"] == "failed":
            break
        time.sleep(0.1)
    assert (got["status"], got["message"]) == ("failed", INTERRUPTED_MESSAGE)
    assert got["variants"][0]["status"] == "failed"


def test_bad_variants_answer_422_naming_the_field_and_store_nothing(
    backend_url: str,
) -> None:
    with TestClient(create_app(make_settings(backend_url))) as client:
        _store(client)
        cases = [
            ({"grid": {"scale_demand": []}}, "body.grid.scale_demand"),
            ({"grid": {"colour": [1]}}, "body.grid"),
            ({"variants": [{"name": "", "scale_demand": 1.1}]}, "body.variants[0].name"),
            ({"variants": [{"name": "x", "scale_demand": 99}]}, "body.variants[0].scale_demand"),
            ({"staff_cost": {"yuan_per_month": -1}}, "body.staff_cost.yuan_per_month"),
            (
                {
                    "variants": [
                        {"name": "x", "add_caregivers": {"station": "each", "count": "1..3"}}
                    ]
                },
                "body.variants[0].add_caregivers.count",
            ),
            ({"baseline": False}, "body.variants"),
            # Variants that do not apply to the scenario: an unknown station.
            (
                {
                    "variants": [
                        {"name": "a", "scale_demand": 1.1},
                        {
                            "name": "moved",
                            "move_station": [{"id": "S99", "lat": 38.5, "lon": 106.2}],
                        },
                    ]
                },
                "body.variants[1]",
            ),
            (
                {
                    "grid": {
                        "add_caregivers": {"station": "S99", "template": "C001", "count": "0..2"}
                    }
                },
                "body.grid",
            ),
        ]
        for body, path in cases:
            response = _start(client, time_limit=1, **body)
            assert response.status_code == 422, (body, response.text)
            error = response.json()["error"]
            assert error["fields"][0]["path"] == path, (body, error)
        # Strict types of the body itself.
        response = _start(client, time_limit="1")
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["path"] == "body.time_limit"
        assert client.get(BATCHES, headers=ADMIN).json() == []
        assert client.get("/api/v1/plans", headers=ADMIN).json() == []
        assert client.get(f"{BATCHES}/7", headers=ADMIN).status_code == 404
        assert client.delete(f"{BATCHES}/7", headers=ADMIN).status_code == 404


def test_only_a_planner_starts_or_cancels_a_batch(tmp_path: Any) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'dispatch.sqlite3'}")
    with TestClient(create_app(settings)) as client:
        _store(client)
        dispatcher = new_token(client, "dispatcher")
        caregiver = new_token(client, "caregiver", "C001")
        for headers in (dispatcher, caregiver):
            assert _start(client, headers, time_limit=1).status_code == 403
            assert client.delete(f"{BATCHES}/1", headers=headers).status_code == 403
        assert client.get(BATCHES, headers=dispatcher).status_code == 200
        assert client.get(BATCHES, headers=caregiver).status_code == 403
        assert client.get(BATCHES).status_code == 401
        assert client.get(BATCHES, headers=ADMIN).json() == []


def test_the_engine_comes_from_the_settings() -> None:
    settings = Settings.from_env(
        {
            "DISPATCH_BATCH_ENGINE": "Ray",
            "DISPATCH_BATCH_WORKERS": "3",
            "DISPATCH_RAY_ADDRESS": "ray://10.0.0.5:10001",
        }
    )
    assert (settings.batch_engine, settings.batch_workers, settings.ray_address) == (
        "ray",
        3,
        "ray://10.0.0.5:10001",
    )
    assert Settings().batch_engine == "local" and Settings().batch_workers == 2
    with pytest.raises(SettingsError, match="DISPATCH_BATCH_ENGINE"):
        Settings.from_env({"DISPATCH_BATCH_ENGINE": "spark"})
    with pytest.raises(SettingsError, match="DISPATCH_RAY_ADDRESS"):
        Settings.from_env({"DISPATCH_RAY_ADDRESS": "auto"})


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_a_batch_on_the_ray_engine(tmp_path: Any) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'dispatch.sqlite3'}", batch_engine="ray", batch_workers=2
    )
    with TestClient(create_app(settings)) as client:
        doc = _store(client)
        body = {"grid": {"scale_demand": [1.0, 1.2]}, "time_limit": 1, "scenario": doc}
        response = _start(client, **body)
        assert response.status_code == 202, response.text
        done = _wait(client, response.json()["id"])
        assert done["parameters"]["engine"] == {"kind": "ray", "workers": 2}
        assert done["status"] == "done", done["message"]
        assert [r["status"] for r in done["rows"]] == ["done", "done"]
        for variant, row in zip(done["variants"], done["rows"], strict=True):
            plan = client.get(f"/api/v1/plans/{variant['plan_id']}", headers=ADMIN).json()
            assert row["planned_visits"] == int(plan["kpis"]["planned_visits"])
