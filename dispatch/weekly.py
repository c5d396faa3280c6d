"""The weekly planner (周排班): visit days, caregivers and daily routes of a whole week.

The way through :func:`plan_week`:

1. every request gets its candidate day patterns (:func:`candidate_patterns`: the day sets of
   ``visits_per_week`` days inside its allowed days with ``min_gap_days`` spacing, or its fixed
   ``patterns``); requests that no caregiver can serve, or whose visits cannot be spread, are
   explained at once;
2. the greedy week (:func:`dispatch.greedy.plan_greedy`, the dispatcher's rules) gives first
   days and routes; stations whose caregivers share no request are planned apart (a caregiver
   works for one station), the others together; groups are planned one after another or, with
   ``workers``, in a pool of processes, each within its share of one deadline;
3. every station-day is routed again starting from its current routes (by the router's
   compiled string-removal search where it keeps every rule of the day, else by OR-Tools'
   guided local search) and kept only when it serves more (by priority) or as much with less
   travel — so the plan never serves less than the greedy one; routes the router's model
   cannot represent (a rest placed where the model has no room for it) stay as they are; a
   two-person visit keeps the two caregivers and start the greedy week gave it while the rest
   of both routes is searched again; the search prefers each request's caregivers of the
   other days (:data:`CONTINUITY_MINUTES`);
   a group of several stations, whose days are too large for the router, re-routes each
   station's routes of a day among themselves instead;
4. requests planned short get visits added on days that keep them inside a pattern; one
   whose days fit no pattern (the greedy week's first fitting days can leave Tuesday and
   Friday for three visits two days apart) moves to the pattern that keeps most of them, and
   what that pushes out goes to another of its days; in a group of several stations this
   re-routes only the request's own station;
5. a large-neighbourhood search moves one request to another of its patterns, or keeps a
   household with its preferred or most frequent caregiver (continuity of care), re-routing the
   days it touches and keeping what is worth more;
6. whole routes are handed to the caregivers who make their requests' other visits (same
   station and travel mode, so travel does not change).

Weekly minutes hold because each day is routed with the caregivers' minutes of the other days
already counted (the daily router bounds the route length by what is left); every route is
re-timed with the rest in its best gap and checked against the weekly limit.
"""

from __future__ import annotations

import copyreg
import multiprocessing
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import combinations, pairwise
from types import MappingProxyType
from typing import Any, Protocol

from ortools.constraint_solver import routing_enums_pb2
from ortools.graph.python.linear_sum_assignment import SimpleLinearSumAssignment

from dispatch.daily import DayProblem, DayVisit, compile_day, decode_day
from dispatch.diagnose import eligible_caregivers, fits_alone, qualified
from dispatch.greedy import plan_greedy
from dispatch.haversine import scenario_travel
from dispatch.kpis import ScenarioIndex, plan_kpis, route_leg_minutes
from dispatch.model import (
    DAYS,
    Caregiver,
    Household,
    Plan,
    Route,
    Scenario,
    ServiceRequest,
    Unassigned,
)
from dispatch.reasons import Reason
from dispatch.travel import TravelProvider, haversine_km, provider_for
from solver import sisr
from solver.periodic import (
    _add_vehicle_costs,
    _polish_parameters,
    improve_routes,
    routes_accepted,
)
from solver.problem import RoutingProblem, SolvedRoute, SolveParams, SolverResult
from solver.routing import build_model, decode, descend_from, solve
from solver.schedule import schedule_route

__all__ = [
    "CONTINUITY_MINUTES",
    "POLISH_SECONDS_PER_VISIT",
    "Progress",
    "ProgressFn",
    "candidate_patterns",
    "plan_week",
]

DEFAULT_PARAMS = SolveParams()

#: Seconds of routing a day needs per visit to come close to what longer searches find
#: (measured on generated districts: a 75-visit day gains 15 % in 0.5 s, 37 % in 1 s, 40 % in
#: 3 s against the greedy routes).
POLISH_SECONDS_PER_VISIT = 0.03
#: Seconds kept for adding the missing visits of each request the first week plans short (a
#: move to another pattern re-routes three or four days).
FILL_SECONDS_PER_SHORT = 1.0

#: Minutes of travel the router gives up to keep a visit with the caregiver who makes the
#: request's other visits this week (continuity of care, 服务连续性).
CONTINUITY_MINUTES = 8


@dataclass(frozen=True)
class Progress:
    """A progress report of :func:`plan_week`: ``stage``, ``fraction`` done (0..1), a message,
    the best KPIs so far (empty until a first plan exists) and the best ``plan`` so far (given at
    the end of each phase, ``None`` in between)."""

    stage: str
    fraction: float
    message: str
    kpis: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    plan: Plan | None = None


ProgressFn = Callable[[Progress], None]


# -- the time budget -----------------------------------------------------------------------

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


def _spaced(days: Sequence[str], gap: int) -> bool:
    idx = [DAYS.index(d) for d in days]
    return all(b - a >= gap for a, b in pairwise(idx))


def candidate_patterns(
    request: ServiceRequest, days: Sequence[str], *, visits: int | None = None
) -> tuple[tuple[str, ...], ...]:
    """Day sets on which the request's visits may fall, each in week order.

    ``days`` are the days that may be used (the scenario's, possibly narrowed to days someone
    qualified works). With fixed ``patterns`` those lying inside ``days`` are returned (a partial
    pattern is never invented); otherwise every set of ``visits`` (default ``visits_per_week``)
    days allowed by the request and spaced by ``min_gap_days``.
    """
    k = request.visits_per_week if visits is None else visits
    usable = [d for d in DAYS if d in days and (request.days is None or d in request.days)]
    if request.patterns is not None:
        return tuple(
            tuple(d for d in DAYS if d in p)
            for p in request.patterns
            if len(p) == k and all(d in usable for d in p)
        )
    if k <= 0:
        return ((),)
    return tuple(c for c in combinations(usable, k) if _spaced(c, request.min_gap_days))


@dataclass
class _Task:
    """A request being planned: where its visits go and who may serve them."""

    household: Household
    request: ServiceRequest
    patterns: tuple[tuple[str, ...], ...]
    primary: str  # the caregiver chosen when the greedy week does not serve the request
    station: str
    days: tuple[str, ...] = ()
    widened: frozenset[str] = frozenset()  # days on which every qualified caregiver may serve
    fixed: tuple[str, ...] | None = None  # the caregivers kept for continuity of care
    pinned: bool = False  # a visit rides on a kept route: its days do not move


@dataclass
class _Outcome:
    routes: dict[tuple[str, str], tuple[Route, ...]]  # (station group, day) -> routes
    dropped: dict[tuple[str, str], list[tuple[DayVisit, Reason, str]]]
    fallback: dict[str, tuple[Reason, str]]  # request -> why the greedy plan left a visit out
    locked: set[tuple[str, str]] = field(default_factory=set)  # (caregiver, day) kept as is
    day_seconds: dict[str, float] = field(default_factory=dict)  # group -> beyond the search


def plan_week(
    scenario: Scenario,
    *,
    travel: TravelProvider | None = None,
    params: SolveParams = DEFAULT_PARAMS,
    progress: ProgressFn | None = None,
    workers: int = 1,
    deterministic: bool = False,
) -> Plan:
    """A contract-v1 plan of every day of ``scenario``.

    ``params.time_limit`` bounds the whole week's search in seconds (the routing is split over
    stations and days); ``travel`` defaults to the scenario's provider (haversine). Requests or
    visits that cannot be met are in ``unassigned`` with a reason and a detail. ``progress`` is
    called with :class:`Progress` reports while solving. With ``workers`` above 1, station
    groups (independent once the greedy week is built) are planned in that many processes
    (``travel`` must then be picklable).

    With ``deterministic`` every sub-solve is bounded by ``params.iteration_limit`` instead of
    seconds and the planner's clock advances by the seconds allotted to each sub-solve
    (:class:`Budget`), so the same scenario, seed and budget give the same plan (any number of
    ``workers`` gives one plan, though not the same one as a single process).

    Raises ``ValueError`` when the scenario's travel provider needs an explicit ``travel``, or
    for ``deterministic`` without ``params.iteration_limit``.
    """
    budget = Budget.deterministic(params) if deterministic else Budget.real(params)
    t0 = budget.now()
    provider = travel if travel is not None else provider_for(scenario)
    report = progress or (lambda _p: None)
    report(Progress("prepare", 0.0, "choosing days and caregivers / 选择服务日与护理员"))

    unassigned: list[Unassigned] = []
    pairs: list[tuple[Household, ServiceRequest]] = []
    tasks = _prepare_tasks(scenario, unassigned, pairs)
    seconds = max(0.05, params.time_limit)

    # A first week by hand's rules, then every station-day improved from it: the routes never
    # get worse than the greedy ones, and every later move starts from the current routes.
    start = plan_greedy(scenario, travel=provider)
    out = _Outcome(routes={}, dropped={}, fallback={})
    groups = _seed_from(scenario, start, tasks, out)
    unassigned.extend(_pairs_missing(start, pairs))
    if progress is not None:
        first = _assemble(scenario, out, unassigned, tasks)
        report(
            Progress(
                "greedy",
                0.1,
                "first plan by hand's rules / 初始方案",
                _kpis(scenario, first),
                first,
            )
        )
    subs = {
        key: _station_scenario(scenario, stations, [t for t in tasks if t.station == key])
        for key, stations in groups.items()
    }
    work = {key: sum(len(t.days) or 1 for t in tasks if t.station == key) for key in subs}
    total_work = max(1, sum(work.values()))
    # Largest groups first, so that the last ones to finish are short.
    order = sorted(subs, key=lambda k: (-work[k], k))
    deadline = t0 + seconds
    pool_size = min(max(1, workers), len(order))
    done = 0

    def finished(key: str) -> None:
        nonlocal done
        done += work[key]
        if progress is None:
            return  # the KPIs of a report take time worth saving
        best = _assemble(scenario, out, unassigned, tasks)
        report(
            Progress(
                "route",
                0.1 + 0.85 * done / total_work,
                f"stations {key} planned / 站点 {key} 已排",
                _kpis(scenario, best),
                best,
            )
        )

    if pool_size == 1:
        for key in order:
            left = deadline - budget.now()
            share = left * work[key] / max(1, total_work - done)
            group = [t for t in tasks if t.station == key]
            _plan_group(subs[key], key, group, provider, budget, share, deadline, out)
            finished(key)
    else:
        _plan_groups_in_pool(
            subs, order, tasks, provider, budget, deadline, out, pool_size, work, finished
        )
    plan = _assemble(scenario, out, unassigned, tasks)
    kpis = _kpis(scenario, plan)
    kpis["solver_seconds"] = round(budget.now() - t0, 3)
    plan = replace(plan, kpis=MappingProxyType(kpis))
    report(Progress("done", 1.0, "plan ready / 计划完成", plan.kpis, plan))
    return plan


