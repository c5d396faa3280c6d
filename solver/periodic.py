"""Periodic vehicle routing: choose a day pattern per task and route every day of the period.

A :class:`PeriodicProblem` has a period of ``T`` day indices, one depot, tasks that must be
served on exactly the days of one of their candidate patterns, and per day a fleet of identical
vehicles with a capacity and a route duration bound (duration = travel + service). Everything is
an integer in one unit; nothing here knows about households or files.

The search (:func:`solve_periodic`) builds a first plan by cheapest pattern insertion along a
nearest-neighbour chain, then improves it with the compiled string-removal search of
:mod:`solver.periodic_sisr` (pattern and day moves, simulated annealing) for the rest of the
budget. Where numba is missing, a slower search in plain Python takes its place: remove related
tasks from all their days, re-insert each with its cheapest pattern, polish the touched routes
with 2-opt, accept near the best plan; between rounds every day is polished by
:func:`solver.solve` from the current routes.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from solver import periodic_sisr
from solver.compiled import HAVE_NUMBA
from solver.entry import solve
from solver.problem import RoutingProblem, SolveParams, VehicleSpec, VisitSpec

__all__ = [
    "DayFleet",
    "PeriodicProblem",
    "PeriodicResult",
    "PeriodicTask",
    "route_cost",
    "solve_periodic",
]

IntMatrix = npt.NDArray[np.int64]
INFEASIBLE = 1 << 60


@dataclass(frozen=True)
class PeriodicTask:
    """A customer: ``location`` in the matrix, ``duration`` of service, ``demand`` per visit and
    candidate ``patterns`` (each a sorted tuple of day indices; one of them is served)."""

    location: int
    duration: int
    demand: int
    patterns: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class DayFleet:
    """The vehicles of one day: how many, their ``capacity`` and ``max_duration`` (``None``:
    unbounded)."""

    vehicles: int
    capacity: int | None = None
    max_duration: int | None = None


@dataclass(frozen=True)
class PeriodicProblem:
    """A square integer ``matrix``, the ``depot`` location, tasks and one fleet per day."""

    matrix: IntMatrix
    depot: int
    tasks: tuple[PeriodicTask, ...]
    fleets: tuple[DayFleet, ...]

    @property
    def period(self) -> int:
        """Number of days ``T``."""
        return len(self.fleets)


@dataclass(frozen=True)
class PeriodicResult:
    """Routes per day (task indices in order), the pattern index chosen per task (``None`` when
    the task could not be placed), the total travel ``cost`` and search figures."""

    days: tuple[tuple[tuple[int, ...], ...], ...]
    patterns: tuple[int | None, ...]
    cost: int
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every task got a pattern."""
        return all(p is not None for p in self.patterns)


ProgressCallback = Callable[[float, int], None]


def route_cost(problem: PeriodicProblem, seq: Sequence[int]) -> int:
    """Travel of one route from the depot through tasks ``seq`` and back."""
    m, depot = problem.matrix, problem.depot
    locs = [depot, *(problem.tasks[t].location for t in seq), depot]
    return int(sum(int(m[a, b]) for a, b in itertools.pairwise(locs)))


_Snapshot = tuple[list[list[list[int]]], list[int | None], dict[int, tuple[np.ndarray, ...]]]


