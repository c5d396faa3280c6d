"""Adding the visits of requests planned short (step 4 of a weekly plan).

A request planned short gets visits on days that keep it inside one of its patterns; one whose
days fit no pattern moves to the pattern that keeps most of them, and what that pushes out
goes to another of its days. In a group of several stations only the request's own station is
routed again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from dispatch.diagnose import qualified
from dispatch.haversine import scenario_travel
from dispatch.kpis import ScenarioIndex, route_leg_minutes
from dispatch.model import DAYS, Route, Scenario
from dispatch.travel import haversine_km
from dispatch.weekly.polish import reroute_day
from dispatch.weekly.prepare import capacity_minutes
from dispatch.weekly.state import Group, Task, served_score

__all__ = ["FILL_SECONDS_PER_SHORT", "fill_group"]

#: Seconds kept for adding the missing visits of each request the first week plans short (a
#: move to another pattern re-routes three or four days).
FILL_SECONDS_PER_SHORT = 1.0


def fill_group(
    g: Group,
    seconds: float,
    *,
    stations: Sequence[str] | None = None,
) -> None:
    """Add missing visits of requests planned short: on a day that keeps them inside one of
    their patterns, re-routing that day from its current routes; a request whose days fit no
    pattern moves to one that keeps most of them (:func:`_move_to_pattern`, the best two of
    :func:`_ranked_patterns`). With ``stations`` (a group of several), only the routes of a
    request's own station are routed again."""
    deadline = g.budget.now() + seconds

    def short_tasks() -> list[Task]:
        return sorted(
            (
                t
                for t in g.tasks
                if len(t.days) < max(len(p) for p in t.patterns) and t.request.id not in tried
            ),
            key=lambda t: -t.request.priority,
        )

    tried: set[str] = set()
    short = short_tasks()
    # A day re-route compiles the day and builds its model before it searches: when none
    # could be made in the group's time (the polish measures one), adding a visit, which
    # re-routes a day or three, cannot be either.
    known = g.week.day_seconds.get(g.key)
    if not short or known is None:
        return
    working = [d for d in g.sub.days if any(d in c.shifts for c in g.sub.caregivers)]
    each = max(0.05, min(1.0, seconds / max(1, 2 * len(short))))
    # What one re-route really takes (search plus compiling), measured as it goes; the first
    # one is tried when one re-route fits, as adding a visit is worth more than the seconds
    # it may overrun.
    spent = each + known
    moved = False  # the first move to another pattern needs one re-route's time, as above
    # Adding a visit may push out others: they are tried in turn, once each.
    while short:
        task = short[0]
        tried.add(task.request.id)
        if not _fill_days(task, working):
            # Its days fit no pattern (two visits Tuesday and Friday, three needed two days
            # apart): the next visit needs one of them moved.
            for pattern in _ranked_patterns(g, task, stations)[:2]:
                if g.budget.now() + (3 * spent if moved else spent) > deadline:
                    return
                moved = True
                began = g.budget.now()
                done = _move_to_pattern(
                    g, task, pattern, each, deadline=deadline, stations=stations
                )
                spent = max(spent, (g.budget.now() - began) / 3)
                if done:
                    break
            short = short_tasks()
            continue
        for day in _fill_days(task, working):
            if g.budget.now() + spent > deadline:
                return
            if len(task.days) >= max(len(p) for p in task.patterns):
                break
            if day in task.days or not _fits_pattern(task, (*task.days, day)):
                continue
            began = g.budget.now()
            _add_visit(g, day, task, each, stations=stations)
            spent = max(spent, g.budget.now() - began)
        short = short_tasks()


def _ranked_patterns(g: Group, task: Task, stations: Sequence[str] | None) -> list[tuple[str, ...]]:
    """The patterns a short request could move to, best first: those that keep most of its
    days, then those whose new days have the most time to spare at its station."""
    current = set(task.days)
    if task.pinned:
        return []
    options = [p for p in task.patterns if not current <= set(p)]
    home = _home_station(g, task, stations)
    mine = {c.id for c in g.sub.caregivers if home is None or c.station == home}
    minutes = {r.id: r.minutes for _, r in g.sub.requests()}
    busy = {
        d: sum(
            minutes.get(s.request, 0) for r in g.routes(d) if r.caregiver in mine for s in r.stops
        )
        - sum(capacity_minutes(c, (d,)) for c in g.sub.caregivers if c.id in mine)
        for d in DAYS
    }
    return sorted(
        options,
        key=lambda p: (-len(current & set(p)), sum(busy[d] for d in p if d not in current), p),
    )


