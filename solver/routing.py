"""Names of the former OR-Tools router module, kept for callers moving to :func:`solver.solve`.

The model is built in :mod:`solver.model`, read back in :mod:`solver.decode` and searched in
:mod:`solver.ortools_search`; :mod:`solver.entry` picks the search. Everything here forwards
there.
"""

from __future__ import annotations

from solver.decode import decode, infeasible_result, scheduled_result, timed_result
from solver.entry import DEFAULT_PARAMS
from solver.entry import solve as _solve
from solver.model import RoutingModel, build_model, pinned_routes
from solver.ortools_search import descend_from
from solver.problem import RoutingProblem, SolveParams, SolverResult

__all__ = [
    "RoutingModel",
    "build_model",
    "decode",
    "descend_from",
    "infeasible_result",
    "pinned_routes",
    "scheduled_result",
    "solve",
    "timed_result",
]


def solve(problem: RoutingProblem, params: SolveParams = DEFAULT_PARAMS) -> SolverResult:
    """Kept for callers moving to :func:`solver.solve`, which it calls: plan ``problem``
    within ``params.time_limit`` seconds."""
    return _solve(problem, params)
