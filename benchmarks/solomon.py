"""Solomon VRPTW benchmark: the project's router beside PyVRP and VROOM, one table.

Usage::

    python -m benchmarks.solomon [FILE ...] --time-limit 10 --solver ours,pyvrp,vroom \\
        [--instances 'C1*,R101'] [--routes-out DIR] [--csv OUT] [--seed N] [--bks PATH]

Convention (DIMACS 2021 / CVRPLIB / PyVRP): every arc's distance and travel time is the
Euclidean distance truncated down to one decimal, ``floor(10 * d) / 10``. Everything is
computed in integer tenths of the file's unit (distance, times, service durations alike); the
fleet is the file's vehicle number, capacity the file's, time windows are hard (on the start of
service), the depot's due date is the horizon and the objective is the total distance. Results
are compared with the ``dimacs_trunc1_distance_min`` rows of ``bks.csv``.

Every solver's routes go through the same independent :func:`evaluate`; a run whose routes break
a rule is reported as infeasible and makes the command exit with status 1.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import math
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import numpy.typing as npt

from benchmarks.common import (
    SHARED_BENCHMARKS,
    MissingDependencyError,
    format_table,
    gap_pct,
    import_optional,
    warm_up_router,
    write_csv,
)

if TYPE_CHECKING:
    from dispatch.model import Plan, Scenario
    from dispatch.travel import MatrixProvider

__all__ = [
    "BKS_CONVENTION",
    "DEFAULT_BKS",
    "DEFAULT_INSTANCES",
    "SOLVERS",
    "BestKnown",
    "Evaluation",
    "RunResult",
    "SolomonInstance",
    "TenthsData",
    "evaluate",
    "main",
    "parse_solomon",
    "plan_to_routes",
    "read_bks",
    "read_solomon",
    "run_solver",
    "solve_ours",
    "solve_pyvrp",
    "solve_vroom",
    "tenths",
    "to_scenario",
]

DEFAULT_INSTANCES = SHARED_BENCHMARKS / "solomon" / "instances"
DEFAULT_BKS = SHARED_BENCHMARKS / "solomon" / "bks.csv"
BKS_CONVENTION = "dimacs_trunc1_distance_min"

IntMatrix = npt.NDArray[np.int64]
Routes = tuple[tuple[int, ...], ...]

# --------------------------------------------------------------------------- instances


@dataclass(frozen=True)
class SolomonInstance:
    """A Solomon file as read, in the file's own units; row 0 is the depot.

    ``number`` is the CUST NO. column; ``ready``/``due`` bound the start of service;
    ``service`` is the service duration. The depot's ``due`` is the horizon.
    """

    name: str
    vehicles: int
    capacity: int
    number: tuple[int, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    demand: tuple[int, ...]
    ready: tuple[float, ...]
    due: tuple[float, ...]
    service: tuple[float, ...]

    @property
    def num_customers(self) -> int:
        return len(self.number) - 1


def _int_field(token: str, what: str) -> int:
    value = float(token)
    if not value.is_integer():
        raise ValueError(f"Solomon file: {what} {token!r} is not a whole number")
    return int(value)


def parse_solomon(text: str, *, name: str | None = None) -> SolomonInstance:
    """Parse the text of a Solomon file (any line endings, any blank padding).

    ``name`` overrides the file's first word. Raises ``ValueError`` on a malformed file.
    """
    tokens = text.split()
    if not tokens:
        raise ValueError("Solomon file is empty")
    upper = [t.upper() for t in tokens]
    try:
        v = upper.index("VEHICLE")
        c = upper.index("CUSTOMER")
    except ValueError:
        raise ValueError("Solomon file: missing VEHICLE or CUSTOMER section") from None
    # VEHICLE / NUMBER CAPACITY / <K> <Q>
    vehicle_part = tokens[v + 1 : c]
    numbers = [t for t in vehicle_part if t.upper() not in {"NUMBER", "CAPACITY"}]
    if len(numbers) != 2:
        raise ValueError(f"Solomon file: expected fleet size and capacity, got {numbers}")
    vehicles = _int_field(numbers[0], "vehicle number")
    capacity = _int_field(numbers[1], "capacity")
    # The customer header is words; data start at the first numeric token after it.
    i = c + 1
    while i < len(tokens) and not _is_number(tokens[i]):
        i += 1
    data = tokens[i:]
    if len(data) % 7 != 0 or not data:
        raise ValueError(
            f"Solomon file: customer table has {len(data)} values, not a multiple of 7"
        )
    rows = [data[k : k + 7] for k in range(0, len(data), 7)]
    try:
        number = tuple(_int_field(r[0], "customer number") for r in rows)
        x = tuple(float(r[1]) for r in rows)
        y = tuple(float(r[2]) for r in rows)
        demand = tuple(_int_field(r[3], "demand") for r in rows)
        ready = tuple(float(r[4]) for r in rows)
        due = tuple(float(r[5]) for r in rows)
        service = tuple(float(r[6]) for r in rows)
    except ValueError as exc:
        raise ValueError(f"Solomon file: bad customer row: {exc}") from None
    if len(set(number)) != len(number):
        raise ValueError("Solomon file: customer numbers repeat")
    if vehicles < 1 or capacity < 0:
        raise ValueError(f"Solomon file: fleet {vehicles} / capacity {capacity} out of range")
    return SolomonInstance(
        name=name or tokens[0],
        vehicles=vehicles,
        capacity=capacity,
        number=number,
        x=x,
        y=y,
        demand=demand,
        ready=ready,
        due=due,
        service=service,
    )


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_solomon(path: Path) -> SolomonInstance:
    """Read a Solomon file; raises ``OSError`` or ``ValueError``."""
    return parse_solomon(path.read_text(encoding="utf-8", errors="replace"))


@dataclass(frozen=True, eq=False)
class TenthsData:
    """An instance in integer tenths: ``matrix[i, j]`` is both distance and travel time."""

    matrix: IntMatrix
    ready: tuple[int, ...]
    due: tuple[int, ...]
    service: tuple[int, ...]

    @property
    def horizon(self) -> int:
        return self.due[0]


def _to_tenths(value: float) -> int:
    scaled = round(value * 10)
    if abs(scaled - value * 10) > 1e-6:
        raise ValueError(f"time {value} is not a whole number of tenths")
    return int(scaled)


def tenths(instance: SolomonInstance) -> TenthsData:
    """Truncated tenths matrix ``floor(10 * euclid)`` and times ×10 (exact for integer input).

    Integer coordinates use the exact identity ``floor(10 * sqrt(s)) = isqrt(100 * s)``.
    Raises ``ValueError`` for times that are not whole tenths.
    """
    n = len(instance.number)
    m = np.zeros((n, n), dtype=np.int64)
    integral = all(v.is_integer() for v in (*instance.x, *instance.y))
    for i in range(n):
        for j in range(n):
            dx = instance.x[i] - instance.x[j]
            dy = instance.y[i] - instance.y[j]
            if integral:
                m[i, j] = math.isqrt(100 * (int(dx) * int(dx) + int(dy) * int(dy)))
            else:
                m[i, j] = math.floor(10 * math.hypot(dx, dy) + 1e-9)
    return TenthsData(
        matrix=m,
        ready=tuple(_to_tenths(v) for v in instance.ready),
        due=tuple(_to_tenths(v) for v in instance.due),
        service=tuple(_to_tenths(v) for v in instance.service),
    )


# --------------------------------------------------------------------------- evaluator


@dataclass(frozen=True)
class Evaluation:
    """What the independent check found: ``distance`` in tenths, used routes, violations."""

    distance: int
    routes: int
    violations: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return not self.violations


def evaluate(
    instance: SolomonInstance, routes: Sequence[Sequence[int]], *, data: TenthsData | None = None
) -> Evaluation:
    """Check routes (customer numbers, depot left out) under the DIMACS rules, in tenths.

    Every customer exactly once, no unknown numbers or depot visits, at most the fleet's number
    of non-empty routes, load ≤ capacity per route, service started by each due date when every
    route leaves at the depot's ready time and starts each service as early as it can, and back
    at the depot by the horizon. The distance is recomputed from the coordinates.
    """
    d = data if data is not None else tenths(instance)
    row = {num: i for i, num in enumerate(instance.number)}
    depot_number = instance.number[0]
    violations: list[str] = []
    seen: dict[int, int] = {}
    distance = 0
    used = 0
    for r, route in enumerate(routes, start=1):
        if not route:
            continue
        used += 1
        unknown = [c for c in route if c not in row or c == depot_number]
        if unknown:
            violations.append(f"route {r}: unknown or depot numbers {unknown}")
            continue
        load = 0
        t = d.ready[0]
        prev = 0
        for cust in route:
            i = row[cust]
            seen[cust] = seen.get(cust, 0) + 1
            load += instance.demand[i]
            distance += int(d.matrix[prev, i])
            start = max(t + int(d.matrix[prev, i]), d.ready[i])
            if start > d.due[i]:
                violations.append(
                    f"route {r}: customer {cust} starts at {start / 10:.1f} after its due "
                    f"date {d.due[i] / 10:.1f}"
                )
            t = start + d.service[i]
            prev = i
        distance += int(d.matrix[prev, 0])
        back = t + int(d.matrix[prev, 0])
        if back > d.horizon:
            violations.append(
                f"route {r}: back at the depot at {back / 10:.1f} after the horizon "
                f"{d.horizon / 10:.1f}"
            )
        if load > instance.capacity:
            violations.append(f"route {r}: load {load} over capacity {instance.capacity}")
    if used > instance.vehicles:
        violations.append(f"{used} routes but the fleet has {instance.vehicles} vehicles")
    customers = instance.number[1:]
    missing = [c for c in customers if c not in seen]
    twice = sorted(c for c, k in seen.items() if k > 1)
    if missing:
        violations.append(f"{len(missing)} customers not served: {_short(missing)}")
    if twice:
        violations.append(f"customers served more than once: {_short(twice)}")
    return Evaluation(distance=distance, routes=used, violations=tuple(violations))


def _short(values: Sequence[int], limit: int = 10) -> str:
    head = ", ".join(str(v) for v in values[:limit])
    return head + (f", … ({len(values)} in all)" if len(values) > limit else "")


# --------------------------------------------------------------------------- solvers

SolveFn = Callable[..., Routes]


def _customer_rows(instance: SolomonInstance) -> range:
    return range(1, len(instance.number))


# "ours": through the domain path -----------------------------------------------------

DAY = "mon"
SERVICE = "meal_delivery"
_STATION = "depot"
# Solomon coordinates are abstract; they are placed near Yinchuan only so that the domain
# values hold plausible degrees. Travel comes from the matrix, never from these.
_LAT0, _LON0, _DEG_PER_UNIT = 38.45, 106.20, 1e-3


def to_scenario(
    instance: SolomonInstance, *, data: TenthsData | None = None
) -> tuple[Scenario, MatrixProvider]:
    """The instance as a one-day scenario in tenths, with a matrix provider for every mode.

    One station ``"depot"``; caregivers ``V1``…``VK`` with shift ``[depot ready, horizon]`` and
    the file's capacity; one household per customer (id = customer number) with one
    ``meal_delivery`` request whose ``load`` is the demand.
    """
    from dispatch.model import (
        Caregiver,
        Household,
        Scenario,
        ServiceRequest,
        Station,
        TravelSettings,
    )
    from dispatch.travel import MatrixProvider
    from dispatch.travel_tables import Block, TravelTable

    d = data if data is not None else tenths(instance)

    def lat(i: int) -> float:
        return _LAT0 + instance.y[i] * _DEG_PER_UNIT

    def lon(i: int) -> float:
        return _LON0 + instance.x[i] * _DEG_PER_UNIT

    station = Station(id=_STATION, lat=lat(0), lon=lon(0), name=f"{instance.name} depot")
    caregivers = tuple(
        Caregiver(
            id=f"V{k}",
            station=_STATION,
            mode="car",
            skills=frozenset({SERVICE}),
            shifts=MappingProxyType({DAY: (d.ready[0], d.horizon)}),
            capacity=instance.capacity,
        )
        for k in range(1, instance.vehicles + 1)
    )
    households = tuple(
        Household(
            id=str(instance.number[i]),
            lat=lat(i),
            lon=lon(i),
            requests=(
                ServiceRequest(
                    id=str(instance.number[i]),
                    service=SERVICE,
                    minutes=d.service[i],
                    windows=((d.ready[i], d.due[i]),),
                    load=instance.demand[i],
                ),
            ),
        )
        for i in _customer_rows(instance)
    )
    keys = [f"station:{_STATION}"] + [
        f"household:{instance.number[i]}" for i in _customer_rows(instance)
    ]
    # The instance's own distances are the scenario's travel table: the planners, the KPIs
    # and the checker all read them.
    table = TravelTable(f"Solomon {instance.name}", [Block(tuple(keys), {"*": d.matrix})])
    scenario = Scenario(
        name=instance.name,
        days=(DAY,),
        stations=(station,),
        caregivers=caregivers,
        households=households,
        travel=TravelSettings(provider="matrix", table=table),
    )
    return scenario, MatrixProvider(keys, {"*": d.matrix})


def plan_to_routes(plan: Plan) -> Routes:
    """Customer numbers of each non-empty route of a plan, read from the stops' household ids."""
    return tuple(
        tuple(int(stop.household) for stop in route.stops) for route in plan.routes if route.stops
    )


