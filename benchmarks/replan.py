"""Re-plan benchmark: a station's day routed again in a short time against a long one.

A dispatcher re-plans one station's day (a caregiver is ill, a visit moved) and waits for the
answer; the router should be near its best within its first seconds. For every station-day of
the week (default: the bundled demo district's greedy week, the plan a station starts from),
the day's visits of that station's caregivers are routed again by
:func:`dispatch.daily.route_day` on the station's caregivers alone (their minutes on the other
days counting against their weekly caps), once for ``--short`` seconds and once for ``--long``,
with the same seed. Both go through the checker as part of the week: the greedy week with
the station's routes of that day replaced.

Per station-day: visits, planned visits and travel minutes of each run, and the short run's
gap to the long one: ``(travel_short - travel_long) / travel_long`` when both plan the same
visits; a short run that plans fewer visits counts as missed (its gap is not a number). The
summary gives the median gap over the station-days (bar: within 1 %), how many missed, and
the violations (bar: none). Station-days with fewer than ``--min-visits`` visits are left
out (nothing to search).

Examples::

    python -m benchmarks.replan                                  # every station-day, 2 s / 30 s
    python -m benchmarks.replan --days mon,tue --long 10 --csv out/replan.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.common import REPO_ROOT, format_table, warm_up_router
from dispatch.checker import check_plan
from dispatch.daily import DayVisit, route_day
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario
from dispatch.operations.versions import minutes_elsewhere
from dispatch.scenario_io import parse_scenario
from solver.problem import SolveParams

DEMO = REPO_ROOT / "data" / "demo" / "district.json"
#: The short run's median gap to the long one that the bar allows, in per cent.
BAR_GAP_PCT = 1.0


@dataclass(frozen=True)
class StationDay:
    """One station-day's two runs: visits asked, planned and travel minutes of each."""

    station: str
    day: str
    visits: int
    short_planned: int
    long_planned: int
    short_travel: float
    long_travel: float
    violations: int

    @property
    def gap_pct(self) -> float:
        """The short run's travel gap to the long one (NaN when it plans fewer visits)."""
        if self.short_planned < self.long_planned:
            return math.nan
        if self.long_travel <= 0:
            return 0.0
        return 100.0 * (self.short_travel - self.long_travel) / self.long_travel


def station_days(scenario: Scenario, week: Plan) -> list[tuple[str, str, list[DayVisit]]]:
    """Every (station, day, visits) of ``week``: the stops of the station's caregivers' routes
    that day, in the week's order."""
    station_of = {c.id: c.station for c in scenario.caregivers}
    out = []
    for station in scenario.stations:
        for day in scenario.days:
            visits = [
                DayVisit(s.request, s.household)
                for r in week.routes
                if r.day == day and station_of.get(r.caregiver) == station.id
                for s in r.stops
            ]
            out.append((station.id, day, visits))
    return out


def replan(
    scenario: Scenario,
    week: Plan,
    station: str,
    day: str,
    visits: Sequence[DayVisit],
    seconds: float,
    seed: int,
    *,
    known: int = 0,
) -> tuple[Plan, int]:
    """``visits`` routed again on ``station``'s caregivers for ``seconds``: the day's plan,
    and the checker's violations of the week with the station's routes of ``day`` replaced
    by it, beyond the ``known`` ones of ``week`` itself."""
    crew = tuple(c for c in scenario.caregivers if c.station == station)
    ids = {c.id for c in crew}
    plan = route_day(
        replace(scenario, caregivers=crew),
        day,
        visits=visits,
        params=SolveParams(time_limit=seconds, seed=seed),
        minutes_used=minutes_elsewhere(week, day),
    )
    kept = tuple(r for r in week.routes if not (r.day == day and r.caregiver in ids))
    merged = replace(
        week,
        routes=kept + plan.routes,
        unassigned=week.unassigned + plan.unassigned,
    )
    return plan, max(0, len(check_plan(scenario, merged).violations) - known)


