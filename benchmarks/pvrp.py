"""Periodic VRP benchmark on Cordeau's instances (p01–p32, pr01–pr10).

Reads the text format described in ``../shared/benchmarks/pvrp/README.md``, solves with
:func:`solver.periodic.solve_periodic` on distances scaled by :data:`SCALE` and rounded up (so a
route within the integer duration bound is within the real one), then recomputes the
double-precision Euclidean distance of the routes with an evaluator of its own and compares it
with the best-known value.

Usage::

    python -m benchmarks.pvrp [FILE ...] --time-limit 60 [--routes-out DIR] [--csv OUT] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from benchmarks.common import SHARED_BENCHMARKS, format_table, gap_pct, warm_up_router, write_csv
from solver.periodic import DayFleet, PeriodicProblem, PeriodicTask, solve_periodic
from solver.problem import SolveParams

__all__ = [
    "SCALE",
    "Customer",
    "PvrpInstance",
    "build_problem",
    "evaluate",
    "load_bks",
    "main",
    "parse_instance",
]

PVRP_DIR = SHARED_BENCHMARKS / "pvrp"
DEFAULT_BKS = PVRP_DIR / "bks.csv"
#: Distances are multiplied by this and rounded up inside the solver.
SCALE = 1000


@dataclass(frozen=True)
class Customer:
    """Node ``id`` at (x, y) with service ``duration``, ``demand`` per visit, ``frequency`` and
    allowed ``patterns`` (0-based day sets)."""

    id: int
    x: float
    y: float
    duration: float
    demand: int
    frequency: int
    patterns: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class PvrpInstance:
    """An instance: ``vehicles`` per day, ``days``, per-day ``max_duration`` (0 = none) and
    ``capacity``, the depot (x, y) and the customers."""

    name: str
    vehicles: int
    days: int
    max_duration: tuple[float, ...]
    capacity: tuple[int, ...]
    depot: tuple[float, float]
    customers: tuple[Customer, ...]

    def needs_visit(self, c: Customer) -> bool:
        """Customers with a frequency and off the depot need routing (a customer on the depot
        is served without travel; see the p01 note in the data README)."""
        return c.frequency > 0 and (c.x, c.y) != self.depot


def decode_pattern(code: int, days: int) -> tuple[int, ...]:
    """Days (0-based) of a pattern coded as a ``days``-bit number read left to right."""
    return tuple(k for k in range(days) if (code >> (days - 1 - k)) & 1)


def parse_instance(path: Path) -> PvrpInstance:
    """Read one instance file; raises ``ValueError`` on a malformed file."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    try:
        kind, m, n, t = (int(x) for x in lines[0][:4])
        if kind != 1:
            raise ValueError(f"{path.name}: type {kind} is not PVRP (1)")
        limits = [(float(a[0]), int(float(a[1]))) for a in lines[1 : 1 + t]]
        nodes = lines[1 + t : 2 + t + n]
        customers = []
        depot = (float(nodes[0][1]), float(nodes[0][2]))
        for tok in nodes[1:]:
            f, a = int(tok[5]), int(tok[6])
            codes = [int(x) for x in tok[7 : 7 + a]]
            customers.append(
                Customer(
                    id=int(tok[0]),
                    x=float(tok[1]),
                    y=float(tok[2]),
                    duration=float(tok[3]),
                    demand=int(float(tok[4])),
                    frequency=f,
                    patterns=tuple(decode_pattern(c, t) for c in codes),
                )
            )
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path.name}: malformed PVRP file ({exc})") from exc
    if len(customers) != n:
        raise ValueError(f"{path.name}: {len(customers)} customers, header says {n}")
    return PvrpInstance(
        name=path.name,
        vehicles=m,
        days=t,
        max_duration=tuple(d for d, _ in limits),
        capacity=tuple(q for _, q in limits),
        depot=depot,
        customers=tuple(customers),
    )


def build_problem(inst: PvrpInstance) -> tuple[PeriodicProblem, list[Customer]]:
    """The integer periodic problem (location 0 = depot) and the routed customers in task
    order."""
    routed = [c for c in inst.customers if inst.needs_visit(c)]
    xy = np.array([inst.depot, *((c.x, c.y) for c in routed)], dtype=float)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    matrix = np.ceil(dist * SCALE - 1e-9).astype(np.int64)
    tasks = tuple(
        PeriodicTask(
            location=i + 1,
            duration=round(c.duration * SCALE),
            demand=c.demand,
            patterns=tuple(p for p in c.patterns if len(p) == c.frequency),
        )
        for i, c in enumerate(routed)
    )
    fleets = tuple(
        DayFleet(
            vehicles=inst.vehicles,
            capacity=inst.capacity[d] if inst.capacity[d] > 0 else None,
            max_duration=math.floor(inst.max_duration[d] * SCALE)
            if inst.max_duration[d] > 0
            else None,
        )
        for d in range(inst.days)
    )
    return PeriodicProblem(matrix=matrix, depot=0, tasks=tasks, fleets=fleets), routed