def _route_day() -> Any:
    daily = import_optional(
        "dispatch.daily",
        purpose="--solver ours",
        hint="the daily router (dispatch/daily.py with route_day) is not in this checkout",
    )
    return daily.route_day


def solve_ours(
    instance: SolomonInstance,
    data: TenthsData,
    *,
    time_limit: float,
    seed: int,
    iteration_limit: int | None = None,
) -> Routes:
    """Solve with ``dispatch.daily.route_day`` on the instance turned into a scenario.

    Visits ``route_day`` leaves unassigned are missing from the routes (the evaluator says so).
    ``iteration_limit`` bounds the search by count (the same seed and limit give the same
    routes while ``time_limit`` is not reached).
    """
    from solver.problem import SolveParams

    route_day = _route_day()
    scenario, provider = to_scenario(instance, data=data)
    # Every Solomon customer must be served: ask for mandatory visits, not droppable ones.
    plan = route_day(
        scenario,
        DAY,
        travel=provider,
        params=SolveParams(time_limit=time_limit, seed=seed, iteration_limit=iteration_limit),
        optional=False,
    )
    return plan_to_routes(plan)


# PyVRP --------------------------------------------------------------------------------


def _pyvrp() -> tuple[Any, Any]:
    pyvrp = import_optional("pyvrp", purpose="--solver pyvrp")
    stop = import_optional("pyvrp.stop", purpose="--solver pyvrp")
    return pyvrp, stop


