"""What the router's compiled ruin-and-recreate searches share: numba decorators, constants, the
travel and vehicle tables, the neighbour lists and the driver (a first cold iteration, then the
cooling schedule).

:func:`jit` and :func:`inline` compile with numba (cached on disk) and leave plain Python where
numba is missing (:data:`HAVE_NUMBA` is then False and the searches say they support nothing).
A search exposes ``run(iterations, hot, cold, rng_seed)``, which runs that many compiled
iterations cooling exponentially from ``hot`` to ``cold``; :func:`cool` calls it in chunks so
that the temperature follows the budget: the share of ``iteration_limit`` done, or the share of
``time_limit`` elapsed (each chunk sized to take about 50 ms at the measured rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from solver.problem import RoutingProblem

__all__ = [
    "HAVE_NUMBA",
    "INF",
    "MANDATORY_WEIGHT",
    "anneal",
    "cool",
    "inline",
    "jit",
    "mandatory_penalty",
    "mean_arc",
    "nearest_visits",
    "travel_table",
    "vehicle_table",
]

Ints = npt.NDArray[np.int64]

#: A time or cost beyond every plan: "impossible" in the compiled searches' tables.
INF = 1 << 50
#: A dropped mandatory visit costs this many times the largest arc (four times over): never
#: worth it while a feasible insertion exists.
MANDATORY_WEIGHT = 1000

# Columns of the vehicle table (one row per vehicle; times in the problem's unit).
(
    VEH_START,  # start location
    VEH_END,  # end location
    VEH_SHIFT_START,
    VEH_SHIFT_END,  # the shift's end, or the end of the span bound where that comes first
    VEH_PROFILE,  # travel profile: the first index of the travel table
    VEH_CAPACITY,
    VEH_MAX_VISITS,
    VEH_REST_EARLIEST,  # the rest's earliest start
    VEH_REST_LATEST_END,  # the rest's latest end
    VEH_REST_DURATION,
    VEH_HAS_REST,  # 1 when the vehicle has a rest, else 0
) = range(11)

_njit: Any
try:  # numba is a declared dependency; without it the router keeps to OR-Tools.
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised only on installs without numba
    _njit = None

HAVE_NUMBA = _njit is not None

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(f: _F) -> _F:
    """Compile ``f`` with numba (cached on disk); plain Python without numba."""
    if _njit is None:  # pragma: no cover
        return f
    return cast(_F, _njit(cache=True, nogil=True)(f))


def inline(f: _F) -> _F:
    """Like :func:`jit`, inlined into its callers (no call or reference counts per use)."""
    if _njit is None:  # pragma: no cover
        return f
    return cast(_F, _njit(cache=True, nogil=True, inline="always")(f))


def travel_table(problem: RoutingProblem) -> Ints:
    """The travel matrices of ``problem`` as one array: ``travel[profile, from, to]``."""
    return np.ascontiguousarray(np.stack([np.asarray(m, dtype=np.int64) for m in problem.matrices]))


def mandatory_penalty(travel: Ints) -> int:
    """What leaving out a mandatory visit costs, from the largest arc of ``travel``."""
    return MANDATORY_WEIGHT * (int(travel.max(initial=1)) + 1) * 4


def vehicle_table(problem: RoutingProblem) -> Ints:
    """One row per vehicle, columns ``VEH_*``. Unbounded capacity and visit caps become more
    than the day holds; a span bound ends the shift early (the searches take it only where no
    visit can wait, so the span is the route's own length)."""
    visits = problem.visits
    nvis = len(visits)
    total_demand = sum(max(v.demand, 0) for v in visits)
    table = np.zeros((len(problem.vehicles), 11), dtype=np.int64)
    for k, spec in enumerate(problem.vehicles):
        shift_end = spec.shift_end
        if spec.max_duration is not None:
            shift_end = min(shift_end, spec.shift_start + spec.max_duration)
        rest = spec.rest
        table[k] = (
            spec.start_location,
            spec.end_location,
            spec.shift_start,
            shift_end,
            spec.profile,
            total_demand + 1 if spec.capacity is None else spec.capacity,
            nvis + 1 if spec.max_visits is None else spec.max_visits,
            0 if rest is None else rest.earliest,
            0 if rest is None else rest.latest_end,
            0 if rest is None else rest.duration,
            0 if rest is None else 1,
        )
    return table


def mean_arc(cost: float, route_lengths: Ints) -> float:
    """``cost`` per arc of routes of ``route_lengths`` visits (the temperature scale)."""
    arcs = int(route_lengths.sum()) + int((route_lengths > 0).sum())
    return cost / max(arcs, 1)


def nearest_visits(travel: npt.NDArray[np.int64], locations: npt.NDArray[np.int64], m: int) -> Any:
    """For each visit, the ``m`` other visits nearest to it by travel both ways (ties in visit
    order): the neighbour lists string removals take their strings from."""
    n = len(locations)
    m = min(n - 1, m)
    if m <= 0:
        return np.zeros((n, 0), dtype=np.int64)
    between = travel[np.ix_(locations, locations)]
    closeness = between + between.T
    np.fill_diagonal(closeness, -1)
    nearest = np.argsort(closeness, axis=1, kind="stable")[:, 1 : m + 1]
    return np.ascontiguousarray(nearest, dtype=np.int64)


def anneal(
    run: Callable[[int, float, float, int], None],
    scale: Callable[[], float],
    *,
    temperatures: tuple[float, float],
    time_limit: float,
    iteration_limit: int | None,
    seed: int,
    first_chunk: int,
    first_rate: float,
    min_chunk: int,
) -> int:
    """The searches' driver: one cold iteration (which inserts whatever is unplanned: the first
    solution), then :func:`cool` from the temperatures times ``scale()`` (asked after that
    first iteration: the mean arc of the first solution). Returns the iterations run."""
    run(1, 1e-9, 1e-9, seed)
    return 1 + cool(
        run,
        scale=scale(),
        temperatures=temperatures,
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=first_chunk,
        first_rate=first_rate,
        min_chunk=min_chunk,
    )


def cool(
    run: Callable[[int, float, float, int], None],
    *,
    scale: float,
    temperatures: tuple[float, float],
    time_limit: float,
    iteration_limit: int | None,
    seed: int,
    first_chunk: int,
    first_rate: float,
    min_chunk: int,
) -> int:
    """Run iterations from ``temperatures[0]`` down to ``temperatures[1]`` times ``scale`` (the
    mean arc of the first solution) over the budget; returns how many ran.

    With ``iteration_limit`` the search stops after that many iterations (or at the time
    limit) and cools along them, so the same seed and limit give the same result on any
    machine. Otherwise it cools along the elapsed time, starting with ``first_chunk``
    iterations at an assumed ``first_rate`` seconds each, later chunks at least ``min_chunk``.
    """
    hot = max(temperatures[0] * scale, 1e-6)
    cold = max(temperatures[1] * scale, 1e-7)
    done = 0
    clock = time.perf_counter()
    deadline = clock + time_limit
    rng = np.random.default_rng(seed)
    if iteration_limit is not None:
        total = max(iteration_limit, 1)
        done = 1  # the caller's first, cold iteration counts
        chunk = max(total // 64, 1)
        while done < total and time.perf_counter() < deadline:
            k = min(chunk, total - done)
            f0, f1 = done / total, (done + k) / total
            run(k, hot * (cold / hot) ** f0, hot * (cold / hot) ** f1, int(rng.integers(2**31)))
            done += k
        return done - 1
    chunk, rate = first_chunk, first_rate
    span = max(time_limit, 1e-9)
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        # this chunk spans its expected share of the budget
        f0 = (now - clock) / span
        f1 = min(f0 + chunk * rate / span, 1.0)
        run(chunk, hot * (cold / hot) ** f0, hot * (cold / hot) ** f1, int(rng.integers(2**31)))
        done += chunk
        rate = max((time.perf_counter() - now) / chunk, 1e-8)
        left = deadline - time.perf_counter()
        chunk = int(min(max(min(0.05, left) / rate, min_chunk), 1_000_000))
    return done