def evaluate(
    inst: PvrpInstance, days: Sequence[Sequence[Sequence[int]]]
) -> tuple[float, list[str]]:
    """Double-precision distance of ``days`` (routes of customer ids per day) and the list of
    rule violations: customers on exactly the days of one allowed pattern, capacity, route
    duration (travel + service) and the fleet per day."""
    by_id = {c.id: c for c in inst.customers}
    problems: list[str] = []
    visited: dict[int, list[int]] = {}
    total = 0.0
    if len(days) != inst.days:
        problems.append(f"{len(days)} days of routes, the period has {inst.days}")
    for d, routes in enumerate(days):
        if len(routes) > inst.vehicles:
            problems.append(f"day {d + 1}: {len(routes)} routes, fleet is {inst.vehicles}")
        for r, route in enumerate(routes):
            pts = [inst.depot]
            load = 0
            service = 0.0
            for cid in route:
                c = by_id.get(cid)
                if c is None:
                    problems.append(f"day {d + 1} route {r}: unknown customer {cid}")
                    continue
                visited.setdefault(cid, []).append(d)
                pts.append((c.x, c.y))
                load += c.demand
                service += c.duration
            pts.append(inst.depot)
            length = sum(math.dist(a, b) for a, b in itertools.pairwise(pts))
            total += length
            cap = inst.capacity[d] if d < len(inst.capacity) else 0
            if cap > 0 and load > cap:
                problems.append(f"day {d + 1} route {r}: load {load} > capacity {cap}")
            dmax = inst.max_duration[d] if d < len(inst.max_duration) else 0
            if dmax > 0 and length + service > dmax + 1e-6:
                problems.append(
                    f"day {d + 1} route {r}: duration {length + service:.3f} > {dmax:g}"
                )
    for c in inst.customers:
        got = tuple(sorted(visited.get(c.id, [])))
        if not inst.needs_visit(c):
            if got and (c.frequency == 0 or got not in c.patterns):
                problems.append(f"customer {c.id}: visited on days {got} without a pattern")
            continue
        if got not in c.patterns:
            shown = [tuple(x + 1 for x in p) for p in c.patterns]
            problems.append(
                f"customer {c.id}: days {tuple(x + 1 for x in got)} are not one of {shown}"
            )
    return total, problems


def load_bks(path: Path = DEFAULT_BKS) -> dict[str, float]:
    """Best-known distances (convention ``bks_distance_double``) by instance name."""
    out: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["convention"] == "bks_distance_double":
                out[row["instance"]] = float(row["distance"])
    return out


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benchmarks.pvrp``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.pvrp", description=__doc__.splitlines()[0]
    )
    p.add_argument("files", nargs="*", type=Path, help="instance files (default: all shared)")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    p.add_argument("--routes-out", type=Path, help="write DIR/NAME.json with each day's routes")
    p.add_argument("--csv", type=Path, help="write one row per instance here")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--bks", type=Path, default=DEFAULT_BKS, help="best-known values CSV")
    return p


def solve_instance(
    inst: PvrpInstance, *, time_limit: float, seed: int, iteration_limit: int | None = None
) -> tuple[list[list[list[int]]], float, list[str], float]:
    """Routes (customer ids per route per day), distance, violations, seconds."""
    problem, routed = build_problem(inst)
    params = SolveParams(time_limit=time_limit, seed=seed, iteration_limit=iteration_limit)
    result = solve_periodic(problem, params)
    days = [[[routed[t].id for t in route] for route in day] for day in result.days]
    distance, problems = evaluate(inst, days)
    return days, distance, problems, float(result.stats.get("seconds", 0.0))


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Solve each instance, print the gap table and mean gap; exit 1 if any plan breaks a rule,
    2 on a missing file."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    files = list(args.files) or sorted((PVRP_DIR / "instances").glob("*"))
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        print(
            f"no such instance file(s): {', '.join(map(str, missing)) or PVRP_DIR}", file=sys.stderr
        )
        return 2
    bks = load_bks(args.bks) if args.bks.is_file() else {}
    warm_up_router()
    rows: list[list[str]] = []
    records: list[dict[str, object]] = []
    gaps: list[float] = []
    status = 0
    for path in files:
        inst = parse_instance(path)
        days, distance, problems, seconds = solve_instance(
            inst, time_limit=args.time_limit, seed=args.seed
        )
        best = bks.get(inst.name)
        gap = gap_pct(distance, best) if best else None
        if gap is not None and not problems:
            gaps.append(gap)
        if problems:
            status = 1
            for msg in problems[:5]:
                print(f"{inst.name}: {msg}", file=sys.stderr)
        if args.routes_out is not None:
            args.routes_out.mkdir(parents=True, exist_ok=True)
            (args.routes_out / f"{inst.name}.json").write_text(
                json.dumps({"instance": inst.name, "days": days}) + "\n", encoding="utf-8"
            )
        rows.append(
            [
                inst.name,
                str(len(inst.customers)),
                str(inst.days),
                f"{distance:.2f}",
                "" if best is None else f"{best:.2f}",
                "" if gap is None else f"{gap:.2f}",
                "yes" if not problems else f"no ({len(problems)})",
                f"{seconds:.1f}",
            ]
        )
        records.append(
            {
                "instance": inst.name,
                "distance": round(distance, 4),
                "bks": best,
                "gap_pct": None if gap is None else round(gap, 3),
                "feasible": not problems,
                "seconds": round(seconds, 2),
            }
        )
        print(" ".join(rows[-1]), file=sys.stderr, flush=True)
    headers = ["instance", "n", "days", "distance", "bks", "gap %", "feasible", "seconds"]
    print(format_table(headers, rows), file=stream)
    if gaps:
        print(f"mean gap {sum(gaps) / len(gaps):.2f} % over {len(gaps)} instance(s)", file=stream)
    if args.csv is not None:
        write_csv(args.csv, records)
    return status


if __name__ == "__main__":
    sys.exit(main())
