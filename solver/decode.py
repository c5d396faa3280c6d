"""Reading an OR-Tools solution back: routes with tight times, drops, travel and objective.

Times come from :mod:`solver.schedule` (earliest starts, the rest in its best gap, the latest
leave); where that schedule cannot hold a route the solver's own gap of the rest is tried, and
routes holding synchronised visits keep the solver's own starts, since re-timing one route alone
could move a start its partner depends on (:func:`solver.schedule.times_from_starts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from ortools.constraint_solver import pywrapcp

from solver.model import TIME, RoutingModel
from solver.problem import RoutingProblem, SolvedRoute, SolverResult, VehicleSpec
from solver.schedule import RouteTimes, rest_gap_at, schedule_route, times_from_starts
from solver.sync import unsupported_visits

__all__ = [
    "break_gap",
    "decode",
    "decode_synced",
    "infeasible_result",
    "scheduled_result",
    "timed_result",
]


def decode(model: RoutingModel, assignment: pywrapcp.Assignment) -> SolverResult:
    """Routes, drops, travel and objective of an OR-Tools assignment, times tightened."""
    if model.problem.syncs:
        return decode_synced(model, assignment)
    problem, routing = model.problem, model.routing
    time_dim = routing.GetDimensionOrDie(TIME)
    timed: list[tuple[int, list[int], RouteTimes]] = []
    for k in range(len(problem.vehicles)):
        index = routing.Start(k)
        seq: list[int] = []
        cumuls: list[int] = []
        start_cumul = assignment.Min(time_dim.CumulVar(index))
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            seq.append(model.visit_of_index(index))
            cumuls.append(assignment.Min(time_dim.CumulVar(index)))
            index = assignment.Value(routing.NextVar(index))
        end_cumul = assignment.Min(time_dim.CumulVar(index))
        if not seq:
            continue
        gap = None
        interval = model.breaks[k]
        if interval is not None:
            gap = break_gap(
                problem,
                seq,
                cumuls,
                start_cumul,
                end_cumul,
                assignment.StartMin(interval),
                interval.DurationMin(),
            )
        # The solver's break gap is one feasible place; the shortest working span may put the
        # rest elsewhere (e.g. after coming back rather than before the last leg home).
        times = schedule_route(problem, k, seq)
        if not times.feasible:
            times = schedule_route(problem, k, seq, rest_gap=gap)
        if not times.feasible:
            # Earliest starts can wait longer than the solver's own schedule (a later window of a
            # visit further on stretches the day past its length bound); the solver's times keep
            # every bound.
            times = times_from_starts(
                problem,
                k,
                seq,
                cumuls,
                leave=start_cumul,
                back=end_cumul,
                rest_start=assignment.StartMin(interval) if interval is not None else None,
            )
        timed.append((k, seq, times))
    return timed_result(problem, timed, objective=int(assignment.ObjectiveValue()))


def timed_result(
    problem: RoutingProblem,
    timed: Sequence[tuple[int, Sequence[int], RouteTimes]],
    *,
    objective: int,
) -> SolverResult:
    """The result of routes given as (vehicle, visits in order, their times): each route's
    travel summed, the visits on no route dropped."""
    routes: list[SolvedRoute] = []
    served: set[int] = set()
    travel = 0
    for k, seq, times in timed:
        routes.append(_route(k, list(seq), times))
        served.update(seq)
        travel += _route_travel(problem, problem.vehicles[k], seq)
    return SolverResult(
        routes=tuple(routes),
        dropped=tuple(i for i in range(len(problem.visits)) if i not in served),
        travel=travel,
        objective=objective,
        feasible=True,
    )


def break_gap(
    problem: RoutingProblem,
    seq: list[int],
    cumuls: list[int],
    start_cumul: int,
    end_cumul: int,
    rest_start: int,
    rest_duration: int,
) -> int:
    """Which gap of the route holds the solver's break (see :func:`solver.schedule.rest_gap_at`)."""
    return rest_gap_at(
        [problem.visits[i].duration for i in seq],
        cumuls,
        leave=start_cumul,
        back=end_cumul,
        rest_start=rest_start,
        rest_duration=rest_duration,
    )


