"""Geocoding: address normalisation, the cache (memory and SQLite), the geopy wrapper.

No network: geopy's geocoders are replaced by small fakes with the same ``geocode`` signature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from geopy.exc import GeocoderTimedOut

from dispatch.coords import wgs84_to_bd09
from dispatch.geocode import (
    CachingGeocoder,
    FakeGeocoder,
    GeocodingError,
    GeoPoint,
    GeopyGeocoder,
    normalize_address,
)

ADDRESS = "银川市兴庆区丽景街道3号楼"
POINT = GeoPoint(38.4901, 106.2288)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Small-distance approximation, good to a few mm at these scales."""
    dy = math.radians(b[0] - a[0]) * 6371008.8
    dx = math.radians(b[1] - a[1]) * 6371008.8 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # full-width digits and the ideographic space become ASCII
        ("银川市兴庆区丽景街道３号楼", ADDRESS),
        ("  银川市兴庆区\t丽景街道　3号楼\n", "银川市兴庆区 丽景街道 3号楼"),
        ("Ｂｌｏｃｋ  Ａ,   Room １０２", "Block A, Room 102"),
        ("丽景街道（东区）", "丽景街道(东区)"),
        ("   ", ""),
    ],
)
def test_normalize_address(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


# --- the cache in memory ---------------------------------------------------------------------


def test_repeated_address_reaches_inner_once() -> None:
    inner = FakeGeocoder({ADDRESS: POINT})
    cache = CachingGeocoder(inner)
    assert [cache.geocode(ADDRESS) for _ in range(3)] == [POINT, POINT, POINT]
    assert inner.calls == [ADDRESS]
    assert (cache.lookups, cache.hits) == (1, 2)


def test_spelling_variants_share_one_entry() -> None:
    inner = FakeGeocoder({ADDRESS: POINT})
    cache = CachingGeocoder(inner)
    assert cache.geocode(" 银川市兴庆区丽景街道３号楼  ") == POINT
    assert cache.geocode(ADDRESS) == POINT
    # The inner geocoder sees the normalised address.
    assert inner.calls == [ADDRESS]
    assert (cache.lookups, cache.hits) == (1, 1)


def test_misses_are_cached_too() -> None:
    inner = FakeGeocoder({})
    cache = CachingGeocoder(inner)
    assert cache.geocode("不存在的地址") is None
    assert cache.geocode("不存在的地址") is None
    assert inner.calls == ["不存在的地址"]
    assert (cache.lookups, cache.hits) == (1, 1)


def test_blank_address_is_not_looked_up() -> None:
    inner = FakeGeocoder({"": POINT})
    cache = CachingGeocoder(inner)
    assert cache.geocode(" \u3000 ") is None
    assert inner.calls == []


class FlakyGeocoder:
    """Fails on the first call, answers afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def geocode(self, address: str) -> GeoPoint | None:
        self.calls += 1
        if self.calls == 1:
            raise GeocodingError("service unavailable")
        return POINT


def test_failures_propagate_and_are_not_cached() -> None:
    inner = FlakyGeocoder()
    cache = CachingGeocoder(inner)
    with pytest.raises(GeocodingError):
        cache.geocode(ADDRESS)
    assert cache.geocode(ADDRESS) == POINT
    assert inner.calls == 2


# --- the cache on disk -----------------------------------------------------------------------


def test_answers_persist_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "geocode.sqlite3"
    first = CachingGeocoder(FakeGeocoder({ADDRESS: POINT}), path)
    assert first.geocode(ADDRESS) == POINT
    assert first.geocode("不存在的地址") is None
    assert path.exists()

    # A new instance (a restarted process) whose inner geocoder knows nothing and is never asked.
    inner = FakeGeocoder({"不存在的地址": GeoPoint(1.0, 2.0)})
    second = CachingGeocoder(inner, path)
    assert second.geocode("银川市兴庆区丽景街道３号楼") == POINT
    assert second.geocode("不存在的地址") is None
    assert inner.calls == []
    assert (second.lookups, second.hits) == (0, 2)


def test_coordinate_system_is_kept_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "geocode.sqlite3"
    gcj = GeoPoint(38.4889, 106.2350, "gcj02")
    CachingGeocoder(FakeGeocoder({ADDRESS: gcj}), path).geocode(ADDRESS)
    assert CachingGeocoder(FakeGeocoder({}), path).geocode(ADDRESS) == gcj


def test_namespaces_keep_services_apart(tmp_path: Path) -> None:
    path = tmp_path / "geocode.sqlite3"
    CachingGeocoder(FakeGeocoder({ADDRESS: POINT}), path, namespace="baidu").geocode(ADDRESS)
    other = FakeGeocoder({})
    assert CachingGeocoder(other, path, namespace="nominatim").geocode(ADDRESS) is None
    assert other.calls == [ADDRESS]


def test_forget_drops_memory_and_disk_entries(tmp_path: Path) -> None:
    path = tmp_path / "geocode.sqlite3"
    cache = CachingGeocoder(FakeGeocoder({}), path)
    assert cache.geocode(ADDRESS) is None
    cache.forget(" " + ADDRESS)
    fixed = FakeGeocoder({ADDRESS: POINT})
    assert CachingGeocoder(fixed, path).geocode(ADDRESS) == POINT
    assert fixed.calls == [ADDRESS]
    cache.inner = fixed
    assert cache.geocode(ADDRESS) == POINT


# --- the geopy wrapper -----------------------------------------------------------------------


@dataclass
class Location:
    latitude: float
    longitude: float


class FakeGeopy:
    """Stands in for a geopy geocoder: same ``geocode`` keywords, answers from a dict."""

    def __init__(self, answers: dict[str, tuple[float, float]], error: Exception | None = None):
        self.answers = answers
        self.error = error
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def geocode(self, query: str, **kwargs: Any) -> Location | None:
        self.requests.append((query, kwargs))
        if self.error is not None:
            raise self.error
        hit = self.answers.get(query)
        return None if hit is None else Location(*hit)


def test_baidu_answers_are_converted_from_bd09_to_wgs84() -> None:
    wgs = (38.4901, 106.2288)
    bd = wgs84_to_bd09(*wgs)
    # BD-09 lies several hundred metres from the true point around Yinchuan.
    assert 300 < metres(wgs, bd) < 1500
    backend = FakeGeopy({ADDRESS: bd})
    point = GeopyGeocoder(backend, coord_system="bd09", timeout=5.0).geocode(ADDRESS)
    assert point is not None
    assert point.coord_system == "wgs84"
    assert metres(wgs, (point.lat, point.lon)) < 0.01
    assert backend.requests == [(ADDRESS, {"exactly_one": True, "timeout": 5.0})]


def test_wgs84_answers_pass_through() -> None:
    backend = FakeGeopy({ADDRESS: (38.4901, 106.2288)})
    assert GeopyGeocoder(backend).geocode(ADDRESS) == GeoPoint(38.4901, 106.2288, "wgs84")


def test_not_found_is_none() -> None:
    assert GeopyGeocoder(FakeGeopy({}), coord_system="bd09").geocode(ADDRESS) is None


def test_service_errors_become_geocoding_errors() -> None:
    backend = FakeGeopy({}, error=GeocoderTimedOut("took too long"))
    with pytest.raises(GeocodingError, match="took too long"):
        GeopyGeocoder(backend).geocode(ADDRESS)


def test_unknown_coordinate_system_is_rejected() -> None:
    with pytest.raises(ValueError, match="utm"):
        GeopyGeocoder(FakeGeopy({}), coord_system="utm")


def test_min_interval_spaces_requests() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    geocoder = GeopyGeocoder(FakeGeopy({}), min_interval=1.0, clock=lambda: now[0], sleep=sleep)
    geocoder.geocode("a")
    now[0] += 0.25
    geocoder.geocode("b")
    now[0] += 5.0
    geocoder.geocode("c")
    assert slept == [0.75]


def test_cache_in_front_of_geopy_wrapper() -> None:
    backend = FakeGeopy({ADDRESS: wgs84_to_bd09(38.4901, 106.2288)})
    cache = CachingGeocoder(GeopyGeocoder(backend, coord_system="bd09"))
    first = cache.geocode(ADDRESS)
    assert cache.geocode(ADDRESS + " ") == first
    assert len(backend.requests) == 1


def test_factories_build_geopy_geocoders_without_network() -> None:
    nominatim = GeopyGeocoder.nominatim(user_agent="dispatch-tests", timeout=3.0)
    assert type(nominatim.backend).__name__ == "Nominatim"
    assert nominatim.coord_system == "wgs84"
    assert nominatim.min_interval == 1.0
    baidu = GeopyGeocoder.baidu("test-ak", timeout=3.0)
    assert type(baidu.backend).__name__ == "BaiduV3"
    assert baidu.coord_system == "bd09"
