"""The solver's input and output: integers in, routes out.

A :class:`RoutingProblem` is one day (or any single horizon) of a vehicle routing problem with
time windows. All times are integers in one unit (minutes in the product, tenths of a unit for
Solomon); nothing here knows about households, days of the week, files or HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "BreakSpec",
    "RoutingProblem",
    "SearchConfig",
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
    vehicle_costs: Mapping[int, Sequence[int]] | None = None

    @property
    def num_locations(self) -> int:
        return int(self.matrices[0].shape[0])


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of the search, one set for every problem.

    ``rounds`` splits the budget into restarts from the best routes; ``ruin_visits`` and
    ``ruin_sequence`` are the string-removal sizes (average removed visits, longest removed
    string); ``bypass`` the split-string factor; ``random_walk`` (removed visits) and
    ``close_routes`` (ruined routes) add further ruins, combined by ``ruin_composition``;
    ``route_neighbors`` is the (ratio, min, max) of routes the string removal looks at;
    ``recreate_sorting`` names the insertion orders of the recreate (OR-Tools
    ``SORTING_PROPERTY_*``; empty: OR-Tools' order, fewest allowed vehicles then highest
    penalty, ties in node order), dropped in the last ``plain_rounds`` rounds; ``random_ties``
    recreates in a fresh random order on every perturbation when that order ties for all
    visits (a random tie-break: a far more diverse search, e.g. on plain VRPTW);
    ``improve_perturbed`` runs local search on every perturbed solution; ``temperatures``
    the simulated annealing start/end temperatures in objective units (``None``: derived by
    OR-Tools from the arc costs); ``cooling`` the schedule (``EXPONENTIAL`` or ``LINEAR``);
    ``sync_search`` searches the problems that :mod:`solver.sisr` does not keep (synchronised
    visits, soft window ends) with the compiled search of :mod:`solver.syncsearch` where it
    keeps them, for ``sisr_share`` of the budget.
    ``polish`` (an OR-Tools ``LocalSearchMetaheuristic`` name) runs after the rounds from the
    best routes for ``polish_share`` of the budget;
    ``operators_off`` names further local-search operators to switch off; ``bandit`` lets a
    multi-armed bandit order the operators by their recent gains; ``sisr`` runs the compiled
    string-removal search first, for ``sisr_share`` of the budget, on problems it supports.
    """

    rounds: int = 1
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    recreate: str = "LOCAL_CHEAPEST_INSERTION"
    ruin_visits: int = 10
    ruin_sequence: int = 10
    bypass: float = 0.01
    temperatures: tuple[float, float] | None = None
    slow_operators: bool = False
    operators_off: tuple[str, ...] = ()
    bandit: bool = False
    improve_perturbed: bool = True
    recreate_sorting: tuple[str, ...] = ()
    random_ties: bool = True
    random_walk: int = 0
    close_routes: int = 0
    ruin_composition: str = "RUN_ONE_RANDOMLY"
    cooling: str = "EXPONENTIAL"
    route_neighbors: tuple[float, int, int] | None = None
    plain_rounds: int = 0
    polish: str | None = None
    polish_share: float = 0.2
    sisr: bool = True
    sisr_share: float = 0.97
    sync_search: bool = True


@dataclass(frozen=True)
class SolveParams:
    """Budget and settings of one solve. The same ``seed`` and ``iteration_limit`` give the same
    result. ``time_limit`` is in seconds; ``search`` holds the knobs of the searches (the
    defaults suit every problem; a benchmark may pass its own)."""

    time_limit: float = 10.0
    seed: int = 0
    iteration_limit: int | None = None
    log: bool = False
    search: SearchConfig = SearchConfig()


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
    """Routes of the used vehicles, the visits left out, the objective and search figures.

    ``search`` names the search that found the routes (``"sisr"``, ``"sync"`` or ``"ortools"``;
    ``"given"`` when nothing was searched). With initial routes and no time,
    ``initial_accepted[k]`` says whether the OR-Tools model accepts ``initial_routes[k]`` on
    its own as given (a schedule found by other means may rely on freedoms the model does not
    have, such as where a rest falls). With initial routes, ``stats["warm_start"]`` is 1 when
    the search started from those routes, 0 when it could not and searched from scratch.
    """

    routes: tuple[SolvedRoute, ...]
    dropped: tuple[int, ...]
    travel: int
    objective: int
    feasible: bool
    stats: dict[str, float] = field(default_factory=dict)
    search: str = ""
    initial_accepted: tuple[bool, ...] | None = None
