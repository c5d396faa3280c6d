"""Re-routing the days of a station group from their current routes (step 3 of a weekly plan).

A group of one station routes each whole day again (:func:`polish_group`); a group of several,
whose days are too large for the router, re-routes each station's routes of a day among
themselves (:func:`polish_by_station`). :func:`reroute_day` is the one re-route of a day the
later phases use too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dispatch.daily import DayVisit
from dispatch.model import DAYS, Route
from dispatch.weekly.day import solve_day
from dispatch.weekly.state import Group, Task, day_value, first_choice

__all__ = ["polish_by_station", "polish_group", "reroute_day", "reroute_station_day"]


def polish_group(g: Group, deadline: float) -> None:
    """Improve each day's routes from the current ones, keeping the better of old and new,
    until ``deadline`` (on the budget's clock). A day holding visits this planner leaves
    to people (two-person ones from the greedy week) keeps those routes. What re-routing a
    day costs beyond its search (compiling, decoding), measured, goes to
    ``g.week.day_seconds`` once a day has been re-routed (0 when no day needs it): the later
    phases plan with it."""
    days = [d for d in g.sub.days if any(d in t.days for t in g.tasks)]
    work = {d: max(1, sum(1 for t in g.tasks if d in t.days)) for d in days}
    overhead = 0.0  # compiling and decoding a day, beyond its search time, measured
    ran = not days  # nothing to re-route: nothing to wait for either
    for i, day in enumerate(days):
        left = deadline - g.budget.now() - overhead * (len(days) - i)
        if left <= 0.05:
            break
        share = max(0.05, left * work[day] / sum(work[d] for d in days[i:]))
        began = g.budget.now()
        reroute_day(g, day, share, keep_better=True)
        overhead = max(overhead, g.budget.now() - began - share)
        ran = True
    if ran:
        g.week.day_seconds[g.key] = overhead


def polish_by_station(g: Group, stations: Sequence[str], end: float) -> None:
    """Re-route each station's routes of each day with the visits they hold, keeping the new
    ones when they serve the same with less travel, until ``end`` (on the budget's clock).
    What one re-route costs beyond its search goes to ``g.week.day_seconds`` as in
    :func:`polish_group`."""
    days = [d for d in g.sub.days if g.routes(d)]
    pieces = [(d, st) for d in days for st in stations]
    size = {
        (d, st): sum(
            len(r.stops) for r in g.routes(d) if g.sub.caregiver(r.caregiver).station == st
        )
        for d, st in pieces
    }
    pieces = [p for p in pieces if size[p] > 1]
    total = max(1, sum(size[p] for p in pieces))
    overhead = 0.0  # compiling and decoding, beyond the search time, measured
    if not pieces:
        g.week.day_seconds[g.key] = overhead
    for round_ in range(3):
        for i, piece in enumerate(pieces):
            now = g.budget.now()
            if round_ == 0:
                left = end - now - overhead * (len(pieces) - i)
                share = left * size[piece] / sum(size[p] for p in pieces[i:])
            else:  # later rounds: what is left, spread over the whole week again
                share = (end - now) * size[piece] / total
            if share <= 0.05 or now + share + overhead > end:
                return
            day, station = piece
            reroute_station_day(g, day, station, share)
            overhead = max(overhead, g.budget.now() - now - share)
            g.week.day_seconds[g.key] = overhead


def reroute_station_day(g: Group, day: str, station: str, seconds: float) -> None:
    """Route one station's caregivers of ``day`` again with the visits their routes hold; keep
    the new routes when they serve all of them with less travel (or as much, for more
    preferred caregivers)."""
    routes = g.routes(day)
    mine = {c.id for c in g.sub.caregivers if c.station == station}
    part = [r for r in routes if r.caregiver in mine]
    visits = [DayVisit(s.request, s.household) for r in part for s in r.stops]
    if len(visits) < 2:
        return
    new, _, _ = solve_day(
        replace(g.sub, caregivers=tuple(c for c in g.sub.caregivers if c.id in mine)),
        day,
        visits,
        {v.request: None for v in visits},
        provider=g.provider,
        used=g.minutes_used(day),
        budget=g.budget,
        seconds=seconds,
        hint=part,
        locked=g.locked_on(day),
        affinity=g.affinity(day),
        fixed=[r for r in routes if r.caregiver not in mine],
    )
    served = {s.request for r in new for s in r.stops}
    if any(v.request not in served for v in visits):
        return
    if day_value(g.sub, new) <= day_value(g.sub, part):
        return
    others = [r for r in routes if r.caregiver not in mine]
    g.week.routes[(g.key, day)] = tuple(sorted((*others, *new), key=lambda r: r.caregiver))


def reroute_day(
    g: Group,
    day: str,
    seconds: float,
    *,
    extra: Sequence[Task] = (),
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
    whole = g.routes(day)
    kept: tuple[Route, ...]
    if station is None:
        day_sub, kept, old = g.sub, (), whole
        todo = [t for t in g.tasks if day in t.days]
    else:
        mine = {c.id for c in g.sub.caregivers if c.station == station}
        day_sub = replace(g.sub, caregivers=tuple(c for c in g.sub.caregivers if c.id in mine))
        kept = tuple(r for r in whole if r.caregiver not in mine)
        old = tuple(r for r in whole if r.caregiver in mine)
        held = {s.request for r in old for s in r.stops}
        todo = [t for t in g.tasks if day in t.days and t.request.id in held]
    todo += [t for t in extra if day not in t.days]
    visits = [DayVisit(t.request.id, t.household.id) for t in todo]
    # A station's routes are polished with anyone of the station serving (see
    # reroute_station_day): narrowing them again would take stops out of the current routes.
    teams = {
        t.request.id: None
        if t.request.id in widen or station is not None
        else first_choice(g.sub, t, day)
        for t in todo
    }
    routes, dropped, _ = solve_day(
        day_sub,
        day,
        visits,
        teams,
        provider=g.provider,
        used=g.minutes_used(day),
        budget=g.budget,
        seconds=seconds,
        hint=old,
        locked=g.locked_on(day),
        affinity=g.affinity(day),
        fixed=kept,
    )
    if extra and day_value(g.sub, routes) <= day_value(g.sub, old):
        # Placing a new visit may need others swapped out, which a search started from the
        # current routes seldom finds; a fresh solve of the day does.
        fresh = solve_day(
            day_sub,
            day,
            visits,
            teams,
            provider=g.provider,
            used=g.minutes_used(day),
            budget=g.budget,
            seconds=seconds,
            hint=tuple(r for r in old if (r.caregiver, day) in g.week.locked),
            locked=g.locked_on(day),
            fixed=kept,
        )
        if day_value(g.sub, fresh[0]) > day_value(g.sub, routes):
            routes, dropped = fresh[0], fresh[1]
    if keep_better and day_value(g.sub, routes) <= day_value(g.sub, old):
        return False
    if station is not None:  # what the other stations left out stays as it was
        asked = {v.request for v in visits}
        dropped = [
            *(e for e in g.dropped(day) if e[0].request not in asked),
            *dropped,
        ]
    g.set_day(day, (*kept, *routes), dropped)
    served = {s.request for r in routes for s in r.stops}
    for t in todo:
        if t.request.id in served and day not in t.days:
            t.days = tuple(d for d in DAYS if d in t.days or d == day)
        elif t.request.id not in served and day in t.days:
            t.days = tuple(d for d in t.days if d != day)
        if t.request.id in widen and t.request.id in served:
            t.widened = t.widened | {day}
    return True