class _Search:
    """The mutable state of the search: routes per day, pattern per task, cached figures."""

    def __init__(self, problem: PeriodicProblem, rng: random.Random) -> None:
        self.p = problem
        self.rng = rng
        self.m = np.asarray(problem.matrix, dtype=np.int64)
        self.loc = np.array([t.location for t in problem.tasks], dtype=np.int64)
        self.dem = [t.demand for t in problem.tasks]
        self.dur = [t.duration for t in problem.tasks]
        self.loc_list = [int(x) for x in self.loc]
        self.dem_arr = np.array(self.dem, dtype=np.int64)
        self.dur_arr = np.array(self.dur, dtype=np.int64)
        self.routes: list[list[list[int]]] = [[] for _ in problem.fleets]
        self.pattern: list[int | None] = [None] * len(problem.tasks)
        self._cache: dict[int, tuple[np.ndarray, ...]] = {}

    # -- figures ---------------------------------------------------------------------------
    def travel(self, seq: Sequence[int]) -> int:
        if not seq:
            return 0
        d = self.p.depot
        idx = self.loc[list(seq)]
        return int(self.m[d, idx[0]] + self.m[idx[:-1], idx[1:]].sum() + self.m[idx[-1], d])

    def cost(self) -> int:
        return sum(int(self._day_arrays(d)[6].sum()) for d in range(len(self.routes)))

    def unplaced(self) -> int:
        return sum(1 for p in self.pattern if p is None)

    def _day_arrays(self, day: int) -> tuple[np.ndarray, ...]:
        """Edges of the day's routes (tail, head, route, position, travel) and per route its
        load and duration (travel + service), cached until the day changes."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        seqs = self.routes[day]
        empty = np.zeros(0, dtype=np.int64)
        if not seqs:
            arrays: tuple[np.ndarray, ...] = (empty,) * 7
            self._cache[day] = arrays
            return arrays
        depot = self.p.depot
        loc = self.loc_list
        joined = [depot]
        flat: list[int] = []
        for seq in seqs:
            joined.extend([loc[t] for t in seq])
            joined.append(depot)
            flat.extend(seq)
        nodes = np.array(joined, dtype=np.int64)
        a, b = nodes[:-1], nodes[1:]
        ab = self.m[a, b]
        lens = np.array([len(q) for q in seqs], dtype=np.int64)
        edges = lens + 1
        starts = np.concatenate(([0], np.cumsum(edges)[:-1]))
        rid = np.repeat(np.arange(len(seqs), dtype=np.int64), edges)
        pos = np.arange(len(a), dtype=np.int64) - np.repeat(starts, edges)
        task_starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
        tasks = np.array(flat, dtype=np.int64)
        loads = np.add.reduceat(self.dem_arr[tasks], task_starts)
        durs = np.add.reduceat(ab, starts) + np.add.reduceat(self.dur_arr[tasks], task_starts)
        arrays = (a, b, rid, pos, loads, durs, ab)
        self._cache[day] = arrays
        return arrays

    def best_insertions(
        self, day: int, tasks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cheapest feasible insertion of each of ``tasks`` on ``day``: added travel (or
        ``INFEASIBLE``), route (``-1`` = a new one) and position."""
        fleet = self.p.fleets[day]
        k = len(tasks)
        li = self.loc[tasks]
        q = self.dem_arr[tasks]
        s = self.dur_arr[tasks]
        cap, dmax = fleet.capacity, fleet.max_duration
        cost = np.full(k, INFEASIBLE, dtype=np.int64)
        route = np.full(k, -2, dtype=np.int64)
        pos = np.full(k, -2, dtype=np.int64)
        a, b, rid, epos, loads, durs, ab = self._day_arrays(day)
        rows = np.arange(k)
        if len(a) and k:
            delta = self.m[a[None, :], li[:, None]] + self.m[li[:, None], b[None, :]] - ab[None, :]
            ok = np.ones(delta.shape, dtype=bool)
            if cap is not None:
                ok &= loads[rid][None, :] + q[:, None] <= cap
            if dmax is not None:
                ok &= durs[rid][None, :] + delta + s[:, None] <= dmax
            masked = np.where(ok, delta, INFEASIBLE)
            j = masked.argmin(axis=1)
            cost = masked[rows, j]
            route = np.where(cost < INFEASIBLE, rid[j], -2)
            pos = epos[j] + 1
        if len(self.routes[day]) < fleet.vehicles and k:
            d = self.p.depot
            c0 = self.m[d, li] + self.m[li, d]
            fits = np.ones(k, dtype=bool)
            if cap is not None:
                fits &= q <= cap
            if dmax is not None:
                fits &= c0 + s <= dmax
            better = fits & (c0 < cost)
            cost = np.where(better, c0, cost)
            route = np.where(better, -1, route)
            pos = np.where(better, 0, pos)
        return cost, route, pos

    def place_all(self, tasks: Sequence[int], *, noise: float = 0.0) -> None:
        """Insert ``tasks`` in this order, each with its cheapest pattern (evaluations of a
        day are shared by all tasks and refreshed only when the day changes)."""
        if not tasks:
            return
        arr = np.array(tasks, dtype=np.int64)
        days = {d for t in tasks for pat in self.p.tasks[t].patterns for d in pat}
        table = {d: self.best_insertions(d, arr) for d in days}
        for row, t in enumerate(tasks):
            spec = self.p.tasks[t]
            best_cost, best_pat = INFEASIBLE, -1
            for k, pat in enumerate(spec.patterns):
                total = 0
                for d in pat:
                    total += int(table[d][0][row])
                if total >= INFEASIBLE:
                    continue
                if noise:
                    total = int(total * (1.0 + noise * self.rng.random()))
                if total < best_cost:
                    best_cost, best_pat = total, k
            if best_pat < 0:
                continue
            touched = []
            for d in spec.patterns[best_pat]:
                touched.append(self.insert(t, d, int(table[d][1][row]), int(table[d][2][row])))
            self.pattern[t] = best_pat
            for seq in touched:
                self.two_opt(seq)
            if row + 1 < len(tasks):
                rest = arr[row + 1 :]
                for d in spec.patterns[best_pat]:
                    c, r, p = self.best_insertions(d, rest)
                    pad = row + 1
                    table[d] = (
                        np.concatenate((table[d][0][:pad], c)),
                        np.concatenate((table[d][1][:pad], r)),
                        np.concatenate((table[d][2][:pad], p)),
                    )

    # -- moves -----------------------------------------------------------------------------
    def insert(self, task: int, day: int, route: int, position: int) -> list[int]:
        self._cache.pop(day, None)
        if route < 0:
            self.routes[day].append([task])
            return self.routes[day][-1]
        self.routes[day][route].insert(position, task)
        return self.routes[day][route]

    def remove(self, task: int) -> None:
        pat = self.pattern[task]
        if pat is None:
            return
        for day in self.p.tasks[task].patterns[pat]:
            day_routes = self.routes[day]
            for r, seq in enumerate(day_routes):
                if task in seq:
                    seq.remove(task)
                    if not seq:
                        del day_routes[r]
                    break
            self._cache.pop(day, None)
        self.pattern[task] = None

    def two_opt(self, seq: list[int]) -> None:
        """Improve one route in place by 2-opt (reversal) moves, first improvement."""
        n = len(seq)
        if n < 3:
            return
        m = self.m
        d = self.p.depot
        improved = True
        while improved:
            improved = False
            locs = [d, *(int(self.loc[t]) for t in seq), d]
            for i in range(1, n):
                a, b = locs[i - 1], locs[i]
                for j in range(i + 1, n + 1):
                    c, e = locs[j], locs[j + 1]
                    if m[a, c] + m[b, e] < m[a, b] + m[c, e]:
                        seq[i - 1 : j] = seq[i - 1 : j][::-1]
                        improved = True
                        break
                if improved:
                    break

    def invalidate(self) -> None:
        self._cache.clear()

    def snapshot(self) -> _Snapshot:
        return (
            [[list(r) for r in day] for day in self.routes],
            list(self.pattern),
            dict(self._cache),
        )

    def restore(self, snap: _Snapshot) -> None:
        self.routes = [[list(r) for r in day] for day in snap[0]]
        self.pattern = list(snap[1])
        self._cache = dict(snap[2])


