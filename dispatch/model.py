"""Domain values of a scenario and a plan (contract format version 1).

Everything here is an immutable value in internal units: times of day are integer minutes
from midnight, durations whole minutes, coordinates WGS-84 decimal degrees. Parsing and
printing of the public JSON format live in :mod:`dispatch.scenario_io` and
:mod:`dispatch.plan_io`; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "DAYS",
    "DEFAULT_CIRCUITY",
    "DEFAULT_SPEED_KMH",
    "MODES",
    "PROVIDERS",
    "After",
    "Break",
    "Caregiver",
    "Household",
    "Plan",
    "Route",
    "RouteBreak",
    "Scenario",
    "ServiceRequest",
    "Station",
    "Stop",
    "TableRef",
    "TravelRecord",
    "TravelSettings",
    "Unassigned",
    "rest_applies",
]

#: Days of the planning week, in order (contract: ``"mon"`` … ``"sun"``).
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Travel modes of caregivers (步行 walk, 电动车 e-bike, 汽车 car).
MODES: tuple[str, ...] = ("walk", "ebike", "car")
DEFAULT_CIRCUITY = 1.3
DEFAULT_SPEED_KMH: Mapping[str, float] = MappingProxyType({"walk": 4.5, "ebike": 15.0, "car": 25.0})


def _frozen_map(values: Mapping[str, float] | None = None) -> Mapping[str, float]:
    return MappingProxyType(dict(DEFAULT_SPEED_KMH if values is None else values))


#: Travel providers a scenario may name (``travel.provider``): the contract's straight-line
#: model, a stored matrix file, an OSRM or Valhalla server, Valhalla embedded (pyvalhalla).
PROVIDERS: tuple[str, ...] = ("haversine", "matrix", "osrm", "valhalla", "valhalla_local")


@dataclass(frozen=True)
class TravelSettings:
    """The scenario's ``travel`` object: provider name, haversine model parameters and (an
    extension) where another provider's travel times come from.

    ``table`` is not part of the file: it holds the travel times resolved for the scenario's
    places (:func:`dispatch.travel_tables.resolve_travel`), shared by every planner and the
    checker; ``base_dir`` is the folder of the scenario file, against which a relative
    ``matrix`` or ``config`` path is read.
    """

    provider: str = "haversine"
    circuity: float = DEFAULT_CIRCUITY
    speed_kmh: Mapping[str, float] = field(default_factory=_frozen_map)
    #: ``matrix``: the stored matrix file.
    matrix: str | None = None
    #: ``osrm`` / ``valhalla``: the server's base URL, or one URL per travel mode.
    url: str | Mapping[str, str] | None = None
    #: ``osrm`` profile or Valhalla costing per travel mode (over the provider's defaults).
    profiles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Largest table one server request may ask for (OSRM coordinates, Valhalla locations).
    max_table_size: int | None = None
    #: Seconds a server request may take.
    timeout: float | None = None
    #: ``valhalla_local``: the Valhalla configuration file (its tiles are the user's).
    config: str | None = None
    #: The road data's name or date: a new one asks the server again instead of the cache.
    dataset: str | None = None
    base_dir: str | None = field(default=None, compare=False)
    # A dispatch.travel_tables.TravelTable (not named here: the model imports nothing).
    table: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TableRef:
    """A stored travel table a plan was made with: its content fingerprint and its file."""

    fingerprint: str
    path: str


@dataclass(frozen=True)
class TravelRecord:
    """(extension) Which travel times a plan was made with, when not the contract's default
    model: the provider and the tables (one per station group planned on its own)."""

    provider: str
    tables: tuple[TableRef, ...] = ()


@dataclass(frozen=True)
class Station:
    """A service station (居家养老服务站), the depot routes start from and return to."""

    id: str
    lat: float
    lon: float
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class Break:
    """A caregiver's daily rest: ``minutes`` long, starting and ending inside the window."""

    window_start: int
    window_end: int
    minutes: int


@dataclass(frozen=True)
class Caregiver:
    """A caregiver (护理员) with skills, gender, travel mode and weekly shifts.

    ``shifts`` maps a day code to ``(start, end)`` in minutes; a missing day is a day off.
    ``capacity`` (extension) is how many load units (e.g. meal boxes) fit on the vehicle;
    ``None`` means unlimited.
    """

    id: str
    station: str
    name: str = ""
    gender: str | None = None
    mode: str = "ebike"
    skills: frozenset[str] = frozenset()
    shifts: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))
    rest: Break | None = None
    max_minutes_per_week: int | None = None
    max_visits_per_day: int | None = None
    capacity: int | None = None


def rest_applies(caregiver: Caregiver, day: str) -> Break | None:
    """The caregiver's rest on ``day`` when it applies there, else ``None``.

    The contract requires the rest on days whose shift covers the whole rest window; on other
    days (a half-day shift, a day off) there is none. The one home of this rule.
    """
    shift = caregiver.shifts.get(day)
    rest = caregiver.rest
    if rest is None or shift is None:
        return None
    if shift[0] <= rest.window_start and rest.window_end <= shift[1]:
        return rest
    return None


