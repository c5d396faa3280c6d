"""A whole city's week (全市排班): station groups planned apart, on a local pool or on Ray.

A city (hundreds of stations, tens of thousands of households) is never planned as one
problem: nothing is built over every point of it (no travel matrix, no greedy week of the
whole city). :func:`plan_city` splits the work, in time and memory linear in the households:

1. **Stations of households** (:func:`assign_households`): a caregiver works for one station;
   a household goes to the station of a caregiver it prefers when that station can serve it,
   else to its nearest station whose caregivers are qualified for all its
   requests (skill, the household's gender preference and forbidden list, two of them for a
   two-person request), else to the nearest one qualified for most of them. Distances are
   computed a chunk of households at a time against the stations (:data:`_CHUNK` rows).
2. **Station groups** (:func:`split_city`): the stations are cut in two along the wider side of
   their extent, at the household-weighted middle, again and again until a part has at most
   ``max_stations`` stations and ``max_households`` households (defaults
   :data:`GROUP_STATIONS`, :data:`GROUP_HOUSEHOLDS`; a single station larger than that is a
   group of its own). Neighbouring stations thus stay together, a household's requests all go
   to its station's group, and every caregiver goes with its station.
3. **Budgets** (:func:`group_seconds`): each group's seconds are in proportion to its visits,
   so that the groups' seconds over ``workers`` add up to ``params.time_limit`` (at least
   :data:`MIN_GROUP_SECONDS`, at most the whole limit). The same budgets can be given to runs
   on other numbers of workers (``seconds=``), so that runs compare like with like.
4. **Tasks** (:func:`plan_group_task`): each group is a plain scenario document
   (:func:`dispatch.scenario_io.scenario_to_dict`; a household's preferred or forbidden
   caregivers of other stations are left out of it, :func:`group_scenario`); the task
   parses it in the worker, plans it with :func:`dispatch.weekly.planner.plan_week`, checks
   the group's plan with :func:`dispatch.checker.check_plan` (a plan with violations fails
   the task) and returns the plan document. Tasks run on
   :func:`dispatch.engines.open_engine`, the largest first.
5. **Assembly**: the groups' routes and unassigned visits make one plan; the city plan is
   checked once more as a whole, which also gives its KPIs (:func:`dispatch.kpis.plan_kpis`).
   A group whose task fails twice (the engine runs it once more) leaves its requests
   unassigned (``solver_limit``, the detail naming the group and the error); the other groups
   are kept.

:func:`run_city` returns a :class:`CityResult` (the plan, each group's budget, seconds and
outcome, the critical path, the checker's findings); :func:`plan_city` only the plan, whose
KPIs carry the city figures too (:data:`CITY_KPIS`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from dispatch.checker import Violation, check_plan
from dispatch.diagnose import qualified
from dispatch.engines import STARTED, EngineSettings, Reporter, open_engine
from dispatch.model import DAYS, Caregiver, Household, Plan, Scenario, Station, Unassigned
from dispatch.plan_io import parse_plan, plan_to_dict
from dispatch.reasons import Reason
from dispatch.scenario_io import parse_scenario, scenario_to_dict
from dispatch.travel import haversine_km_matrix
from dispatch.travel_tables import merge_records, resolve_travel, travel_of_plan
from dispatch.weekly.planner import Progress, ProgressFn, plan_week
from solver.problem import SolveParams

__all__ = [
    "CITY_KPIS",
    "GROUP_HOUSEHOLDS",
    "GROUP_STATIONS",
    "MIN_GROUP_SECONDS",
    "CityResult",
    "CitySplit",
    "GroupOutcome",
    "StationGroup",
    "assign_households",
    "group_scenario",
    "group_seconds",
    "plan_city",
    "plan_group_task",
    "run_city",
    "split_city",
]

#: At most this many households in a station group (unless one station has more).
GROUP_HOUSEHOLDS = 240
#: At most this many stations in a station group.
GROUP_STATIONS = 3
#: No group gets fewer seconds than this, however little work it has.
MIN_GROUP_SECONDS = 1.0
#: Figures :func:`plan_city` adds to the plan's KPIs: groups, groups failed, the slowest
#: group's seconds inside its task (the critical path), the sum of the groups' seconds, and the
#: wall seconds of the whole run.
CITY_KPIS: tuple[str, ...] = (
    "city_groups",
    "city_failed_groups",
    "city_critical_path_seconds",
    "city_group_seconds_total",
    "city_wall_seconds",
)

_CHUNK = 2048  # households per block of distances to the stations
_M_PER_DEG = 111_320.0

TaskFn = Callable[[Mapping[str, Any], Reporter], Mapping[str, Any]]


@dataclass(frozen=True)
class StationGroup:
    """Neighbouring stations planned together: its ``key`` (``G001``…), its stations, the ids
    of the households it serves, its caregivers and its required visits per week."""

    key: str
    stations: tuple[str, ...]
    households: tuple[str, ...]
    caregivers: int
    visits: int


@dataclass(frozen=True)
class CitySplit:
    """The city cut into station groups; ``station_of`` gives each household's station."""

    groups: tuple[StationGroup, ...]
    station_of: Mapping[str, str]

    def group(self, key: str) -> StationGroup:
        """The group with this key; raises ``KeyError`` when there is none."""
        for g in self.groups:
            if g.key == key:
                return g
        raise KeyError(key)