def _plan_group(
    sub: Scenario,
    key: str,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    deadline: float,
    out: _Outcome,
) -> None:
    """Every improvement of one station group within ``seconds`` (and before ``deadline``, on
    the budget's clock): re-route each day, add missing visits, move requests between
    patterns and caregivers, then hand routes over for continuity."""
    began = budget.now()
    seconds = max(0.0, min(seconds, deadline - budget.now()))
    # Handing routes over is quick but not free: keep a little for it.
    end = began + 0.97 * seconds
    stations = sorted({c.station for c in sub.caregivers})
    # Missing visits count more than travel: requests planned short keep time for filling.
    short = sum(1 for t in group if len(t.days) < max(len(p) for p in t.patterns))
    reserve = max(0.15 * seconds, FILL_SECONDS_PER_SHORT * short)
    if len(stations) > 1:
        # Stations that share requests make days too large for the router in the time there
        # is: improve each station's routes of a day among themselves, round after round,
        # then add missing visits to the routes of their own station.
        polished = began + max(0.5 * seconds, seconds - reserve) if short else end
        _polish_by_station(sub, key, stations, provider, budget, min(end, polished), out)
        left = end - budget.now()
        if short and left > 0.05:
            _fill_group(sub, key, group, provider, budget, left, out, stations=stations)
        _relabel_group(sub, key, provider, out)
        return
    # The router needs about POLISH_SECONDS_PER_VISIT to converge on a day: large groups
    # spend most of their time there, small ones leave more to the moves that follow.
    visits = sum(len(t.days) for t in group)
    polish = max(0.6 * seconds, min(0.85 * seconds, POLISH_SECONDS_PER_VISIT * visits))
    polish = max(0.5 * seconds, min(polish, seconds - reserve))
    _polish_group(sub, key, group, provider, budget, began + polish, out)
    now = budget.now()
    # Their share of time holds even after an overrun.
    fill = max(began + 0.75 * seconds - now, min(reserve, end - now))
    if fill > 0.05:
        _fill_group(sub, key, group, provider, budget, fill, out)
    rng = random.Random(f"{budget.params.seed}:{key}")
    left = end - budget.now()
    if left > 0.05:
        _improve_station(sub, key, group, provider, budget, left, out, rng)
    _relabel_group(sub, key, provider, out)


def _polish_by_station(
    sub: Scenario,
    key: str,
    stations: Sequence[str],
    provider: TravelProvider,
    budget: Budget,
    end: float,
    out: _Outcome,
) -> None:
    """Re-route each station's routes of each day with the visits they hold, keeping the new
    ones when they serve the same with less travel, until ``end`` (on the budget's clock)."""
    days = [d for d in sub.days if out.routes.get((key, d))]
    pieces = [(d, st) for d in days for st in stations]
    size = {
        (d, st): sum(
            len(r.stops)
            for r in out.routes.get((key, d), ())
            if sub.caregiver(r.caregiver).station == st
        )
        for d, st in pieces
    }
    pieces = [p for p in pieces if size[p] > 1]
    total = max(1, sum(size[p] for p in pieces))
    overhead = 0.0  # compiling and decoding, beyond the search time, measured
    for round_ in range(3):
        for i, piece in enumerate(pieces):
            now = budget.now()
            if round_ == 0:
                left = end - now - overhead * (len(pieces) - i)
                share = left * size[piece] / sum(size[p] for p in pieces[i:])
            else:  # later rounds: what is left, spread over the whole week again
                share = (end - now) * size[piece] / total
            if share <= 0.05 or now + share + overhead > end:
                return
            day, station = piece
            _reroute_station_day(sub, key, day, station, provider, budget, share, out)
            overhead = max(overhead, budget.now() - now - share)


def _reroute_station_day(
    sub: Scenario,
    key: str,
    day: str,
    station: str,
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
) -> None:
    """Route one station's caregivers of ``day`` again with the visits their routes hold; keep
    the new routes when they serve all of them with less travel (or as much, for more
    preferred caregivers)."""
    routes = out.routes.get((key, day), ())
    mine = {c.id for c in sub.caregivers if c.station == station}
    part = [r for r in routes if r.caregiver in mine]
    visits = [DayVisit(s.request, s.household) for r in part for s in r.stops]
    if len(visits) < 2:
        return
    new, _, _ = _solve_day(
        replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id in mine)),
        day,
        visits,
        {v.request: None for v in visits},
        provider=provider,
        used=_minutes_used(out, key, day, sub.days),
        budget=budget,
        seconds=seconds,
        hint=part,
        locked=frozenset(c for c, d in out.locked if d == day),
        affinity=_affinity(out, key, day),
        fixed=[r for r in routes if r.caregiver not in mine],
    )
    served = {s.request for r in new for s in r.stops}
    if any(v.request not in served for v in visits):
        return
    if _day_value(sub, new) <= _day_value(sub, part):
        return
    others = [r for r in routes if r.caregiver not in mine]
    out.routes[(key, day)] = tuple(sorted((*others, *new), key=lambda r: r.caregiver))


_TaskState = tuple[tuple[str, ...], tuple[str, ...] | None, frozenset[str]]


