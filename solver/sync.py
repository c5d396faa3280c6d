"""Synchronised visits and soft window ends in the OR-Tools model, and what decoding keeps.

A :class:`solver.problem.Sync` links the starts of two visits (two caregivers starting together,
or a visit that follows another within a delay). The model states it as constraints on the
time cumuls that bind only when both visits are served, so insertion and ruin-and-recreate can
place one visit of a pair and then its partner. Decoding (:mod:`solver.decode`) then drops what
cannot stand alone (a two-person visit with one caregiver, a linked visit without its first
one) and keeps the solver's own start times on routes that hold synchronised visits, since
re-timing one route alone could move a start its partner depends on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ortools.constraint_solver import pywrapcp

from solver.problem import RoutingProblem, Sync

__all__ = [
    "add_soft_windows",
    "add_sync_constraints",
    "check_syncs",
    "unsupported_visits",
]


def check_syncs(problem: RoutingProblem) -> None:
    """Raise ``ValueError`` when a sync names a missing visit, itself, or a negative span."""
    n = len(problem.visits)
    for k, s in enumerate(problem.syncs):
        if not (0 <= s.first < n and 0 <= s.second < n) or s.first == s.second:
            raise ValueError(f"sync {k} links visits {s.first} and {s.second} / 同步访问无效")
        if s.max_delay < s.min_delay:
            raise ValueError(f"sync {k}: max_delay < min_delay / 同步间隔无效")


def add_sync_constraints(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time_dim: pywrapcp.RoutingDimension,
    problem: RoutingProblem,
    node_of_visit: Sequence[int],
) -> None:
    """State every sync of ``problem`` on the model's time dimension (problem time units).

    When both visits are served: ``start(second) - start(first)`` in ``[min_delay, max_delay]``
    and, with ``distinct``, different vehicles. Raises ``ValueError`` on a malformed sync.
    """
    if not problem.syncs:
        return
    check_syncs(problem)
    solver = routing.solver()
    big = max([v.shift_end for v in problem.vehicles] + [0])
    for visit in problem.visits:
        big = max(big, visit.windows[-1][1] + visit.duration)
    big += 1
    for s in problem.syncs:
        ia = manager.NodeToIndex(node_of_visit[s.first])
        ib = manager.NodeToIndex(node_of_visit[s.second])
        off = 2 - routing.ActiveVar(ia) - routing.ActiveVar(ib)
        delay = time_dim.CumulVar(ib) - time_dim.CumulVar(ia)
        solver.Add(delay + off * big >= s.min_delay)
        solver.Add(delay - off * big <= s.max_delay)
        if s.distinct:
            differ = solver.IsDifferentVar(routing.VehicleVar(ia), routing.VehicleVar(ib))
            solver.Add(differ + off >= 1)


def add_soft_windows(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time_dim: pywrapcp.RoutingDimension,
    problem: RoutingProblem,
    node_of_visit: Sequence[int],
) -> None:
    """Charge ``tardiness_cost`` per unit a visit starts after its ``soft_latest``."""
    for i, visit in enumerate(problem.visits):
        if visit.soft_latest is None or visit.tardiness_cost <= 0:
            continue
        index = manager.NodeToIndex(node_of_visit[i])
        time_dim.SetCumulVarSoftUpperBound(index, int(visit.soft_latest), int(visit.tardiness_cost))
    del routing


def unsupported_visits(syncs: Sequence[Sync], served: Mapping[int, int]) -> set[int]:
    """Served visits to drop: half of a ``both`` pair, or a linked ``second`` whose ``first`` is
    not served (after the drops, repeatedly), or either of a pair on one vehicle when
    ``distinct``. ``served`` maps a visit to its vehicle."""
    drop: set[int] = set()
    changed = True
    while changed:
        changed = False
        for s in syncs:
            a_on = s.first in served and s.first not in drop
            b_on = s.second in served and s.second not in drop
            if s.both and a_on != b_on:
                drop.add(s.first if a_on else s.second)
                changed = True
            elif not s.both and b_on and not a_on:
                drop.add(s.second)
                changed = True
            elif a_on and b_on and s.distinct and served[s.first] == served[s.second]:
                drop.update((s.first, s.second))
                changed = True
    return drop
