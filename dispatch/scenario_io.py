"""Reading, validating and writing scenarios of the public format 1 (``docs/SCENARIO.md``).

:func:`parse_scenario` turns a decoded JSON document into :class:`dispatch.model.Scenario`
values: ``"HH:MM"`` becomes minutes from midnight, coordinates become WGS-84, omitted request
fields come from the service catalogue. Every problem of a document is collected before
anything is raised, each with the exact field path (``households[12].requests[0].windows[1]``),
so one run of the validator tells a user everything to fix. Doubtful but legal content
(a skill nobody has, more visits than the allowed days hold) comes back as warnings.

:class:`DocumentReader` is the small field-checking toolkit shared by the plan and catalogue
readers; to accept a new optional field, add its name to the object's ``*_FIELDS`` table and
read it in the matching ``_Parser`` method.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dispatch.coords import COORD_SYSTEMS, to_wgs84
from dispatch.model import (
    DAYS,
    DEFAULT_CIRCUITY,
    DEFAULT_SPEED_KMH,
    MODES,
    After,
    Break,
    Caregiver,
    Household,
    Scenario,
    ServiceRequest,
    Station,
    TravelSettings,
)
from dispatch.timeutil import format_hhmm, parse_hhmm

if TYPE_CHECKING:
    from dispatch.catalogue import Catalogue

__all__ = [
    "CAREGIVER_FIELDS",
    "FORMAT_VERSION",
    "HOUSEHOLD_FIELDS",
    "REQUEST_FIELDS",
    "SCENARIO_FIELDS",
    "STATION_FIELDS",
    "DocumentError",
    "DocumentReader",
    "ParsedScenario",
    "ScenarioError",
    "ValidationIssue",
    "load_json",
    "load_scenario",
    "max_visits_in_week",
    "merge_windows",
    "parse_scenario",
    "save_scenario",
    "scenario_to_dict",
    "write_json",
]

FORMAT_VERSION = 1
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
    {"provider": False, "circuity": False, "speed_kmh": False}
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
_MISSING: Any = object()
# The model gains fields over time; write the ones it has (a station's address is one).
_STATION_HAS_ADDRESS = "address" in {f.name for f in fields(Station)}


# --------------------------------------------------------------------------------------------
# Issues and errors


@dataclass(frozen=True)
class ValidationIssue:
    """One problem of a document: the field path (``caregivers[0].shifts.mon``) and a message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DocumentError(ValueError):
    """A document (scenario, plan, catalogue) is invalid; ``issues`` lists every problem.

    The message has one issue per line.
    """

    def __init__(self, issues: Iterable[ValidationIssue]) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class ScenarioError(DocumentError):
    """A scenario document is invalid (wrong field, type, value or reference)."""


@dataclass(frozen=True)
class ParsedScenario:
    """A valid scenario and the warnings its validation found (doubtful but legal content)."""

    scenario: Scenario
    warnings: tuple[ValidationIssue, ...] = ()


# --------------------------------------------------------------------------------------------
# The field-checking toolkit


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value, ensure_ascii=False)})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""