def _move_to_pattern(
    g: Group,
    task: Task,
    pattern: tuple[str, ...],
    seconds: float,
    *,
    deadline: float,
    stations: Sequence[str] | None = None,
) -> bool:
    """Move a short request onto ``pattern``: its visits leave the days outside it and go to
    the pattern's other days, each day re-routed from its current routes; visits this pushes
    out go to another day of theirs where they fit, while there is time before ``deadline``
    (on the budget's clock). Kept (returns True) when the days touched serve more by
    priority. ``stations`` as in :func:`fill_group`."""
    current = set(task.days)
    home = _home_station(g, task, stations)
    gone = [d for d in DAYS if d in current and d not in pattern]
    new = [d for d in pattern if d not in current]
    affected = [*gone, *new]
    saved_days = {t.request.id: (t.days, t.widened) for t in g.tasks}
    saved = {d: (g.routes(d), g.dropped(d)) for d in affected}
    before = sum(served_score(g.sub, saved[d][0]) for d in affected)
    task.days = tuple(d for d in task.days if d in pattern)
    for day in gone:  # taking a visit out keeps every other stop's times: no search needed
        shorter = _without(g.sub, g.routes(day), task.request.id)
        if shorter is not None:
            g.week.routes[(g.key, day)] = shorter
            continue
        holder = _station_of_visit(g, day, task.request.id)
        reroute_day(
            g,
            day,
            seconds,
            keep_better=False,
            station=holder if stations is not None else None,
        )
    for day in new:
        _add_visit(
            g,
            day,
            task,
            seconds,
            stations=stations,
            keep_better=False,
            station=home,
        )
    # Visits the move pushed out go to another day of theirs where they fit.
    working = [d for d in g.sub.days if any(d in c.shifts for c in g.sub.caregivers)]
    for other in g.tasks:
        if other is task or len(other.days) >= len(saved_days[other.request.id][0]):
            continue
        lost = set(saved_days[other.request.id][0]) - set(other.days)
        for n, day in enumerate(d for d in _fill_days(other, working) if d not in lost):
            # One day each even past the deadline: the move is only worth it when they fit.
            if n and g.budget.now() + seconds > deadline:
                break
            if day not in saved:
                saved[day] = (g.routes(day), g.dropped(day))
                before += served_score(g.sub, saved[day][0])
                affected.append(day)
            if _add_visit(g, day, other, seconds, stations=stations):
                break
    if sum(served_score(g.sub, g.routes(d)) for d in affected) > before:
        return True
    for d, (routes, dropped) in saved.items():
        g.set_day(d, routes, dropped)
    for t in g.tasks:
        t.days, t.widened = saved_days[t.request.id]
    return False


def _add_visit(
    g: Group,
    day: str,
    task: Task,
    seconds: float,
    *,
    stations: Sequence[str] | None,
    keep_better: bool = True,
    station: str | None = None,
) -> bool:
    """:func:`reroute_day` of ``day`` with one more visit of ``task`` (any qualified
    caregiver may serve it), on its own station's routes when ``stations`` are a group
    (``station``: that one, else :func:`_home_station`)."""
    if stations is not None and station is None:
        station = _home_station(g, task, stations)
    return reroute_day(
        g,
        day,
        seconds,
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


def _station_of_visit(g: Group, day: str, request: str) -> str | None:
    """The station of the caregiver whose route holds ``request`` on ``day``, if any."""
    for route in g.routes(day):
        if any(s.request == request for s in route.stops):
            return g.sub.caregiver(route.caregiver).station
    return None


def _home_station(g: Group, task: Task, stations: Sequence[str] | None) -> str | None:
    """Of ``stations`` (``None``: the group is one station), the one whose caregivers make
    most of ``task``'s visits, else the nearest with a caregiver qualified for it."""
    if stations is None:
        return None
    count: dict[str, int] = defaultdict(int)
    for d in task.days:
        st = _station_of_visit(g, d, task.request.id)
        if st is not None:
            count[st] += 1
    if count:
        return max(count, key=lambda st: (count[st], st))
    h, r = task.household, task.request
    able = {c.station for c in g.sub.caregivers if qualified(c, h, r)} & set(stations)
    where = [s for s in g.sub.stations if s.id in (able or set(stations))]
    return min(where, key=lambda s: haversine_km(h.lat, h.lon, s.lat, s.lon)).id


def _fits_pattern(task: Task, days: Sequence[str]) -> bool:
    chosen = set(days)
    return any(chosen <= set(p) for p in task.patterns)


def _fill_days(task: Task, working: Sequence[str]) -> list[str]:
    """Days a short request could still use, those of the most patterns first."""
    count: dict[str, int] = defaultdict(int)
    for p in task.patterns:
        if set(task.days) <= set(p):
            for d in p:
                if d not in task.days and d in working:
                    count[d] += 1
    return sorted(count, key=lambda d: (-count[d], DAYS.index(d)))