def _group_in_worker(
    sub: Scenario,
    key: str,
    group: list[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    deadline: float,
    part: _Outcome,
) -> tuple[_Outcome, dict[str, _TaskState]]:
    """:func:`_plan_group` in a worker process: the group's routes and its tasks' state."""
    _plan_group(sub, key, group, provider, budget, seconds, deadline, part)
    return part, {t.request.id: (t.days, t.fixed, t.widened) for t in group}


def _plan_groups_in_pool(
    subs: Mapping[str, Scenario],
    order: Sequence[str],
    tasks: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    deadline: float,
    out: _Outcome,
    workers: int,
    work: Mapping[str, int],
    finished: Callable[[str], None],
) -> None:
    """Station groups are independent once the greedy week is there: plan them in ``workers``
    processes, each group's time in proportion to its work, and merge what comes back."""
    _register_pickling()
    total = max(1, sum(work.values()))
    left = max(0.0, deadline - budget.now())
    by_request = {t.request.id: t for t in tasks}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {}
        for key in order:
            group = [t for t in tasks if t.station == key]
            part = _Outcome(
                routes={k: v for k, v in out.routes.items() if k[0] == key},
                dropped={},
                fallback={},
                locked=set(out.locked),
                day_seconds={},
            )
            share = left * min(1.0, workers * work[key] / total)
            futures[
                pool.submit(
                    _group_in_worker,
                    subs[key],
                    key,
                    group,
                    provider,
                    budget,
                    share,
                    deadline,
                    part,
                )
            ] = key
        for future in as_completed(futures):
            key = futures[future]
            part, states = future.result()
            out.routes.update(part.routes)
            out.dropped.update(part.dropped)
            for rid, (days, fixed, widened) in states.items():
                task = by_request[rid]
                task.days, task.fixed, task.widened = days, fixed, widened
            finished(key)


def _register_pickling() -> None:
    """Scenarios hold read-only mappings, which ``pickle`` cannot send to a worker as they are."""
    copyreg.pickle(MappingProxyType, _proxy_reduce)


def _proxy_reduce(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _read_only, (dict(proxy),)


def _read_only(values: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(values)


def _pairs_missing(
    start: Plan, pairs: Sequence[tuple[Household, ServiceRequest]]
) -> list[Unassigned]:
    """Two-person visits keep the days, caregivers and starts the greedy week gave them (the
    rest of their routes is searched again around them); what it could not place is reported
    with its reason."""
    days: dict[str, set[str]] = defaultdict(set)
    for route in start.routes:
        for stop in route.stops:
            days[stop.request].add(route.day)
    why = {u.request: (u.reason, u.detail) for u in start.unassigned}
    missing = []
    for h, r in pairs:
        short = r.visits_per_week - len(days.get(r.id, ()))
        if short > 0:
            reason, detail = why.get(
                r.id,
                (
                    Reason.CAPACITY.value,
                    "no two qualified caregivers were free together; assign it by hand "
                    "(双人服务需人工安排)",
                ),
            )
            missing.append(Unassigned(r.id, h.id, short, reason, detail))
    return missing


def _seed_from(
    scenario: Scenario, start: Plan, tasks: Sequence[_Task], out: _Outcome
) -> dict[str, frozenset[str]]:
    """Take the greedy plan's days and routes; group stations whose caregivers share requests
    (they must be routed together). Returns the groups by key; sets ``task.station`` to its
    group's key."""
    station_of = {c.id: c.station for c in scenario.caregivers}
    parent = {s.id: s.id for s in scenario.stations}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    served_by: dict[str, set[str]] = defaultdict(set)
    days_of: dict[str, set[str]] = defaultdict(set)
    for route in start.routes:
        for stop in route.stops:
            served_by[stop.request].add(station_of[route.caregiver])
            days_of[stop.request].add(route.day)
    for t in tasks:
        stations = served_by.get(t.request.id) or {t.station}
        first, *rest = sorted(stations)
        for other in rest:
            parent[find(other)] = find(first)
    for stations in served_by.values():
        first, *rest = sorted(stations)
        for other in rest:
            parent[find(other)] = find(first)
    members: dict[str, set[str]] = defaultdict(set)
    for sid in parent:
        members[find(sid)].add(sid)
    keys = {root: "+".join(sorted(ms)) for root, ms in members.items()}
    for t in tasks:
        stations = served_by.get(t.request.id) or {t.station}
        t.station = keys[find(min(stations))]
        t.days = tuple(d for d in DAYS if d in days_of.get(t.request.id, ()))
    by_request = {t.request.id: t for t in tasks}
    for route in start.routes:
        key = keys[find(station_of[route.caregiver])]
        out.routes[(key, route.day)] = (*out.routes.get((key, route.day), ()), route)
        if any(s.request not in by_request for s in route.stops):
            # A two-person visit: it keeps its caregivers and start (see _pair_anchors), and the
            # requests of the route keep their days.
            out.locked.add((route.caregiver, route.day))
            for s in route.stops:
                if s.request in by_request:
                    by_request[s.request].pinned = True
    for u in start.unassigned:
        out.fallback.setdefault(u.request, (Reason(u.reason), u.detail))
    return {keys[root]: frozenset(ms) for root, ms in members.items()}


def _kpis(scenario: Scenario, plan: Plan) -> dict[str, float]:
    return plan_kpis(scenario, plan, travel=scenario_travel(scenario))


# -- preparation ---------------------------------------------------------------------------


def _prepare_tasks(
    scenario: Scenario,
    unassigned: list[Unassigned],
    pairs: list[tuple[Household, ServiceRequest]],
) -> list[_Task]:
    """Tasks of every servable request; what cannot be served at all goes to ``unassigned``,
    two-person requests (kept as the greedy week plans them) to ``pairs``."""
    stations = {s.id: s for s in scenario.stations}
    tasks: list[_Task] = []
    assigned_minutes: dict[str, float] = defaultdict(float)
    for h in scenario.households:
        by_station = sorted(
            stations.values(), key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon)
        )
        rank = {s.id: i for i, s in enumerate(by_station)}
        primary: str | None = None
        for r in sorted(h.requests, key=lambda q: -q.visits_per_week * q.minutes):
            if r.visits_per_week < 1:
                continue
            able = [c for c in scenario.caregivers if qualified(c, h, r)]
            if not able:
                _, reason, detail = eligible_caregivers(scenario, h, r, (), day=scenario.days[0])
                unassigned.append(
                    _unassigned(
                        h, r, r.visits_per_week, reason or Reason.NO_QUALIFIED_CAREGIVER, detail
                    )
                )
                continue
            if r.staff > 1:
                pairs.append((h, r))
                continue
            work_days = [d for d in scenario.days if any(d in c.shifts for c in able)]
            patterns = candidate_patterns(r, work_days)
            k = r.visits_per_week
            while not patterns and k > 1:
                k -= 1
                patterns = candidate_patterns(r, work_days, visits=k)
            if not patterns:
                allowed = [d for d in scenario.days if r.days is None or d in r.days]
                unassigned.append(
                    _unassigned(
                        h,
                        r,
                        r.visits_per_week,
                        Reason.NO_SHIFT_ON_ALLOWED_DAYS,
                        f"{len(able)} qualified caregiver(s) but none works on "
                        f"{', '.join(allowed) or 'the allowed days'}; a shift on one of them "
                        "would fit",
                    )
                )
                continue
            if k < r.visits_per_week:
                unassigned.append(_spacing_shortfall(h, r, k, work_days))
            if primary is None or primary not in {c.id for c in able}:
                primary = _pick_primary(h, r, able, rank, assigned_minutes)
            assigned_minutes[primary] += k * r.minutes
            station = scenario.caregiver(primary).station
            tasks.append(_Task(h, r, patterns, primary, station))
    return tasks


def _spacing_shortfall(
    h: Household, r: ServiceRequest, k: int, work_days: Sequence[str]
) -> Unassigned:
    days = [d for d in work_days if r.days is None or d in r.days]
    what = (
        "none of its fixed patterns fits the days worked"
        if r.patterns is not None
        else f"{r.visits_per_week} visits at least {r.min_gap_days} day(s) apart do not fit "
        f"into {', '.join(days)}"
    )
    return _unassigned(
        h,
        r,
        r.visits_per_week - k,
        Reason.FREQUENCY_SPACING,
        f"{what}; at most {k} visit(s) can be planned — allow more days or a smaller gap "
        "(放宽服务日或间隔)",
    )


def _unassigned(
    h: Household, r: ServiceRequest, missing: int, reason: Reason, detail: str
) -> Unassigned:
    return Unassigned(r.id, h.id, missing, reason.value, detail)


def _capacity_minutes(c: Caregiver, days: Sequence[str]) -> float:
    shift = sum(c.shifts[d][1] - c.shifts[d][0] for d in days if d in c.shifts)
    if c.max_minutes_per_week is not None:
        shift = min(shift, c.max_minutes_per_week)
    return max(1.0, float(shift))


def _pick_primary(
    h: Household,
    r: ServiceRequest,
    able: Sequence[Caregiver],
    rank: Mapping[str, int],
    assigned: Mapping[str, float],
) -> str:
    """The preferred caregiver if qualified and not full, else the nearest station's least
    loaded qualified caregiver (load relative to the caregiver's weekly time)."""

    def fill(c: Caregiver) -> float:
        return (assigned.get(c.id, 0.0) + r.minutes * r.visits_per_week) / _capacity_minutes(
            c, tuple(c.shifts)
        )

    preferred = [c for c in able if c.id in h.preferred_caregivers and fill(c) <= 0.8]
    if preferred:
        return min(preferred, key=fill).id
    best = min(able, key=lambda c: (rank.get(c.station, 99), fill(c) > 0.8, fill(c), c.id))
    return best.id


def _station_scenario(
    scenario: Scenario, stations: frozenset[str], group: Sequence[_Task]
) -> Scenario:
    """The part of ``scenario`` some stations plan: their caregivers and the requests they
    serve."""
    requests: dict[str, list[ServiceRequest]] = defaultdict(list)
    homes: dict[str, Household] = {}
    for t in group:
        requests[t.household.id].append(t.request)
        homes[t.household.id] = t.household
    return replace(
        scenario,
        caregivers=tuple(c for c in scenario.caregivers if c.station in stations),
        households=tuple(replace(h, requests=tuple(requests[h.id])) for h in homes.values()),
    )


# -- routing -------------------------------------------------------------------------------


def _minutes_used(out: _Outcome, station: str, day: str, days: Sequence[str]) -> dict[str, int]:
    used: dict[str, int] = defaultdict(int)
    for d in days:
        if d == day:
            continue
        for route in out.routes.get((station, d), ()):
            used[route.caregiver] += route.back - route.leave
    return used


def _solve_day(
    sub: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    teams: Mapping[str, tuple[str, ...] | None],
    *,
    provider: TravelProvider,
    used: Mapping[str, int],
    budget: Budget,
    seconds: float,
    hint: Sequence[Route] = (),
    locked: frozenset[str] = frozenset(),
    affinity: Mapping[str, Mapping[str, int]] | None = None,
    fixed: Sequence[Route] = (),
    anchor: bool = True,
) -> tuple[tuple[Route, ...], list[tuple[DayVisit, Reason, str]], int]:
    """Route ``visits`` on ``day``; ``teams[request]`` narrows who may serve (``None``: any
    qualified). The search starts from the ``hint`` routes when they are still feasible;
    ``affinity[request][caregiver]`` (visits on the other days) makes the search prefer a
    request's usual caregivers (:data:`CONTINUITY_MINUTES`). ``fixed`` are routes of the day
    that stay as they are (another station's): visits linked to theirs keep the delays.

    The ``locked`` caregivers' hint routes hold two-person visits: with ``anchor`` each pair
    keeps its two caregivers and start (:func:`_pair_anchors`) while the rest of both routes
    is searched again; a pair that cannot be held that way (its partner's route is not in the
    hint), or a result that loses a pair, keeps the locked routes as they are.
    Returns routes, dropped visits with reasons, and the priority-weighted score."""
    routes_whole = partial(
        _solve_day,
        sub,
        day,
        visits,
        teams,
        provider=provider,
        used=used,
        budget=budget,
        seconds=seconds,
        hint=hint,
        locked=locked,
        affinity=affinity,
        fixed=fixed,
        anchor=False,
    )
    if not any(day in c.shifts for c in sub.caregivers) or not visits:
        dropped: list[tuple[DayVisit, Reason, str]] = []
        for v in visits:
            h = sub.household(v.household)
            r = next(q for q in h.requests if q.id == v.request)
            _, reason, detail = eligible_caregivers(sub, h, r, (), day=day)
            dropped.append((v, reason or Reason.NO_SHIFT_ON_ALLOWED_DAYS, detail))
        return (), dropped, 0
    frozen: tuple[Route, ...] = ()
    anchors: dict[str, tuple[tuple[str, int], ...]] = {}
    whole = locked
    if hint and locked and anchor:
        anchors, whole = _pair_anchors(sub, hint, locked)
        if anchors:
            home = {s.request: s.household for r in hint for s in r.stops}
            visits = [v for v in visits if v.request not in anchors]
            visits += [DayVisit(rid, home[rid]) for rid in anchors]
    if hint:
        # Routes the router's model cannot represent (their rest falls where the model has no
        # room for it) stay as they are, with their caregivers and visits out of the search.
        kept = tuple(r for r in hint if r.caregiver in whole)
        fixed_stops = {s.request for r in kept for s in r.stops}
        rest = [v for v in visits if v.request not in fixed_stops]
        others = [r for r in hint if r.caregiver not in whole]
        off_now = {r.caregiver for r in kept}
        frozen = kept + _unrepresentable(
            replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id not in off_now)),
            day,
            rest,
            teams,
            provider,
            used,
            others,
            (*kept, *fixed),
        )
        if frozen:
            off = {r.caregiver for r in frozen}
            if any(len({c for c, _ in who} & off) == 1 for who in anchors.values()):
                return routes_whole()
            held = {s.request for r in frozen for s in r.stops}
            sub = replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id not in off))
            visits = [v for v in visits if v.request not in held]
            hint = [r for r in hint if r.caregiver not in off]
            if not visits or not any(day in c.shifts for c in sub.caregivers):
                return frozen, [], _score(sub, frozen)
    starts = {s.request: s.start for r in (*frozen, *fixed) for s in r.stops}
    compiled = compile_day(
        sub, day, travel=provider, visits=visits, minutes_used=used, fixed_starts=starts
    )
    compiled = _narrow(compiled, teams)
    if anchors:
        held_pairs = {s.request for r in frozen for s in r.stops}
        anchors = {rid: who for rid, who in anchors.items() if rid not in held_pairs}
        compiled = _anchored(compiled, anchors)
    result = None
    if hint:
        start = _hint_indices(compiled, hint)
        result = _improve(
            compiled.problem, start, budget, seconds, _continuity_costs(compiled, affinity or {})
        )
    if result is None:
        result = solve(compiled.problem, budget.solve_params(seconds))
    budget.solved(seconds)
    routes, unassigned = decode_day(sub, compiled, _retime(compiled.problem, result))
    routes = tuple(_rest_after_return(r) for r in routes)
    routes, unassigned = _enforce_weekly_cap(sub, routes, unassigned, used)
    routes = tuple(sorted((*routes, *frozen), key=lambda r: r.caregiver))
    reasons = {u.request: (Reason(u.reason), u.detail) for u in unassigned}
    _weekly_cap_reasons(compiled, reasons)
    dropped = [(v, *reasons[v.request]) for v in visits if v.request in reasons]
    priority = {r.id: r.priority for _, r in sub.requests()}
    served = {s.request for route in routes for s in route.stops}
    score = sum(100 + priority[v.request] for v in visits if v.request in served)
    if anchors and not _pairs_kept(routes, anchors):
        return routes_whole()
    return routes, dropped, score


