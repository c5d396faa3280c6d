"""Addresses to coordinates (地址解析), behind a small interface with a cache in front.

- :class:`Geocoder` is the interface: ``geocode(address) -> GeoPoint | None`` (``None``: the
  service knows no such place). Service failures raise :class:`GeocodingError` instead, so they
  are never mistaken for (or cached as) "not found". A :class:`GeoPoint` carries how sure the
  service is: ``confidence`` (0–100), ``level`` (门址, 道路, 区县, ``building``, ``city`` …)
  and ``candidates`` (distinct places that matched).
- :func:`flags_of` is the one rule that says an answer needs a person's look (low confidence,
  a level coarser than a door, several places far apart).
- :class:`GeopyGeocoder` wraps a geopy geocoder: Baidu v3 (answers in BD-09, converted here to
  WGS-84) or Nominatim/OpenStreetMap (WGS-84). :class:`AmapGeocoder` asks Amap (高德, GCJ-02,
  converted here to WGS-84) over plain HTTP.
- :class:`CachingGeocoder` normalises addresses and remembers hits and misses, in memory and
  optionally in a SQLite file, so a repeated address never reaches the network.
- :class:`FakeGeocoder` answers from a mapping, for tests; :func:`file_geocoder` builds one
  from a JSON file, for offline demos.
- :func:`geocoder_from_config` builds the configured one; :func:`locate_all` geocodes a list of
  addresses into :class:`Lookup` answers that importers report row by row.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import sqlite3
import threading
import time
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from geopy.exc import GeopyError

from dispatch.coords import COORD_SYSTEMS, to_wgs84
from dispatch.haversine import haversine_km

__all__ = [
    "AMAP_URL",
    "AMBIGUOUS_METRES",
    "COARSE_LEVELS",
    "DEFAULT_USER_AGENT",
    "GEOCODERS",
    "GEOCODER_HOWTO",
    "MIN_CONFIDENCE",
    "AmapGeocoder",
    "CachingGeocoder",
    "FakeGeocoder",
    "Fetch",
    "Flag",
    "FlagCode",
    "GeoPoint",
    "Geocoder",
    "GeocodingError",
    "GeopyBackend",
    "GeopyGeocoder",
    "Lookup",
    "Place",
    "Quality",
    "baidu_quality",
    "distinct_places",
    "file_geocoder",
    "flags_of",
    "geocoder_from_config",
    "in_wgs84",
    "load_answers",
    "locate_all",
    "nominatim_quality",
    "normalize_address",
    "places_to_geocode",
    "with_points",
]

DEFAULT_USER_AGENT = "eldercare-dispatch/0.1 (community home-care scheduling)"
_BLANKS = re.compile(r"\s+")

#: The services :func:`geocoder_from_config` knows, besides ``file:PATH``.
GEOCODERS: tuple[str, ...] = ("baidu", "nominatim", "amap")
#: How to switch geocoding on, for messages that find it off.
GEOCODER_HOWTO = (
    "DISPATCH_GEOCODER=baidu|nominatim|amap|file:PATH "
    "(baidu and amap also need DISPATCH_GEOCODER_KEY)"
)
#: An answer whose confidence (0–100) is below this is flagged. On Baidu's scale 60 means the
#: point is within about 500 m.
MIN_CONFIDENCE = 60
#: Two answers farther apart than this (metres) are different places: the address is ambiguous.
AMBIGUOUS_METRES = 500.0
#: Levels of answers that stand for an area or a road rather than a door (a centroid), as Baidu
#: (v3 ``level``), Amap (``level``) and Nominatim (``addresstype``) name them; compared
#: case-insensitively.
COARSE_LEVELS: frozenset[str] = frozenset(
    {
        # Baidu
        "国家", "省", "城市", "区县", "乡镇", "村庄", "道路", "商圈", "unknown",
        # Amap
        "市", "开发区", "热点商圈", "未知",
        # OpenStreetMap / Nominatim
        "continent", "country", "state", "region", "province", "county", "municipality",
        "city", "town", "village", "hamlet", "district", "city_district", "borough",
        "suburb", "quarter", "neighbourhood", "road", "postcode",
    }
)  # fmt: skip


@dataclass(frozen=True)
class GeoPoint:
    """A geocoded point in decimal degrees; ``coord_system`` is ``wgs84``, ``gcj02`` or ``bd09``.

    ``confidence`` is the service's own 0–100 score (``None``: it gives none), ``level`` what
    the point stands for in the service's words (``门址`` a door, ``区县`` a district's centre),
    ``candidates`` how many distinct places matched the address.
    """

    lat: float
    lon: float
    coord_system: str = "wgs84"
    confidence: int | None = None
    level: str = ""
    candidates: int = 1


class Geocoder(Protocol):
    """Turns an address into a point, or ``None`` when the address is not found."""

    def geocode(self, address: str) -> GeoPoint | None:
        """The point of ``address``; raises :class:`GeocodingError` when the service fails."""
        ...


class GeocodingError(RuntimeError):
    """The geocoding service could not answer (network, quota, key, timeout)."""


def normalize_address(address: str) -> str:
    """The cache key of an address: full-width characters to half-width (NFKC), blanks
    collapsed to one space, ends stripped. ``"  丽景街道　３号楼 "`` → ``"丽景街道 3号楼"``."""
    return _BLANKS.sub(" ", unicodedata.normalize("NFKC", address)).strip()


def in_wgs84(point: GeoPoint) -> GeoPoint:
    """``point`` converted to WGS-84, its confidence, level and candidates kept."""
    if point.coord_system == "wgs84":
        return point
    lat, lon = to_wgs84(point.lat, point.lon, point.coord_system)
    return replace(point, lat=lat, lon=lon, coord_system="wgs84")


def distinct_places(
    points: Sequence[tuple[float, float]], *, apart_m: float = AMBIGUOUS_METRES
) -> int:
    """How many of ``points`` (lat, lon) are distinct places: a point counts when it lies more
    than ``apart_m`` metres from every point counted before it."""
    counted: list[tuple[float, float]] = []
    for point in points:
        if all(haversine_km(*point, *seen) * 1000.0 > apart_m for seen in counted):
            counted.append(point)
    return len(counted)


# --- the rule: which answers a person should look at ----------------------------------------


#: Why an answer is flagged: too little confidence, a level coarser than a door, several places.
FlagCode = Literal["low_confidence", "coarse_level", "ambiguous"]


@dataclass(frozen=True)
class Flag:
    """Why an answer needs a person's look; ``message`` says it in Chinese and English."""

    code: FlagCode
    message: str


