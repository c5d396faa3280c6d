"""OR-Tools routing core: integer problems in, routes out. No I/O, no printing."""

from solver.problem import (
    BreakSpec,
    RoutingProblem,
    SolvedRoute,
    SolveParams,
    SolverResult,
    VehicleSpec,
    VisitSpec,
)
from solver.routing import solve

__all__ = [
    "BreakSpec",
    "RoutingProblem",
    "SolveParams",
    "SolvedRoute",
    "SolverResult",
    "VehicleSpec",
    "VisitSpec",
    "solve",
]
