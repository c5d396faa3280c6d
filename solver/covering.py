"""The maximal covering location problem (MCLP) on OR-Tools CP-SAT: integers in, choices out.

Given a boolean matrix ``covers[i][j]`` (candidate site ``i`` reaches demand point ``j``),
integer weights of the demand points and a number ``k`` of sites to open, choose ``k``
candidates that maximise the total weight of the demand points reached by at least one of them::

    maximise   sum_j w_j y_j
    subject to y_j <= sum_{i : covers[i][j]} x_i     for every demand point j
               sum_i x_i = k
               x_i, y_j in {0, 1}

Opening one more site never covers less, so exactly ``min(k, candidates)`` sites are chosen
even when the last ones add nothing. Demand points no candidate reaches, or of weight zero,
are left out of the model. The covered weight is recounted from the chosen sites, so it is
exact also when the time limit stops the search before optimality is proved. The search is
deterministic: one worker and a fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

__all__ = ["CoveringResult", "solve_covering"]


@dataclass(frozen=True)
class CoveringResult:
    """The chosen candidate indices (ascending), the weight they cover, and whether CP-SAT
    proved that no other choice covers more."""

    chosen: tuple[int, ...]
    covered_weight: int
    optimal: bool


def _check(covers: Sequence[Sequence[bool]], weights: Sequence[int], k: int) -> int:
    """The number of demand points; raises ``ValueError`` naming the bad argument."""
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    n = len(weights)
    for i, row in enumerate(covers):
        if len(row) != n:
            raise ValueError(f"covers[{i}] has {len(row)} entries, weights has {n}")
    for j, w in enumerate(weights):
        if w < 0:
            raise ValueError(f"weights[{j}] must be at least 0, got {w}")
    return n


def solve_covering(
    covers: Sequence[Sequence[bool]],
    weights: Sequence[int],
    k: int,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
) -> CoveringResult:
    """Choose ``k`` rows of ``covers`` that together cover the most weight (see the module).

    ``k`` larger than the number of candidates opens them all; ``k = 0``, no candidates or no
    demand points give an empty or trivial answer, proved optimal. Raises ``ValueError`` naming
    the argument for a negative ``k`` or weight, or a row of the wrong length.
    """
    n = _check(covers, weights, k)
    m = len(covers)
    if k == 0 or m == 0 or n == 0:
        return CoveringResult(tuple(range(min(k, m))), 0, True)
    if k >= m:
        total = sum(w for j, w in enumerate(weights) if any(row[j] for row in covers))
        return CoveringResult(tuple(range(m)), total, True)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(m)]
    terms: list[tuple[int, cp_model.IntVar]] = []
    for j in range(n):
        reach = [x[i] for i in range(m) if covers[i][j]]
        if not reach or weights[j] == 0:
            continue
        y = model.new_bool_var(f"y{j}")
        model.add(y <= sum(reach))
        terms.append((int(weights[j]), y))
    model.add(sum(x) == k)
    model.maximize(sum(w * y for w, y in terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_search_workers = 1
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"covering model found no solution (status {solver.status_name()})")
    chosen = tuple(i for i in range(m) if solver.boolean_value(x[i]))
    covered = sum(w for j, w in enumerate(weights) if any(covers[i][j] for i in chosen))
    return CoveringResult(chosen, covered, status == cp_model.OPTIMAL)