def solve_pyvrp(
    instance: SolomonInstance, data: TenthsData, *, time_limit: float, seed: int
) -> Routes:
    """Solve with PyVRP's ``Model`` on the same tenths matrix, for ``time_limit`` seconds.

    PyVRP's search runs on one thread.
    """
    pyvrp, stop = _pyvrp()
    model = pyvrp.Model()
    n = len(data.ready)
    locations = [model.add_location(x=instance.x[i], y=instance.y[i]) for i in range(n)]
    depot = model.add_depot(locations[0], tw_early=data.ready[0], tw_late=data.horizon)
    for i in _customer_rows(instance):
        model.add_client(
            locations[i],
            delivery=instance.demand[i],
            service_duration=data.service[i],
            tw_early=data.ready[i],
            tw_late=data.due[i],
            name=str(instance.number[i]),
        )
    model.add_vehicle_type(
        num_available=instance.vehicles,
        capacity=instance.capacity,
        start_depot=depot,
        end_depot=depot,
        tw_early=data.ready[0],
        tw_late=data.horizon,
    )
    for i in range(n):
        for j in range(n):
            if i != j:
                arc = int(data.matrix[i, j])
                model.add_edge(locations[i], locations[j], distance=arc, duration=arc)
    result = model.solve(stop=stop.MaxRuntime(time_limit), seed=seed, display=False)
    problem = model.data()
    routes: list[tuple[int, ...]] = []
    for route in result.best.routes():
        numbers = tuple(
            int(problem.client(act.idx).name) for act in route.schedule() if act.is_client()
        )
        if numbers:
            routes.append(numbers)
    return tuple(routes)