def _improve(
    problem: RoutingProblem,
    start: Sequence[Sequence[int]],
    budget: Budget,
    seconds: float,
    vehicle_costs: Mapping[int, Sequence[int]],
) -> SolverResult | None:
    """:func:`solver.periodic.improve_routes` from ``start`` for ``seconds``, or with a counted
    budget the same search bounded by ``budget.params.iteration_limit``: the string-removal
    search's iterations, then a greedy descent of OR-Tools' operators to its end (or guided
    local search for that many solutions where the string-removal search does not apply)."""
    seed = budget.params.seed
    if not budget.counted:
        return improve_routes(
            problem,
            start,
            time_limit=max(MIN_SOLVE_SECONDS, seconds),
            seed=seed,
            vehicle_costs=vehicle_costs,
        )
    iterations = budget.params.iteration_limit
    model = build_model(problem, shuffle_seed=seed)
    if vehicle_costs:
        _add_vehicle_costs(model, vehicle_costs)
    sp = _polish_parameters(UNBOUNDED_SECONDS)
    if sisr.supports(problem):
        found = sisr.search(
            problem,
            time_limit=UNBOUNDED_SECONDS,
            seed=seed,
            iteration_limit=iterations,
            initial=start,
            vehicle_costs=vehicle_costs,
        )
        sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        return descend_from(model, found.routes, sp, objective=found.objective)
    if iterations is not None:
        sp.solution_limit = iterations
    model.routing.CloseModelWithParameters(sp)
    hint = [[model.index_of_visit(i) for i in r] for r in start]
    hint += [[] for _ in range(len(problem.vehicles) - len(hint))]
    first = model.routing.ReadAssignmentFromRoutes(hint, True)
    if first is None:
        # Keep the routes the model accepts one by one, as improve_routes does.
        for k, route in enumerate(hint):
            alone: list[list[int]] = [[] for _ in hint]
            alone[k] = route
            if route and model.routing.ReadAssignmentFromRoutes(alone, True) is None:
                hint[k] = []
        first = model.routing.ReadAssignmentFromRoutes(hint, True)
    if first is None:
        return None
    solution = model.routing.SolveFromAssignmentWithParameters(first, sp)
    return None if solution is None else decode(model, solution)


def _pair_anchors(
    sub: Scenario, hint: Sequence[Route], locked: frozenset[str]
) -> tuple[dict[str, tuple[tuple[str, int], ...]], frozenset[str]]:
    """The two-person visits on the ``locked`` caregivers' ``hint`` routes that can keep
    their caregivers and start while the rest of the routes is searched again: request ->
    ((caregiver, start), (caregiver, start)) in hint order. Also the locked caregivers whose
    routes stay whole: those holding a pair whose partner route is not in the hint, and,
    repeatedly, the partners of their pairs."""
    pairs = {r.id for _, r in sub.requests() if r.staff > 1}
    working = {c.id for c in sub.caregivers}
    seats: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for route in hint:
        if route.caregiver in locked:
            for stop in route.stops:
                if stop.request in pairs:
                    seats[stop.request].append((route.caregiver, stop.start))
    whole = {
        c
        for who in seats.values()
        if len(who) != 2 or any(c not in working for c, _ in who)
        for c, _ in who
    }
    while True:
        more = {c for who in seats.values() if any(c in whole for c, _ in who) for c, _ in who}
        if more <= whole:
            break
        whole |= more
    anchors = {rid: tuple(who) for rid, who in seats.items() if not any(c in whole for c, _ in who)}
    # A locked route with no pair left to hold stays whole (as does one whose lock had another
    # reason).
    held = {c for who in anchors.values() for c, _ in who}
    return anchors, frozenset(locked - held)


