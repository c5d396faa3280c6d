"""Entitlements (补贴额度): prices, funding schemes and default packages, and the monthly budget.

Services are bought by the government per elder after an assessment (GB/T 42195 levels 0–4):
200 yuan per person per month for basic services in Anqing, hour-long care visits 3, 5 or 7
times a week by level in care-insurance practice. A locality keeps three tables in one JSON
document (bundled default: ``dispatch/programmes/entitlements.json``)::

    {"format": 1,
     "prices": {"cleaning": {"per": "hour", "yuan": 30}, ...},
     "entitlements": {"basic": {"yuan_per_month": 200, "levels": [1, 2, 3, 4],
                                "tags": ["low_income"], "top_up": false}, ...},
     "packages": {"0": [], "2": [{"service": "personal_care", "visits_per_week": 3,
                                  "minutes": 60, "min_gap_days": 2}], ...}}

Money is integer fen (分) everywhere, never floats. A household's scheme is the first of
``entitlements`` (in file order) whose ``levels`` hold its assessment level and, when ``tags``
is not empty, that shares a tag with it; a household without one has no budget.

:func:`trim_to_entitlement` is the budget check after planning: it walks a plan's visits in
time order and takes out those beyond the household's monthly budget (``over_entitlement``),
or keeps them and says what the family pays when the scheme allows a top-up.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.document import (
    DocumentError,
    DocumentReader,
    did_you_mean,
    load_json,
)
from dispatch.kpis import plan_kpis
from dispatch.model import DAYS, Household, Plan, Route, Scenario, Unassigned
from dispatch.reasons import REASON_TEXT, Reason

__all__ = [
    "PER",
    "PackageItem",
    "Price",
    "Scheme",
    "Tables",
    "TopUp",
    "Trimmed",
    "default_tables",
    "fen_of_yuan",
    "load_tables",
    "month_of",
    "parse_tables",
    "scheme_of",
    "trim_to_entitlement",
    "visit_fen",
]

#: How a price is counted: per visit, or per hour of the visit's minutes (pro rata).
PER: tuple[str, ...] = ("visit", "hour")
LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)
_FILE_FIELDS = MappingProxyType(
    {"format": True, "prices": True, "entitlements": True, "packages": True}
)
_PRICE_FIELDS = MappingProxyType({"per": True, "yuan": True})
_SCHEME_FIELDS = MappingProxyType(
    {
        "name_zh": False,
        "name_en": False,
        "yuan_per_month": False,
        "minutes_per_month": False,
        "levels": True,
        "tags": False,
        "top_up": True,
    }
)
_ITEM_FIELDS = MappingProxyType(
    {
        "service": True,
        "visits_per_week": True,
        "minutes": False,
        "windows": False,
        "min_gap_days": False,
    }
)


@dataclass(frozen=True)
class Price:
    """The price of one service: ``fen`` per visit, or per hour counted pro rata by minutes."""

    per: str
    fen: int


@dataclass(frozen=True)
class Scheme:
    """A funding scheme (补贴项目): a monthly budget in fen (``fen_per_month``) or in minutes by
    assessment level (``minutes_per_month``), who is in it (``levels``, and ``tags`` when not
    empty), and whether the family may pay beyond it (``top_up``)."""

    code: str
    levels: frozenset[int]
    top_up: bool
    fen_per_month: int | None = None
    minutes_per_month: Mapping[int, int] | None = None
    tags: frozenset[str] = frozenset()
    name_zh: str = ""
    name_en: str = ""

    def budget(self, level: int | None) -> int:
        """The monthly budget of a household of ``level``: fen, or minutes for a minutes
        scheme (0 for a level the scheme gives no minutes)."""
        if self.fen_per_month is not None:
            return self.fen_per_month
        minutes = self.minutes_per_month or {}
        return minutes.get(level, 0) if level is not None else 0


@dataclass(frozen=True)
class PackageItem:
    """One standing request of a default package; ``minutes`` and ``windows`` ``None`` take
    the catalogue's defaults."""

    service: str
    visits_per_week: int
    minutes: int | None = None
    windows: tuple[tuple[int, int], ...] | None = None
    min_gap_days: int = 1


