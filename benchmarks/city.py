"""City benchmark: a whole generated city's week planned station group by station group on one
and on several workers of a Ray cluster, and on the local pool, with the same budgets.

The city is :func:`dispatch.generate.generate_city` (Yinchuan's six districts and counties;
its generation time is reported apart). It is split once (:func:`dispatch.city.split_city`)
and every group's seconds are set once for the largest number of workers
(:func:`dispatch.city.group_seconds`), so that every run does the same work: the runs differ
only in the engine and its workers. Each run reports its wall seconds, the peak memory of the
driver and every process below it (Ray's raylet, object store and workers, or the local pool;
RSS sampled every 0.5 s with psutil and summed), the share of required visits planned, the
checker's violations on the city's plan, the critical path (the slowest group's seconds) and
the groups failed. Below the table: the speed-up of the most workers against one on the first
engine, and the overhead of Ray against the local pool on the same work.

The issue's bars: the city within 4 GB of peak memory and 20 minutes of wall time on two
cores, 0 violations, a speed-up of at least 1.7 on two workers.

Examples::

    python -m benchmarks.city --households 3000 --stations 25 --time-limit 30
    python -m benchmarks.city                      # 30,000 households, 250 stations, 240 s
    python -m benchmarks.city --engine local --workers 2 --compare none
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import format_table
from dispatch.city import CitySplit
from dispatch.model import Scenario

__all__ = ["CityRun", "MemorySampler", "build_parser", "main", "run_once"]

#: Default seconds of search aimed at on the largest number of workers (full size).
DEFAULT_TIME_LIMIT = 240.0


class MemorySampler:
    """The peak of the summed RSS (bytes) of this process and every process below it, sampled
    every ``interval`` seconds in a thread: with psutil (Ray brings a copy of its own, found
    once ``ray`` is imported), else from ``/proc`` (Linux); elsewhere the peak stays 0."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak = 0
        self._psutil = _psutil()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        """The summed RSS of this process and its descendants now, in bytes."""
        if self._psutil is not None:
            me = self._psutil.Process()
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except self._psutil.Error:
                    continue  # a process that ended between the listing and the look
            return int(total)
        return _proc_tree_rss(os.getpid())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:
        try:
            # Ray puts its bundled third-party packages (psutil among them) on the path.
            importlib.import_module("ray")
            psutil = importlib.import_module("psutil")
        except ImportError:
            return None
    return psutil