def _chain_order(search: _Search) -> list[int]:
    """Tasks along a nearest-neighbour chain starting from the one farthest from the depot."""
    n = len(search.p.tasks)
    if n == 0:
        return []
    left = np.ones(n, dtype=bool)
    locs = search.loc
    current = int(np.argmax(search.m[search.p.depot, locs]))
    order = []
    for _ in range(n):
        order.append(current)
        left[current] = False
        if not left.any():
            break
        dist = np.where(left, search.m[locs[current], locs], INFEASIBLE)
        current = int(dist.argmin())
    return order


def _related(search: _Search, size: int) -> list[int]:
    """A seed task and its nearest served neighbours (or a random set, a third of the time)."""
    served = [t for t, p in enumerate(search.pattern) if p is not None]
    if not served:
        return []
    rng = search.rng
    if rng.random() < 0.3:
        return rng.sample(served, min(size, len(served)))
    seed = rng.choice(served)
    dist = search.m[search.loc[seed], search.loc[served]]
    order = np.argsort(dist, kind="stable")[:size]
    return [served[int(i)] for i in order]


def _route_removal(search: _Search) -> list[int]:
    """Every task of one random route of one random day."""
    days = [d for d, r in enumerate(search.routes) if r]
    if not days:
        return []
    day = search.rng.choice(days)
    return list(search.rng.choice(search.routes[day]))


