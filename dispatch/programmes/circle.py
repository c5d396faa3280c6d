"""The 15-minute elderly-care circle (15分钟养老服务圈): who lives too far from every station.

Each household's minutes are those from its nearest station, by that station's travel mode
(:func:`dispatch.kpis.station_modes`: the most common mode of its caregivers), with the
scenario's travel provider (:func:`dispatch.travel.provider_for`): one matrix per mode, over the
stations of that mode and every household, never pair by pair. A household is inside when it
is at most ``limit`` minutes away; ties between stations go to the one listed first.

Coverage is counted per station (the households whose nearest station it is), per street (the
stations' streets, given as a mapping; a station is its own street by default) and over the
district. :func:`dispatch.kpis.households_outside` answers the same question with the
contract's scalar haversine model (the KPIs must not share code with what planners are fed);
both give the same households, which ``tests/dispatch/test_circle.py`` holds them to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.kpis import CIRCLE_MINUTES, station_modes
from dispatch.model import Scenario, Station
from dispatch.travel import Place, TravelProvider, provider_for
from dispatch.travel_tables import resolve_travel

__all__ = [
    "CircleReport",
    "Coverage",
    "Reach",
    "circle_geojson",
    "circle_report",
    "nearest_stations",
]


@dataclass(frozen=True)
class Reach:
    """One household's way to the circle: ``minutes`` from its nearest ``station`` (both
    ``None`` when the scenario has no station), and whether that is within the limit."""

    household: str
    name: str
    lat: float
    lon: float
    minutes: int | None
    station: str | None
    inside: bool


@dataclass(frozen=True)
class Coverage:
    """Households of an area (a station, a street or the district) and how many are inside;
    ``share`` is ``inside / households`` (1.0 for an area without households)."""

    area: str
    households: int
    inside: int

    @property
    def share(self) -> float:
        """The share of the area's households inside the circle, in 0..1."""
        return self.inside / self.households if self.households else 1.0


@dataclass(frozen=True)
class CircleReport:
    """Every household's reach, and coverage per station, per street and for the district."""

    limit: int
    reaches: tuple[Reach, ...]
    stations: tuple[Coverage, ...]
    streets: tuple[Coverage, ...]
    district: Coverage

    @property
    def outside(self) -> tuple[Reach, ...]:
        """The households more than ``limit`` minutes from every station, in scenario order."""
        return tuple(r for r in self.reaches if not r.inside)


def nearest_stations(
    scenario: Scenario,
    *,
    stations: Sequence[Station] | None = None,
    modes: Mapping[str, str] | None = None,
    travel: TravelProvider | None = None,
) -> list[tuple[int, str] | None]:
    """For each household of ``scenario`` in order, ``(minutes, station id)`` of its nearest
    station, or ``None`` when there is no station.

    ``stations`` default to the scenario's, ``modes`` (station id → travel mode) to
    :func:`dispatch.kpis.station_modes`, ``travel`` to the scenario's provider. Minutes run
    from the station to the home. Raises ``ValueError`` for an unknown mode or a provider the
    scenario cannot build.
    """
    scenario = resolve_travel(scenario)
    sites = tuple(scenario.stations if stations is None else stations)
    by_mode = station_modes(scenario) if modes is None else modes
    provider = travel if travel is not None else provider_for(scenario)
    homes = [Place(f"household:{h.id}", h.lat, h.lon) for h in scenario.households]
    groups: dict[str, list[Station]] = defaultdict(list)
    for s in sites:
        groups[by_mode.get(s.id, "ebike")].append(s)
    order = {s.id: k for k, s in enumerate(sites)}
    best: list[tuple[int, str] | None] = [None] * len(homes)
    for mode, group in groups.items():
        places = [Place(f"station:{s.id}", s.lat, s.lon) for s in group] + homes
        minutes = provider.matrix(places, mode)[: len(group), len(group) :]
        rows = np.argmin(minutes, axis=0) if homes else np.empty(0, dtype=np.int64)
        for j, i in enumerate(rows.tolist()):
            found = (int(minutes[i, j]), group[i].id)
            now = best[j]
            if now is None or (found[0], order[found[1]]) < (now[0], order[now[1]]):
                best[j] = found
    return best


def _coverage(area_of: Sequence[tuple[str, bool]], order: Sequence[str]) -> tuple[Coverage, ...]:
    """Coverage per area from ``(area, inside)`` pairs, areas in ``order`` then first seen."""
    counts: dict[str, list[int]] = {a: [0, 0] for a in order}
    for area, inside in area_of:
        c = counts.setdefault(area, [0, 0])
        c[0] += 1
        c[1] += int(inside)
    return tuple(Coverage(a, n, k) for a, (n, k) in counts.items())


def circle_report(
    scenario: Scenario,
    *,
    limit: int = CIRCLE_MINUTES,
    streets: Mapping[str, str] | None = None,
    district: str | None = None,
    travel: TravelProvider | None = None,
) -> CircleReport:
    """Who is inside the ``limit``-minute circle, and the coverage per station, street and
    district (``district`` names it, by default the scenario's name).

    ``streets`` maps a station id to its street (街道); a station missing from it is its own
    street. A household belongs to its nearest station and to that station's street; with no
    station at all every household is outside and belongs to no station or street. Raises
    ``ValueError`` for a negative ``limit``.
    """
    scenario = resolve_travel(scenario)
    if limit < 0:
        raise ValueError(f"limit must be at least 0 minutes, got {limit}")
    nearest = nearest_stations(scenario, travel=travel)
    reaches = tuple(
        Reach(
            h.id,
            h.name,
            h.lat,
            h.lon,
            None if near is None else near[0],
            None if near is None else near[1],
            near is not None and near[0] <= limit,
        )
        for h, near in zip(scenario.households, nearest, strict=True)
    )
    street = dict(streets or {})
    station_ids = [s.id for s in scenario.stations]
    placed = [(r.station, r.inside) for r in reaches if r.station is not None]
    per_station = _coverage(placed, station_ids)
    street_order = list(dict.fromkeys(street.get(s, s) for s in station_ids))
    per_street = _coverage([(street.get(s, s), inside) for s, inside in placed], street_order)
    whole = Coverage(
        district if district is not None else scenario.name,
        len(reaches),
        sum(1 for r in reaches if r.inside),
    )
    return CircleReport(limit, reaches, per_station, per_street, whole)


def circle_geojson(scenario: Scenario, report: CircleReport) -> dict[str, Any]:
    """``report`` as a GeoJSON FeatureCollection (RFC 7946: coordinates ``[lon, lat]``, WGS-84).

    Households are Points with properties ``kind`` ("household"), ``id``, ``name``,
    ``minutes``, ``station`` (the nearest) and ``inside``; stations are Points with ``kind``
    "station", ``id`` and ``name``. The collection's ``limit`` member carries the minutes.
    """
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {"kind": "station", "id": s.id, "name": s.name},
        }
        for s in scenario.stations
    ]
    features += [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
            "properties": {
                "kind": "household",
                "id": r.household,
                "name": r.name,
                "minutes": r.minutes,
                "station": r.station,
                "inside": r.inside,
            },
        }
        for r in report.reaches
    ]
    return {"type": "FeatureCollection", "limit": report.limit, "features": features}
