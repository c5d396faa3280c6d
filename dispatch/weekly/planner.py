"""The week as a whole: :func:`plan_week` prepares the tasks, takes the greedy week, plans each
station group (one after another or in worker processes) and assembles the plan."""

from __future__ import annotations

import copyreg
import multiprocessing
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from dispatch.greedy import plan_greedy
from dispatch.haversine import scenario_travel
from dispatch.kpis import plan_kpis
from dispatch.model import DAYS, Household, Plan, Scenario, ServiceRequest, Unassigned
from dispatch.reasons import Reason
from dispatch.travel import TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel, with_record
from dispatch.weekly.budget import Budget
from dispatch.weekly.fill import FILL_SECONDS_PER_SHORT, fill_group
from dispatch.weekly.moves import improve_station
from dispatch.weekly.polish import polish_by_station, polish_group
from dispatch.weekly.prepare import (
    pairs_missing,
    prepare_tasks,
    seed_from,
    station_scenario,
    unassigned_request,
)
from dispatch.weekly.relabel import relabel_group
from dispatch.weekly.repattern import REPATTERN_SHARE, can_repattern, repattern_group
from dispatch.weekly.solving import warm_up
from dispatch.weekly.state import Group, Task, WeekState
from solver.problem import SolveParams

__all__ = ["POLISH_SECONDS_PER_VISIT", "Progress", "ProgressFn", "plan_group", "plan_week"]

DEFAULT_PARAMS = SolveParams()

#: Seconds of routing a day needs per visit to come close to what longer searches find
#: (measured on generated districts: a 75-visit day gains 15 % in 0.5 s, 37 % in 1 s, 40 % in
#: 3 s against the greedy routes).
POLISH_SECONDS_PER_VISIT = 0.03


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


