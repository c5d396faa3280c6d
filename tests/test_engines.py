"""The engines that run independent tasks: the local process pool and a real local Ray cluster.

Every task is :func:`_task`, told what to do by its item: return a value, raise, end its own
process (``os._exit``, as the OOM killer would), or sleep. "Once" behaviours leave a marker
file on their first run, so the retry behaves. The Ray tests share one cluster of two CPUs for
the module (starting one costs several seconds).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatch.engines import (
    ATTEMPTS,
    RAY_INSTALL_HINT,
    STARTED,
    EngineSettings,
    EngineUnavailable,
    LocalEngine,
    RayEngine,
    Reporter,
    TaskResult,
    open_engine,
)


def _task(item: dict[str, Any], report: Reporter) -> Any:
    """What ``item["do"]`` says: ``value``, ``raise``, ``raise_once``, ``die``, ``die_once``,
    ``sleep`` or ``busy``."""
    do = item["do"]
    marker = Path(item["marker"]) if "marker" in item else None
    if do in ("raise_once", "die_once") and marker is not None and not marker.exists():
        marker.write_text("ran")
        if do == "raise_once":
            raise ValueError("first run fails\nsecond line")
        # Killed mid-task, not before its start is told (a fresh worker may take a while to
        # reach the report actor on a busy machine).
        time.sleep(item.get("after", 0))
        os._exit(3)
    if do == "raise":
        raise ValueError(f"bad item {item['n']}\nmore text")
    if do == "die":
        os._exit(3)
    if do == "sleep":
        time.sleep(item["seconds"])
    if do == "busy":  # reports often for a second; returns when it ran (wall clock)
        start = time.time()
        while time.time() - start < 1.0:
            report({"busy": time.time()})
            time.sleep(0.01)
        return (start, time.time())
    for step in range(3):
        report({"step": step})
    return item.get("n", 0) * 2


def _run(engine: Any, items: dict[str, Any], **kwargs: Any) -> tuple[dict[str, TaskResult], list]:
    reports: list[tuple[str, Any]] = []
    results = {
        r.key: r
        for r in engine.run(_task, items, on_report=lambda k, v: reports.append((k, v)), **kwargs)
    }
    return results, reports


def _values(n: int) -> dict[str, Any]:
    return {f"t{i}": {"do": "value", "n": i} for i in range(n)}


# --- settings -----------------------------------------------------------------------------------


def test_settings_name_the_field_of_a_mistake() -> None:
    with pytest.raises(ValueError, match=r"^engine:"):
        EngineSettings("spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^workers:"):
        EngineSettings("local", workers=0)
    with pytest.raises(ValueError, match=r"^address:"):
        EngineSettings("local", address="ray://head:10001")
    assert EngineSettings("local", workers=3).size == 3
    assert EngineSettings().size >= 1


def _most_at_once(results: dict[str, TaskResult]) -> int:
    """The most tasks that ran at the same time, from the (start, end) the busy tasks return."""
    events = sorted(
        (t, step) for r in results.values() for t, step in zip(r.value, (1, -1), strict=True)
    )
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


# --- the local pool -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local() -> Iterator[LocalEngine]:
    with LocalEngine(EngineSettings("local", workers=2)) as engine:
        yield engine


def test_local_results_and_reports_in_order_per_task(local: LocalEngine) -> None:
    results, reports = _run(local, _values(5))
    assert {k: r.value for k, r in results.items()} == {f"t{i}": 2 * i for i in range(5)}
    assert all(r.ok and r.attempts == 1 for r in results.values())
    for key in results:
        mine = [v for k, v in reports if k == key]
        assert mine == [STARTED, {"step": 0}, {"step": 1}, {"step": 2}]


def test_local_runs_no_more_tasks_at_once_than_workers(local: LocalEngine) -> None:
    results, _ = _run(local, {f"b{i}": {"do": "busy"} for i in range(5)})
    assert all(r.ok for r in results.values())
    assert _most_at_once(results) <= 2


def test_local_reports_come_before_the_result(local: LocalEngine) -> None:
    reports: list[str] = []
    for result in local.run(_task, _values(3), on_report=lambda k, v: reports.append(k)):
        assert reports.count(result.key) == 4  # its start and three steps, already handed on


def test_local_an_exception_is_retried_once_then_reported(
    local: LocalEngine, tmp_path: Path
) -> None:
    items = {
        "once": {"do": "raise_once", "marker": str(tmp_path / "once"), "n": 4},
        "always": {"do": "raise", "n": 7},
        "fine": {"do": "value", "n": 1},
    }
    results, reports = _run(local, items)
    assert results["once"].ok and results["once"].value == 8 and results["once"].attempts == 2
    assert results["always"].error == "ValueError: bad item 7"
    assert results["always"].attempts == ATTEMPTS
    assert results["fine"].value == 2 and results["fine"].attempts == 1
    assert [v for k, v in reports if k == "always"].count(STARTED) == ATTEMPTS


def test_local_a_killed_worker_is_retried_and_the_others_finish(
    local: LocalEngine, tmp_path: Path
) -> None:
    items: dict[str, Any] = {
        "killer": {"do": "die_once", "marker": str(tmp_path / "killer"), "n": 5},
        **{f"s{i}": {"do": "sleep", "seconds": 0.3, "n": i} for i in range(4)},
    }
    results, _ = _run(local, items)
    assert set(results) == set(items)
    assert all(r.ok for r in results.values()), results
    assert results["killer"].value == 10 and results["killer"].attempts == 2
    # The tasks lost with the pool ran again, uncharged: none of them failed.
    assert [results[f"s{i}"].value for i in range(4)] == [0, 2, 4, 6]


def test_local_a_task_that_always_kills_its_worker_fails_alone(local: LocalEngine) -> None:
    items: dict[str, Any] = {
        "killer": {"do": "die"},
        **{f"s{i}": {"do": "sleep", "seconds": 0.2, "n": i} for i in range(3)},
    }
    results, _ = _run(local, items)
    assert results["killer"].error == "its worker process died / 工作进程退出"
    assert results["killer"].attempts == ATTEMPTS
    assert all(results[f"s{i}"].ok for i in range(3))
    # The engine serves the next run with a fresh pool.
    assert _run(local, _values(2))[0]["t1"].value == 2


def test_local_cancel_stops_the_outstanding_tasks() -> None:
    cancel = threading.Event()
    items = {f"s{i}": {"do": "sleep", "seconds": 60} for i in range(3)}
    with LocalEngine(EngineSettings("local", workers=2)) as engine:

        def on_report(key: str, value: Any) -> None:
            if value == STARTED:
                cancel.set()

        t0 = time.perf_counter()
        results = list(engine.run(_task, items, on_report=on_report, cancel=cancel))
        assert results == []
        assert time.perf_counter() - t0 < 30
        assert engine._pool is None  # its processes were ended


def test_local_leaving_the_loop_early_stops_the_others() -> None:
    items: dict[str, Any] = {"quick": {"do": "value", "n": 1}}
    items |= {f"s{i}": {"do": "sleep", "seconds": 60} for i in range(2)}
    with LocalEngine(EngineSettings("local", workers=3)) as engine:
        t0 = time.perf_counter()
        for result in engine.run(_task, items):
            assert result.key == "quick"
            break
        assert time.perf_counter() - t0 < 30
        assert engine._pool is None


# --- Ray ----------------------------------------------------------------------------------------


def test_ray_missing_is_one_line_saying_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(EngineUnavailable) as err:
        open_engine(EngineSettings("ray", workers=2))
    assert str(err.value) == RAY_INSTALL_HINT
    assert "\n" not in RAY_INSTALL_HINT and "pip install" in RAY_INSTALL_HINT


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[RayEngine]:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    engine = RayEngine(EngineSettings("ray", workers=2))
    try:
        yield engine
    finally:
        engine.close()


def test_ray_results_and_reports(ray_engine: RayEngine) -> None:
    results, reports = _run(ray_engine, _values(4))
    assert {k: r.value for k, r in results.items()} == {f"t{i}": 2 * i for i in range(4)}
    assert all(r.attempts == 1 for r in results.values())
    for key in results:
        assert [v for k, v in reports if k == key] == [
            STARTED,
            {"step": 0},
            {"step": 1},
            {"step": 2},
        ]


def test_ray_retries_after_a_raise_and_a_killed_worker(
    ray_engine: RayEngine, tmp_path: Path
) -> None:
    items = {
        "raise_once": {"do": "raise_once", "marker": str(tmp_path / "r"), "n": 1},
        "die_once": {"do": "die_once", "marker": str(tmp_path / "d"), "n": 2, "after": 2.0},
        "always": {"do": "raise", "n": 9},
        "fine": {"do": "value", "n": 3},
    }
    results, _ = _run(ray_engine, items)
    assert results["raise_once"].value == 2 and results["raise_once"].attempts == 2
    assert results["die_once"].value == 4 and results["die_once"].attempts == 2
    assert results["always"].error == "ValueError: bad item 9"
    assert results["always"].attempts == ATTEMPTS
    assert results["fine"].value == 6


def test_ray_runs_no_more_tasks_at_once_than_workers(ray_engine: RayEngine) -> None:
    # A task that waited on the report queue would lend its CPU to another task meanwhile.
    reports: list[str] = []
    results = {
        r.key: r
        for r in ray_engine.run(
            _task,
            {f"b{i}": {"do": "busy"} for i in range(5)},
            on_report=lambda k, v: reports.append(k),
        )
    }
    assert all(r.ok for r in results.values())
    assert _most_at_once(results) <= 2
    assert all(reports.count(key) > 10 for key in results)  # every report came, none lost
