"""The one home of the weekly planner's time (a budget over a clock).

Every "time left / time spent / deadline" decision of the planner reads :meth:`Budget.now`;
every sub-solve takes its settings from :meth:`Budget.solve_params` and reports its end to
:meth:`Budget.solved`. The :class:`WallClock` plans by the machine's time (the default); the
:class:`ModelledClock` with an iteration budget (``plan_week(..., deterministic=True)``) makes
a plan depend on its inputs and seed alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from solver.problem import SolveParams

__all__ = ["Budget", "Clock", "ModelledClock", "WallClock"]


#: The shortest search a sub-solve is given, in seconds.
MIN_SOLVE_SECONDS = 0.02


#: A sub-solve's time limit when an iteration budget bounds it instead: far beyond what the
#: count needs, so it never binds.
UNBOUNDED_SECONDS = 3600.0


class Clock(Protocol):
    """The planner's time in seconds: every "time left / time spent / deadline" decision reads
    :meth:`now`; a sub-solve allotted ``seconds`` is followed by :meth:`advance`."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class WallClock:
    """The machine's clock (``time.perf_counter``): a sub-solve's time passes by itself.

    Sent to a worker process it carries on from the time it had, counting the transfer by the
    wall clock (``perf_counter`` values of two processes need not be comparable)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.perf_counter() + self._offset

    def advance(self, seconds: float) -> None:
        del seconds  # real time passes by itself

    def __getstate__(self) -> dict[str, float]:
        return {"now": self.now(), "wall": time.time()}

    def __setstate__(self, state: dict[str, float]) -> None:
        self._offset = state["now"] + (time.time() - state["wall"]) - time.perf_counter()


@dataclass
class ModelledClock:
    """A clock that moves only when told: each sub-solve takes exactly the seconds allotted
    to it, so every decision depends on the inputs and the seed alone."""

    seconds: float = 0.0

    def now(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass(frozen=True)
class Budget:
    """The one home of the weekly planner's time: the clock every decision reads and the
    settings each sub-solve gets.

    On the :class:`WallClock` (the default) a sub-solve searches for the seconds allotted to
    it. With ``counted`` (:meth:`deterministic`) it searches for ``params.iteration_limit``
    iterations instead, under a time limit that never binds, and the
    :class:`ModelledClock` advances by the seconds allotted: the same inputs and seed give the
    same plan on any machine, in any process."""

    params: SolveParams
    clock: Clock
    counted: bool = False

    @classmethod
    def real(cls, params: SolveParams) -> Budget:
        return cls(params, WallClock())

    @classmethod
    def deterministic(cls, params: SolveParams) -> Budget:
        """Raises ``ValueError`` without ``params.iteration_limit``."""
        if params.iteration_limit is None:
            raise ValueError("a deterministic weekly plan needs params.iteration_limit")
        return cls(params, ModelledClock(), counted=True)

    def now(self) -> float:
        return self.clock.now()

    def solve_params(self, seconds: float) -> SolveParams:
        """The settings of a sub-solve allotted ``seconds``."""
        p = self.params
        if self.counted:
            return SolveParams(
                time_limit=UNBOUNDED_SECONDS,
                seed=p.seed,
                iteration_limit=p.iteration_limit,
                log=p.log,
            )
        return SolveParams(time_limit=max(MIN_SOLVE_SECONDS, seconds), seed=p.seed, log=p.log)

    def solved(self, seconds: float) -> None:
        """A sub-solve allotted ``seconds`` is over."""
        self.clock.advance(max(MIN_SOLVE_SECONDS, seconds))