@dataclass(frozen=True)
class GroupOutcome:
    """How one group went: its budget (``budget_seconds``), the seconds its last run took
    inside the task (``run_seconds``, 0 when it failed), runs, its visits and those planned,
    and the ``error`` line of a group that failed twice (``None`` when planned)."""

    key: str
    stations: tuple[str, ...]
    budget_seconds: float
    run_seconds: float
    attempts: int
    visits: int
    planned_visits: int
    error: str | None = None


@dataclass(frozen=True)
class CityResult:
    """A city's plan and how it was made: every group's :class:`GroupOutcome` (in key order),
    the wall seconds of the run, the critical path (the slowest group's ``run_seconds``) and
    the checker's findings on the whole plan (none expected)."""

    plan: Plan
    groups: tuple[GroupOutcome, ...]
    wall_seconds: float
    critical_path_seconds: float
    violations: tuple[Violation, ...]

    @property
    def failed(self) -> tuple[GroupOutcome, ...]:
        """The groups whose task failed twice."""
        return tuple(g for g in self.groups if g.error is not None)


# ------------------------------------------------------------------------------------------
# Splitting the city


def _serves(team: Sequence[Caregiver], skills: frozenset[str], h: Household) -> int:
    """How many of ``h``'s requests a station's ``team`` (with the union of its ``skills``)
    has qualified caregivers for."""
    simple = h.gender_preference is None and not h.forbidden_caregivers
    n = 0
    for r in h.requests:
        if simple and r.staff <= 1:
            n += r.required_skill in skills
        else:
            n += sum(1 for c in team if qualified(c, h, r)) >= r.staff
    return n


def assign_households(scenario: Scenario) -> dict[str, str]:
    """Each household's station: the station of a caregiver it prefers when that station is
    qualified for all its requests, else the nearest whose caregivers are, else the nearest
    qualified for the most of them (the nearest station for a household without requests).
    Great-circle distances, a block of households at a time.
    Raises ``ValueError`` for households without any station."""
    if not scenario.stations:
        if scenario.households:
            raise ValueError("households without any station")
        return {}
    stations = scenario.stations
    teams: dict[str, list[Caregiver]] = defaultdict(list)
    for c in scenario.caregivers:
        teams[c.station].append(c)
    station_of_caregiver = {c.id: c.station for c in scenario.caregivers}
    skills = {s.id: frozenset(k for c in teams[s.id] for k in c.skills) for s in stations}
    lats = np.array([s.lat for s in stations])
    lons = np.array([s.lon for s in stations])
    out: dict[str, str] = {}
    homes = scenario.households
    for first in range(0, len(homes), _CHUNK):
        block = homes[first : first + _CHUNK]
        km = haversine_km_matrix([h.lat for h in block], [h.lon for h in block], lats, lons)
        order = np.argsort(km, axis=1, kind="stable")
        for h, ranked in zip(block, order, strict=True):
            out[h.id] = _station_for(
                h, [stations[int(i)] for i in ranked], teams, skills, station_of_caregiver
            )
    return out


