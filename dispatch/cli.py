"""The ``dispatch`` command line (also ``python -m dispatch``).

Each subcommand is one ``_register_<name>`` function that adds its parser and sets
``handler`` to a function ``(args) -> exit code``; list the register function in
:data:`COMMANDS` to switch it on. Exit codes: 0 success, 1 the answer is "no" (a plan with
violations), 2 bad input (one line on stderr naming the field, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

__all__ = ["COMMANDS", "build_parser", "main"]

Subparsers = argparse._SubParsersAction  # the type argparse gives add_subparsers()
Register = Callable[[Subparsers], None]


# --- dispatch check ---------------------------------------------------------------------------


def _register_check(sub: Subparsers) -> None:
    p = sub.add_parser(
        "check",
        help="check a plan against its scenario (校验排班方案)",
        description="Check every rule of the contract on PLAN for SCENARIO and print the "
        "violations and the plan's KPIs. Exit 0 when clean, 1 with violations, 2 on bad input.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument("plan", type=Path, help="plan JSON file (format 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from dispatch.checker import check_plan
    from dispatch.plan_io import load_plan
    from dispatch.scenario_io import load_scenario

    parsed = load_scenario(args.scenario)
    plan = load_plan(args.plan)
    for w in parsed.warnings:
        print(f"warning: {args.scenario}: {w}", file=sys.stderr)
    if plan.scenario and plan.scenario != parsed.scenario.name:
        print(
            f"warning: the plan is for scenario {plan.scenario!r}, not {parsed.scenario.name!r}",
            file=sys.stderr,
        )
    report = check_plan(parsed.scenario, plan)
    if args.json:
        doc = {
            "ok": report.ok,
            "violations": [asdict(v) for v in report.violations],
            "kpis": report.kpis,
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        rows = [
            (v.rule, v.caregiver or "-", v.day or "-", v.request or "-", v.message)
            for v in report.violations
        ]
        if rows:
            print(f"{len(rows)} violation(s):")
            print(_table([("rule", "caregiver", "day", "request", "message"), *rows]))
        else:
            print("OK: no violations (校验通过)")
        print()
        print(_table([("kpi", "value"), *((k, _number(x)) for k, x in report.kpis.items())]))
    return 0 if report.ok else 1


# --- dispatch route -----------------------------------------------------------------------------


def _register_route(sub: Subparsers) -> None:
    p = sub.add_parser(
        "route",
        help="route one day of a scenario (单日路径规划)",
        description="Plan the routes of one day of SCENARIO with the daily router: every request "
        "the day allows gets one visit; what does not fit goes to `unassigned` with a reason.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument("--day", help="day code (default: the scenario's first day)")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="iteration budget; with the same seed it makes the plan reproducible",
    )
    p.add_argument("--out", type=Path, help="write the plan here (default: standard output)")
    p.set_defaults(handler=_route)


def _route(args: argparse.Namespace) -> int:
    from dispatch.daily import route_day
    from dispatch.plan_io import plan_to_dict, save_plan
    from dispatch.scenario_io import load_scenario
    from solver.problem import SolveParams

    parsed = load_scenario(args.scenario)
    for w in parsed.warnings:
        print(f"warning: {args.scenario}: {w}", file=sys.stderr)
    scenario = parsed.scenario
    day = args.day or scenario.days[0]
    if args.time_limit <= 0:
        raise ValueError(f"--time-limit: must be positive, got {args.time_limit}")
    if args.iterations is not None and args.iterations < 1:
        raise ValueError(f"--iterations: must be at least 1, got {args.iterations}")
    params = SolveParams(
        time_limit=args.time_limit, seed=args.seed, iteration_limit=args.iterations
    )
    plan = route_day(scenario, day, params=params)
    if args.out is not None:
        save_plan(plan, args.out)
        k = plan.kpis
        print(
            f"{day}: {int(k['planned_visits'])}/{int(k['required_visits'])} visits planned, "
            f"{int(k['travel_minutes'])} travel minutes, {len(plan.unassigned)} unassigned "
            f"-> {args.out}",
            file=sys.stderr,
        )
    else:
        print(json.dumps(plan_to_dict(plan), ensure_ascii=False, indent=2))
    return 0


# --- the parser ---------------------------------------------------------------------------------

#: Every subcommand's register function, in the order ``--help`` lists them.
COMMANDS: list[Register] = [_register_check, _register_route]


def build_parser() -> argparse.ArgumentParser:
    """The ``dispatch`` argument parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="dispatch",
        description="Home-visit dispatch for community elderly care (居家养老上门服务调度).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dispatch`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    code instead of raising ``SystemExit``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        print("dispatch: error: a command is required", file=sys.stderr)
        return 2
    try:
        return handler(args)
    except (OSError, ValueError) as exc:  # bad files: ScenarioError, PlanError, missing paths
        print(f"dispatch {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


# --- printing -----------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    """The first problem of an error, with the count of the others (errors carry ``issues``)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    issues = list(getattr(exc, "issues", ()) or ())
    lines = [str(i) for i in issues] or [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return lines[0] + more


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3f}"


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns; the last column is not padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    )
