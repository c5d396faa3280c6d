"""Reading and validating scenarios of the public format 1 (``docs/SCENARIO.md``).

:func:`parse_scenario` turns a decoded JSON document into :class:`dispatch.model.Scenario`
values: ``"HH:MM"`` becomes minutes from midnight, coordinates become WGS-84, omitted request
fields come from the service catalogue. Every problem of a document is collected before
anything is raised, each with the exact field path (``households[12].requests[0].windows[1]``),
so one run of the validator tells a user everything to fix. Doubtful but legal content
(a skill nobody has, more visits than the allowed days hold) comes back as warnings.

To accept a new optional field, add its name to the object's ``*_FIELDS`` table and read it in
the matching ``_Parser`` method.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.coords import COORD_SYSTEMS, to_wgs84
from dispatch.document import (
    FORMAT_VERSION,
    DocumentError,
    DocumentReader,
    ValidationIssue,
    child_path,
    describe_value,
    did_you_mean,
    index_path,
    load_json,
    max_visits_in_week,
)
from dispatch.model import (
    DAYS,
    DEFAULT_CIRCUITY,
    DEFAULT_SPEED_KMH,
    MODES,
    PROVIDERS,
    After,
    Break,
    Caregiver,
    Household,
    Scenario,
    ServiceRequest,
    Station,
    TravelSettings,
)
from dispatch.timeutil import format_hhmm

__all__ = [
    "AFTER_FIELDS",
    "BREAK_FIELDS",
    "CAREGIVER_FIELDS",
    "HOUSEHOLD_FIELDS",
    "PROVIDER_NEEDS",
    "REQUEST_FIELDS",
    "SCENARIO_FIELDS",
    "STATION_FIELDS",
    "TRAVEL_FIELDS",
    "ParsedScenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
]

GENDERS: tuple[str, ...] = ("F", "M")


# Field tables: name -> required. Unknown names are errors; add new optional fields here.
SCENARIO_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "format": True,
        "name": False,
        "week_start": False,
        "days": True,
        "travel": False,
        "stations": True,
        "caregivers": True,
        "households": True,
    }
)
TRAVEL_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "provider": False,
        "circuity": False,
        "speed_kmh": False,
        # Extensions: where another provider's travel times come from (docs/roads.md).
        "matrix": False,
        "url": False,
        "profiles": False,
        "max_table_size": False,
        "timeout": False,
        "config": False,
        "dataset": False,
    }
)
#: What each provider other than the contract's model needs in the ``travel`` object.
PROVIDER_NEEDS: Mapping[str, str] = MappingProxyType(
    {"matrix": "matrix", "osrm": "url", "valhalla": "url", "valhalla_local": "config"}
)
STATION_FIELDS: Mapping[str, bool] = MappingProxyType(
    {"id": True, "name": False, "address": False, "lat": True, "lon": True, "coord_system": False}
)
CAREGIVER_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "id": True,
        "name": False,
        "station": True,
        "gender": False,
        "mode": False,
        "skills": False,
        "shifts": False,
        "break": False,
        "max_minutes_per_week": False,
        "max_visits_per_day": False,
        "capacity": False,
    }
)
BREAK_FIELDS: Mapping[str, bool] = MappingProxyType({"window": True, "minutes": True})
HOUSEHOLD_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "id": True,
        "name": False,
        "address": False,
        "lat": True,
        "lon": True,
        "coord_system": False,
        "tags": False,
        "assessment_level": False,
        "gender_preference": False,
        "preferred_caregivers": False,
        "forbidden_caregivers": False,
        "requests": False,
    }
)
REQUEST_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "id": True,
        "service": True,
        "minutes": False,
        "visits_per_week": False,
        "min_gap_days": False,
        "days": False,
        "windows": False,
        "staff": False,
        "skill": False,
        "priority": False,
        "load": False,
        "patterns": False,
        "after": False,
    }
)
AFTER_FIELDS: Mapping[str, bool] = MappingProxyType(
    {"request": True, "min_minutes": False, "max_minutes": True}
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The model gains fields over time; write the ones it has (a station's address is one).
_STATION_HAS_ADDRESS = "address" in {f.name for f in fields(Station)}


class ScenarioError(DocumentError):
    """A scenario document is invalid (wrong field, type, value or reference)."""


@dataclass(frozen=True)
class ParsedScenario:
    """A valid scenario and the warnings its validation found (doubtful but legal content)."""

    scenario: Scenario
    warnings: tuple[ValidationIssue, ...] = ()


# --------------------------------------------------------------------------------------------
# Scenario parsing


@dataclass
class _Refs:
    """Ids and references met while parsing, checked once everything is read."""

    stations: list[tuple[str, str]]
    caregivers: list[tuple[str, str]]
    households: list[tuple[str, str]]
    requests: list[tuple[str, str]]
    station_refs: list[tuple[str, str]]
    caregiver_refs: list[tuple[str, str]]
    # (linked request id, path, the linking request's id)
    after_refs: list[tuple[str, str, str]] = field(default_factory=list)


class _Parser:
    def __init__(self, reader: DocumentReader, catalogue: Catalogue) -> None:
        self.r = reader
        self.catalogue = catalogue
        self.refs = _Refs([], [], [], [], [], [])
        self.planned_days: tuple[str, ...] = DAYS

    def scenario(self, data: Any) -> Scenario | None:
        r = self.r
        doc = r.read_object(data, "", SCENARIO_FIELDS)
        if doc is None:
            return None
        r.check_format(doc)
        name = r.field(doc, "", "name", r.read_text, default="", allow_empty=True)
        week_start = r.field(doc, "", "week_start", self.week_start, default=None)
        days = r.field(doc, "", "days", r.read_days)
        if days is not None:
            self.planned_days = days
        travel = r.field(doc, "", "travel", self.travel, default=TravelSettings())
        stations = self.each(doc, "stations", self.station)
        caregivers = self.each(doc, "caregivers", self.caregiver)
        households = self.each(doc, "households", self.household)
        self.check_references()
        if r.errors:
            return None
        return Scenario(
            name=name,
            days=days,
            stations=stations,
            caregivers=caregivers,
            households=households,
            week_start=week_start,
            travel=travel,
            format=FORMAT_VERSION,
        )

    def each(self, doc: Mapping[str, Any], key: str, parse: Callable[[Any, str], Any]) -> Any:
        items = self.r.field(doc, "", key, self.r.read_list)
        if items is None:
            return None
        return tuple(parse(v, index_path(key, i)) for i, v in enumerate(items))

    def week_start(self, value: Any, path: str) -> str | None:
        text = self.r.read_text(value, path)
        if text is None:
            return None
        try:
            if not _ISO_DATE.match(text):
                raise ValueError(text)
            date = dt.date.fromisoformat(text)
        except ValueError:
            self.r.error(path, f"expected an ISO date YYYY-MM-DD, got {describe_value(value)}")
            return None
        if date.weekday() != 0:
            self.r.error(path, f"{text} is a {date.strftime('%A')}, not a Monday")
            return None
        return text

    def travel(self, value: Any, path: str) -> TravelSettings | None:
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, TRAVEL_FIELDS)
        if obj is None:
            return None
        provider = r.field(
            obj, path, "provider", r.read_choice, default="haversine", choices=PROVIDERS
        )
        circuity = r.field(
            obj, path, "circuity", r.read_number, default=DEFAULT_CIRCUITY, positive=True
        )
        speeds = r.field(obj, path, "speed_kmh", self.speeds, default={})
        matrix = r.field(obj, path, "matrix", r.read_text, default=None)
        url = r.field(obj, path, "url", self.urls, default=None)
        profiles = r.field(obj, path, "profiles", self.profiles, default={})
        size = r.field(obj, path, "max_table_size", r.read_int, default=None, minimum=2)
        timeout = r.field(obj, path, "timeout", r.read_number, default=None, positive=True)
        config = r.field(obj, path, "config", r.read_text, default=None)
        dataset = r.field(obj, path, "dataset", r.read_text, default=None)
        needed = PROVIDER_NEEDS.get(provider or "")
        if needed is not None and obj.get(needed) is None:
            r.error(f"{path}.{needed}", f"missing: provider {provider!r} needs it")
        if len(r.errors) > before:
            return None
        return TravelSettings(
            provider=provider,
            circuity=circuity,
            speed_kmh=MappingProxyType({**DEFAULT_SPEED_KMH, **speeds}),
            matrix=matrix,
            url=url,
            profiles=MappingProxyType(profiles),
            max_table_size=size,
            timeout=timeout,
            config=config,
            dataset=dataset,
        )

    def urls(self, value: Any, path: str) -> str | Mapping[str, str] | None:
        """A server's base URL, or one per travel mode."""
        if isinstance(value, Mapping):
            obj = self.r.read_object(value, path, dict.fromkeys(MODES, False))
            if obj is None:
                return None
            found = {m: self.url(obj[m], f"{path}.{m}") for m in obj}
            out = {m: v for m, v in found.items() if v is not None}
            return None if len(out) < len(found) else MappingProxyType(out)
        return self.url(value, path)

    def url(self, value: Any, path: str) -> str | None:
        text = self.r.read_text(value, path)
        if text is not None and not text.startswith(("http://", "https://")):
            self.r.error(path, f"expected an http:// or https:// address, got {text!r}")
            return None
        return text

    def profiles(self, value: Any, path: str) -> dict[str, str] | None:
        obj = self.r.read_object(value, path, dict.fromkeys(MODES, False))
        if obj is None:
            return None
        out = {m: self.r.field(obj, path, m, self.r.read_text) for m in obj}
        return None if any(v is None for v in out.values()) else out

    def speeds(self, value: Any, path: str) -> dict[str, float] | None:
        obj = self.r.read_object(value, path, dict.fromkeys(MODES, False))
        if obj is None:
            return None
        out = {m: self.r.field(obj, path, m, self.r.read_number, positive=True) for m in obj}
        return None if any(v is None for v in out.values()) else out

    def record_id(self, obj: Mapping[str, Any], path: str, seen: list[tuple[str, str]]) -> str:
        """The object's id, remembered for the duplicate check ("" when it is bad or missing:
        that error is reported already)."""
        ident = self.r.field(obj, path, "id", self.r.read_text)
        if ident is None:
            return ""
        seen.append((ident, child_path(path, "id")))
        return str(ident)

    def position(self, obj: Mapping[str, Any], path: str) -> tuple[float, float] | None:
        r = self.r
        lat = r.field(obj, path, "lat", r.read_number, minimum=-90.0, maximum=90.0)
        lon = r.field(obj, path, "lon", r.read_number, minimum=-180.0, maximum=180.0)
        system = r.field(
            obj, path, "coord_system", r.read_choice, default="wgs84", choices=COORD_SYSTEMS
        )
        if lat is None or lon is None or system is None:
            return None
        return to_wgs84(lat, lon, system)

    def station(self, value: Any, path: str) -> Station | None:
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, STATION_FIELDS)
        if obj is None:
            return None
        ident = self.record_id(obj, path, self.refs.stations)
        name = r.field(obj, path, "name", r.read_text, default="", allow_empty=True)
        address = r.field(obj, path, "address", r.read_text, default="", allow_empty=True)
        where = self.position(obj, path)
        if len(r.errors) > before or where is None:
            return None
        extra = {"address": address} if _STATION_HAS_ADDRESS else {}
        return Station(id=ident, lat=where[0], lon=where[1], name=name, **extra)

    def caregiver(self, value: Any, path: str) -> Caregiver | None:
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, CAREGIVER_FIELDS)
        if obj is None:
            return None
        ident = self.record_id(obj, path, self.refs.caregivers)
        station = r.field(obj, path, "station", r.read_text)
        if station is not None:
            self.refs.station_refs.append((station, child_path(path, "station")))
        name = r.field(obj, path, "name", r.read_text, default="", allow_empty=True)
        gender = r.field(obj, path, "gender", r.read_choice, default=None, choices=GENDERS)
        mode = r.field(obj, path, "mode", r.read_choice, default="ebike", choices=MODES)
        skills = r.field(obj, path, "skills", r.read_texts, default=())
        shifts = r.field(obj, path, "shifts", self.shifts, default={})
        rest = r.field(obj, path, "break", self.rest, default=None)
        week_cap = r.field(obj, path, "max_minutes_per_week", r.read_int, default=None, minimum=0)
        day_cap = r.field(obj, path, "max_visits_per_day", r.read_int, default=None, minimum=0)
        capacity = r.field(obj, path, "capacity", r.read_int, default=None, minimum=0)
        if len(r.errors) > before:
            return None
        return Caregiver(
            id=ident,
            station=station,
            name=name,
            gender=gender,
            mode=mode,
            skills=frozenset(skills),
            shifts=MappingProxyType(shifts),
            rest=rest,
            max_minutes_per_week=week_cap,
            max_visits_per_day=day_cap,
            capacity=capacity,
        )

    def shifts(self, value: Any, path: str) -> dict[str, tuple[int, int]] | None:
        r = self.r
        obj = r.read_object(value, path, dict.fromkeys(DAYS, False))
        if obj is None:
            return None
        out = {d: r.field(obj, path, d, r.read_interval, strict=True) for d in DAYS if d in obj}
        return None if any(v is None for v in out.values()) else out

    def rest(self, value: Any, path: str) -> Break | None:
        r = self.r
        obj = r.read_object(value, path, BREAK_FIELDS)
        if obj is None:
            return None
        window = r.field(obj, path, "window", r.read_interval)
        minutes = r.field(obj, path, "minutes", r.read_int, minimum=1)
        if window is None or minutes is None:
            return None
        span = window[1] - window[0]
        if minutes > span:
            r.error(
                child_path(path, "minutes"),
                f"{minutes} minutes do not fit the window "
                f"{format_hhmm(window[0])}–{format_hhmm(window[1])} ({span} minutes)",
            )
            return None
        return Break(window_start=window[0], window_end=window[1], minutes=minutes)

    def household(self, value: Any, path: str) -> Household | None:
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, HOUSEHOLD_FIELDS)
        if obj is None:
            return None
        ident = self.record_id(obj, path, self.refs.households)
        name = r.field(obj, path, "name", r.read_text, default="", allow_empty=True)
        address = r.field(obj, path, "address", r.read_text, default="", allow_empty=True)
        where = self.position(obj, path)
        tags = r.field(obj, path, "tags", r.read_texts, default=())
        level = r.field(obj, path, "assessment_level", r.read_int, default=None, minimum=0)
        gender = r.field(
            obj, path, "gender_preference", r.read_choice, default=None, choices=GENDERS
        )
        preferred = r.field(obj, path, "preferred_caregivers", self.caregiver_list, default=())
        forbidden = r.field(obj, path, "forbidden_caregivers", self.caregiver_list, default=())
        for i, c in enumerate(forbidden or ()):
            if c in (preferred or ()):
                r.error(
                    index_path(child_path(path, "forbidden_caregivers"), i),
                    f"{c} is also preferred",
                )
        requests: list[ServiceRequest | None] = []
        items = r.field(obj, path, "requests", r.read_list, default=[])
        if items is not None:
            rpath = child_path(path, "requests")
            requests = [self.request(v, index_path(rpath, i)) for i, v in enumerate(items)]
        if len(r.errors) > before or where is None:
            return None
        return Household(
            id=ident,
            lat=where[0],
            lon=where[1],
            requests=tuple(q for q in requests if q is not None),
            name=name,
            address=address,
            tags=tags,
            assessment_level=level,
            gender_preference=gender,
            preferred_caregivers=preferred,
            forbidden_caregivers=forbidden,
        )

    def caregiver_list(self, value: Any, path: str) -> tuple[str, ...] | None:
        ids = self.r.read_texts(value, path)
        if ids is not None:
            self.refs.caregiver_refs.extend((c, index_path(path, i)) for i, c in enumerate(ids))
        return ids

    def request(self, value: Any, path: str) -> ServiceRequest | None:
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, REQUEST_FIELDS)
        if obj is None:
            return None
        ident = self.record_id(obj, path, self.refs.requests)
        service = r.field(obj, path, "service", r.read_text)
        entry = self.catalogue.get(service) if service is not None else None
        minutes = r.field(obj, path, "minutes", r.read_int, default=None, minimum=1)
        windows = r.field(obj, path, "windows", r.read_windows, default=None)
        staff = r.field(obj, path, "staff", r.read_int, default=None, minimum=1, maximum=2)
        visits = r.field(obj, path, "visits_per_week", r.read_int, default=1, minimum=1)
        gap = r.field(obj, path, "min_gap_days", r.read_int, default=1, minimum=1)
        days = r.field(obj, path, "days", self.request_days, default=None)
        skill = r.field(obj, path, "skill", r.read_text, default=None)
        priority = r.field(obj, path, "priority", r.read_int, default=50, minimum=1, maximum=100)
        load = r.field(obj, path, "load", r.read_int, default=0, minimum=0)
        patterns = r.field(obj, path, "patterns", self.request_patterns, default=None)
        after = r.field(obj, path, "after", self.request_after, default=None)
        if after is not None:
            self.refs.after_refs.append((after.request, child_path(path, "after.request"), ident))
        if patterns is not None:
            self.check_patterns(patterns, child_path(path, "patterns"), visits, gap, days)
        if service is not None and entry is None:
            given = "minutes" in obj and "windows" in obj
            for key in ("minutes", "windows"):
                if key not in obj:
                    r.error(
                        child_path(path, key),
                        f"missing, and service {service} is not in the service catalogue "
                        "to supply a default",
                    )
            if given:
                r.warn(
                    child_path(path, "service"),
                    f"{service} is not in the service catalogue; "
                    "using the minutes and windows given",
                )
        if entry is not None:
            minutes = entry.minutes if "minutes" not in obj else minutes
            windows = entry.windows if "windows" not in obj else windows
            staff = entry.staff if "staff" not in obj else staff
            if "skill" not in obj and entry.skill != entry.code:
                skill = entry.skill
        if len(r.errors) > before:
            return None
        return ServiceRequest(
            id=ident,
            service=service,
            minutes=minutes,
            windows=windows,
            visits_per_week=visits,
            min_gap_days=gap,
            days=days,
            staff=1 if staff is None else staff,
            skill=skill,
            priority=priority,
            load=load,
            patterns=patterns,
            after=after,
        )

    def request_after(self, value: Any, path: str) -> After | None:
        """A link ``{"request", "min_minutes" (default 0), "max_minutes"}`` with min ≤ max."""
        r = self.r
        before = len(r.errors)
        obj = r.read_object(value, path, AFTER_FIELDS)
        if obj is None:
            return None
        request = r.field(obj, path, "request", r.read_text)
        low = r.field(obj, path, "min_minutes", r.read_int, default=0, minimum=0, maximum=1440)
        high = r.field(obj, path, "max_minutes", r.read_int, minimum=0, maximum=1440)
        if low is not None and high is not None and high < low:
            r.error(
                child_path(path, "max_minutes"), f"must be at least min_minutes ({low}), got {high}"
            )
        if len(r.errors) > before or request is None or high is None:
            return None
        return After(request=request, min_minutes=low, max_minutes=high)

    def request_patterns(self, value: Any, path: str) -> tuple[tuple[str, ...], ...] | None:
        """A non-empty list of non-empty lists of distinct day codes, each in week order."""
        r = self.r
        items = r.read_list(value, path, non_empty=True)
        if items is None:
            return None
        out: list[tuple[str, ...]] = []
        ok = True
        for i, item in enumerate(items):
            ppath = index_path(path, i)
            days = r.read_list(item, ppath, non_empty=True)
            if days is None:
                ok = False
                continue
            seen: set[str] = set()
            for k, d in enumerate(days):
                dpath = index_path(ppath, k)
                if not isinstance(d, str):
                    r.error(dpath, f"expected a day code, got {describe_value(d)}")
                    ok = False
                elif d not in DAYS:
                    r.error(
                        dpath,
                        f"unknown day {json.dumps(d, ensure_ascii=False)}{did_you_mean(d, DAYS)}"
                        f" (expected one of {', '.join(DAYS)})",
                    )
                    ok = False
                elif d in seen:
                    r.error(dpath, f"duplicate day {d}")
                    ok = False
                else:
                    seen.add(d)
            out.append(tuple(d for d in DAYS if d in seen))
        return tuple(out) if ok else None

    def check_patterns(
        self,
        patterns: tuple[tuple[str, ...], ...],
        path: str,
        visits: int | None,
        gap: int | None,
        days: tuple[str, ...] | None,
    ) -> None:
        """Each pattern has ``visits_per_week`` days, inside the request's ``days`` and the
        planned days, spaced by ``min_gap_days``."""
        r = self.r
        for i, pattern in enumerate(patterns):
            ppath = index_path(path, i)
            if visits is not None and len(pattern) != visits:
                r.error(
                    ppath,
                    f"has {len(pattern)} day(s) but visits_per_week is {visits}; "
                    "each pattern lists the days of one week's visits",
                )
            for d in pattern:
                if days is not None and d not in days:
                    r.error(ppath, f"{d} is not one of the request's days {list(days)}")
                elif d not in self.planned_days:
                    r.warn(ppath, f"{d} is not a planned day of the scenario")
            order = [DAYS.index(d) for d in pattern]
            for a, b in itertools.pairwise(order):
                if gap is not None and b - a < gap:
                    r.error(
                        ppath,
                        f"{DAYS[a]} and {DAYS[b]} are {b - a} day(s) apart, min_gap_days is {gap}",
                    )

    def request_days(self, value: Any, path: str) -> tuple[str, ...] | None:
        days = self.r.read_days(value, path)
        if days is not None:
            for i, d in enumerate(value):
                if d not in self.planned_days:
                    self.r.warn(index_path(path, i), f"{d} is not a planned day of the scenario")
        return days

    def check_references(self) -> None:
        refs = self.refs
        for kind, seen in (
            ("station", refs.stations),
            ("caregiver", refs.caregivers),
            ("household", refs.households),
            ("request", refs.requests),
        ):
            first: dict[str, str] = {}
            for ident, path in seen:
                if ident in first:
                    self.r.error(path, f"duplicate {kind} id {ident} (first at {first[ident]})")
                else:
                    first[ident] = path
        station_ids = {s for s, _ in refs.stations}
        for sid, path in refs.station_refs:
            if sid not in station_ids:
                self.r.error(path, f"unknown station {sid}{did_you_mean(sid, station_ids)}")
        caregiver_ids = {c for c, _ in refs.caregivers}
        for cid, path in refs.caregiver_refs:
            if cid not in caregiver_ids:
                self.r.error(path, f"unknown caregiver {cid}{did_you_mean(cid, caregiver_ids)}")
        request_ids = {q for q, _ in refs.requests}
        follows: dict[str, tuple[str, str]] = {}
        for rid, path, owner in refs.after_refs:
            if rid == owner:
                self.r.error(path, "a request cannot follow itself")
            elif rid not in request_ids:
                self.r.error(path, f"unknown request {rid}{did_you_mean(rid, request_ids)}")
            else:
                follows[owner] = (rid, path)
        reported: set[str] = set()
        for owner in follows:
            chain = [owner]
            while chain[-1] in follows and follows[chain[-1]][0] not in chain:
                chain.append(follows[chain[-1]][0])
            back_to = follows.get(chain[-1], (None, ""))[0]
            if back_to is None or back_to in reported:
                continue
            circle = chain[chain.index(back_to) :]
            reported.update(circle)
            self.r.error(
                follows[circle[0]][1],
                "requests " + " → ".join([*circle, circle[0]]) + " follow each other in a "
                "circle; one of them must come first (关联服务不能成环)",
            )


