"""Addresses to coordinates (地址解析), behind a small interface with a cache in front.

- :class:`Geocoder` is the interface: ``geocode(address) -> GeoPoint | None`` (``None``: the
  service knows no such place). Service failures raise :class:`GeocodingError` instead, so they
  are never mistaken for (or cached as) "not found".
- :class:`GeopyGeocoder` wraps a geopy geocoder: Baidu v3 (answers in BD-09, converted here to
  WGS-84) or Nominatim/OpenStreetMap (WGS-84).
- :class:`CachingGeocoder` normalises addresses and remembers hits and misses, in memory and
  optionally in a SQLite file, so a repeated address never reaches the network.
- :class:`FakeGeocoder` answers from a mapping, for tests and offline demos.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from geopy.exc import GeopyError

from dispatch.coords import COORD_SYSTEMS, to_wgs84

__all__ = [
    "DEFAULT_USER_AGENT",
    "CachingGeocoder",
    "FakeGeocoder",
    "GeoPoint",
    "Geocoder",
    "GeocodingError",
    "GeopyBackend",
    "GeopyGeocoder",
    "normalize_address",
]

DEFAULT_USER_AGENT = "eldercare-dispatch/0.1 (community home-care scheduling)"
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True)
class GeoPoint:
    """A geocoded point in decimal degrees; ``coord_system`` is ``wgs84``, ``gcj02`` or ``bd09``."""

    lat: float
    lon: float
    coord_system: str = "wgs84"


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


class GeopyBackend(Protocol):
    """What :class:`GeopyGeocoder` needs of a geopy geocoder object."""

    def geocode(self, query: str, *, exactly_one: bool = ..., timeout: Any = ...) -> Any:
        """A geopy ``Location`` (``latitude``, ``longitude``) or ``None``."""
        ...


class GeopyGeocoder:
    """A geopy geocoder behind :class:`Geocoder`; always answers in WGS-84.

    ``backend`` is any object with geopy's ``geocode(query, exactly_one=True, timeout=...)``;
    ``coord_system`` is the system its answers are in (Baidu: ``"bd09"``). ``min_interval`` is
    the least number of seconds between two requests (Nominatim's usage policy asks for 1).
    Use :meth:`baidu` or :meth:`nominatim` to build the usual ones.
    """

    def __init__(
        self,
        backend: GeopyBackend,
        *,
        coord_system: str = "wgs84",
        timeout: float | None = 10.0,
        min_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if coord_system not in COORD_SYSTEMS:
            raise ValueError(f"unknown coordinate system {coord_system!r}")
        self.backend = backend
        self.coord_system = coord_system
        self.timeout = timeout
        self.min_interval = float(min_interval)
        self._clock = clock
        self._sleep = sleep
        self._last_request: float | None = None
        self._lock = threading.Lock()

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
        return cls(backend, coord_system="bd09", timeout=timeout)

    @classmethod
    def nominatim(
        cls,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 10.0,
        domain: str = "nominatim.openstreetmap.org",
        min_interval: float = 1.0,
    ) -> GeopyGeocoder:
        """OpenStreetMap's Nominatim (WGS-84); the public server allows one request a second."""
        from geopy.geocoders import Nominatim

        backend = Nominatim(user_agent=user_agent, timeout=timeout, domain=domain)
        return cls(backend, coord_system="wgs84", timeout=timeout, min_interval=min_interval)

    def geocode(self, address: str) -> GeoPoint | None:
        """WGS-84 point of ``address`` or ``None``; raises :class:`GeocodingError` on failure."""
        with self._lock:
            self._wait_turn()
            try:
                location = self.backend.geocode(address, exactly_one=True, timeout=self.timeout)
            except GeopyError as exc:
                raise GeocodingError(f"geocoding {address!r} failed: {exc}") from exc
            finally:
                self._last_request = self._clock()
        if location is None:
            return None
        lat, lon = float(location.latitude), float(location.longitude)
        if self.coord_system != "wgs84":
            lat, lon = to_wgs84(lat, lon, self.coord_system)
        return GeoPoint(lat, lon, "wgs84")

    def _wait_turn(self) -> None:
        if self.min_interval <= 0 or self._last_request is None:
            return
        wait = self._last_request + self.min_interval - self._clock()
        if wait > 0:
            self._sleep(wait)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode_cache (
    namespace    TEXT NOT NULL,
    address      TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    coord_system TEXT,
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
                        "DELETE FROM geocode_cache WHERE namespace = ? AND address = ?",
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
                "SELECT lat, lon, coord_system FROM geocode_cache "
                "WHERE namespace = ? AND address = ?",
                (self.namespace, key),
            ).fetchone()
        if row is None:
            return False, None
        lat, lon, system = row
        if lat is None or lon is None:
            return True, None
        return True, GeoPoint(float(lat), float(lon), str(system))

    def _store(self, key: str, point: GeoPoint | None) -> None:
        if self.cache_path is None:
            return
        values = (None, None, None) if point is None else (point.lat, point.lon, point.coord_system)
        with self._connect() as con, con:
            con.execute(
                "INSERT OR REPLACE INTO geocode_cache (namespace, address, lat, lon, coord_system)"
                " VALUES (?, ?, ?, ?, ?)",
                (self.namespace, key, *values),
            )


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
