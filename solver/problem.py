"""The solver's input and output: integers in, routes out.

A :class:`RoutingProblem` is one day (or any single horizon) of a vehicle routing problem with
time windows. All times are integers in one unit (minutes in the product, tenths of a unit for
Solomon); nothing here knows about households, days of the week, files or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "BreakSpec",
    "RoutingProblem",
    "SolveParams",
    "SolvedRoute",
    "SolverResult",
    "Sync",
    "VehicleSpec",
    "VisitSpec",
]

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class VisitSpec:
    """One visit to place.

    ``location`` indexes the travel matrices. ``windows`` are ``(earliest, latest)`` start
    times, sorted and disjoint. ``allowed_vehicles`` of ``None`` means any vehicle.
    ``penalty`` of ``None`` makes the visit mandatory; otherwise dropping it costs ``penalty``.
    ``pinned_vehicle`` forces the vehicle; visits pinned to the same vehicle keep the order of
    their ``pinned_rank``. ``soft_latest`` (optional) is a start after which every unit of
    lateness costs ``tardiness_cost`` (the hard ``windows`` still bound the start).
    """

    location: int
    duration: int
    windows: tuple[tuple[int, int], ...]
    allowed_vehicles: frozenset[int] | None = None
    penalty: int | None = None
    demand: int = 0
    pinned_vehicle: int | None = None
    pinned_rank: int | None = None
    soft_latest: int | None = None
    tardiness_cost: int = 0


@dataclass(frozen=True)
class Sync:
    """Two visits whose starts are linked: ``start(second) - start(first)`` lies in
    ``[min_delay, max_delay]`` when both are served.

    A two-person visit is two visits with delay ``[0, 0]`` on distinct vehicles. With
    ``both`` the pair is served together or not at all; without it, ``second`` is served only
    when ``first`` is (a linked visit). ``distinct`` puts them on different vehicles.
    """

    first: int
    second: int
    min_delay: int = 0
    max_delay: int = 0
    distinct: bool = True
    both: bool = True


@dataclass(frozen=True)
class BreakSpec:
    """A rest of ``duration`` that starts at or after ``earliest`` and ends by ``latest_end``."""

    earliest: int
    latest_end: int
    duration: int


@dataclass(frozen=True)
class VehicleSpec:
    """One vehicle = one caregiver-day.

    ``profile`` picks the travel matrix (the caregiver's mode). The route leaves
    ``start_location`` at or after ``shift_start`` and is back at ``end_location`` by
    ``shift_end``. ``max_duration`` bounds back − leave; ``max_visits`` the number of visits;
    ``capacity`` the summed demand (``None``: unlimited).
    """

    start_location: int
    end_location: int
    shift_start: int
    shift_end: int
    profile: int = 0
    capacity: int | None = None
    max_visits: int | None = None
    max_duration: int | None = None
    rest: BreakSpec | None = None


@dataclass(frozen=True)
class RoutingProblem:
    """Travel matrices (one per profile, square, integer time units), visits and vehicles.

    ``syncs`` link the starts of pairs of visits (see :class:`Sync`). ``max_tardiness_cost``
    charges the largest lateness past a ``soft_latest`` once more, per unit (the home-health-care
    objective's maximum tardiness); only the synchronised search of :mod:`solver.syncsearch`
    prices it, OR-Tools sees the per-visit ``tardiness_cost`` alone.
    """

    matrices: tuple[IntMatrix, ...]
    visits: tuple[VisitSpec, ...]
    vehicles: tuple[VehicleSpec, ...]
    syncs: tuple[Sync, ...] = ()
    max_tardiness_cost: int = 0

    @property
    def num_locations(self) -> int:
        return int(self.matrices[0].shape[0])


@dataclass(frozen=True)
class SolveParams:
    """Search settings. The same ``seed`` and ``iteration_limit`` give the same result."""

    time_limit: float = 10.0
    seed: int = 0
    iteration_limit: int | None = None
    log: bool = False


@dataclass(frozen=True)
class SolvedRoute:
    """A vehicle's visits in order with their arrival and service start times.

    ``leave`` and ``back`` are the times at the start and end location; ``rest_start`` the
    start of the break when the vehicle has one.
    """

    vehicle: int
    visits: tuple[int, ...]
    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    leave: int
    back: int
    rest_start: int | None = None


@dataclass(frozen=True)
class SolverResult:
    """Routes of the used vehicles, the visits left out, the objective and search figures."""

    routes: tuple[SolvedRoute, ...]
    dropped: tuple[int, ...]
    travel: int
    objective: int
    feasible: bool
    stats: dict[str, float] = field(default_factory=dict)
