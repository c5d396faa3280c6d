"""The cooling schedule shared by the router's compiled ruin-and-recreate searches.

A search exposes ``run(iterations, hot, cold, rng_seed)``, which runs that many compiled
iterations cooling exponentially from ``hot`` to ``cold``; :func:`cool` calls it in chunks so
that the temperature follows the budget: the share of ``iteration_limit`` done, or the share of
``time_limit`` elapsed (each chunk sized to take about 50 ms at the measured rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["cool"]


def cool(
    run: Callable[[int, float, float, int], None],
    *,
    hot: float,
    cold: float,
    time_limit: float,
    iteration_limit: int | None,
    seed: int,
    first_chunk: int,
    first_rate: float,
    min_chunk: int,
) -> int:
    """Run iterations from ``hot`` down to ``cold`` over the budget; returns how many ran.

    With ``iteration_limit`` the search stops after that many iterations (or at the time
    limit) and cools along them, so the same seed and limit give the same result on any
    machine. Otherwise it cools along the elapsed time, starting with ``first_chunk``
    iterations at an assumed ``first_rate`` seconds each, later chunks at least ``min_chunk``.
    """
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