def run(
    scenario: Scenario,
    *,
    short: float,
    long: float,
    seed: int,
    days: Sequence[str] | None,
    min_visits: int,
    progress: bool = True,
) -> list[StationDay]:
    """Every station-day of ``scenario``'s greedy week with at least ``min_visits`` visits
    (on ``days`` when given), routed again for ``short`` and ``long`` seconds."""
    week = plan_greedy(scenario)
    known = len(check_plan(scenario, week).violations)
    rows = []
    for station, day, visits in station_days(scenario, week):
        if len(visits) < min_visits or (days and day not in days):
            continue
        quick, bad_quick = replan(scenario, week, station, day, visits, short, seed, known=known)
        best, bad_best = replan(scenario, week, station, day, visits, long, seed, known=known)
        row = StationDay(
            station,
            day,
            len(visits),
            int(quick.kpis["planned_visits"]),
            int(best.kpis["planned_visits"]),
            float(quick.kpis["travel_minutes"]),
            float(best.kpis["travel_minutes"]),
            bad_quick + bad_best,
        )
        rows.append(row)
        if progress:
            print(
                f"  {station} {day}: {len(visits)} visits, {short:g} s {row.short_travel:.0f} "
                f"min / {long:g} s {row.long_travel:.0f} min, gap {row.gap_pct:.2f} %",
                flush=True,
            )
    return rows


def summary(rows: Sequence[StationDay]) -> tuple[float, int, int]:
    """The median gap over the station-days (a missed one counts as worse than any), how
    many missed, and the violations."""
    gaps = [math.inf if math.isnan(r.gap_pct) else r.gap_pct for r in rows]
    median = statistics.median(gaps) if gaps else 0.0
    missed = sum(1 for r in rows if math.isnan(r.gap_pct))
    return median, missed, sum(r.violations for r in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a bar is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replan", description=__doc__)
    parser.add_argument("scenario", nargs="?", default=str(DEMO), help="default: the demo")
    parser.add_argument("--short", type=float, default=2.0, help="seconds (default 2)")
    parser.add_argument("--long", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", default=None, help="e.g. mon,tue (default every day)")
    parser.add_argument("--min-visits", type=int, default=2, help="default 2")
    parser.add_argument("--csv", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.short <= 0 or args.long <= 0:
        parser.error("--short and --long: seconds above 0")
    scenario = parse_scenario(json.loads(Path(args.scenario).read_text(encoding="utf-8"))).scenario
    days = [d.strip() for d in args.days.split(",")] if args.days else None
    warm_up_router()
    began = time.perf_counter()
    print(f"{scenario.name}: station-days routed again, {args.short:g} s against {args.long:g} s")
    rows = run(
        scenario,
        short=args.short,
        long=args.long,
        seed=args.seed,
        days=days,
        min_visits=args.min_visits,
    )
    header = ["station", "day", "visits", "planned short", "planned long", "travel short"]
    header += ["travel long", "gap %", "violations"]
    table = [
        [
            r.station,
            r.day,
            str(r.visits),
            str(r.short_planned),
            str(r.long_planned),
            f"{r.short_travel:.0f}",
            f"{r.long_travel:.0f}",
            "missed" if math.isnan(r.gap_pct) else f"{r.gap_pct:.2f}",
            str(r.violations),
        ]
        for r in rows
    ]
    print(format_table(header, table))
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(table)
    median, missed, violations = summary(rows)
    print(
        f"\n{len(rows)} station-days in {time.perf_counter() - began:.0f} s: median gap "
        f"{median:.2f} % (bar {BAR_GAP_PCT:g} %), {missed} planned fewer visits in "
        f"{args.short:g} s, {violations} violation(s)"
    )
    met = median <= BAR_GAP_PCT and violations == 0
    print("bar met" if met else "bar missed")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