def _station_for(
    h: Household,
    ranked: Sequence[Station],
    teams: Mapping[str, Sequence[Caregiver]],
    skills: Mapping[str, frozenset[str]],
    station_of_caregiver: Mapping[str, str],
) -> str:
    need = len(h.requests)
    # Continuity first: the station of a caregiver the household asks for, when it serves it.
    wished = [station_of_caregiver[c] for c in h.preferred_caregivers if c in station_of_caregiver]
    for sid in dict.fromkeys(wished):
        if sid in skills and _serves(teams.get(sid, ()), skills[sid], h) == need:
            return sid
    best, best_n = ranked[0].id, -1
    for s in ranked:
        n = _serves(teams.get(s.id, ()), skills[s.id], h)
        if n == need:
            return s.id
        if n > best_n:
            best, best_n = s.id, n
    return best


def split_city(
    scenario: Scenario,
    *,
    max_households: int = GROUP_HOUSEHOLDS,
    max_stations: int = GROUP_STATIONS,
    station_of: Mapping[str, str] | None = None,
) -> CitySplit:
    """Station groups of at most ``max_stations`` neighbouring stations and
    ``max_households`` households (one station with more is a group alone), by cutting the
    city in two at its household-weighted middle, again and again (see the module's text).
    ``station_of`` defaults to :func:`assign_households`. Deterministic. Raises
    ``ValueError`` for bounds below 1."""
    if max_households < 1 or max_stations < 1:
        raise ValueError("a station group needs room for one household and one station")
    station_of = dict(station_of) if station_of is not None else assign_households(scenario)
    homes: dict[str, list[Household]] = defaultdict(list)
    for h in scenario.households:
        homes[station_of[h.id]].append(h)
    lat0 = float(np.mean([s.lat for s in scenario.stations])) if scenario.stations else 0.0
    cos0 = float(np.cos(np.radians(lat0)))
    points = [
        (s.id, s.lon * _M_PER_DEG * cos0, s.lat * _M_PER_DEG, len(homes.get(s.id, ())))
        for s in scenario.stations
    ]
    parts = _bisect(points, max_households, max_stations)
    crew: dict[str, int] = defaultdict(int)
    for c in scenario.caregivers:
        crew[c.station] += 1
    groups = []
    for k, part in enumerate(parts):
        ids = tuple(sorted(p[0] for p in part))
        members = [h for sid in ids for h in homes.get(sid, ())]
        groups.append(
            StationGroup(
                key=f"G{k + 1:03d}",
                stations=ids,
                households=tuple(h.id for h in members),
                caregivers=sum(crew[s] for s in ids),
                visits=sum(r.visits_per_week for h in members for r in h.requests),
            )
        )
    return CitySplit(tuple(groups), MappingProxyType(station_of))


_Point = tuple[str, float, float, int]  # station id, east m, north m, households


def _bisect(points: list[_Point], max_households: int, max_stations: int) -> list[list[_Point]]:
    weight = sum(p[3] for p in points)
    if len(points) <= 1 or (len(points) <= max_stations and weight <= max_households):
        return [points]
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    axis = 1 if max(xs) - min(xs) >= max(ys) - min(ys) else 2
    ordered = sorted(points, key=lambda p: (p[axis], p[0]))
    best, best_gap, acc = 1, float("inf"), 0
    for k in range(1, len(ordered)):
        acc += ordered[k - 1][3]
        gap = abs(2 * acc - weight) if weight else abs(2 * k - len(ordered))
        if gap < best_gap:
            best, best_gap = k, gap
    return _bisect(ordered[:best], max_households, max_stations) + _bisect(
        ordered[best:], max_households, max_stations
    )


def group_seconds(
    split: CitySplit, *, time_limit: float, workers: int, minimum: float = MIN_GROUP_SECONDS
) -> dict[str, float]:
    """Each group's search seconds, in proportion to its visits, so that the groups' seconds
    over ``workers`` add up to ``time_limit`` (at least ``minimum`` each, at most
    ``time_limit``). The fixed work of a group (reading, the greedy week, the checks) comes on
    top. Raises ``ValueError`` for a limit not above 0 or fewer than one worker."""
    if time_limit <= 0 or workers < 1:
        raise ValueError("need a time limit above 0 and at least one worker")
    total = max(1, sum(g.visits for g in split.groups))
    pool = time_limit * min(workers, max(1, len(split.groups)))
    return {
        g.key: round(min(time_limit, max(minimum, pool * g.visits / total)), 3)
        for g in split.groups
    }


