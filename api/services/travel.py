"""The stored scenario's travel times, one source for the planner, the hotline and the console.

A stored scenario whose ``travel.provider`` names a stored matrix or a road-routing server
gets its travel table when it is read (:func:`with_travel`, over
:func:`dispatch.travel_tables.resolve_travel`): a week's scenario is built once per stored
revision (:mod:`api.services.master`), so the matrices are read or asked for once, then shared
by every plan job, hotline call, absence re-route and check of that week. Road matrices are
cached on disk by content under the ``travel_cache`` setting (:func:`configure`). A server
that does not answer makes the request fail with 503 naming it; nothing is stored from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from api.services.errors import Conflict, FieldProblem, InputError, Unavailable
from dispatch.model import Scenario
from dispatch.scenario_io import parse_scenario
from dispatch.travel_tables import TravelTableError, resolve_travel

__all__ = ["body_scenario", "configure", "with_travel"]

_cache_dir: Path | None = None


def configure(cache_dir: str | Path | None) -> None:
    """Where this process caches road matrices (the service's ``travel_cache`` setting)."""
    global _cache_dir
    _cache_dir = Path(cache_dir) if cache_dir is not None else None


def with_travel(scenario: Scenario) -> Scenario:
    """``scenario`` with its travel table; unchanged on the contract's model.

    Raises :class:`Unavailable` (503) when a road server fails and :class:`Conflict` (409)
    when the stored matrix does not serve the scenario's places.
    """
    if scenario.travel.provider == "haversine":
        return scenario
    from dispatch.roads import RoadServerError

    try:
        return resolve_travel(scenario, cache_dir=_cache_dir)
    except RoadServerError as exc:
        raise Unavailable(f"路网服务不可用 / road travel times unavailable: {exc}") from None
    except TravelTableError as exc:
        raise Conflict(f"路网矩阵不可用 / travel matrix unusable: {exc}") from None


def body_scenario(document: Mapping[str, Any], path: str = "body.scenario") -> Scenario:
    """A scenario sent with a request, on the contract's model only.

    Road travel times come with the stored scenario, whose import a planner controls: a
    request body must not make the service read a file or call a server it names. Raises
    :class:`InputError` naming ``travel.provider``, and what ``parse_scenario`` raises.
    """
    scenario = parse_scenario(document).scenario
    if scenario.travel.provider != "haversine":
        message = (
            "a scenario sent with a request uses the contract's model (haversine); road "
            "travel times are set on the stored scenario / 请求中的场景只能使用直线模型"
        )
        raise InputError(message, [FieldProblem(f"{path}.travel.provider", message)])
    return scenario
