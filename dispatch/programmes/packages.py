"""Default packages (默认服务包): the standing requests a household gets from its assessment level.

A household imported with an assessment level (GB/T 42195, 0–4) and no requests has not been
given a service agreement yet; it gets its level's package from the tables
(:mod:`dispatch.programmes.entitlements`) so it is planned from the first week. Households with
requests keep them: the package is a default, never a second set.
"""

from __future__ import annotations

from dataclasses import replace

from dispatch.catalogue import Catalogue, default_catalogue
from dispatch.document import DocumentError, ValidationIssue
from dispatch.model import Household, Scenario, ServiceRequest
from dispatch.programmes.entitlements import Tables

__all__ = ["apply_packages", "package_requests"]


def package_requests(
    household: Household, tables: Tables, *, catalogue: Catalogue | None = None
) -> tuple[ServiceRequest, ...]:
    """The requests of the household's level's package, ids ``<household>-pkg-<service>``;
    minutes, windows and staff the catalogue's where the package gives none. Raises
    ``KeyError`` when the tables have no package for its level."""
    services = default_catalogue() if catalogue is None else catalogue
    items = tables.packages[household.assessment_level or 0]
    out = []
    for item in items:
        service = services[item.service]
        out.append(
            ServiceRequest(
                id=f"{household.id}-pkg-{item.service}",
                service=item.service,
                minutes=item.minutes if item.minutes is not None else service.minutes,
                windows=item.windows if item.windows is not None else service.windows,
                visits_per_week=item.visits_per_week,
                min_gap_days=item.min_gap_days,
                staff=service.staff,
                skill=service.skill if service.skill != item.service else None,
            )
        )
    return tuple(out)


def apply_packages(
    scenario: Scenario, tables: Tables, *, catalogue: Catalogue | None = None
) -> Scenario:
    """The scenario with every household that has an assessment level and no requests given
    its level's package. Raises :class:`DocumentError` naming ``packages.<level>`` for each
    level some household needs that the tables have no package for."""
    needing = [h for h in scenario.households if h.assessment_level is not None and not h.requests]
    lacking: dict[int, list[str]] = {}
    for h in needing:
        if h.assessment_level not in tables.packages:
            lacking.setdefault(h.assessment_level or 0, []).append(h.id)
    if lacking:
        raise DocumentError(
            ValidationIssue(
                f"packages.{level}",
                f"no package for assessment level {level} (household"
                f"{'s' if len(ids) > 1 else ''} {', '.join(ids)} need"
                f"{'' if len(ids) > 1 else 's'} one)",
            )
            for level, ids in sorted(lacking.items())
        )
    households = tuple(
        replace(h, requests=package_requests(h, tables, catalogue=catalogue))
        if h.assessment_level is not None and not h.requests
        else h
        for h in scenario.households
    )
    return replace(scenario, households=households)
