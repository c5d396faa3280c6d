"""Geocoding: address normalisation, the cache (memory and SQLite), the geopy wrapper, Amap,
the flag rule, the answers file, the configured geocoder and geocoding many addresses.

No network: geopy's geocoders are replaced by small fakes with the same ``geocode`` signature,
Amap's HTTP call by a function.
"""

from __future__ import annotations

import json
import math
import sqlite3
import urllib.error
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.exc import GeocoderTimedOut

from dispatch.coords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from dispatch.geocode import (
    AMAP_URL,
    AmapGeocoder,
    CachingGeocoder,
    FakeGeocoder,
    GeocodingError,
    GeoPoint,
    GeopyGeocoder,
    Lookup,
    Place,
    baidu_quality,
    distinct_places,
    file_geocoder,
    flags_of,
    geocoder_from_config,
    load_answers,
    locate_all,
    nominatim_quality,
    normalize_address,
    places_to_geocode,
    with_points,
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


# --- answers with confidence, level and candidates --------------------------------------------


@dataclass
class RawLocation:
    """A geopy ``Location`` with the service's raw answer."""

    latitude: float
    longitude: float
    raw: dict[str, Any]


class RawGeopy:
    """Answers every query with ``answer`` (a location, a list of them or ``None``)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    def geocode(self, query: str, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        return self.answer


def test_baidu_raw_answer_gives_confidence_and_level_in_wgs84() -> None:
    bd = (38.49612, 106.23531)
    raw = {"location": {"lng": bd[1], "lat": bd[0]}, "precise": 1, "confidence": 80,
           "comprehension": 95, "level": "门址"}  # fmt: skip
    geocoder = GeopyGeocoder(
        RawGeopy(RawLocation(*bd, raw)), coord_system="bd09", quality=baidu_quality
    )
    point = geocoder.geocode(ADDRESS)
    assert point is not None
    expected = bd09_to_wgs84(*bd)
    assert (point.lat, point.lon) == pytest.approx(expected, abs=1e-9)
    assert metres(expected, bd) > 300  # the conversion moved the point
    assert (point.coord_system, point.confidence, point.level, point.candidates) == (
        "wgs84", 80, "门址", 1
    )  # fmt: skip
    assert flags_of(point) == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"confidence": 80, "comprehension": 30, "level": "道路"}, (30, "道路")),
        ({"confidence": 20, "comprehension": 100}, (20, "")),
        ({"confidence": 0, "comprehension": 90, "level": "区县"}, (0, "区县")),
        ({"level": "门址"}, (None, "门址")),
        ({"confidence": "75", "comprehension": None}, (75, "")),
    ],
)
def test_baidu_quality_is_the_lower_score(raw: dict[str, Any], expected: tuple[Any, str]) -> None:
    assert baidu_quality(raw) == expected


def test_nominatim_asks_for_two_answers_and_counts_places_far_apart() -> None:
    near = [
        RawLocation(38.4901, 106.2288, {"addresstype": "building", "importance": 0.00001}),
        RawLocation(38.4911, 106.2290, {"addresstype": "building"}),  # ~110 m away
    ]
    far = [near[0], RawLocation(38.5201, 106.2288, {"addresstype": "building"})]  # ~3.3 km
    backend = RawGeopy(near)
    geocoder = GeopyGeocoder(backend, results=2, quality=nominatim_quality)
    one = geocoder.geocode(ADDRESS)
    assert one == GeoPoint(38.4901, 106.2288, "wgs84", None, "building", 1)
    assert backend.requests == [{"exactly_one": False, "limit": 2, "timeout": 10.0}]
    backend.answer = far
    two = geocoder.geocode(ADDRESS)
    assert two is not None and two.candidates == 2
    assert [f.code for f in flags_of(two)] == ["ambiguous"]
    backend.answer = []
    assert geocoder.geocode(ADDRESS) is None


def test_nominatim_level_falls_back_to_type() -> None:
    assert nominatim_quality({"type": "residential"}) == (None, "residential")
    assert nominatim_quality({"addresstype": "city", "importance": 0.6}) == (None, "city")


def test_nominatim_factory_asks_for_two_answers() -> None:
    geocoder = GeopyGeocoder.nominatim(user_agent="dispatch-tests")
    assert geocoder.results == 2
    assert geocoder.quality is nominatim_quality
    assert GeopyGeocoder.baidu("test-ak").quality is baidu_quality


def test_distinct_places_uses_the_500_m_rule() -> None:
    base = (38.4901, 106.2288)
    assert distinct_places([]) == 0
    assert distinct_places([base, (38.4941, 106.2288)]) == 1  # ~445 m
    assert distinct_places([base, (38.4951, 106.2288)]) == 2  # ~556 m
    assert distinct_places([base, (38.4951, 106.2288), (38.4952, 106.2288)]) == 2


# --- the flag rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "codes"),
    [
        (GeoPoint(38.49, 106.22, confidence=80, level="门址"), []),
        (GeoPoint(38.49, 106.22, confidence=60, level="地产小区"), []),
        (GeoPoint(38.49, 106.22, confidence=59, level="门址"), ["low_confidence"]),
        (GeoPoint(38.49, 106.22, confidence=90, level="区县"), ["coarse_level"]),
        (GeoPoint(38.49, 106.22, level="道路"), ["coarse_level"]),
        (GeoPoint(38.49, 106.22, level="City"), ["coarse_level"]),
        (GeoPoint(38.49, 106.22, level="building", candidates=3), ["ambiguous"]),
        (
            GeoPoint(38.49, 106.22, confidence=30, level="城市", candidates=2),
            ["low_confidence", "coarse_level", "ambiguous"],
        ),
        (GeoPoint(38.49, 106.22), []),
    ],
)
def test_flags_of(point: GeoPoint, codes: list[str]) -> None:
    assert [f.code for f in flags_of(point)] == codes


def test_flag_messages_say_why_in_both_languages() -> None:
    point = GeoPoint(38.49, 106.22, confidence=40, level="区县", candidates=2)
    low, coarse, ambiguous = (f.message for f in flags_of(point))
    assert "可信度 40" in low and "confidence 40 below 60" in low
    assert "区县" in coarse and "not a door" in coarse
    assert "2 个" in ambiguous and "2 candidate places" in ambiguous
    assert [f.code for f in flags_of(point, min_confidence=30)] == ["coarse_level", "ambiguous"]


# --- the cache keeps confidence, level and candidates -----------------------------------------


def test_cache_keeps_confidence_level_and_candidates_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "geocode.sqlite3"
    vague = GeoPoint(38.47, 106.25, "wgs84", 35, "区县", 2)
    CachingGeocoder(FakeGeocoder({ADDRESS: vague}), path).geocode(ADDRESS)
    again = CachingGeocoder(FakeGeocoder({}), path).geocode(ADDRESS)
    assert again == vague
    assert [f.code for f in flags_of(again)] == ["low_confidence", "coarse_level", "ambiguous"]


def test_a_cache_file_of_the_first_schema_is_opened_and_asked_again(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(
            "CREATE TABLE geocode_cache (namespace TEXT NOT NULL, address TEXT NOT NULL, "
            "lat REAL, lon REAL, coord_system TEXT, created_at TEXT NOT NULL DEFAULT "
            "(datetime('now')), PRIMARY KEY (namespace, address))"
        )
        con.execute(
            "INSERT INTO geocode_cache (namespace, address, lat, lon, coord_system) "
            "VALUES ('', ?, 1.0, 2.0, 'wgs84')",
            (ADDRESS,),
        )
    inner = FakeGeocoder({ADDRESS: GeoPoint(38.49, 106.22, level="区县")})
    cache = CachingGeocoder(inner, path)
    # The old answer has no level to judge it by: the service is asked once more.
    assert cache.geocode(ADDRESS) == GeoPoint(38.49, 106.22, level="区县")
    assert inner.calls == [ADDRESS]
    assert CachingGeocoder(FakeGeocoder({}), path).geocode(ADDRESS) == inner.mapping[ADDRESS]


# --- Amap (高德) -------------------------------------------------------------------------------


class AmapServer:
    """Stands in for Amap's HTTP endpoint: answers ``body`` and records the URLs asked."""

    def __init__(self, body: Any = None, error: Exception | None = None) -> None:
        self.body = body
        self.error = error
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        if self.error is not None:
            raise self.error
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def amap_answer(*points: tuple[float, float], level: str = "门牌号") -> dict[str, Any]:
    """An Amap answer for GCJ-02 ``points`` (lat, lon): ``location`` is ``"lon,lat"``."""
    return {
        "status": "1", "info": "OK", "infocode": "10000", "count": str(len(points)),
        "geocodes": [{"formatted_address": ADDRESS, "location": f"{lon:.6f},{lat:.6f}",
                      "level": level} for lat, lon in points],
    }  # fmt: skip


def test_amap_answers_are_converted_from_gcj02_to_wgs84() -> None:
    wgs = (38.4901, 106.2288)
    gcj = wgs84_to_gcj02(*wgs)
    assert metres(wgs, gcj) > 300
    server = AmapServer(amap_answer(gcj))
    point = AmapGeocoder("secret-key", fetch=server, min_interval=0).geocode(ADDRESS)
    assert point is not None
    expected = gcj02_to_wgs84(float(f"{gcj[0]:.6f}"), float(f"{gcj[1]:.6f}"))
    assert (point.lat, point.lon) == pytest.approx(expected, abs=1e-9)
    assert metres(wgs, (point.lat, point.lon)) < 0.2  # six decimals: ~0.1 m
    assert (point.coord_system, point.level, point.candidates) == ("wgs84", "门牌号", 1)
    query = parse_qs(urlsplit(server.urls[0]).query)
    assert server.urls[0].startswith(AMAP_URL)
    assert query == {"key": ["secret-key"], "address": [ADDRESS], "output": ["JSON"]}


def test_amap_two_places_far_apart_are_ambiguous_and_coarse_levels_flagged() -> None:
    server = AmapServer(amap_answer((38.49, 106.23), (38.60, 106.23), level="区县"))
    point = AmapGeocoder("k", fetch=server, min_interval=0).geocode(ADDRESS)
    assert point is not None and point.candidates == 2
    assert [f.code for f in flags_of(point)] == ["coarse_level", "ambiguous"]


def test_amap_without_answers_is_not_found() -> None:
    empty = {"status": "1", "info": "OK", "count": "0", "geocodes": []}
    assert AmapGeocoder("k", fetch=AmapServer(empty), min_interval=0).geocode(ADDRESS) is None


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (AmapServer({"status": "0", "info": "INVALID_USER_KEY"}), "INVALID_USER_KEY"),
        (AmapServer(b"<html>busy</html>"), "not a JSON answer"),
        (AmapServer(error=urllib.error.URLError("timed out")), "timed out"),
        (AmapServer(error=TimeoutError("read timed out")), "read timed out"),
    ],
)
def test_amap_failures_are_geocoding_errors_without_the_key(
    server: AmapServer, message: str
) -> None:
    with pytest.raises(GeocodingError, match=message) as raised:
        AmapGeocoder("secret-key", fetch=server, min_interval=0).geocode(ADDRESS)
    assert "secret-key" not in str(raised.value)