def _anchored(
    compiled: DayProblem, anchors: Mapping[str, tuple[tuple[str, int], ...]]
) -> DayProblem:
    """``compiled`` with each anchored pair's two solver visits held to their caregiver and
    start (one window of one minute, mandatory) and their start link dropped: two fixed starts
    keep it by themselves, and the day becomes one the compiled search can take."""
    if not anchors:
        return compiled
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    nodes: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(compiled.visits):
        if v.request in anchors:
            nodes[v.request].append(i)
    specs = list(compiled.problem.visits)
    linked: set[tuple[int, int]] = set()
    for rid, seats in anchors.items():
        if len(nodes[rid]) != len(seats):
            continue
        for i, (cid, start) in zip(nodes[rid], seats, strict=True):
            specs[i] = replace(
                specs[i],
                windows=((start, start),),
                allowed_vehicles=frozenset({vehicle[cid]}),
                penalty=None,
            )
        linked.add((nodes[rid][0], nodes[rid][1]))
    syncs = tuple(s for s in compiled.problem.syncs if (s.first, s.second) not in linked)
    problem = replace(compiled.problem, visits=tuple(specs), syncs=syncs)
    return replace(compiled, problem=problem)


def _pairs_kept(
    routes: Sequence[Route], anchors: Mapping[str, tuple[tuple[str, int], ...]]
) -> bool:
    """Whether every anchored pair is on its two caregivers' routes at its start."""
    seats: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for route in routes:
        for stop in route.stops:
            if stop.request in anchors:
                seats[stop.request].add((route.caregiver, stop.start))
    return all(seats.get(rid) == set(who) for rid, who in anchors.items())


def _affinity(out: _Outcome, key: str, day: str) -> dict[str, dict[str, int]]:
    """Who serves each request of group ``key`` on the days other than ``day``, and how often."""
    seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (group, d), routes in out.routes.items():
        if group != key or d == day:
            continue
        for route in routes:
            for stop in route.stops:
                seen[stop.request][route.caregiver] += 1
    return seen


def _continuity_costs(
    compiled: DayProblem, affinity: Mapping[str, Mapping[str, int]]
) -> dict[int, list[int]]:
    """Per visit of ``compiled``, the extra minutes each caregiver costs: none for the one who
    makes all of the request's other visits, :data:`CONTINUITY_MINUTES` for one who makes none
    of them."""
    costs: dict[int, list[int]] = {}
    for i, visit in enumerate(compiled.visits):
        counts = affinity.get(visit.request)
        total = sum(counts.values()) if counts else 0
        if not counts or total <= 0:
            continue
        costs[i] = [
            CONTINUITY_MINUTES * (total - counts.get(c.id, 0)) // total for c in compiled.caregivers
        ]
    return costs


def _hint_indices(compiled: DayProblem, hint: Sequence[Route]) -> list[list[int]]:
    """The ``hint`` routes as visit indices per vehicle of ``compiled`` (stops the compiled
    day does not hold, or whose caregiver may not serve them, left out)."""
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    nodes: dict[str, list[int]] = defaultdict(list)  # a two-person visit has two
    for i, v in enumerate(compiled.visits):
        nodes[v.request].append(i)
    specs = compiled.problem.visits
    taken: set[int] = set()
    start: list[list[int]] = [[] for _ in compiled.caregivers]
    for route in hint:
        k = vehicle.get(route.caregiver)
        if k is None:
            continue
        for s in route.stops:
            for i in nodes.get(s.request, ()):
                allowed = specs[i].allowed_vehicles
                if i not in taken and (allowed is None or k in allowed):
                    start[k].append(i)
                    taken.add(i)
                    break
    return start


def _unrepresentable(
    sub: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    teams: Mapping[str, tuple[str, ...] | None],
    provider: TravelProvider,
    used: Mapping[str, int],
    hint: Sequence[Route],
    fixed: Sequence[Route] = (),
) -> tuple[Route, ...]:
    """The ``hint`` routes the router's model rejects on their own (``fixed`` as in
    :func:`_solve_day`)."""
    if not hint or not any(day in c.shifts for c in sub.caregivers):
        return ()
    starts = {s.request: s.start for r in fixed for s in r.stops}
    compiled = _narrow(
        compile_day(
            sub, day, travel=provider, visits=visits, minutes_used=used, fixed_starts=starts
        ),
        teams,
    )
    start = _hint_indices(compiled, hint)
    verdict = routes_accepted(compiled.problem, start)
    rejected = {compiled.caregivers[k].id for k, ok in enumerate(verdict) if not ok}
    return tuple(r for r in hint if r.caregiver in rejected)


def _retime(problem: RoutingProblem, result: SolverResult) -> SolverResult:
    """Times of each route recomputed with the rest in its best gap (earliest starts, latest
    leave); a route no gap makes feasible is given up, its visits dropped."""
    routes: list[SolvedRoute] = []
    dropped = list(result.dropped)
    for sr in result.routes:
        times = schedule_route(problem, sr.vehicle, sr.visits)
        if not times.feasible:
            dropped.extend(sr.visits)
            continue
        routes.append(
            replace(
                sr,
                arrivals=times.arrivals,
                starts=times.starts,
                leave=times.leave,
                back=times.back,
                rest_start=times.rest_start,
            )
        )
    return replace(result, routes=tuple(routes), dropped=tuple(sorted(dropped)))


def _rest_after_return(route: Route) -> Route:
    """Come back before a rest that starts after the ride home would end.

    A rest in the last gap delays ``back`` to after it; when the ride home fits before the rest
    starts, the caregiver is back first and rests off the route (shorter working time).
    """
    rest = route.rest
    if rest is None or not route.stops:
        return route
    last_end = route.stops[-1].end
    if rest.start < last_end or route.back < rest.end:
        return route
    ride = route.back - rest.end
    if last_end + ride <= rest.start:
        return replace(route, back=last_end + ride)
    return route


def _enforce_weekly_cap(
    sub: Scenario,
    routes: tuple[Route, ...],
    unassigned: tuple[Unassigned, ...],
    used: Mapping[str, int],
) -> tuple[tuple[Route, ...], tuple[Unassigned, ...]]:
    """Give up a route that would break its caregiver's weekly minutes (a safety net: the
    router bounds the route length already)."""
    kept: list[Route] = []
    lost = list(unassigned)
    for route in routes:
        cap = sub.caregiver(route.caregiver).max_minutes_per_week
        if cap is not None and used.get(route.caregiver, 0) + route.back - route.leave > cap:
            lost.extend(
                Unassigned(
                    s.request,
                    s.household,
                    1,
                    Reason.CAPACITY.value,
                    f"{route.caregiver}'s weekly working minutes ({cap}) are used up",
                )
                for s in route.stops
            )
            continue
        kept.append(route)
    return tuple(kept), tuple(lost)


def _weekly_cap_reasons(compiled: DayProblem, reasons: dict[str, tuple[Reason, str]]) -> None:
    """A visit that fits nobody's day only because their weekly minutes are spent elsewhere is
    a capacity matter, not a window one."""
    problem = compiled.problem
    uncapped = replace(
        problem, vehicles=tuple(replace(v, max_duration=None) for v in problem.vehicles)
    )
    for node, visit in enumerate(compiled.visits):
        got = reasons.get(visit.request)
        if got is None or got[0] is not Reason.NO_TIME_WINDOW_FITS:
            continue
        allowed = problem.visits[node].allowed_vehicles
        vehicles = range(len(problem.vehicles)) if allowed is None else sorted(allowed)
        if any(fits_alone(uncapped, node, v) is not None for v in vehicles):
            reasons[visit.request] = (
                Reason.CAPACITY,
                "fits a qualified caregiver's shift, but their weekly working minutes "
                "(max_minutes_per_week) are used up on other days; more weekly minutes or "
                "another caregiver would fit it (每周工时已满)",
            )


def _narrow(compiled: DayProblem, teams: Mapping[str, tuple[str, ...] | None]) -> DayProblem:
    """Restrict each visit to its team (those of them working today and qualified)."""
    index = {c.id: i for i, c in enumerate(compiled.caregivers)}
    visits = list(compiled.problem.visits)
    for i, v in enumerate(compiled.visits):
        team = teams.get(v.request)
        if team is None:
            continue
        allowed = visits[i].allowed_vehicles
        keep = frozenset(index[c] for c in team if c in index)
        if allowed is not None:
            keep &= allowed
        if keep:
            visits[i] = replace(visits[i], allowed_vehicles=keep)
    return replace(compiled, problem=replace(compiled.problem, visits=tuple(visits)))


def _polish_group(
    sub: Scenario,
    key: str,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    deadline: float,
    out: _Outcome,
) -> None:
    """Improve each day's routes from the current ones, keeping the better of old and new,
    until ``deadline`` (on the budget's clock). A day holding visits this planner leaves
    to people (two-person ones from the greedy week) keeps those routes."""
    days = [d for d in sub.days if any(d in t.days for t in group)]
    work = {d: max(1, sum(1 for t in group if d in t.days)) for d in days}
    overhead = 0.0  # compiling and decoding a day, beyond its search time, measured
    for i, day in enumerate(days):
        left = deadline - budget.now() - overhead * (len(days) - i)
        if left <= 0.05:
            break
        share = max(0.05, left * work[day] / sum(work[d] for d in days[i:]))
        began = budget.now()
        _reroute_day(sub, key, day, group, provider, budget, share, out, keep_better=True)
        overhead = max(overhead, budget.now() - began - share)
    out.day_seconds[key] = overhead


