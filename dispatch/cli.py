"""The ``dispatch`` command line (also ``python -m dispatch``).

Each subcommand is one ``_register_<name>`` function that adds its parser and sets
``handler`` to a function ``(args) -> exit code``; list the register function in
:data:`COMMANDS` to switch it on. Exit codes: 0 success, 1 the answer is "no" (a plan with
violations, a variant of a batch that failed), 2 bad input or an engine that cannot run here
(one line on stderr naming the field, never a traceback). Commands that run independent solves
in parallel take the engine options of :func:`add_engine_arguments`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from dispatch.batch import VariantOutcome
    from dispatch.checker import CheckReport
    from dispatch.engines import EngineSettings
    from dispatch.model import Plan

__all__ = [
    "COMMANDS",
    "SUMMARY_KPIS",
    "ProgressBar",
    "add_engine_arguments",
    "build_parser",
    "comparison_table",
    "engine_settings",
    "main",
]

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
    p.add_argument(
        "--travel",
        type=Path,
        action="append",
        default=[],
        metavar="TABLE",
        help="a travel table the plan records, where its recorded path does not hold it "
        "(repeatable); checked against the recorded fingerprint",
    )
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
    from dispatch.travel_tables import contract_scenario, travel_of_plan

    report = check_plan(travel_of_plan(parsed.scenario, plan, tables=args.travel), plan)
    # A plan made with road times is also reported against the contract's model.
    contract = None
    if plan.travel is not None:
        contract = check_plan(contract_scenario(parsed.scenario), plan)
    if args.json:
        doc: dict[str, Any] = {
            "ok": report.ok,
            "violations": [asdict(v) for v in report.violations],
            "kpis": report.kpis,
        }
        if plan.travel is not None and contract is not None:
            doc["travel"] = {
                "provider": plan.travel.provider,
                "tables": [asdict(t) for t in plan.travel.tables],
            }
            doc["contract_model"] = {
                "ok": contract.ok,
                "violations": [asdict(v) for v in contract.violations],
                "kpis": contract.kpis,
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
        if plan.travel is not None and contract is not None:
            print()
            print(_travel_note(plan, report, contract))
    return 0 if report.ok else 1


def _travel_note(plan: Plan, report: CheckReport, contract: CheckReport) -> str:
    """Which travel times judged the plan, and what the contract's model says of it."""
    assert plan.travel is not None
    prints = ", ".join(t.fingerprint[:19] for t in plan.travel.tables)
    counts: dict[str, int] = {}
    for v in contract.violations:
        counts[str(v.rule)] = counts.get(str(v.rule), 0) + 1
    verdict = (
        "no violations"
        if contract.ok
        else f"{len(contract.violations)} violation(s): "
        + ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    )
    road = report.kpis.get("travel_minutes", 0.0)
    straight = contract.kpis.get("travel_minutes", 0.0)
    return (
        f"travel times: {plan.travel.provider} ({prints}) / 按方案所用路网时间校验\n"
        f"against the contract's straight-line model (for information / 直线模型参考): "
        f"{verdict}; travel {_number(road)} min on the roads, {_number(straight)} min by the "
        "model"
    )


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


# --- dispatch plan ------------------------------------------------------------------------------

#: KPIs the plan summary shows first, in this order (the others follow).
SUMMARY_KPIS: tuple[str, ...] = (
    "required_visits",
    "planned_visits",
    "travel_minutes",
    "distinct_caregivers_per_request",
    "utilisation_mean",
    "overtime_minutes",
    "visit_rate_tagged",
    "households_outside_15min",
)