def flags_of(point: GeoPoint, *, min_confidence: int = MIN_CONFIDENCE) -> tuple[Flag, ...]:
    """Why ``point`` should not be used unchecked; empty when it can be.

    Flagged: a ``confidence`` below ``min_confidence``, a ``level`` in :data:`COARSE_LEVELS`
    (the centre of a district, a town or a road), more than one of ``candidates``.
    """
    flags = []
    if point.confidence is not None and point.confidence < min_confidence:
        flags.append(
            Flag(
                "low_confidence",
                f"可信度 {point.confidence} 低于 {min_confidence} / "
                f"confidence {point.confidence} below {min_confidence}",
            )
        )
    if point.level.casefold() in COARSE_LEVELS:
        flags.append(
            Flag(
                "coarse_level",
                f"只定位到「{point.level}」/ located only to the level {point.level!r}, "
                "an area or a road, not a door",
            )
        )
    if point.candidates > 1:
        flags.append(
            Flag(
                "ambiguous",
                f"有 {point.candidates} 个相距超过 {AMBIGUOUS_METRES:.0f} 米的候选地点 / "
                f"{point.candidates} candidate places more than {AMBIGUOUS_METRES:.0f} m apart",
            )
        )
    return tuple(flags)


# --- services ---------------------------------------------------------------------------------


