"""The demo district's caregivers (for :mod:`dispatch.generate`).

A station's roster is grown one shift slot at a time for the largest shortfall of a set of
caregiver kinds, then trimmed; households' gender and caregiver preferences are added
only where the station can still serve them.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from dispatch.district_base import (
    _BODILY_CARE,
    _CAPACITY,
    _DAY_END,
    _DAY_START,
    _FULL_WEEK_CAP,
    _GIVEN_F,
    _GIVEN_M,
    _LEVEL4,
    _LEVEL5,
    _LUNCH,
    _MAX_SLOTS,
    _MORNING_END,
    _NOON,
    _NOON_SHARE,
    _NURSE,
    _PART_END,
    _PART_START,
    _PART_TIME_SHARE,
    _PART_WEEK_CAP,
    _PEAK_SHARE,
    _QUALIFIED,
    _SKILL_SHARE,
    _SURNAMES,
    _THERAPIST,
    _WEEKDAYS,
    DEFAULT_DAYS,
    productive_minutes,
)
from dispatch.district_homes import (
    _Site,
)
from dispatch.model import (
    Caregiver,
    Household,
    ServiceRequest,
)
from dispatch.scenario_io import max_visits_in_week

__all__: list[str] = []

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
    prefix: str = "",
) -> Caregiver:
    """The next caregiver of a station's team for a slot: id (after ``prefix``), gender, mode,
    name, day off."""
    k = len(team)
    gender = "M" if rng.random() < (0.18 if site.rural else 0.08) else "F"
    return _caregiver_from(
        role,
        skills[role.kind],
        cid=f"{prefix}C{first + k + 1:03d}",
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
