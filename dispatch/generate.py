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
import os
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.district_base import (
    _DENSE_KM,
    _QUALIFIED,
    CITY_CENTRE,
    DEFAULT_DAYS,
    RURAL_CENTRE,
    TARGET_LOAD,
    YINCHUAN,
    CityDistrict,
    DistrictLayout,
    LoadEstimate,
    _legs,
    _nearest_station,
    estimate_load,
    productive_minutes,
)
from dispatch.district_homes import (
    _flat_km,
    _household,
    _sites,
)
from dispatch.district_staff import (
    _hire,
    _missing_role,
    _roster,
    _served,
    _with_preferences,
)
from dispatch.engines import EngineSettings, open_engine
from dispatch.model import (
    Caregiver,
    Household,
    Scenario,
    TravelSettings,
)
from dispatch.scenario_io import parse_scenario, save_scenario, scenario_to_dict
from dispatch.travel import HaversineProvider

__all__ = [
    "CITY_CENTRE",
    "DEFAULT_DAYS",
    "RURAL_CENTRE",
    "TARGET_LOAD",
    "YINCHUAN",
    "CityDistrict",
    "DistrictLayout",
    "LoadEstimate",
    "add_generate_arguments",
    "city_shares",
    "estimate_load",
    "generate_city",
    "generate_district",
    "generate_main",
    "productive_minutes",
    "run_generate",
]

# ------------------------------------------------------------------------------------------
# The district