# VROOM --------------------------------------------------------------------------------


def solve_vroom(
    instance: SolomonInstance, data: TenthsData, *, time_limit: float, seed: int
) -> Routes:
    """Solve with pyvroom (exploration level 5, one thread) on the same tenths matrices.

    VROOM stops on its own; ``time_limit`` and ``seed`` are not used (it is deterministic).
    """
    del time_limit, seed
    vroom = import_optional("vroom", purpose="--solver vroom")
    problem = vroom.Input()
    matrix = data.matrix.astype(np.uint32)
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    problem.set_costs_matrix(profile="car", matrix_input=matrix)
    window = vroom.TimeWindow(data.ready[0], data.horizon)
    problem.add_vehicle(
        [
            vroom.Vehicle(id=k, start=0, end=0, capacity=[instance.capacity], time_window=window)
            for k in range(1, instance.vehicles + 1)
        ]
    )
    problem.add_job(
        [
            vroom.Job(
                id=instance.number[i],
                location=i,
                default_service=data.service[i],
                delivery=vroom.Amount([instance.demand[i]]),
                time_windows=[vroom.TimeWindow(data.ready[i], data.due[i])],
            )
            for i in _customer_rows(instance)
        ]
    )
    solution = problem.solve(exploration_level=5, nb_threads=1)
    out = solution.to_dict()
    routes: list[tuple[int, ...]] = []
    for route in out.get("routes", []):
        numbers = tuple(int(step["id"]) for step in route["steps"] if step["type"] == "job")
        if numbers:
            routes.append(numbers)
    return tuple(routes)


