"""The independent plan checker (方案校验): does a plan keep every rule of the contract?

It shares nothing with the solver: travel times come from :mod:`dispatch.haversine` (plain
``math``), every rule is one small function over the plan as written, and each finding names
the rule it breaks from the closed list :class:`Rule`. Times are minutes from midnight.

A *visit* is one occurrence of a request on one day: all stops of that request on that day
(two of them for a two-person visit).

A plan of several weeks (``plan.weeks``, extension) dates each route: the checker then counts
visits, patterns and working minutes per ISO week, spaces visits by their dates across the whole
span (a Saturday and the next Monday are two days apart) and keeps each date inside the planned
weeks and on its route's weekday. A plan without dates is one week, its days the scenario's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

from dispatch.haversine import TravelFn, scenario_travel
from dispatch.kpis import (
    ScenarioIndex,
    first_monday,
    plan_kpis,
    route_date,
    route_leg_minutes,
    route_week,
    visit_weeks,
)
from dispatch.model import (
    DAYS,
    Household,
    Plan,
    Route,
    RouteBreak,
    Scenario,
    ServiceRequest,
    Stop,
)
from dispatch.reasons import Reason

__all__ = ["RULE_TEXT", "CheckReport", "Rule", "Violation", "check_plan"]


class Rule(StrEnum):
    """The closed list of rules a plan is checked against, in the order they are checked."""

    #: a route's caregiver or day, a stop's or unassigned entry's request or household is unknown
    UNKNOWN_REFERENCE = "unknown_reference"
    #: the same caregiver has two routes on one day (one date, in a plan of several weeks)
    DUPLICATE_ROUTE = "duplicate_route"
    #: a route's date is not an ISO date, not its day's weekday or outside the planned weeks,
    #: or a plan dates some routes and not others
    DATE = "date"
    #: no shift that day, leaves before the shift starts or is back after it ends
    SHIFT = "shift"
    #: a visit starts outside every window of its request
    TIME_WINDOW = "time_window"
    #: a stop's end is not start + the request's minutes, or it starts before arriving
    STOP_TIMES = "stop_times"
    #: not enough time to travel between stations and stops (breaks included)
    TRAVEL = "travel"
    #: a required break is missing, too short, outside its window or overlaps a visit
    BREAK = "break"
    #: the caregiver lacks the request's skill
    SKILL = "skill"
    #: the caregiver is not of the household's preferred gender
    GENDER = "gender"
    #: the caregiver is on the household's forbidden list
    FORBIDDEN = "forbidden_caregiver"
    #: a visit on a day its request does not allow
    REQUEST_DAY = "request_day"
    #: more visits in a day than the caregiver's daily cap
    DAILY_VISITS = "daily_visits"
    #: more working minutes in the week than the caregiver's weekly maximum
    WEEKLY_MINUTES = "weekly_minutes"
    #: more visits than visits_per_week, or two visits of a request on one day
    FREQUENCY = "frequency"
    #: two visits of a request closer than min_gap_days
    SPACING = "spacing"
    #: a request with fixed patterns visited on days that lie inside none of them
    PATTERN = "pattern"
    #: a visit without its number of caregivers, or a two-person visit not started together
    STAFF = "staff"
    #: a linked visit (``after``) without its first visit that day, or outside its delay
    AFTER = "after"
    #: a route's load is above the caregiver's capacity
    CAPACITY = "capacity"
    #: unassigned entries do not account for exactly the missing visits, or have a bad reason
    UNASSIGNED = "unassigned"


RULE_TEXT: dict[Rule, tuple[str, str]] = {
    Rule.UNKNOWN_REFERENCE: ("引用了不存在的对象", "refers to something the scenario lacks"),
    Rule.DUPLICATE_ROUTE: ("同一护理员同日多条路线", "two routes for one caregiver and day"),
    Rule.DATE: ("路线日期不符", "route date invalid, on another weekday or outside the weeks"),
    Rule.SHIFT: ("超出班次", "outside the caregiver's shift"),
    Rule.TIME_WINDOW: ("不在服务时间窗内", "visit starts outside its time windows"),
    Rule.STOP_TIMES: ("到达/开始/结束时间不一致", "arrival, start and end do not add up"),
    Rule.TRAVEL: ("路程时间不足", "not enough time to travel"),
    Rule.BREAK: ("休息安排不符", "break missing or misplaced"),
    Rule.SKILL: ("技能不符", "caregiver lacks the skill"),
    Rule.GENDER: ("性别要求不符", "caregiver of the wrong gender"),
    Rule.FORBIDDEN: ("服务对象拒绝的护理员", "caregiver forbidden by the household"),
    Rule.REQUEST_DAY: ("不在允许的服务日", "visit on a day the request does not allow"),
    Rule.DAILY_VISITS: ("超出每日上门次数", "too many visits in a day"),
    Rule.WEEKLY_MINUTES: ("超出每周工时", "too many working minutes in the week"),
    Rule.FREQUENCY: ("服务频次不符", "too many visits or two on one day"),
    Rule.SPACING: ("服务间隔不足", "visits too close together"),
    Rule.PATTERN: ("服务日不符合固定排班模式", "visit days fit none of the request's patterns"),
    Rule.STAFF: ("上门人数不符", "wrong number of caregivers or not together"),
    Rule.AFTER: ("关联服务间隔不符", "linked visit missing its first visit or outside its delay"),
    Rule.CAPACITY: ("超出携带容量", "load above the caregiver's capacity"),
    Rule.UNASSIGNED: ("未排记录不一致", "unassigned entries do not match the missing visits"),
}


@dataclass(frozen=True)
class Violation:
    """One broken rule: its code, a readable message and where it happened (when known); ``day``
    is a day code, or the date in a plan of several weeks."""

    rule: str
    message: str
    caregiver: str | None = None
    day: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class CheckReport:
    """What the checker found: every violation, and the plan's KPIs recomputed independently."""

    violations: tuple[Violation, ...]
    kpis: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the plan keeps every rule."""
        return not self.violations


def check_plan(scenario: Scenario, plan: Plan, *, travel: TravelFn | None = None) -> CheckReport:
    """Check ``plan`` against every rule of ``scenario``; never raises for a bad plan.

    ``travel`` gives whole minutes ``(from_key, to_key, mode)`` between place keys
    ``"station:<id>"``/``"household:<id>"``; it defaults to the scenario's haversine model.
    Raises ``ValueError`` only when a caregiver's travel mode has no speed.
    """
    minutes = travel if travel is not None else scenario_travel(scenario)
    ctx = _Context(scenario, plan, ScenarioIndex.of(scenario), minutes)
    found = tuple(v for rule in _RULES for v in rule(ctx))
    return CheckReport(violations=found, kpis=plan_kpis(scenario, plan, travel=minutes))


# --- shared look-ups -------------------------------------------------------------------------


class _Context:
    def __init__(self, scenario: Scenario, plan: Plan, index: ScenarioIndex, travel: TravelFn):
        self.scenario = scenario
        self.plan = plan
        self.index = index
        self.travel = travel
        self.days = frozenset(scenario.days)
        self.monday = first_monday(scenario, plan)
        self.weeks = max(1, plan.weeks)

    def visits(self) -> dict[tuple[str, str], list[tuple[Route, Stop]]]:
        """Stops of known requests grouped into visits by (request, date or day), in plan
        order."""
        groups: dict[tuple[str, str], list[tuple[Route, Stop]]] = defaultdict(list)
        for route in self.plan.routes:
            for s in route.stops:
                if s.request in self.index.requests:
                    groups[(s.request, _when(route))].append((route, s))
        return groups

    def week_of(self, route: Route) -> int | None:
        """The route's week (0 = the first), ``None`` for a date that is not an ISO date."""
        return route_week(route, self.monday)

    def visit_weeks(self) -> dict[str, dict[int, set[str]]]:
        """For each request, week by week, the days it is visited."""
        return visit_weeks(self.index, self.plan, self.monday)

    def week_name(self, week: int) -> str:
        """How a message names a week: ``"the week"`` for one undated week, else its Monday."""
        if self.monday is None or not any(r.date is not None for r in self.plan.routes):
            return "the week"
        return f"the week of {self.monday + dt.timedelta(days=7 * week)}"

    def request_stops(
        self, *, caregiver_known: bool = False
    ) -> Iterator[tuple[Route, Stop, Household, ServiceRequest]]:
        """Stops of known requests with their household and request (and known caregivers)."""
        for route in self.plan.routes:
            if caregiver_known and route.caregiver not in self.index.caregivers:
                continue
            for s in route.stops:
                if s.request in self.index.requests:
                    hh, req = self.index.requests[s.request]
                    yield route, s, hh, req


