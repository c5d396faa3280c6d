"""What a service needs of the routing engine without reaching into :mod:`solver`.

:class:`SolveParams` (time limit in seconds, seed, iteration budget) is the engine's options
object, re-exported so callers above :mod:`dispatch` name it from here; :func:`warm_up`
compiles the engine's searches (or loads them from numba's cache) once per process.
"""

from __future__ import annotations

from solver import warm_up as warm_up_solver
from solver.problem import SolveParams

__all__ = ["SolveParams", "warm_up"]


def warm_up() -> None:
    """Compile the routing engine's compiled searches now, so that the first solve of the
    process does not spend its time limit on it (seconds on a cold numba cache)."""
    warm_up_solver()