#: Solver name → ``solve(instance, data, *, time_limit, seed) -> routes``.
SOLVERS: Mapping[str, SolveFn] = MappingProxyType(
    {"ours": solve_ours, "pyvrp": solve_pyvrp, "vroom": solve_vroom}
)
_PROBES: Mapping[str, Callable[[], object]] = MappingProxyType(
    {
        "ours": _route_day,
        "pyvrp": _pyvrp,
        "vroom": lambda: import_optional("vroom", purpose="--solver vroom"),
    }
)


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class BestKnown:
    """A best-known solution's distance (file units) and number of routes."""

    distance: float
    vehicles: int


@dataclass(frozen=True)
class RunResult:
    """One solver on one instance: its routes, wall-clock seconds and the evaluation."""

    instance: str
    solver: str
    routes: Routes
    seconds: float
    evaluation: Evaluation
    bks: BestKnown | None = None
    error: str = ""

    @property
    def distance(self) -> float:
        """Evaluated distance in the file's unit (tenths / 10)."""
        return self.evaluation.distance / 10

    @property
    def feasible(self) -> bool:
        return self.evaluation.feasible and not self.error

    @property
    def gap(self) -> float | None:
        """Percent above the best-known distance; ``None`` without one or without routes."""
        if self.bks is None or self.error:
            return None
        return gap_pct(self.distance, self.bks.distance)


def read_bks(path: Path, *, convention: str = BKS_CONVENTION) -> dict[str, BestKnown]:
    """Best-known values of one convention from ``bks.csv``, keyed by upper-case name."""
    out: dict[str, BestKnown] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("convention") == convention:
                out[row["instance"].strip().upper()] = BestKnown(
                    distance=float(row["distance"]), vehicles=int(row["vehicles"])
                )
    return out


