"""Writing scenarios as format-1 JSON documents (``docs/SCENARIO.md``): coordinates WGS-84,
times ``"HH:MM"``, every default explicit, so that a written file reads back to the same
scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dispatch.document import FORMAT_VERSION, write_json
from dispatch.model import (
    DAYS,
    Caregiver,
    Household,
    Scenario,
    ServiceRequest,
    Station,
    TravelSettings,
)
from dispatch.timeutil import format_hhmm

__all__ = ["request_to_dict", "save_scenario", "scenario_to_dict", "travel_to_dict"]


def _interval(start: int, end: int) -> list[str]:
    return [format_hhmm(start), format_hhmm(end)]


def _station_dict(s: Station) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id}
    if s.name:
        out["name"] = s.name
    address = getattr(s, "address", "")
    if address:
        out["address"] = address
    out.update(lat=s.lat, lon=s.lon)
    return out


def _caregiver_dict(c: Caregiver) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id}
    if c.name:
        out["name"] = c.name
    out["station"] = c.station
    if c.gender is not None:
        out["gender"] = c.gender
    out["mode"] = c.mode
    out["skills"] = sorted(c.skills)
    out["shifts"] = {d: _interval(*c.shifts[d]) for d in DAYS if d in c.shifts}
    if c.rest is not None:
        out["break"] = {
            "window": _interval(c.rest.window_start, c.rest.window_end),
            "minutes": c.rest.minutes,
        }
    for key in ("max_minutes_per_week", "max_visits_per_day", "capacity"):
        if getattr(c, key) is not None:
            out[key] = getattr(c, key)
    return out


def request_to_dict(q: ServiceRequest) -> dict[str, Any]:
    """A request as a format-1 object."""
    out: dict[str, Any] = {
        "id": q.id,
        "service": q.service,
        "minutes": q.minutes,
        "visits_per_week": q.visits_per_week,
        "min_gap_days": q.min_gap_days,
    }
    if q.days is not None:
        out["days"] = list(q.days)
    out["windows"] = [_interval(a, b) for a, b in q.windows]
    out["staff"] = q.staff
    if q.skill is not None:
        out["skill"] = q.skill
    out["priority"] = q.priority
    if q.load:
        out["load"] = q.load
    if q.patterns is not None:
        out["patterns"] = [list(p) for p in q.patterns]
    if q.after is not None:
        out["after"] = {
            "request": q.after.request,
            "min_minutes": q.after.min_minutes,
            "max_minutes": q.after.max_minutes,
        }
    return out


def _household_dict(h: Household) -> dict[str, Any]:
    out: dict[str, Any] = {"id": h.id}
    for key in ("name", "address"):
        if getattr(h, key):
            out[key] = getattr(h, key)
    out.update(lat=h.lat, lon=h.lon)
    if h.tags:
        out["tags"] = list(h.tags)
    if h.assessment_level is not None:
        out["assessment_level"] = h.assessment_level
    if h.gender_preference is not None:
        out["gender_preference"] = h.gender_preference
    for key in ("preferred_caregivers", "forbidden_caregivers"):
        if getattr(h, key):
            out[key] = list(getattr(h, key))
    out["requests"] = [request_to_dict(q) for q in h.requests]
    return out


def travel_to_dict(travel: TravelSettings) -> dict[str, Any]:
    """The ``travel`` object: the model's parameters, and another provider's settings only
    when given (a scenario on the contract's model is written as it always was)."""
    out: dict[str, Any] = {
        "provider": travel.provider,
        "circuity": travel.circuity,
        "speed_kmh": dict(travel.speed_kmh),
    }
    for key in ("matrix", "max_table_size", "timeout", "config", "dataset"):
        if getattr(travel, key) is not None:
            out[key] = getattr(travel, key)
    for key in ("matrix", "config"):
        # A file named relative to the scenario's own file is written whole: the document may
        # be read elsewhere (a worker process, another folder).
        if key in out and travel.base_dir and not Path(out[key]).is_absolute():
            out[key] = str(Path(travel.base_dir) / out[key])
    if travel.url is not None:
        out["url"] = travel.url if isinstance(travel.url, str) else dict(travel.url)
    if travel.profiles:
        out["profiles"] = dict(travel.profiles)
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a format-1 JSON document (coordinates WGS-84, every default explicit)."""
    out: dict[str, Any] = {"format": FORMAT_VERSION, "name": scenario.name}
    if scenario.week_start is not None:
        out["week_start"] = scenario.week_start
    out["days"] = list(scenario.days)
    out["travel"] = travel_to_dict(scenario.travel)
    out["stations"] = [_station_dict(s) for s in scenario.stations]
    out["caregivers"] = [_caregiver_dict(c) for c in scenario.caregivers]
    out["households"] = [_household_dict(h) for h in scenario.households]
    return out


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write the scenario as format-1 JSON (UTF-8, readable Chinese, indent 2)."""
    write_json(scenario_to_dict(scenario), path)