@dataclass(frozen=True)
class After:
    """A linked visit (extension, 关联服务): start ``min_minutes``–``max_minutes`` after another.

    On every day the request is visited, its visit starts between ``min_minutes`` and
    ``max_minutes`` (inclusive) after the start of ``request``'s visit on the same day, e.g. a
    nurse's dressing 30 to 90 minutes after a bath.
    """

    request: str
    min_minutes: int
    max_minutes: int


@dataclass(frozen=True)
class ServiceRequest:
    """A standing service need (服务需求) of a household.

    ``windows`` are ``(from, to)`` minute pairs; a visit must *start* inside one of them.
    ``days`` is ``None`` when the request may be served on every planned day.
    ``load`` (extension) is how many capacity units one visit uses (meal boxes).
    ``patterns`` (extension) are fixed day sets, each of ``visits_per_week`` days inside the
    allowed days: the visits fall on exactly one of them (``None``: any spaced set of days).
    ``staff`` is 1, or 2 for a visit two caregivers start together (双人服务, e.g. 助浴·卧床).
    ``after`` (extension) links each visit to another request's visit of the same day.
    """

    id: str
    service: str
    minutes: int
    windows: tuple[tuple[int, int], ...]
    visits_per_week: int = 1
    min_gap_days: int = 1
    days: tuple[str, ...] | None = None
    staff: int = 1
    skill: str | None = None
    priority: int = 50
    load: int = 0
    patterns: tuple[tuple[str, ...], ...] | None = None
    after: After | None = None

    @property
    def required_skill(self) -> str:
        """The skill every caregiver on a visit must have (default: the service code)."""
        return self.skill if self.skill is not None else self.service


@dataclass(frozen=True)
class Household:
    """A household (家庭/服务对象): one address, one or more elders, standing requests."""

    id: str
    lat: float
    lon: float
    requests: tuple[ServiceRequest, ...] = ()
    name: str = ""
    address: str = ""
    tags: tuple[str, ...] = ()
    assessment_level: int | None = None
    gender_preference: str | None = None
    preferred_caregivers: tuple[str, ...] = ()
    forbidden_caregivers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A whole planning problem: the week, the travel model, stations, caregivers, households."""

    name: str
    days: tuple[str, ...]
    stations: tuple[Station, ...]
    caregivers: tuple[Caregiver, ...]
    households: tuple[Household, ...]
    week_start: str | None = None
    travel: TravelSettings = field(default_factory=TravelSettings)
    format: int = 1

    def station(self, station_id: str) -> Station:
        """The station with this id; raises ``KeyError`` when there is none."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(station_id)

    def caregiver(self, caregiver_id: str) -> Caregiver:
        """The caregiver with this id; raises ``KeyError`` when there is none."""
        for c in self.caregivers:
            if c.id == caregiver_id:
                return c
        raise KeyError(caregiver_id)

    def household(self, household_id: str) -> Household:
        """The household with this id; raises ``KeyError`` when there is none."""
        for h in self.households:
            if h.id == household_id:
                return h
        raise KeyError(household_id)

    def requests(self) -> list[tuple[Household, ServiceRequest]]:
        """Every request with its household, in file order."""
        return [(h, r) for h in self.households for r in h.requests]


@dataclass(frozen=True)
class Stop:
    """One visit in a route. ``arrival`` ≤ ``start``; ``end`` = ``start`` + minutes."""

    request: str
    household: str
    arrival: int
    start: int
    end: int


@dataclass(frozen=True)
class RouteBreak:
    """When a caregiver actually rests on a route's day."""

    start: int
    end: int


@dataclass(frozen=True)
class Route:
    """One caregiver's ordered visits on one day, from and back to the station (路线).

    ``date`` (extension) is the route's ISO date ``"YYYY-MM-DD"`` in a plan of several weeks,
    its weekday ``day``; ``None`` in a one-week plan, whose days are the scenario's week.
    """

    caregiver: str
    day: str
    leave: int
    back: int
    stops: tuple[Stop, ...] = ()
    rest: RouteBreak | None = None
    date: str | None = None


@dataclass(frozen=True)
class Unassigned:
    """Visits of a request that are required but not planned, with a reason code."""

    request: str
    household: str
    missing_visits: int
    reason: str
    detail: str = ""
    #: (extension) in a plan of several weeks, the ISO date of the Monday of the week the
    #: visits are missing from; ``None`` in a one-week plan.
    week: str | None = None


@dataclass(frozen=True)
class Plan:
    """All routes of a horizon plus what could not be placed and why (排班计划)."""

    scenario: str
    routes: tuple[Route, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    kpis: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    format: int = 1
    #: (extension) consecutive ISO weeks the plan covers from the scenario's ``week_start``;
    #: routes of a plan of several weeks carry their ``date``.
    weeks: int = 1
    #: (extension) the travel times the plan was made with; ``None``: the contract's model.
    travel: TravelRecord | None = None
