"""Choosing the days again, with every day's rules (step 5 of a weekly plan, before the moves).

The greedy week chose each request's days one request at a time; the polish then routed
those days. Here the days and the routes of a one-station group are searched together
(:func:`solver.week_sisr.search_week`): the week is one routing problem whose vehicles are the
caregiver-days and whose visits are the request-days of every day a request's patterns allow,
each request kept inside one of its patterns. Windows, shifts, rests, skills, travel modes and
visit caps hold on every day as the day router keeps them; the weekly minutes, which tie the
days together, are checked when each day is routed again from the search's routes. The new
week is kept only when it serves as much (by priority) with less travel, or more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from dispatch.daily import DayProblem, DayVisit, compile_day, decode_day
from dispatch.model import DAYS, Route
from dispatch.travel import Place
from dispatch.weekly.day import CONTINUITY_MINUTES, narrow_to_teams
from dispatch.weekly.moves import route_tasks
from dispatch.weekly.solving import retime, search_week_problem
from dispatch.weekly.state import Group, Task, day_value, first_choice
from solver.problem import RoutingProblem, SolvedRoute, SolverResult, VehicleSpec, VisitSpec
from solver.week_sisr import WeekContinuity, WeekTask

__all__ = [
    "REPATTERN_SHARE",
    "WeekProblem",
    "build_week",
    "can_repattern",
    "repattern_group",
]

#: Share of a group's routing time (the polish's) that goes to the week's search; the polish
#: first takes the greedy routes to where a string removal starts well (measured on generated
#: districts of 300 and 1,500 households: 0.4 to 0.95 all cut travel per visit by 10-20 %
#: against the polish alone, 0.8 with most of the continuity kept).
REPATTERN_SHARE = 0.8

#: Share of the week's time kept for routing each day again from the search's routes with
#: every rule (the weekly minutes with the new week's other days, continuity).
REROUTE_SHARE = 0.3


@dataclass(frozen=True)
class WeekProblem:
    """A group's week as one routing problem: ``days[k]`` is each compiled day (its vehicles
    start at ``vehicle_offset[k]``); ``owner[i]`` is the (day, visit of that day) of week visit
    ``i``; ``movable`` the tasks whose days may move, with their
    :class:`~solver.week_sisr.WeekTask`; ``initial`` the current routes as visit indices per
    vehicle; ``vehicle_costs`` the continuity costs per visit and vehicle; ``narrowed[k]`` day
    ``k``'s own problem with the narrowed shifts (its routes are timed in them)."""

    problem: RoutingProblem
    days: tuple[DayProblem, ...]
    vehicle_offset: tuple[int, ...]
    owner: tuple[tuple[int, int], ...]
    movable: tuple[Task, ...]
    week_tasks: tuple[WeekTask, ...]
    narrowed: tuple[RoutingProblem, ...]
    initial: tuple[tuple[int, ...], ...]
    continuity: WeekContinuity


def _movable(task: Task) -> bool:
    """A request whose days may move: more than one pattern, one caregiver, no link to another
    visit, not riding on a kept route, and its days inside one of its patterns."""
    r = task.request
    return (
        len(task.patterns) > 1
        and r.staff == 1
        and r.after is None
        and not task.pinned
        and bool(task.days)
        and any(set(task.days) <= set(p) for p in task.patterns)
    )


def _working_days(g: Group) -> list[str]:
    return [d for d in g.sub.days if any(d in c.shifts for c in g.sub.caregivers)]


def can_repattern(g: Group) -> bool:
    """Whether the week's search can run on the group: some request may change days, and
    nothing the compiled search does not keep is there (two-person or linked visits, kept
    routes)."""
    days = _working_days(g)
    return (
        bool(days)
        and not any(g.locked_on(d) for d in days)
        and not any(t.request.staff > 1 or t.request.after is not None for t in g.tasks)
        and any(_movable(t) for t in g.tasks)
    )


