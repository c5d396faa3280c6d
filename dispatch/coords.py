"""Conversion between China's map coordinate systems (坐标系转换).

- WGS-84: GPS, OpenStreetMap; what the project stores and computes with.
- GCJ-02 (国测局坐标, "Mars coordinates"): Amap/Gaode, Tencent. WGS-84 plus a published
  non-linear offset of a few hundred metres, applied only inside China's bounding box.
- BD-09: Baidu. GCJ-02 with a further rotation and shift.

All functions take and return ``(lat, lon)`` in decimal degrees (note: latitude first, unlike
many map SDKs). The forward transforms are closed formulas; the inverses are solved by fixed-point
iteration to well under a millimetre, so a round trip agrees to floating-point noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Coordinate systems accepted in scenario files (``coord_system``).
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 offset.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 works in "x_pi" radians: pi * 3000 / 180.
_X_PI = math.pi * 3000.0 / 180.0
# Inverse iterations stop when the forward image is this close (degrees, ~1e-6 m) to the target.
_TOLERANCE_DEG = 1e-11
_MAX_ITERATIONS = 50

LatLon = tuple[float, float]


def in_china(lat: float, lon: float) -> bool:
    """Whether a point lies in the rough bounding box where GCJ-02 applies its offset."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _offset_lat(x: float, y: float) -> float:
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    out += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    out += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return out


def _offset_lon(x: float, y: float) -> float:
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    out += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    out += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return out


def wgs84_to_gcj02(lat: float, lon: float) -> LatLon:
    """GCJ-02 of a WGS-84 point; points outside China's bounding box are returned unchanged."""
    if not in_china(lat, lon):
        return lat, lon
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_bd09(lat: float, lon: float) -> LatLon:
    """BD-09 (Baidu) of a GCJ-02 point."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(
    forward: Callable[[float, float], LatLon], lat: float, lon: float, guess: LatLon
) -> LatLon:
    """The point whose ``forward`` image is ``(lat, lon)``, by fixed-point correction.

    Both offsets are smooth and change by far less than their own size over a few hundred
    metres, so subtracting the residual converges fast (a handful of steps).
    """
    g_lat, g_lon = guess
    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(g_lat, g_lon)
        r_lat, r_lon = f_lat - lat, f_lon - lon
        if abs(r_lat) < _TOLERANCE_DEG and abs(r_lon) < _TOLERANCE_DEG:
            break
        g_lat, g_lon = g_lat - r_lat, g_lon - r_lon
    return g_lat, g_lon


def gcj02_to_wgs84(lat: float, lon: float) -> LatLon:
    """WGS-84 of a GCJ-02 point (iterative inverse); unchanged outside China's bounding box."""
    if not in_china(lat, lon):
        return lat, lon
    return _invert(wgs84_to_gcj02, lat, lon, (lat, lon))


def bd09_to_gcj02(lat: float, lon: float) -> LatLon:
    """GCJ-02 of a BD-09 (Baidu) point (iterative inverse of :func:`gcj02_to_bd09`)."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    first_guess = (z * math.sin(theta), z * math.cos(theta))
    return _invert(gcj02_to_bd09, lat, lon, first_guess)


def wgs84_to_bd09(lat: float, lon: float) -> LatLon:
    """BD-09 (Baidu) of a WGS-84 point."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> LatLon:
    """WGS-84 of a BD-09 (Baidu) point."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(lat: float, lon: float, system: str) -> LatLon:
    """WGS-84 of a point given in ``system`` (one of :data:`COORD_SYSTEMS`).

    Raises ``ValueError`` for an unknown system.
    """
    if system == "wgs84":
        return lat, lon
    if system == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if system == "bd09":
        return bd09_to_wgs84(lat, lon)
    raise ValueError(f"unknown coordinate system {system!r}; known: {', '.join(COORD_SYSTEMS)}")
