"""Where to open a station (新站点选址): the maximal covering what-if of the 15-minute circle.

Choose ``k`` new sites among candidate points (given, or the households' own positions) so
that the most need is within ``limit`` minutes of a station:

- a household's **need weight** is its assessment level plus one (GB/T 42195-2022 levels 0
  intact … 4 total loss of ability give weights 1 … 5; a household without an assessment
  weighs 1), so a site near severely disabled elders is worth more than one near able ones;
- households already inside the circle of an existing station (by its own mode,
  :mod:`dispatch.programmes.circle`) count as covered and add nothing;
- a candidate reaches a household when the minutes from it by ``mode`` are at most ``limit``;
  ``mode`` defaults to the mode most stations use (:func:`dispatch.kpis.station_modes`).

:func:`solver.covering.solve_covering` chooses the sites; they come back as stations ``NEW1``,
``NEW2`` … (新站点1 …) and as a :class:`dispatch.whatif.Modifications` that adds them.

New stations have no caregivers, so by themselves they change the map but no route.
:func:`reassign_caregivers` hands each new site, in order, the ``n`` caregivers whose stations are
nearest to it (great-circle distance from their station; ties by caregiver id; a caregiver
moves at most once, keeping mode, shifts and skills). :func:`compare_siting` plans the week
without and with the new sites (and moved caregivers) and compares coverage, travel, the
planned share of visits and what is left unassigned; both plans must pass the checker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from dispatch.checker import check_plan
from dispatch.greedy import plan_greedy
from dispatch.kpis import CIRCLE_MINUTES, station_modes
from dispatch.model import MODES, Household, Plan, Scenario, Station
from dispatch.programmes.circle import CircleReport, circle_report
from dispatch.travel import Place, TravelProvider, haversine_km_matrix, provider_for
from dispatch.travel_tables import resolve_travel, travel_of_plan
from dispatch.weekly.planner import plan_week
from dispatch.whatif import Modifications, apply_modifications
from solver.covering import solve_covering
from solver.problem import SolveParams

__all__ = [
    "Candidate",
    "SitingComparison",
    "SitingResult",
    "WeekFigures",
    "choose_sites",
    "compare_siting",
    "need_weight",
    "reassign_caregivers",
    "siting_mode",
]


@dataclass(frozen=True)
class Candidate:
    """A point where a station could open (WGS-84)."""

    lat: float
    lon: float
    name: str = ""


@dataclass(frozen=True)
class SitingResult:
    """The chosen sites and what they cover.

    ``chosen`` indexes the candidates; ``sites`` are the new stations in that order;
    ``outside_before``/``outside_after`` the household ids outside the circle without and with
    them (the new sites reaching by ``mode``) among ``households``; ``weight_before``/
    ``weight_after`` the need weight inside; ``optimal`` whether the solver proved no choice
    covers more.
    """

    mode: str
    limit: int
    households: int
    chosen: tuple[int, ...]
    sites: tuple[Station, ...]
    outside_before: tuple[str, ...]
    outside_after: tuple[str, ...]
    weight_before: int
    weight_after: int
    total_weight: int
    optimal: bool

    @property
    def share_before(self) -> float:
        """The share of households inside the circle without the new sites (1.0 for none)."""
        return 1.0 - len(self.outside_before) / self.households if self.households else 1.0

    @property
    def share_after(self) -> float:
        """The share of households inside the circle with the new sites (1.0 for none)."""
        return 1.0 - len(self.outside_after) / self.households if self.households else 1.0

    @property
    def modifications(self) -> Modifications:
        """The what-if that opens the chosen sites."""
        return Modifications(add_stations=self.sites)


def need_weight(household: Household) -> int:
    """A household's need: its assessment level plus one (1 without an assessment)."""
    level = household.assessment_level
    return 1 + (level if level is not None and level > 0 else 0)


def siting_mode(scenario: Scenario) -> str:
    """The travel mode most stations use (ties to the slower mode; ``ebike`` without
    stations)."""
    counts = Counter(station_modes(scenario).values())
    if not counts:
        return "ebike"
    return max(MODES, key=lambda m: (counts.get(m, 0), -MODES.index(m)))


