"""The visiting programme (探访关爱) on the demo district: four weeks planned with the visits
due (:func:`dispatch.programmes.visiting.plan_visiting_weeks`) and the bundled rule table, every
week's plan through the independent checker, then the monthly visit rate (月探访率) per station
and for the district, and the misses with their reasons.

Examples::

    python -m benchmarks.visiting_demo                    # greedy planner, from the demo's week
    python -m benchmarks.visiting_demo --weeks 4 --first-monday 2026-11-30
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dispatch.checker import check_plan
from dispatch.greedy import plan_greedy
from dispatch.programmes.visiting import default_visiting, month_rate, plan_visiting_weeks
from dispatch.scenario_io import load_scenario

__all__ = ["DEMO", "main"]

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / "district.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Plan the demo's weeks with the visits and print the rates; 1 when a plan breaks a rule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEMO)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--first-monday", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario).scenario
    first = args.first_monday or dt.date.fromisoformat(scenario.week_start or "")
    rules = default_visiting()
    started = time.perf_counter()
    run = plan_visiting_weeks(scenario, rules, first, args.weeks, plan=plan_greedy)
    seconds = time.perf_counter() - started
    broken = sum(
        len(check_plan(week, plan).violations)
        for week, plan in zip(run.scenarios, run.plans, strict=True)
    )
    classes = Counter(e.risk_class.id for e in run.ledger.entries)
    visits = sum(len(e.visits) for e in run.ledger.entries)
    print(f"{scenario.name}: {args.weeks} weeks from {first}, greedy, {seconds:.1f} s")
    print(f"programme households by class: {dict(sorted(classes.items()))}; visits {visits}")
    print(f"checker violations: {broken}")
    months = sorted({m.replace(day=1) for m in run.mondays})
    for month in months:
        rate = month_rate(run.ledger, month)
        print(f"\n月探访率 monthly visit rate {month:%Y-%m} (ledger at {run.ledger.on})")
        for station, r in rate.stations.items():
            print(f"  {station:<8} {100 * r.rate:6.1f} %  ({r.met}/{r.households})")
        d = rate.district
        print(f"  {'district':<8} {100 * d.rate:6.1f} %  ({d.met}/{d.households})")
        reasons = Counter(m.reason for m in rate.misses)
        print(f"  misses: {len(rate.misses)} {dict(sorted(reasons.items()))}")
        for m in rate.misses[:5]:
            print(f"    {m.household} {m.start}–{m.end}: {m.text()}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