@dataclass(frozen=True)
class Tables:
    """A locality's prices, schemes (in order of precedence) and packages by level."""

    prices: Mapping[str, Price]
    schemes: tuple[Scheme, ...]
    packages: Mapping[int, tuple[PackageItem, ...]]

    def price(self, service: str) -> Price:
        """The price of ``service``; raises ``ValueError`` naming the missing table entry."""
        found = self.prices.get(service)
        if found is None:
            raise ValueError(f"prices.{service}: no price for service {service!r}")
        return found


def fen_of_yuan(yuan: Decimal | float | int) -> int:
    """Whole fen of an amount in yuan given with at most two decimals (exact, no float maths)."""
    amount = Decimal(str(yuan)) * 100
    if amount != amount.to_integral_value():
        raise ValueError(f"{yuan} yuan is not a whole number of fen")
    return int(amount)


def visit_fen(price: Price, minutes: int) -> int:
    """What a visit of ``minutes`` costs: the price per visit, or the hourly price pro rata,
    rounded half up to the fen."""
    if price.per == "visit":
        return price.fen
    return (2 * price.fen * minutes + 60) // 120


# --------------------------------------------------------------------------------------------
# Reading the tables


def _price(r: DocumentReader, value: Any, path: str) -> Price | None:
    obj = r.read_object(value, path, _PRICE_FIELDS)
    if obj is None:
        return None
    per = r.field(obj, path, "per", r.read_choice, choices=PER)
    yuan = r.field(obj, path, "yuan", r.read_number, minimum=0)
    if per is None or yuan is None:
        return None
    try:
        return Price(per, fen_of_yuan(obj["yuan"]))
    except ValueError:
        r.error(f"{path}.yuan", f"must be whole fen (at most 2 decimals), got {obj['yuan']!r}")
        return None


def _level_key(r: DocumentReader, key: Any, path: str) -> int | None:
    if not isinstance(key, str) or key not in {str(level) for level in LEVELS}:
        r.error(path, f"unknown assessment level {key!r} (expected one of 0, 1, 2, 3, 4)")
        return None
    return int(key)


def _scheme(r: DocumentReader, value: Any, path: str, code: str) -> Scheme | None:
    before = len(r.errors)
    obj = r.read_object(value, path, _SCHEME_FIELDS)
    if obj is None:
        return None
    levels = r.field(obj, path, "levels", r.read_list)
    level_set: set[int] = set()
    for i, v in enumerate(levels or ()):
        level = r.read_int(v, f"{path}.levels[{i}]", minimum=0, maximum=4)
        if level is not None:
            level_set.add(level)
    tags = r.field(obj, path, "tags", r.read_texts, default=())
    top_up = obj.get("top_up")
    if "top_up" in obj and not isinstance(top_up, bool):
        r.error(f"{path}.top_up", "expected true or false")
    has_yuan, has_minutes = "yuan_per_month" in obj, "minutes_per_month" in obj
    if has_yuan == has_minutes:
        r.error(path, "give exactly one of yuan_per_month and minutes_per_month")
    fen: int | None = None
    if has_yuan:
        yuan = r.field(obj, path, "yuan_per_month", r.read_number, minimum=0)
        if yuan is not None:
            try:
                fen = fen_of_yuan(obj["yuan_per_month"])
            except ValueError:
                r.error(f"{path}.yuan_per_month", "must be whole fen (at most 2 decimals)")
    minutes: dict[int, int] | None = None
    if has_minutes:
        sub = f"{path}.minutes_per_month"
        table = obj["minutes_per_month"]
        minutes = {}
        if not isinstance(table, Mapping):
            r.error(sub, "expected an object mapping assessment levels to minutes")
        else:
            for key, v in table.items():
                level = _level_key(r, key, f"{sub}.{key}")
                amount = r.read_int(v, f"{sub}.{key}", minimum=0)
                if level is not None and amount is not None:
                    minutes[level] = amount
            for level in sorted(level_set - set(minutes)):
                r.error(f"{sub}.{level}", f"no minutes for assessment level {level}")
    if len(r.errors) > before:
        return None
    return Scheme(
        code=code,
        levels=frozenset(level_set),
        top_up=bool(top_up),
        fen_per_month=fen,
        minutes_per_month=None if minutes is None else MappingProxyType(minutes),
        tags=frozenset(tags),
        name_zh=str(obj.get("name_zh", "")),
        name_en=str(obj.get("name_en", "")),
    )


