"""What every rule of the checker shares: the closed list of rules, a finding, the report,
and the look-ups over the plan being checked (:class:`_Context`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from dispatch.haversine import TravelFn
from dispatch.kpis import (
    ScenarioIndex,
    first_monday,
    route_date,
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