def _reroute_day(
    sub: Scenario,
    key: str,
    day: str,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
    *,
    extra: Sequence[_Task] = (),
    widen: frozenset[str] = frozenset(),
    keep_better: bool,
    station: str | None = None,
) -> bool:
    """Route ``day`` again from its current routes with the group's tasks of that day plus
    ``extra`` ones (``widen``: requests any qualified caregiver may serve). With
    ``keep_better`` the new routes replace the old only when they are worth more (served by
    priority, then less travel); returns whether they did. Tasks' days follow. With
    ``station``, only that station's caregivers are routed again, with the visits their
    routes hold (a group of several stations is too large to route at once)."""
    whole = out.routes.get((key, day), ())
    kept: tuple[Route, ...]
    if station is None:
        day_sub, kept, old = sub, (), whole
        todo = [t for t in group if day in t.days]
    else:
        mine = {c.id for c in sub.caregivers if c.station == station}
        day_sub = replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id in mine))
        kept = tuple(r for r in whole if r.caregiver not in mine)
        old = tuple(r for r in whole if r.caregiver in mine)
        held = {s.request for r in old for s in r.stops}
        todo = [t for t in group if day in t.days and t.request.id in held]
    todo += [t for t in extra if day not in t.days]
    visits = [DayVisit(t.request.id, t.household.id) for t in todo]
    # A station's routes are polished with anyone of the station serving (see
    # _reroute_station_day): narrowing them again would take stops out of the current routes.
    teams = {
        t.request.id: None
        if t.request.id in widen or station is not None
        else _first_choice(sub, t, day)
        for t in todo
    }
    routes, dropped, _ = _solve_day(
        day_sub,
        day,
        visits,
        teams,
        provider=provider,
        used=_minutes_used(out, key, day, sub.days),
        budget=budget,
        seconds=seconds,
        hint=old,
        locked=frozenset(c for c, d in out.locked if d == day),
        affinity=_affinity(out, key, day),
        fixed=kept,
    )
    if extra and _day_value(sub, routes) <= _day_value(sub, old):
        # Placing a new visit may need others swapped out, which a search started from the
        # current routes seldom finds; a fresh solve of the day does.
        fresh = _solve_day(
            day_sub,
            day,
            visits,
            teams,
            provider=provider,
            used=_minutes_used(out, key, day, sub.days),
            budget=budget,
            seconds=seconds,
            hint=tuple(r for r in old if (r.caregiver, day) in out.locked),
            locked=frozenset(c for c, d in out.locked if d == day),
            fixed=kept,
        )
        if _day_value(sub, fresh[0]) > _day_value(sub, routes):
            routes, dropped = fresh[0], fresh[1]
    if keep_better and _day_value(sub, routes) <= _day_value(sub, old):
        return False
    if station is not None:  # what the other stations left out stays as it was
        asked = {v.request for v in visits}
        dropped = [
            *(e for e in out.dropped.get((key, day), []) if e[0].request not in asked),
            *dropped,
        ]
    out.routes[(key, day)] = (*kept, *routes)
    out.dropped[(key, day)] = dropped
    served = {s.request for r in routes for s in r.stops}
    for t in todo:
        if t.request.id in served and day not in t.days:
            t.days = tuple(d for d in DAYS if d in t.days or d == day)
        elif t.request.id not in served and day in t.days:
            t.days = tuple(d for d in t.days if d != day)
        if t.request.id in widen and t.request.id in served:
            t.widened = t.widened | {day}
    return True


def _fill_group(
    sub: Scenario,
    key: str,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
    *,
    stations: Sequence[str] | None = None,
) -> None:
    """Add missing visits of requests planned short: on a day that keeps them inside one of
    their patterns, re-routing that day from its current routes; a request whose days fit no
    pattern moves to one that keeps most of them (:func:`_move_to_pattern`, the best two of
    :func:`_ranked_patterns`). With ``stations`` (a group of several), only the routes of a
    request's own station are routed again."""
    deadline = budget.now() + seconds

    def short_tasks() -> list[_Task]:
        return sorted(
            (
                t
                for t in group
                if len(t.days) < max(len(p) for p in t.patterns) and t.request.id not in tried
            ),
            key=lambda t: -t.request.priority,
        )

    tried: set[str] = set()
    short = short_tasks()
    if not short:
        return
    working = [d for d in sub.days if any(d in c.shifts for c in sub.caregivers)]
    each = max(0.05, min(1.0, seconds / max(1, 2 * len(short))))
    # What one re-route really takes (search plus compiling), measured as it goes; the first
    # one is always tried, as adding a visit is worth more than the seconds it may overrun.
    spent = each
    moved = False  # the first move to another pattern is always tried, as above
    # Adding a visit may push out others: they are tried in turn, once each.
    while short:
        task = short[0]
        tried.add(task.request.id)
        if not _fill_days(task, working):
            # Its days fit no pattern (two visits Tuesday and Friday, three needed two days
            # apart): the next visit needs one of them moved.
            for pattern in _ranked_patterns(sub, out, key, task, stations)[:2]:
                if budget.now() + (3 * spent if moved else 0.0) > deadline:
                    return
                moved = True
                began = budget.now()
                done = _move_to_pattern(
                    sub,
                    key,
                    task,
                    pattern,
                    group,
                    provider,
                    budget,
                    each,
                    out,
                    deadline=deadline,
                    stations=stations,
                )
                spent = max(spent, (budget.now() - began) / 3)
                if done:
                    break
            short = short_tasks()
            continue
        for day in _fill_days(task, working):
            if budget.now() + spent > deadline:
                return
            if len(task.days) >= max(len(p) for p in task.patterns):
                break
            if day in task.days or not _fits_pattern(task, (*task.days, day)):
                continue
            began = budget.now()
            _add_visit(sub, key, day, task, group, provider, budget, each, out, stations=stations)
            spent = max(spent, budget.now() - began)
        short = short_tasks()


def _ranked_patterns(
    sub: Scenario, out: _Outcome, key: str, task: _Task, stations: Sequence[str] | None
) -> list[tuple[str, ...]]:
    """The patterns a short request could move to, best first: those that keep most of its
    days, then those whose new days have the most time to spare at its station."""
    current = set(task.days)
    if task.pinned:
        return []
    options = [p for p in task.patterns if not current <= set(p)]
    home = _home_station(sub, out, key, task, stations)
    mine = {c.id for c in sub.caregivers if home is None or c.station == home}
    minutes = {r.id: r.minutes for _, r in sub.requests()}
    busy = {
        d: sum(
            minutes.get(s.request, 0)
            for r in out.routes.get((key, d), ())
            if r.caregiver in mine
            for s in r.stops
        )
        - sum(_capacity_minutes(c, (d,)) for c in sub.caregivers if c.id in mine)
        for d in DAYS
    }
    return sorted(
        options,
        key=lambda p: (-len(current & set(p)), sum(busy[d] for d in p if d not in current), p),
    )


def _move_to_pattern(
    sub: Scenario,
    key: str,
    task: _Task,
    pattern: tuple[str, ...],
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
    *,
    deadline: float,
    stations: Sequence[str] | None = None,
) -> bool:
    """Move a short request onto ``pattern``: its visits leave the days outside it and go to
    the pattern's other days, each day re-routed from its current routes; visits this pushes
    out go to another day of theirs where they fit, while there is time before ``deadline``
    (on the budget's clock). Kept (returns True) when the days touched serve more by
    priority. ``stations`` as in :func:`_fill_group`."""
    current = set(task.days)
    home = _home_station(sub, out, key, task, stations)
    gone = [d for d in DAYS if d in current and d not in pattern]
    new = [d for d in pattern if d not in current]
    affected = [*gone, *new]
    saved_days = {t.request.id: (t.days, t.widened) for t in group}
    saved = {d: (out.routes.get((key, d), ()), out.dropped.get((key, d), [])) for d in affected}
    before = sum(_score(sub, saved[d][0]) for d in affected)
    task.days = tuple(d for d in task.days if d in pattern)
    for day in gone:  # taking a visit out keeps every other stop's times: no search needed
        shorter = _without(sub, out.routes.get((key, day), ()), task.request.id)
        if shorter is not None:
            out.routes[(key, day)] = shorter
            continue
        holder = _station_of_visit(sub, out, key, day, task.request.id)
        _reroute_day(
            sub,
            key,
            day,
            group,
            provider,
            budget,
            seconds,
            out,
            keep_better=False,
            station=holder if stations is not None else None,
        )
    for day in new:
        _add_visit(
            sub,
            key,
            day,
            task,
            group,
            provider,
            budget,
            seconds,
            out,
            stations=stations,
            keep_better=False,
            station=home,
        )
    # Visits the move pushed out go to another day of theirs where they fit.
    working = [d for d in sub.days if any(d in c.shifts for c in sub.caregivers)]
    for other in group:
        if other is task or len(other.days) >= len(saved_days[other.request.id][0]):
            continue
        lost = set(saved_days[other.request.id][0]) - set(other.days)
        for n, day in enumerate(d for d in _fill_days(other, working) if d not in lost):
            # One day each even past the deadline: the move is only worth it when they fit.
            if n and budget.now() + seconds > deadline:
                break
            if day not in saved:
                saved[day] = (out.routes.get((key, day), ()), out.dropped.get((key, day), []))
                before += _score(sub, saved[day][0])
                affected.append(day)
            if _add_visit(
                sub, key, day, other, group, provider, budget, seconds, out, stations=stations
            ):
                break
    if sum(_score(sub, out.routes.get((key, d), ())) for d in affected) > before:
        return True
    for d, (routes, dropped) in saved.items():
        out.routes[(key, d)] = routes
        out.dropped[(key, d)] = dropped
    for t in group:
        t.days, t.widened = saved_days[t.request.id]
    return False


