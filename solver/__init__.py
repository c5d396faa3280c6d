"""The router: integer problems in, routes out. No I/O, no printing.

One way in, :func:`solve` (see :mod:`solver.entry`). Modules import one way::

    problem -> schedule -> sync -> model -> decode -> ortools_search ┐
    problem -> compiled -> sisr, syncsearch (-> schedule)             ├-> entry -> periodic
                                                                      ┘
    routing, search: names kept for callers moving to solve
"""

from solver.entry import solve
from solver.problem import (
    BreakSpec,
    RoutingProblem,
    SearchConfig,
    SolvedRoute,
    SolveParams,
    SolverResult,
    VehicleSpec,
    VisitSpec,
)

__all__ = [
    "BreakSpec",
    "RoutingProblem",
    "SearchConfig",
    "SolveParams",
    "SolvedRoute",
    "SolverResult",
    "VehicleSpec",
    "VisitSpec",
    "solve",
]
