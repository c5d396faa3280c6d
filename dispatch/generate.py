"""A realistic, reproducible demo district (演示辖区): stations, caregivers, households, needs.

:func:`generate_district` builds a :class:`dispatch.model.Scenario` after the domain brief, in
Yinchuan-like coordinates (WGS-84, around 38.47 N, 106.27 E):

- **Urban part** (about 75 % of households, the city's urban share): stations over dense
  estates (小区); households cluster within a few hundred metres of an estate centre.
  Caregivers ride e-bikes; at stations whose estates all lie within 700 m some walk.
- **Rural part** (about 25 %), 20–30 km south: a township station (乡镇服务中心) serves villages
  2–6.5 km away, households scattered around each village centre; caregivers drive.
- **Households** are the elders registered for home services, so each has at least one
  request. Tags and assessment levels (GB/T 42195-2022, 0 intact … 4 total loss) follow
  plausible shares; the level decides services and visits per week.
- **Planning week** is Monday to Saturday (``DEFAULT_DAYS``): daily services (meal delivery,
  personal care at level 4) run six days, so "7 per week" is capped at 6. Caregivers work five
  days; a Saturday crew takes a weekday off instead.
- **Staffing**: a household belongs to its nearest station. Per station and day, with each
  request's visits spread over its allowed days and minutes counted as service plus an
  estimated leg of travel (:func:`estimate_load`), the visits only a set of caregiver kinds may
  do (certification level 5, level 4 for personal care and bathing, a registered nurse for
  nursing, a rehabilitation therapist) fit 85 % of that set's productive minutes, and the
  morning ones (windows closing by 12:30: personal care, the lunch round) 80 % of its morning
  minutes, and those over by noon (personal care) 75 % of its minutes before noon.
  Shortfalls are filled one caregiver at a time (the early shift 早班 07:30–11:30 for a
  morning shortfall, the day off where the other days have the most slack). Hiring one at a
  time leaves slack on the days that were not short, so slots are then dropped, and days off
  moved to even the days out, while every check still holds; level-5 caregivers bring the
  week to ``target_load`` (70 %) if it is still above. The load comes out at 68–69 %.
  A few households then ask for a caregiver's gender, a caregiver they know, or (rarely) not
  to see one; only where the station can still serve them.

Everything is drawn from one ``random.Random(seed)``, so a seed gives the same district on
every machine. Minutes, staff, skills and typical windows come from the service catalogue
(:mod:`dispatch.catalogue`); the dinner meal window is left out because day shifts end at
17:00, and every window is trimmed so that a visit starting at its end still finishes by then.
Lunch breaks start 12:00–13:00, after the lunch round (10:30–12:30).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from dispatch.catalogue import Catalogue, ServiceType, default_catalogue
from dispatch.model import (
    Break,
    Caregiver,
    Household,
    Scenario,
    ServiceRequest,
    Station,
    TravelSettings,
)
from dispatch.scenario_io import max_visits_in_week, save_scenario
from dispatch.timeutil import parse_hhmm
from dispatch.travel import haversine_km_matrix

__all__ = [
    "CITY_CENTRE",
    "DEFAULT_DAYS",
    "RURAL_CENTRE",
    "TARGET_LOAD",
    "LoadEstimate",
    "add_generate_arguments",
    "estimate_load",
    "generate_district",
    "generate_main",
    "productive_minutes",
    "run_generate",
]

#: Centre of the urban part (WGS-84 lat, lon): Yinchuan-like.
CITY_CENTRE: tuple[float, float] = (38.4720, 106.2700)
#: Centre of the rural part's stations, about 23 km south of the city centre.
RURAL_CENTRE: tuple[float, float] = (38.2650, 106.2700)
#: The planning week of generated districts: Monday to Saturday.
DEFAULT_DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat")
#: Required minutes (service + estimated travel) over productive shift minutes aimed at.
TARGET_LOAD = 0.70

_URBAN_SHARE = 0.75  # 城镇人口占74.92% in the seed report
_WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
_DAY_START = parse_hhmm("08:00")
_DAY_END = parse_hhmm("17:00")
_PART_START = parse_hhmm("07:30")  # 早班: at the first home by 08:00
_PART_END = parse_hhmm("11:30")
# Lunch after the meal round: an hour starting 12:00–13:00.
_LUNCH = Break(window_start=parse_hhmm("12:00"), window_end=parse_hhmm("14:00"), minutes=60)
# Visits whose start windows close by 12:30 are morning work (personal care, lunch round).
_MORNING_END = parse_hhmm("12:30")
_NOON = parse_hhmm("12:00")
_SKILL_SHARE = 0.85  # required over productive minutes of the caregivers qualified, per day
_PEAK_SHARE = 0.80  # morning visits over the morning minutes of those qualified, per day
_NOON_SHARE = 0.75  # visits over by noon over the minutes before noon of those qualified
_MAX_SLOTS = 400  # per station, a guard against a runaway loop
_FULL_WEEK_CAP = 2400
_PART_WEEK_CAP = 1200
_PART_TIME_SHARE = 0.12
_RETURN_MARGIN = 10  # minutes kept after the latest visit end for the ride back
_CAPACITY = MappingProxyType({"ebike": 10, "car": 20, "walk": 4})  # meal boxes per route
_DENSE_KM = 0.7
_M_PER_DEG_LAT = 111_320.0

# Services each kind of caregiver is qualified for (养老护理员 五级 entry level, 四级 adds
# bodily care; a registered nurse also does bodily care; a rehabilitation therapist). Their
# skills are these services' catalogue skills.
_LEVEL5 = "level5"
_LEVEL4 = "level4"
_NURSE = "nurse"
_THERAPIST = "therapist"
_BASIC = frozenset({"cleaning", "meal_cook", "walking", "welfare_visit", "meal_delivery"})
_BODILY_CARE = frozenset({"personal_care", "bathing", "bed_bath"})
_QUALIFIED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        _LEVEL5: _BASIC,
        _LEVEL4: _BASIC | _BODILY_CARE,
        _NURSE: _BASIC | _BODILY_CARE | {"nursing"},
        _THERAPIST: frozenset({"rehab", "walking", "welfare_visit", "meal_delivery"}),
    }
)


@dataclass(frozen=True)
class _Use:
    """How the generator uses a catalogue service: id suffix, priority, windows and days kept."""

    suffix: str
    base_priority: int
    first_window_only: bool = False
    weekdays_only: bool = False


# Minutes, staff, skill and typical windows come from the service catalogue; meal delivery is
# the lunch round (its dinner window lies past the end of day shifts); nurses and therapists
# of the community health centre visit on weekdays.
_USES: dict[str, _Use] = {
    "meal_delivery": _Use("meal", 60, first_window_only=True),
    "meal_cook": _Use("cook", 50),
    "cleaning": _Use("clean", 40),
    "bathing": _Use("bath", 55),
    "bed_bath": _Use("bedbath", 60),
    "walking": _Use("walk", 40),
    "personal_care": _Use("care", 65),
    "nursing": _Use("nurse", 70, weekdays_only=True),
    "rehab": _Use("rehab", 55, weekdays_only=True),
    "welfare_visit": _Use("visit", 45),
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Name pools (plain words; Hui and Han surnames common in Ningxia).
_SURNAMES = tuple("马杨李王张刘丁海田金纳苏赵陈周吴何孙胡郭冯")
_GIVEN_F = _words("芳 秀英 丽 敏 静 霞 红梅 玉兰 桂英 淑珍 海燕 春梅 小娟 晓梅 凤琴 建华")
_GIVEN_M = _words("建国 伟 军 强 志刚 海军 永福 德明 学文 国庆")
_STREETS = _words(
    "丽景 新华 文化 富宁 胜利 凤凰 解放 玉皇阁 大新 长城 宝湖 满城 "
    "黄河 贺兰山 阅海 亲水 北京路 上海路 良田 兴源 银古 康平 宁安 六盘山"
)
_ESTATE_ENDINGS = ("花园", "小区", "家园", "新村", "苑", "雅居")
_TOWNS = _words("望远 杨和 李俊 闽宁 增岗 通贵 掌政 月牙湖 胜利 望洪 习岗 洪广 金贵 立岗")
_VILLAGES = _words(
    "红星 团结 光明 新丰 丰登 永胜 东风 前进 幸福 和平 联丰 红旗 "
    "新庄 陈俊 王太 金星 五星 友爱 春林 兴旺 园林 河滩 立强 胜利"
)


@dataclass(frozen=True)
class LoadEstimate:
    """How busy a scenario's caregivers would be: minutes per planning week.

    ``travel_minutes`` is an estimate: one leg per visit from the household's nearest station,
    averaged over that station's caregivers' travel modes (a route of *k* visits has *k* + 1
    legs, most shorter than the way from the station). ``capacity_minutes`` is the sum of
    :func:`productive_minutes`.
    """

    visits: int
    service_minutes: int
    travel_minutes: float
    capacity_minutes: int

    @property
    def ratio(self) -> float:
        """(service + travel) / capacity; ``inf`` when there is no capacity."""
        need = self.service_minutes + self.travel_minutes
        return need / self.capacity_minutes if self.capacity_minutes else math.inf


def productive_minutes(caregiver: Caregiver, days: Sequence[str]) -> int:
    """Minutes a caregiver can travel and serve over ``days``: shifts less breaks.

    The break counts on every day whose shift covers its window; ``max_minutes_per_week``
    limits time away from the station, which includes those breaks.
    """
    work = rest = 0
    for d in days:
        if d not in caregiver.shifts:
            continue
        start, end = caregiver.shifts[d]
        r = caregiver.rest
        day_rest = (
            r.minutes if r is not None and start <= r.window_start and end >= r.window_end else 0
        )
        work += end - start - day_rest
        rest += day_rest
    if caregiver.max_minutes_per_week is not None:
        work = min(work, caregiver.max_minutes_per_week - rest)
    return max(work, 0)


def _legs(km: np.ndarray, modes: Sequence[str], travel: TravelSettings) -> np.ndarray:
    """Mean whole travel minutes over ``modes`` for distances ``km`` (the contract's formula)."""
    total = np.zeros_like(km, dtype=np.float64)
    for mode in modes:
        total += np.ceil(60.0 * travel.circuity * km / travel.speed_kmh[mode])
    return total / max(len(modes), 1)


def _nearest_station(
    stations: Sequence[Station], lats: Sequence[float], lons: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest station for every point and the distance to it in km."""
    km = haversine_km_matrix(lats, lons, [s.lat for s in stations], [s.lon for s in stations])
    idx = np.argmin(km, axis=1)
    return idx, km[np.arange(len(idx)), idx]


def estimate_load(scenario: Scenario) -> LoadEstimate:
    """Required service minutes, estimated travel and productive capacity of a scenario's week.

    Service minutes count every visit of every request times its staff. Raises ``ValueError``
    when there are households but no stations.
    """
    visits = service = 0
    travel = 0.0
    capacity = sum(productive_minutes(c, scenario.days) for c in scenario.caregivers)
    if scenario.households and not scenario.stations:
        raise ValueError("households without any station")
    if not scenario.households:
        return LoadEstimate(0, 0, 0.0, capacity)
    idx, km = _nearest_station(
        scenario.stations,
        [h.lat for h in scenario.households],
        [h.lon for h in scenario.households],
    )
    everyone = [c.mode for c in scenario.caregivers] or ["ebike"]
    modes_at: dict[str, list[str]] = {}
    for c in scenario.caregivers:
        modes_at.setdefault(c.station, []).append(c.mode)
    for i, h in enumerate(scenario.households):
        modes = modes_at.get(scenario.stations[int(idx[i])].id, everyone)
        leg = float(_legs(np.array([km[i]]), modes, scenario.travel)[0])
        for r in h.requests:
            n = r.visits_per_week * r.staff
            visits += r.visits_per_week
            service += n * r.minutes
            travel += n * leg
    return LoadEstimate(visits, service, travel, capacity)


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


def _sites(rng: random.Random, stations: int) -> list[_Site]:
    """Urban and rural stations with their estates and villages."""
    n_rural = max(1, round(stations * (1 - _URBAN_SHARE))) if stations >= 2 else 0
    n_urban = stations - n_rural
    sites: list[_Site] = []
    urban_at = _spread_points(rng, n_urban, CITY_CENTRE, half_km=(6.0, 6.5), min_km=1.5)
    streets = _unique_names(rng, _STREETS, n_urban)
    for k, (p, street) in enumerate(zip(urban_at, streets, strict=True)):
        sid = f"S{k + 1:02d}"
        station = Station(
            id=sid, lat=round(p[0], 6), lon=round(p[1], 6), name=f"{street}社区居家养老服务站"
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
    rural_at = _spread_points(rng, n_rural, RURAL_CENTRE, half_km=(4.0, 12.0), min_km=7.0)
    towns = _unique_names(rng, _TOWNS, n_rural)
    for k, (p, town) in enumerate(zip(rural_at, towns, strict=True)):
        sid = f"S{n_urban + k + 1:02d}"
        station = Station(
            id=sid, lat=round(p[0], 6), lon=round(p[1], 6), name=f"{town}镇居家养老服务中心"
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


# ------------------------------------------------------------------------------------------
# Caregivers


def _request_served(
    h: Household, r: ServiceRequest, team: Sequence[Caregiver], days: Sequence[str]
) -> bool:
    """Qualified caregivers of ``team`` work on enough of the request's days for its visits."""
    ok = [
        c
        for c in team
        if r.required_skill in c.skills
        and (h.gender_preference is None or c.gender == h.gender_preference)
        and c.id not in h.forbidden_caregivers
    ]
    allowed = set(r.days or days) & set(days)
    on_day = {d for d in allowed if sum(d in c.shifts for c in ok) >= r.staff}
    return max_visits_in_week(on_day, r.min_gap_days) >= r.visits_per_week


def _served(h: Household, team: Sequence[Caregiver], days: Sequence[str]) -> bool:
    """Every request of ``h`` has qualified caregivers in ``team`` on enough allowed days."""
    return all(_request_served(h, r, team, days) for r in h.requests)


@dataclass(frozen=True)
class _Role:
    """A caregiver slot: kind (``_LEVEL5`` …), part-time or not, and the day off of five.

    The weekday crew is off on Saturday; the Saturday crew takes a weekday off instead.
    """

    kind: str
    part_time: bool = False
    off: str = "sat"


_KINDS: tuple[str, ...] = (_LEVEL5, _LEVEL4, _THERAPIST, _NURSE)  # least qualified first
_TEAM_ORDER: tuple[str, ...] = (_LEVEL5, _THERAPIST, _LEVEL4, _NURSE)
# Every non-empty set of kinds, for Hall's condition: visits only the kinds of a set can do
# must fit that set's minutes.
_KIND_SETS: tuple[frozenset[str], ...] = tuple(
    frozenset(k for i, k in enumerate(_KINDS) if mask >> i & 1)
    for mask in range(1, 1 << len(_KINDS))
)


def _able(service: str) -> frozenset[str]:
    """The kinds of caregiver qualified for ``service``."""
    return frozenset(k for k in _KINDS if service in _QUALIFIED[k])


@dataclass(frozen=True)
class _Peak:
    """Part of the day some visits must fit into: from shift start to ``until``.

    A visit belongs to the peak when its start windows all close by ``closes_by`` and it ends
    by ``ends_by`` at the latest start of its last window; the peak's visits must fit into
    ``share`` of the minutes of those qualified.
    """

    until: int
    share: float
    closes_by: int = 24 * 60
    ends_by: int = 24 * 60

    def holds(self, r: ServiceRequest) -> bool:
        close = max(end for _, end in r.windows)
        return close <= self.closes_by and close + r.minutes <= self.ends_by


# The morning: visits whose start windows close by 12:30 (personal care, the lunch round,
# cooking, morning-only cleaning); and within it the visits that must be over by noon
# (personal care, morning walks): at an hour and a ride each, three fit into the four hours
# from 08:00, where a share of 80 % would ask for almost a fourth.
_PEAKS: tuple[_Peak, ...] = (
    _Peak(until=_MORNING_END, share=_PEAK_SHARE, closes_by=_MORNING_END),
    _Peak(until=_NOON, share=_NOON_SHARE, ends_by=_NOON),
)


@dataclass
class _Demand:
    """A station's required minutes (service + estimated travel) by day and qualified kinds.

    ``day[d][kinds]`` counts every visit, ``peak[p][d][kinds]`` the visits of ``_PEAKS[p]``. A
    request's visits are spread evenly over the days it allows: three a week two days apart
    can only be Monday, Wednesday and Friday without Saturday, so a station that serves them
    all week needs its Saturday crew about as large as a weekday's.
    """

    day: dict[str, dict[frozenset[str], float]] = field(default_factory=dict)
    peak: tuple[dict[str, dict[frozenset[str], float]], ...] = field(
        default_factory=lambda: tuple({} for _ in _PEAKS)
    )
    week: float = 0.0

    def add(self, r: ServiceRequest, leg: float) -> None:
        each = (r.minutes + leg) * r.staff
        self.week += each * r.visits_per_week
        allowed = [d for d in DEFAULT_DAYS if r.days is None or d in r.days]
        share = dict.fromkeys(allowed, min(1.0, r.visits_per_week / max(len(allowed), 1)))
        able = _able(r.service)
        buckets = [self.day] + [self.peak[p] for p, peak in enumerate(_PEAKS) if peak.holds(r)]
        for d, n in share.items():
            for bucket in buckets:
                day = bucket.setdefault(d, {})
                day[able] = day.get(able, 0.0) + n * each

    def checks(self, d: str) -> list[tuple[int, dict[frozenset[str], float], float]]:
        """``(supply index, need by kinds, share)`` of day ``d``: all day, then each peak."""
        out = [(0, self.day.get(d, {}), _SKILL_SHARE)]
        out += [(1 + p, self.peak[p].get(d, {}), peak.share) for p, peak in enumerate(_PEAKS)]
        return out


#: ``supply[d][kind]``: productive minutes of that kind on day ``d``, then each peak's minutes.
_Supply = dict[str, dict[str, list[float]]]


@functools.cache
def _role_minutes(role: _Role) -> Mapping[str, tuple[float, ...]]:
    """Productive minutes per working day of a slot, then its minutes in each peak (the
    trimming asks for them thousands of times: there are a few dozen kinds of slot)."""
    c = _caregiver_from(role, frozenset())
    per_day = productive_minutes(c, DEFAULT_DAYS) / len(c.shifts)
    return MappingProxyType(
        {
            d: (per_day, *(float(max(0, min(end, p.until) - start)) for p in _PEAKS))
            for d, (start, end) in c.shifts.items()
        }
    )


def _supply(roles: Sequence[_Role]) -> tuple[_Supply, float]:
    """The :data:`_Supply` and the total productive minutes of ``roles``."""
    supply: _Supply = {}
    capacity = 0.0
    for role in roles:
        capacity += _add_role(supply, role)
    return supply, capacity


def _add_role(supply: _Supply, role: _Role) -> float:
    """Add a slot's minutes to ``supply``; returns its productive minutes of the week."""
    work = 0.0
    for d, minutes in _role_minutes(role).items():
        have = supply.setdefault(d, {}).setdefault(role.kind, [0.0] * (1 + len(_PEAKS)))
        for i, m in enumerate(minutes):
            have[i] += m
        work += minutes[0]
    return work


def _gaps(
    demand: _Demand, supply: _Supply, d: str
) -> list[tuple[float, float, frozenset[str], int]]:
    """Every check of day ``d``: ``(need - share * minutes, need / (share * minutes), kinds,
    supply index)`` for each set of kinds that has visits only it may do."""
    out = []
    have = supply.get(d, {})
    for index, need, share in demand.checks(d):
        if not need:
            continue
        for kinds in _KIND_SETS:
            minutes = sum(v for able, v in need.items() if able <= kinds)
            if minutes <= 0:
                continue
            cap = share * sum(have[k][index] for k in kinds if k in have)
            out.append((minutes - cap, math.inf if cap <= 0 else minutes / cap, kinds, index))
    return out


def _shortfall(
    demand: _Demand, supply: _Supply, days: Sequence[str] = DEFAULT_DAYS
) -> tuple[float, frozenset[str], str, bool] | None:
    """The largest need over ``days`` beyond its share: ``(minutes, kinds, day, peak)``.

    ``peak`` tells a shortfall of a peak from one of the whole day. The minutes are negative
    (slack) when everything is covered; ``None`` when nothing is needed.
    """
    worst: tuple[float, frozenset[str], str, bool] | None = None
    for d in days:
        for gap, _, kinds, index in _gaps(demand, supply, d):
            if worst is None or gap > worst[0]:
                worst = (gap, kinds, d, index > 0)
    return worst


def _margin(worst: tuple[float, frozenset[str], str, bool] | None) -> float:
    return -math.inf if worst is None else worst[0]


def _tightness(demand: _Demand, roles: Sequence[_Role]) -> tuple[float, float]:
    """The largest need over its share of the minutes, and the sum of each day's square."""
    supply, _ = _supply(roles)
    worst = total = 0.0
    for d in DEFAULT_DAYS:
        day = max((ratio for _, ratio, _, _ in _gaps(demand, supply, d)), default=0.0)
        worst = max(worst, day)
        total += day * day
    return worst, total


def _trimmed(demand: _Demand, roles: Sequence[_Role]) -> list[_Role]:
    """``roles`` with slots the shares do not need dropped, days off moved to free them.

    Slots are hired one at a time, so the team ends with slack on the days it was not short.
    Each step drops the slot whose loss leaves the most slack or, when none can go, moves the
    day off that evens the days out most; every step keeps each need within its share.
    """
    team = list(roles)
    score = _tightness(demand, team)
    for _ in range(4 * len(team) + 8):
        best: tuple[tuple[float, float], list[_Role]] | None = None
        for i in reversed(range(len(team))):
            trial = team[:i] + team[i + 1 :]
            t = _tightness(demand, trial)
            if t[0] <= 1.0 and (best is None or t < best[0]):
                best = (t, trial)
        if best is None:
            for i, r in enumerate(team):
                for o in (replace(r, off=d) for d in DEFAULT_DAYS if d != r.off):
                    trial = [*team[:i], o, *team[i + 1 :]]
                    t = _tightness(demand, trial)
                    if t[0] <= 1.0 and t < score and (best is None or t < best[0]):
                        best = (t, trial)
        if best is None:
            break
        score, team = best
    return team


def _roster(
    households: Sequence[Household], legs: Sequence[float], *, target: float
) -> list[_Role]:
    """Caregiver slots for one station: each skill and the morning peaks covered, then ``target``.

    ``legs`` are the estimated travel minutes per visit of each household (see
    :class:`LoadEstimate`). Slots are added one at a time for the largest shortfall (per day:
    the visits only some kinds of caregiver may do within ``_SKILL_SHARE`` of their minutes, and
    the visits of each of ``_PEAKS`` within ``_PEAK_SHARE`` of their minutes in it): the least
    qualified kind that helps, on the early shift when only a peak falls short, off on the day
    other than the one short with the most slack. :func:`_trimmed` then drops the slots the
    checks no longer need and evens the days off. Level-5 caregivers then bring the whole week
    to ``target`` of productive minutes, unless it is already below; the team comes back least
    qualified first.
    """
    demand = _Demand()
    for h, leg in zip(households, legs, strict=True):
        for r in h.requests:
            demand.add(r, leg)
    roles: list[_Role] = []
    supply: _Supply = {}
    for _ in range(_MAX_SLOTS):
        worst = _shortfall(demand, supply)
        if worst is None or worst[0] <= 1e-9:
            break
        _, kinds, day, peak = worst
        kind = next(k for k in _KINDS if k in kinds)
        # The day off: the day with the most slack, other than the day short.
        off = min(
            (d for d in DEFAULT_DAYS if d != day),
            key=lambda w: _margin(_shortfall(demand, supply, (w,))),
        )
        role = _Role(kind, part_time=peak and kind in (_LEVEL5, _LEVEL4), off=off)
        _add_role(supply, role)
        roles.append(role)
    roles = _trimmed(demand, roles)
    supply, capacity = _supply(roles)
    full = productive_minutes(_caregiver_from(_Role(_LEVEL5), frozenset()), DEFAULT_DAYS)
    while capacity < demand.week / target and len(roles) < _MAX_SLOTS:
        gap = demand.week / target - capacity
        part_due = sum(r.part_time for r in roles) < _PART_TIME_SHARE * (len(roles) + 1)
        # A part-timer when one is due or when a full-timer would overshoot by more.
        role = _Role(_LEVEL5, part_time=part_due or gap < full / 2)
        capacity += _add_role(supply, role)
        roles.append(role)
    if not roles and households:
        roles.append(_Role(_LEVEL5))
    # Least qualified first: a dispatcher who goes down the list gives basic work to level 5
    # and keeps the specialists free for what only they may do.
    return sorted(roles, key=lambda r: _TEAM_ORDER.index(r.kind))


def _caregiver_from(
    role: _Role,
    skills: frozenset[str],
    *,
    cid: str = "",
    station: str = "",
    mode: str = "ebike",
    gender: str = "F",
    max_visits: int = 8,
    name: str = "",
) -> Caregiver:
    """The caregiver of a slot: five working days, every day but the slot's day off."""
    if role.part_time:
        hours = (_PART_START, _PART_END)
        cap = _PART_WEEK_CAP
        rest = None  # a morning shift ends before the lunch window
    else:
        hours = (_DAY_START, _DAY_END)
        cap = _FULL_WEEK_CAP
        rest = _LUNCH
    days = [d for d in DEFAULT_DAYS if d != role.off]
    return Caregiver(
        id=cid,
        station=station,
        name=name,
        gender=gender,
        mode=mode,
        skills=skills,
        shifts=MappingProxyType(dict.fromkeys(days, hours)),
        rest=rest,
        max_minutes_per_week=cap,
        max_visits_per_day=max_visits,
        capacity=_CAPACITY[mode],
    )


def _kind_for(service: str) -> str:
    """The least qualified kind of caregiver who may do ``service``."""
    for kind in (_LEVEL5, _LEVEL4, _THERAPIST, _NURSE):
        if service in _QUALIFIED[kind]:
            return kind
    return _NURSE


def _missing_role(
    h: Household, team: Sequence[Caregiver], skills: Mapping[str, frozenset[str]]
) -> _Role | None:
    """A slot that lets the team serve a request of ``h`` it cannot serve now, or ``None``."""
    for r in h.requests:
        if _request_served(h, r, team, DEFAULT_DAYS):
            continue
        kind = _kind_for(r.service)
        off = _WEEKDAYS[len(team) % len(_WEEKDAYS)]
        for role in (_Role(kind), _Role(kind, off=off)):
            trial = _caregiver_from(role, skills[kind], cid="?")
            if _request_served(h, r, [*team, trial], DEFAULT_DAYS):
                return role
        return _Role(kind)  # a staff-2 visit may need two more
    return None


def _hire(
    rng: random.Random,
    role: _Role,
    team: Sequence[Caregiver],
    skills: Mapping[str, frozenset[str]],
    *,
    site: _Site,
    mix: Sequence[str],
    first: int,
) -> Caregiver:
    """The next caregiver of a station's team for a slot: id, gender, mode, name, day off."""
    k = len(team)
    gender = "M" if rng.random() < (0.18 if site.rural else 0.08) else "F"
    return _caregiver_from(
        role,
        skills[role.kind],
        cid=f"C{first + k + 1:03d}",
        station=site.station.id,
        mode=mix[k % len(mix)] if role.kind in (_LEVEL5, _LEVEL4) else mix[0],
        gender=gender,
        max_visits=rng.randint(8, 10) if not role.part_time else 6,
        name=_person_name(rng, gender),
    )


def _person_name(rng: random.Random, gender: str) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN_F if gender == "F" else _GIVEN_M)


# ------------------------------------------------------------------------------------------
# Preferences


def _with_preferences(
    rng: random.Random, h: Household, team: Sequence[Caregiver], days: Sequence[str]
) -> Household:
    """Add a gender preference, a preferred caregiver or a forbidden one where the team allows."""
    u = rng.random()
    bodily = any(r.service in _BODILY_CARE for r in h.requests)
    wish = None
    if bodily and u < 0.18:
        wish = "F" if h.name.endswith("奶奶") else ("M" if rng.random() < 0.4 else None)
    elif u < 0.03:
        wish = "F"
    if wish is not None:
        trial = replace(h, gender_preference=wish)
        if _served(trial, team, days):
            h = trial
    if (h.assessment_level or 0) >= 2 and rng.random() < 0.35:
        main = max(h.requests, key=lambda r: r.visits_per_week * r.minutes)
        fits = [
            c
            for c in team
            if main.required_skill in c.skills
            and (h.gender_preference is None or c.gender == h.gender_preference)
        ]
        if fits:
            h = replace(h, preferred_caregivers=(rng.choice(fits).id,))
    if rng.random() < 0.02 and len(team) > 2:
        banned = rng.choice([c for c in team if c.id not in h.preferred_caregivers])
        trial = replace(h, forbidden_caregivers=(banned.id,))
        if _served(trial, team, days):
            h = trial
    return h


# ------------------------------------------------------------------------------------------
# The district


def generate_district(
    *,
    households: int,
    stations: int,
    seed: int = 0,
    name: str | None = None,
    week_start: str = "2026-11-23",
    bed_bath_share: float = 0.0,
    target_load: float = TARGET_LOAD,
    catalogue: Catalogue | None = None,
) -> Scenario:
    """A realistic district of ``households`` homes served from ``stations`` stations.

    Deterministic for a ``seed``. ``week_start`` is the ISO date of the week's Monday.
    ``bed_bath_share`` is the share of level-4 elders who get a two-caregiver bed bath
    (助浴·卧床) instead of an ordinary bath (default 0: no staff-2 requests). ``target_load`` is
    the aimed ratio of required to productive minutes. ``catalogue`` supplies minutes, windows,
    staff and skills (default: the bundled one). Raises ``ValueError`` for fewer than one
    household or station, a share or load out of range, or a ``week_start`` not a Monday.
    """
    if households < 1 or stations < 1:
        raise ValueError(
            f"need at least one household and one station, got {households} and {stations}"
        )
    if not 0.0 <= bed_bath_share <= 1.0:
        raise ValueError(f"bed_bath_share must be between 0 and 1, got {bed_bath_share}")
    if not 0.05 <= target_load <= 1.0:
        raise ValueError(f"target_load must be between 0.05 and 1, got {target_load}")
    try:
        monday = dt.date.fromisoformat(week_start).weekday() == 0
    except ValueError:
        monday = False
    if not monday:
        raise ValueError(f"week_start must be the ISO date of a Monday, got {week_start!r}")
    if catalogue is None:
        catalogue = default_catalogue()
    skills = {
        kind: frozenset(catalogue[code].skill for code in codes if code in catalogue)
        for kind, codes in _QUALIFIED.items()
    }
    rng = random.Random(seed)
    travel = TravelSettings()
    sites = _sites(rng, stations)
    urban = [s for s in sites if not s.rural]
    rural = [s for s in sites if s.rural]
    n_urban = households if not rural else round(households * _URBAN_SHARE)
    homes: list[Household] = []
    for k in range(households):
        pool = urban if k < n_urban and urban else rural
        site = rng.choices(pool, weights=[s.weight for s in pool])[0]
        cluster = rng.choice(site.clusters)
        homes.append(
            _household(
                rng,
                f"H{k + 1:04d}",
                cluster,
                site.town,
                catalogue=catalogue,
                bed_bath_share=bed_bath_share,
            )
        )
    station_list = [s.station for s in sites]
    idx, km = _nearest_station(station_list, [h.lat for h in homes], [h.lon for h in homes])
    caregivers: list[Caregiver] = []
    teams: dict[int, list[Caregiver]] = {}
    for si, site in enumerate(sites):
        mine = [i for i in range(len(homes)) if idx[i] == si]
        dense = not site.rural and all(
            _flat_km(c.centre, (site.station.lat, site.station.lon)) <= _DENSE_KM
            for c in site.clusters
        )
        if site.rural:
            mix = ["car"]
        elif dense:
            mix = ["ebike", "ebike", "ebike", "walk"]  # every fourth caregiver walks
        else:
            mix = ["ebike"]
        legs = _legs(np.array([km[i] for i in mine]), mix, travel)
        roles = _roster([homes[i] for i in mine], [float(x) for x in legs], target=target_load)
        team: list[Caregiver] = []
        for role in roles:
            team.append(_hire(rng, role, team, skills, site=site, mix=mix, first=len(caregivers)))
        # A small station may miss a skill on some day (Saturday above all): hire for it.
        for i in mine:
            for _ in range(8):
                missing = _missing_role(homes[i], team, skills)
                if missing is None:
                    break
                team.append(
                    _hire(rng, missing, team, skills, site=site, mix=mix, first=len(caregivers))
                )
        caregivers.extend(team)
        teams[si] = team
    final: list[Household] = []
    for i, h in enumerate(homes):
        team = teams[int(idx[i])]
        h = _with_preferences(rng, h, team, DEFAULT_DAYS)
        if not _served(h, team, DEFAULT_DAYS):
            raise RuntimeError(f"generator bug: {h.id} has no qualified caregiver at its station")
        final.append(h)
    return Scenario(
        name=name or f"演示辖区 demo district (seed {seed})",
        days=DEFAULT_DAYS,
        stations=tuple(station_list),
        caregivers=tuple(caregivers),
        households=tuple(final),
        week_start=week_start,
        travel=travel,
    )


# ------------------------------------------------------------------------------------------
# CLI


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dispatch generate`` to ``parser`` (for the ``dispatch`` CLI)."""
    parser.add_argument("--households", type=int, required=True, help="number of households")
    parser.add_argument("--stations", type=int, required=True, help="number of service stations")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="scenario JSON file to write")
    parser.add_argument("--name", default=None, help="scenario name")
    parser.add_argument("--week-start", default="2026-11-23", help="ISO date of the week's Monday")
    parser.add_argument(
        "--bed-bath-share",
        type=float,
        default=0.0,
        help="share of level-4 elders with a two-caregiver bed bath (default 0)",
    )


def run_generate(args: argparse.Namespace) -> int:
    """Generate and write the district the parsed options ask for; print a summary; exit 0.

    Raises ``ValueError`` for bad numbers or dates and ``OSError`` when the file cannot be
    written.
    """
    scenario = generate_district(
        households=args.households,
        stations=args.stations,
        seed=args.seed,
        name=args.name,
        week_start=args.week_start,
        bed_bath_share=args.bed_bath_share,
    )
    save_scenario(scenario, args.out)
    load = estimate_load(scenario)
    requests = sum(len(h.requests) for h in scenario.households)
    print(
        f"wrote {args.out}: {len(scenario.stations)} stations, "
        f"{len(scenario.caregivers)} caregivers, {len(scenario.households)} households, "
        f"{requests} requests, {load.visits} visits/week; load {load.ratio:.0%} "
        f"(service {load.service_minutes} + travel ≈{load.travel_minutes:.0f} "
        f"of {load.capacity_minutes} productive minutes)"
    )
    return 0


def generate_main(argv: Sequence[str] | None = None) -> int:
    """``dispatch generate --households H --stations S [--seed N] --out FILE``; the exit code.

    0 when the file is written, 2 for bad options (one line on standard error).
    """
    parser = argparse.ArgumentParser(
        prog="dispatch generate",
        description="Write a realistic demo district scenario (format 1) 生成演示辖区.",
    )
    add_generate_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_generate(args)
    except (ValueError, OSError) as exc:
        print(f"dispatch generate: error: {exc}", file=sys.stderr)
        return 2
