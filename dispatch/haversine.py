"""The contract's default travel model, written out in plain ``math`` for checking plans.

    minutes(a, b) = ceil(60 * circuity * haversine_km(a, b) / speed_kmh[mode])

This is deliberately a second, scalar implementation beside the vectorised one in
:mod:`dispatch.travel`: the checker and the KPIs must not share code with what the solver is
fed, so that a mistake in one shows up as a disagreement with the other. Places are named by
keys ``"station:<id>"`` and ``"household:<id>"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from dispatch.model import DEFAULT_SPEED_KMH, Scenario

__all__ = [
    "EARTH_RADIUS_KM",
    "TravelFn",
    "contract_travel",
    "haversine_km",
    "household_key",
    "scenario_travel",
    "station_key",
]

#: The earth's mean radius used by the contract (km).
EARTH_RADIUS_KM = 6371.0088
#: Whole travel minutes from one place key to another for a travel mode.
TravelFn = Callable[[str, str, str], int]


def station_key(station_id: str) -> str:
    """The place key of a station (``"station:S1"``)."""
    return f"station:{station_id}"


def household_key(household_id: str) -> str:
    """The place key of a household (``"household:H1"``)."""
    return f"household:{household_id}"


def haversine_km(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees."""
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    dphi = phi_b - phi_a
    dlmb = math.radians(lon_b) - math.radians(lon_a)
    h = math.sin(dphi * 0.5) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(dlmb * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def scenario_travel(scenario: Scenario) -> TravelFn:
    """The default travel model of ``scenario`` as a function ``(from_key, to_key, mode)``.

    Uses the scenario's ``travel.circuity`` and ``travel.speed_kmh`` (over the contract's
    default speeds). A scenario carrying a resolved travel table (another provider,
    :mod:`dispatch.travel_tables`) gets that table's minutes instead: the numbers it was
    planned with. The returned function raises ``KeyError`` for an unknown place key and
    ``ValueError`` for an unknown mode.
    """
    table = scenario.travel.table
    if table is not None:
        from dispatch.travel_tables import scenario_modes, scenario_places

        return table.travel_fn(scenario_places(scenario), scenario_modes(scenario))
    if scenario.travel.provider != "haversine":
        raise ValueError(
            f"travel.provider: {scenario.travel.provider!r}: the scenario's travel times are "
            "not resolved (dispatch.travel_tables.resolve_travel)"
        )
    return contract_travel(scenario)


def contract_travel(scenario: Scenario) -> TravelFn:
    """The contract's straight-line model for ``scenario``'s places, whatever its provider
    (what a plan made with road times is also reported against)."""
    places: dict[str, tuple[float, float]] = {}
    for s in scenario.stations:
        places[station_key(s.id)] = (s.lat, s.lon)
    for h in scenario.households:
        places[household_key(h.id)] = (h.lat, h.lon)
    speeds = dict(DEFAULT_SPEED_KMH)
    speeds.update(scenario.travel.speed_kmh)
    circuity = float(scenario.travel.circuity)

    def minutes(from_key: str, to_key: str, mode: str) -> int:
        if mode not in speeds:
            raise ValueError(f"unknown travel mode {mode!r}; known: {sorted(speeds)}")
        a, b = places[from_key], places[to_key]
        if from_key == to_key:
            return 0
        km = haversine_km(a[0], a[1], b[0], b[1])
        # The contract's formula, operations in its order.
        return math.ceil(60.0 * circuity * km / speeds[mode])

    return minutes