def _polish_day(search: _Search, day: int, seconds: float) -> None:
    """Re-route one day with :func:`solver.solve`, starting from the current routes."""
    routes = search.routes[day]
    tasks = [t for r in routes for t in r]
    if len(tasks) < 3:
        return
    p = search.p
    fleet = p.fleets[day]
    horizon = fleet.max_duration
    if horizon is None:
        horizon = int(search.m.max()) * (len(tasks) + 2) + sum(search.dur[t] for t in tasks)
    visits = tuple(
        VisitSpec(
            location=int(search.loc[t]),
            duration=search.dur[t],
            windows=((0, horizon),),
            demand=search.dem[t],
        )
        for t in tasks
    )
    vehicles = tuple(
        VehicleSpec(
            start_location=p.depot,
            end_location=p.depot,
            shift_start=0,
            shift_end=horizon,
            capacity=fleet.capacity,
            max_duration=fleet.max_duration,
        )
        for _ in range(fleet.vehicles)
    )
    problem = RoutingProblem(matrices=(search.m,), visits=visits, vehicles=vehicles)
    index_of = {t: i for i, t in enumerate(tasks)}
    start = [[index_of[t] for t in r] for r in routes]
    result = solve(problem, SolveParams(time_limit=seconds), initial_routes=start)
    if result.dropped:
        return
    new = [[tasks[i] for i in r.visits] for r in result.routes if r.visits]
    if sum(search.travel(r) for r in new) < sum(search.travel(r) for r in routes):
        search.routes[day] = new
        search._cache.pop(day, None)


def _compiled(
    problem: PeriodicProblem,
    params: SolveParams,
    start: _Search,
    budget: float,
    elapsed: Callable[[], float],
    progress: ProgressCallback | None,
) -> PeriodicResult:
    """Search from the constructed plan ``start`` with the compiled string-removal search of
    :mod:`solver.periodic_sisr` for the rest of the ``budget`` (seconds)."""

    def report(best: int) -> None:
        if progress is not None:
            progress(min(1.0, elapsed() / budget), best)

    found = periodic_sisr.search(
        problem.matrix,
        problem.depot,
        [(t.location, t.duration, t.demand, t.patterns) for t in problem.tasks],
        [(f.vehicles, f.capacity, f.max_duration) for f in problem.fleets],
        time_limit=max(0.0, budget - elapsed()),
        seed=params.seed,
        iteration_limit=params.iteration_limit,
        initial=(start.routes, start.pattern),
        progress=report,
    )
    return PeriodicResult(
        days=found.days,
        patterns=found.patterns,
        cost=sum(route_cost(problem, r) for day in found.days for r in day),
        stats={"seconds": elapsed(), "iterations": float(found.iterations)},
    )


