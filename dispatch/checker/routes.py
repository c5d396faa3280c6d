"""The checker's rules of each route and stop: references, dates, shifts, windows, times,
travel, rests, skills, preferences, the day's visit cap and the load.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from dispatch.checker.context import (
    Rule,
    Violation,
    _Context,
    _overlap,
    _t,
    _v,
    _when,
)
from dispatch.kpis import (
    route_date,
    route_leg_minutes,
)
from dispatch.model import (
    DAYS,
    Route,
)


def _unknown_references(ctx: _Context) -> Iterator[Violation]:
    idx = ctx.index
    bad_station: set[str] = set()
    for route in ctx.plan.routes:
        cg = idx.caregivers.get(route.caregiver)
        if cg is None:
            yield _v(Rule.UNKNOWN_REFERENCE, f"unknown caregiver {route.caregiver!r}", route)
        elif cg.station not in idx.stations and cg.id not in bad_station:
            bad_station.add(cg.id)
            yield _v(
                Rule.UNKNOWN_REFERENCE, f"caregiver's station {cg.station!r} is unknown", route
            )
        if route.day not in ctx.days:
            yield _v(
                Rule.UNKNOWN_REFERENCE,
                f"day {route.day!r} is not one of the scenario's days {list(ctx.scenario.days)}",
                route,
            )
        for s in route.stops:
            if s.request not in idx.requests:
                yield _v(Rule.UNKNOWN_REFERENCE, f"unknown request {s.request!r}", route, s.request)
            elif idx.requests[s.request][0].id != s.household:
                owner = idx.requests[s.request][0].id
                yield _v(
                    Rule.UNKNOWN_REFERENCE,
                    f"stop names household {s.household!r} but the request belongs to {owner!r}",
                    route,
                    s.request,
                )
    for u in ctx.plan.unassigned:
        if u.request not in idx.requests:
            yield _v(
                Rule.UNKNOWN_REFERENCE,
                f"unassigned names unknown request {u.request!r}",
                request=u.request,
            )
        elif idx.requests[u.request][0].id != u.household:
            owner = idx.requests[u.request][0].id
            yield _v(
                Rule.UNKNOWN_REFERENCE,
                f"unassigned names household {u.household!r} but the request belongs to {owner!r}",
                request=u.request,
            )


def _duplicate_routes(ctx: _Context) -> Iterator[Violation]:
    seen: set[tuple[str, str]] = set()
    for route in ctx.plan.routes:
        key = (route.caregiver, _when(route))
        if key in seen:
            yield _v(Rule.DUPLICATE_ROUTE, f"a second route for this caregiver on {key[1]}", route)
        seen.add(key)


def _dates(ctx: _Context) -> Iterator[Violation]:
    dated = sum(1 for r in ctx.plan.routes if r.date is not None)
    if dated == 0:
        if ctx.weeks > 1 and ctx.plan.routes:
            yield Violation(
                Rule.DATE.value, f"a plan of {ctx.weeks} weeks whose routes carry no date"
            )
        return
    for route in ctx.plan.routes:
        if route.date is None:
            yield _v(Rule.DATE, "no date, while other routes of the plan are dated", route)
            continue
        date = route_date(route)
        if date is None:
            yield _v(Rule.DATE, f"date {route.date!r} is not an ISO date YYYY-MM-DD", route)
            continue
        weekday = DAYS[date.weekday()]
        if weekday != route.day:
            yield _v(Rule.DATE, f"{route.date} is a {weekday}, the route says {route.day}", route)
        week = ctx.week_of(route)
        if ctx.monday is not None and week is not None and not 0 <= week < ctx.weeks:
            last = ctx.monday + dt.timedelta(days=7 * ctx.weeks - 1)
            yield _v(
                Rule.DATE,
                f"{route.date} lies outside the planned weeks {ctx.monday} to {last}",
                route,
            )


def _shifts(ctx: _Context) -> Iterator[Violation]:
    for route in ctx.plan.routes:
        cg = ctx.index.caregivers.get(route.caregiver)
        if cg is None or route.day not in ctx.days:
            continue
        shift = cg.shifts.get(route.day)
        if shift is None:
            yield _v(Rule.SHIFT, "the caregiver has no shift this day", route)
            continue
        start, end = shift
        if route.leave < start:
            yield _v(
                Rule.SHIFT,
                f"leaves at {_t(route.leave)}, before the shift starts at {_t(start)}",
                route,
            )
        if route.back > end:
            yield _v(
                Rule.SHIFT, f"back at {_t(route.back)}, after the shift ends at {_t(end)}", route
            )


def _time_windows(ctx: _Context) -> Iterator[Violation]:
    for route, s, _hh, req in ctx.request_stops():
        if not any(lo <= s.start <= hi for lo, hi in req.windows):
            windows = ", ".join(f"{_t(lo)}-{_t(hi)}" for lo, hi in req.windows)
            yield _v(Rule.TIME_WINDOW, f"starts at {_t(s.start)}, outside {windows}", route, req.id)


def _stop_times(ctx: _Context) -> Iterator[Violation]:
    for route, s, _hh, req in ctx.request_stops():
        if s.end != s.start + req.minutes:
            yield _v(
                Rule.STOP_TIMES,
                f"ends at {_t(s.end)}; {req.minutes} min from "
                f"{_t(s.start)} ends at {_t(s.start + req.minutes)}",
                route,
                req.id,
            )
        if s.start < s.arrival:
            yield _v(
                Rule.STOP_TIMES,
                f"starts at {_t(s.start)}, before arriving at {_t(s.arrival)}",
                route,
                req.id,
            )


def _travel(ctx: _Context) -> Iterator[Violation]:
    for route in ctx.plan.routes:
        legs = route_leg_minutes(ctx.index, route, ctx.travel)
        n = len(route.stops)
        for i, need in enumerate(legs):
            if need is None:
                continue
            depart = route.leave if i == 0 else route.stops[i - 1].end
            stop = route.stops[i] if i < n else None
            arrive = stop.arrival if stop is not None else route.back
            until = stop.start if stop is not None else route.back
            request = stop.request if stop is not None else None
            where = f"stop {i + 1} ({stop.household})" if stop is not None else "the station"
            if arrive < depart + need:
                yield _v(
                    Rule.TRAVEL,
                    f"reaches {where} at {_t(arrive)}, before {_t(depart + need)} "
                    f"({need} min of travel from {_t(depart)})",
                    route,
                    request,
                )
                continue
            rest = route.rest
            if rest is not None and _overlap(rest, depart, until) > 0:
                free = until - depart - _overlap(rest, depart, until)
                if free < need:
                    yield _v(
                        Rule.TRAVEL,
                        f"the break leaves {free} min between {_t(depart)} "
                        f"and {_t(until)} for {need} min of travel to {where}",
                        route,
                        request,
                    )


def _breaks(ctx: _Context) -> Iterator[Violation]:
    for route in ctx.plan.routes:
        cg = ctx.index.caregivers.get(route.caregiver)
        rule = cg.rest if cg is not None else None
        rest = route.rest
        if rule is not None and rest is None and route.stops and route.day in ctx.days:
            shift = cg.shifts.get(route.day) if cg is not None else None
            if shift is not None and shift[0] <= rule.window_start and rule.window_end <= shift[1]:
                yield _v(
                    Rule.BREAK,
                    f"no break of {rule.minutes} min in "
                    f"{_t(rule.window_start)}-{_t(rule.window_end)}",
                    route,
                )
        if rest is None:
            continue
        if rest.end < rest.start:
            yield _v(
                Rule.BREAK,
                f"break ends at {_t(rest.end)} before it starts at {_t(rest.start)}",
                route,
            )
            continue
        if rule is not None:
            if rest.end - rest.start < rule.minutes:
                yield _v(
                    Rule.BREAK, f"break of {rest.end - rest.start} min, needs {rule.minutes}", route
                )
            if rest.start < rule.window_start or rest.end > rule.window_end:
                yield _v(
                    Rule.BREAK,
                    f"break {_t(rest.start)}-{_t(rest.end)} is not inside "
                    f"{_t(rule.window_start)}-{_t(rule.window_end)}",
                    route,
                )
        for s in route.stops:
            if rest.start < s.end and s.start < rest.end:
                yield _v(
                    Rule.BREAK,
                    f"break {_t(rest.start)}-{_t(rest.end)} overlaps the visit "
                    f"{_t(s.start)}-{_t(s.end)}",
                    route,
                    s.request,
                )


def _skills(ctx: _Context) -> Iterator[Violation]:
    for route, _s, _hh, req in ctx.request_stops(caregiver_known=True):
        if req.required_skill not in ctx.index.caregivers[route.caregiver].skills:
            yield _v(Rule.SKILL, f"the caregiver lacks skill {req.required_skill!r}", route, req.id)


def _gender(ctx: _Context) -> Iterator[Violation]:
    for route, _s, hh, req in ctx.request_stops(caregiver_known=True):
        cg = ctx.index.caregivers[route.caregiver]
        if hh.gender_preference is not None and cg.gender != hh.gender_preference:
            yield _v(
                Rule.GENDER,
                f"household {hh.id} wants gender {hh.gender_preference!r}, the "
                f"caregiver's is {cg.gender!r}",
                route,
                req.id,
            )


def _forbidden(ctx: _Context) -> Iterator[Violation]:
    for route, _s, hh, req in ctx.request_stops(caregiver_known=True):
        if route.caregiver in hh.forbidden_caregivers:
            yield _v(
                Rule.FORBIDDEN,
                f"household {hh.id} does not accept this caregiver",
                route,
                req.id,
            )


def _daily_visits(ctx: _Context) -> Iterator[Violation]:
    count: dict[tuple[str, str], int] = defaultdict(int)
    first: dict[tuple[str, str], Route] = {}
    for route in ctx.plan.routes:
        key = (route.caregiver, _when(route))
        count[key] += len(route.stops)
        first.setdefault(key, route)
    for key, n in count.items():
        cg = ctx.index.caregivers.get(key[0])
        if cg is not None and cg.max_visits_per_day is not None and n > cg.max_visits_per_day:
            yield _v(
                Rule.DAILY_VISITS, f"{n} visits, at most {cg.max_visits_per_day} a day", first[key]
            )


def _capacity(ctx: _Context) -> Iterator[Violation]:
    for route in ctx.plan.routes:
        cg = ctx.index.caregivers.get(route.caregiver)
        if cg is None or cg.capacity is None:
            continue
        load = sum(
            ctx.index.requests[s.request][1].load
            for s in route.stops
            if s.request in ctx.index.requests
        )
        if load > cg.capacity:
            yield _v(Rule.CAPACITY, f"load {load}, capacity {cg.capacity}", route)