class _Throttle:
    """Lets one call through at a time, at least ``min_interval`` seconds after the last."""

    def __init__(
        self, min_interval: float, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.min_interval = float(min_interval)
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Waits for this call's turn; the call's end starts the next interval."""
        with self._lock:
            if self.min_interval > 0 and self._last is not None:
                wait = self._last + self.min_interval - self._clock()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last = self._clock()


class GeopyBackend(Protocol):
    """What :class:`GeopyGeocoder` needs of a geopy geocoder object."""

    def geocode(
        self, query: str, *, exactly_one: bool = ..., timeout: Any = ..., **options: Any
    ) -> Any:
        """A geopy ``Location`` (``latitude``, ``longitude``, ``raw``), a list of them (with
        ``exactly_one=False``; Nominatim also takes ``limit``), or ``None``."""
        ...


#: Reads (confidence, level) from the raw answer of a service.
Quality = Callable[[Mapping[str, Any]], tuple[int | None, str]]


def _no_quality(raw: Mapping[str, Any]) -> tuple[int | None, str]:
    return None, ""


def _score(value: Any) -> int | None:
    """A 0–100 score from a raw answer's field, ``None`` when it holds none."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else max(0, min(100, round(number)))


def baidu_quality(raw: Mapping[str, Any]) -> tuple[int | None, str]:
    """Baidu v3: the lower of ``confidence`` (how precise the point is) and ``comprehension``
    (how much of the address was understood), and ``level`` (门址, 道路, 区县 …)."""
    scores = [_score(raw.get(key)) for key in ("confidence", "comprehension")]
    known = [s for s in scores if s is not None]
    return (min(known) if known else None), str(raw.get("level") or "")


def nominatim_quality(raw: Mapping[str, Any]) -> tuple[int | None, str]:
    """Nominatim: no confidence (its ``importance`` measures how well known a place is, not how
    well it matches, and is lowest for single houses); ``addresstype`` (else ``type``) as the
    level (``building``, ``road``, ``city`` …)."""
    return None, str(raw.get("addresstype") or raw.get("type") or "")


class GeopyGeocoder:
    """A geopy geocoder behind :class:`Geocoder`; always answers in WGS-84.

    ``backend`` is any object with geopy's ``geocode(query, exactly_one=True, timeout=...)``;
    ``coord_system`` is the system its answers are in (Baidu: ``"bd09"``). ``min_interval`` is
    the least number of seconds between two requests (Nominatim's usage policy asks for 1).
    ``results`` above 1 asks for that many answers (``exactly_one=False, limit=results``) to
    count the distinct places; ``quality`` reads confidence and level from an answer's ``raw``.
    Use :meth:`baidu` or :meth:`nominatim` to build the usual ones.
    """

    def __init__(
        self,
        backend: GeopyBackend,
        *,
        coord_system: str = "wgs84",
        timeout: float | None = 10.0,
        min_interval: float = 0.0,
        results: int = 1,
        quality: Quality = _no_quality,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if coord_system not in COORD_SYSTEMS:
            raise ValueError(f"unknown coordinate system {coord_system!r}")
        self.backend = backend
        self.coord_system = coord_system
        self.timeout = timeout
        self.results = max(1, int(results))
        self.quality = quality
        self._throttle = _Throttle(min_interval, clock, sleep)

    @property
    def min_interval(self) -> float:
        """The least number of seconds between two requests."""
        return self._throttle.min_interval

    @classmethod
    def baidu(
        cls,
        api_key: str,
        *,
        security_key: str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 10.0,
    ) -> GeopyGeocoder:
        """Baidu Maps geocoding v3 (百度地图), good for Chinese addresses; needs an API key (AK)."""
        from geopy.geocoders import BaiduV3

        backend = BaiduV3(
            api_key, security_key=security_key, user_agent=user_agent, timeout=timeout
        )
        return cls(backend, coord_system="bd09", timeout=timeout, quality=baidu_quality)

    @classmethod
    def nominatim(
        cls,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 10.0,
        domain: str = "nominatim.openstreetmap.org",
        min_interval: float = 1.0,
    ) -> GeopyGeocoder:
        """OpenStreetMap's Nominatim (WGS-84); the public server allows one request a second.
        Asks for two answers, so that an address matching two places far apart is flagged."""
        from geopy.geocoders import Nominatim

        backend = Nominatim(user_agent=user_agent, timeout=timeout, domain=domain)
        return cls(
            backend,
            coord_system="wgs84",
            timeout=timeout,
            min_interval=min_interval,
            results=2,
            quality=nominatim_quality,
        )

    def geocode(self, address: str) -> GeoPoint | None:
        """WGS-84 point of ``address`` or ``None``; raises :class:`GeocodingError` on failure."""
        with self._throttle.turn():
            try:
                if self.results > 1:
                    answer = self.backend.geocode(
                        address, exactly_one=False, limit=self.results, timeout=self.timeout
                    )
                else:
                    answer = self.backend.geocode(address, exactly_one=True, timeout=self.timeout)
            except GeopyError as exc:
                raise GeocodingError(f"geocoding {address!r} failed: {exc}") from exc
        locations = [a for a in (answer if isinstance(answer, list) else [answer]) if a]
        if not locations:
            return None
        points = [self._wgs84(float(loc.latitude), float(loc.longitude)) for loc in locations]
        raw = getattr(locations[0], "raw", None)
        confidence, level = self.quality(raw if isinstance(raw, Mapping) else {})
        return GeoPoint(*points[0], "wgs84", confidence, level, candidates=distinct_places(points))

    def _wgs84(self, lat: float, lon: float) -> tuple[float, float]:
        return (lat, lon) if self.coord_system == "wgs84" else to_wgs84(lat, lon, self.coord_system)


#: Amap's (高德) geocoding endpoint (REST v3).
AMAP_URL = "https://restapi.amap.com/v3/geocode/geo"
#: Fetches a URL within a timeout (seconds) and returns the body; raises ``OSError`` on failure.
Fetch = Callable[[str, float], bytes]


def _urlopen(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
    return body


class AmapGeocoder:
    """Amap's (高德地图) REST geocoder; answers in GCJ-02, converted here to WGS-84.

    ``key`` is the web service key; ``fetch`` does the HTTP GET (default: :mod:`urllib`;
    tests pass a function). Amap gives no confidence; ``level`` is its own (门牌号, 道路,
    区县 …) and answers more than :data:`AMBIGUOUS_METRES` apart count as candidates.
    ``min_interval`` spaces requests (the default keeps under three a second).
    """

    def __init__(
        self,
        key: str,
        *,
        fetch: Fetch = _urlopen,
        url: str = AMAP_URL,
        timeout: float = 10.0,
        min_interval: float = 0.34,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.fetch = fetch
        self.url = url
        self.timeout = timeout
        self._throttle = _Throttle(min_interval, clock, sleep)

    def geocode(self, address: str) -> GeoPoint | None:
        """WGS-84 point of ``address`` or ``None``; raises :class:`GeocodingError` on failure
        (network, a refused key, a spent quota), naming no key."""
        query = urllib.parse.urlencode({"key": self.key, "address": address, "output": "JSON"})
        with self._throttle.turn():
            try:
                body = self.fetch(f"{self.url}?{query}", self.timeout)
            except (OSError, ValueError) as exc:
                raise GeocodingError(f"geocoding {address!r} failed: {exc}") from exc
        return self._answer(address, body)

    @staticmethod
    def _answer(address: str, body: bytes) -> GeoPoint | None:
        try:
            page = json.loads(body)
        except ValueError:
            raise GeocodingError(f"geocoding {address!r} failed: not a JSON answer") from None
        if not isinstance(page, dict) or str(page.get("status")) != "1":
            info = page.get("info", "no status") if isinstance(page, dict) else "no status"
            raise GeocodingError(f"geocoding {address!r} failed: amap says {info}")
        points = []
        for item in page.get("geocodes") or []:
            lon_text, _, lat_text = str(item.get("location", "")).partition(",")
            try:
                points.append(to_wgs84(float(lat_text), float(lon_text), "gcj02"))
            except ValueError:
                continue  # an answer without a location ([] in Amap's JSON)
        if not points:
            return None
        level = page["geocodes"][0].get("level")
        return GeoPoint(
            *points[0],
            "wgs84",
            None,
            level if isinstance(level, str) else "",
            distinct_places(points),
        )


# --- the cache --------------------------------------------------------------------------------

# Answers with their confidence, level and candidates. A cache file of the first version has
# only the table ``geocode_cache``, without them; it is left alone (those answers are asked
# again once, so that each can be judged).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode_answers (
    namespace    TEXT NOT NULL,
    address      TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    coord_system TEXT,
    confidence   INTEGER,
    level        TEXT,
    candidates   INTEGER,
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (namespace, address)
)
"""


class CachingGeocoder:
    """Remembers the answers of ``inner`` (points and "not found") by normalised address.

    With ``cache_path`` the answers also go to a SQLite file and survive restarts; its folder is
    created when missing. ``namespace`` keeps the answers of different services apart in one
    file. ``hits`` counts answers served from the cache, ``lookups`` calls that reached
    ``inner``. Failures of ``inner`` (:class:`GeocodingError`) propagate and are not cached.
    """

    def __init__(
        self, inner: Geocoder, cache_path: str | Path | None = None, *, namespace: str = ""
    ) -> None:
        self.inner = inner
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.namespace = namespace
        self.hits = 0
        self.lookups = 0
        self._memory: dict[str, GeoPoint | None] = {}
        self._lock = threading.Lock()
        if self.cache_path is not None:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con, con:
                con.execute(_SCHEMA)

    def geocode(self, address: str) -> GeoPoint | None:
        """The point of ``address``, from the cache when it was asked before.

        An address that is blank after normalisation is ``None`` without a lookup.
        """
        key = normalize_address(address)
        if not key:
            return None
        with self._lock:
            if key in self._memory:
                self.hits += 1
                return self._memory[key]
            found, point = self._load(key)
            if found:
                self.hits += 1
                self._memory[key] = point
                return point
            self.lookups += 1
            point = self.inner.geocode(key)
            self._memory[key] = point
            self._store(key, point)
            return point

    def forget(self, address: str) -> None:
        """Drops the cached answer of ``address`` (e.g. a miss before the address was fixed)."""
        key = normalize_address(address)
        with self._lock:
            self._memory.pop(key, None)
            if self.cache_path is not None:
                with self._connect() as con, con:
                    con.execute(
                        "DELETE FROM geocode_answers WHERE namespace = ? AND address = ?",
                        (self.namespace, key),
                    )

    def _connect(self) -> closing[sqlite3.Connection]:
        assert self.cache_path is not None
        return closing(sqlite3.connect(self.cache_path, timeout=10.0))

    def _load(self, key: str) -> tuple[bool, GeoPoint | None]:
        if self.cache_path is None:
            return False, None
        with self._connect() as con:
            row = con.execute(
                "SELECT lat, lon, coord_system, confidence, level, candidates "
                "FROM geocode_answers WHERE namespace = ? AND address = ?",
                (self.namespace, key),
            ).fetchone()
        if row is None:
            return False, None
        lat, lon, system, confidence, level, candidates = row
        if lat is None or lon is None:
            return True, None
        return True, GeoPoint(
            float(lat),
            float(lon),
            str(system),
            None if confidence is None else int(confidence),
            str(level or ""),
            int(candidates or 1),
        )

    def _store(self, key: str, point: GeoPoint | None) -> None:
        if self.cache_path is None:
            return
        values = (
            (None,) * 6
            if point is None
            else (
                point.lat,
                point.lon,
                point.coord_system,
                point.confidence,
                point.level,
                point.candidates,
            )
        )
        with self._connect() as con, con:
            con.execute(
                "INSERT OR REPLACE INTO geocode_answers (namespace, address, lat, lon, "
                "coord_system, confidence, level, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.namespace, key, *values),
            )


# --- fakes: tests and offline demos ----------------------------------------------------------


class FakeGeocoder:
    """Answers from ``mapping`` (exact address → point; anything else is not found) and records
    every address it was asked in ``calls``."""

    def __init__(self, mapping: Mapping[str, GeoPoint]) -> None:
        self.mapping = dict(mapping)
        self.calls: list[str] = []

    def geocode(self, address: str) -> GeoPoint | None:
        """The mapped point of ``address`` or ``None``."""
        self.calls.append(address)
        return self.mapping.get(address)


def _answer_of(address: str, entry: Any) -> GeoPoint:
    """One entry of an answers file; raises ``ValueError`` naming the address and field."""
    if not isinstance(entry, dict):
        raise ValueError(f"{address!r}: expected an object with lat and lon")
    unknown = set(entry) - {"lat", "lon", "coord_system", "confidence", "level", "candidates"}
    if unknown:
        raise ValueError(f"{address!r}: unknown field {sorted(unknown)[0]!r}")
    values: dict[str, Any] = {}
    for name, low, high in (("lat", -90, 90), ("lon", -180, 180), ("confidence", 0, 100)):
        value = entry.get(name)
        if value is None and name == "confidence":
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ValueError(f"{address!r}: {name}: expected a number from {low} to {high}")
        values[name] = int(value) if name == "confidence" else float(value)
    system = entry.get("coord_system", "wgs84")
    if system not in COORD_SYSTEMS:
        raise ValueError(f"{address!r}: coord_system: expected one of {', '.join(COORD_SYSTEMS)}")
    level = entry.get("level", "")
    if not isinstance(level, str):
        raise ValueError(f"{address!r}: level: expected text")
    candidates = entry.get("candidates", 1)
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise ValueError(f"{address!r}: candidates: expected a whole number from 1")
    point = GeoPoint(
        values["lat"], values["lon"], system, values.get("confidence"), level, candidates
    )
    return in_wgs84(point)


def load_answers(path: str | Path) -> dict[str, GeoPoint]:
    """The answers of a JSON file ``{address: {lat, lon, coord_system?, confidence?, level?,
    candidates?}}`` by normalised address, in WGS-84.

    Raises ``OSError`` when the file cannot be read and ``ValueError`` naming the file, the
    address and the field when its content is wrong.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object mapping address to answer")
    try:
        return {normalize_address(str(a)): _answer_of(str(a), e) for a, e in data.items()}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def file_geocoder(path: str | Path) -> FakeGeocoder:
    """A geocoder answering from the JSON file at ``path`` (:func:`load_answers`)."""
    return FakeGeocoder(load_answers(path))


# --- the configured geocoder ------------------------------------------------------------------


def geocoder_from_config(
    name: str, key: str | None = None, cache_path: str | Path | None = None
) -> CachingGeocoder:
    """The geocoder called ``name`` (``baidu``, ``nominatim``, ``amap`` or ``file:PATH``) with
    the persistent cache at ``cache_path`` (in memory only when ``None``) in front.

    ``key`` is the API key that Baidu (AK) and Amap need. The answers of a ``file:`` geocoder
    are cached under the digest of the file's content, so an edited file is never answered from
    older entries. Raises ``ValueError`` for an unknown name, a missing key or a wrong answers
    file, ``OSError`` when that file cannot be read.
    """
    chosen = name.strip()
    inner: Geocoder
    if chosen.lower().startswith("file:"):
        text = chosen[len("file:") :].strip()
        if not text:
            raise ValueError("geocoder file: needs a path (file:answers.json)")
        path = Path(text)
        inner = file_geocoder(path)
        namespace = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return CachingGeocoder(inner, cache_path, namespace=namespace)
    chosen = chosen.lower()
    if chosen not in GEOCODERS:
        raise ValueError(f"unknown geocoder {name!r}: use {', '.join(GEOCODERS)} or file:PATH")
    if chosen in ("baidu", "amap") and not key:
        raise ValueError(f"geocoder {chosen} needs an API key (DISPATCH_GEOCODER_KEY, --key)")
    if chosen == "baidu":
        inner = GeopyGeocoder.baidu(str(key))
    elif chosen == "amap":
        inner = AmapGeocoder(str(key))
    else:
        inner = GeopyGeocoder.nominatim()
    return CachingGeocoder(inner, cache_path, namespace=chosen)


# --- geocoding many addresses -----------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What geocoding one address gave: a WGS-84 ``point`` (with ``flags`` when a person should
    check it) or, without a point, the ``failure`` (Chinese / English)."""

    address: str
    point: GeoPoint | None = None
    flags: tuple[Flag, ...] = ()
    failure: str = ""

    @property
    def flagged(self) -> bool:
        """A point was found but needs a person's look."""
        return bool(self.flags)

    def explain(self) -> str:
        """One line: the address, the point found, how sure the service is and why it is
        flagged; or the address and why there is no point."""
        if self.point is None:
            return f"{self.address!r}: {self.failure}"
        p = self.point
        quality = [] if p.confidence is None else [f"confidence {p.confidence}"]
        quality += [f"level {p.level}"] if p.level else []
        quality.append(f"{p.candidates} candidate" + ("s" if p.candidates > 1 else ""))
        text = f"{self.address!r} → {p.lat:.6f}, {p.lon:.6f} (WGS-84; {', '.join(quality)})"
        if self.flags:
            text += ": " + "; ".join(f.message for f in self.flags) + " — 请核对 / please check"
        return text


_NOT_FOUND = "未找到该地址 / address not found"
_NOT_ASKED = (
    "未解析：地址解析服务之前已出错 / not geocoded: the service failed on an earlier address"
)


def locate_all(
    geocoder: Geocoder, addresses: Sequence[str], *, min_confidence: int = MIN_CONFIDENCE
) -> list[Lookup]:
    """One :class:`Lookup` per address, in order; each distinct (normalised) address is asked
    once. After the first service failure the remaining addresses are not asked (a service that
    is down would otherwise make every one wait for its timeout)."""
    answers: dict[str, Lookup] = {}
    failed = False
    lookups = []
    for address in addresses:
        key = normalize_address(address)
        if key not in answers:
            if failed:
                answers[key] = Lookup(address, failure=_NOT_ASKED)
            else:
                try:
                    point = geocoder.geocode(key)
                except GeocodingError as exc:
                    failed = True
                    answers[key] = Lookup(address, failure=f"地址解析服务出错 / {exc}")
                else:
                    answers[key] = _lookup(address, point, min_confidence)
        lookups.append(replace(answers[key], address=address))
    return lookups


def _lookup(address: str, point: GeoPoint | None, min_confidence: int) -> Lookup:
    if point is None:
        return Lookup(address, failure=_NOT_FOUND)
    point = in_wgs84(point)
    return Lookup(address, point, flags_of(point, min_confidence=min_confidence))


# --- scenario documents -----------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A station or household of a scenario document with an ``address`` and no point;
    ``path`` is like ``households[3]``."""

    path: str
    id: str
    address: str


def places_to_geocode(document: Any) -> list[Place]:
    """The stations and households of a format-1 document that have an address and neither
    ``lat`` nor ``lon``. Raises ``ValueError`` naming the field when the document is not an
    object or a section is not a list of objects."""
    if not isinstance(document, dict):
        raise ValueError("the scenario is not a JSON object")
    places = []
    for section in ("stations", "households"):
        items = document.get(section, [])
        if not isinstance(items, list):
            raise ValueError(f"{section}: expected a list")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"{section}[{index}]: expected an object")
            address = item.get("address")
            missing = item.get("lat") is None and item.get("lon") is None
            if missing and isinstance(address, str) and address.strip():
                places.append(Place(f"{section}[{index}]", str(item.get("id", "")), address))
    return places


_INDEX = re.compile(r"^(\w+)\[(\d+)\]$")


def with_points(
    document: Mapping[str, Any],
    places: Sequence[Place],
    lookups: Sequence[Lookup],
    *,
    accept_flagged: bool = False,
) -> dict[str, Any]:
    """A copy of ``document`` with each place's WGS-84 point (``lat``, ``lon``,
    ``coord_system``) filled in from its lookup; flagged points only with ``accept_flagged``."""
    filled = copy.deepcopy(dict(document))
    for place, lookup in zip(places, lookups, strict=True):
        if lookup.point is None or (lookup.flagged and not accept_flagged):
            continue
        match = _INDEX.match(place.path)
        assert match is not None, place.path
        item = filled[match.group(1)][int(match.group(2))]
        item.update(lat=lookup.point.lat, lon=lookup.point.lon, coord_system="wgs84")
    return filled