def _proc_tree_rss(root: int) -> int:
    """Summed VmRSS of ``root`` and its descendants read from ``/proc`` (0 without it)."""
    parent: dict[int, int] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            for line in (proc / str(pid) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


@contextmanager
def _sampled() -> Iterator[MemorySampler]:
    with MemorySampler() as sampler:
        yield sampler


@dataclass(frozen=True)
class CityRun:
    """One plan of the city: engine, workers, wall seconds, peak MB, planned share,
    violations, critical path and total group seconds, failed groups."""

    engine: str
    workers: int
    wall_seconds: float
    peak_mb: float
    planned_share: float
    violations: int
    critical_path_seconds: float
    group_seconds: float
    budget_seconds: float
    failed_groups: int
    slowest: tuple[tuple[str, float, float], ...] = ()


def run_once(
    scenario: Scenario,
    *,
    engine: str,
    workers: int,
    seconds: Mapping[str, float],
    split: CitySplit,
    seed: int,
) -> CityRun:
    """Plan the city once on ``engine`` with ``workers`` and the given group ``seconds``."""
    from dispatch.city import run_city
    from dispatch.engines import EngineSettings
    from solver.problem import SolveParams

    began = time.perf_counter()
    with _sampled() as memory:
        result = run_city(
            scenario,
            engine=EngineSettings(engine, workers=workers),  # type: ignore[arg-type]
            params=SolveParams(time_limit=max(seconds.values(), default=1.0), seed=seed),
            split=split,
            seconds=seconds,
        )
    wall = time.perf_counter() - began
    kpis = result.plan.kpis
    required = kpis.get("required_visits", 0.0)
    return CityRun(
        engine=engine,
        workers=workers,
        wall_seconds=wall,
        peak_mb=memory.peak / 2**20,
        planned_share=kpis.get("planned_visits", 0.0) / required if required else 1.0,
        violations=len(result.violations),
        critical_path_seconds=result.critical_path_seconds,
        group_seconds=sum(g.run_seconds for g in result.groups),
        budget_seconds=sum(g.budget_seconds for g in result.groups),
        failed_groups=len(result.failed),
        slowest=tuple(
            (g.key, g.budget_seconds, g.run_seconds)
            for g in sorted(result.groups, key=lambda g: -g.run_seconds)[:3]
        ),
    )


def _workers(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"workers: numbers like 1,2, got {text!r}") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"workers: numbers of at least 1, got {text!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.city",
        description="A generated city's week on 1 and 2 workers (Ray) and on the local pool.",
    )
    p.add_argument("--households", type=int, default=30_000, help="city total (default 30000)")
    p.add_argument("--stations", type=int, default=250, help="city total (default 250)")
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds of search aimed at on the most workers (default 240 at 30000 households, "
        "in proportion below)",
    )
    p.add_argument("--engine", choices=("ray", "local"), default="ray", help="default ray")
    p.add_argument(
        "--workers", type=_workers, default=[1, 2], help="worker counts to run (default 1,2)"
    )
    p.add_argument(
        "--compare",
        choices=("local", "ray", "none"),
        default=None,
        help="the other engine run once on the most workers, for its overhead (default: the "
        "engine not chosen)",
    )
    p.add_argument("--seed", type=int, default=0, help="generator and search seed (default 0)")
    p.add_argument("--group-households", type=int, default=None, help="households per group")
    p.add_argument("--group-stations", type=int, default=None, help="stations per group")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; exit 0 when every plan is clean."""
    from dispatch.city import GROUP_HOUSEHOLDS, GROUP_STATIONS, group_seconds, split_city
    from dispatch.generate import generate_city

    args = build_parser().parse_args(argv)
    limit = args.time_limit
    if limit is None:
        limit = max(10.0, DEFAULT_TIME_LIMIT * args.households / 30_000)
    most = max(args.workers)
    print(
        f"city: {args.households} households, {args.stations} stations, seed {args.seed}; "
        f"search {limit:g} s aimed at on {most} worker(s)",
        flush=True,
    )
    began = time.perf_counter()
    with _sampled() as memory:
        city = generate_city(
            households=args.households, stations=args.stations, seed=args.seed, workers=2
        )
    generated = time.perf_counter() - began
    print(
        f"generated in {generated:.1f} s (2 processes), peak {memory.peak / 2**20:.0f} MB: "
        f"{len(city.stations)} stations, {len(city.caregivers)} caregivers, "
        f"{len(city.households)} households",
        flush=True,
    )
    began = time.perf_counter()
    split = split_city(
        city,
        max_households=args.group_households or GROUP_HOUSEHOLDS,
        max_stations=args.group_stations or GROUP_STATIONS,
    )
    seconds = group_seconds(split, time_limit=limit, workers=most)
    print(
        f"split in {time.perf_counter() - began:.1f} s: {len(split.groups)} station groups, "
        f"{sum(seconds.values()):.0f} group seconds in all, the largest "
        f"{max(seconds.values()):.1f} s",
        flush=True,
    )
    plan_runs = [(args.engine, w) for w in sorted(args.workers)]
    other = args.compare or ("local" if args.engine == "ray" else "ray")
    if other != "none" and other != args.engine:
        plan_runs.append((other, most))
    runs: list[CityRun] = []
    for engine, workers in plan_runs:
        run = run_once(
            city, engine=engine, workers=workers, seconds=seconds, split=split, seed=args.seed
        )
        runs.append(run)
        print(
            f"  {engine} × {workers}: {run.wall_seconds:.1f} s, peak {run.peak_mb:.0f} MB, "
            f"planned {run.planned_share:.1%}, {run.violations} violation(s); slowest groups "
            + ", ".join(f"{k} {b:.1f}→{r:.1f} s" for k, b, r in run.slowest),
            flush=True,
        )
    print()
    print(format_rows(runs))
    print()
    for line in summary_lines(runs, args.engine):
        print(line)
    return 0 if all(r.violations == 0 and r.failed_groups == 0 for r in runs) else 1


def format_rows(runs: Sequence[CityRun]) -> str:
    """The runs as a table."""
    headers = [
        "engine",
        "workers",
        "wall s",
        "peak MB",
        "planned",
        "violations",
        "critical s",
        "group s",
        "budget s",
        "busy",
        "failed",
    ]
    rows = [
        [
            r.engine,
            str(r.workers),
            f"{r.wall_seconds:.1f}",
            f"{r.peak_mb:.0f}",
            f"{r.planned_share:.1%}",
            str(r.violations),
            f"{r.critical_path_seconds:.1f}",
            f"{r.group_seconds:.0f}",
            f"{r.budget_seconds:.0f}",
            f"{r.group_seconds / r.wall_seconds:.2f}" if r.wall_seconds > 0 else "-",
            str(r.failed_groups),
        ]
        for r in runs
    ]
    return format_table(headers, rows)


def summary_lines(runs: Sequence[CityRun], engine: str) -> list[str]:
    """Speed-up of the most workers against one on ``engine``; overhead of Ray against the
    local pool on the same workers."""
    out = []
    mine = {r.workers: r for r in runs if r.engine == engine}
    if 1 in mine and len(mine) > 1:
        most = max(mine)
        speedup = mine[1].wall_seconds / mine[most].wall_seconds
        out.append(
            f"speed-up {engine} 1 → {most} workers: {speedup:.2f}× "
            f"({'meets' if speedup >= 1.7 else 'below'} the 1.7× bar)"
        )
    ray = {r.workers: r for r in runs if r.engine == "ray"}
    local = {r.workers: r for r in runs if r.engine == "local"}
    for w in sorted(set(ray) & set(local)):
        extra = ray[w].wall_seconds - local[w].wall_seconds
        out.append(
            f"Ray against the local pool on {w} worker(s): {extra:+.1f} s wall "
            f"({ray[w].wall_seconds / local[w].wall_seconds:.2f}×), "
            f"{ray[w].peak_mb - local[w].peak_mb:+.0f} MB peak"
        )
    for r in runs:
        bars = []
        bars.append("≤ 4 GB" if r.peak_mb <= 4096 else "ABOVE 4 GB")
        bars.append("≤ 20 min" if r.wall_seconds <= 1200 else "ABOVE 20 min")
        bars.append("clean" if r.violations == 0 else f"{r.violations} VIOLATIONS")
        out.append(f"{r.engine} × {r.workers}: {', '.join(bars)}")
    return out


if __name__ == "__main__":
    sys.exit(main())
