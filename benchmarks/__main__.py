"""The benchmark suite (``make bench`` runs ``python -m benchmarks $(BENCH_ARGS)``).

Suites run in order; each is a function of the parsed options returning an exit status.
Add a suite by writing ``_my_suite(args) -> int`` and listing it in :data:`SUITES`.

Examples::

    python -m benchmarks                                  # everything, 10 s per Solomon run
    python -m benchmarks --time-limit 2 --instances 'C101,R101' --suites solomon
    python -m benchmarks --out bench-results              # also keep CSV and routes
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from benchmarks import solomon

__all__ = ["SUITES", "main"]

Suite = Callable[[argparse.Namespace], int]


def _solomon(args: argparse.Namespace) -> int:
    limit = _limit(args, 10.0)
    argv = ["--time-limit", str(limit), "--solver", args.solver, "--seed", str(args.seed)]
    if args.instances:
        argv += ["--instances", args.instances]
    if args.out is not None:
        argv += ["--csv", str(args.out / "solomon.csv")]
        argv += ["--routes-out", str(args.out / "solomon_routes")]
    print("== Solomon VRPTW (DIMACS truncated tenths) ==", flush=True)
    return solomon.main(argv)


def _travel_matrix(args: argparse.Namespace) -> int:
    del args
    name = "benchmarks.travel_matrix"
    if importlib.util.find_spec(name) is None:
        print(f"== travel matrix: skipped ({name} is not in this checkout) ==", flush=True)
        return 0
    main_fn = getattr(importlib.import_module(name), "main", None)
    if main_fn is None:
        print(f"== travel matrix: skipped ({name} has no main) ==", flush=True)
        return 0
    print("== travel matrix ==", flush=True)
    # Its own defaults, not this command's options.
    status = main_fn([]) if inspect.signature(main_fn).parameters else main_fn()
    return int(status or 0)


def _district(args: argparse.Namespace) -> int:
    from benchmarks import district

    # Its own sizes and time limits (30 s and 120 s); only the seed and output folder pass on.
    argv = ["--seed", str(args.seed)]
    if args.out is not None:
        argv += ["--csv", str(args.out / "district.csv")]
    print("== district week: ours against greedy ==", flush=True)
    return district.main(argv)


def _pvrp(args: argparse.Namespace) -> int:
    from benchmarks import pvrp

    # --instances names PVRP instances too ('p01,pr*'); patterns that match none run them all.
    files = sorted((pvrp.PVRP_DIR / "instances").glob("*"))
    if args.instances:
        wanted = [w.strip() for w in args.instances.split(",") if w.strip()]
        chosen = [f for f in files if any(fnmatch.fnmatch(f.name, w) for w in wanted)]
        files = chosen or files
    limit = _limit(args, 60.0)
    argv = [*map(str, files), "--time-limit", str(limit), "--seed", str(args.seed)]
    if args.out is not None:
        argv += ["--csv", str(args.out / "pvrp.csv"), "--routes-out", str(args.out / "pvrp_routes")]
    print("== periodic VRP (Cordeau, double-precision distance) ==", flush=True)
    return pvrp.main(argv)


def _hotline(args: argparse.Namespace) -> int:
    from benchmarks import hotline

    # The 1,500-household district of its own; only the seed passes on (0 becomes 1).
    print("== hotline: 200 requests on 1,500 households, API and search ==", flush=True)
    return hotline.main(["--seed", str(args.seed or 1)])


def _load(args: argparse.Namespace) -> int:
    from benchmarks import load

    print("== load: 1 to 256 concurrent clients on a loopback server ==", flush=True)
    return load.main(["--seed", str(args.seed or 1)])


def _hhc(args: argparse.Namespace) -> int:
    from benchmarks import hhc

    # --instances names HHC instances too ('InstanzCPLEX_HCSRP_10_*'); none matched: all run.
    files = sorted((hhc.HHC_DIR / "mankowska2014" / "instances").glob("*.txt"))
    files += sorted((hhc.HHC_DIR / "kummer2021" / "instances").glob("*.json"))
    if args.instances:
        wanted = [w.strip() for w in args.instances.split(",") if w.strip()]
        chosen = [f for f in files if any(fnmatch.fnmatch(f.stem, w) for w in wanted)]
        files = chosen or files
    if not files:
        print(f"== home health care: skipped (no instances in {hhc.HHC_DIR}) ==", flush=True)
        return 0
    # The limits: 60 s up to 100 patients, 300 s for the 200- and 300-patient groups.
    large = [f for f in files if _patients(f.stem) >= 200]
    groups = [
        (g, lim)
        for g, lim in (
            ([f for f in files if f not in large], _limit(args, 60.0)),
            (large, _limit(args, 300.0)),
        )
        if g
    ]
    status = 0
    for group, limit in groups:
        argv = [*map(str, group), "--time-limit", str(limit), "--seed", str(args.seed)]
        if args.out is not None:
            argv += ["--routes-out", str(args.out / "hhc_routes")]
        print(f"== home health care routing (Mankowska, Kummer), {limit:g} s ==", flush=True)
        status = max(status, hhc.main(argv))
    return status


def _patients(stem: str) -> int:
    """Patients of an HHC instance from its name (``InstanzCPLEX_HCSRP_200_1`` → 200)."""
    parts = stem.split("_")
    numbers = [int(p) for p in parts if p.isdigit()]
    return numbers[0] if numbers else 0


def _limit(args: argparse.Namespace, default: float) -> float:
    """``--time-limit`` when given, else the suite's own default from its issue."""
    return float(args.time_limit) if args.time_limit is not None else default


#: Suite name → runner, in the order they run.
SUITES: Mapping[str, Suite] = MappingProxyType(
    {
        "solomon": _solomon,
        "travel_matrix": _travel_matrix,
        "district": _district,
        "pvrp": _pvrp,
        "hotline": _hotline,
        "load": _load,
        "hhc": _hhc,
    }
)


def _suite_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SUITES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown suite(s) {unknown}; choose from {', '.join(SUITES)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benchmarks``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument(
        "--suites",
        type=_suite_list,
        default=list(SUITES),
        help=f"comma-separated suites to run (default: {','.join(SUITES)})",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per solver run for every suite (default: each suite's own: Solomon 10, "
        "PVRP 60, HHC 60 / 300 for 200+ patients)",
    )
    p.add_argument(
        "--instances", help="Solomon names or patterns to keep, e.g. 'C101,R1*' (default all)"
    )
    p.add_argument(
        "--solver", default="ours,pyvrp,vroom", help="Solomon solvers (default ours,pyvrp,vroom)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        help="folder for result files (Solomon: solomon.csv and solomon_routes/)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected suites; the exit status is 0 only when every suite returned 0."""
    args = build_parser().parse_args(argv)
    worst = 0
    for name in args.suites:
        status = SUITES[name](args)
        if status:
            print(f"== {name}: exit status {status} ==", file=sys.stderr, flush=True)
        worst = max(worst, status)
    return worst


if __name__ == "__main__":
    sys.exit(main())
