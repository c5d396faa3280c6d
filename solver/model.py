"""The OR-Tools model of a :class:`RoutingProblem` and the maps between visits and its indices.

Nodes of the OR-Tools model are the visits (in an order that the seed may shuffle) followed by
one node per distinct start/end location of the vehicles. Times are the problem's integer unit;
windows bound the start of service; the transit of an arc is the service of its tail plus the
travel of the vehicle's profile; the arc cost is the travel plus the problem's vehicle costs.
Searching the model is :mod:`solver.ortools_search`'s, reading a solution back
:mod:`solver.decode`'s.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from ortools.constraint_solver import pywrapcp

from solver.problem import RoutingProblem, VehicleSpec
from solver.sync import add_soft_windows, add_sync_constraints

__all__ = [
    "COUNT",
    "LOAD",
    "TIME",
    "RoutingModel",
    "build_model",
    "pinned_routes",
]

TIME = "time"
COUNT = "count"
LOAD = "load"


@dataclass
class RoutingModel:
    """An OR-Tools model of a problem with the maps between visits and OR-Tools indices.

    ``visit_of_node[n]`` is the visit index of node ``n`` (``-1`` for start/end nodes).
    ``breaks[v]`` is the break interval of vehicle ``v`` (``None`` without rest).
    """

    problem: RoutingProblem
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    node_of_visit: list[int]
    visit_of_node: list[int]
    breaks: list[pywrapcp.IntervalVar | None]

    def index_of_visit(self, visit: int) -> int:
        """OR-Tools variable index of ``visit``."""
        return int(self.manager.NodeToIndex(self.node_of_visit[visit]))

    def visit_of_index(self, index: int) -> int:
        """Visit of an OR-Tools variable index (``-1`` for a start or end)."""
        return self.visit_of_node[self.manager.IndexToNode(index)]


def _horizon(problem: RoutingProblem) -> int:
    ends = [v.shift_end for v in problem.vehicles]
    for visit in problem.visits:
        ends.extend(w[1] + visit.duration for w in visit.windows)
    return max([*ends, 0]) + 1


def _node_matrix(matrix: np.ndarray, locations: np.ndarray) -> list[list[int]]:
    return [[int(x) for x in row] for row in matrix[np.ix_(locations, locations)].tolist()]


def build_model(problem: RoutingProblem, *, shuffle_seed: int | None = None) -> RoutingModel:
    """Build the OR-Tools model of ``problem``.

    ``shuffle_seed`` permutes the visit nodes, which changes tie-breaking and neighbourhood
    order of the search without changing the problem. Raises ``ValueError`` on an empty fleet
    or a visit without windows.
    """
    visits, vehicles = problem.visits, problem.vehicles
    if not vehicles:
        raise ValueError("no vehicle / 没有可用车辆")
    for i, visit in enumerate(visits):
        if not visit.windows:
            raise ValueError(f"visit {i} has no time window / 访问没有时间窗")

    order = list(range(len(visits)))
    if shuffle_seed:
        random.Random(shuffle_seed).shuffle(order)
    node_of_visit = [0] * len(visits)
    for node, i in enumerate(order):
        node_of_visit[i] = node
    depot_locations = sorted(
        {v.start_location for v in vehicles} | {v.end_location for v in vehicles}
    )
    depot_node = {loc: len(visits) + k for k, loc in enumerate(depot_locations)}
    node_location = np.array([visits[v].location for v in order] + depot_locations, dtype=np.int64)
    visit_of_node = order + [-1] * len(depot_locations)
    num_nodes = len(node_location)
    service = np.array(
        [visits[v].duration for v in order] + [0] * len(depot_locations), dtype=np.int64
    )

    manager = pywrapcp.RoutingIndexManager(
        num_nodes,
        len(vehicles),
        [depot_node[v.start_location] for v in vehicles],
        [depot_node[v.end_location] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)

    # Arc costs (travel) and time transits (service of the tail + travel), one per profile.
    profiles = sorted({v.profile for v in vehicles})
    cost_cb: dict[int, int] = {}
    time_cb: dict[int, int] = {}
    for p in profiles:
        travel = problem.matrices[p][np.ix_(node_location, node_location)].astype(np.int64)
        cost_cb[p] = routing.RegisterTransitMatrix(travel.tolist())
        time_cb[p] = routing.RegisterTransitMatrix((travel + service[:, None]).tolist())
    for k, vehicle in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[vehicle.profile], k)

    horizon = _horizon(problem)
    routing.AddDimensionWithVehicleTransits(
        [time_cb[v.profile] for v in vehicles], horizon, horizon, False, TIME
    )
    time_dim = routing.GetDimensionOrDie(TIME)
    for k, vehicle in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(k)).SetRange(vehicle.shift_start, vehicle.shift_end)
        time_dim.CumulVar(routing.End(k)).SetRange(vehicle.shift_start, vehicle.shift_end)
        if vehicle.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(vehicle.max_duration, k)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(k)))

    for i, visit in enumerate(visits):
        index = manager.NodeToIndex(node_of_visit[i])
        cumul = time_dim.CumulVar(index)
        cumul.SetRange(visit.windows[0][0], visit.windows[-1][1])
        for (_, end), (start, _) in zip(visit.windows, visit.windows[1:], strict=False):
            if start > end + 1:
                cumul.RemoveInterval(end + 1, start - 1)
        routing.AddVariableMinimizedByFinalizer(cumul)

    _add_count(routing, manager, problem, node_of_visit)
    _add_load(routing, manager, problem, node_of_visit)
    breaks = _add_breaks(routing, manager, time_dim, vehicles, service)
    _add_allowed_and_penalties(routing, manager, problem, node_of_visit)
    _add_pin_order(routing, manager, time_dim, problem, node_of_visit)
    add_soft_windows(routing, manager, time_dim, problem, node_of_visit)
    add_sync_constraints(routing, manager, time_dim, problem, node_of_visit)

    model = RoutingModel(problem, manager, routing, node_of_visit, visit_of_node, breaks)
    if problem.vehicle_costs:
        _add_vehicle_costs(model, problem.vehicle_costs)
    return model


def _add_count(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    problem: RoutingProblem,
    node_of_visit: list[int],
) -> None:
    if all(v.max_visits is None for v in problem.vehicles):
        return
    ones = [0] * manager.GetNumberOfNodes()
    for node in node_of_visit:
        ones[node] = 1
    cb = routing.RegisterUnaryTransitVector(ones)
    n = len(problem.visits)
    caps = [n if v.max_visits is None else v.max_visits for v in problem.vehicles]
    routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, COUNT)


def _add_load(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    problem: RoutingProblem,
    node_of_visit: list[int],
) -> None:
    if all(v.capacity is None for v in problem.vehicles):
        return
    demand = [0] * manager.GetNumberOfNodes()
    for i, visit in enumerate(problem.visits):
        demand[node_of_visit[i]] = visit.demand
    cb = routing.RegisterUnaryTransitVector(demand)
    total = sum(max(d, 0) for d in demand)
    caps = [total if v.capacity is None else v.capacity for v in problem.vehicles]
    routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, LOAD)


def _add_breaks(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time_dim: pywrapcp.RoutingDimension,
    vehicles: Sequence[VehicleSpec],
    service: np.ndarray,
) -> list[pywrapcp.IntervalVar | None]:
    breaks: list[pywrapcp.IntervalVar | None] = [None] * len(vehicles)
    if all(v.rest is None for v in vehicles):
        return breaks
    solver = routing.solver()
    visit_transits = [
        int(service[manager.IndexToNode(i)]) if not routing.IsEnd(i) else 0
        for i in range(routing.Size())
    ]
    for k, vehicle in enumerate(vehicles):
        rest = vehicle.rest
        if rest is None:
            continue
        latest_start = rest.latest_end - rest.duration
        interval = solver.FixedDurationIntervalVar(
            rest.earliest, latest_start, rest.duration, False, f"rest {k}"
        )
        breaks[k] = interval
        time_dim.SetBreakIntervalsOfVehicle([interval], k, visit_transits)
    return breaks


def _add_allowed_and_penalties(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    problem: RoutingProblem,
    node_of_visit: list[int],
) -> None:
    for i, visit in enumerate(problem.visits):
        index = manager.NodeToIndex(node_of_visit[i])
        allowed: set[int] | None = None
        if visit.allowed_vehicles is not None:
            allowed = set(visit.allowed_vehicles)
        if visit.pinned_vehicle is not None:
            allowed = (
                {visit.pinned_vehicle} if allowed is None else allowed & {visit.pinned_vehicle}
            )
        if allowed is not None:
            # The vehicle variable's domain (-1 = not performed); OR-Tools 9.15's Python
            # binding of SetAllowedVehiclesForIndex rejects every sequence type. An empty set
            # leaves only dropping (or infeasibility).
            routing.VehicleVar(index).SetValues([-1, *sorted(allowed)])
        if visit.penalty is not None:
            routing.AddDisjunction([index], int(visit.penalty))


def _pinned_sequences(problem: RoutingProblem) -> dict[int, list[int]]:
    """Visits pinned to each vehicle, in ``pinned_rank`` order (unranked ones last)."""
    seqs: dict[int, list[int]] = {}
    for i, visit in enumerate(problem.visits):
        if visit.pinned_vehicle is not None:
            seqs.setdefault(visit.pinned_vehicle, []).append(i)
    for vehicle, seq in seqs.items():
        seq.sort(
            key=lambda i: (
                problem.visits[i].pinned_rank is None,
                problem.visits[i].pinned_rank or 0,
                i,
            )
        )
        seqs[vehicle] = seq
    return seqs


def _add_pin_order(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time_dim: pywrapcp.RoutingDimension,
    problem: RoutingProblem,
    node_of_visit: list[int],
) -> None:
    solver = routing.solver()
    big = _horizon(problem)
    for seq in _pinned_sequences(problem).values():
        ranked = [i for i in seq if problem.visits[i].pinned_rank is not None]
        for a, b in pairwise(ranked):
            ia = manager.NodeToIndex(node_of_visit[a])
            ib = manager.NodeToIndex(node_of_visit[b])
            # start_b >= end_a when both are performed (both active => big term vanishes).
            both_off = 2 - routing.ActiveVar(ia) - routing.ActiveVar(ib)
            solver.Add(
                time_dim.CumulVar(ib) + both_off * big
                >= time_dim.CumulVar(ia) + problem.visits[a].duration
            )
            # A zero-length visit could tie in time: forbid the reverse arc as well.
            solver.Add(routing.NextVar(ib) != ia)


def pinned_routes(model: RoutingModel) -> list[list[int]] | None:
    """The pinned sequences as OR-Tools routes (index lists per vehicle), or ``None``."""
    seqs = _pinned_sequences(model.problem)
    if not seqs:
        return None
    return [
        [model.index_of_visit(i) for i in seqs.get(k, [])]
        for k in range(len(model.problem.vehicles))
    ]


def _add_vehicle_costs(model: RoutingModel, costs: Mapping[int, Sequence[int]]) -> None:
    """Arc costs per vehicle: its travel plus ``costs[i][k]`` on every arc into visit ``i``."""
    problem = model.problem
    vehicles = problem.vehicles
    depots = sorted({v.start_location for v in vehicles} | {v.end_location for v in vehicles})
    n_visits = len(problem.visits)
    locations = np.array(
        [
            problem.visits[v].location if v >= 0 else depots[node - n_visits]
            for node, v in enumerate(model.visit_of_node)
        ],
        dtype=np.int64,
    )
    base = {
        p: problem.matrices[p][np.ix_(locations, locations)].astype(np.int64)
        for p in {v.profile for v in vehicles}
    }
    for k, vehicle in enumerate(vehicles):
        extra = np.zeros(len(locations), dtype=np.int64)
        for i, per_vehicle in costs.items():
            extra[model.node_of_visit[i]] = int(per_vehicle[k])
        if not extra.any():
            continue
        matrix = base[vehicle.profile] + extra[None, :]
        callback = model.routing.RegisterTransitMatrix(matrix.tolist())
        model.routing.SetArcCostEvaluatorOfVehicle(callback, k)
