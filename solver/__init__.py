"""The router: integer problems in, routes out. No I/O, no printing.

One way in: :func:`solve` (:mod:`solver.entry`), which picks the search in one table. The
modules import one way, each only from those above it:

- :mod:`solver.problem`: the problem, the settings (:class:`SolveParams`, :class:`SearchConfig`)
  and the result;
- :mod:`solver.schedule`: the one Python timing of a route;
- :mod:`solver.sync`: synchronised visits and soft window ends in the OR-Tools model;
- :mod:`solver.model`, :mod:`solver.decode`, :mod:`solver.ortools_search`: the OR-Tools model,
  reading its solutions back, and searching it;
- :mod:`solver.compiled`, :mod:`solver.sisr`, :mod:`solver.syncsearch`: the compiled searches
  and what they share;
- :mod:`solver.week_sisr`: a week of days searched together (caregiver-days, request-days,
  each task inside one of its sets of visits) with the compiled steps of :mod:`solver.sisr`;
- :mod:`solver.entry`: the table of searches, :func:`solve` and :func:`warm_up`;
- :mod:`solver.periodic`: periodic routing (a day pattern per task, every day routed), searched
  by the compiled string removals of :mod:`solver.periodic_sisr`.
"""

from solver.entry import solve, warm_up
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
    "warm_up",
]
