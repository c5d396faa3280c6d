"""Tight times of one route: earliest service starts, latest leave, and the rest's place.

A route of vehicle ``k`` is ``leave -> visits... -> back``. Gaps are numbered by the visit they
precede: gap ``i`` lies before visit ``i`` and gap ``n`` between the last visit and ``back``. A
rest lies in one gap (whose length must hold travel + rest), before leaving (``rest_gap=-1``)
or after coming back (``rest_gap=n+1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from solver.problem import RoutingProblem

__all__ = ["RouteTimes", "earliest_start", "schedule_route"]


@dataclass(frozen=True)
class RouteTimes:
    """Times of a route (``feasible`` is False when windows, shift or rest cannot hold)."""

    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    leave: int
    back: int
    rest_start: int | None
    feasible: bool


def earliest_start(windows: Sequence[tuple[int, int]], ready: int) -> int | None:
    """Earliest start of service at or after ``ready`` inside one of ``windows`` (or None)."""
    for first, last in windows:
        if ready <= last:
            return max(ready, first)
    return None


def schedule_route(
    problem: RoutingProblem,
    vehicle: int,
    seq: Sequence[int],
    *,
    rest_gap: int | None = None,
    fixed: Mapping[int, int] | None = None,
) -> RouteTimes:
    """Earliest starts along ``seq`` for ``vehicle``, then the latest leave keeping them.

    ``rest_gap`` places the vehicle's rest (ignored when the vehicle has none; ``None`` with a
    rest means: choose the first gap that holds it). ``fixed`` maps visits to the start they
    must keep (a synchronised visit's); being late for one is infeasible. Times are in the
    problem's unit.
    """
    spec = problem.vehicles[vehicle]
    matrix = problem.matrices[spec.profile]
    rest = spec.rest
    n = len(seq)
    locs = [spec.start_location, *(problem.visits[i].location for i in seq), spec.end_location]
    travel = [int(matrix[a, b]) for a, b in pairwise(locs)]
    if rest is None:
        return _forward(problem, vehicle, seq, travel, None, fixed)
    if rest_gap is not None:
        return _forward(problem, vehicle, seq, travel, rest_gap, fixed)
    best: RouteTimes | None = None
    for gap in range(-1, n + 2):
        times = _forward(problem, vehicle, seq, travel, gap, fixed)
        if times.feasible and (best is None or times.back - times.leave < best.back - best.leave):
            best = times
    return best if best is not None else _forward(problem, vehicle, seq, travel, n + 1, fixed)


def _forward(
    problem: RoutingProblem,
    vehicle: int,
    seq: Sequence[int],
    travel: list[int],
    rest_gap: int | None,
    fixed: Mapping[int, int] | None = None,
) -> RouteTimes:
    spec = problem.vehicles[vehicle]
    rest = spec.rest
    n = len(seq)
    ok = True
    rest_start: int | None = None
    t = spec.shift_start
    if rest is not None and rest_gap == -1:
        rest_start = rest.earliest
        t = max(t, rest.earliest + rest.duration)
    leave_forward = t
    arrivals: list[int] = []
    starts: list[int] = []
    back = t
    for gap in range(n + 1):
        ready = t + travel[gap]
        if rest is not None and rest_gap == gap:
            # The rest may split the travel: the gap holds travel + rest, and the rest lies
            # inside the gap (it ends by the next start).
            rest_start = max(t, rest.earliest)
            ready = max(ready + rest.duration, rest_start + rest.duration)
        if gap == n:
            back = ready
            break
        visit = problem.visits[seq[gap]]
        if fixed is not None and seq[gap] in fixed:
            at = fixed[seq[gap]]
            inside = any(a <= at <= b for a, b in visit.windows)
            start = at if ready <= at and inside else None
        else:
            start = earliest_start(visit.windows, ready)
        if start is None:
            ok = False
            start = ready
        arrivals.append(t + travel[gap])
        starts.append(start)
        t = start + visit.duration
    if rest is not None and rest_gap is not None and rest_gap > n:
        rest_start = max(back, rest.earliest)

    # Leave as late as the first start allows, so waiting at the station is not working time.
    leave = leave_forward
    if n:
        leave = starts[0] - travel[0]
        if rest is not None and rest_gap == 0:
            latest_rest = rest.latest_end - rest.duration
            leave = min(leave - rest.duration, latest_rest)
            rest_start = max(leave, rest.earliest)
        arrivals[0] = leave + travel[0]
        if rest is not None and rest_gap == -1:
            rest_start = min(rest.latest_end, leave) - rest.duration
    if rest is not None and rest_start is not None:
        ok = ok and rest.earliest <= rest_start <= rest.latest_end - rest.duration
    ok = ok and spec.shift_start <= leave and back <= spec.shift_end
    if spec.max_duration is not None:
        ok = ok and back - leave <= spec.max_duration
    return RouteTimes(
        arrivals=tuple(arrivals),
        starts=tuple(starts),
        leave=leave,
        back=back,
        rest_start=rest_start if rest is not None else None,
        feasible=ok,
    )
