"""Batch benchmark: a what-if batch solved on the local pool and on Ray, and what it shows.

The bundled demo district (300 households, 6 stations) and its variants file (the grid "+0..5
caregivers at each station × demand 1.0, 1.2", 12 variants) are solved with
:func:`dispatch.batch.run_batch` once per run: the local engine on 1 and 2 workers, then Ray
on 2 (a local cluster started here; add ``ray:1`` for one CPU, which starts a second cluster).
Every plan goes through the independent checker. Printed: each run's wall time, the speed-up
against the first run, the variants that failed and the violations; Ray's overhead against
the local pool with as many workers on the same batch (seconds and share of the local run's
wall time), with the cluster's start apart; and each variant's KPIs beside the baseline's from
the last local run.

Every variant is planned for the same ``--time-limit``, so a run's wall time is about
``ceil(variants / workers) × (time limit + a variant's overhead)``; what the engines add is
the rest. Ray starts its workers at nice 15 (``RAY_worker_niceness``), the local pool at the
caller's: on a machine busy with other work Ray's variants get less of the CPUs, which the
overhead includes (the load average is printed beside each run). Without Ray installed the
Ray runs are skipped with the line saying how to get it.

Examples::

    python -m benchmarks.batch                                   # 12 variants, 10 s each
    python -m benchmarks.batch --time-limit 2 --runs local:2,ray:2 --csv out/batch.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from benchmarks.common import REPO_ROOT, format_table, warm_up_router
from dispatch.batch import VariantOutcome, parse_variants, run_batch
from dispatch.cli import comparison_table
from dispatch.engines import EngineKind, EngineSettings, EngineUnavailable, RayEngine
from dispatch.scenario_io import load_scenario

__all__ = ["DEFAULT_RUNS", "Run", "build_parser", "main", "overhead_lines", "run_line"]

DEMO = REPO_ROOT / "data" / "demo"
#: The environment variable of Ray's workers' niceness (Ray spells it so).
RAY_NICENESS = "RAY_worker_niceness"
#: The runs made by default, in order: engine and workers.
DEFAULT_RUNS = "local:1,local:2,ray:2"


@dataclass(frozen=True)
class Run:
    """One batch on one engine: wall seconds of :func:`run_batch` (pool or cluster start
    included, except a Ray cluster's start, which is ``start_seconds``), the outcomes."""

    kind: str
    workers: int
    seconds: float
    start_seconds: float
    outcomes: tuple[VariantOutcome, ...]

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.workers}"

    @property
    def failed(self) -> int:
        return sum(o.plan is None for o in self.outcomes)

    @property
    def violations(self) -> int:
        return sum(int(o.row.get("violations") or 0) for o in self.outcomes)

    @property
    def mean_planned_share(self) -> float:
        shares = [float(o.row["planned_share"]) for o in self.outcomes if o.plan is not None]
        return sum(shares) / len(shares) if shares else 0.0


def _runs(text: str) -> list[tuple[str, int]]:
    out = []
    for word in (w.strip() for w in text.split(",")):
        kind, _, n = word.partition(":")
        if kind not in ("local", "ray") or not n.isdigit() or int(n) < 1:
            raise argparse.ArgumentTypeError(
                f"runs: ENGINE:WORKERS with ENGINE local or ray, e.g. local:2; got {word!r}"
            )
        out.append((kind, int(n)))
    return out


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benchmarks.batch``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.batch", description=__doc__.splitlines()[0]
    )
    p.add_argument("--scenario", type=Path, default=DEMO / "district.json")
    p.add_argument("--variants", type=Path, default=DEMO / "variants.json")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per variant (10)")
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument("--solver", choices=("ours", "greedy"), default="ours")
    p.add_argument(
        "--runs", type=_runs, default=_runs(DEFAULT_RUNS), help=f"default {DEFAULT_RUNS}"
    )
    p.add_argument("--csv", type=Path, help="also write one row per run and variant here")
    return p


def _progress(run: str, total: int) -> Callable[[VariantOutcome], None]:
    """Each variant's end as one line on standard error."""
    done: list[str] = []

    def on_outcome(o: VariantOutcome) -> None:
        done.append(o.variant.name)
        status = "ok" if o.plan is not None else f"FAILED {o.error}"
        print(
            f"  {run}: {len(done)}/{total} {o.variant.name} {o.seconds:.1f}s {status}",
            file=sys.stderr,
            flush=True,
        )

    return on_outcome


