"""The 15-minute circle on a hand-made line of places.

Everything lies on the equator with circuity 1. By e-bike one degree of longitude is 100
minutes, by car 50. Station S1 (e-bike) is at longitude 0, S2 (car) at 1.0:

    household  lon    from S1 (ebike)   from S2 (car)        nearest
    H1         0.052   5.2 →  6          47.4 → 48           S1  6  inside
    H2         0.143  14.3 → 15          42.85 → 43          S1 15  inside
    H3         0.161  16.1 → 17          41.95 → 42          S1 17  outside
    H4         0.907  90.7 → 91           4.65 →  5          S2  5  inside
    H5         0.493  49.3 → 50          25.35 → 26          S2 26  outside
"""

from __future__ import annotations

import math
from pathlib import Path
from types import MappingProxyType

import pytest

from dispatch.kpis import households_outside
from dispatch.model import Caregiver, Household, Scenario, ServiceRequest, Station, TravelSettings
from dispatch.programmes.circle import circle_geojson, circle_report, nearest_stations
from dispatch.scenario_io import load_scenario
from dispatch.travel import EARTH_RADIUS_KM

SPEED = 0.6 * math.pi / 180 * EARTH_RADIUS_KM  # km/h: 1 degree of longitude = 100 minutes
DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "district.json"
SHIFTS = MappingProxyType({"mon": (480, 1020), "tue": (480, 1020)})


def household(hid: str, lon: float, level: int | None = None) -> Household:
    request = ServiceRequest(f"R{hid}", "cleaning", 30, ((480, 1020),), visits_per_week=1)
    return Household(hid, 0.0, lon, (request,), name=f"老人{hid}", assessment_level=level)


def line_scenario() -> Scenario:
    """The line of the module's docstring."""
    return Scenario(
        name="line",
        days=("mon", "tue"),
        stations=(Station("S1", 0.0, 0.0, name="一站"), Station("S2", 0.0, 1.0, name="二站")),
        caregivers=(
            Caregiver("C1", "S1", mode="ebike", shifts=SHIFTS),
            Caregiver("C2", "S2", mode="car", shifts=SHIFTS),
        ),
        households=(
            household("H1", 0.052, 0),
            household("H2", 0.143, 1),
            household("H3", 0.161, 4),
            household("H4", 0.907, 2),
            household("H5", 0.493, 3),
        ),
        travel=TravelSettings(
            circuity=1.0, speed_kmh=MappingProxyType({"ebike": SPEED, "car": 2 * SPEED})
        ),
    )


def test_minutes_and_nearest_station_by_each_stations_mode() -> None:
    assert nearest_stations(line_scenario()) == [
        (6, "S1"),
        (15, "S1"),
        (17, "S1"),
        (5, "S2"),
        (26, "S2"),
    ]


def test_outside_list_with_minutes_and_station() -> None:
    report = circle_report(line_scenario())
    assert [(r.household, r.minutes, r.station) for r in report.outside] == [
        ("H3", 17, "S1"),
        ("H5", 26, "S2"),
    ]
    wider = circle_report(line_scenario(), limit=17)
    assert [r.household for r in wider.outside] == ["H5"]


def test_coverage_per_station_street_and_district() -> None:
    report = circle_report(line_scenario(), streets={"S1": "东街道", "S2": "东街道"}, district="区")
    assert [(c.area, c.households, c.inside) for c in report.stations] == [
        ("S1", 3, 2),
        ("S2", 2, 1),
    ]
    assert [(c.area, c.households, c.inside, c.share) for c in report.streets] == [
        ("东街道", 5, 3, 0.6)
    ]
    assert (report.district.area, report.district.share) == ("区", 0.6)
    own = circle_report(line_scenario())
    assert [c.area for c in own.streets] == ["S1", "S2"]
    assert own.district.area == "line"


def test_no_station_leaves_everyone_outside() -> None:
    bare = Scenario("bare", ("mon",), (), (), line_scenario().households)
    report = circle_report(bare)
    assert len(report.outside) == 5
    assert report.stations == () and report.streets == ()
    assert all(r.minutes is None and r.station is None for r in report.reaches)
    assert households_outside(bare) == [r.household for r in report.outside]


def test_negative_limit_is_named() -> None:
    with pytest.raises(ValueError, match="limit"):
        circle_report(line_scenario(), limit=-1)


def test_geojson_is_lon_lat_points() -> None:
    scenario = line_scenario()
    doc = circle_geojson(scenario, circle_report(scenario))
    assert doc["type"] == "FeatureCollection"
    stations = [f for f in doc["features"] if f["properties"]["kind"] == "station"]
    homes = [f for f in doc["features"] if f["properties"]["kind"] == "household"]
    assert [f["geometry"] for f in stations] == [
        {"type": "Point", "coordinates": [0.0, 0.0]},
        {"type": "Point", "coordinates": [1.0, 0.0]},
    ]
    h5 = homes[4]
    assert h5["geometry"]["coordinates"] == [0.493, 0.0]
    assert h5["properties"] == {
        "kind": "household",
        "id": "H5",
        "name": "老人H5",
        "minutes": 26,
        "station": "S2",
        "inside": False,
    }


@pytest.mark.parametrize("limit", [5, 15, 26])
def test_same_households_as_the_kpis(limit: int) -> None:
    scenario = line_scenario()
    expected = households_outside(scenario, limit=limit)
    assert [r.household for r in circle_report(scenario, limit=limit).outside] == expected


@pytest.mark.parametrize("limit", [10, 15, 20])
def test_same_households_as_the_kpis_on_the_demo_district(limit: int) -> None:
    scenario = load_scenario(DEMO).scenario
    report = circle_report(scenario, limit=limit)
    assert [r.household for r in report.outside] == households_outside(scenario, limit=limit)