def _register_plan(sub: Subparsers) -> None:
    p = sub.add_parser(
        "plan",
        help="plan a whole week, or several, of a scenario (周排班)",
        description="Plan every day of SCENARIO (of --weeks consecutive weeks from its "
        "week_start): visit days, caregivers and routes. Writes a format-1 plan to --out, "
        "draws progress on standard error, prints the KPIs and the checker's verdict. Exit 0 "
        "for a clean plan, 1 if the checker finds violations, 2 on bad input.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="seconds for the whole run, split over the weeks (default 30)",
    )
    p.add_argument(
        "--weeks",
        type=int,
        default=1,
        help="consecutive ISO weeks from the scenario's week_start; several weeks date every "
        "route (default 1)",
    )
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument(
        "--solver",
        choices=("ours", "greedy"),
        default="ours",
        help="ours: the weekly planner; greedy: the by-hand baseline (default ours)",
    )
    p.add_argument("--out", type=Path, required=True, help="write the plan here")
    add_engine_arguments(
        p,
        default=None,
        extra="; given, the week is planned as a city: neighbouring stations in groups, "
        "the groups in parallel on the engine (docs/city.md)",
    )
    p.set_defaults(handler=_plan)


class ProgressBar:
    """Draws planner progress on a text stream: one redrawn line on a terminal, else one line
    per report. Takes :class:`dispatch.weekly.Progress`-like values (stage, fraction, message)."""

    def __init__(
        self, stream: TextIO, *, width: int = 30, clock: Callable[[], float] = time.monotonic
    ):
        self.stream = stream
        self.width = width
        self.clock = clock
        self.started = clock()
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self._open = False

    def line(self, stage: str, fraction: float, message: str) -> str:
        """The text of one report: bar, percent, elapsed seconds, stage and message."""
        f = min(1.0, max(0.0, fraction))
        filled = round(f * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        return f"[{bar}] {f:4.0%} {self.clock() - self.started:5.1f}s {stage}: {message}"

    def __call__(self, report: Any) -> None:
        text = self.line(report.stage, report.fraction, report.message)
        if self.live:
            self.stream.write("\r\x1b[2K" + text)
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the redrawn line (on a terminal) so later output starts on a new line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _plan(args: argparse.Namespace) -> int:
    from dispatch.checker import check_plan
    from dispatch.plan_io import save_plan
    from dispatch.scenario_io import load_scenario

    if args.time_limit <= 0:
        raise ValueError(f"--time-limit: must be positive, got {args.time_limit}")
    if args.weeks < 1:
        raise ValueError(f"--weeks: must be at least 1, got {args.weeks}")
    if args.weeks > 1 and args.solver == "greedy":
        raise ValueError("--weeks: the greedy baseline plans one week; use --solver ours")
    city = args.engine is not None or args.workers is not None or args.address is not None
    if city and (args.weeks > 1 or args.solver == "greedy"):
        raise ValueError(
            "--engine: a city is planned one week at a time with the weekly planner "
            "(no --weeks, no --solver greedy)"
        )
    settings = engine_settings(args) if city else None
    parsed = load_scenario(args.scenario)
    for w in parsed.warnings:
        print(f"warning: {args.scenario}: {w}", file=sys.stderr)
    scenario = parsed.scenario
    if args.weeks > 1 and scenario.week_start is None:
        raise ValueError(f"--weeks: {args.scenario} has no week_start to count weeks from")
    bar = ProgressBar(sys.stderr)
    try:
        if args.solver == "greedy":
            from dispatch.greedy import plan_greedy

            bar(_Report("greedy", 0.0, "by-hand rules, file order / 按受理顺序派单"))
            plan = plan_greedy(scenario)
            bar(_Report("done", 1.0, "plan ready / 计划完成"))
        else:
            from dispatch.weekly import plan_weeks
            from solver.problem import SolveParams

            params = SolveParams(time_limit=args.time_limit, seed=args.seed)
            if settings is not None:
                from dispatch.city import plan_city

                plan = plan_city(scenario, engine=settings, params=params, progress=bar)
            else:
                plan = plan_weeks(scenario, weeks=args.weeks, params=params, progress=bar)
    finally:
        bar.close()
    save_plan(plan, args.out)
    from dispatch.travel_tables import travel_of_plan

    report = check_plan(travel_of_plan(scenario, plan), plan)
    kpis = dict(plan.kpis)
    first = [k for k in SUMMARY_KPIS if k in kpis]
    rows = [(k, _number(kpis[k])) for k in [*first, *(k for k in kpis if k not in first)]]
    required = kpis.get("required_visits", 0.0)
    share = kpis.get("planned_visits", 0.0) / required if required else 1.0
    print(f"{args.solver}: {share:.1%} of required visits planned -> {args.out}")
    print(_table([("kpi", "value"), *rows]))
    by_reason: dict[str, int] = {}
    for u in plan.unassigned:
        by_reason[u.reason] = by_reason.get(u.reason, 0) + u.missing_visits
    if by_reason:
        print()
        print(
            _table(
                [
                    ("unassigned reason", "visits"),
                    *sorted((r, str(n)) for r, n in by_reason.items()),
                ]
            )
        )
    print()
    if report.ok:
        print("checker: OK, no violations (校验通过)")
        return 0
    print(f"checker: {len(report.violations)} violation(s); run `dispatch check` for the list")
    return 1


class _Report(NamedTuple):
    stage: str
    fraction: float
    message: str


# --- dispatch generate --------------------------------------------------------------------------


def _register_generate(sub: Subparsers) -> None:
    # The generator owns its options; every word after "generate" goes to it untouched (a
    # prefix character no option uses keeps argparse from reading them here).
    p = sub.add_parser(
        "generate",
        help="write a demo district scenario (生成演示辖区)",
        description="dispatch generate --households H --stations S [--seed N] --out FILE",
        add_help=False,
        prefix_chars="\x00",
    )
    p.add_argument("words", nargs="*", help="the generator's options (see generate --help)")
    p.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from dispatch.generate import generate_main

    try:
        return int(generate_main(list(args.words)) or 0)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2


# --- dispatch visits -----------------------------------------------------------------------------


def _register_visits(sub: Subparsers) -> None:
    p = sub.add_parser(
        "visits",
        help="print the visiting ledger and monthly visit rate (探访台账, 月探访率)",
        description="The visiting programme's ledger of a scenario and its plans: per "
        "household its class, last visit, by whom, next due date and overdue days; the month's "
        "visit rate per station, street and district, and why each miss happened.",
    )
    p.add_argument("scenario", help="scenario file (format 1)")
    p.add_argument("plans", nargs="+", help="plan files, one per week or of several weeks")
    p.add_argument("--on", help="the ledger's date, YYYY-MM-DD (default: the plans' last day)")
    p.add_argument("--month", help="the month of the rate, YYYY-MM (default: that of --on)")
    p.add_argument("--rules", help="the locality's visiting rules (default: the bundled ones)")
    p.add_argument("--json", action="store_true", help="print the ledger as JSON")
    p.set_defaults(handler=_visits)


def _visits(args: argparse.Namespace) -> int:
    import datetime as dt

    from dispatch.programmes.visiting import format_ledger, ledger_from_files, ledger_to_dict

    try:
        on = dt.date.fromisoformat(args.on) if args.on else None
    except ValueError:
        raise ValueError(f"--on: expected YYYY-MM-DD, got {args.on!r}") from None
    try:
        month = dt.date.fromisoformat(args.month + "-01") if args.month else None
    except ValueError:
        raise ValueError(f"--month: expected YYYY-MM, got {args.month!r}") from None
    ledger = ledger_from_files(args.scenario, args.plans, on, args.rules)
    if args.json:
        print(json.dumps(ledger_to_dict(ledger, month=month), ensure_ascii=False, indent=2))
    else:
        print(format_ledger(ledger, month=month))
    return 0


# --- dispatch geocode ---------------------------------------------------------------------------


def _register_geocode(sub: Subparsers) -> None:
    p = sub.add_parser(
        "geocode",
        help="fill in the points of a scenario's addresses (地址解析)",
        description="Geocode the stations and households of SCENARIO that have an address and "
        "no lat/lon, and write the scenario with their WGS-84 points to --out. Failed and "
        "flagged addresses (low confidence, only a district or road, several places) are "
        "printed. Exit 0 when written; 1 when nothing is written (a failure, or flagged points "
        "without --accept-flagged); 2 on bad input. See docs/geocoding.md.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument("--out", type=Path, required=True, help="scenario JSON file to write")
    p.add_argument(
        "--geocoder", help="baidu, nominatim, amap or file:PATH (default: $DISPATCH_GEOCODER)"
    )
    p.add_argument("--key", help="API key of baidu or amap (default: $DISPATCH_GEOCODER_KEY)")
    p.add_argument(
        "--cache",
        help="SQLite file of remembered answers (default: $DISPATCH_GEOCODE_CACHE, else "
        "var/geocode-cache.sqlite3)",
    )
    p.add_argument("--accept-flagged", action="store_true", help="write flagged points too")
    p.set_defaults(handler=_geocode)


def _geocode(args: argparse.Namespace) -> int:
    import os

    from dispatch.geocode import (
        GEOCODER_HOWTO,
        geocoder_from_config,
        locate_all,
        places_to_geocode,
        with_points,
    )

    document = json.loads(args.scenario.read_text(encoding="utf-8"))
    places = places_to_geocode(document)
    lookups = []
    if places:
        name = args.geocoder or os.environ.get("DISPATCH_GEOCODER")
        if not name:
            raise ValueError(
                "未配置地址解析服务 / no geocoder: pass --geocoder NAME [--key KEY] or set "
                + GEOCODER_HOWTO
            )
        key = args.key or os.environ.get("DISPATCH_GEOCODER_KEY")
        cache = args.cache or os.environ.get("DISPATCH_GEOCODE_CACHE", "var/geocode-cache.sqlite3")
        lookups = locate_all(geocoder_from_config(name, key, cache), [p.address for p in places])
    failed = sum(lookup.point is None for lookup in lookups)
    flagged = sum(lookup.flagged for lookup in lookups)
    for place, lookup in zip(places, lookups, strict=True):
        if lookup.point is None or lookup.flagged:
            kind = "失败 / failed" if lookup.point is None else "待确认 / flagged"
            print(f"{place.path} ({place.id}) {kind}: {lookup.explain()}")
    summary = (
        f"{len(places)} 条地址：解析 {len(places) - failed - flagged}，待确认 {flagged}，失败 "
        f"{failed} / {len(places)} address(es): {len(places) - failed - flagged} geocoded, "
        f"{flagged} flagged, {failed} failed"
    )
    if failed or (flagged and not args.accept_flagged):
        hint = "" if failed else "; --accept-flagged keeps the flagged points / 加此选项接受"
        print(f"{summary}; 未写出文件 / nothing written{hint}")
        return 1
    filled = with_points(document, places, lookups, accept_flagged=args.accept_flagged)
    args.out.write_text(json.dumps(filled, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{summary}; 已写出 / written to {args.out}")
    return 0


# --- engine options (shared by the commands that solve in parallel) ------------------------------


def add_engine_arguments(
    parser: argparse.ArgumentParser, *, default: str | None = "local", extra: str = ""
) -> None:
    """Add ``--engine local|ray``, ``--workers N`` and ``--address ADDR`` to ``parser``; read
    them back with :func:`engine_settings`. ``default`` ``None`` leaves ``--engine`` unset
    when it is not given (a command that works without an engine too); ``extra`` ends its
    help."""
    group = parser.add_argument_group("engine (计算引擎)")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=default,
        help="local: a pool of processes on this machine; ray: a Ray cluster, started here "
        "or joined with --address (needs the ray extra)"
        + (f" (default {default})" if default else "")
        + extra,
    )
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        help="solves at once: processes (local) or CPUs of the local Ray cluster "
        "(default: this machine's CPUs)",
    )
    group.add_argument(
        "--address",
        default=None,
        help="join the Ray cluster at this address (e.g. ray://head:10001 or auto) instead "
        "of starting one; --engine ray only",
    )


def engine_settings(args: argparse.Namespace) -> EngineSettings:
    """The :class:`dispatch.engines.EngineSettings` of the options :func:`add_engine_arguments`
    added. Raises ``ValueError`` naming the option of a mistake (``--workers: ...``)."""
    from dispatch.engines import EngineSettings

    try:
        return EngineSettings(args.engine or "local", workers=args.workers, address=args.address)
    except ValueError as exc:
        raise ValueError(f"--{exc}") from None


# --- dispatch batch -----------------------------------------------------------------------------


def _register_batch(sub: Subparsers) -> None:
    p = sub.add_parser(
        "batch",
        help="solve what-if variants of a scenario in parallel and compare them (批量假设分析)",
        description="Solve every variant of SCENARIO that --variants lists (docs/batches.md; "
        "example: data/demo/variants.json) with the weekly planner, in parallel on an engine, "
        "check each plan and print one comparison table, each figure beside the baseline's. "
        "Writes DIR/comparison.csv, DIR/comparison.xlsx, DIR/plans/<variant>.json and "
        "DIR/variants.json. Exit 0 when every variant has a clean plan, 1 when one failed or "
        "its plan has violations, 2 on bad input.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument(
        "--variants",
        type=Path,
        required=True,
        metavar="FILE",
        help="variants document (JSON, format 1)",
    )
    p.add_argument(
        "--time-limit", type=float, default=10.0, help="seconds per variant (default 10)"
    )
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument(
        "--solver",
        choices=("ours", "greedy"),
        default="ours",
        help="ours: the weekly planner; greedy: the by-hand baseline (default ours)",
    )
    add_engine_arguments(p)
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the batch's files"
    )
    p.set_defaults(handler=_batch)


def _batch(args: argparse.Namespace) -> int:
    from dispatch.batch import BatchError, parse_variants, run_batch, write_batch
    from dispatch.scenario_io import load_scenario

    if args.time_limit <= 0:
        raise ValueError(f"--time-limit: must be positive, got {args.time_limit}")
    settings = engine_settings(args)
    try:
        doc = json.loads(args.variants.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.variants}: not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        specs, cost = parse_variants(doc)
    except BatchError as exc:
        raise ValueError(f"{args.variants}: {exc}") from None
    parsed = load_scenario(args.scenario)
    for w in parsed.warnings:
        print(f"warning: {args.scenario}: {w}", file=sys.stderr)
    scenario = parsed.scenario
    bar = ProgressBar(sys.stderr)
    progress = _BatchProgress(bar, len(specs))
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
            on_report=progress.report,
            on_outcome=progress.outcome,
        )
    finally:
        bar.close()
    about = {
        "scenario": scenario.name,
        "scenario_file": str(args.scenario),
        "solver": args.solver,
        "time_limit": args.time_limit,
        "seed": args.seed,
        "engine": settings.kind,
        "workers": settings.size,
        "staff_cost": asdict(cost),
    }
    write_batch(outcomes, args.out, about=about)
    budget = "" if args.solver == "greedy" else f" {args.time_limit:g} s each"
    print(
        f"{len(outcomes)} variants of {scenario.name!r}, {args.solver}{budget}, "
        f"{settings.kind} engine, {settings.size} at once "
        f"({time.monotonic() - bar.started:.0f} s) -> {args.out}"
    )
    print(comparison_table([o.row for o in outcomes]))
    print(
        "planned: share of required visits; cg/request: distinct caregivers per request; "
        "utilisation: mean; outside 15': households over 15 minutes from their station"
    )
    print(
        f"cost: staff a week at {cost.yuan_per_month:g} yuan a month per caregiver, overtime "
        f"×{cost.overtime_factor:g} (staff_cost in the variants file); files: comparison.csv, "
        "comparison.xlsx, plans/, variants.json"
    )
    status = 0
    for o in outcomes:
        if o.plan is None:
            status = 1
            what = o.error or "cancelled"
            print(f"{o.row['status']}: {o.variant.name}: {what} (runs: {o.attempts})")
        elif o.row.get("violations"):
            status = 1
            print(f"checker: {o.variant.name}: {o.row['violations']} violation(s)")
    if status == 0:
        print("checker: OK, every variant's plan has no violations (校验通过)")
    return status


