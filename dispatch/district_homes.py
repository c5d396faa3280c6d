"""The demo district's geography and households (for :mod:`dispatch.generate`).

Stations over urban estates and rural villages, households clustered around them, each
with tags, an assessment level and the requests that level brings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from dispatch.catalogue import Catalogue, ServiceType
from dispatch.district_base import (
    _DAY_END,
    _DAY_START,
    _DENSE_KM,
    _ESTATE_ENDINGS,
    _M_PER_DEG_LAT,
    _RETURN_MARGIN,
    _STREETS,
    _SURNAMES,
    _TOWNS,
    _USES,
    _VILLAGES,
    _WEEKDAYS,
    DEFAULT_DAYS,
    DistrictLayout,
    _Use,
)
from dispatch.model import (
    Household,
    ServiceRequest,
    Station,
)

__all__: list[str] = []

# ------------------------------------------------------------------------------------------
# Geography


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` / ``north_m`` metres from ``(lat, lon)`` (flat-earth, short ranges)."""
    dlat = north_m / _M_PER_DEG_LAT
    dlon = east_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _flat_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (a[0] - b[0]) * _M_PER_DEG_LAT
    east = (a[1] - b[1]) * _M_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.hypot(north, east) / 1000.0


def _spread_points(
    rng: random.Random,
    n: int,
    centre: tuple[float, float],
    *,
    half_km: tuple[float, float],
    min_km: float,
) -> list[tuple[float, float]]:
    """``n`` points in a box around ``centre`` at least ``min_km`` apart where possible."""
    points: list[tuple[float, float]] = []
    spacing = min_km
    while len(points) < n:
        for _ in range(200):
            p = _offset(
                *centre,
                rng.uniform(-half_km[1], half_km[1]) * 1000,
                rng.uniform(-half_km[0], half_km[0]) * 1000,
            )
            if all(_flat_km(p, q) >= spacing for q in points):
                points.append(p)
                break
        else:
            spacing *= 0.8  # the box is full: allow closer neighbours
    return points


def _ring_points(
    rng: random.Random,
    n: int,
    centre: tuple[float, float],
    *,
    km: tuple[float, float],
    min_km: float,
    south_only: bool = False,
) -> list[tuple[float, float]]:
    """``n`` points ``km[0]``–``km[1]`` km from ``centre``, ``min_km`` apart where possible.

    ``south_only`` keeps them south of the centre (a township's villages, away from the city).
    """
    points: list[tuple[float, float]] = []
    spacing = min_km
    while len(points) < n:
        for _ in range(100):
            angle = rng.uniform(-math.pi, 0) if south_only else rng.uniform(0, 2 * math.pi)
            dist = rng.uniform(*km) * 1000
            p = _offset(*centre, dist * math.cos(angle), dist * math.sin(angle))
            if all(_flat_km(p, q) >= spacing for q in points):
                points.append(p)
                break
        else:
            spacing *= 0.8
    return points


def _scatter(
    rng: random.Random, centre: tuple[float, float], sigma_m: float
) -> tuple[float, float]:
    """A point around ``centre``, normally scattered with ``sigma_m`` per axis, within 3 sigma."""
    east = max(-3 * sigma_m, min(3 * sigma_m, rng.gauss(0, sigma_m)))
    north = max(-3 * sigma_m, min(3 * sigma_m, rng.gauss(0, sigma_m)))
    lat, lon = _offset(*centre, east, north)
    return round(lat, 6), round(lon, 6)


@dataclass
class _Cluster:
    """An estate (小区) or a village (村): a centre households gather around."""

    name: str
    centre: tuple[float, float]
    sigma_m: float
    rural: bool


@dataclass
class _Site:
    """A station being built: its kind and the clusters it serves."""

    station: Station
    rural: bool
    town: str
    clusters: list[_Cluster] = field(default_factory=list)
    weight: float = 1.0


def _unique_names(rng: random.Random, pool: Sequence[str], n: int) -> list[str]:
    """``n`` distinct names from ``pool``, numbered once the pool runs out."""
    names = rng.sample(list(pool), min(n, len(pool)))
    k = 2
    while len(names) < n:
        names.extend(f"{p}{k}" for p in pool[: n - len(names)])
        k += 1
    return names