def group_scenario(scenario: Scenario, group: StationGroup) -> Scenario:
    """The part of ``scenario`` one group plans: its stations, their caregivers and the
    households it serves (with all their requests; their preferred and forbidden caregivers
    only those of the group)."""
    stations = set(group.stations)
    homes = set(group.households)
    caregivers = tuple(c for c in scenario.caregivers if c.station in stations)
    here = {c.id for c in caregivers}
    return replace(
        scenario,
        name=f"{scenario.name} / {group.key}",
        stations=tuple(s for s in scenario.stations if s.id in stations),
        caregivers=caregivers,
        households=tuple(_within(h, here) for h in scenario.households if h.id in homes),
    )


def _within(h: Household, here: set[str]) -> Household:
    """``h`` naming only the caregivers of its group: one of another station can neither be
    given to it (a preference lost) nor be forbidden to it (nothing lost)."""
    preferred = tuple(c for c in h.preferred_caregivers if c in here)
    forbidden = tuple(c for c in h.forbidden_caregivers if c in here)
    if preferred == h.preferred_caregivers and forbidden == h.forbidden_caregivers:
        return h
    return replace(h, preferred_caregivers=preferred, forbidden_caregivers=forbidden)


# ------------------------------------------------------------------------------------------
# One group's task (in a worker)


def plan_group_task(item: Mapping[str, Any], report: Reporter) -> dict[str, Any]:
    """Plan one station group in a worker: ``item`` holds ``scenario`` (a scenario document),
    ``params`` (:class:`SolveParams` with the group's seconds) and ``key``. Returns the plan
    document (``plan``) and the seconds it took (``seconds``). Raises ``RuntimeError`` when
    the checker finds a violation in the group's plan (the engine then runs it once more)."""
    began = time.perf_counter()
    # A road provider's minutes are asked for the group's own places (cached on disk).
    scenario = resolve_travel(parse_scenario(item["scenario"]).scenario)
    plan = plan_week(scenario, params=item["params"])
    found = check_plan(scenario, plan)
    if found.violations:
        first = found.violations[0]
        raise RuntimeError(
            f"{len(found.violations)} checker violation(s), first {first.rule}: {first.message}"
        )
    report(("planned", plan.kpis.get("planned_visits", 0.0)))
    return {"plan": plan_to_dict(plan), "seconds": time.perf_counter() - began}


# ------------------------------------------------------------------------------------------
# The city