def run_solver(
    instance: SolomonInstance,
    solver: str,
    *,
    time_limit: float,
    seed: int = 0,
    data: TenthsData | None = None,
    bks: BestKnown | None = None,
    solvers: Mapping[str, SolveFn] | None = None,
) -> RunResult:
    """Run one solver on one instance, time it and evaluate its routes.

    ``solvers`` defaults to :data:`SOLVERS`. A solver that raises gives a run with ``error`` set
    (and no routes) instead of propagating, except for :class:`MissingDependencyError`.
    """
    d = data if data is not None else tenths(instance)
    fn = (SOLVERS if solvers is None else solvers)[solver]
    t0 = time.perf_counter()
    error = ""
    try:
        routes = fn(instance, d, time_limit=time_limit, seed=seed)
    except MissingDependencyError:
        raise
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        routes = ()
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    evaluation = evaluate(instance, routes, data=d)
    return RunResult(
        instance=instance.name,
        solver=solver,
        routes=tuple(tuple(r) for r in routes),
        seconds=seconds,
        evaluation=evaluation,
        bks=bks,
        error=error,
    )


# --------------------------------------------------------------------------- reporting


def _fmt_gap(gap: float | None) -> str:
    return "-" if gap is None else f"{gap:.2f}"


def results_table(results: Sequence[RunResult], solvers: Sequence[str]) -> str:
    """One line per instance, the solvers' distance/gap/routes/seconds/ok column beside column."""
    by_instance: dict[str, dict[str, RunResult]] = {}
    for r in results:
        by_instance.setdefault(r.instance, {})[r.solver] = r
    headers = ["instance", "BKS", "veh"]
    for s in solvers:
        headers += [s, "gap%", "veh", "sec", "ok"]
    rows: list[list[str]] = []
    for name, runs in by_instance.items():
        bks = next((r.bks for r in runs.values() if r.bks is not None), None)
        row = [name, f"{bks.distance:.1f}" if bks else "-", str(bks.vehicles) if bks else "-"]
        for s in solvers:
            run = runs.get(s)
            if run is None:
                row += ["", "", "", "", ""]
                continue
            row += [
                f"{run.distance:.1f}" if not run.error else "error",
                _fmt_gap(run.gap),
                str(run.evaluation.routes),
                f"{run.seconds:.1f}",
                "yes" if run.feasible else "NO",
            ]
        rows.append(row)
    return format_table(headers, rows)


def summary_table(results: Sequence[RunResult], solvers: Sequence[str]) -> str:
    """Per solver: runs, feasible runs, mean and max gap over feasible runs, mean seconds."""
    headers = ["solver", "runs", "feasible", "mean gap%", "max gap%", "mean sec"]
    rows: list[list[str]] = []
    for s in solvers:
        runs = [r for r in results if r.solver == s]
        gaps = [g for r in runs if r.feasible and (g := r.gap) is not None]
        rows.append(
            [
                s,
                str(len(runs)),
                str(sum(r.feasible for r in runs)),
                _fmt_gap(sum(gaps) / len(gaps) if gaps else None),
                _fmt_gap(max(gaps) if gaps else None),
                f"{sum(r.seconds for r in runs) / len(runs):.1f}" if runs else "-",
            ]
        )
    return format_table(headers, rows)


def csv_rows(results: Sequence[RunResult]) -> list[dict[str, object]]:
    """Rows for ``--csv``: one per instance and solver."""
    return [
        {
            "instance": r.instance,
            "solver": r.solver,
            "distance": f"{r.distance:.1f}",
            "distance_tenths": r.evaluation.distance,
            "bks": "" if r.bks is None else f"{r.bks.distance:.1f}",
            "gap_pct": "" if r.gap is None else f"{r.gap:.3f}",
            "routes": r.evaluation.routes,
            "bks_routes": "" if r.bks is None else r.bks.vehicles,
            "seconds": f"{r.seconds:.2f}",
            "feasible": r.feasible,
            "violations": "; ".join(r.evaluation.violations),
            "error": r.error,
        }
        for r in results
    ]