def _new_ids(scenario: Scenario, k: int) -> list[tuple[str, str]]:
    """``k`` fresh ``(id, name)`` pairs: ``NEW1``/新站点1 upwards, skipping ids in use."""
    taken = {s.id for s in scenario.stations}
    out: list[tuple[str, str]] = []
    n = 0
    while len(out) < k:
        n += 1
        if f"NEW{n}" not in taken:
            out.append((f"NEW{n}", f"新站点{n} new site {n}"))
    return out


def _site_name(name: str, point: Candidate) -> str:
    """A new station's name, with the candidate's own name in brackets when it has one."""
    return f"{name} ({point.name})" if point.name else name


def choose_sites(
    scenario: Scenario,
    k: int,
    *,
    candidates: Sequence[Candidate] | None = None,
    limit: int = CIRCLE_MINUTES,
    mode: str | None = None,
    travel: TravelProvider | None = None,
    time_limit: float = 10.0,
) -> SitingResult:
    """The ``k`` candidates that bring the most need weight inside the circle (see the module).

    ``candidates`` default to the households' positions. ``k`` above the number of candidates
    opens them all. Raises ``ValueError`` naming the argument for a negative ``k`` or
    ``limit``, an unknown ``mode`` or a non-finite candidate coordinate.
    """
    scenario = resolve_travel(scenario)
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    if limit < 0:
        raise ValueError(f"limit must be at least 0 minutes, got {limit}")
    points = (
        tuple(Candidate(h.lat, h.lon, h.name or h.id) for h in scenario.households)
        if candidates is None
        else tuple(candidates)
    )
    how = mode if mode is not None else siting_mode(scenario)
    if how not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {how!r}")
    provider = travel if travel is not None else provider_for(scenario)
    before = circle_report(scenario, limit=limit, travel=provider)
    weights = [need_weight(h) for h in scenario.households]
    open_weights = [0 if r.inside else w for r, w in zip(before.reaches, weights, strict=True)]
    places = [Place(f"candidate:{i}", c.lat, c.lon) for i, c in enumerate(points)]
    places += [Place(f"household:{h.id}", h.lat, h.lon) for h in scenario.households]
    m = len(points)
    try:
        covers = provider.matrix(places, how)[:m, m:] <= limit
    except ValueError as exc:
        raise ValueError(f"candidates: {exc}") from None
    answer = solve_covering(covers.tolist(), open_weights, k, time_limit=time_limit)
    ids = _new_ids(scenario, len(answer.chosen))
    sites = tuple(
        Station(sid, points[i].lat, points[i].lon, name=_site_name(name, points[i]))
        for (sid, name), i in zip(ids, answer.chosen, strict=True)
    )
    reached = [bool(covers[list(answer.chosen), j].any()) for j in range(len(weights))]
    after_inside = [r.inside or hit for r, hit in zip(before.reaches, reached, strict=True)]
    inside_weight = sum(w for r, w in zip(before.reaches, weights, strict=True) if r.inside)
    return SitingResult(
        mode=how,
        limit=limit,
        households=len(weights),
        chosen=answer.chosen,
        sites=sites,
        outside_before=tuple(r.household for r in before.outside),
        outside_after=tuple(
            r.household
            for r, inside in zip(before.reaches, after_inside, strict=True)
            if not inside
        ),
        weight_before=inside_weight,
        weight_after=inside_weight + answer.covered_weight,
        total_weight=sum(weights),
        optimal=answer.optimal,
    )


def reassign_caregivers(scenario: Scenario, sites: Sequence[Station], n: int) -> Scenario:
    """``scenario`` with each of ``sites`` (already among its stations) given the ``n``
    caregivers of the other stations nearest to it (see the module). Raises ``ValueError``
    for a negative ``n`` or a site the scenario lacks."""
    if n < 0:
        raise ValueError(f"move_caregivers must be at least 0, got {n}")
    known = {s.id: s for s in scenario.stations}
    for site in sites:
        if site.id not in known:
            raise ValueError(f"move_caregivers: station {site.id!r} is not in the scenario")
    new_ids = {s.id for s in sites}
    movable = [c for c in scenario.caregivers if c.station not in new_ids and c.station in known]
    if n == 0 or not sites or not movable:
        return scenario
    home = [known[c.station] for c in movable]
    km = haversine_km_matrix(
        [s.lat for s in sites], [s.lon for s in sites], [h.lat for h in home], [h.lon for h in home]
    )
    moved: dict[str, str] = {}
    for i, site in enumerate(sites):
        order = sorted(range(len(movable)), key=lambda j: (float(km[i, j]), movable[j].id))
        for j in [j for j in order if movable[j].id not in moved][:n]:
            moved[movable[j].id] = site.id
    caregivers = tuple(
        replace(c, station=moved[c.id]) if c.id in moved else c for c in scenario.caregivers
    )
    return replace(scenario, caregivers=caregivers)


