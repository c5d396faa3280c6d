"""Same seed, same iteration budget, same answer: a regression check for refactors.

Each case solves one instance with a fixed seed and a search bounded by count (the time limit
is set far beyond what the count needs, so it never binds), and records the objective and a
digest of the routes. ``--record`` writes them to ``benchmarks/regression_baseline.json``;
without it the run compares against that file and exits 1 on any difference.

    python -m benchmarks.regression                 # compare every case
    python -m benchmarks.regression --cases R101    # compare some
    python -m benchmarks.regression --record        # write the baseline (before a refactor)

A case whose instance file is missing (``../shared/benchmarks`` absent) is reported as skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_BENCHMARKS

__all__ = ["CASES", "main"]

BASELINE = Path(__file__).with_name("regression_baseline.json")
SOLOMON_DIR = SHARED_BENCHMARKS / "solomon" / "instances"
MANKOWSKA_DIR = SHARED_BENCHMARKS / "hhc" / "mankowska2014" / "instances"
PVRP_DIR = SHARED_BENCHMARKS / "pvrp" / "instances"
DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / "district.json"
# Far beyond what the iteration budgets below need on this kind of machine: never binding.
NEVER_BINDING = 3600.0
SEED = 0
# The demo week's modelled budget: its 1,964 visits in a few minutes of this machine's time.
DEMO_WEEK_SECONDS = 30.0

Outcome = dict[str, Any]


def _digest(routes: Any) -> str:
    return hashlib.sha256(json.dumps(routes, sort_keys=True).encode()).hexdigest()[:16]


def _solomon(name: str, iterations: int) -> Callable[[Path], Outcome]:
    def run(root: Path) -> Outcome:
        from benchmarks import solomon

        instance = solomon.read_solomon(root / "solomon" / "instances" / f"{name}.txt")
        data = solomon.tenths(instance)
        routes = solomon.solve_ours(
            instance, data, time_limit=NEVER_BINDING, seed=SEED, iteration_limit=iterations
        )
        found = solomon.evaluate(instance, routes, data=data)
        return {
            "objective": found.distance,
            "routes": found.routes,
            "violations": len(found.violations),
            "digest": _digest(sorted(list(r) for r in routes)),
        }

    return run


def _mankowska(name: str, iterations: int) -> Callable[[Path], Outcome]:
    def run(root: Path) -> Outcome:
        from benchmarks import hhc

        inst = hhc.parse_instance(root / "hhc" / "mankowska2014" / "instances" / f"{name}.txt")
        routes, dropped, _ = hhc.solve_instance(
            inst, time_limit=NEVER_BINDING, seed=SEED, iteration_limit=iterations
        )
        found = hhc.evaluate(inst, routes)
        plain = [[(v.patient, v.service, round(v.start, 6)) for v in r] for r in routes]
        return {
            "objective": round(found.objective, 6),
            "dropped": len(dropped),
            "violations": len(found.violations),
            "digest": _digest(plain),
        }

    return run


def _pvrp(name: str, iterations: int) -> Callable[[Path], Outcome]:
    def run(root: Path) -> Outcome:
        from benchmarks import pvrp

        inst = pvrp.parse_instance(root / "pvrp" / "instances" / name)
        days, distance, problems, _ = pvrp.solve_instance(
            inst, time_limit=NEVER_BINDING, seed=SEED, iteration_limit=iterations
        )
        return {
            "objective": round(distance, 6),
            "violations": len(problems),
            "digest": _digest(days),
        }

    return run


def _demo_week(iterations: int) -> Callable[[Path], Outcome]:
    def run(root: Path) -> Outcome:
        del root
        from dispatch.checker import check_plan
        from dispatch.scenario_io import load_scenario
        from dispatch.weekly import plan_week
        from solver.problem import SolveParams

        scenario = load_scenario(DEMO).scenario
        # Deterministic: each sub-solve runs its iterations under a time limit that never
        # binds, and the planner's own clock advances by the seconds it allots to each, so
        # ``time_limit`` is the week's modelled budget, not a limit of the machine's time.
        params = SolveParams(time_limit=DEMO_WEEK_SECONDS, seed=SEED, iteration_limit=iterations)
        plan = plan_week(scenario, params=params, deterministic=True)
        report = check_plan(scenario, plan)
        routes = [
            [route.caregiver, route.day, [(s.household, s.request, s.start) for s in route.stops]]
            for route in plan.routes
        ]
        return {
            "objective": plan.kpis.get("travel_minutes"),
            "visits": plan.kpis.get("planned_visits"),
            "unassigned": len(plan.unassigned),
            "violations": len(report.violations),
            "digest": _digest(routes),
        }

    return run


CASES: dict[str, tuple[Path, Callable[[Path], Outcome]]] = {
    "R101": (SOLOMON_DIR / "R101.txt", _solomon("R101", 20000)),
    "RC103": (SOLOMON_DIR / "RC103.txt", _solomon("RC103", 20000)),
    "R204": (SOLOMON_DIR / "R204.txt", _solomon("R204", 20000)),
    "InstanzCPLEX_HCSRP_25_6": (
        MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_25_6.txt",
        _mankowska("InstanzCPLEX_HCSRP_25_6", 20000),
    ),
    "InstanzVNS_HCSRP_100_6": (
        MANKOWSKA_DIR / "InstanzVNS_HCSRP_100_6.txt",
        _mankowska("InstanzVNS_HCSRP_100_6", 10000),
    ),
    "p04": (PVRP_DIR / "p04", _pvrp("p04", 100000)),
    "demo-week": (DEMO, _demo_week(20)),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.regression", description=__doc__)
    p.add_argument("--cases", help=f"comma-separated cases (default all: {', '.join(CASES)})")
    p.add_argument("--root", type=Path, default=SHARED_BENCHMARKS, help="benchmark folder")
    p.add_argument("--baseline", type=Path, default=BASELINE, help="the recorded outcomes")
    p.add_argument("--record", action="store_true", help="write the outcomes as the baseline")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [c.strip() for c in args.cases.split(",")] if args.cases else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"error: unknown case(s) {unknown}; known: {list(CASES)}", file=sys.stderr)
        return 2
    baseline: dict[str, Outcome] = {}
    if args.baseline.exists():
        baseline = json.loads(args.baseline.read_text(encoding="utf-8"))
    differing = 0
    for name in names:
        path, run = CASES[name]
        path = args.root / path.relative_to(SHARED_BENCHMARKS) if path != DEMO else path
        if not path.exists():
            print(f"{name:26} skipped: {path} is missing", flush=True)
            continue
        t0 = time.perf_counter()
        outcome = run(args.root)
        seconds = time.perf_counter() - t0
        if args.record:
            baseline[name] = outcome
            verdict = "recorded"
        elif name not in baseline:
            verdict = "no baseline"
            differing += 1
        elif baseline[name] == outcome:
            verdict = "same"
        else:
            verdict = f"DIFFERENT (baseline {json.dumps(baseline[name], sort_keys=True)})"
            differing += 1
        print(f"{name:26} {json.dumps(outcome, sort_keys=True)} {seconds:6.1f} s  {verdict}")
    if args.record:
        text = json.dumps(baseline, indent=2, sort_keys=True) + "\n"
        args.baseline.write_text(text, encoding="utf-8")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