def _route(vehicle: int, seq: list[int], times: RouteTimes) -> SolvedRoute:
    return SolvedRoute(
        vehicle=vehicle,
        visits=tuple(seq),
        arrivals=times.arrivals,
        starts=times.starts,
        leave=times.leave,
        back=times.back,
        rest_start=times.rest_start,
    )


def _route_travel(problem: RoutingProblem, vehicle: VehicleSpec, seq: Sequence[int]) -> int:
    matrix = problem.matrices[vehicle.profile]
    locs = [
        vehicle.start_location,
        *(problem.visits[i].location for i in seq),
        vehicle.end_location,
    ]
    return int(sum(int(matrix[a, b]) for a, b in pairwise(locs)))


def scheduled_result(
    problem: RoutingProblem, routes: Sequence[Sequence[int]], *, objective: int
) -> SolverResult | None:
    """A result of the visits ``routes[k]`` of each vehicle ``k``, timed by the router's own
    schedule (earliest starts, the rest in its best gap, the latest leave) without OR-Tools.

    ``None`` when a route has no feasible schedule.
    """
    timed: list[tuple[int, Sequence[int], RouteTimes]] = []
    for k, seq in enumerate(routes):
        if not seq:
            continue
        times = schedule_route(problem, k, list(seq))
        if not times.feasible:
            return None
        timed.append((k, seq, times))
    return timed_result(problem, timed, objective=objective)


def infeasible_result(problem: RoutingProblem, stats: dict[str, float]) -> SolverResult:
    """The answer when no solution exists: nothing routed, every visit dropped."""
    return SolverResult(
        routes=(),
        dropped=tuple(range(len(problem.visits))),
        travel=0,
        objective=0,
        feasible=False,
        stats=stats,
    )


def decode_synced(model: RoutingModel, assignment: pywrapcp.Assignment) -> SolverResult:
    """Routes of a solution of a problem with syncs (see the module docstring)."""
    problem, routing = model.problem, model.routing
    time_dim = routing.GetDimensionOrDie(TIME)
    raw: list[tuple[int, list[int], list[int], int, int, int | None]] = []
    served: dict[int, int] = {}
    for k in range(len(problem.vehicles)):
        index = routing.Start(k)
        leave = assignment.Value(time_dim.CumulVar(index))
        seq: list[int] = []
        cumuls: list[int] = []
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            seq.append(model.visit_of_index(index))
            cumuls.append(assignment.Value(time_dim.CumulVar(index)))
            index = assignment.Value(routing.NextVar(index))
        back = assignment.Value(time_dim.CumulVar(index))
        interval = model.breaks[k]
        rest_start = assignment.StartValue(interval) if interval is not None else None
        raw.append((k, seq, cumuls, leave, back, rest_start))
        served.update((i, k) for i in seq)

    drop = unsupported_visits(problem.syncs, served)
    synced = {s.first for s in problem.syncs} | {s.second for s in problem.syncs}
    timed: list[tuple[int, list[int], RouteTimes]] = []
    for k, seq, cumuls, leave, back, rest_start in raw:
        pairs = [(i, t) for i, t in zip(seq, cumuls, strict=True) if i not in drop]
        if not pairs:
            continue
        seq = [i for i, _ in pairs]
        starts = [t for _, t in pairs]
        if any(i in synced for i in seq):
            times = times_from_starts(
                problem, k, seq, starts, leave=leave, back=back, rest_start=rest_start
            )
        else:
            # As the router's own decode: the shortest working span, else the solver's gap.
            times = schedule_route(problem, k, seq)
            if not times.feasible and rest_start is not None:
                rest = problem.vehicles[k].rest
                dur = rest.duration if rest is not None else 0
                gap = break_gap(problem, seq, starts, leave, back, rest_start, dur)
                times = schedule_route(problem, k, seq, rest_gap=gap)
            if not times.feasible:
                # As the router's own decode: earliest starts can wait longer than the solver's
                # schedule (a later window further on stretches the day past its length bound);
                # the solver's own starts keep every bound.
                times = times_from_starts(
                    problem, k, seq, starts, leave=leave, back=back, rest_start=rest_start
                )
        timed.append((k, seq, times))
    return timed_result(problem, timed, objective=int(assignment.ObjectiveValue()))
