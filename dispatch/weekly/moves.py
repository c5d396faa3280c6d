"""The large-neighbourhood search over days and caregivers (step 5 of a weekly plan).

Each move re-routes the days it touches and is kept when it is worth more: a request moves to
another of its patterns, or a household keeps its preferred or most frequent caregiver
(continuity of care, 服务连续性).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

from dispatch.daily import DayVisit
from dispatch.diagnose import qualified
from dispatch.model import DAYS, Route
from dispatch.weekly.day import solve_day
from dispatch.weekly.state import DayDrops, Group, Task, day_value, first_choice

__all__ = ["improve_station", "route_tasks"]


def improve_station(g: Group, seconds: float, rng: random.Random) -> None:
    """Large-neighbourhood search over days and caregivers, each move re-routing the days it
    touches:

    - move one request to another of its patterns; kept when the station serves more (by
      priority), or as much with less travel;
    - give all of a household's visits to the caregiver who already does most of them
      (continuity); kept when as much is served for at most 2 % more travel.
    """
    deadline = g.budget.now() + seconds
    working_days = [d for d in g.sub.days if any(d in c.shifts for c in g.sub.caregivers)]
    each = max(0.05, min(1.0, seconds / max(1, 4 * len(working_days))))
    by_household: dict[str, list[Task]] = defaultdict(list)
    for t in g.tasks:
        by_household[t.household.id].append(t)

    idle = 0
    # What re-routing one day really takes (search plus compiling), measured as it goes;
    # none measured: the polish could re-route no day in its time, nor can a move here.
    known = g.week.day_seconds.get(g.key)
    if known is None:
        return
    spent = each + known
    while g.budget.now() + spent < deadline and idle < 20:
        saved_tasks = {t.request.id: (tuple(t.days), t.fixed) for t in g.tasks}
        continuity = rng.random() < 0.5
        affected = (
            _continuity_move(g, by_household, rng) if continuity else _pattern_move(g.tasks, rng)
        )
        if affected is None:
            idle += 1
            for t in g.tasks:
                t.days, t.fixed = saved_tasks[t.request.id]
            continue
        idle = 0
        if g.budget.now() + spent * len(affected) > deadline:
            for t in g.tasks:
                t.days, t.fixed = saved_tasks[t.request.id]
            break
        saved = {d: (g.routes(d), g.dropped(d)) for d in affected}
        before = [day_value(g.sub, saved[d][0]) for d in affected]
        began = g.budget.now()
        _reroute_days(g, affected, each)
        spent = max(spent, (g.budget.now() - began) / len(affected))
        after = [day_value(g.sub, g.routes(d)) for d in affected]
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
                served = {s.request for r in g.week.routes[(g.key, day)] for s in r.stops}
                for t in g.tasks:
                    if day in t.days and t.request.id not in served:
                        t.days = tuple(d for d in t.days if d != day)
            continue
        for d, (routes, dropped) in saved.items():
            g.set_day(d, routes, dropped)
        for t in g.tasks:
            t.days, t.fixed = saved_tasks[t.request.id]


def _reroute_days(g: Group, days: Sequence[str], seconds: float) -> None:
    """Route each of ``days`` again from its current routes with the tasks of that day, each
    within ``seconds``, keeping the new routes whatever they are worth."""
    for day in days:
        g.set_day(day, *route_tasks(g, day, seconds, g.routes(day)))


def route_tasks(
    g: Group, day: str, seconds: float, hint: Sequence[Route]
) -> tuple[tuple[Route, ...], DayDrops]:
    """The routes of ``day`` for the group's tasks of that day, searched within ``seconds``
    from the ``hint`` routes (each task's team as its first choice), and the visits left out."""
    todo = [t for t in g.tasks if day in t.days]
    visits = [DayVisit(t.request.id, t.household.id) for t in todo]
    teams = {t.request.id: first_choice(g.sub, t, day) for t in todo}
    routes, dropped, _ = solve_day(
        g.sub,
        day,
        visits,
        teams,
        provider=g.provider,
        used=g.minutes_used(day),
        budget=g.budget,
        seconds=seconds,
        hint=hint,
        locked=g.locked_on(day),
        affinity=g.affinity(day),
    )
    return routes, dropped


def _pattern_move(group: Sequence[Task], rng: random.Random) -> list[str] | None:
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
    g: Group, by_household: Mapping[str, list[Task]], rng: random.Random
) -> list[str] | None:
    """Fix a household's visits to its preferred caregiver, or to its most frequent one when it
    has several visitors; the days to re-route (or None when there is nothing to do)."""
    who: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    where: dict[tuple[str, str], str] = {}
    for (st, day), routes in g.week.routes.items():
        if st != g.key:
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
                for x in g.sub.caregivers
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
    caregiver = g.sub.caregiver(keeper)
    affected: set[str] = set()
    for t in by_household[hid]:
        if not qualified(caregiver, t.household, t.request):
            continue
        t.fixed = (keeper,)
        affected.update(d for d in t.days if where.get((t.request.id, d)) != keeper)
    return [d for d in DAYS if d in affected] or None