def solve_periodic(
    problem: PeriodicProblem,
    params: SolveParams = SolveParams(),  # noqa: B008 (frozen value)
    *,
    progress: ProgressCallback | None = None,
) -> PeriodicResult:
    """Choose patterns and routes for ``problem`` within ``params.time_limit`` seconds.

    Tasks that fit no pattern (capacity, duration or fleet) are left with pattern ``None``.
    ``progress(fraction, best_cost)`` is called now and then. The same ``seed`` and an
    ``iteration_limit`` (LNS iterations) give the same result. Raises ``ValueError`` when a
    pattern names a day outside the period.
    """
    t0 = time.perf_counter()
    for i, task in enumerate(problem.tasks):
        for pat in task.patterns:
            if any(d < 0 or d >= problem.period for d in pat):
                raise ValueError(
                    f"task {i}: pattern {pat} has a day outside 0..{problem.period - 1}"
                )
    rng = random.Random(params.seed)
    search = _Search(problem, rng)
    budget = max(0.01, params.time_limit)

    def elapsed() -> float:
        return time.perf_counter() - t0

    # Construction: tasks with one pattern first, then along a nearest-neighbour chain so that
    # neighbours are inserted one after the other and end up on the same days and routes.
    order = sorted(_chain_order(search), key=lambda t: len(problem.tasks[t].patterns) > 1)
    search.place_all([t for t in order if problem.tasks[t].patterns])

    if HAVE_NUMBA:
        return _compiled(problem, params, search, budget, elapsed, progress)

    def score() -> tuple[int, int]:
        return (search.unplaced(), search.cost())

    best = search.snapshot()
    best_score = current = score()
    n = len(problem.tasks)
    iterations = 0
    limit = params.iteration_limit
    rounds = 3
    for rnd in range(rounds):
        round_end = budget * (0.2 + 0.8 * (rnd + 1) / rounds) * 0.75
        # A worsening of about three customers' share of the plan's travel may be accepted at
        # first: a share of the whole that shrinks as the instance grows.
        start_threshold = min(0.03, 3.0 / max(1, n))
        round_start = elapsed()
        while n and elapsed() < round_end and (limit is None or iterations < limit):
            iterations += 1
            frac = (elapsed() - round_start) / max(1e-9, round_end - round_start)
            threshold = start_threshold * (1.0 - min(1.0, frac))
            snap = search.snapshot()
            # Small related sets: many cheap iterations beat few large ones here.
            size = rng.randint(3, max(4, min(10, n // 4)))
            removed = _route_removal(search) if rng.random() < 0.15 else _related(search, size)
            removed += [
                t for t, p in enumerate(search.pattern) if p is None and problem.tasks[t].patterns
            ]
            for t in removed:
                search.remove(t)
            rng.shuffle(removed)
            if rng.random() < 0.5:
                removed.sort(
                    key=lambda t: (len(problem.tasks[t].patterns), -problem.tasks[t].demand)
                )
            noise = 0.1 if rng.random() < 0.3 else 0.0
            search.place_all(list(dict.fromkeys(removed)), noise=noise)
            new = score()
            # Record-to-record travel: near the best, not near the last accepted, so the walk
            # cannot drift away through many small losses.
            if new[0] < current[0] or (
                new[0] <= best_score[0] and new[1] <= best_score[1] * (1.0 + threshold)
            ):
                current = new
                if new < best_score:
                    best_score, best = new, search.snapshot()
            else:
                search.restore(snap)
            if progress is not None and iterations % 50 == 0:
                progress(min(1.0, elapsed() / budget), best_score[1])
        # Polish every day of the best plan with the OR-Tools router.
        search.restore(best)
        if limit is None:
            share = (budget * (0.2 + 0.8 * (rnd + 1) / rounds) - elapsed()) / max(1, problem.period)
            for day in range(problem.period):
                if share > 0.05:
                    _polish_day(search, day, share)
            polished = score()
            if polished < best_score:
                best_score, best = polished, search.snapshot()
            search.restore(best)
            current = best_score
        if progress is not None:
            progress(min(1.0, elapsed() / budget), best_score[1])

    search.restore(best)
    return PeriodicResult(
        days=tuple(tuple(tuple(r) for r in day) for day in search.routes),
        patterns=tuple(search.pattern),
        cost=search.cost(),
        stats={"seconds": elapsed(), "iterations": float(iterations)},
    )