def run_line(run: Run, first: Run) -> list[str]:
    """A run's line of the runs table."""
    speedup = first.seconds / run.seconds if run.seconds else 0.0
    return [
        run.name,
        f"{run.seconds:.1f}",
        f"{speedup:.2f}",
        f"{run.start_seconds:.1f}" if run.kind == "ray" else "-",
        f"{len(run.outcomes) - run.failed}/{len(run.outcomes)}",
        str(run.violations),
        f"{run.mean_planned_share:.4f}",
    ]


def overhead_lines(runs: Sequence[Run]) -> list[str]:
    """Ray against the local pool with as many workers, on the same batch."""
    local = {r.workers: r for r in runs if r.kind == "local"}
    lines = []
    for ray in (r for r in runs if r.kind == "ray"):
        base = local.get(ray.workers)
        if base is None:
            continue
        extra = ray.seconds - base.seconds
        lines.append(
            f"ray:{ray.workers} against local:{ray.workers}: {extra:+.1f} s "
            f"({extra / base.seconds:+.1%} of {base.seconds:.1f} s); with the cluster's start "
            f"({ray.start_seconds:.1f} s): {extra + ray.start_seconds:+.1f} s "
            f"({(extra + ray.start_seconds) / base.seconds:+.1%})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the batch on every engine asked for; 0 when every variant of every run has a clean
    plan, 1 otherwise."""
    args = build_parser().parse_args(argv)
    scenario = load_scenario(args.scenario).scenario
    specs, cost = parse_variants(json.loads(args.variants.read_text(encoding="utf-8")))
    print(
        f"batch: {len(specs)} variants of {scenario.name!r} ({len(scenario.households)} "
        f"households, {len(scenario.stations)} stations), {args.solver} {args.time_limit:g} s "
        f"each, seed {args.seed}",
        flush=True,
    )
    warm_up_router()
    print(f"{os.cpu_count()} CPUs; {_load()} (other work on the machine slows every run)")
    niceness = os.environ.get(RAY_NICENESS, "15 (Ray's default)")
    print(f"Ray workers' niceness: {niceness}; the local pool's: {os.nice(0)}")
    runs: list[Run] = []
    for kind, workers in args.runs:
        settings = EngineSettings(cast(EngineKind, kind), workers=workers)
        start = 0.0
        cluster = None
        if kind == "ray":
            # The cluster is started apart, so that its start is counted apart; the batch
            # then joins it as it is (run_batch's engine uses an initialised Ray and leaves it).
            t0 = time.perf_counter()
            try:
                cluster = RayEngine(settings)
            except EngineUnavailable as exc:
                print(f"{kind}:{workers}: skipped ({exc})", flush=True)
                continue
            start = time.perf_counter() - t0
        on_outcome = _progress(f"{kind}:{workers}", len(specs))
        t0 = time.perf_counter()
        try:
            outcomes = run_batch(
                scenario,
                specs,
                engine=settings,
                time_limit=args.time_limit,
                seed=args.seed,
                cost=cost,
                solver=args.solver,
                report_plans=False,
                on_outcome=on_outcome,
            )
        finally:
            seconds = time.perf_counter() - t0
            if cluster is not None:
                cluster.close()
        runs.append(Run(kind, workers, seconds, start, tuple(outcomes)))
        print(f"{kind}:{workers}: {seconds:.1f} s ({_load()})", flush=True)
    if not runs:
        return 1
    print()
    headers = ["run", "wall s", "speed-up", "start s", "plans", "violations", "mean planned"]
    print(format_table(headers, [run_line(r, runs[0]) for r in runs]))
    print(f"(speed-up against {runs[0].name}; start s: the Ray cluster's start, not in wall s)")
    for line in overhead_lines(runs):
        print(line)
    shown = next((r for r in reversed(runs) if r.kind == "local"), runs[-1])
    print()
    print(f"KPIs of {shown.name}, each beside the baseline's:")
    print(comparison_table([o.row for o in shown.outcomes]))
    if args.csv is not None:
        _write_csv(args.csv, runs)
    return 0 if all(r.failed == 0 and r.violations == 0 for r in runs) else 1


def _load() -> str:
    """The machine's load over the last minute, for reading the wall times."""
    getloadavg = getattr(os, "getloadavg", None)
    return f"load average {getloadavg()[0]:.1f}" if getloadavg is not None else "load unknown"


def _write_csv(path: Path, runs: Sequence[Run]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "run": r.name,
            "run_seconds": round(r.seconds, 2),
            "start_seconds": round(r.start_seconds, 2),
            "variant_seconds": round(o.seconds, 2),
            "attempts": o.attempts,
            **o.row,
        }
        for r in runs
        for o in r.outcomes
    ]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