class _BatchProgress:
    """A batch's progress on a :class:`ProgressBar`: variants done and running, the share of
    the whole (each running variant by its planner's fraction). Off a terminal only starts
    and ends are drawn, one line each."""

    def __init__(self, bar: ProgressBar, total: int) -> None:
        self.bar = bar
        self.total = max(1, total)
        self.running: dict[str, float] = {}
        self.done = 0
        self.failed = 0

    def report(self, name: str, value: Mapping[str, Any]) -> None:
        if value.get("started"):
            self.running[name] = 0.0
            self._draw(f"{name} started")
        elif "fraction" in value and name in self.running:
            self.running[name] = float(value["fraction"])
            if self.bar.live:
                self._draw(name)

    def outcome(self, outcome: VariantOutcome) -> None:
        name = outcome.variant.name
        self.running.pop(name, None)
        self.done += 1
        self.failed += outcome.plan is None
        self._draw(f"{name} {'failed' if outcome.plan is None else 'done'}")

    def _draw(self, last: str) -> None:
        fraction = (self.done + sum(self.running.values())) / self.total
        failed = f", {self.failed} failed" if self.failed else ""
        message = f"{self.done}/{self.total} done, {len(self.running)} running{failed} ({last})"
        self.bar(_Report("batch", fraction, message))