def _warn_doubtful(scenario: Scenario, r: DocumentReader) -> None:
    """Warnings that need the whole valid scenario: skills, frequencies, idle caregivers."""
    skill_holders: dict[str, int] = {}
    for c in scenario.caregivers:
        for s in c.skills:
            skill_holders[s] = skill_holders.get(s, 0) + 1
    for i, c in enumerate(scenario.caregivers):
        if not any(d in c.shifts for d in scenario.days):
            r.warn(index_path("caregivers", i) + ".shifts", "no shift on any planned day")
    for h_i, h in enumerate(scenario.households):
        for r_i, req in enumerate(h.requests):
            path = f"households[{h_i}].requests[{r_i}]"
            holders = skill_holders.get(req.required_skill, 0)
            if holders == 0:
                r.warn(f"{path}.skill", f"no caregiver has skill {req.required_skill}")
            elif holders < req.staff:
                r.warn(
                    f"{path}.skill",
                    f"needs {req.staff} caregivers with skill {req.required_skill}, "
                    f"only {holders} has it",
                )
            allowed = [d for d in (req.days or scenario.days) if d in scenario.days]
            fit = max_visits_in_week(allowed, req.min_gap_days)
            if req.visits_per_week > fit:
                r.warn(
                    f"{path}.visits_per_week",
                    f"{req.visits_per_week} visits do not fit the allowed days "
                    f"({', '.join(allowed) or 'none'}) with min_gap_days {req.min_gap_days}: "
                    f"at most {fit}",
                )