def _item(
    r: DocumentReader, value: Any, path: str, catalogue: Catalogue, prices: Mapping[str, Any]
) -> PackageItem | None:
    before = len(r.errors)
    obj = r.read_object(value, path, _ITEM_FIELDS)
    if obj is None:
        return None
    service = r.field(obj, path, "service", r.read_text)
    if service is not None and service not in catalogue:
        r.error(f"{path}.service", f"unknown service {service!r}{did_you_mean(service, catalogue)}")
    elif service is not None and service not in prices:
        r.error(f"{path}.service", f"no price for service {service!r} (prices.{service})")
    visits = r.field(obj, path, "visits_per_week", r.read_int, minimum=1, maximum=7)
    minutes = r.field(obj, path, "minutes", r.read_int, default=None, minimum=1)
    windows = r.field(obj, path, "windows", r.read_windows, default=None)
    gap = r.field(obj, path, "min_gap_days", r.read_int, default=1, minimum=1, maximum=6)
    if len(r.errors) > before:
        return None
    return PackageItem(service, visits, minutes, windows, gap)


def parse_tables(data: Mapping[str, Any], *, catalogue: Catalogue | None = None) -> Tables:
    """The tables of a decoded entitlements document, checked against ``catalogue`` (default:
    the bundled one). Raises :class:`DocumentError` naming every bad field
    (``prices.cleaning.yuan``, ``entitlements.basic.levels[0]``, ``packages.2[0].service``)."""
    services = default_catalogue() if catalogue is None else catalogue
    r = DocumentReader()
    prices: dict[str, Price] = {}
    schemes: list[Scheme] = []
    packages: dict[int, tuple[PackageItem, ...]] = {}
    doc = r.read_object(data, "", _FILE_FIELDS)
    if doc is None:
        raise DocumentError(r.errors)
    r.check_format(doc)
    raw_prices = doc.get("prices", {})
    if not isinstance(raw_prices, Mapping):
        r.error("prices", "expected an object mapping service codes to prices")
        raw_prices = {}
    for code, value in raw_prices.items():
        path = f"prices.{code}"
        if code not in services:
            r.error(path, f"unknown service {code!r}{did_you_mean(str(code), services)}")
            continue
        price = _price(r, value, path)
        if price is not None:
            prices[code] = price
    raw_schemes = doc.get("entitlements", {})
    if not isinstance(raw_schemes, Mapping):
        r.error("entitlements", "expected an object mapping scheme codes to schemes")
        raw_schemes = {}
    for code, value in raw_schemes.items():
        scheme = _scheme(r, value, f"entitlements.{code}", str(code))
        if scheme is not None:
            schemes.append(scheme)
    raw_packages = doc.get("packages", {})
    if not isinstance(raw_packages, Mapping):
        r.error("packages", "expected an object mapping assessment levels to packages")
        raw_packages = {}
    for key, value in raw_packages.items():
        path = f"packages.{key}"
        level = _level_key(r, key, path)
        items = r.read_list(value, path)
        if level is None or items is None:
            continue
        read = [_item(r, v, f"{path}[{i}]", services, raw_prices) for i, v in enumerate(items)]
        packages[level] = tuple(item for item in read if item is not None)
    if r.errors:
        raise DocumentError(r.errors)
    return Tables(MappingProxyType(prices), tuple(schemes), MappingProxyType(packages))


@functools.cache
def _bundled() -> Tables:
    text = (
        resources.files("dispatch.programmes")
        .joinpath("entitlements.json")
        .read_text(encoding="utf-8")
    )
    return parse_tables(json.loads(text))


