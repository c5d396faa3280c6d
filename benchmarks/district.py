"""District benchmark: the weekly planner against the by-hand greedy baseline on generated weeks.

For each size a district is generated (:func:`dispatch.generate.generate_district`, one station
per :data:`HOUSEHOLDS_PER_STATION` households, caregivers staffed by the generator), planned by
``ours`` (:func:`dispatch.weekly.plan_week`) and ``greedy`` (:func:`dispatch.greedy.plan_greedy`),
and every plan goes through the independent checker. The table shows violations, the share of
required visits planned, travel minutes and their reduction against greedy, distinct caregivers
per request, mean utilisation and seconds; the bars below it are what the planner must meet.

Examples::

    python -m benchmarks.district                         # 300 (30 s) and 1,500 households (120 s)
    python -m benchmarks.district --sizes 300 --time-limit 10 --csv out/district.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

from benchmarks.common import format_table, warm_up_router, write_csv
from dispatch.checker import check_plan
from dispatch.model import Plan, Scenario

__all__ = [
    "BARS",
    "HOUSEHOLDS_PER_STATION",
    "PLANNERS",
    "WORKERS",
    "Bar",
    "DistrictRow",
    "bar_results",
    "default_time_limit",
    "format_rows",
    "main",
    "run_size",
    "stations_for",
]

#: Households per station in the generated districts (1,500 households: 20 stations).
HOUSEHOLDS_PER_STATION = 75

#: Processes the weekly planner plans station groups in (the bars are set for two cores).
WORKERS = 2

#: A planner: ``(scenario, time_limit_seconds, seed) -> Plan``.
Planner = Callable[[Scenario, float, int], Plan]


def _ours(scenario: Scenario, time_limit: float, seed: int) -> Plan:
    from dispatch.weekly import plan_week
    from solver.problem import SolveParams

    return plan_week(
        scenario, params=SolveParams(time_limit=time_limit, seed=seed), workers=WORKERS
    )


def _greedy(scenario: Scenario, time_limit: float, seed: int) -> Plan:
    from dispatch.greedy import plan_greedy

    del time_limit, seed  # the baseline is deterministic and needs no budget
    return plan_greedy(scenario)


#: The planners compared, by name; ``greedy`` is the reference for the travel reduction.
PLANNERS: Mapping[str, Planner] = MappingProxyType({"ours": _ours, "greedy": _greedy})


@dataclass(frozen=True)
class DistrictRow:
    """One planner on one district. ``travel_reduction_pct`` is how far the travel minutes lie
    below greedy's (positive: less travel), ``None`` for greedy itself or without it."""

    households: int
    stations: int
    caregivers: int
    required_visits: int
    solver: str
    time_limit: float
    violations: int
    planned_pct: float
    travel_minutes: int
    travel_per_visit: float
    travel_reduction_pct: float | None
    distinct_caregivers_per_request: float
    utilisation_mean: float
    seconds: float


@dataclass(frozen=True)
class Bar:
    """A target the planner must reach: ``ok`` says whether ``value`` does."""

    name: str
    target: str
    value: str
    ok: bool


def stations_for(households: int) -> int:
    """How many stations a district of ``households`` gets (at least one)."""
    return max(1, round(households / HOUSEHOLDS_PER_STATION))


def default_time_limit(households: int) -> float:
    """Seconds for the planner: 30 up to 500 households, 120 above."""
    return 30.0 if households <= 500 else 120.0


def _row(
    scenario: Scenario, plan: Plan, *, solver: str, time_limit: float, seconds: float
) -> DistrictRow:
    report = check_plan(scenario, plan)
    k = report.kpis
    required = int(k["required_visits"])
    planned = k["planned_visits"]
    return DistrictRow(
        households=len(scenario.households),
        stations=len(scenario.stations),
        caregivers=len(scenario.caregivers),
        required_visits=required,
        solver=solver,
        time_limit=time_limit,
        violations=len(report.violations),
        planned_pct=100.0 * planned / required if required else 100.0,
        travel_minutes=int(k["travel_minutes"]),
        travel_per_visit=k["travel_minutes"] / planned if planned else 0.0,
        travel_reduction_pct=None,
        distinct_caregivers_per_request=k["distinct_caregivers_per_request"],
        utilisation_mean=k["utilisation_mean"],
        seconds=seconds,
    )