def parse_scenario(
    data: Mapping[str, Any], *, catalogue: Catalogue | None = None
) -> ParsedScenario:
    """Validate a decoded scenario document (format 1) and convert it to model values.

    Request ``minutes``, ``windows`` and ``staff`` that are omitted come from ``catalogue``
    (default: the bundled one). Raises :class:`ScenarioError` listing every problem found.
    """
    if catalogue is None:
        catalogue = default_catalogue()
    reader = DocumentReader()
    scenario = _Parser(reader, catalogue).scenario(data)
    if reader.errors or scenario is None:
        raise ScenarioError(reader.errors)
    _warn_doubtful(scenario, reader)
    return ParsedScenario(scenario=scenario, warnings=tuple(reader.warnings))


def load_scenario(path: str | Path, *, catalogue: Catalogue | None = None) -> ParsedScenario:
    """Read and validate a scenario file; see :func:`parse_scenario`.

    Raises :class:`ScenarioError` (also for bad JSON, with line and column) or ``OSError``.
    """
    parsed = parse_scenario(load_json(path, error=ScenarioError), catalogue=catalogue)
    scenario = parsed.scenario
    # A relative matrix or configuration file is read from the scenario file's folder.
    base = str(Path(path).resolve().parent)
    travel = replace(scenario.travel, base_dir=base)
    return replace(parsed, scenario=replace(scenario, travel=travel))
