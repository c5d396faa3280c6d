"""Periodic vehicle routing: choose a day pattern per task and route every day of the period.

A :class:`PeriodicProblem` has a period of ``T`` day indices, one depot, tasks that must be
served on exactly the days of one of their candidate patterns, and per day a fleet of identical
vehicles with a capacity and a route duration bound (duration = travel + service). Everything is
an integer in one unit; nothing here knows about households or files.

The search (:func:`solve_periodic`) builds a first plan by cheapest pattern insertion, then runs
a large-neighbourhood search: remove related tasks from all their days, re-insert each with its
cheapest pattern, polish the touched routes with 2-opt, accept by a falling threshold. Between
rounds every day is polished by the OR-Tools router (:mod:`solver.routing`) from the current
routes.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

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


class _Search:
    """The mutable state of the search: routes per day, pattern per task, cached figures."""

    def __init__(self, problem: PeriodicProblem, rng: random.Random) -> None:
        self.p = problem
        self.rng = rng
        self.m = np.asarray(problem.matrix, dtype=np.int64)
        self.loc = np.array([t.location for t in problem.tasks], dtype=np.int64)
        self.dem = [t.demand for t in problem.tasks]
        self.dur = [t.duration for t in problem.tasks]
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
        return sum(self.travel(r) for day in self.routes for r in day)

    def unplaced(self) -> int:
        return sum(1 for p in self.pattern if p is None)

    def _day_arrays(self, day: int) -> tuple[np.ndarray, ...]:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        d = self.p.depot
        a: list[int] = []
        b: list[int] = []
        rid: list[int] = []
        pos: list[int] = []
        loads: list[int] = []
        durs: list[int] = []
        for r, seq in enumerate(self.routes[day]):
            locs = [d, *(int(self.loc[t]) for t in seq), d]
            a.extend(locs[:-1])
            b.extend(locs[1:])
            rid.extend([r] * (len(locs) - 1))
            pos.extend(range(len(locs) - 1))
            loads.append(sum(self.dem[t] for t in seq))
            durs.append(self.travel(seq) + sum(self.dur[t] for t in seq))
        aa, bb = np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
        arrays = (
            aa,
            bb,
            np.array(rid, dtype=np.int64),
            np.array(pos, dtype=np.int64),
            np.array(loads, dtype=np.int64),
            np.array(durs, dtype=np.int64),
            self.m[aa, bb] if len(aa) else np.zeros(0, dtype=np.int64),
        )
        self._cache[day] = arrays
        return arrays

    def best_insertion(self, task: int, day: int) -> tuple[int, int, int]:
        """(added travel, route, position) of the cheapest feasible insertion; route ``-1``
        opens a new route; added travel ``INFEASIBLE`` when none fits."""
        fleet = self.p.fleets[day]
        li = int(self.loc[task])
        q, s = self.dem[task], self.dur[task]
        cap = fleet.capacity
        dmax = fleet.max_duration
        best = (INFEASIBLE, -2, -2)
        if cap is not None and q > cap:
            return best
        a, b, rid, pos, loads, durs, ab = self._day_arrays(day)
        if len(a):
            delta = self.m[a, li] + self.m[li, b] - ab
            ok = np.ones(len(a), dtype=bool)
            if cap is not None:
                ok &= loads[rid] + q <= cap
            if dmax is not None:
                ok &= durs[rid] + delta + s <= dmax
            if ok.any():
                masked = np.where(ok, delta, INFEASIBLE)
                k = int(masked.argmin())
                best = (int(masked[k]), int(rid[k]), int(pos[k]) + 1)
        if len(self.routes[day]) < fleet.vehicles:
            d = self.p.depot
            delta0 = int(self.m[d, li] + self.m[li, d])
            if (dmax is None or delta0 + s <= dmax) and delta0 < best[0]:
                best = (delta0, -1, 0)
        return best

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

    def place(self, task: int, *, noise: float = 0.0) -> bool:
        """Insert ``task`` with its cheapest pattern; False when no pattern fits."""
        spec = self.p.tasks[task]
        per_day: dict[int, tuple[int, int, int]] = {}
        best_cost, best_pat = INFEASIBLE, -1
        for k, pat in enumerate(spec.patterns):
            total = 0
            for day in pat:
                if day not in per_day:
                    per_day[day] = self.best_insertion(task, day)
                total += per_day[day][0]
                if total >= INFEASIBLE:
                    break
            if total >= INFEASIBLE:
                continue
            if noise:
                total = int(total * (1.0 + noise * self.rng.random()))
            if total < best_cost:
                best_cost, best_pat = total, k
        if best_pat < 0:
            return False
        touched = []
        for day in spec.patterns[best_pat]:
            _, r, pos = per_day[day]
            touched.append(self.insert(task, day, r, pos))
        self.pattern[task] = best_pat
        for seq in touched:
            self.two_opt(seq)
        return True

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

    def snapshot(self) -> tuple[list[list[list[int]]], list[int | None]]:
        return [[list(r) for r in day] for day in self.routes], list(self.pattern)

    def restore(self, snap: tuple[list[list[list[int]]], list[int | None]]) -> None:
        self.routes = [[list(r) for r in day] for day in snap[0]]
        self.pattern = list(snap[1])
        self._cache.clear()


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
    """Re-route one day with the OR-Tools router, starting from the current routes."""
    from solver.routing import build_model, decode
    from solver.search import search_parameters

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
    model = build_model(problem)
    sp = search_parameters(time_limit=seconds)
    model.routing.CloseModelWithParameters(sp)
    index_of = {t: i for i, t in enumerate(tasks)}
    hint = [[model.index_of_visit(index_of[t]) for t in r] for r in routes]
    hint += [[] for _ in range(fleet.vehicles - len(hint))]
    start = model.routing.ReadAssignmentFromRoutes(hint, True)
    if start is None:
        return
    solution = model.routing.SolveFromAssignmentWithParameters(start, sp)
    if solution is None:
        return
    result = decode(model, solution)
    if result.dropped:
        return
    new = [[tasks[i] for i in r.visits] for r in result.routes if r.visits]
    if sum(search.travel(r) for r in new) < sum(search.travel(r) for r in routes):
        search.routes[day] = new
        search._cache.pop(day, None)


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

    # Construction: hardest tasks first (fewest patterns, most work per period).
    order = sorted(
        range(len(problem.tasks)),
        key=lambda t: (
            len(problem.tasks[t].patterns),
            -problem.tasks[t].demand * len(problem.tasks[t].patterns[0] or (0,)),
        ),
    )
    for t in order:
        if problem.tasks[t].patterns:
            search.place(t)

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
        start_threshold = 0.01
        round_start = elapsed()
        while n and elapsed() < round_end and (limit is None or iterations < limit):
            iterations += 1
            frac = (elapsed() - round_start) / max(1e-9, round_end - round_start)
            threshold = start_threshold * (1.0 - min(1.0, frac))
            snap = search.snapshot()
            size = rng.randint(3, max(4, min(40, n // 4)))
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
            for t in dict.fromkeys(removed):
                search.place(t, noise=noise)
            new = score()
            if new[0] < current[0] or (
                new[0] == current[0] and new[1] <= current[1] * (1.0 + threshold)
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