@dataclass(frozen=True)
class WeekFigures:
    """One side of the comparison: the circle and the week planned on it."""

    households_outside: int
    share_inside: float
    travel_minutes: int
    planned_share: float
    unassigned_visits: int
    plan: Plan


@dataclass(frozen=True)
class SitingComparison:
    """The week without (``before``) and with (``after``) the chosen sites."""

    siting: SitingResult
    moved_caregivers: int
    before: WeekFigures
    after: WeekFigures
    scenario_after: Scenario


def _week(
    scenario: Scenario,
    report: CircleReport,
    planner: Literal["greedy", "weekly"],
    seconds: float,
    travel: TravelProvider | None,
) -> WeekFigures:
    """Plan ``scenario``'s week, check it, and take its figures."""
    if planner == "greedy":
        plan = plan_greedy(scenario, travel=travel)
    else:
        plan = plan_week(
            scenario, travel=travel, params=SolveParams(time_limit=seconds), deterministic=False
        )
    checked = (
        check_plan(scenario, plan)
        if travel is not None
        else check_plan(travel_of_plan(scenario, plan), plan)
    )
    if not checked.ok:
        first = checked.violations[0]
        raise RuntimeError(f"siting: the {planner} plan breaks a rule: {first}")
    k = plan.kpis
    required = k.get("required_visits", 0.0)
    return WeekFigures(
        households_outside=len(report.outside),
        share_inside=report.district.share,
        travel_minutes=int(k.get("travel_minutes", 0.0)),
        planned_share=k.get("planned_visits", 0.0) / required if required else 1.0,
        unassigned_visits=sum(u.missing_visits for u in plan.unassigned),
        plan=plan,
    )


def compare_siting(
    scenario: Scenario,
    k: int,
    *,
    candidates: Sequence[Candidate] | None = None,
    limit: int = CIRCLE_MINUTES,
    mode: str | None = None,
    move_caregivers: int = 0,
    planner: Literal["greedy", "weekly"] = "greedy",
    seconds: float = 5.0,
    travel: TravelProvider | None = None,
    time_limit: float = 10.0,
) -> SitingComparison:
    """Choose ``k`` sites (:func:`choose_sites`), move ``move_caregivers`` caregivers to each
    (:func:`reassign_caregivers`), and plan the week before and after with ``planner`` (the greedy
    baseline, or the weekly planner given ``seconds``).

    The circle of each side is that of its own scenario: after the change the new stations
    reach by their moved caregivers' mode (by e-bike when none moved), which may differ from
    the siting ``mode``. Raises ``ValueError`` for bad arguments and ``RuntimeError`` when a
    plan fails the checker.
    """
    scenario = resolve_travel(scenario)
    siting = choose_sites(
        scenario,
        k,
        candidates=candidates,
        limit=limit,
        mode=mode,
        travel=travel,
        time_limit=time_limit,
    )
    opened = apply_modifications(scenario, siting.modifications)
    after = reassign_caregivers(opened, siting.sites, move_caregivers)
    moved = sum(
        1
        for a, b in zip(scenario.caregivers, after.caregivers, strict=True)
        if a.station != b.station
    )
    return SitingComparison(
        siting=siting,
        moved_caregivers=moved,
        before=_week(
            scenario, circle_report(scenario, limit=limit, travel=travel), planner, seconds, travel
        ),
        after=_week(
            after, circle_report(after, limit=limit, travel=travel), planner, seconds, travel
        ),
        scenario_after=after,
    )