def _when(route: Route) -> str:
    """Where a route lies in time: its date in a dated plan, else its day."""
    return route.date if route.date is not None else route.day


def _day_number(route: Route) -> int | None:
    """A number that orders days over the plan's whole span: the date's ordinal, or the
    day's place in the week for an undated route (``None`` for a bad date or day)."""
    if route.date is not None:
        date = route_date(route)
        return date.toordinal() if date is not None else None
    return DAYS.index(route.day) if route.day in DAYS else None


def _t(minutes: int) -> str:
    sign, m = ("-", -minutes) if minutes < 0 else ("", minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


def _overlap(rest: RouteBreak, start: int, end: int) -> int:
    return max(0, min(rest.end, end) - max(rest.start, start))


def _v(
    rule: Rule, message: str, route: Route | None = None, request: str | None = None
) -> Violation:
    return Violation(
        rule=rule.value,
        message=message,
        caregiver=route.caregiver if route is not None else None,
        day=_when(route) if route is not None else None,
        request=request,
    )


# --- one function per rule -------------------------------------------------------------------


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


def _request_days(ctx: _Context) -> Iterator[Violation]:
    for route, _s, _hh, req in ctx.request_stops():
        if route.day in ctx.days and req.days is not None and route.day not in req.days:
            yield _v(Rule.REQUEST_DAY, f"the request allows only {list(req.days)}", route, req.id)


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


def _weekly_minutes(ctx: _Context) -> Iterator[Violation]:
    # Per ISO week: a caregiver near the maximum in each of two weeks keeps the rule.
    worked: dict[tuple[str, int], int] = defaultdict(int)
    for route in ctx.plan.routes:
        week = ctx.week_of(route)
        if week is not None:
            worked[(route.caregiver, week)] += route.back - route.leave
    for (cid, week), total in worked.items():
        cg = ctx.index.caregivers.get(cid)
        if (
            cg is not None
            and cg.max_minutes_per_week is not None
            and total > cg.max_minutes_per_week
        ):
            yield Violation(
                Rule.WEEKLY_MINUTES.value,
                f"{total} working minutes in {ctx.week_name(week)}, "
                f"at most {cg.max_minutes_per_week}",
                caregiver=cid,
            )


def _same_start(stops: list[tuple[Route, Stop]]) -> bool:
    return len({s.start for _, s in stops}) == 1


def _frequency(ctx: _Context) -> Iterator[Violation]:
    for rid, weeks in ctx.visit_weeks().items():
        req = ctx.index.requests[rid][1]
        for week, visited in sorted(weeks.items()):
            if len(visited) > req.visits_per_week:
                yield Violation(
                    Rule.FREQUENCY.value,
                    f"{len(visited)} visits in {ctx.week_name(week)}, "
                    f"{req.visits_per_week} a week wanted",
                    request=rid,
                )
    for (rid, _day), stops in ctx.visits().items():
        req = ctx.index.requests[rid][1]
        # Several stops of a one-person request at one minute are one visit with too many
        # caregivers (a staff finding); at different minutes they are repeat visits that day.
        if req.staff == 1 and len(stops) > 1 and not _same_start(stops):
            yield _v(
                Rule.FREQUENCY, f"{len(stops)} visits of the request on one day", stops[1][0], rid
            )


def _spacing(ctx: _Context) -> Iterator[Violation]:
    # Over the plan's whole span: across a week boundary the dates tell the gap.
    visited: dict[str, dict[int, str]] = defaultdict(dict)
    for route, s, _hh, _req in ctx.request_stops():
        number = _day_number(route)
        if number is not None:
            visited[s.request].setdefault(number, _when(route))
    for rid, days in visited.items():
        gap = ctx.index.requests[rid][1].min_gap_days
        for a, b in pairwise(sorted(days)):
            if b - a < gap:
                yield Violation(
                    Rule.SPACING.value,
                    f"visits on {days[a]} and {days[b]} are "
                    f"{b - a} day(s) apart, at least {gap} wanted",
                    day=days[b],
                    request=rid,
                )


def _patterns(ctx: _Context) -> Iterator[Violation]:
    for rid, weeks in ctx.visit_weeks().items():
        patterns = ctx.index.requests[rid][1].patterns
        if patterns is None:
            continue
        for week, visited in sorted(weeks.items()):
            if any(visited <= set(p) for p in patterns):
                continue
            days = [d for d in DAYS if d in visited]
            yield Violation(
                Rule.PATTERN.value,
                f"visits on {', '.join(days)} in {ctx.week_name(week)} lie inside none of "
                f"the patterns {[list(p) for p in patterns]}",
                request=rid,
            )


def _staff(ctx: _Context) -> Iterator[Violation]:
    for (rid, day), stops in ctx.visits().items():
        req = ctx.index.requests[rid][1]
        who = sorted({r.caregiver for r, _ in stops})
        if req.staff == 1:
            if len(stops) > 1 and _same_start(stops):
                yield Violation(
                    Rule.STAFF.value,
                    f"one-person visit done by {len(stops)} stops ({', '.join(who)})",
                    day=day,
                    request=rid,
                )
        elif len(stops) != req.staff or len(who) != req.staff:
            yield Violation(
                Rule.STAFF.value,
                f"needs {req.staff} different caregivers, has "
                f"{len(stops)} stop(s) by {', '.join(who)}",
                day=day,
                request=rid,
            )
        elif not _same_start(stops):
            starts = ", ".join(_t(s.start) for _, s in stops)
            yield Violation(
                Rule.STAFF.value,
                f"caregivers must start together, start at {starts}",
                day=day,
                request=rid,
            )


def _after(ctx: _Context) -> Iterator[Violation]:
    visits = ctx.visits()
    for (rid, day), stops in visits.items():
        link = ctx.index.requests[rid][1].after
        if link is None or link.request not in ctx.index.requests:
            continue
        first = visits.get((link.request, day))
        if not first:
            yield Violation(
                Rule.AFTER.value,
                f"follows request {link.request!r}, which has no visit on {day}",
                day=day,
                request=rid,
            )
            continue
        # Both visits may be two-person ones: every pair of their starts must keep the delay.
        for _, s in stops:
            for _, f in first:
                delay = s.start - f.start
                if not link.min_minutes <= delay <= link.max_minutes:
                    yield Violation(
                        Rule.AFTER.value,
                        f"starts {delay} min after {link.request!r} ({_t(f.start)}), "
                        f"{link.min_minutes}-{link.max_minutes} min wanted",
                        day=day,
                        request=rid,
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


def _unassigned(ctx: _Context) -> Iterator[Violation]:
    reasons = {r.value for r in Reason}
    missing: dict[str, int] = defaultdict(int)
    for u in ctx.plan.unassigned:
        if u.request not in ctx.index.requests:
            continue
        missing[u.request] += u.missing_visits
        if u.reason not in reasons:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"reason {u.reason!r} is not one of {sorted(reasons)}",
                request=u.request,
            )
        if u.missing_visits < 1:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"missing_visits is {u.missing_visits}, must be at least 1",
                request=u.request,
            )
    # Counted week by week: a week's extra visits never make up for another week's missing.
    by_week = ctx.visit_weeks()
    for _hh, req in ctx.scenario.requests():
        weeks = by_week.get(req.id, {})
        counts = [len(weeks.get(w, ())) for w in range(ctx.weeks)]
        planned = sum(counts)
        expected = sum(max(0, req.visits_per_week - n) for n in counts)
        wanted = req.visits_per_week * ctx.weeks
        if missing.get(req.id, 0) != expected:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"{planned} of {wanted} visits "
                f"planned but {missing.get(req.id, 0)} reported missing, not {expected}",
                request=req.id,
            )


_RULES: tuple[Callable[[_Context], Iterator[Violation]], ...] = (
    _unknown_references,
    _duplicate_routes,
    _dates,
    _shifts,
    _time_windows,
    _stop_times,
    _travel,
    _breaks,
    _skills,
    _gender,
    _forbidden,
    _request_days,
    _daily_visits,
    _weekly_minutes,
    _frequency,
    _spacing,
    _patterns,
    _staff,
    _after,
    _capacity,
    _unassigned,
)