def build_week(g: Group) -> WeekProblem | None:
    """The group's week as one problem, or ``None`` when :func:`can_repattern` says no or no
    request has two patterns its days' caregivers may serve."""
    if not can_repattern(g):
        return None
    days = _working_days(g)
    movable = [t for t in g.tasks if _movable(t)]
    moving = {t.request.id for t in movable}
    compiled: list[DayProblem] = []
    for day in days:
        visits = [
            DayVisit(t.request.id, t.household.id)
            for t in g.tasks
            if (t.request.id in moving and any(day in p for p in t.patterns))
            or (t.request.id not in moving and day in t.days)
        ]
        teams = {t.request.id: first_choice(g.sub, t, day) for t in g.tasks}
        day_problem = compile_day(g.sub, day, travel=g.provider, visits=visits)
        day_problem = narrow_to_teams(day_problem, teams)
        if day_problem.problem.syncs:
            return None
        compiled.append(day_problem)
    return _merge(g, days, compiled, movable)


def _merge(
    g: Group, days: Sequence[str], compiled: Sequence[DayProblem], movable: Sequence[Task]
) -> WeekProblem | None:
    """One problem of the compiled days; the movable tasks with at least two patterns left
    (a day none of whose caregivers may serve them rules out its patterns), the others kept on
    their days."""
    present = {(v.request, dp.day) for dp in compiled for v in dp.visits}
    kept: list[Task] = []
    for t in movable:
        sets = [p for p in t.patterns if all((t.request.id, d) in present for d in p)]
        if len(sets) > 1 and any(set(t.days) <= set(p) for p in sets):
            kept.append(t)
    if not kept:
        return None
    kept_ids = {t.request.id for t in kept}
    # The days each request may be on: its own days, or those of its patterns left.
    stay = {t.request.id: set(t.days) for t in g.tasks if t.request.id not in kept_ids}
    for t in kept:
        stay[t.request.id] = {
            d for p in t.patterns if all((t.request.id, x) in present for x in p) for d in p
        }
    spans = _weekly_spans(g, days)
    narrowed: list[RoutingProblem] = []
    places: list[Place] = []
    index: dict[str, int] = {}
    for dp in compiled:
        for p in dp.places:
            if p.key not in index:
                index[p.key] = len(places)
                places.append(p)
    modes = sorted({m for dp in compiled for m in dp.modes})
    matrices = tuple(g.provider.matrix(places, m) for m in modes)
    visits: list[VisitSpec] = []
    vehicles: list[VehicleSpec] = []
    vehicle_offset: list[int] = []
    owner: list[tuple[int, int]] = []  # (day index, visit of that day) of each week visit
    node: dict[tuple[str, str], int] = {}
    who: dict[str, int] = {}  # caregiver id -> its number on every day
    caregiver_of: list[int] = []
    initial: list[tuple[int, ...]] = []
    for k, (day, dp) in enumerate(zip(days, compiled, strict=True)):
        loc = [index[p.key] for p in dp.places]
        voff = len(vehicles)
        vehicle_offset.append(voff)
        narrow = [
            replace(v, shift_start=lo, shift_end=hi)
            for c, v in zip(dp.caregivers, dp.problem.vehicles, strict=True)
            for lo, hi in [spans.get((c.id, day), (v.shift_start, v.shift_end))]
        ]
        narrowed.append(replace(dp.problem, vehicles=tuple(narrow)))
        for vspec in narrow:
            vehicles.append(
                replace(
                    vspec,
                    start_location=loc[vspec.start_location],
                    end_location=loc[vspec.end_location],
                    profile=modes.index(dp.modes[vspec.profile]),
                    max_duration=None,  # the weekly minutes: in the narrowed shifts
                )
            )
        mine = frozenset(range(voff, voff + len(dp.problem.vehicles)))
        caregiver_of.extend(who.setdefault(c.id, len(who)) for c in dp.caregivers)
        for i, spec in enumerate(dp.problem.visits):
            rid = dp.visits[i].request
            if day not in stay.get(rid, ()):
                continue  # a day none of the request's patterns left has
            allowed = (
                mine
                if spec.allowed_vehicles is None
                else frozenset(voff + v for v in spec.allowed_vehicles)
            )
            node[(rid, day)] = len(visits)
            owner.append((k, i))
            visits.append(replace(spec, location=loc[spec.location], allowed_vehicles=allowed))
        vehicle = {c.id: v for v, c in enumerate(dp.caregivers)}
        seqs: list[list[int]] = [[] for _ in dp.caregivers]
        for route in g.routes(day):
            v = vehicle.get(route.caregiver)
            if v is not None:
                seqs[v] = [node[(s.request, day)] for s in route.stops if (s.request, day) in node]
        initial.extend(tuple(s) for s in seqs)
    week_tasks = tuple(
        WeekTask(
            patterns=tuple(
                tuple(node[(t.request.id, d)] for d in p)
                for p in t.patterns
                if all((t.request.id, d) in node for d in p)
            )
        )
        for t in kept
    )
    problem = RoutingProblem(matrices=matrices, visits=tuple(visits), vehicles=tuple(vehicles))
    return WeekProblem(
        problem=problem,
        days=tuple(compiled),
        vehicle_offset=tuple(vehicle_offset),
        owner=tuple(owner),
        movable=tuple(kept),
        week_tasks=week_tasks,
        narrowed=tuple(narrowed),
        initial=tuple(initial),
        continuity=_continuity(g, node, who, tuple(caregiver_of)),
    )