def run_size(
    households: int,
    *,
    time_limit: float,
    seed: int = 0,
    solvers: Sequence[str] = ("ours", "greedy"),
    planners: Mapping[str, Planner] = PLANNERS,
    log: Callable[[str], None] = lambda _line: None,
    out: Path | None = None,
) -> list[DistrictRow]:
    """Generate the district of ``households`` homes and run every solver of ``solvers`` on it.

    Each plan is checked by :func:`dispatch.checker.check_plan` (its KPIs fill the row); the
    travel reduction is filled in against ``greedy`` when it ran. With ``out``, the scenario
    and each plan are written there (``district_<households>.json``,
    ``district_<households>_<solver>.json``) so that ``dispatch check`` can list violations.
    Raises ``KeyError`` for a solver not in ``planners``.
    """
    from dispatch.generate import generate_district
    from dispatch.plan_io import save_plan
    from dispatch.scenario_io import save_scenario

    scenario = generate_district(
        households=households, stations=stations_for(households), seed=seed
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        save_scenario(scenario, out / f"district_{households}.json")
    rows: list[DistrictRow] = []
    for name in solvers:
        planner = planners[name]
        budget = "" if name == "greedy" else f" ({time_limit:g} s)"
        log(f"{households} households: {name}{budget} ...")
        t0 = time.perf_counter()
        plan = planner(scenario, time_limit, seed)
        seconds = time.perf_counter() - t0
        if out is not None:
            save_plan(plan, out / f"district_{households}_{name}.json")
        rows.append(_row(scenario, plan, solver=name, time_limit=time_limit, seconds=seconds))
    base = next((r for r in rows if r.solver == "greedy"), None)
    if base is None or base.travel_minutes <= 0:
        return rows
    return [
        r
        if r.solver == "greedy"
        else _with_reduction(
            r, 100.0 * (base.travel_minutes - r.travel_minutes) / base.travel_minutes
        )
        for r in rows
    ]


def _with_reduction(row: DistrictRow, pct: float) -> DistrictRow:
    values = asdict(row)
    values["travel_reduction_pct"] = pct
    return DistrictRow(**values)


#: The targets of ``ours``: (name, target text, test on its row).
BARS: tuple[tuple[str, str, Callable[[DistrictRow], tuple[bool, str]]], ...] = (
    ("violations", "0", lambda r: (r.violations == 0, str(r.violations))),
    ("visits planned", ">= 99.5 %", lambda r: (r.planned_pct >= 99.5, f"{r.planned_pct:.2f} %")),
    (
        "travel below greedy",
        ">= 25 %",
        lambda r: (
            r.travel_reduction_pct is not None and r.travel_reduction_pct >= 25.0,
            "-" if r.travel_reduction_pct is None else f"{r.travel_reduction_pct:.1f} %",
        ),
    ),
    (
        "caregivers per request",
        "<= 1.5",
        lambda r: (
            r.distinct_caregivers_per_request <= 1.5,
            f"{r.distinct_caregivers_per_request:.2f}",
        ),
    ),
)


def bar_results(row: DistrictRow) -> list[Bar]:
    """Each of :data:`BARS` on one row (meant for ``ours``)."""
    out = []
    for name, target, test in BARS:
        ok, value = test(row)
        out.append(Bar(name, target, value, ok))
    return out


def format_rows(rows: Sequence[DistrictRow]) -> str:
    """The results as an aligned table, one line per district and solver."""
    headers = (
        "households",
        "solver",
        "stations",
        "caregivers",
        "visits",
        "violations",
        "planned %",
        "travel min",
        "travel/visit",
        "vs greedy",
        "cg/request",
        "utilisation",
        "seconds",
    )
    body = [
        (
            str(r.households),
            r.solver,
            str(r.stations),
            str(r.caregivers),
            str(r.required_visits),
            str(r.violations),
            f"{r.planned_pct:.2f}",
            str(r.travel_minutes),
            f"{r.travel_per_visit:.2f}",
            "-" if r.travel_reduction_pct is None else f"{-r.travel_reduction_pct:+.1f} %",
            f"{r.distinct_caregivers_per_request:.2f}",
            f"{r.utilisation_mean:.1%}",
            f"{r.seconds:.1f}",
        )
        for r in rows
    ]
    return format_table(headers, body, left=2)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes: whole numbers separated by commas, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes: at least one positive number, got {text!r}")
    return sizes


def _limits(text: str) -> list[float]:
    try:
        limits = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"time limit: seconds separated by commas, got {text!r}"
        ) from None
    if not limits or min(limits) <= 0:
        raise argparse.ArgumentTypeError(f"time limit: positive seconds, got {text!r}")
    return limits


def _solvers(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in PLANNERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown solver(s) {unknown}; choose from {', '.join(PLANNERS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benchmarks.district``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.district", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=[300, 1500],
        help="households per district (default 300,1500)",
    )
    p.add_argument(
        "--time-limit",
        type=_limits,
        default=None,
        help="seconds for ours: one value for every size, or one per size "
        "(default 30 up to 500 households, 120 above)",
    )
    p.add_argument("--seed", type=int, default=0, help="generator and search seed (default 0)")
    p.add_argument("--solvers", type=_solvers, default=list(PLANNERS), help="default ours,greedy")
    p.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    p.add_argument("--out", type=Path, help="folder to keep each district and its plans in")
    return p


def main(argv: Sequence[str] | None = None, *, planners: Mapping[str, Planner] = PLANNERS) -> int:
    """Run the benchmark and print the table and the bars.

    The exit status is 1 when a plan breaks a rule of the checker, else 0 (missed bars are
    reported, not failed: they measure quality, not correctness).
    """
    args = build_parser().parse_args(argv)
    warm_up_router()
    sizes: list[int] = args.sizes
    limits: list[float] = args.time_limit or [default_time_limit(h) for h in sizes]
    if len(limits) == 1:
        limits = limits * len(sizes)
    if len(limits) != len(sizes):
        print(
            f"python -m benchmarks.district: error: {len(limits)} time limits "
            f"for {len(sizes)} sizes",
            file=sys.stderr,
        )
        return 2
    rows: list[DistrictRow] = []
    for households, limit in zip(sizes, limits, strict=True):
        rows += run_size(
            households,
            time_limit=limit,
            seed=args.seed,
            solvers=args.solvers,
            planners=planners,
            log=lambda line: print(line, file=sys.stderr, flush=True),
            out=args.out,
        )
    print(format_rows(rows))
    for row in rows:
        if row.solver != "ours":
            continue
        bars = bar_results(row)
        print()
        print(f"bars, {row.households} households (ours):")
        print(
            format_table(
                ("bar", "target", "value", "met"),
                [(b.name, b.target, b.value, "yes" if b.ok else "NO") for b in bars],
                left=2,
            )
        )
    if args.csv is not None:
        write_csv(args.csv, [asdict(r) for r in rows])
    return 1 if any(r.violations for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