def write_routes(result: RunResult, folder: Path) -> Path:
    """Write ``folder/NAME.json`` = ``{"instance": NAME, "routes": [[customer numbers]...]}``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.instance}.json"
    payload = {"instance": result.instance, "routes": [list(r) for r in result.routes]}
    path.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CLI


def _select(files: Sequence[Path], patterns: str | None) -> list[Path]:
    if not patterns:
        return list(files)
    wanted = [p.strip().upper() for p in patterns.split(",") if p.strip()]
    return [f for f in files if any(fnmatch.fnmatchcase(f.stem.upper(), p) for p in wanted)]


def _solver_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SOLVERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown solver(s) {unknown}; choose from {', '.join(SOLVERS)} (comma-separated)"
        )
    return list(dict.fromkeys(names))


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m benchmarks.solomon``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.solomon",
        description="Solomon VRPTW benchmark (DIMACS truncated-tenths convention).",
    )
    p.add_argument(
        "files", nargs="*", type=Path, help=f"Solomon .txt files (default: {DEFAULT_INSTANCES})"
    )
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per run (default 10)")
    p.add_argument(
        "--solver",
        type=_solver_list,
        default=["ours"],
        help="ours, pyvrp, vroom, or a comma-separated list of them (default ours)",
    )
    p.add_argument(
        "--instances", help="file names (without .txt) or patterns to keep, e.g. 'C1*,R101'"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--bks", type=Path, default=DEFAULT_BKS, help="best-known values CSV")
    p.add_argument("--csv", type=Path, help="write one row per instance and solver here")
    p.add_argument(
        "--routes-out",
        type=Path,
        help="write DIR/NAME.json per run (DIR/SOLVER/NAME.json with several solvers)",
    )
    return p


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the benchmark; 0 when every run is feasible, 1 when one is not, 2 on bad input."""
    stdout = out if out is not None else sys.stdout
    args = build_parser().parse_args(argv)
    files: list[Path] = list(args.files)
    if not files:
        if not DEFAULT_INSTANCES.is_dir():
            print(f"error: no files given and {DEFAULT_INSTANCES} does not exist", file=sys.stderr)
            return 2
        files = sorted(DEFAULT_INSTANCES.glob("*.txt"))
    files = _select(files, args.instances)
    if not files:
        print("error: no instance selected", file=sys.stderr)
        return 2
    solvers: list[str] = args.solver
    try:
        for s in solvers:
            _PROBES[s]()
    except MissingDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "ours" in solvers:
        warm_up_router()
    bks: dict[str, BestKnown] = {}
    if args.bks.is_file():
        bks = read_bks(args.bks)
    else:
        print(f"warning: {args.bks} not found; gaps are not computed", file=sys.stderr)

    results: list[RunResult] = []
    total = len(files) * len(solvers)
    for path in files:
        instance = read_solomon(path)
        data = tenths(instance)
        for s in solvers:
            r = run_solver(
                instance,
                s,
                time_limit=args.time_limit,
                seed=args.seed,
                data=data,
                bks=bks.get(instance.name.upper()),
            )
            results.append(r)
            print(
                f"[{len(results)}/{total}] {r.instance} {s}: {r.distance:.1f} "
                f"({r.evaluation.routes} routes, {r.seconds:.1f} s)"
                + ("" if r.feasible else "  INFEASIBLE"),
                file=sys.stderr,
                flush=True,
            )
            if args.routes_out is not None:
                folder = args.routes_out / s if len(solvers) > 1 else args.routes_out
                write_routes(r, folder)

    print(results_table(results, solvers), file=stdout)
    print(file=stdout)
    print(summary_table(results, solvers), file=stdout)
    bad = [r for r in results if not r.feasible]
    if bad:
        print(file=stdout)
        print(f"!! {len(bad)} INFEASIBLE run(s):", file=stdout)
        for r in bad:
            why = [r.error] if r.error else list(r.evaluation.violations)
            print(f"!!   {r.instance} {r.solver}: {'; '.join(why)}", file=stdout)
    if args.csv is not None:
        write_csv(args.csv, csv_rows(results))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