def default_tables() -> Tables:
    """The bundled default tables (``dispatch/programmes/entitlements.json``), read once."""
    return _bundled()


def load_tables(path: str | Path, *, catalogue: Catalogue | None = None) -> Tables:
    """The tables of the JSON file at ``path``; raises :class:`DocumentError` (bad JSON too)."""
    return parse_tables(load_json(path), catalogue=catalogue)


def scheme_of(household: Household, tables: Tables) -> Scheme | None:
    """The household's funding scheme: the first whose levels hold its assessment level and,
    when the scheme names tags, that shares one with it; ``None`` when none does."""
    level = household.assessment_level
    for scheme in tables.schemes:
        if level in scheme.levels and (not scheme.tags or scheme.tags & set(household.tags)):
            return scheme
    return None


def month_of(day: dt.date | None) -> str:
    """``"YYYY-MM"`` of a date; ``""`` for a visit whose date is unknown (a one-week plan of
    a scenario without ``week_start``: its whole week is one budget period)."""
    return "" if day is None else f"{day.year:04d}-{day.month:02d}"


# --------------------------------------------------------------------------------------------
# The budget check after planning


@dataclass(frozen=True)
class TopUp:
    """Visits of a household in a month kept beyond its entitlement: the family pays ``fen``."""

    household: str
    month: str
    visits: int
    fen: int

    @property
    def yuan(self) -> Decimal:
        """The family's share in yuan (exact)."""
        return Decimal(self.fen) / 100


@dataclass(frozen=True)
class Trimmed:
    """A plan within the entitlements: visits beyond them removed (``over_entitlement``) or
    kept and listed in ``top_ups``."""

    plan: Plan
    top_ups: tuple[TopUp, ...]


@dataclass(frozen=True)
class _Visit:
    request: str
    household: str
    service: str
    when: str  # the ISO date, or the day code when the date is unknown
    date: dt.date | None
    start: int
    minutes: int
    places: tuple[tuple[int, int], ...]  # (route index, stop index) of each caregiver's stop


def _route_date(monday: dt.date | None, route: Route) -> dt.date | None:
    if route.date is not None:
        return dt.date.fromisoformat(route.date)
    if monday is not None:
        return monday + dt.timedelta(days=DAYS.index(route.day))
    return None


def _visits(scenario: Scenario, plan: Plan) -> list[_Visit]:
    """The plan's visits in time order; a two-person visit is one visit with two places."""
    monday = dt.date.fromisoformat(scenario.week_start) if scenario.week_start else None
    services = {r.id: r.service for _h, r in scenario.requests()}
    places: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    first: dict[tuple[str, str], _Visit] = {}
    for ri, route in enumerate(plan.routes):
        day = _route_date(monday, route)
        when = route.day if day is None else day.isoformat()
        for si, stop in enumerate(route.stops):
            key = (stop.request, when)
            places[key].append((ri, si))
            first.setdefault(
                key,
                _Visit(
                    stop.request,
                    stop.household,
                    services.get(stop.request, ""),
                    when,
                    day,
                    stop.start,
                    stop.end - stop.start,
                    (),
                ),
            )
    visits = [replace(v, places=tuple(places[key])) for key, v in first.items()]
    return sorted(
        visits,
        key=lambda v: (
            v.date or dt.date.min,
            DAYS.index(v.when) if v.date is None else 0,
            v.start,
            v.request,
        ),
    )