def _check_options(
    households: int, stations: int, bed_bath_share: float, target_load: float, week_start: str
) -> None:
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
    layout: DistrictLayout | None = None,
) -> Scenario:
    """A realistic district of ``households`` homes served from ``stations`` stations.

    Deterministic for a ``seed``. ``week_start`` is the ISO date of the week's Monday.
    ``bed_bath_share`` is the share of level-4 elders who get a two-caregiver bed bath
    (助浴·卧床) instead of an ordinary bath (default 0: no staff-2 requests). ``target_load`` is
    the aimed ratio of required to productive minutes. ``catalogue`` supplies minutes, windows,
    staff and skills (default: the bundled one). ``layout`` says where the district lies, its
    urban share and the prefix of its ids (default: the demo district around
    :data:`CITY_CENTRE`). Raises ``ValueError`` for fewer than one
    household or station, a share or load out of range, or a ``week_start`` not a Monday.
    """
    _check_options(households, stations, bed_bath_share, target_load, week_start)
    if catalogue is None:
        catalogue = default_catalogue()
    skills = {
        kind: frozenset(catalogue[code].skill for code in codes if code in catalogue)
        for kind, codes in _QUALIFIED.items()
    }
    rng = random.Random(seed)
    travel = TravelSettings()
    provider = HaversineProvider.from_settings(travel)
    where = layout or DistrictLayout()
    sites = _sites(rng, stations, where)
    urban = [s for s in sites if not s.rural]
    rural = [s for s in sites if s.rural]
    n_urban = households if not rural else round(households * where.urban_share)
    homes: list[Household] = []
    for k in range(households):
        pool = urban if k < n_urban and urban else rural
        site = rng.choices(pool, weights=[s.weight for s in pool])[0]
        cluster = rng.choice(site.clusters)
        homes.append(
            _household(
                rng,
                f"{where.prefix}H{k + 1:04d}",
                cluster,
                site.town,
                catalogue=catalogue,
                bed_bath_share=bed_bath_share,
            )
        )
    station_list = [s.station for s in sites]
    idx, _km = _nearest_station(station_list, [h.lat for h in homes], [h.lon for h in homes])
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
        legs = _legs(provider, site.station, [homes[i] for i in mine], mix)
        roles = _roster([homes[i] for i in mine], [float(x) for x in legs], target=target_load)
        team: list[Caregiver] = []
        for role in roles:
            team.append(
                _hire(
                    rng,
                    role,
                    team,
                    skills,
                    site=site,
                    mix=mix,
                    first=len(caregivers),
                    prefix=where.prefix,
                )
            )
        # A small station may miss a skill on some day (Saturday above all): hire for it.
        for i in mine:
            for _ in range(8):
                missing = _missing_role(homes[i], team, skills)
                if missing is None:
                    break
                team.append(
                    _hire(
                        rng,
                        missing,
                        team,
                        skills,
                        site=site,
                        mix=mix,
                        first=len(caregivers),
                        prefix=where.prefix,
                    )
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
# The city


def city_shares(total: int, shares: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``shares`` (largest remainders), at least one each.

    Raises ``ValueError`` when ``total`` is smaller than the number of shares.
    """
    if total < len(shares):
        raise ValueError(f"need at least {len(shares)} to split over the districts, got {total}")
    weight = sum(shares)
    spare = total - len(shares)  # one each first, the rest in proportion
    exact = [spare * w / weight for w in shares]
    out = [1 + int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def generate_city(
    *,
    households: int = 30_000,
    stations: int = 250,
    seed: int = 0,
    name: str | None = None,
    week_start: str = "2026-11-23",
    bed_bath_share: float = 0.0,
    target_load: float = TARGET_LOAD,
    catalogue: Catalogue | None = None,
    districts: Sequence[CityDistrict] = YINCHUAN,
    workers: int = 1,
) -> Scenario:
    """A city of several districts and counties (default: Yinchuan's six), joined into one
    scenario: ``households`` and ``stations`` in total, split over ``districts`` by their
    shares (:func:`city_shares`).

    Each district is a :func:`generate_district` of its own around its own centre and county
    seat, with its own urban share and the seed ``seed * 100 + its place in the list``; its
    ids start with its code (``XQ-S01``, ``XQ-C001``, ``XQ-H0001``), so no two districts
    share one. Deterministic for a ``seed``, whatever ``workers``. Most of
    the generator's time goes into each station's roster, so a city takes about as long as one
    district of its size; ``workers`` above 1 builds the districts in that many processes
    (:mod:`dispatch.engines`' local pool; with the default ``catalogue`` only), the same city
    in a fraction of the time. Raises
    ``ValueError`` as :func:`generate_district` does, and when there are fewer households or
    stations than districts or two districts share a code; ``RuntimeError`` when a district's
    process fails twice.
    """
    if len({d.code for d in districts}) != len(districts):
        raise ValueError("every district of a city needs a code of its own")
    _check_options(households, stations, bed_bath_share, target_load, week_start)
    homes = city_shares(households, [d.share for d in districts])
    sites = city_shares(stations, [d.share for d in districts])
    jobs: dict[str, dict[str, Any]] = {
        d.code: {
            "households": n_homes,
            "stations": n_sites,
            "seed": seed * 100 + k,
            "week_start": week_start,
            "bed_bath_share": bed_bath_share,
            "target_load": target_load,
            "catalogue": catalogue,
            "layout": DistrictLayout(
                centre=d.centre,
                rural_centre=d.rural_centre,
                urban_share=d.urban_share,
                urban_half_km=d.urban_half_km,
                prefix=f"{d.code}-",
                place=d.name,
            ),
        }
        for k, (d, n_homes, n_sites) in enumerate(zip(districts, homes, sites, strict=True))
    }
    if workers <= 1 or catalogue is not None:
        parts = [generate_district(**job) for job in jobs.values()]
    else:
        parts = _districts_in_pool(jobs, workers)
    first = parts[0]
    return Scenario(
        name=name or f"演示城市 demo city of {len(districts)} districts (seed {seed})",
        days=first.days,
        stations=tuple(s for p in parts for s in p.stations),
        caregivers=tuple(c for p in parts for c in p.caregivers),
        households=tuple(h for p in parts for h in p.households),
        week_start=week_start,
        travel=first.travel,
    )


def _district_task(job: Mapping[str, Any], _report: Any) -> dict[str, Any]:
    """One district of a city in a worker process, as a scenario document (scenarios hold
    read-only mappings that do not pickle)."""
    return scenario_to_dict(generate_district(**job))


def _districts_in_pool(jobs: Mapping[str, Mapping[str, Any]], workers: int) -> list[Scenario]:
    order = sorted(jobs, key=lambda code: -int(jobs[code]["households"]))  # largest first
    done: dict[str, Scenario] = {}
    settings = EngineSettings("local", workers=min(workers, len(jobs)))
    with open_engine(settings) as engine:
        for result in engine.run(_district_task, {code: jobs[code] for code in order}):
            if not result.ok:
                raise RuntimeError(f"district {result.key} could not be generated: {result.error}")
            done[result.key] = parse_scenario(result.value).scenario
    return [done[code] for code in jobs]


# ------------------------------------------------------------------------------------------
# CLI


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dispatch generate`` to ``parser`` (for the ``dispatch`` CLI)."""
    parser.add_argument(
        "--households",
        type=int,
        default=None,
        help="number of households (required for a district; a city's total, default 30000)",
    )
    parser.add_argument(
        "--stations",
        type=int,
        default=None,
        help="number of service stations (required for a district; a city's total, default 250)",
    )
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
    parser.add_argument(
        "--city",
        action="store_true",
        help="a whole city: Yinchuan's six districts and counties, each around its own centre, "
        "joined into one scenario 生成全市",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes building a city's districts (default: this machine's CPUs)",
    )


def run_generate(args: argparse.Namespace) -> int:
    """Generate and write the district (or with ``--city`` the city) the parsed options ask
    for; print a summary; exit 0.

    Raises ``ValueError`` for bad or missing numbers or dates and ``OSError`` when the file
    cannot be written.
    """
    if args.city:
        scenario = generate_city(
            households=30_000 if args.households is None else args.households,
            stations=250 if args.stations is None else args.stations,
            seed=args.seed,
            name=args.name,
            week_start=args.week_start,
            bed_bath_share=args.bed_bath_share,
            workers=args.workers or os.cpu_count() or 1,
        )
        load = _city_load(scenario)
    else:
        if args.households is None or args.stations is None:
            raise ValueError("--households and --stations are required (or --city)")
        scenario = generate_district(
            households=args.households,
            stations=args.stations,
            seed=args.seed,
            name=args.name,
            week_start=args.week_start,
            bed_bath_share=args.bed_bath_share,
        )
        load = estimate_load(scenario)
    save_scenario(scenario, args.out)
    requests = sum(len(h.requests) for h in scenario.households)
    print(
        f"wrote {args.out}: {len(scenario.stations)} stations, "
        f"{len(scenario.caregivers)} caregivers, {len(scenario.households)} households, "
        f"{requests} requests, {load.visits} visits/week; load {load.ratio:.0%} "
        f"(service {load.service_minutes} + travel ≈{load.travel_minutes:.0f} "
        f"of {load.capacity_minutes} productive minutes)"
    )
    return 0


def _city_load(city: Scenario) -> LoadEstimate:
    """:func:`estimate_load` of a generated city, district by district (by the prefix of the
    ids), so that no distance table spans the whole city."""

    def district(item_id: str) -> str:
        return item_id.split("-", 1)[0]

    parts = [
        estimate_load(
            replace(
                city,
                stations=tuple(s for s in city.stations if district(s.id) == code),
                caregivers=tuple(c for c in city.caregivers if district(c.id) == code),
                households=tuple(h for h in city.households if district(h.id) == code),
            )
        )
        for code in dict.fromkeys(district(s.id) for s in city.stations)
    ]
    return LoadEstimate(
        visits=sum(p.visits for p in parts),
        service_minutes=sum(p.service_minutes for p in parts),
        travel_minutes=sum(p.travel_minutes for p in parts),
        capacity_minutes=sum(p.capacity_minutes for p in parts),
    )


def generate_main(argv: Sequence[str] | None = None) -> int:
    """``dispatch generate --households H --stations S [--seed N] --out FILE`` (or ``--city``
    with totals, default 30000 and 250); the exit code.

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
