"""Tight times of one route: earliest service starts, latest leave, and the rest's place.

A route of vehicle ``k`` is ``leave -> visits... -> back``. Gaps are numbered by the visit they
precede: gap ``i`` lies before visit ``i`` and gap ``n`` between the last visit and ``back``. A
rest lies in one gap (whose length must hold travel + rest), before leaving (``rest_gap=-1``)
or after coming back (``rest_gap=n+1``).

:func:`time_route` times plain sequences; :func:`schedule_route` a problem's route;
:func:`times_from_starts` a route whose starts a search fixed (the rest in the gap it chose,
found by :func:`rest_gap_at`). Everything in Python that times a route goes through here; the
compiled searches keep fast twins, held to it by differential tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from solver.problem import BreakSpec, RoutingProblem

__all__ = [
    "BEFORE",
    "RouteTimes",
    "Shift",
    "earliest_start",
    "rest_gap_at",
    "schedule_route",
    "time_route",
    "times_from_starts",
]

#: The gap of a rest taken before leaving.
BEFORE = -1


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


@dataclass(frozen=True)
class Shift:
    """What bounds one route's times: the shift, an optional rest and a longest duration."""

    start: int
    end: int
    rest: BreakSpec | None = None
    max_duration: int | None = None


def time_route(
    legs: Sequence[int],
    windows: Sequence[Sequence[tuple[int, int]]],
    durations: Sequence[int],
    shift: Shift,
    *,
    rest_gap: int | None = None,
    fixed: Mapping[int, int] | None = None,
) -> RouteTimes:
    """Time a route given as plain sequences: the one Python truth of route timing.

    ``legs`` has ``n + 1`` travel times (start -> first visit, ..., last visit -> end),
    ``windows[i]`` and ``durations[i]`` describe the ``i``-th visit. Visits start as early as
    their windows allow, then the route leaves as late as the first start allows. With a rest,
    ``rest_gap`` places it (``None``: the gap giving the shortest feasible route, else after
    coming back). ``fixed`` maps positions to the start they must keep (a synchronised
    visit's); being late for one is infeasible.
    """
    n = len(durations)
    if len(legs) != n + 1 or len(windows) != n:
        raise ValueError(f"legs: expected {n + 1} travel times and {n} windows")
    if shift.rest is None or rest_gap is not None:
        return _forward(legs, windows, durations, shift, rest_gap, fixed)
    best: RouteTimes | None = None
    for gap in range(-1, n + 2):
        times = _forward(legs, windows, durations, shift, gap, fixed)
        if times.feasible and (best is None or times.back - times.leave < best.back - best.leave):
            best = times
    return best if best is not None else _forward(legs, windows, durations, shift, n + 1, fixed)


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
    rest means: choose the gap giving the shortest feasible route). ``fixed`` maps visits to
    the start they must keep (a synchronised visit's); being late for one is infeasible. Times
    are in the problem's unit. See :func:`time_route`.
    """
    spec = problem.vehicles[vehicle]
    matrix = problem.matrices[spec.profile]
    locs = [spec.start_location, *(problem.visits[i].location for i in seq), spec.end_location]
    legs = [int(matrix[a, b]) for a, b in pairwise(locs)]
    shift = Shift(spec.shift_start, spec.shift_end, spec.rest, spec.max_duration)
    at = None
    if fixed is not None:
        at = {pos: fixed[i] for pos, i in enumerate(seq) if i in fixed}
    return time_route(
        legs,
        [problem.visits[i].windows for i in seq],
        [problem.visits[i].duration for i in seq],
        shift,
        rest_gap=None if spec.rest is None else rest_gap,
        fixed=at,
    )


def rest_gap_at(
    durations: Sequence[int],
    starts: Sequence[int],
    *,
    leave: int,
    back: int,
    rest_start: int,
    rest_duration: int,
) -> int:
    """The gap of a route whose rest starts at ``rest_start``, the visits at ``starts``:
    :data:`BEFORE` (``-1``) before leaving, ``n`` between the last visit and back, ``n + 1``
    after back, else the gap before the first visit that ends after the rest starts."""
    if rest_start + rest_duration <= leave:
        return BEFORE
    k = 0
    n = len(durations)
    while k < n and starts[k] + durations[k] <= rest_start:
        k += 1
    if k == n and rest_start >= back:
        return k + 1  # after coming back
    return k


def times_from_starts(
    problem: RoutingProblem,
    vehicle: int,
    seq: Sequence[int],
    starts: Sequence[int],
    *,
    leave: int,
    back: int,
    rest_start: int | None,
) -> RouteTimes:
    """Times of a route of ``vehicle`` whose service ``starts`` are given (a search's own, e.g.
    OR-Tools' on routes with synchronised visits), with the rest in the gap that ``leave``,
    ``back`` and ``rest_start`` put it in (the best gap when ``rest_start`` is ``None``).

    The route leaves as late and is back as early as those starts allow (see
    :func:`time_route`); ``feasible`` is False when a start cannot be kept.
    """
    rest = problem.vehicles[vehicle].rest
    gap = None
    if rest is not None and rest_start is not None:
        gap = rest_gap_at(
            [problem.visits[i].duration for i in seq],
            starts,
            leave=leave,
            back=back,
            rest_start=rest_start,
            rest_duration=rest.duration,
        )
    fixed = dict(zip(seq, starts, strict=True))
    return schedule_route(problem, vehicle, seq, rest_gap=gap, fixed=fixed)


def _forward(
    travel: Sequence[int],
    windows: Sequence[Sequence[tuple[int, int]]],
    durations: Sequence[int],
    spec: Shift,
    rest_gap: int | None,
    fixed: Mapping[int, int] | None = None,
) -> RouteTimes:
    rest = spec.rest
    n = len(durations)
    ok = True
    rest_start: int | None = None
    t = spec.start
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
        if fixed is not None and gap in fixed:
            at = fixed[gap]
            inside = any(a <= at <= b for a, b in windows[gap])
            start: int | None = at if ready <= at and inside else None
        else:
            start = earliest_start(windows[gap], ready)
        if start is None:
            ok = False
            start = ready
        arrivals.append(t + travel[gap])
        starts.append(start)
        t = start + durations[gap]
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
    ok = ok and spec.start <= leave and back <= spec.end
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