def trim_to_entitlement(
    scenario: Scenario,
    plan: Plan,
    tables: Tables,
    *,
    spent_so_far: Mapping[tuple[str, str], int] | None = None,
) -> Trimmed:
    """The plan with no visit beyond a household's monthly entitlement unsaid.

    Visits are taken in time order; each costs its price (:func:`visit_fen`) against a budget
    in fen, or its minutes against a budget in minutes. ``spent_so_far`` maps
    ``(household, "YYYY-MM")`` to what the month has used before the plan (fen or minutes, as
    the household's scheme counts). A visit that does not fit in what is left is taken out of
    its routes and reported ``over_entitlement`` — with the visits linked to it that day
    (``after``), which cannot stay without it — unless the scheme allows a top-up: then it stays
    and the part beyond the budget is what the family pays (:class:`TopUp`; for a minutes
    scheme the visit's price pro rata of the minutes beyond).

    The other stops keep their planned times: taking a visit out only lengthens the waiting
    before the next one, which stays inside its window, so the routes stay feasible; a route
    left without stops is dropped. KPIs are recomputed (:func:`dispatch.kpis.plan_kpis`).
    """
    used: dict[tuple[str, str], int] = defaultdict(int, spent_so_far or {})
    households = {h.id: h for h in scenario.households}
    followers: dict[str, list[str]] = defaultdict(list)
    for _h, request in scenario.requests():
        if request.after is not None:
            followers[request.after.request].append(request.id)
    removed: dict[tuple[str, str], str] = {}
    top_ups: dict[tuple[str, str], tuple[int, int]] = {}
    visits = _visits(scenario, plan)
    for visit in visits:
        if (visit.request, visit.when) in removed:
            continue
        household = households.get(visit.household)
        scheme = None if household is None else scheme_of(household, tables)
        if household is None or scheme is None:
            continue
        fen = visit_fen(tables.price(visit.service), visit.minutes)
        cost = fen if scheme.fen_per_month is not None else visit.minutes
        key = (visit.household, month_of(visit.date))
        left = scheme.budget(household.assessment_level) - used[key]
        if cost <= left:
            used[key] += cost
        elif scheme.top_up:
            beyond = cost - max(left, 0)
            family = beyond if scheme.fen_per_month is not None else fen * beyond // cost
            visits_so_far, fen_so_far = top_ups.get(key, (0, 0))
            top_ups[key] = (visits_so_far + 1, fen_so_far + family)
            used[key] += cost
        else:
            _remove(visit.request, visit.when, followers, removed, "")
    routes, unassigned = _without(scenario, plan, visits, removed)
    trimmed = replace(plan, routes=routes, unassigned=(*plan.unassigned, *unassigned))
    trimmed = replace(trimmed, kpis=MappingProxyType(plan_kpis(scenario, trimmed)))
    return Trimmed(
        trimmed,
        tuple(TopUp(h, m, n, fen) for (h, m), (n, fen) in sorted(top_ups.items())),
    )


def _remove(
    request: str,
    when: str,
    followers: Mapping[str, list[str]],
    removed: dict[tuple[str, str], str],
    cause: str,
) -> None:
    """Mark a visit removed, and the visits linked to it that day (transitively)."""
    if (request, when) in removed:
        return
    removed[(request, when)] = cause
    for follower in followers.get(request, ()):
        _remove(follower, when, followers, removed, request)


def _without(
    scenario: Scenario,
    plan: Plan,
    visits: Sequence[_Visit],
    removed: Mapping[tuple[str, str], str],
) -> tuple[tuple[Route, ...], list[Unassigned]]:
    """The routes without the removed visits' stops, and their unassigned entries."""
    gone: set[tuple[int, int]] = set()
    missing: dict[tuple[str, str, str | None, str], int] = defaultdict(int)
    for visit in visits:
        cause = removed.get((visit.request, visit.when))
        if cause is None:
            continue
        gone.update(visit.places)
        monday = None
        if plan.routes[visit.places[0][0]].date is not None and visit.date is not None:
            monday = (visit.date - dt.timedelta(days=visit.date.weekday())).isoformat()
        missing[(visit.request, visit.household, monday, cause)] += 1
    routes: list[Route] = []
    for ri, route in enumerate(plan.routes):
        stops = tuple(s for si, s in enumerate(route.stops) if (ri, si) not in gone)
        if stops or not route.stops:
            routes.append(replace(route, stops=stops))
    _zh, en = REASON_TEXT[Reason.OVER_ENTITLEMENT]
    unassigned = [
        Unassigned(
            request,
            household,
            count,
            Reason.OVER_ENTITLEMENT.value,
            f"follows {cause!r}, taken out beyond the entitlement" if cause else en,
            week=monday,
        )
        for (request, household, monday, cause), count in missing.items()
    ]
    return tuple(routes), unassigned