#: The comparison table's printed columns: row key, header, decimals (0: a whole number) and
#: whether the difference to the reference is shown.
_PRINTED: tuple[tuple[str, str, int, bool], ...] = (
    ("caregivers", "staff", 0, True),
    ("planned_share", "planned", 3, True),
    ("travel_minutes", "travel min", 0, True),
    ("overtime_minutes", "overtime min", 0, True),
    ("distinct_caregivers_per_request", "cg/request", 2, True),
    ("utilisation_mean", "utilisation", 3, True),
    ("households_outside_15min", "outside 15'", 0, True),
    ("staff_cost_yuan", "cost ¥/week", 0, True),
    ("violations", "violations", 0, False),
)


def comparison_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison table as text: one line per variant, the baseline (else the first
    variant with a plan) first, every other figure with its difference to it
    (``0.981 (+0.012)``); unassigned visits only for the reasons that occur."""
    reference = next(
        (r for r in rows if r.get("variant") == "baseline" and r["status"] == "done"), None
    ) or next((r for r in rows if r.get("status") == "done"), None)
    ordered = [reference] if reference is not None else []
    ordered += [r for r in rows if r is not reference]
    reasons = [
        key
        for key in dict.fromkeys(k for r in rows for k in r if k.startswith("unassigned_"))
        if any(r.get(key) for r in rows)
    ]
    columns = [
        *_PRINTED[:2],
        *((key, "unassigned " + key.removeprefix("unassigned_"), 0, True) for key in reasons),
        *_PRINTED[2:],
    ]
    table: list[tuple[str, ...]] = [("variant", "status", *(c[1] for c in columns))]
    for row in ordered:
        cells = [str(row["variant"]), str(row["status"])]
        for key, _, decimals, compared in columns:
            value = row.get(key)
            if value is None:
                cells.append("-")
                continue
            text = f"{value:.{decimals}f}" if decimals else f"{round(value)}"
            base = reference.get(key) if reference is not None and row is not reference else None
            if base is not None and compared:
                d = value - base
                text += f" ({d:+.{decimals}f})" if decimals else f" ({round(d):+d})"
            cells.append(text)
        table.append(tuple(cells))
    return _table(table)


# --- dispatch compare-travel ------------------------------------------------------------------


def _register_compare_travel(sub: Subparsers) -> None:
    p = sub.add_parser(
        "compare-travel",
        help="straight-line minutes against road minutes (直线与路网时间对比)",
        description="For every pair of SCENARIO's places (a seeded sample of households in a "
        "large one), compare the contract's straight-line minutes with a road provider's, per "
        "travel mode: ratios (median, 90th percentile, worst), the circuity the roads imply and "
        "the pairs that differ most. The provider is the scenario's own unless --provider "
        "names another. Exit 0, or 2 on bad input or a server that fails.",
    )
    p.add_argument("scenario", type=Path, help="scenario JSON file (format 1)")
    p.add_argument(
        "--provider",
        choices=["matrix", "osrm", "valhalla", "valhalla_local"],
        help="the road provider (default: the scenario's travel.provider)",
    )
    p.add_argument("--matrix", help="matrix provider: the table file")
    p.add_argument("--url", help="osrm/valhalla: the server's base URL")
    p.add_argument("--config", help="valhalla_local: the Valhalla configuration file")
    p.add_argument("--max-table-size", type=int, help="largest table one request asks for")
    p.add_argument("--timeout", type=float, help="seconds a server request may take")
    p.add_argument(
        "--households",
        type=int,
        default=2000,
        help="compare at most this many households, a seeded sample (default 2000)",
    )
    p.add_argument("--worst", type=int, default=5, help="worst pairs listed per mode (default 5)")
    p.add_argument("--cache", help="road matrix cache folder (default $DISPATCH_TRAVEL_CACHE)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(handler=_compare_travel)


def _compare_travel(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from dispatch.compare_travel import compare_travel, comparison_dicts, format_comparison
    from dispatch.scenario_io import load_scenario
    from dispatch.scenario_parse import PROVIDER_NEEDS

    if args.households < 1:
        raise ValueError(f"--households: must be at least 1, got {args.households}")
    parsed = load_scenario(args.scenario)
    scenario = parsed.scenario
    settings = scenario.travel
    if args.provider is not None:
        given = {
            "matrix": args.matrix,
            "url": args.url,
            "config": args.config,
            "max_table_size": args.max_table_size,
            "timeout": args.timeout,
        }
        needed = PROVIDER_NEEDS[args.provider]
        if given[needed] is None:
            raise ValueError(f"--{needed}: provider {args.provider} needs it")
        settings = replace(
            settings,
            provider=args.provider,
            base_dir=str(Path.cwd()),
            **{k: v for k, v in given.items() if v is not None},
        )
    rows = compare_travel(
        scenario, settings, households=args.households, worst=args.worst, cache_dir=args.cache
    )
    if args.json:
        print(json.dumps(comparison_dicts(rows), ensure_ascii=False, indent=2))
    else:
        print(format_comparison(rows))
    return 0


# --- the parser ---------------------------------------------------------------------------------

#: Every subcommand's register function, in the order ``--help`` lists them.
COMMANDS: list[Register] = [
    _register_check,
    _register_route,
    _register_plan,
    _register_batch,
    _register_generate,
    _register_visits,
    _register_compare_travel,
    _register_geocode,
]


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
    from dispatch.engines import EngineUnavailable

    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        print("dispatch: error: a command is required", file=sys.stderr)
        return 2
    try:
        return handler(args)
    # Bad files (ScenarioError, PlanError, BatchError, missing paths), an engine not installed.
    except (OSError, ValueError, EngineUnavailable) as exc:
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