def _sites(rng: random.Random, stations: int, layout: DistrictLayout | None = None) -> list[_Site]:
    """Urban and rural stations with their estates and villages, where ``layout`` puts them."""
    where = layout or DistrictLayout()
    n_rural = max(1, round(stations * (1 - where.urban_share))) if stations >= 2 else 0
    n_urban = stations - n_rural
    sites: list[_Site] = []
    urban_at = _spread_points(rng, n_urban, where.centre, half_km=where.urban_half_km, min_km=1.5)
    streets = _unique_names(rng, _STREETS, n_urban)
    for k, (p, street) in enumerate(zip(urban_at, streets, strict=True)):
        sid = f"{where.prefix}S{k + 1:02d}"
        station = Station(
            id=sid,
            lat=round(p[0], 6),
            lon=round(p[1], 6),
            name=f"{where.place}{street}社区居家养老服务站",
        )
        site = _Site(station=station, rural=False, town=street, weight=rng.uniform(0.6, 1.4))
        dense = rng.random() < 0.4
        reach = (0.15, _DENSE_KM) if dense else (0.25, 1.3)
        n_estates = rng.randint(2, 4)
        for j, q in enumerate(_ring_points(rng, n_estates, p, km=reach, min_km=0.25)):
            ending = _ESTATE_ENDINGS[(k + j) % len(_ESTATE_ENDINGS)]
            name = f"{street}{'东西南北中'[j % 5]}{ending}" if j else f"{street}{ending}"
            site.clusters.append(_Cluster(name, q, sigma_m=rng.uniform(80, 150), rural=False))
        sites.append(site)
    rural_at = _spread_points(
        rng, n_rural, where.rural_centre, half_km=where.rural_half_km, min_km=7.0
    )
    towns = _unique_names(rng, _TOWNS, n_rural)
    for k, (p, town) in enumerate(zip(rural_at, towns, strict=True)):
        sid = f"{where.prefix}S{n_urban + k + 1:02d}"
        station = Station(
            id=sid,
            lat=round(p[0], 6),
            lon=round(p[1], 6),
            name=f"{where.place}{town}镇居家养老服务中心",
        )
        site = _Site(station=station, rural=True, town=town, weight=rng.uniform(0.7, 1.3))
        villages = _unique_names(rng, _VILLAGES, rng.randint(3, 6))
        spots = _ring_points(rng, len(villages), p, km=(2.0, 6.5), min_km=2.0, south_only=True)
        for v, q in zip(villages, spots, strict=True):
            site.clusters.append(_Cluster(f"{v}村", q, sigma_m=rng.uniform(200, 400), rural=True))
        sites.append(site)
    return sites


# ------------------------------------------------------------------------------------------
# Households and their needs


def _draw_level(rng: random.Random) -> int:
    """Assessment level 0–4 of a registered elder; most are 0–2."""
    return rng.choices((0, 1, 2, 3, 4), weights=(22, 30, 26, 14, 8))[0]


def _draw_tags(rng: random.Random, level: int, rural: bool) -> list[str]:
    """Household tags: living situation first, then disability, low income, age, special family."""
    tags: list[str] = []
    u = rng.random()
    if rural and u < 0.30:
        tags.append("left_behind")  # 留守: children work in the city
    elif u < (0.55 if rural else 0.30):
        tags.append("living_alone")  # 独居
    elif u < 0.75:
        tags.append("empty_nest")  # 空巢
    if level >= 3 or (level == 2 and rng.random() < 0.35):
        tags.append("disabled")  # 失能/重残
    if rng.random() < (0.22 if rural else 0.12):
        tags.append("low_income")  # 低保
    if rng.random() < 0.35:
        tags.append("advanced_age")  # 高龄 80+
    if rng.random() < 0.02:
        tags.append("special_family")  # 计划生育特殊家庭
    return tags


def _windows(
    rng: random.Random, service: ServiceType, use: _Use, minutes: int
) -> tuple[tuple[int, int], ...]:
    """Start windows: the catalogue's, trimmed to end by 17:00; some homes keep one of two."""
    latest = _DAY_END - _RETURN_MARGIN - minutes
    out = []
    for start, end in service.windows[:1] if use.first_window_only else service.windows:
        start, end = max(start, _DAY_START), min(end, latest)
        if end >= start:
            out.append((start, end))
    if len(out) == 2:
        u = rng.random()
        if u < 0.3:
            out = out[:1]  # mornings only
        elif u < 0.45:
            out = out[1:]  # afternoons only
    return tuple(out)


def _priority(use: _Use, level: int, tags: Sequence[str]) -> int:
    """1–100: the service's weight, raised for higher levels, disability and living alone."""
    p = use.base_priority + 4 * level
    if "disabled" in tags:
        p += 6
    if "living_alone" in tags or "left_behind" in tags:
        p += 6
    if "living_alone" in tags and level >= 3:
        p += 8  # emergency-prone: alone and unable to look after oneself
    return max(1, min(100, p))


