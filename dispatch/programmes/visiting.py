"""The visiting programme (探访关爱): elders at risk visited regularly, with a visiting ledger
(探访台账) and the monthly visit rate (月探访率, target 100 %).

The rules are a table every locality edits (:func:`parse_visiting`, bundled defaults in
``visiting.json``, described in ``docs/programmes/visiting.md``):

- a household's risk class is the FIRST class of the table whose conditions it meets: at least
  one of the class's ``tags_any`` (an empty list admits any household) and, when the class has
  ``min_level``, an ``assessment_level`` at least that; a household matching no class is not in
  the programme;
- each class is visited every ``week`` (ISO week), ``month`` (calendar month) or ``quarter``
  (calendar quarter): the obligation of a period is met by at least one counting visit dated
  inside it;
- counting visits: a stop of the programme's ``service`` (``welfare_visit``) in a plan; a stop
  of any other service when ``other_services_count``; a :class:`PhoneVisit` when
  ``phone_counts``. Several on one day are one visit.

Scheduling (:func:`with_visits`) adds one visit request per household and week when its period
is not met yet: a required one at the rule's priority in the period's last planning week (the
deadline week), an optional one at ``spare_priority`` in earlier weeks, which
:func:`plan_visiting_weeks` keeps only when it costs no required visit (spare capacity). A
programme visit's request id is :func:`visit_request_id` of its household, which is how the
ledger knows a plan's stop of a request unknown to the master data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from dispatch.document import (
    DocumentError,
    DocumentReader,
    child_path,
    describe_value,
    index_path,
    load_json,
)
from dispatch.kpis import route_date, station_modes
from dispatch.model import DAYS, Household, Plan, Scenario, ServiceRequest
from dispatch.plan_io import load_plan
from dispatch.reasons import REASON_TEXT, Reason
from dispatch.scenario_io import load_scenario
from dispatch.travel import Place, TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel
from dispatch.weekly.planner import plan_week
from dispatch.weekly.weeks import scenario_of_week

__all__ = [
    "EVERY",
    "NOT_PLANNED",
    "Ledger",
    "LedgerEntry",
    "Miss",
    "MonthRate",
    "PhoneVisit",
    "Rate",
    "RiskClass",
    "Unplanned",
    "Visit",
    "VisitingError",
    "VisitingRules",
    "VisitingRun",
    "default_visiting",
    "format_ledger",
    "ledger",
    "ledger_from_files",
    "ledger_to_dict",
    "load_visiting",
    "month_rate",
    "parse_visiting",
    "period_of",
    "plan_visiting_weeks",
    "visit_request_id",
    "with_visits",
]

#: How often a class is visited: each ISO week, calendar month or calendar quarter.
EVERY: tuple[str, ...] = ("week", "month", "quarter")
#: The reason of a missed period for which no plan holds an unassigned visit.
NOT_PLANNED = "not_planned"
_NOT_PLANNED_TEXT = ("未安排探访", "no visit was planned in the period")
_BUNDLED = "visiting.json"
_FIELDS = {
    "classes": True,
    "known_tags": True,
    "other_services_count": False,
    "phone_counts": False,
    "service": False,
    "minutes": False,
    "window": False,
    "priority": False,
    "spare_priority": False,
}
_CLASS_FIELDS = {"id": True, "name": False, "tags_any": False, "min_level": False, "every": True}


class VisitingError(DocumentError):
    """The visiting rule table is invalid; ``issues`` names every bad field."""


# --------------------------------------------------------------------------------------------
# The rule table


@dataclass(frozen=True)
class RiskClass:
    """One row of the rule table: who is in the class and how often they are visited."""

    id: str
    name: str
    tags_any: tuple[str, ...]
    every: str
    min_level: int | None = None

    def admits(self, household: Household) -> bool:
        """At least one of ``tags_any`` (any household when empty) and the level, if set."""
        if self.tags_any and not set(self.tags_any).intersection(household.tags):
            return False
        if self.min_level is None:
            return True
        level = household.assessment_level
        return level is not None and level >= self.min_level


@dataclass(frozen=True)
class VisitingRules:
    """The programme's rule table: the risk classes in order and what counts as a visit."""

    classes: tuple[RiskClass, ...]
    known_tags: frozenset[str]
    other_services_count: bool = False
    phone_counts: bool = True
    service: str = "welfare_visit"
    minutes: int = 30
    window: tuple[int, int] = (9 * 60, 17 * 60)
    priority: int = 80
    #: priority of an optional visit ahead of the deadline week (only when capacity is spare)
    spare_priority: int = 5

    def risk_class(self, household: Household) -> RiskClass | None:
        """The first class that admits ``household``; ``None``: not in the programme."""
        return next((c for c in self.classes if c.admits(household)), None)