def _add_visit(
    sub: Scenario,
    key: str,
    day: str,
    task: _Task,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
    *,
    stations: Sequence[str] | None,
    keep_better: bool = True,
    station: str | None = None,
) -> bool:
    """:func:`_reroute_day` of ``day`` with one more visit of ``task`` (any qualified
    caregiver may serve it), on its own station's routes when ``stations`` are a group
    (``station``: that one, else :func:`_home_station`)."""
    if stations is not None and station is None:
        station = _home_station(sub, out, key, task, stations)
    return _reroute_day(
        sub,
        key,
        day,
        group,
        provider,
        budget,
        seconds,
        out,
        extra=[task],
        widen=frozenset({task.request.id}),
        keep_better=keep_better,
        station=station,
    )


def _without(sub: Scenario, routes: Sequence[Route], request: str) -> tuple[Route, ...] | None:
    """``routes`` with the stops of ``request`` taken out (a route left empty goes), the other
    stops keeping their times; ``None`` when riding straight on would take longer than the
    detour did (a travel model without the triangle inequality)."""
    index = ScenarioIndex.of(sub)
    minutes = scenario_travel(sub)
    out = []
    for r in routes:
        stops = tuple(s for s in r.stops if s.request != request)
        if len(stops) == len(r.stops):
            out.append(r)
            continue
        if not stops:
            continue
        shorter = replace(r, stops=stops)
        legs = route_leg_minutes(index, shorter, minutes)
        departs = [shorter.leave, *(s.end for s in stops)]
        arrives = [*(s.arrival for s in stops), shorter.back]
        if any(
            leg is None or a < d + leg for leg, d, a in zip(legs, departs, arrives, strict=True)
        ):
            return None
        out.append(shorter)
    return tuple(out)


def _station_of_visit(sub: Scenario, out: _Outcome, key: str, day: str, request: str) -> str | None:
    """The station of the caregiver whose route holds ``request`` on ``day``, if any."""
    for route in out.routes.get((key, day), ()):
        if any(s.request == request for s in route.stops):
            return sub.caregiver(route.caregiver).station
    return None


def _home_station(
    sub: Scenario, out: _Outcome, key: str, task: _Task, stations: Sequence[str] | None
) -> str | None:
    """Of ``stations`` (``None``: the group is one station), the one whose caregivers make
    most of ``task``'s visits, else the nearest with a caregiver qualified for it."""
    if stations is None:
        return None
    count: dict[str, int] = defaultdict(int)
    for d in task.days:
        st = _station_of_visit(sub, out, key, d, task.request.id)
        if st is not None:
            count[st] += 1
    if count:
        return max(count, key=lambda st: (count[st], st))
    h, r = task.household, task.request
    able = {c.station for c in sub.caregivers if qualified(c, h, r)} & set(stations)
    where = [s for s in sub.stations if s.id in (able or set(stations))]
    return min(where, key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon)).id


def _fits_pattern(task: _Task, days: Sequence[str]) -> bool:
    chosen = set(days)
    return any(chosen <= set(p) for p in task.patterns)


def _fill_days(task: _Task, working: Sequence[str]) -> list[str]:
    """Days a short request could still use, those of the most patterns first."""
    count: dict[str, int] = defaultdict(int)
    for p in task.patterns:
        if set(task.days) <= set(p):
            for d in p:
                if d not in task.days and d in working:
                    count[d] += 1
    return sorted(count, key=lambda d: (-count[d], DAYS.index(d)))


def _first_choice(sub: Scenario, task: _Task, day: str) -> tuple[str, ...] | None:
    """Who may serve ``task`` on ``day`` before any widening: the caregiver kept for its
    household (continuity, preference) when working, else everyone qualified (``None``:
    narrowing the router's choice further costs visits)."""
    if day in task.widened or task.fixed is None:
        return None
    working = {c.id for c in sub.caregivers if day in c.shifts}
    if all(c in working for c in task.fixed):
        return task.fixed
    return None


def _day_value(sub: Scenario, routes: Sequence[Route]) -> tuple[int, int, int]:
    """What a day's routes are worth: visits served by priority, then less travel (contract
    travel model), then visits by a household's preferred caregivers."""
    preferred = {h.id: h.preferred_caregivers for h in sub.households}
    hits = sum(1 for r in routes for s in r.stops if r.caregiver in preferred.get(s.household, ()))
    index = ScenarioIndex.of(sub)
    minutes = scenario_travel(sub)
    travel = sum(m or 0 for r in routes for m in route_leg_minutes(index, r, minutes))
    return _score(sub, routes), -travel, hits


def _improve_station(
    sub: Scenario,
    station: str,
    group: Sequence[_Task],
    provider: TravelProvider,
    budget: Budget,
    seconds: float,
    out: _Outcome,
    rng: random.Random,
) -> None:
    """Large-neighbourhood search over days and caregivers, each move re-routing the days it
    touches:

    - move one request to another of its patterns; kept when the station serves more (by
      priority), or as much with less travel;
    - give all of a household's visits to the caregiver who already does most of them
      (continuity); kept when as much is served for at most 2 % more travel.
    """
    deadline = budget.now() + seconds
    working_days = [d for d in sub.days if any(d in c.shifts for c in sub.caregivers)]
    each = max(0.05, min(1.0, seconds / max(1, 4 * len(working_days))))
    by_household: dict[str, list[_Task]] = defaultdict(list)
    for t in group:
        by_household[t.household.id].append(t)

    def reroute(affected: Sequence[str]) -> None:
        for day in affected:
            todo = [t for t in group if day in t.days]
            visits = [DayVisit(t.request.id, t.household.id) for t in todo]
            teams = {t.request.id: _first_choice(sub, t, day) for t in todo}
            routes, dropped, _ = _solve_day(
                sub,
                day,
                visits,
                teams,
                provider=provider,
                used=_minutes_used(out, station, day, sub.days),
                budget=budget,
                seconds=each,
                hint=out.routes.get((station, day), ()),
                locked=frozenset(c for c, d in out.locked if d == day),
                affinity=_affinity(out, station, day),
            )
            out.routes[(station, day)] = routes
            out.dropped[(station, day)] = dropped

    idle = 0
    # What re-routing one day really takes (search plus compiling), measured as it goes.
    spent = each + out.day_seconds.get(station, 0.0)
    while budget.now() + spent < deadline and idle < 20:
        saved_tasks = {t.request.id: (tuple(t.days), t.fixed) for t in group}
        continuity = rng.random() < 0.5
        affected = (
            _continuity_move(sub, station, by_household, out, rng)
            if continuity
            else _pattern_move(group, rng)
        )
        if affected is None:
            idle += 1
            for t in group:
                t.days, t.fixed = saved_tasks[t.request.id]
            continue
        idle = 0
        if budget.now() + spent * len(affected) > deadline:
            for t in group:
                t.days, t.fixed = saved_tasks[t.request.id]
            break
        saved = {
            d: (out.routes.get((station, d), ()), out.dropped.get((station, d), []))
            for d in affected
        }
        before = [_day_value(sub, saved[d][0]) for d in affected]
        began = budget.now()
        reroute(affected)
        spent = max(spent, (budget.now() - began) / len(affected))
        after = [_day_value(sub, out.routes.get((station, d), ())) for d in affected]
        served_gain = sum(v[0] for v in after) - sum(v[0] for v in before)
        travel_before = -sum(v[1] for v in before)
        travel_after = -sum(v[1] for v in after)
        if continuity:
            keep = served_gain > 0 or (
                served_gain == 0 and travel_after <= travel_before * 1.02 + 2
            )
        else:
            keep = served_gain > 0 or (served_gain == 0 and travel_after < travel_before)
        if keep:
            for day in affected:
                served = {s.request for r in out.routes[(station, day)] for s in r.stops}
                for t in group:
                    if day in t.days and t.request.id not in served:
                        t.days = tuple(d for d in t.days if d != day)
            continue
        for d, (routes, dropped) in saved.items():
            out.routes[(station, d)] = routes
            out.dropped[(station, d)] = dropped
        for t in group:
            t.days, t.fixed = saved_tasks[t.request.id]


