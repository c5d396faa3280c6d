"""The 15-minute circle before and after opening ``k`` stations, and the week compared.

Loads a scenario, lists how many households are outside the circle, chooses ``k`` new sites
among the households' positions (:func:`dispatch.programmes.siting.choose_sites`), moves the
``--move`` caregivers nearest to each site there, and plans the week without and with them
(greedy baseline by default, or the weekly planner with ``--seconds``). Both plans pass the
checker or the run stops.

Examples::

    python -m benchmarks.circle_demo
    python -m benchmarks.circle_demo --scenario data/demo/district.json --k 2 --move 3
    python -m benchmarks.circle_demo --planner weekly --seconds 20
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from benchmarks.common import format_table
from dispatch.programmes.siting import WeekFigures, compare_siting
from dispatch.scenario_io import load_scenario


def _row(label: str, side: WeekFigures) -> list[str]:
    return [
        label,
        str(side.households_outside),
        f"{side.share_inside:.1%}",
        str(side.travel_minutes),
        f"{side.planned_share:.1%}",
        str(side.unassigned_visits),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.circle_demo", description=__doc__)
    parser.add_argument("--scenario", default="data/demo/district.json")
    parser.add_argument("--k", type=int, default=2, help="new sites to open (2)")
    parser.add_argument("--minutes", type=int, default=15, help="the circle's minutes (15)")
    parser.add_argument("--move", type=int, default=3, help="caregivers moved to each site (3)")
    parser.add_argument("--planner", choices=("greedy", "weekly"), default="greedy")
    parser.add_argument("--seconds", type=float, default=10.0, help="weekly planner time (10)")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario).scenario
    t0 = time.perf_counter()
    result = compare_siting(
        scenario,
        args.k,
        limit=args.minutes,
        move_caregivers=args.move,
        planner=args.planner,
        seconds=args.seconds,
    )
    elapsed = time.perf_counter() - t0
    s = result.siting
    print(f"scenario {scenario.name}: {s.households} households, {len(scenario.stations)} stations")
    print(
        f"siting ({s.mode}, {s.limit} min, {'optimal' if s.optimal else 'not proved optimal'}): "
        f"outside {len(s.outside_before)} -> {len(s.outside_after)}, "
        f"inside {s.share_before:.1%} -> {s.share_after:.1%}, "
        f"need weight inside {s.weight_before} -> {s.weight_after} of {s.total_weight}"
    )
    for site in s.sites:
        print(f"  {site.id} {site.name} at {site.lat:.6f}, {site.lon:.6f}")
    print(f"caregivers moved: {result.moved_caregivers}; planner {args.planner}")
    headers = ["week", "outside", "inside", "travel min", "planned", "unassigned visits"]
    print(format_table(headers, [_row("before", result.before), _row("after", result.after)]))
    print(f"time {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