def _read_flag(r: DocumentReader, value: Any, path: str) -> bool | None:
    if not isinstance(value, bool):
        r.error(path, f"expected true or false, got {describe_value(value)}")
        return None
    return value


def _read_tags(
    r: DocumentReader, value: Any, path: str, known: frozenset[str]
) -> tuple[str, ...] | None:
    tags = r.read_texts(value, path)
    if tags is None:
        return None
    ok = True
    for i, tag in enumerate(tags):
        if tag not in known:
            close = difflib.get_close_matches(tag, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            r.error(index_path(path, i), f"unknown tag '{tag}'{hint}")
            ok = False
    return tags if ok else None


def _read_class(
    r: DocumentReader, value: Any, path: str, known: frozenset[str]
) -> RiskClass | None:
    obj = r.read_object(value, path, _CLASS_FIELDS)
    if obj is None:
        return None
    cid = r.field(obj, path, "id", r.read_text)
    name = r.field(obj, path, "name", r.read_text, default=cid or "")
    tags = r.field(obj, path, "tags_any", lambda v, p: _read_tags(r, v, p, known), default=())
    level = r.field(obj, path, "min_level", r.read_int, default=None, minimum=0, maximum=4)
    every = r.field(obj, path, "every", r.read_choice, choices=EVERY)
    if cid is None or name is None or tags is None or every is None:
        return None
    if "min_level" in obj and obj["min_level"] is not None and level is None:
        return None
    return RiskClass(cid, name, tags, every, level)


def parse_visiting(section: Any, path: str = "visiting") -> VisitingRules:
    """The rule table from its decoded JSON ``section`` (fields: ``docs/programmes/visiting.md``).

    Raises :class:`VisitingError` (a :class:`DocumentError`) naming the path of every bad
    field: unknown fields, a tag not in ``known_tags`` (with a hint), an ``every`` other than
    week/month/quarter, a duplicate class id, a class after a catch-all one (never reached),
    minutes below 1, a priority outside 1–100, a window ending before it starts.
    """
    r = DocumentReader()
    obj = r.read_object(section, path, _FIELDS)
    if obj is None:
        raise VisitingError(r.errors)
    known = r.field(obj, path, "known_tags", r.read_texts)
    known_set = frozenset(known or ())
    items = r.field(obj, path, "classes", r.read_list, non_empty=True)
    classes: list[RiskClass] = []
    where: dict[str, int] = {}
    catch_all: RiskClass | None = None
    for i, item in enumerate(items or ()):
        cpath = index_path(child_path(path, "classes"), i)
        risk = _read_class(r, item, cpath, known_set)
        if risk is None:
            continue
        if risk.id in where:
            r.error(
                child_path(cpath, "id"),
                f"duplicate class id '{risk.id}' (also classes[{where[risk.id]}])",
            )
            continue
        where[risk.id] = i
        if catch_all is not None:
            r.error(cpath, f"never reached: class '{catch_all.id}' before it admits everyone")
        elif not risk.tags_any and risk.min_level is None:
            catch_all = risk
        classes.append(risk)
    flag = functools.partial(_read_flag, r)
    other = r.field(obj, path, "other_services_count", flag, default=False)
    phone = r.field(obj, path, "phone_counts", flag, default=True)
    service = r.field(obj, path, "service", r.read_text, default="welfare_visit")
    minutes = r.field(obj, path, "minutes", r.read_int, default=30, minimum=1)
    window = r.field(obj, path, "window", r.read_interval, default=(540, 1020), strict=True)
    priority = r.field(obj, path, "priority", r.read_int, default=80, minimum=1, maximum=100)
    spare = r.field(obj, path, "spare_priority", r.read_int, default=5, minimum=1, maximum=100)
    if r.errors:
        raise VisitingError(r.errors)
    return VisitingRules(
        tuple(classes), known_set, other, phone, service, minutes, window, priority, spare
    )


@functools.cache
def default_visiting() -> VisitingRules:
    """The bundled rule table (``dispatch/programmes/visiting.json``), read once."""
    text = resources.files("dispatch.programmes").joinpath(_BUNDLED).read_text(encoding="utf-8")
    return parse_visiting(json.loads(text))


def load_visiting(path: str | Path | None = None) -> VisitingRules:
    """The rule table in the JSON file at ``path`` (the section itself), else the bundled one.

    Raises :class:`VisitingError` (bad JSON included) or ``OSError``.
    """
    if path is None:
        return default_visiting()
    return parse_visiting(load_json(path, error=VisitingError))


# --------------------------------------------------------------------------------------------
# Periods and visits


def period_of(every: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the ISO week, calendar month or calendar quarter of ``day``."""
    if every == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    months = 1 if every == "month" else 3
    first = (day.month - 1) // months * months + 1
    start = dt.date(day.year, first, 1)
    after = dt.date(day.year + (first + months - 1) // 12, (first + months - 1) % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def _periods(every: str, start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """The periods from the one holding ``start`` to the one holding ``end``."""
    period = period_of(every, start)
    while period[0] <= end:
        yield period
        period = period_of(every, period[1] + dt.timedelta(days=1))


@dataclass(frozen=True)
class PhoneVisit:
    """A visit by phone (电话探访) from a desk of the hotline or a station."""

    household: str
    date: dt.date
    desk: str


@dataclass(frozen=True)
class Visit:
    """A counting visit: its date, who made it (a caregiver id or ``"phone:<desk>"``) and the
    service it was (``"phone"`` for a phone visit)."""

    date: dt.date
    by: str
    service: str


@dataclass(frozen=True)
class Unplanned:
    """A counting visit a plan could not place: the Monday of its week, the reason code (of
    :class:`dispatch.reasons.Reason`) and the plan's detail."""

    week: dt.date
    reason: str
    detail: str


def visit_request_id(household: Household, monday: dt.date) -> str:
    """The id of the household's programme visit request of the week of ``monday``:
    ``<household>-visit-<YYYYMMDD>`` (unique over the weeks, so that a published one can be
    kept as a one-off order on its date), with a number added when the household has a request
    of that id already."""
    taken = {r.id for r in household.requests}
    base = f"{_programme_prefix(household.id)}{monday:%Y%m%d}"
    rid, n = base, 2
    while rid in taken:
        rid, n = f"{base}-{n}", n + 1
    return rid


def _programme_prefix(household: str) -> str:
    return f"{household}-visit-"


class _Counter:
    """Which requests' stops count as visits, by request id, from the master data."""

    def __init__(self, scenario: Scenario, rules: VisitingRules) -> None:
        self.rules = rules
        self.services = {r.id: r.service for _, r in scenario.requests()}

    def service(self, request: str, household: str) -> str | None:
        """The service of a counting request, ``None`` when its stops do not count."""
        service = self.services.get(request)
        if service is None and request.startswith(_programme_prefix(household)):
            service = self.rules.service
        if service is None or (
            service != self.rules.service and not self.rules.other_services_count
        ):
            return None
        return service

    def visits(self, monday: dt.date, plan: Plan) -> Iterator[tuple[str, Visit]]:
        """Each counting stop of ``plan`` (its undated routes in the week of ``monday``)."""
        for route in plan.routes:
            date = route_date(route) or monday + dt.timedelta(days=DAYS.index(route.day))
            for stop in route.stops:
                service = self.service(stop.request, stop.household)
                if service is not None:
                    yield stop.household, Visit(date, route.caregiver, service)

    def unplanned(self, monday: dt.date, plan: Plan) -> Iterator[tuple[str, Unplanned]]:
        """Each unassigned entry of a counting request (undated ones in ``monday``'s week)."""
        for u in plan.unassigned:
            if self.service(u.request, u.household) is not None:
                week = dt.date.fromisoformat(u.week) if u.week else monday
                yield u.household, Unplanned(week, u.reason, u.detail)


# --------------------------------------------------------------------------------------------
# The ledger


@dataclass(frozen=True)
class Miss:
    """A period whose obligation was not met, and why (the reason of its last unplaced visit,
    else :data:`NOT_PLANNED`)."""

    household: str
    start: dt.date
    end: dt.date
    reason: str
    detail: str

    def text(self) -> str:
        """The reason line: ``code: 中文 / English (detail)``."""
        try:
            zh, en = REASON_TEXT[Reason(self.reason)]
        except ValueError:
            zh, en = _NOT_PLANNED_TEXT if self.reason == NOT_PLANNED else ("", self.reason)
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.reason}: {zh} / {en}{detail}"


@dataclass(frozen=True)
class LedgerEntry:
    """A household of the programme as of the ledger's date (台账一行).

    ``visits`` are its counting visits up to that date, in date order; ``next_due`` is the end
    of the period after the last visit's (never visited: the end of the period holding the
    ledger's start); ``overdue_days`` is how many days the ledger's date is past it;
    ``visits_in_period`` counts the visits of the period holding the ledger's date; ``misses``
    are the closed periods since the start without a visit; ``unplanned`` the plans' unassigned
    visits of counting requests, which give a miss its reason.
    """

    household: str
    name: str
    risk_class: RiskClass
    station: str
    visits: tuple[Visit, ...]
    next_due: dt.date
    overdue_days: int
    visits_in_period: int
    misses: tuple[Miss, ...]
    unplanned: tuple[Unplanned, ...] = ()

    @property
    def last_visit(self) -> Visit | None:
        """The latest counting visit, ``None`` when there is none."""
        return self.visits[-1] if self.visits else None


@dataclass(frozen=True)
class Ledger:
    """The visiting ledger (探访台账) at the end of day ``on``, from plans starting ``start``."""

    on: dt.date
    start: dt.date
    entries: tuple[LedgerEntry, ...]


def _miss(
    household: str,
    period: tuple[dt.date, dt.date],
    unplanned: Sequence[Unplanned],
) -> Miss:
    inside = [
        u for u in unplanned if u.week <= period[1] and u.week + dt.timedelta(days=6) >= period[0]
    ]
    if inside:
        last = max(inside, key=lambda u: u.week)
        return Miss(household, *period, last.reason, last.detail)
    return Miss(household, *period, NOT_PLANNED, "")


def _nearest_stations(
    scenario: Scenario, households: Sequence[Household], travel: TravelProvider | None
) -> dict[str, str]:
    """Each household's nearest station by travel minutes in that station's mode."""
    if not scenario.stations:
        return {h.id: "-" for h in households}
    provider = travel if travel is not None else provider_for(resolve_travel(scenario))
    modes = station_modes(scenario)
    places = [Place(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations]
    places += [Place(f"household:{h.id}", h.lat, h.lon) for h in households]
    n = len(scenario.stations)
    matrices = {m: np.asarray(provider.matrix(places, m)) for m in set(modes.values())}
    out = {}
    for j, h in enumerate(households):
        best = min(
            range(n), key=lambda i: (int(matrices[modes[scenario.stations[i].id]][i, n + j]), i)
        )
        out[h.id] = scenario.stations[best].id
    return out


def ledger(
    scenario: Scenario,
    rules: VisitingRules,
    dated_plans: Iterable[tuple[dt.date, Plan]],
    *,
    on: dt.date,
    phone_visits: Iterable[PhoneVisit] = (),
    travel: TravelProvider | None = None,
) -> Ledger:
    """The ledger of ``scenario``'s programme households at the end of day ``on``.

    ``dated_plans`` pairs each plan with the Monday of its first week, which dates its undated
    routes and unassigned entries (a plan of several weeks dates its routes itself). Only
    visits dated up to ``on`` count; the ledger starts at the earliest Monday (``on`` without
    plans). Stations are the nearest by ``travel`` (default: the scenario's provider).
    """
    pairs = list(dated_plans)
    start = min((monday for monday, _ in pairs), default=on)
    counter = _Counter(scenario, rules)
    visits: dict[str, dict[dt.date, Visit]] = defaultdict(dict)
    unplanned: dict[str, list[Unplanned]] = defaultdict(list)
    for monday, plan in pairs:
        for hid, visit in counter.visits(monday, plan):
            if visit.date <= on:
                visits[hid].setdefault(visit.date, visit)
        for hid, note in counter.unplanned(monday, plan):
            unplanned[hid].append(note)
    if rules.phone_counts:
        for p in phone_visits:
            if p.date <= on:
                visits[p.household].setdefault(p.date, Visit(p.date, f"phone:{p.desk}", "phone"))
    members = [(h, c) for h in scenario.households if (c := rules.risk_class(h)) is not None]
    stations = _nearest_stations(scenario, [h for h, _ in members], travel)
    entries = []
    for h, risk in members:
        mine = tuple(v for _, v in sorted(visits[h.id].items()))
        notes = sorted(unplanned[h.id], key=lambda u: u.week)
        if mine:
            following = period_of(risk.every, mine[-1].date)[1] + dt.timedelta(days=1)
            due = period_of(risk.every, following)[1]
        else:
            due = period_of(risk.every, start)[1]
        current = period_of(risk.every, on)
        closed = [p for p in _periods(risk.every, start, on) if p[1] <= on]
        misses = tuple(
            _miss(h.id, p, notes) for p in closed if not any(p[0] <= v.date <= p[1] for v in mine)
        )
        entries.append(
            LedgerEntry(
                household=h.id,
                name=h.name,
                risk_class=risk,
                station=stations[h.id],
                visits=mine,
                next_due=due,
                overdue_days=max(0, (on - due).days),
                visits_in_period=sum(1 for v in mine if current[0] <= v.date <= current[1]),
                misses=misses,
                unplanned=tuple(notes),
            )
        )
    return Ledger(on, start, tuple(entries))


# --------------------------------------------------------------------------------------------
# Monthly visit rate


@dataclass(frozen=True)
class Rate:
    """Programme households of a group and how many of them met their obligation."""

    households: int
    met: int

    @property
    def rate(self) -> float:
        """``met`` over ``households``; 1.0 for an empty group."""
        return self.met / self.households if self.households else 1.0


@dataclass(frozen=True)
class MonthRate:
    """The monthly visit rate (月探访率) of a calendar month per station, street and district,
    with a reason for every household that missed."""

    month: dt.date
    stations: Mapping[str, Rate]
    streets: Mapping[str, Rate]
    district: Rate
    misses: tuple[Miss, ...]


def _month_obligations(
    entry: LedgerEntry, month: tuple[dt.date, dt.date], ledger_: Ledger
) -> Iterator[tuple[tuple[dt.date, dt.date], dt.date]]:
    """The periods an entry answers for in ``month``, each with the date it is judged at."""
    every = entry.risk_class.every
    if every == "week":
        for week in _periods("week", month[0], month[1]):
            if month[0] <= week[0]:
                yield week, ledger_.on
    elif every == "month":
        yield month, min(ledger_.on, month[1])
    else:
        quarter = period_of("quarter", month[0])
        if quarter[1] == month[1]:
            yield quarter, min(ledger_.on, month[1])


def month_rate(
    ledger: Ledger, month: dt.date, *, streets: Mapping[str, str] | None = None
) -> MonthRate:
    """The visit rate of the calendar month holding ``month``.

    A household met its obligation in the month when none of its periods there is missed:
    weekly, each ISO week whose Monday is in the month; monthly, the month; quarterly, the
    quarter when the month is its last (other months: not yet due). A period is missed when it
    has ended by the judging date (the ledger's date, and for months and quarters at most the
    month's end) without a counting visit; one still running counts as met so far, and periods
    starting before the ledger's start are not judged (the record does not hold them whole: the
    visits before it are unknown). ``streets`` maps a station id
    to its street (default: the station id).
    """
    span = period_of("month", month)
    names = streets or {}
    by_station: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_street: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    misses: list[Miss] = []
    for entry in ledger.entries:
        missed = None
        for period, cut in _month_obligations(entry, span, ledger):
            if period[0] < ledger.start or period[1] > cut:
                continue
            if not any(period[0] <= v.date <= period[1] for v in entry.visits):
                missed = _miss(entry.household, period, entry.unplanned)
                break
        met = int(missed is None)
        if missed is not None:
            misses.append(missed)
        for counts in (
            by_station[entry.station],
            by_street[names.get(entry.station, entry.station)],
            total,
        ):
            counts[0] += 1
            counts[1] += met

    def rates(groups: Mapping[str, list[int]]) -> Mapping[str, Rate]:
        return MappingProxyType({k: Rate(*groups[k]) for k in sorted(groups)})

    return MonthRate(span[0], rates(by_station), rates(by_street), Rate(*total), tuple(misses))


# --------------------------------------------------------------------------------------------
# Scheduling


def _visit_dates(
    visited: Ledger | Mapping[str, Iterable[dt.date]],
) -> Mapping[str, frozenset[dt.date]]:
    if isinstance(visited, Ledger):
        return {e.household: frozenset(v.date for v in e.visits) for e in visited.entries}
    return {hid: frozenset(dates) for hid, dates in visited.items()}


def _standing(household: Household, rules: VisitingRules, days: Sequence[str]) -> bool:
    """A standing request of the household that counts may be visited on one of ``days``."""
    return any(
        r.visits_per_week >= 1
        and (r.service == rules.service or rules.other_services_count)
        and any(r.days is None or d in r.days for d in days)
        for r in household.requests
    )


def _due_request(
    scenario: Scenario,
    rules: VisitingRules,
    household: Household,
    every: str,
    monday: dt.date,
    dates: frozenset[dt.date],
    spare: bool,
) -> ServiceRequest | None:
    """The week's visit request of a programme household, ``None`` when none is due."""
    on_day = {d: monday + dt.timedelta(days=DAYS.index(d)) for d in scenario.days}
    next_week = [date + dt.timedelta(days=7) for date in on_day.values()]
    for start, end in sorted({period_of(every, date) for date in on_day.values()}):
        days = tuple(d for d in scenario.days if start <= on_day[d] <= end)
        if any(start <= date <= end for date in dates) or _standing(household, rules, days):
            continue
        deadline = all(date > end for date in next_week)
        if not deadline and not spare:
            return None
        return ServiceRequest(
            id=visit_request_id(household, monday),
            service=rules.service,
            minutes=rules.minutes,
            windows=(rules.window,),
            days=None if days == scenario.days else days,
            priority=rules.priority if deadline else rules.spare_priority,
        )
    return None


def with_visits(
    scenario: Scenario,
    rules: VisitingRules,
    monday: dt.date,
    visited: Ledger | Mapping[str, Iterable[dt.date]],
    *,
    spare: bool = True,
) -> Scenario:
    """The scenario of the week of ``monday`` with the programme's visits due that week.

    For each programme household and each period touching the week's planning days (a week may
    end one month and begin the next), first to last: a period with a counting visit in
    ``visited`` (dates per household, or a ledger's visits), or with a standing request that
    counts and may fall on its days this week, needs nothing. The first other one gets a visit
    request (:func:`visit_request_id`, the rule's service, minutes and window) on the week's
    days inside it: required at the rule's ``priority`` when the week is its deadline (no
    planning day of the next week falls in the period), else optional at ``spare_priority`` —
    left out when ``spare`` is false.
    """
    dates = _visit_dates(visited)
    households = []
    for h in scenario.households:
        risk = rules.risk_class(h)
        if risk is not None:
            request = _due_request(
                scenario, rules, h, risk.every, monday, dates.get(h.id, frozenset()), spare
            )
            if request is not None:
                h = replace(h, requests=(*h.requests, request))
        households.append(h)
    return replace(scenario, week_start=monday.isoformat(), households=tuple(households))


@dataclass(frozen=True)
class VisitingRun:
    """Weeks planned with the programme's visits: each week's scenario and plan (one-week,
    undated) from ``mondays``, and the ledger at the end of the last week."""

    mondays: tuple[dt.date, ...]
    scenarios: tuple[Scenario, ...]
    plans: tuple[Plan, ...]
    ledger: Ledger


def _visits_per_request(plan: Plan) -> dict[str, int]:
    days: dict[str, set[str]] = defaultdict(set)
    for route in plan.routes:
        for stop in route.stops:
            days[stop.request].add(route.day)
    return {rid: len(d) for rid, d in days.items()}


def _costs_nothing(required: Scenario, plan: Plan, trial: Plan) -> bool:
    """``trial`` serves every request of ``required`` as often as ``plan`` does."""
    before, after = _visits_per_request(plan), _visits_per_request(trial)
    return all(after.get(r.id, 0) >= before.get(r.id, 0) for _, r in required.requests())


def plan_visiting_weeks(
    scenario: Scenario,
    rules: VisitingRules,
    first_monday: dt.date,
    weeks: int,
    *,
    plan: Callable[[Scenario], Plan] = plan_week,
    phone_visits: Sequence[PhoneVisit] = (),
    travel: TravelProvider | None = None,
) -> VisitingRun:
    """Plan ``weeks`` ISO weeks from ``first_monday`` one after another with ``plan`` (default
    the weekly planner; the greedy one is :func:`dispatch.greedy.plan_greedy`).

    Each week is ``scenario``'s master data with the spacing of the week before carried
    (:func:`dispatch.weekly.weeks.scenario_of_week`) and the visits due (:func:`with_visits`,
    knowing the visits of the weeks planned and the phone visits). The week is planned with
    its required visits; when optional ones are due too, it is planned again with them and
    that plan kept only when it serves every other request as often (spare capacity only).
    Raises ``ValueError`` for ``weeks`` < 1 and what ``plan`` raises.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    counter = _Counter(scenario, rules)
    visited: dict[str, set[dt.date]] = defaultdict(set)
    if rules.phone_counts:
        for p in phone_visits:
            visited[p.household].add(p.date)
    last_visit: dict[str, dt.date] = {}
    mondays, scenarios, plans = [], [], []
    for k in range(weeks):
        monday = first_monday + dt.timedelta(days=7 * k)
        base = scenario_of_week(scenario, monday, last_visit)
        week = with_visits(base, rules, monday, visited, spare=False)
        week_plan = plan(week)
        optional = with_visits(base, rules, monday, visited, spare=True)
        if optional != week:
            trial = plan(optional)
            if _costs_nothing(week, week_plan, trial):
                week, week_plan = optional, trial
        for route in week_plan.routes:
            date = monday + dt.timedelta(days=DAYS.index(route.day))
            for stop in route.stops:
                last_visit[stop.request] = max(date, last_visit.get(stop.request, date))
        for hid, visit in counter.visits(monday, week_plan):
            visited[hid].add(visit.date)
        mondays.append(monday)
        scenarios.append(week)
        plans.append(week_plan)
    end = mondays[-1] + dt.timedelta(days=6)
    final = ledger(
        scenario,
        rules,
        zip(mondays, plans, strict=True),
        on=end,
        phone_visits=phone_visits,
        travel=travel,
    )
    return VisitingRun(tuple(mondays), tuple(scenarios), tuple(plans), final)


# --------------------------------------------------------------------------------------------
# Output


def _percent(rate: Rate) -> str:
    return f"{100 * rate.rate:.1f} % ({rate.met}/{rate.households})"


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    rows = []
    for e in ledger.entries:
        last = e.last_visit
        rows.append(
            {
                "household": e.household,
                "name": e.name,
                "class": e.risk_class.id,
                "class_name": e.risk_class.name,
                "every": e.risk_class.every,
                "station": e.station,
                "last_visit": last.date.isoformat() if last else None,
                "by": last.by if last else None,
                "next_due": e.next_due.isoformat(),
                "overdue_days": e.overdue_days,
                "visits_in_period": e.visits_in_period,
                "visits": len(e.visits),
            }
        )
    return rows


def _miss_dict(m: Miss) -> dict[str, Any]:
    return {
        "household": m.household,
        "period": [m.start.isoformat(), m.end.isoformat()],
        "reason": m.reason,
        "detail": m.detail,
        "text": m.text(),
    }


def _rates_dict(rate: MonthRate) -> dict[str, Any]:
    def group(rates: Mapping[str, Rate]) -> dict[str, Any]:
        return {
            k: {"households": r.households, "met": r.met, "rate": r.rate} for k, r in rates.items()
        }

    d = rate.district
    return {
        "month": rate.month.strftime("%Y-%m"),
        "stations": group(rate.stations),
        "streets": group(rate.streets),
        "district": {"households": d.households, "met": d.met, "rate": d.rate},
        "misses": [_miss_dict(m) for m in rate.misses],
    }


def ledger_to_dict(
    ledger: Ledger, *, month: dt.date | None = None, streets: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ledger as JSON-ready data: its dates, one row per household and the visit rate of
    ``month`` (default: the month of the ledger's date)."""
    rate = month_rate(ledger, month or ledger.on, streets=streets)
    return {
        "on": ledger.on.isoformat(),
        "start": ledger.start.isoformat(),
        "households": _rows(ledger),
        "month_rate": _rates_dict(rate),
    }


_HEADS = (
    ("household", "户号 household"),
    ("name", "姓名 name"),
    ("class", "类别 class"),
    ("last_visit", "上次探访 last visit"),
    ("by", "探访人 by"),
    ("next_due", "下次应访 next due"),
    ("overdue_days", "逾期天数 overdue days"),
)


def _table(heads: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def format_ledger(
    ledger: Ledger, *, month: dt.date | None = None, streets: Mapping[str, str] | None = None
) -> str:
    """The ledger as text: a row per household (id, name, class, last visit, by whom, next due,
    overdue days), then the visit rate of ``month`` (default: the month of the ledger's date)
    per station, street and district, and a reason line for every household that missed."""
    rows = [
        ["-" if row[key] is None else str(row[key]) for key, _ in _HEADS] for row in _rows(ledger)
    ]
    lines = [f"探访台账 visiting ledger {ledger.start} – {ledger.on}", ""]
    lines += _table([h for _, h in _HEADS], rows)
    rate = month_rate(ledger, month or ledger.on, streets=streets)
    lines += ["", f"月探访率 monthly visit rate {rate.month:%Y-%m}"]
    groups = [("站点 station", k, r) for k, r in rate.stations.items()]
    groups += [("街道 street", k, r) for k, r in rate.streets.items()]
    groups.append(("全区 district", "-", rate.district))
    lines += _table(
        ["层级 level", "名称 name", "探访率 rate"], [[a, b, _percent(r)] for a, b, r in groups]
    )
    if rate.misses:
        lines += ["", f"未探访 missed ({len(rate.misses)})"]
        lines += [f"{m.household} {m.start}–{m.end}: {m.text()}" for m in rate.misses]
    return "\n".join(lines) + "\n"


def ledger_from_files(
    scenario_path: str | Path,
    plan_paths: Sequence[str | Path],
    on: dt.date | None = None,
    rules_path: str | Path | None = None,
    *,
    phone_visits: Iterable[PhoneVisit] = (),
) -> Ledger:
    """The ledger of a scenario file and plan files (for the CLI and the API).

    A plan with dated routes starts on the Monday of its earliest date; undated one-week plans
    are taken as consecutive weeks from the scenario's ``week_start`` in the order given.
    ``on`` defaults to the last day the plans cover; ``rules_path`` to the bundled rules.
    Raises the readers' errors (:class:`DocumentError` subclasses, ``OSError``) and
    ``ValueError`` when a plan's week cannot be told (no ``week_start``, no dates).
    """
    scenario = load_scenario(scenario_path).scenario
    rules = load_visiting(rules_path)
    dated: list[tuple[dt.date, Plan]] = []
    undated = 0
    for path in plan_paths:
        plan = load_plan(path)
        dates = [d for d in (route_date(r) for r in plan.routes) if d is not None]
        if dates:
            monday = min(dates) - dt.timedelta(days=min(dates).weekday())
        elif scenario.week_start is not None:
            start = dt.date.fromisoformat(scenario.week_start)
            monday = start + dt.timedelta(days=7 * undated)
            undated += 1
        else:
            raise ValueError(f"{path}: the plan's week is unknown (no week_start, no dates)")
        dated.append((monday, plan))
    if on is None:
        on = max(
            (m + dt.timedelta(days=7 * max(1, p.weeks) - 1) for m, p in dated),
            default=dt.date.today(),
        )
    return ledger(scenario, rules, dated, on=on, phone_visits=phone_visits)