def test_amap_requests_are_spaced() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    geocoder = AmapGeocoder(
        "k", fetch=AmapServer(amap_answer((38.49, 106.23))), clock=lambda: now[0], sleep=sleep
    )
    geocoder.geocode("a")
    geocoder.geocode("b")
    assert slept == [pytest.approx(0.34)]


# --- the answers file and the configured geocoder ---------------------------------------------


def write_answers(path: Path, answers: dict[str, Any]) -> Path:
    path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    return path


def test_answers_file_is_read_normalised_and_converted(tmp_path: Path) -> None:
    bd = wgs84_to_bd09(38.4901, 106.2288)
    path = write_answers(
        tmp_path / "answers.json",
        {
            "银川市兴庆区丽景街道３号楼": {"lat": bd[0], "lon": bd[1], "coord_system": "bd09",
                                        "confidence": 85, "level": "门址"},
            "银川市兴庆区": {"lat": 38.47, "lon": 106.25, "level": "区县", "candidates": 2},
        },
    )  # fmt: skip
    geocoder = file_geocoder(path)
    point = geocoder.geocode(ADDRESS)
    assert point is not None
    assert (point.lat, point.lon) == pytest.approx(bd09_to_wgs84(*bd), abs=1e-9)
    assert (point.coord_system, point.confidence, point.level) == ("wgs84", 85, "门址")
    assert geocoder.geocode("银川市兴庆区") == GeoPoint(38.47, 106.25, "wgs84", None, "区县", 2)
    assert geocoder.geocode("别处") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"lon": 106.2}, "'甲': lat: expected a number"),
        ({"lat": 91, "lon": 106.2}, "lat: expected a number from -90 to 90"),
        ({"lat": 38.4, "lon": 106.2, "coord_system": "utm"}, "coord_system"),
        ({"lat": 38.4, "lon": 106.2, "confidence": 101}, "confidence"),
        ({"lat": 38.4, "lon": 106.2, "candidates": 0}, "candidates"),
        ({"lat": 38.4, "lon": 106.2, "level": 3}, "level"),
        ({"lat": 38.4, "lon": 106.2, "colour": "red"}, "unknown field 'colour'"),
        ([38.4, 106.2], "expected an object"),
    ],
)
def test_wrong_answers_files_name_the_address_and_field(
    tmp_path: Path, entry: Any, message: str
) -> None:
    path = write_answers(tmp_path / "answers.json", {"甲": entry})
    with pytest.raises(ValueError, match=message) as raised:
        load_answers(path)
    assert str(path) in str(raised.value)


