"""Straight-line minutes beside road minutes, per travel mode (``dispatch compare-travel``).

The contract's model prices a leg at ``ceil(60 * circuity * km / speed)``. A locality with a
road provider (a stored matrix, an OSRM or Valhalla server) can measure how far that is from
its roads: for every pair of the scenario's places (or a sample of households), the ratio of
road minutes to the model's, the circuity each pair implies (``road minutes * speed / (60 *
km)``; pairs under :data:`MIN_KM` apart are left out of it, rounding to whole minutes
dominates them) and the pairs where the two disagree most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from dispatch.model import Scenario, TravelSettings
from dispatch.travel import HaversineProvider, haversine_km_matrix
from dispatch.travel_tables import resolve_travel, scenario_modes, scenario_places

__all__ = ["MIN_KM", "ModeComparison", "PairGap", "compare_travel", "format_comparison"]

#: Pairs closer than this (km) count in the ratios but not in the implied circuity.
MIN_KM = 0.3


@dataclass(frozen=True)
class PairGap:
    """One pair of places: straight-line km, the model's minutes and the road's."""

    origin: str
    destination: str
    km: float
    model_minutes: int
    road_minutes: int


@dataclass(frozen=True)
class ModeComparison:
    """How one travel mode's road minutes compare with the model's over ``pairs`` pairs."""

    mode: str
    speed_kmh: float
    pairs: int
    ratio_median: float
    ratio_p90: float
    ratio_max: float
    road_slower_share: float
    circuity_median: float
    circuity_p90: float
    model_circuity: float
    worst: tuple[PairGap, ...]


def _sample(scenario: Scenario, households: int | None, seed: int) -> Scenario:
    if households is None or len(scenario.households) <= households:
        return scenario
    rng = np.random.default_rng(seed)
    keep = sorted(rng.choice(len(scenario.households), size=households, replace=False))
    return replace(scenario, households=tuple(scenario.households[int(i)] for i in keep))


def compare_travel(
    scenario: Scenario,
    settings: TravelSettings | None = None,
    *,
    households: int | None = 2000,
    worst: int = 5,
    seed: int = 0,
    cache_dir: str | None = None,
) -> list[ModeComparison]:
    """Road minutes of ``settings`` (default: the scenario's own provider) against the
    contract's model with the scenario's circuity and speeds, per mode its caregivers use.

    ``households`` caps the households compared (a seeded sample; ``None``: all). Raises
    ``ValueError`` when the provider is the model itself, and what
    :func:`dispatch.travel_tables.resolve_travel` raises.
    """
    road = settings if settings is not None else scenario.travel
    if road.provider == "haversine":
        raise ValueError(
            "travel.provider: haversine is the model itself; name a road provider to compare"
        )
    subject = _sample(scenario, households, seed)
    subject = resolve_travel(
        replace(subject, travel=replace(road, table=None)), cache_dir=cache_dir
    )
    model = HaversineProvider.from_settings(scenario.travel)
    places = scenario_places(subject)
    table = subject.travel.table
    assert table is not None
    lat = np.array([p.lat for p in places])
    lon = np.array([p.lon for p in places])
    km = haversine_km_matrix(lat, lon, lat, lon)
    off = ~np.eye(len(places), dtype=bool)
    out = []
    for mode in scenario_modes(scenario):
        straight = model.matrix(places, mode)
        roads = np.asarray(table.matrix(places, mode))
        use = off & (straight > 0)
        ratio = roads[use] / straight[use]
        speed = model.speed_kmh[mode]
        far = off & (km >= MIN_KM)
        implied = roads[far] * speed / (60.0 * km[far])
        gap = np.where(off, roads - straight, np.iinfo(np.int64).min)
        order = np.argsort(gap, axis=None)[::-1][:worst]
        worst_pairs = []
        for flat in order:
            i, j = divmod(int(flat), len(places))
            if not off[i, j]:
                continue
            worst_pairs.append(
                PairGap(
                    places[i].key,
                    places[j].key,
                    round(float(km[i, j]), 3),
                    int(straight[i, j]),
                    int(roads[i, j]),
                )
            )
        out.append(
            ModeComparison(
                mode=mode,
                speed_kmh=speed,
                pairs=int(use.sum()),
                ratio_median=_q(ratio, 0.5),
                ratio_p90=_q(ratio, 0.9),
                ratio_max=float(ratio.max()) if ratio.size else float("nan"),
                road_slower_share=float((roads[use] > straight[use]).mean()) if ratio.size else 0,
                circuity_median=_q(implied, 0.5),
                circuity_p90=_q(implied, 0.9),
                model_circuity=model.circuity,
                worst=tuple(worst_pairs),
            )
        )
    return out


def _q(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else float("nan")


def comparison_dicts(rows: Sequence[ModeComparison]) -> list[dict[str, object]]:
    """The comparisons as JSON-ready dictionaries."""
    return [asdict(r) for r in rows]


def format_comparison(rows: Sequence[ModeComparison]) -> str:
    """The comparison as text: one line of figures per mode, then its worst pairs."""
    lines = []
    for r in rows:
        lines.append(
            f"{r.mode} ({r.speed_kmh:g} km/h), {r.pairs} pairs: road / straight-line minutes "
            f"median {r.ratio_median:.2f}, 90th percentile {r.ratio_p90:.2f}, worst "
            f"{r.ratio_max:.2f}; road slower on {100 * r.road_slower_share:.0f}% of pairs"
        )
        lines.append(
            f"  circuity implied by the roads: median {r.circuity_median:.2f}, 90th percentile "
            f"{r.circuity_p90:.2f} (the scenario's: {r.model_circuity:g}) "
            f"/ 路网绕行系数中位数 {r.circuity_median:.2f}"
        )
        for p in r.worst:
            lines.append(
                f"  {p.origin} -> {p.destination}: {p.km:.2f} km, model {p.model_minutes} min, "
                f"road {p.road_minutes} min ({p.road_minutes - p.model_minutes:+d})"
            )
    return "\n".join(lines)
