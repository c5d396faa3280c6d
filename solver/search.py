"""Names of the former search module, kept for callers moving to :func:`solver.solve`.

The table of searches is :mod:`solver.entry`'s, the OR-Tools search
:mod:`solver.ortools_search`'s and the settings :class:`solver.problem.SearchConfig`, which
travels in :attr:`solver.problem.SolveParams.search`.
"""

from __future__ import annotations

from dataclasses import replace

from solver.entry import search as _search
from solver.ortools_search import insertion_order_ties, search_parameters
from solver.problem import RoutingProblem, SearchConfig, SolveParams, SolverResult

__all__ = [
    "DEFAULT_CONFIG",
    "SearchConfig",
    "insertion_order_ties",
    "run_search",
    "search_parameters",
]

DEFAULT_CONFIG = SearchConfig()


def run_search(
    problem: RoutingProblem, params: SolveParams, *, config: SearchConfig = DEFAULT_CONFIG
) -> SolverResult:
    """Kept for callers moving to :func:`solver.solve` (with ``config`` as
    ``params.search``): search ``problem`` with the table of :mod:`solver.entry`."""
    return _search(problem, replace(params, search=config))