def _continuity(
    g: Group,
    node: Mapping[tuple[str, str], int],
    who: Mapping[str, int],
    caregiver_of: tuple[int, ...],
) -> WeekContinuity:
    """Each request's week visits as one group; a caregiver costs
    :data:`~dispatch.weekly.day.CONTINUITY_MINUTES` among a request's caregivers, less the
    share of the request's visits of the week before that caregiver made; a preferred
    caregiver of the household costs nothing."""
    visits: dict[str, list[int]] = {}
    for (rid, _day), i in sorted(node.items(), key=lambda kv: kv[1]):
        visits.setdefault(rid, []).append(i)
    preferred = {t.request.id: t.household.preferred_caregivers for t in g.tasks}
    groups: list[tuple[int, ...]] = []
    prices: list[tuple[int, ...]] = []
    for rid, members in visits.items():
        before = g.week.before.get(rid, {})
        total = sum(before.values())
        row = [CONTINUITY_MINUTES] * len(who)
        if total > 0:
            for cid, n in before.items():
                if cid in who:
                    row[who[cid]] = CONTINUITY_MINUTES * (total - n) // total
        for cid in preferred.get(rid, ()):
            if cid in who:
                row[who[cid]] = 0
        groups.append(tuple(members))
        prices.append(tuple(row))
    return WeekContinuity(caregiver_of=caregiver_of, groups=tuple(groups), prices=tuple(prices))