def _relabel_group(
    sub: Scenario, key: str, provider: TravelProvider, out: _Outcome, *, passes: int = 6
) -> None:
    """Continuity of care (服务连续性) at no cost in travel: hand each day's routes, whole, to
    the caregivers who visit their requests on other days.

    A route may go to another caregiver of the same station and travel mode (so its travel is
    unchanged) who is qualified for all of its stops and whose shift, rest and weekly minutes
    hold it; each day is one assignment of routes to caregivers maximising the visits their
    caregivers also make on the other days (a household's preferred caregiver counts too).
    """
    days = [d for d in sub.days if out.routes.get((key, d))]
    for _ in range(passes):
        changed = False
        for day in days:
            changed |= _relabel_day(sub, key, day, provider, out)
        if not changed:
            return


def _relabel_day(
    sub: Scenario, key: str, day: str, provider: TravelProvider, out: _Outcome
) -> bool:
    """One day of :func:`_relabel_group`; returns whether any route changed hands."""
    routes = out.routes.get((key, day), ())
    locked = {c for c, d in out.locked if d == day}
    movable = [r for r in routes if r.stops and r.caregiver not in locked]
    if len(movable) < 1:
        return False
    visits = [DayVisit(s.request, s.household) for r in movable for s in r.stops]
    free = replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id not in locked))
    compiled = compile_day(
        free,
        day,
        travel=provider,
        visits=visits,
        minutes_used=_minutes_used(out, key, day, sub.days),
    )
    if compiled.prefiltered:
        return False
    node = {v.request: i for i, v in enumerate(compiled.visits)}
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    if len(node) != len(visits) or any(r.caregiver not in vehicle for r in movable):
        return False
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for (st, d), others in out.routes.items():
        if st != key or d == day:
            continue
        for r in others:
            for s in r.stops:
                seen[(s.request, r.caregiver)] += 1
    preferred = {h.id: h.preferred_caregivers for h in sub.households}
    specs = compiled.problem.visits
    people = compiled.caregivers
    n = len(people)

    def score(route: Route, c: str) -> int:
        return sum(
            2 * seen.get((s.request, c), 0) + (c in preferred.get(s.household, ()))
            for s in route.stops
        )

    arcs: dict[tuple[int, int], int] = {}
    for i, route in enumerate(movable):
        own = sub.caregiver(route.caregiver)
        seq = [node[s.request] for s in route.stops]
        for k, c in enumerate(people):
            if c.id != own.id:
                if c.station != own.station or c.mode != own.mode:
                    continue
                if any(
                    specs[j].allowed_vehicles is not None
                    and k not in (specs[j].allowed_vehicles or ())
                    for j in seq
                ):
                    continue
                spec = compiled.problem.vehicles[k]
                if spec.max_visits is not None and len(seq) > spec.max_visits:
                    continue
                if spec.capacity is not None and spec.capacity < sum(specs[j].demand for j in seq):
                    continue
                if not schedule_route(compiled.problem, k, seq).feasible:
                    continue
            arcs[(i, k)] = score(route, c.id)
    top = max(arcs.values(), default=0)
    assignment = SimpleLinearSumAssignment()
    for (i, k), value in arcs.items():
        assignment.add_arc_with_cost(i, k, top - value)
    for i in range(len(movable), n):  # no route: any caregiver, at the same cost
        for k in range(n):
            assignment.add_arc_with_cost(i, k, top)
    if assignment.solve() != SimpleLinearSumAssignment.OPTIMAL:
        return False
    now = sum(arcs[(i, vehicle[r.caregiver])] for i, r in enumerate(movable))
    mates = {i: assignment.right_mate(i) for i in range(len(movable))}
    better = sum(arcs[(i, k)] for i, k in mates.items())
    if better <= now:
        return False
    solved: list[SolvedRoute] = []
    moved: set[int] = set()
    for i, route in enumerate(movable):
        k = mates[i]
        if k == vehicle[route.caregiver]:
            continue
        moved.add(i)
        order = tuple(node[s.request] for s in route.stops)
        times = schedule_route(compiled.problem, k, order)
        solved.append(
            SolvedRoute(
                k, order, times.arrivals, times.starts, times.leave, times.back, times.rest_start
            )
        )
    result = SolverResult(routes=tuple(solved), dropped=(), travel=0, objective=0, feasible=True)
    relabelled, _ = decode_day(free, compiled, result)
    gone = {movable[i].caregiver for i in moved}
    kept = [r for r in routes if r.caregiver not in gone]
    out.routes[(key, day)] = tuple(
        sorted((*kept, *(_rest_after_return(r) for r in relabelled)), key=lambda r: r.caregiver)
    )
    return True


def _pattern_move(group: Sequence[_Task], rng: random.Random) -> list[str] | None:
    """Put a random request on another of its patterns; the days that change (or None)."""
    movable = [
        t for t in group if len(t.patterns) > 1 and tuple(t.days) in t.patterns and not t.pinned
    ]
    if not movable:
        return None
    task = rng.choice(movable)
    current = tuple(task.days)
    choice = rng.choice([p for p in task.patterns if p != current])
    task.days = choice
    return [d for d in DAYS if (d in current) != (d in choice)]


def _continuity_move(
    sub: Scenario,
    station: str,
    by_household: Mapping[str, list[_Task]],
    out: _Outcome,
    rng: random.Random,
) -> list[str] | None:
    """Fix a household's visits to its preferred caregiver, or to its most frequent one when it
    has several visitors; the days to re-route (or None when there is nothing to do)."""
    who: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    where: dict[tuple[str, str], str] = {}
    for (st, day), routes in out.routes.items():
        if st != station:
            continue
        for route in routes:
            for stop in route.stops:
                who[stop.household][route.caregiver] += 1
                where[(stop.request, day)] = route.caregiver

    def wanted(hid: str) -> str | None:
        """The caregiver to keep: a preferred one who is not the only visitor yet, else the
        most frequent of several visitors."""
        h = by_household[hid][0].household
        for c in h.preferred_caregivers:
            if set(who[hid]) != {c} and any(
                x.id == c and all(qualified(x, t.household, t.request) for t in by_household[hid])
                for x in sub.caregivers
            ):
                return c
        counts = who[hid]
        if len(counts) > 1:
            return max(sorted(counts), key=lambda c: counts[c])
        return None

    options = sorted(
        h
        for h, ts in by_household.items()
        if h in who and not any(t.pinned for t in ts) and wanted(h) is not None
    )
    if not options:
        return None
    hid = rng.choice(options)
    keeper = wanted(hid)
    assert keeper is not None
    caregiver = sub.caregiver(keeper)
    affected: set[str] = set()
    for t in by_household[hid]:
        if not qualified(caregiver, t.household, t.request):
            continue
        t.fixed = (keeper,)
        affected.update(d for d in t.days if where.get((t.request.id, d)) != keeper)
    return [d for d in DAYS if d in affected] or None


def _score(sub: Scenario, routes: Sequence[Route]) -> int:
    priority = {r.id: r.priority for _, r in sub.requests()}
    return sum(100 + priority.get(s.request, 0) for route in routes for s in route.stops)


# -- the plan ------------------------------------------------------------------------------


def _assemble(
    scenario: Scenario, out: _Outcome, unassigned: Sequence[Unassigned], tasks: Sequence[_Task]
) -> Plan:
    routes = sorted(
        (r for rs in out.routes.values() for r in rs),
        key=lambda r: (DAYS.index(r.day), r.caregiver),
    )
    planned: dict[str, set[str]] = defaultdict(set)
    for route in routes:
        for stop in route.stops:
            planned[stop.request].add(route.day)
    reasons: dict[str, tuple[Reason, str]] = {}
    for (_, day), lost in sorted(out.dropped.items()):
        for visit, reason, detail in lost:
            if visit.request not in reasons:
                reasons[visit.request] = (reason, f"{day}: {detail}")
    missing = list(unassigned)
    for t in tasks:
        planned_k = len(planned.get(t.request.id, ()))
        already = sum(u.missing_visits for u in unassigned if u.request == t.request.id)
        short = t.request.visits_per_week - already - planned_k
        if short > 0:
            reason, detail = reasons.get(
                t.request.id,
                out.fallback.get(
                    t.request.id,
                    (Reason.CAPACITY, "the caregivers' time on the chosen days is used up"),
                ),
            )
            missing.append(_unassigned(t.household, t.request, short, reason, detail))
    order = {r.id: i for i, (_, r) in enumerate(scenario.requests())}
    missing.sort(key=lambda u: (order.get(u.request, 0), u.reason))
    return Plan(scenario=scenario.name, routes=tuple(routes), unassigned=tuple(missing))