def test_geocoder_from_config_builds_each_service(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite3"
    baidu = geocoder_from_config("baidu", "ak", cache)
    assert isinstance(baidu.inner, GeopyGeocoder) and baidu.inner.coord_system == "bd09"
    assert (baidu.namespace, baidu.cache_path) == ("baidu", cache)
    nominatim = geocoder_from_config("Nominatim")
    assert isinstance(nominatim.inner, GeopyGeocoder) and nominatim.inner.min_interval == 1.0
    assert nominatim.cache_path is None
    amap = geocoder_from_config("amap", "web-key", cache)
    assert isinstance(amap.inner, AmapGeocoder) and amap.inner.key == "web-key"


@pytest.mark.parametrize(
    ("name", "key", "message"),
    [
        ("google", None, "unknown geocoder 'google'"),
        ("baidu", None, "baidu needs an API key"),
        ("amap", "", "amap needs an API key"),
        ("file:", None, "needs a path"),
    ],
)
def test_geocoder_from_config_refuses_what_it_cannot_build(
    name: str, key: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        geocoder_from_config(name, key)


def test_file_geocoder_answers_are_cached_by_the_file_content(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    cache = tmp_path / "cache.sqlite3"
    write_answers(answers, {ADDRESS: {"lat": 38.49, "lon": 106.22}})
    first = geocoder_from_config(f"file:{answers}", None, cache)
    assert first.geocode(ADDRESS) == GeoPoint(38.49, 106.22)
    second = geocoder_from_config(f"file:{answers}", None, cache)
    assert second.geocode(ADDRESS) == GeoPoint(38.49, 106.22)
    assert (second.lookups, second.hits) == (0, 1)
    write_answers(answers, {ADDRESS: {"lat": 38.50, "lon": 106.23}})  # the file is edited
    third = geocoder_from_config(f"file:{answers}", None, cache)
    assert third.geocode(ADDRESS) == GeoPoint(38.50, 106.23)
    assert third.namespace != first.namespace


# --- many addresses and scenario documents ----------------------------------------------------


class DownAfter:
    """Answers ``POINT`` for the first ``good`` calls, then fails."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.calls: list[str] = []

    def geocode(self, address: str) -> GeoPoint | None:
        self.calls.append(address)
        if len(self.calls) > self.good:
            raise GeocodingError("HTTP Error 503: Service Unavailable")
        return POINT


def test_locate_all_asks_each_address_once_and_stops_at_a_failure() -> None:
    inner = DownAfter(good=1)
    lookups = locate_all(inner, ["甲", " 甲", "乙", "丙", "甲"])
    assert inner.calls == ["甲", "乙"]
    assert [lk.point for lk in lookups] == [POINT, POINT, None, None, POINT]
    assert [lk.address for lk in lookups] == ["甲", " 甲", "乙", "丙", "甲"]
    assert "503" in lookups[2].failure
    assert "failed on an earlier address" in lookups[3].failure


def test_locate_all_converts_to_wgs84_and_flags() -> None:
    gcj = GeoPoint(*wgs84_to_gcj02(38.4901, 106.2288), "gcj02", 40, "道路")
    [lookup] = locate_all(FakeGeocoder({ADDRESS: gcj}), [ADDRESS])
    assert lookup.point is not None and lookup.point.coord_system == "wgs84"
    assert metres((38.4901, 106.2288), (lookup.point.lat, lookup.point.lon)) < 0.01
    assert [f.code for f in lookup.flags] == ["low_confidence", "coarse_level"]
    text = lookup.explain()
    assert "38.490100, 106.228800" in text and "confidence 40, level 道路, 1 candidate" in text
    [missing] = locate_all(FakeGeocoder({}), ["无此地"])
    assert missing.explain() == "'无此地': 未找到该地址 / address not found"


def test_places_to_geocode_and_with_points() -> None:
    document: dict[str, Any] = {
        "stations": [{"id": "S1", "address": "站址"}, {"id": "S2", "lat": 1.0, "lon": 2.0}],
        "households": [
            {"id": "H1", "address": "甲", "lat": 38.0, "lon": 106.0},
            {"id": "H2", "address": "乙"},
            {"id": "H3", "address": "  "},
            {"id": "H4", "address": "丙", "lat": 38.0},
        ],
    }
    places = places_to_geocode(document)
    assert places == [Place("stations[0]", "S1", "站址"), Place("households[1]", "H2", "乙")]
    lookups = [
        Lookup("站址", GeoPoint(38.1, 106.1)),
        Lookup("乙", GeoPoint(38.2, 106.2, level="区县"), flags_of(GeoPoint(0, 0, level="区县"))),
    ]
    kept = with_points(document, places, lookups)
    assert kept["stations"][0] == {"id": "S1", "address": "站址", "lat": 38.1, "lon": 106.1,
                                   "coord_system": "wgs84"}  # fmt: skip
    assert "lat" not in kept["households"][1]
    assert "lat" not in document["stations"][0]  # the input is not changed
    accepted = with_points(document, places, lookups, accept_flagged=True)
    assert (accepted["households"][1]["lat"], accepted["households"][1]["lon"]) == (38.2, 106.2)


@pytest.mark.parametrize(
    ("document", "message"),
    [([], "not a JSON object"), ({"households": {}}, "households: expected a list"),
     ({"stations": ["S1"]}, r"stations\[0\]: expected an object")],
)  # fmt: skip
def test_places_to_geocode_refuses_a_wrong_shape(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        places_to_geocode(document)