def _needs(
    rng: random.Random, level: int, tags: Sequence[str], *, bed_bath_share: float
) -> list[tuple[str, int, int, int]]:
    """Services for an assessment level: ``(code, extra_minutes, visits_per_week, min_gap_days)``.

    ``extra_minutes`` is added to the catalogue's minutes (a larger home takes longer to clean).
    """
    alone = "living_alone" in tags or "left_behind" in tags or "special_family" in tags
    out: list[tuple[str, int, int, int]] = []
    daily = len(DEFAULT_DAYS)
    meal_share = (0.35, 0.30, 0.35, 0.45, 0.45)[level]
    if rng.random() < meal_share:
        out.append(("meal_delivery", 0, daily, 1))
    if level == 0:
        if rng.random() < 0.30:
            out.append(("cleaning", 0, 1, 1))
    elif level == 1:
        out.append(("cleaning", 0, 1, 1) if rng.random() < 0.6 else ("cleaning", 0, 2, 2))
        if rng.random() < 0.20:
            out.append(("meal_cook", 0, rng.choice((2, 3)), 2))
        if rng.random() < 0.15:
            out.append(("walking", 0, 1, 1))
    elif level == 2:
        out.append(("cleaning", rng.choice((0, 30)), 2, 2))
        out.append(("personal_care", 0, 3, 2))
        if rng.random() < 0.25:
            out.append(("walking", 0, 2, 2))
        if rng.random() < 0.15:
            out.append(("rehab", 0, 2, 2))
    else:
        out.append(("cleaning", rng.choice((0, 30)), 1, 1))
        out.append(("personal_care", 0, 5 if level == 3 else min(7, daily), 1))
        if level == 4 and rng.random() < bed_bath_share:
            out.append(("bed_bath", 0, 1, 1))
        else:
            out.append(("bathing", 0, 1, 1))
        if rng.random() < (0.20 if level == 3 else 0.40):
            out.append(("nursing", 0, 2, 2))
        if rng.random() < (0.25 if level == 3 else 0.15):
            out.append(("rehab", 0, 2, 2))
    # 巡访关爱: weekly for high-risk elders without other regular visits; monthly visits of
    # key groups fall in a given week one time in four.
    regular = any(v >= 2 and code != "meal_delivery" for code, _, v, _ in out)
    if (alone and not regular) or (not out) or (tags and rng.random() < 0.25 and not regular):
        out.append(("welfare_visit", 0, 1, 1))
    return [(code, m, min(v, daily), g) for code, m, v, g in out]


def _household(
    rng: random.Random,
    hid: str,
    cluster: _Cluster,
    town: str,
    *,
    catalogue: Catalogue,
    bed_bath_share: float,
) -> Household:
    """One registered household with its requests (no caregiver preferences yet)."""
    level = _draw_level(rng)
    tags = _draw_tags(rng, level, cluster.rural)
    lat, lon = _scatter(rng, cluster.centre, cluster.sigma_m)
    female = rng.random() < 0.62  # elders living alone are mostly women
    name = rng.choice(_SURNAMES) + ("奶奶" if female else "爷爷")
    if cluster.rural:
        address = f"{town}镇{cluster.name}{rng.randint(1, 8)}组{rng.randint(1, 80)}号"
    else:
        address = (
            f"{cluster.name}{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元"
            f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
        )
    requests = []
    for code, extra, visits, gap in _needs(rng, level, tags, bed_bath_share=bed_bath_share):
        if code not in catalogue:
            continue  # a locality's catalogue without this service
        service, use = catalogue[code], _USES[code]
        minutes = service.minutes + extra
        windows = _windows(rng, service, use, minutes)
        if not windows:
            continue  # no start window inside a day shift
        requests.append(
            ServiceRequest(
                id=f"{hid}-{use.suffix}",
                service=code,
                minutes=minutes,
                windows=windows,
                visits_per_week=visits,
                min_gap_days=gap,
                days=_WEEKDAYS if use.weekdays_only else None,
                staff=service.staff,
                skill=None if service.skill == code else service.skill,
                priority=_priority(use, level, tags),
                load=1 if code == "meal_delivery" else 0,
            )
        )
    return Household(
        id=hid,
        lat=lat,
        lon=lon,
        requests=tuple(requests),
        name=name,
        address=address,
        tags=tuple(tags),
        assessment_level=level,
        gender_preference=None,
    )