def _weekly_spans(g: Group, days: Sequence[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """Narrowed shifts ``(caregiver, day) -> (start, end)`` that keep each caregiver's weekly
    minutes whatever the search does: for a caregiver whose shifts add up to more than the
    weekly maximum, each day gets its route's current span plus a share of the minutes the
    week leaves (by shift length), placed around the current route."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for c in g.sub.caregivers:
        cap = c.max_minutes_per_week
        mine = [d for d in days if d in c.shifts]
        if cap is None or not mine:
            continue
        length = {d: c.shifts[d][1] - c.shifts[d][0] for d in mine}
        if sum(length.values()) <= cap:
            continue
        route = {d: r for d in mine for r in g.routes(d) if r.caregiver == c.id and r.stops}
        used = {d: route[d].back - route[d].leave if d in route else 0 for d in mine}
        slack = max(0, cap - sum(used.values()))
        total = sum(length.values())
        for d in mine:
            start, end = c.shifts[d]
            allowed = used[d] + slack * length[d] // total
            lo = max(start, route[d].leave - (allowed - used[d]) // 2) if d in route else start
            spans[(c.id, d)] = (lo, min(end, lo + allowed))
    return spans


def _within_weekly_minutes(g: Group) -> bool:
    """Whether every caregiver's routes of the group's week keep their weekly maximum (as the
    checker counts it: back minus leave, summed)."""
    worked: dict[str, int] = {}
    for d in g.sub.days:
        for r in g.routes(d):
            worked[r.caregiver] = worked.get(r.caregiver, 0) + r.back - r.leave
    return all(
        c.max_minutes_per_week is None or worked.get(c.id, 0) <= c.max_minutes_per_week
        for c in g.sub.caregivers
    )


def repattern_group(g: Group, seconds: float) -> bool:
    """Search the group's days and routes together for ``seconds`` and keep the new week when
    it serves as much with less travel (or more); returns whether it was kept."""
    began = g.budget.now()
    week = build_week(g)
    if week is None:
        return False
    spent = g.budget.now() - began
    search_seconds = max(0.0, (seconds - spent) * (1.0 - REROUTE_SHARE))
    if search_seconds < 0.05:
        return False
    result = search_week_problem(
        week.problem,
        week.week_tasks,
        week.initial,
        g.budget,
        search_seconds,
        week.continuity,
        len(week.days),
    )
    days = [dp.day for dp in week.days]
    old_routes = {d: (g.routes(d), g.dropped(d)) for d in days}
    old_days = {t.request.id: (t.days, t.fixed) for t in g.tasks}
    before = [day_value(g.sub, g.routes(d)) for d in days]
    # The request-days the search placed, and its routes as hints for each day's router.
    placed: dict[str, list[str]] = {}
    hints: dict[str, list[Route]] = {}
    for k, dp in enumerate(week.days):
        voff = week.vehicle_offset[k]
        solved: list[SolvedRoute] = []
        for j in range(len(dp.caregivers)):
            seq = tuple(week.owner[node][1] for node in result.routes[voff + j])
            for i in seq:
                placed.setdefault(dp.visits[i].request, []).append(dp.day)
            if seq:
                solved.append(SolvedRoute(j, seq, (0,) * len(seq), (0,) * len(seq), 0, 0))
        # timed in the narrowed shifts, where the weekly minutes hold
        timed = retime(week.narrowed[k], SolverResult(tuple(solved), (), 0, 0, True))
        if len(timed.routes) != len(solved):
            return False  # a route the search made that its day's timing cannot hold
        hints[dp.day] = list(decode_day(g.sub, dp, timed)[0])
    moving = {t.request.id for t in week.movable}
    for t in g.tasks:
        on = set(placed.get(t.request.id, ()))
        inside = [set(p) for p in t.patterns] if t.request.id in moving else [set(t.days)]
        if not any(on <= p for p in inside):
            return False  # never a visit off the request's pattern (the search keeps them)
    for t in week.movable:
        got = tuple(d for d in DAYS if d in placed.get(t.request.id, ()))
        if got:
            t.days = got
    # Every day holds the search's routes before any is routed again, so that each day's
    # weekly minutes are counted against the new week's other days.
    for day in days:
        g.set_day(day, tuple(hints[day]), [])
    left = max(0.0, began + seconds - g.budget.now())
    each = left / max(1, len(days))
    for day in days:
        routes_d, dropped = route_tasks(g, day, each, hints[day])
        hinted = tuple(hints[day])
        if day_value(g.sub, routes_d)[:2] < day_value(g.sub, hinted)[:2]:
            # the router lost visits or travel the search's routes keep (they hold every rule
            # of the day, and the narrowed shifts the week's minutes)
            held = {s.request for r in hinted for s in r.stops}
            routes_d = hinted
            dropped = [x for x in dropped if x[0].request not in held]
        g.set_day(day, routes_d, dropped)
    after = [day_value(g.sub, g.routes(d)) for d in days]
    served_gain = sum(v[0] for v in after) - sum(v[0] for v in before)
    travel_gain = sum(v[1] for v in after) - sum(v[1] for v in before)
    if _within_weekly_minutes(g) and (served_gain > 0 or (served_gain == 0 and travel_gain > 0)):
        for day in days:
            served = {s.request for r in g.routes(day) for s in r.stops}
            for t in g.tasks:
                if t.request.id in moving and day in t.days and t.request.id not in served:
                    t.days = tuple(d for d in t.days if d != day)
        return True
    for d, (routes_d, dropped) in old_routes.items():
        g.set_day(d, routes_d, dropped)
    for t in g.tasks:
        t.days, t.fixed = old_days[t.request.id]
    return False