def plan_week(
    scenario: Scenario,
    *,
    travel: TravelProvider | None = None,
    params: SolveParams = DEFAULT_PARAMS,
    progress: ProgressFn | None = None,
    workers: int = 1,
    deterministic: bool = False,
    before: Mapping[str, Mapping[str, int]] | None = None,
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
    (:class:`~dispatch.weekly.budget.Budget`), so the same scenario, seed and budget give the
    same plan (any number of ``workers`` gives one plan, though not the same one as a single
    process).

    ``before[request][caregiver]`` counts the visits each caregiver made of a request in the
    week before (a plan of several weeks, :func:`dispatch.weekly.weeks.plan_weeks`): the search
    prefers them as it prefers a request's caregivers of the other days.

    Raises ``ValueError`` when the scenario's travel provider needs an explicit ``travel``, or
    for ``deterministic`` without ``params.iteration_limit``.
    """
    budget = Budget.deterministic(params) if deterministic else Budget.real(params)
    # Compiling the searches on first use (then loading them from numba's cache) is not part
    # of the plan's time.
    warm_up()
    t0 = budget.now()
    scenario = resolve_travel(scenario)
    provider = travel if travel is not None else provider_for(scenario)
    report = progress or (lambda _p: None)
    report(Progress("prepare", 0.0, "choosing days and caregivers / 选择服务日与护理员"))

    unassigned: list[Unassigned] = []
    pairs: list[tuple[Household, ServiceRequest]] = []
    tasks = prepare_tasks(scenario, unassigned, pairs)
    seconds = max(0.05, params.time_limit)

    # A first week by hand's rules, then every station-day improved from it: the routes never
    # get worse than the greedy ones, and every later move starts from the current routes.
    start = plan_greedy(scenario, travel=provider)
    week = WeekState(before=before or {})
    stations_of = seed_from(scenario, start, tasks, week)
    unassigned.extend(pairs_missing(start, pairs))
    if progress is not None:
        first = assemble(scenario, week, unassigned, tasks)
        report(
            Progress(
                "greedy",
                0.1,
                "first plan by hand's rules / 初始方案",
                _kpis(scenario, first),
                first,
            )
        )
    groups = {}
    for key, stations in stations_of.items():
        mine = [t for t in tasks if t.station == key]
        sub = station_scenario(scenario, stations, mine)
        groups[key] = Group(sub, key, mine, provider, budget, week)
    work = {key: sum(len(t.days) or 1 for t in g.tasks) for key, g in groups.items()}
    total_work = max(1, sum(work.values()))
    # Largest groups first, so that the last ones to finish are short.
    order = sorted(groups, key=lambda k: (-work[k], k))
    deadline = t0 + seconds
    pool_size = min(max(1, workers), len(order))
    done = 0

    def finished(key: str) -> None:
        nonlocal done
        done += work[key]
        if progress is None:
            return  # the KPIs of a report take time worth saving
        best = assemble(scenario, week, unassigned, tasks)
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
            plan_group(groups[key], share, deadline)
            finished(key)
    else:
        _plan_groups_in_pool(groups, order, deadline, pool_size, work, finished)
    plan = assemble(scenario, week, unassigned, tasks)
    kpis = _kpis(scenario, plan)
    kpis["solver_seconds"] = round(budget.now() - t0, 3)
    plan = replace(plan, kpis=MappingProxyType(kpis))
    if travel is None:
        plan = with_record(plan, scenario)
    report(Progress("done", 1.0, "plan ready / 计划完成", plan.kpis, plan))
    return plan


def plan_group(g: Group, seconds: float, deadline: float) -> None:
    """Every improvement of one station group within ``seconds`` (and before ``deadline``, on
    the budget's clock): re-route each day, search the days and routes of the week together,
    add missing visits, move requests between patterns and caregivers, then hand routes over
    for continuity."""
    began = g.budget.now()
    seconds = max(0.0, min(seconds, deadline - g.budget.now()))
    # Handing routes over is quick but not free: keep a little for it.
    end = began + 0.97 * seconds
    stations = sorted({c.station for c in g.sub.caregivers})
    # Missing visits count more than travel: requests planned short keep time for filling.
    short = sum(1 for t in g.tasks if len(t.days) < max(len(p) for p in t.patterns))
    reserve = max(0.15 * seconds, FILL_SECONDS_PER_SHORT * short)
    if len(stations) > 1:
        # Stations that share requests make days too large for the router in the time there
        # is: improve each station's routes of a day among themselves, round after round,
        # then add missing visits to the routes of their own station.
        polished = began + max(0.5 * seconds, seconds - reserve) if short else end
        routed = min(end, polished)
        if can_repattern(g):
            polish_by_station(g, stations, began + (routed - began) * (1 - REPATTERN_SHARE))
            repattern_group(g, routed - g.budget.now())
        else:
            polish_by_station(g, stations, routed)
        left = end - g.budget.now()
        if short and left > 0.05:
            fill_group(g, left, stations=stations)
        relabel_group(g)
        return
    # The router needs about POLISH_SECONDS_PER_VISIT to converge on a day: large groups
    # spend most of their time there, small ones leave more to the moves that follow.
    visits = sum(len(t.days) for t in g.tasks)
    polish = max(0.6 * seconds, min(0.85 * seconds, POLISH_SECONDS_PER_VISIT * visits))
    polish = max(0.5 * seconds, min(polish, seconds - reserve))
    if can_repattern(g):
        polish = max(0.5 * seconds, min(0.95 * seconds, seconds - reserve))
        polish_group(g, began + polish * (1 - REPATTERN_SHARE))
        repattern_group(g, began + polish - g.budget.now())
    else:
        polish_group(g, began + polish)
    now = g.budget.now()
    # Their share of time holds even after an overrun.
    fill = max(began + 0.75 * seconds - now, min(reserve, end - now))
    if fill > 0.05:
        fill_group(g, fill)
    rng = random.Random(f"{g.budget.params.seed}:{g.key}")
    left = end - g.budget.now()
    if left > 0.05:
        improve_station(g, left, rng)
    relabel_group(g)


_TaskState = tuple[tuple[str, ...], tuple[str, ...] | None, frozenset[str]]


def _group_in_worker(
    g: Group, seconds: float, deadline: float
) -> tuple[WeekState, dict[str, _TaskState]]:
    """:func:`plan_group` in a worker process: the group's part of the week and its tasks'
    state."""
    plan_group(g, seconds, deadline)
    return g.week, {t.request.id: (t.days, t.fixed, t.widened) for t in g.tasks}


def _plan_groups_in_pool(
    groups: Mapping[str, Group],
    order: Sequence[str],
    deadline: float,
    workers: int,
    work: Mapping[str, int],
    finished: Callable[[str], None],
) -> None:
    """Station groups are independent once the greedy week is there: plan them in ``workers``
    processes, each group's time in proportion to its work, and merge what comes back into
    the week (each group's budget carries its clock to its worker)."""
    _register_pickling()
    total = max(1, sum(work.values()))
    first = groups[order[0]]
    week, budget = first.week, first.budget
    left = max(0.0, deadline - budget.now())
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {}
        for key in order:
            g = groups[key]
            part = WeekState(
                routes={k: v for k, v in week.routes.items() if k[0] == key},
                locked=set(week.locked),
                before=week.before,
            )
            share = left * min(1.0, workers * work[key] / total)
            futures[pool.submit(_group_in_worker, replace(g, week=part), share, deadline)] = key
        for future in as_completed(futures):
            key = futures[future]
            part, states = future.result()
            week.routes.update(part.routes)
            week.dropped.update(part.dropped)
            by_request = {t.request.id: t for t in groups[key].tasks}
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


def _kpis(scenario: Scenario, plan: Plan) -> dict[str, float]:
    return plan_kpis(scenario, plan, travel=scenario_travel(scenario))


def assemble(
    scenario: Scenario, week: WeekState, unassigned: Sequence[Unassigned], tasks: Sequence[Task]
) -> Plan:
    routes = sorted(
        (r for rs in week.routes.values() for r in rs),
        key=lambda r: (DAYS.index(r.day), r.caregiver),
    )
    planned: dict[str, set[str]] = defaultdict(set)
    for route in routes:
        for stop in route.stops:
            planned[stop.request].add(route.day)
    reasons: dict[str, tuple[Reason, str]] = {}
    for (_, day), lost in sorted(week.dropped.items()):
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
                week.fallback.get(
                    t.request.id,
                    (Reason.CAPACITY, "the caregivers' time on the chosen days is used up"),
                ),
            )
            missing.append(unassigned_request(t.household, t.request, short, reason, detail))
    order = {r.id: i for i, (_, r) in enumerate(scenario.requests())}
    missing.sort(key=lambda u: (order.get(u.request, 0), u.reason))
    return Plan(scenario=scenario.name, routes=tuple(routes), unassigned=tuple(missing))
