"""Home health care routing benchmark (Mankowska et al. 2014 text instances, Kummer JSON ones).

Every patient needs one or two services, each by a caregiver qualified for it; a service starts
no earlier than the patient's window start and may start after its end at a cost (tardiness);
the two services of a double-service patient start together or within a ``[mind, maxd]`` delay
of each other. The objective is ``(D + T + Tmax) / 3``: total travel distance, total tardiness
and the largest tardiness (``../shared/benchmarks/hhc/README.md``).

The instance goes through the product's solver: each service is a visit restricted to the
qualified caregivers, the window end is a soft one (:attr:`solver.problem.VisitSpec.soft_latest`,
1 per unit late) with the largest lateness charged once more
(:attr:`solver.problem.RoutingProblem.max_tardiness_cost`), and double services are
:class:`solver.problem.Sync` pairs on distinct caregivers, so the router searches them with its
synchronised search (:mod:`solver.syncsearch`). Travel and times are scaled by the format's
scale and rounded up, so starts stay feasible for the real distances. An evaluator of its own
recomputes D, T, Tmax and every rule from the routes.

Usage::

    python -m benchmarks.hhc FILE... --time-limit 60 [--routes-out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any, TextIO

import numpy as np

from benchmarks.common import SHARED_BENCHMARKS, format_table, gap_pct
from solver import solve
from solver.problem import RoutingProblem, SearchConfig, SolveParams, Sync, VehicleSpec, VisitSpec

__all__ = [
    "HHC_CONFIG",
    "Double",
    "Evaluation",
    "HhcInstance",
    "Service",
    "Visit",
    "build_problem",
    "evaluate",
    "load_bks",
    "main",
    "parse_instance",
    "parse_kummer",
    "parse_mankowska",
    "solution_json",
    "solve_instance",
]

HHC_DIR = SHARED_BENCHMARKS / "hhc"
DEFAULT_BKS = HHC_DIR / "bks.csv"
#: Tolerance of the evaluator's time comparisons: stored solutions give times to 3 decimals.
EPS = 1e-3
#: Cost of leaving a service out (scaled units): far above any route's cost.
DROP_PENALTY = 10**9
#: The router's search, built first by insertion at the least total cost (travel and lateness):
#: insertion by travel alone starts from routes hours late that the search never repairs.
HHC_CONFIG: SearchConfig = SearchConfig(first_solution="LOCAL_CHEAPEST_COST_INSERTION")


@dataclass(frozen=True)
class Service:
    """Service type ``service`` (0-based) at patient ``patient`` (1-based node) lasting
    ``duration`` time units (the longest over the qualified caregivers when they differ)."""

    patient: int
    service: int
    duration: float


@dataclass(frozen=True)
class Double:
    """Services ``first`` and ``second`` (indices into the instance's services) of one patient:
    ``start(second) - start(first)`` in ``[min_delay, max_delay]`` (0, 0: simultaneous)."""

    first: int
    second: int
    min_delay: float
    max_delay: float


@dataclass(frozen=True)
class HhcInstance:
    """A daily instance. Node 0 is the office, nodes ``1..n`` the patients; ``distance`` is
    ``(n+1) x (n+1)`` (travel time = distance); ``windows[i]`` is node ``i``'s ``(e, l)``;
    ``qualified[v]`` the service types caregiver ``v`` may do; ``scale`` the integer scale
    used in the solver."""

    name: str
    distance: np.ndarray
    windows: tuple[tuple[float, float], ...]
    qualified: tuple[frozenset[int], ...]
    services: tuple[Service, ...]
    doubles: tuple[Double, ...]
    scale: int

    @property
    def patients(self) -> int:
        return len(self.windows) - 1


@dataclass(frozen=True)
class Visit:
    """One service done on a route: patient node, service type, start time."""

    patient: int
    service: int
    start: float


@dataclass(frozen=True)
class Evaluation:
    """Objective terms recomputed from routes and the rules they break (empty = feasible)."""

    distance: float
    tardiness: float
    max_tardiness: float
    violations: tuple[str, ...]

    @property
    def objective(self) -> float:
        return (self.distance + self.tardiness + self.max_tardiness) / 3.0

    @property
    def feasible(self) -> bool:
        return not self.violations


# --- parsing ---------------------------------------------------------------------------------


def _blocks(text: str) -> dict[str, list[list[float]]]:
    blocks: dict[str, list[list[float]]] = {}
    key: str | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if re.match(r"^[A-Za-z]", s):
            key = s
            blocks[key] = []
        elif key is not None:
            blocks[key].append([float(x) for x in s.split()])
    return blocks


def parse_mankowska(path: Path) -> HhcInstance:
    """Read a Mankowska text instance (keywords ``nbNodes`` … ``l``); raises ``ValueError`` when
    a block is missing or has the wrong size."""
    b = _blocks(path.read_text(encoding="utf-8"))
    try:
        n_nodes = int(b["nbNodes"][0][0])
        n_veh = int(b["nbVehi"][0][0])
        req, quals, dist, p = b["r"], b["a"], b["d"], b["p"]
        mind, maxd, e, l_ = b["mind"][0], b["maxd"][0], b["e"][0], b["l"][0]
    except (KeyError, IndexError) as exc:
        raise ValueError(f"{path.name}: missing block {exc}") from exc
    if len(req) != n_nodes or len(dist) != n_nodes or len(p) != n_nodes * n_veh or len(e) < n_nodes:
        raise ValueError(f"{path.name}: block sizes do not match nbNodes={n_nodes}")
    n = n_nodes - 2  # the last node repeats the office
    matrix = np.array([row[: n + 1] for row in dist[: n + 1]], dtype=float)
    qualified = tuple(frozenset(s for s, ok in enumerate(row) if ok) for row in quals[:n_veh])
    services: list[Service] = []
    doubles: list[Double] = []
    for i in range(1, n + 1):
        first = len(services)
        for s, need in enumerate(req[i]):
            if need:
                durations = [p[i * n_veh + v][s] for v in range(n_veh) if s in qualified[v]]
                services.append(Service(i, s, max(durations, default=p[i * n_veh][s])))
        if len(services) - first == 2:
            doubles.append(Double(first, first + 1, mind[i], maxd[i]))
    windows = tuple((e[i], l_[i]) for i in range(n + 1))
    return HhcInstance(
        path.stem, matrix, windows, qualified, tuple(services), tuple(doubles), scale=100
    )


def parse_kummer(path: Path) -> HhcInstance:
    """Read a Kummer JSON instance (``patients``, ``caregivers``, ``distances``); raises
    ``ValueError`` on a malformed document."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    try:
        kinds = [s["id"] for s in doc["services"]]
        patients = doc["patients"]
        qualified = tuple(
            frozenset(kinds.index(a) for a in c["abilities"]) for c in doc["caregivers"]
        )
        matrix = np.array(doc["distances"], dtype=float)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{path.name}: malformed instance ({exc})") from exc
    if matrix.shape != (len(patients) + 1, len(patients) + 1):
        raise ValueError(f"{path.name}: distance matrix is not (patients + 1) square")
    services: list[Service] = []
    doubles: list[Double] = []
    windows: list[tuple[float, float]] = [(0.0, math.inf)]
    for i, pat in enumerate(patients, start=1):
        windows.append((float(pat["time_window"][0]), float(pat["time_window"][1])))
        first = len(services)
        for need in pat["required_caregivers"]:
            services.append(Service(i, kinds.index(need["service"]), float(need["duration"])))
        if len(services) - first == 2:
            sync = pat.get("synchronization") or {}
            lo, hi = (0.0, 0.0) if sync.get("type") != "sequential" else sync["distance"]
            doubles.append(Double(first, first + 1, float(lo), float(hi)))
    return HhcInstance(
        path.stem, matrix, tuple(windows), qualified, tuple(services), tuple(doubles), scale=1
    )


def parse_instance(path: Path) -> HhcInstance:
    """A Mankowska ``.txt`` or Kummer ``.json`` instance by its suffix."""
    return parse_kummer(path) if path.suffix == ".json" else parse_mankowska(path)


# --- the solver model --------------------------------------------------------------------------


def build_problem(inst: HhcInstance) -> RoutingProblem:
    """The instance as a :class:`RoutingProblem` in units of ``1 / inst.scale``.

    Travel and durations are rounded up; every service may start at or after its window start
    and pays 1 per unit after the window end (the objective's T), the latest of them 1 more
    (``max_tardiness_cost``: its Tmax); services are kept by a large drop penalty.
    """
    sc = inst.scale
    travel = np.ceil(inst.distance * sc - 1e-9).astype(np.int64)
    durations = [math.ceil(s.duration * sc - 1e-9) for s in inst.services]
    longest = int(travel.max(initial=0)) * (len(inst.services) + 1) + sum(durations)
    latest = max(w[1] for w in inst.windows[1:]) if inst.patients else 0.0
    horizon = math.ceil(latest * sc) + longest + 1
    visits = []
    for s, dur in zip(inst.services, durations, strict=True):
        e, l_ = inst.windows[s.patient]
        allowed = frozenset(v for v, q in enumerate(inst.qualified) if s.service in q)
        visits.append(
            VisitSpec(
                location=s.patient,
                duration=dur,
                windows=((math.ceil(e * sc - 1e-9), horizon),),
                allowed_vehicles=allowed,
                penalty=DROP_PENALTY,
                soft_latest=math.floor(l_ * sc + 1e-9),
                tardiness_cost=1,
            )
        )
    vehicles = tuple(VehicleSpec(0, 0, 0, horizon + longest) for _ in inst.qualified)
    syncs = tuple(
        Sync(
            d.first,
            d.second,
            math.ceil(d.min_delay * sc - 1e-9),
            math.floor(d.max_delay * sc + 1e-9),
            distinct=True,
            both=True,
        )
        for d in inst.doubles
    )
    return RoutingProblem(
        matrices=(travel,),
        visits=tuple(visits),
        vehicles=vehicles,
        syncs=syncs,
        max_tardiness_cost=1,
    )


def solve_instance(
    inst: HhcInstance, *, time_limit: float, seed: int = 0, iteration_limit: int | None = None
) -> tuple[list[list[Visit]], list[int], float]:
    """Routes per caregiver (in the instance's time unit), dropped services and seconds.

    ``iteration_limit`` bounds the search by count: the same seed and limit give the same
    routes while ``time_limit`` is not reached.
    """
    problem = build_problem(inst)
    t0 = time.perf_counter()
    params = SolveParams(
        time_limit=time_limit, seed=seed, iteration_limit=iteration_limit, search=HHC_CONFIG
    )
    result = solve(problem, params)
    seconds = time.perf_counter() - t0
    routes: list[list[Visit]] = [[] for _ in inst.qualified]
    for r in result.routes:
        routes[r.vehicle] = [
            Visit(inst.services[i].patient, inst.services[i].service, t / inst.scale)
            for i, t in zip(r.visits, r.starts, strict=True)
        ]
    return routes, list(result.dropped), seconds


# --- the independent evaluator ------------------------------------------------------------------


def evaluate(inst: HhcInstance, routes: Sequence[Sequence[Visit]]) -> Evaluation:
    """D, T and Tmax of ``routes`` (one list per caregiver) and every rule they break: each
    required service done exactly once by a qualified caregiver, no start before the window or
    before the caregiver can be there, double services within their delay."""
    bad: list[str] = []
    d = inst.distance
    duration = {(s.patient, s.service): s.duration for s in inst.services}
    done: dict[tuple[int, int], float] = {}
    distance = tardiness = worst = 0.0
    for v, route in enumerate(routes):
        here, free = 0, 0.0
        for x in route:
            key = (x.patient, x.service)
            if key not in duration:
                bad.append(f"c{v + 1}: p{x.patient} does not need s{x.service + 1}")
                continue
            if key in done:
                bad.append(f"p{x.patient} s{x.service + 1} done twice")
            done[key] = x.start
            if v >= len(inst.qualified) or x.service not in inst.qualified[v]:
                bad.append(f"c{v + 1} is not qualified for s{x.service + 1}")
            e, l_ = inst.windows[x.patient]
            if x.start < e - EPS:
                bad.append(f"p{x.patient} s{x.service + 1} starts {x.start} before {e}")
            if x.start < free + d[here, x.patient] - EPS:
                bad.append(f"c{v + 1} cannot reach p{x.patient} by {x.start}")
            late = max(0.0, x.start - l_)
            tardiness += late
            worst = max(worst, late)
            distance += d[here, x.patient]
            here, free = x.patient, x.start + duration[key]
        if route:
            distance += d[here, 0]
    for key in duration:
        if key not in done:
            bad.append(f"p{key[0]} s{key[1] + 1} not done")
    for dbl in inst.doubles:
        a, b = inst.services[dbl.first], inst.services[dbl.second]
        ta, tb = done.get((a.patient, a.service)), done.get((b.patient, b.service))
        if ta is None or tb is None:
            continue
        gap = abs(tb - ta)
        if not dbl.min_delay - EPS <= gap <= dbl.max_delay + EPS:
            bad.append(
                f"p{a.patient}: services {gap:.3f} apart, [{dbl.min_delay}, {dbl.max_delay}]"
            )
    who = defaultdict(list)
    for v, route in enumerate(routes):
        for x in route:
            who[(x.patient)].append(v)
    for dbl in inst.doubles:
        p_ = inst.services[dbl.first].patient
        if len(set(who[p_])) < len(who[p_]):
            bad.append(f"p{p_}: both services by one caregiver")
    return Evaluation(distance, tardiness, worst, tuple(bad))


def solution_json(inst: HhcInstance, routes: Sequence[Sequence[Visit]]) -> dict[str, Any]:
    """Routes in the shape of the stored solutions (``arrival_time`` = start of service)."""
    duration = {(s.patient, s.service): s.duration for s in inst.services}
    return {
        "instance": inst.name,
        "routes": [
            {
                "caregiver_id": f"c{v + 1}",
                "locations": [
                    {
                        "patient": f"p{x.patient}",
                        "service": f"s{x.service + 1}",
                        "arrival_time": round(x.start, 6),
                        "departure_time": round(x.start + duration[(x.patient, x.service)], 6),
                    }
                    for x in route
                ],
            }
            for v, route in enumerate(routes)
        ],
    }


def load_bks(path: Path) -> dict[str, tuple[float, str]]:
    """Instance name → (best-known objective, size group) from ``bks.csv``."""
    out: dict[str, tuple[float, str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["instance"]] = (float(row["objective"]), row.get("set") or "")
    return out


# --- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benchmarks.hhc``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.hhc", description=__doc__.splitlines()[0]
    )
    p.add_argument("files", nargs="+", type=Path, help="instance files (.txt or .json)")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--routes-out", type=Path, help="folder for NAME.json routes")
    p.add_argument("--bks", type=Path, default=DEFAULT_BKS, help="best-known values (bks.csv)")
    return p


def _group(inst: HhcInstance, bks_group: str) -> str:
    return bks_group or f"{inst.patients} patients"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Solve each file, print objective and gap per instance and the mean gap per size group;
    exit 1 when a solution breaks a rule, 2 on a missing file."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        print(f"no such instance file(s): {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    bks = load_bks(args.bks) if args.bks.is_file() else {}
    rows: list[list[str]] = []
    gaps: dict[str, list[float]] = defaultdict(list)
    status = 0
    for path in args.files:
        inst = parse_instance(path)
        routes, _dropped, seconds = solve_instance(inst, time_limit=args.time_limit, seed=args.seed)
        ev = evaluate(inst, routes)
        best, group = bks.get(inst.name, (None, ""))
        group = _group(inst, group)
        gap = gap_pct(ev.objective, best) if best else None
        if ev.violations:
            status = 1
            for msg in ev.violations[:5]:
                print(f"{inst.name}: {msg}", file=sys.stderr)
        elif gap is not None:
            gaps[group].append(gap)
        if args.routes_out is not None:
            args.routes_out.mkdir(parents=True, exist_ok=True)
            (args.routes_out / f"{inst.name}.json").write_text(
                json.dumps(solution_json(inst, routes)) + "\n", encoding="utf-8"
            )
        rows.append(
            [
                inst.name,
                group,
                f"{ev.distance:.2f}",
                f"{ev.tardiness:.2f}",
                f"{ev.max_tardiness:.2f}",
                f"{ev.objective:.3f}",
                "" if best is None else f"{best:.3f}",
                "" if gap is None else f"{gap:.2f}",
                "yes" if ev.feasible else f"no ({len(ev.violations)})",
                f"{seconds:.1f}",
            ]
        )
        print(" ".join(rows[-1]), file=sys.stderr, flush=True)
    headers = ["instance", "group", "D", "T", "Tmax", "objective", "bks", "gap %", "ok", "s"]
    print(format_table(headers, rows), file=stream)
    summary = [[g, str(len(v)), f"{mean(v):.2f}"] for g, v in sorted(gaps.items(), key=_order)]
    if summary:
        print(format_table(["group", "n", "mean gap %"], summary), file=stream)
    return status


def _order(item: tuple[str, Iterable[float]]) -> tuple[str, int]:
    digits = re.findall(r"\d+", item[0])
    return (re.sub(r"\d+", "", item[0]), int(digits[0]) if digits else 0)


if __name__ == "__main__":
    sys.exit(main())
