"""The demo district's fixed numbers and the load estimate (for :mod:`dispatch.generate`).

Places, shares, shifts, the services each kind of caregiver is qualified for, name pools, and
:func:`estimate_load` (required minutes over productive minutes). Names with a leading
underscore are shared by the generator's modules only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from dispatch.model import (
    Break,
    Caregiver,
    Household,
    Scenario,
    Station,
    rest_applies,
)
from dispatch.timeutil import parse_hhmm
from dispatch.travel import Place, TravelProvider, haversine_km_matrix, provider_for
from dispatch.travel_tables import resolve_travel

__all__ = [
    "CITY_CENTRE",
    "DEFAULT_DAYS",
    "RURAL_CENTRE",
    "TARGET_LOAD",
    "YINCHUAN",
    "CityDistrict",
    "DistrictLayout",
    "LoadEstimate",
    "estimate_load",
    "productive_minutes",
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


@dataclass(frozen=True)
class DistrictLayout:
    """Where a generated district lies and how its ids begin (WGS-84 degrees, km).

    ``centre`` is the middle of its urban stations, spread over a box of ``urban_half_km``
    (north-south, east-west half sides); ``rural_centre`` the middle of its township stations,
    over ``rural_half_km``. ``urban_share`` of the households live in the urban part.
    ``prefix`` starts every station, caregiver and household id (``"XQ-"`` gives ``XQ-S01``,
    ``XQ-C001``, ``XQ-H0001``), so that districts joined into one city never share an id;
    ``place`` starts every station's name (``"兴庆区"``). The default is the demo district.
    """

    centre: tuple[float, float] = CITY_CENTRE
    rural_centre: tuple[float, float] = RURAL_CENTRE
    urban_share: float = _URBAN_SHARE
    urban_half_km: tuple[float, float] = (6.0, 6.5)
    rural_half_km: tuple[float, float] = (4.0, 12.0)
    prefix: str = ""
    place: str = ""


@dataclass(frozen=True)
class CityDistrict:
    """One district or county of a generated city (市辖区/县/县级市): its ``code`` (the prefix of
    its ids), names, its ``share`` of the city's households and stations, and its layout (urban
    part around ``centre``, rural part around ``rural_centre``, ``urban_share`` of households
    urban; ``urban_half_km`` the half sides of the box its urban stations fill)."""

    code: str
    name: str
    name_en: str
    share: float
    centre: tuple[float, float]
    rural_centre: tuple[float, float]
    urban_share: float
    urban_half_km: tuple[float, float] = (3.5, 3.5)


#: Yinchuan (银川市): three urban districts and three counties; shares after their registered
#: population, urban shares chosen so that the city comes out at about :data:`_URBAN_SHARE`.
#: Urban districts lie about 7-8 km apart (their boxes do not overlap); rural parts around the
#: townships (掌政/月牙湖, 良田, 镇北堡) and the county seats (杨和, 习岗, 灵武).
YINCHUAN: tuple[CityDistrict, ...] = (
    CityDistrict("XQ", "兴庆区", "Xingqing", 0.26, (38.468, 106.300), (38.430, 106.440), 0.93),
    CityDistrict("JF", "金凤区", "Jinfeng", 0.20, (38.472, 106.215), (38.380, 106.200), 0.93),
    CityDistrict("XX", "西夏区", "Xixia", 0.16, (38.500, 106.125), (38.590, 106.040), 0.93),
    CityDistrict(
        "YN", "永宁县", "Yongning", 0.12, (38.277, 106.253), (38.200, 106.230), 0.45, (2.5, 2.5)
    ),
    CityDistrict(
        "HL", "贺兰县", "Helan", 0.12, (38.554, 106.350), (38.650, 106.360), 0.45, (2.5, 2.5)
    ),
    CityDistrict(
        "LW", "灵武市", "Lingwu", 0.14, (38.103, 106.340), (38.030, 106.420), 0.45, (2.5, 2.5)
    ),
)


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
_LEG_BATCH = 256  # households per travel matrix with their station

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
        applies = rest_applies(caregiver, d)
        day_rest = applies.minutes if applies is not None else 0
        work += end - start - day_rest
        rest += day_rest
    if caregiver.max_minutes_per_week is not None:
        work = min(work, caregiver.max_minutes_per_week - rest)
    return max(work, 0)


def _legs(
    provider: TravelProvider, station: Station, homes: Sequence[Household], modes: Sequence[str]
) -> np.ndarray:
    """Mean travel minutes over ``modes`` from ``station`` to each of ``homes``, as
    ``provider`` gives them (for the scenario's haversine provider, the contract's formula)."""
    total = np.zeros(len(homes), dtype=np.float64)
    start = Place(f"station:{station.id}", station.lat, station.lon)
    for first in range(0, len(homes), _LEG_BATCH):
        batch = homes[first : first + _LEG_BATCH]
        places = [start, *(Place(f"household:{h.id}", h.lat, h.lon) for h in batch)]
        for mode in modes:
            total[first : first + len(batch)] += provider.matrix(places, mode)[0, 1:]
    return total / max(len(modes), 1)


def _nearest_station(
    stations: Sequence[Station], lats: Sequence[float], lons: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest station for every point and the distance to it in km."""
    km = haversine_km_matrix(lats, lons, [s.lat for s in stations], [s.lon for s in stations])
    idx = np.argmin(km, axis=1)
    return idx, km[np.arange(len(idx)), idx]


def estimate_load(scenario: Scenario, *, travel: TravelProvider | None = None) -> LoadEstimate:
    """Required service minutes, estimated travel and productive capacity of a scenario's week.

    Service minutes count every visit of every request times its staff; travel minutes come
    from ``travel`` (default: the scenario's own provider). Raises ``ValueError`` when there are
    households but no stations, or for a provider the scenario cannot build.
    """
    scenario = resolve_travel(scenario)
    visits = service = 0
    capacity = sum(productive_minutes(c, scenario.days) for c in scenario.caregivers)
    if scenario.households and not scenario.stations:
        raise ValueError("households without any station")
    if not scenario.households:
        return LoadEstimate(0, 0, 0.0, capacity)
    provider = travel if travel is not None else provider_for(scenario)
    idx, _km = _nearest_station(
        scenario.stations,
        [h.lat for h in scenario.households],
        [h.lon for h in scenario.households],
    )
    everyone = [c.mode for c in scenario.caregivers] or ["ebike"]
    modes_at: dict[str, list[str]] = {}
    for c in scenario.caregivers:
        modes_at.setdefault(c.station, []).append(c.mode)
    leg = np.zeros(len(scenario.households), dtype=np.float64)
    for si, station in enumerate(scenario.stations):
        mine = np.flatnonzero(idx == si)
        homes = [scenario.households[int(i)] for i in mine]
        leg[mine] = _legs(provider, station, homes, modes_at.get(station.id, everyone))
    travel_minutes = 0.0
    for i, h in enumerate(scenario.households):
        for r in h.requests:
            n = r.visits_per_week * r.staff
            visits += r.visits_per_week
            service += n * r.minutes
            travel_minutes += n * float(leg[i])
    return LoadEstimate(visits, service, travel_minutes, capacity)