def run_city(
    scenario: Scenario,
    *,
    engine: EngineSettings,
    params: SolveParams,
    progress: ProgressFn | None = None,
    split: CitySplit | None = None,
    seconds: Mapping[str, float] | None = None,
    task: TaskFn = plan_group_task,
) -> CityResult:
    """Plan ``scenario`` group by group on ``engine`` (see the module's text).

    ``params.time_limit`` is the wall time aimed at on ``engine.size`` workers (the groups'
    search seconds, :func:`group_seconds`; reading, greedy weeks, checks and starting the
    engine come on top); ``seconds`` gives every group's seconds instead (the same budgets on
    another number of workers). ``split`` defaults to :func:`split_city`. ``progress`` gets a
    :class:`~dispatch.weekly.planner.Progress` as groups start and finish. ``task`` is what
    each worker runs (a module-level function, default :func:`plan_group_task`; tests put a
    failing one here). Raises :class:`dispatch.engines.EngineUnavailable` when the engine
    cannot start, ``ValueError`` for a scenario with households but no station, or budgets
    missing a group.
    """
    began = time.perf_counter()
    report = progress or (lambda _p: None)
    report(Progress("split", 0.0, "grouping stations / 站点分组"))
    split = split if split is not None else split_city(scenario)
    if seconds is None:
        seconds = group_seconds(split, time_limit=params.time_limit, workers=engine.size)
    missing = [g.key for g in split.groups if g.key not in seconds]
    if missing:
        raise ValueError(f"no seconds for station group(s) {', '.join(missing)}")
    work = {g.key: g for g in split.groups if g.households}
    items = {
        g.key: {
            "key": g.key,
            "scenario": scenario_to_dict(group_scenario(scenario, g)),
            "params": replace(params, time_limit=float(seconds[g.key])),
        }
        # Largest first, so that the last to finish are short.
        for g in sorted(work.values(), key=lambda g: (-seconds[g.key], g.key))
    }
    total = max(1, sum(g.visits for g in work.values()))
    done = 0

    def on_report(key: str, value: Any) -> None:
        if value == STARTED:
            report(Progress("route", done / total, f"group {key} started / {key} 开始"))

    plans: dict[str, Plan] = {}
    outcomes: dict[str, GroupOutcome] = {}
    with open_engine(engine) as running:
        for result in running.run(task, items, on_report=on_report):
            g = work[result.key]
            done += g.visits
            if result.ok:
                plan = parse_plan(result.value["plan"])
                plans[g.key] = plan
                outcomes[g.key] = GroupOutcome(
                    g.key,
                    g.stations,
                    float(seconds[g.key]),
                    float(result.value["seconds"]),
                    result.attempts,
                    g.visits,
                    int(plan.kpis.get("planned_visits", 0)),
                )
                message = f"group {g.key} planned / {g.key} 已排"
            else:
                outcomes[g.key] = GroupOutcome(
                    g.key,
                    g.stations,
                    float(seconds[g.key]),
                    0.0,
                    result.attempts,
                    g.visits,
                    0,
                    result.error or "failed",
                )
                message = f"group {g.key} failed / {g.key} 失败: {result.error}"
            report(Progress("route", done / total, message))
    for g in split.groups:
        if g.key not in work:  # stations without households: nothing to plan
            outcomes[g.key] = GroupOutcome(g.key, g.stations, float(seconds[g.key]), 0.0, 0, 0, 0)
    report(Progress("check", 0.95, "checking the city's plan / 校验全市方案"))
    plan = _assemble(scenario, split, plans, outcomes)
    found = check_plan(travel_of_plan(scenario, plan), plan)
    critical = max((o.run_seconds for o in outcomes.values()), default=0.0)
    wall = time.perf_counter() - began
    kpis = dict(found.kpis)
    kpis |= {
        "city_groups": float(len(split.groups)),
        "city_failed_groups": float(sum(o.error is not None for o in outcomes.values())),
        "city_critical_path_seconds": round(critical, 3),
        "city_group_seconds_total": round(sum(o.run_seconds for o in outcomes.values()), 3),
        "city_wall_seconds": round(wall, 3),
        "solver_seconds": round(wall, 3),
    }
    plan = replace(plan, kpis=MappingProxyType(kpis))
    report(Progress("done", 1.0, "plan ready / 计划完成", plan.kpis, plan))
    return CityResult(
        plan=plan,
        groups=tuple(outcomes[k] for k in sorted(outcomes)),
        wall_seconds=wall,
        critical_path_seconds=critical,
        violations=found.violations,
    )


def plan_city(
    scenario: Scenario,
    *,
    engine: EngineSettings,
    params: SolveParams,
    progress: ProgressFn | None = None,
) -> Plan:
    """A city's weekly plan, station group by station group on ``engine``: :func:`run_city`'s
    plan (its KPIs hold :data:`CITY_KPIS` beside the usual ones). Raises as :func:`run_city`."""
    return run_city(scenario, engine=engine, params=params, progress=progress).plan


def _assemble(
    scenario: Scenario,
    split: CitySplit,
    plans: Mapping[str, Plan],
    outcomes: Mapping[str, GroupOutcome],
) -> Plan:
    """One plan of the groups' plans; a failed group's requests are unassigned."""
    routes = [r for p in plans.values() for r in p.routes]
    routes.sort(key=lambda r: (DAYS.index(r.day), r.caregiver))
    missing = [u for p in plans.values() for u in p.unassigned]
    failed = {o.key: o for o in outcomes.values() if o.error is not None}
    if failed:
        homes = {h.id: h for h in scenario.households}
        for key, outcome in sorted(failed.items()):
            g = split.group(key)
            detail = (
                f"station group {key} ({', '.join(g.stations)}) could not be planned: its task "
                f"failed {outcome.attempts} time(s), last with {outcome.error}; plan these "
                f"stations again (站点组 {key} 排班失败, 请重新排班)"
            )
            for hid in g.households:
                for r in homes[hid].requests:
                    if r.visits_per_week > 0:
                        missing.append(
                            Unassigned(
                                r.id, hid, r.visits_per_week, Reason.SOLVER_LIMIT.value, detail
                            )
                        )
    order = {r.id: i for i, (_, r) in enumerate(scenario.requests())}
    missing.sort(key=lambda u: (order.get(u.request, 0), u.reason))
    return Plan(
        scenario=scenario.name,
        routes=tuple(routes),
        unassigned=tuple(missing),
        travel=merge_records(p.travel for p in plans.values()),
    )
