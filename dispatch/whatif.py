"""What-if modifications of a scenario (假设分析): more or fewer caregivers, more or less demand,
a station moved or added. Pure functions of immutable values; the planner then solves the result.

:func:`apply_modifications` applies them in a fixed order: add stations, move stations, add
caregivers, remove caregivers, scale demand. Every choice is deterministic (no randomness), so
the same modifications of the same scenario give the same scenario.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dispatch.model import Caregiver, Household, Scenario, Station

__all__ = [
    "AddCaregivers",
    "Modifications",
    "MoveStation",
    "apply_modifications",
    "scale_demand",
]


@dataclass(frozen=True)
class AddCaregivers:
    """``count`` new caregivers at ``station``, copying ``template``'s skills, shifts, rest,
    gender, mode and caps; their ids are ``{station}-new{k}``."""

    station: str
    count: int
    template: str


@dataclass(frozen=True)
class MoveStation:
    """Move a station to ``lat``/``lon`` (WGS-84)."""

    station: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Modifications:
    """Everything a what-if job may change; empty by default (the scenario as stored)."""

    add_stations: tuple[Station, ...] = ()
    move_stations: tuple[MoveStation, ...] = ()
    add_caregivers: tuple[AddCaregivers, ...] = ()
    remove_caregivers: tuple[str, ...] = ()
    scale_demand: float | None = None


def _rank(key: str) -> str:
    """A stable pseudo-random order of ids (the same on every run and machine)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _copy(h: Household, k: int) -> Household:
    suffix = f"-x{k}"
    return replace(
        h,
        id=h.id + suffix,
        name=h.name,
        requests=tuple(replace(r, id=r.id + suffix) for r in h.requests),
    )


def scale_demand(households: Sequence[Household], factor: float) -> tuple[Household, ...]:
    """Households whose number is ``round(len * factor)``: below 1 a deterministic subset is
    kept, above 1 households are copied (ids and request ids get ``-x1``, ``-x2``, …) in a
    deterministic order. Raises ``ValueError`` for a factor that is not positive."""
    if not factor > 0:
        raise ValueError(f"scale_demand must be positive, got {factor}")
    target = round(len(households) * factor)
    order = sorted(households, key=lambda h: _rank(h.id))
    if target <= len(households):
        keep = {h.id for h in order[:target]}
        return tuple(h for h in households if h.id in keep)
    extra = [_copy(order[i % len(order)], 1 + i // len(order)) for i in range(target - len(order))]
    return (*households, *extra)


def _new_caregivers(scenario: Scenario, add: AddCaregivers, taken: set[str]) -> list[Caregiver]:
    if add.count < 1:
        raise ValueError(f"add_caregivers: count must be at least 1, got {add.count}")
    if add.station not in {s.id for s in scenario.stations}:
        raise ValueError(f"add_caregivers: unknown station {add.station!r}")
    try:
        template = scenario.caregiver(add.template)
    except KeyError:
        raise ValueError(f"add_caregivers: unknown template caregiver {add.template!r}") from None
    out: list[Caregiver] = []
    k = 0
    while len(out) < add.count:
        k += 1
        cid = f"{add.station}-new{k}"
        if cid in taken:
            continue
        taken.add(cid)
        out.append(replace(template, id=cid, station=add.station, name=f"{template.name}·{k}"))
    return out


def apply_modifications(scenario: Scenario, changes: Modifications) -> Scenario:
    """``scenario`` with ``changes`` applied (see the module's order).

    Removed caregivers are also taken off households' preferred and forbidden lists. Raises
    ``ValueError`` naming the problem for unknown stations or caregivers, a station id that
    exists already, or a non-positive count or factor.
    """
    stations = list(scenario.stations)
    ids = {s.id for s in stations}
    for new in changes.add_stations:
        if new.id in ids:
            raise ValueError(f"add_station: station {new.id!r} exists already")
        ids.add(new.id)
        stations.append(new)
    for move in changes.move_stations:
        if move.station not in ids:
            raise ValueError(f"move_station: unknown station {move.station!r}")
        stations = [
            replace(s, lat=move.lat, lon=move.lon) if s.id == move.station else s for s in stations
        ]
    result = replace(scenario, stations=tuple(stations))
    caregivers = list(result.caregivers)
    taken = {c.id for c in caregivers}
    for add in changes.add_caregivers:
        caregivers += _new_caregivers(result, add, taken)
    unknown = [cid for cid in changes.remove_caregivers if cid not in taken]
    if unknown:
        raise ValueError(f"remove_caregivers: unknown caregiver(s) {unknown}")
    gone = set(changes.remove_caregivers)
    caregivers = [c for c in caregivers if c.id not in gone]
    households: tuple[Household, ...] = result.households
    if gone:
        households = tuple(
            replace(
                h,
                preferred_caregivers=tuple(c for c in h.preferred_caregivers if c not in gone),
                forbidden_caregivers=tuple(c for c in h.forbidden_caregivers if c not in gone),
            )
            for h in households
        )
    if changes.scale_demand is not None:
        households = scale_demand(households, changes.scale_demand)
    return replace(result, caregivers=tuple(caregivers), households=households)