class DocumentReader:
    """Checks fields of a decoded JSON document and collects errors and warnings.

    Every ``read_*`` method takes the value and its path, reports what is wrong and returns the
    converted value, or ``None`` when it reported an error. Nothing is raised here; callers
    raise once at the end with every issue (:class:`DocumentError`).
    """

    def __init__(self) -> None:
        self.errors: list[ValidationIssue] = []
        self.warnings: list[ValidationIssue] = []

    def error(self, path: str, message: str) -> None:
        """Record an error at ``path``."""
        self.errors.append(ValidationIssue(path, message))

    def warn(self, path: str, message: str) -> None:
        """Record a warning at ``path``."""
        self.warnings.append(ValidationIssue(path, message))

    # -- objects

    def read_object(
        self, value: Any, path: str, spec: Mapping[str, bool]
    ) -> Mapping[str, Any] | None:
        """The object if it is one; reports unknown fields (with a hint) and missing ones."""
        if not isinstance(value, Mapping):
            self.error(path, f"expected an object, got {_describe(value)}")
            return None
        for key in value:
            if key not in spec:
                self.error(_child(path, str(key)), f"unknown field{_hint(str(key), spec)}")
        for key, required in spec.items():
            if required and key not in value:
                self.error(_child(path, key), "missing required field")
        return value

    def field(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        read: Callable[..., Any],
        /,
        default: Any = _MISSING,
        **options: Any,
    ) -> Any:
        """``read(obj[key], path.key, **options)``; ``default`` when the field is absent or null.

        A required field (no ``default``) that is absent gives ``None``: :meth:`read_object`
        has reported it already.
        """
        if key not in obj or (obj[key] is None and default is not _MISSING):
            return None if default is _MISSING else default
        return read(obj[key], _child(path, key), **options)

    # -- scalars

    def read_text(self, value: Any, path: str, *, allow_empty: bool = False) -> str | None:
        """A string; empty (or blank) only with ``allow_empty``."""
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {_describe(value)}")
            return None
        if not allow_empty and not value.strip():
            self.error(path, "must not be empty")
            return None
        return value

    def read_int(
        self, value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """A whole number (JSON ``true`` is not one) within ``[minimum, maximum]``."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"expected a whole number, got {_describe(value)}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(path, f"must be {_range_text(minimum, maximum)}, got {value}")
            return None
        return value

    def read_number(
        self,
        value: Any,
        path: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        """A finite number within ``[minimum, maximum]``; ``positive`` demands > 0."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"expected a number, got {_describe(value)}")
            return None
        if not math.isfinite(value):
            self.error(path, f"must be a finite number, got {value!r}")
            return None
        if positive and value <= 0:
            self.error(path, f"must be greater than 0, got {value!r}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(path, f"must be {_range_text(minimum, maximum)}, got {value!r}")
            return None
        return float(value)

    def read_choice(self, value: Any, path: str, *, choices: Sequence[str]) -> str | None:
        """A string out of ``choices``."""
        text = self.read_text(value, path)
        if text is None:
            return None
        if text not in choices:
            self.error(
                path,
                f"unknown value {json.dumps(text, ensure_ascii=False)}{_hint(text, choices)}"
                f" (expected one of {', '.join(choices)})",
            )
            return None
        return text

    def read_time(self, value: Any, path: str) -> int | None:
        """Minutes from midnight of an ``"HH:MM"`` string in 00:00–23:59."""
        try:
            return parse_hhmm(value)
        except ValueError:
            self.error(
                path, f'expected a time "HH:MM" between 00:00 and 23:59, got {_describe(value)}'
            )
            return None

    def read_day(self, value: Any, path: str) -> str | None:
        """A day code ``"mon"`` … ``"sun"``."""
        return self.read_choice(value, path, choices=DAYS)

    def check_format(self, doc: Mapping[str, Any]) -> None:
        """Report a top-level ``format`` other than :data:`FORMAT_VERSION`."""
        fmt = self.field(doc, "", "format", self.read_int)
        if fmt is not None and fmt != FORMAT_VERSION:
            self.error(
                "format", f"unsupported format {fmt}; this version reads format {FORMAT_VERSION}"
            )

    # -- lists

    def read_list(self, value: Any, path: str, *, non_empty: bool = False) -> list[Any] | None:
        """A JSON list; ``non_empty`` demands at least one item."""
        if not isinstance(value, list | tuple):
            self.error(path, f"expected a list, got {_describe(value)}")
            return None
        if non_empty and not value:
            self.error(path, "must not be an empty list")
            return None
        return list(value)

    def read_texts(self, value: Any, path: str) -> tuple[str, ...] | None:
        """A list of non-empty strings (duplicates kept, in file order)."""
        items = self.read_list(value, path)
        if items is None:
            return None
        out = [self.read_text(v, _index(path, i)) for i, v in enumerate(items)]
        return None if any(v is None for v in out) else tuple(v for v in out if v is not None)

    def read_days(self, value: Any, path: str) -> tuple[str, ...] | None:
        """A non-empty list of distinct day codes, returned in week order."""
        items = self.read_list(value, path, non_empty=True)
        if items is None:
            return None
        seen: set[str] = set()
        ok = True
        for i, v in enumerate(items):
            day = self.read_day(v, _index(path, i))
            if day is None:
                ok = False
            elif day in seen:
                self.error(_index(path, i), f"duplicate day {day}")
                ok = False
            else:
                seen.add(day)
        return tuple(d for d in DAYS if d in seen) if ok else None

    def read_interval(
        self, value: Any, path: str, *, strict: bool = False
    ) -> tuple[int, int] | None:
        """A ``["HH:MM", "HH:MM"]`` pair as minutes; the end may not be before the start
        (nor equal to it when ``strict``)."""
        items = self.read_list(value, path)
        if items is None:
            return None
        if len(items) != 2:
            self.error(path, f'expected a pair ["HH:MM", "HH:MM"], got {len(items)} items')
            return None
        start = self.read_time(items[0], _index(path, 0))
        end = self.read_time(items[1], _index(path, 1))
        if start is None or end is None:
            return None
        if end < start:
            self.error(path, f"ends {items[1]} before it starts {items[0]}")
            return None
        if strict and end == start:
            self.error(path, f"ends when it starts ({items[0]})")
            return None
        return start, end

    def read_windows(self, value: Any, path: str) -> tuple[tuple[int, int], ...] | None:
        """A non-empty list of ``[from, to]`` pairs, sorted, overlapping ones merged."""
        items = self.read_list(value, path, non_empty=True)
        if items is None:
            return None
        pairs = [self.read_interval(v, _index(path, i)) for i, v in enumerate(items)]
        if any(p is None for p in pairs):
            return None
        return merge_windows(p for p in pairs if p is not None)


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    return f"at most {maximum}"


def merge_windows(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Windows sorted by start, overlapping or touching ones merged (same set of start times)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def max_visits_in_week(days: Iterable[str], min_gap_days: int) -> int:
    """How many visits fit on ``days`` (codes) when two visits are ``min_gap_days`` apart."""
    count, last = 0, None
    for i in sorted(DAYS.index(d) for d in set(days)):
        if last is None or i - last >= min_gap_days:
            count, last = count + 1, i
    return count


# --------------------------------------------------------------------------------------------
# JSON files


def load_json(path: str | Path, *, error: type[DocumentError] = DocumentError) -> Any:
    """The decoded JSON document at ``path`` (UTF-8, a byte-order mark tolerated).

    Raises ``error`` with the line and column of a syntax error, or when the file is not UTF-8;
    ``OSError`` when it cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error([ValidationIssue("", f"{path}: not UTF-8 text (byte {exc.start})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise error([ValidationIssue("", message)]) from None


def write_json(data: Any, path: str | Path) -> None:
    """Write ``data`` as UTF-8 JSON, Chinese kept readable, indented by 2, newline at the end."""
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


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
        return tuple(parse(v, _index(key, i)) for i, v in enumerate(items))

    def week_start(self, value: Any, path: str) -> str | None:
        text = self.r.read_text(value, path)
        if text is None:
            return None
        try:
            if not _ISO_DATE.match(text):
                raise ValueError(text)
            date = dt.date.fromisoformat(text)
        except ValueError:
            self.r.error(path, f"expected an ISO date YYYY-MM-DD, got {_describe(value)}")
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
        provider = r.field(obj, path, "provider", r.read_text, default="haversine")
        circuity = r.field(
            obj, path, "circuity", r.read_number, default=DEFAULT_CIRCUITY, positive=True
        )
        speeds = r.field(obj, path, "speed_kmh", self.speeds, default={})
        if len(r.errors) > before:
            return None
        return TravelSettings(
            provider=provider,
            circuity=circuity,
            speed_kmh=MappingProxyType({**DEFAULT_SPEED_KMH, **speeds}),
        )

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
        seen.append((ident, _child(path, "id")))
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
            self.refs.station_refs.append((station, _child(path, "station")))
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
                _child(path, "minutes"),
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
                r.error(_index(_child(path, "forbidden_caregivers"), i), f"{c} is also preferred")
        requests: list[ServiceRequest | None] = []
        items = r.field(obj, path, "requests", r.read_list, default=[])
        if items is not None:
            rpath = _child(path, "requests")
            requests = [self.request(v, _index(rpath, i)) for i, v in enumerate(items)]
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
            self.refs.caregiver_refs.extend((c, _index(path, i)) for i, c in enumerate(ids))
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
            self.refs.after_refs.append((after.request, _child(path, "after.request"), ident))
        if patterns is not None:
            self.check_patterns(patterns, _child(path, "patterns"), visits, gap, days)
        if service is not None and entry is None:
            given = "minutes" in obj and "windows" in obj
            for key in ("minutes", "windows"):
                if key not in obj:
                    r.error(
                        _child(path, key),
                        f"missing, and service {service} is not in the service catalogue "
                        "to supply a default",
                    )
            if given:
                r.warn(
                    _child(path, "service"),
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
                _child(path, "max_minutes"), f"must be at least min_minutes ({low}), got {high}"
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
            ppath = _index(path, i)
            days = r.read_list(item, ppath, non_empty=True)
            if days is None:
                ok = False
                continue
            seen: set[str] = set()
            for k, d in enumerate(days):
                dpath = _index(ppath, k)
                if not isinstance(d, str):
                    r.error(dpath, f"expected a day code, got {_describe(d)}")
                    ok = False
                elif d not in DAYS:
                    r.error(
                        dpath,
                        f"unknown day {json.dumps(d, ensure_ascii=False)}{_hint(d, DAYS)}"
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
            ppath = _index(path, i)
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
                    self.r.warn(_index(path, i), f"{d} is not a planned day of the scenario")
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
                self.r.error(path, f"unknown station {sid}{_hint(sid, station_ids)}")
        caregiver_ids = {c for c, _ in refs.caregivers}
        for cid, path in refs.caregiver_refs:
            if cid not in caregiver_ids:
                self.r.error(path, f"unknown caregiver {cid}{_hint(cid, caregiver_ids)}")
        request_ids = {q for q, _ in refs.requests}
        follows: dict[str, tuple[str, str]] = {}
        for rid, path, owner in refs.after_refs:
            if rid == owner:
                self.r.error(path, "a request cannot follow itself")
            elif rid not in request_ids:
                self.r.error(path, f"unknown request {rid}{_hint(rid, request_ids)}")
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
            r.warn(_index("caregivers", i) + ".shifts", "no shift on any planned day")
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
        # Imported here: the catalogue reader uses this module's toolkit.
        from dispatch.catalogue import default_catalogue

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
    return parse_scenario(load_json(path, error=ScenarioError), catalogue=catalogue)


# --------------------------------------------------------------------------------------------
# Scenario writing


def _interval(start: int, end: int) -> list[str]:
    return [format_hhmm(start), format_hhmm(end)]


def _station_dict(s: Station) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id}
    if s.name:
        out["name"] = s.name
    address = getattr(s, "address", "")
    if address:
        out["address"] = address
    out.update(lat=s.lat, lon=s.lon)
    return out


def _caregiver_dict(c: Caregiver) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id}
    if c.name:
        out["name"] = c.name
    out["station"] = c.station
    if c.gender is not None:
        out["gender"] = c.gender
    out["mode"] = c.mode
    out["skills"] = sorted(c.skills)
    out["shifts"] = {d: _interval(*c.shifts[d]) for d in DAYS if d in c.shifts}
    if c.rest is not None:
        out["break"] = {
            "window": _interval(c.rest.window_start, c.rest.window_end),
            "minutes": c.rest.minutes,
        }
    for key in ("max_minutes_per_week", "max_visits_per_day", "capacity"):
        if getattr(c, key) is not None:
            out[key] = getattr(c, key)
    return out


def _request_dict(q: ServiceRequest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": q.id,
        "service": q.service,
        "minutes": q.minutes,
        "visits_per_week": q.visits_per_week,
        "min_gap_days": q.min_gap_days,
    }
    if q.days is not None:
        out["days"] = list(q.days)
    out["windows"] = [_interval(a, b) for a, b in q.windows]
    out["staff"] = q.staff
    if q.skill is not None:
        out["skill"] = q.skill
    out["priority"] = q.priority
    if q.load:
        out["load"] = q.load
    if q.patterns is not None:
        out["patterns"] = [list(p) for p in q.patterns]
    if q.after is not None:
        out["after"] = {
            "request": q.after.request,
            "min_minutes": q.after.min_minutes,
            "max_minutes": q.after.max_minutes,
        }
    return out


def _household_dict(h: Household) -> dict[str, Any]:
    out: dict[str, Any] = {"id": h.id}
    for key in ("name", "address"):
        if getattr(h, key):
            out[key] = getattr(h, key)
    out.update(lat=h.lat, lon=h.lon)
    if h.tags:
        out["tags"] = list(h.tags)
    if h.assessment_level is not None:
        out["assessment_level"] = h.assessment_level
    if h.gender_preference is not None:
        out["gender_preference"] = h.gender_preference
    for key in ("preferred_caregivers", "forbidden_caregivers"):
        if getattr(h, key):
            out[key] = list(getattr(h, key))
    out["requests"] = [_request_dict(q) for q in h.requests]
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a format-1 JSON document (coordinates WGS-84, every default explicit)."""
    out: dict[str, Any] = {"format": FORMAT_VERSION, "name": scenario.name}
    if scenario.week_start is not None:
        out["week_start"] = scenario.week_start
    out["days"] = list(scenario.days)
    out["travel"] = {
        "provider": scenario.travel.provider,
        "circuity": scenario.travel.circuity,
        "speed_kmh": dict(scenario.travel.speed_kmh),
    }
    out["stations"] = [_station_dict(s) for s in scenario.stations]
    out["caregivers"] = [_caregiver_dict(c) for c in scenario.caregivers]
    out["households"] = [_household_dict(h) for h in scenario.households]
    return out


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write the scenario as format-1 JSON (UTF-8, readable Chinese, indent 2)."""
    write_json(scenario_to_dict(scenario), path)
