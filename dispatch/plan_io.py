"""Reading, validating and writing plans of the public format 1 (``docs/SCENARIO.md``, "Plan").

A plan file holds ``routes`` (one caregiver, one day, stops in visiting order), ``unassigned``
visits with a reason from :class:`dispatch.reasons.Reason`, and ``kpis``. Times are ``"HH:MM"``
in the file and minutes from midnight in :class:`dispatch.model.Plan`. This module checks the
file's shape only; whether a plan is feasible for its scenario is the checker's business.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch.model import (
    DAYS,
    Plan,
    Route,
    RouteBreak,
    Stop,
    TableRef,
    TravelRecord,
    Unassigned,
)
from dispatch.reasons import Reason
from dispatch.scenario_io import (
    FORMAT_VERSION,
    DocumentError,
    DocumentReader,
    load_json,
    write_json,
)
from dispatch.timeutil import format_hhmm

__all__ = [
    "PLAN_FIELDS",
    "REQUIRED_KPIS",
    "ROUTE_FIELDS",
    "STOP_FIELDS",
    "UNASSIGNED_FIELDS",
    "PlanError",
    "load_plan",
    "parse_plan",
    "plan_to_dict",
    "save_plan",
]

PLAN_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "format": True,
        "scenario": True,
        "weeks": False,
        "routes": True,
        "unassigned": True,
        "kpis": True,
        "travel": False,
    }
)
TRAVEL_FIELDS: Mapping[str, bool] = MappingProxyType({"provider": True, "tables": True})
TABLE_REF_FIELDS: Mapping[str, bool] = MappingProxyType({"fingerprint": True, "path": False})
ROUTE_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "caregiver": True,
        "day": True,
        "date": False,
        "leave": True,
        "back": True,
        "break": False,
        "stops": True,
    }
)
ROUTE_BREAK_FIELDS: Mapping[str, bool] = MappingProxyType({"start": True, "end": True})
STOP_FIELDS: Mapping[str, bool] = MappingProxyType(
    {"request": True, "household": True, "arrival": True, "start": True, "end": True}
)
UNASSIGNED_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "request": True,
        "household": True,
        "missing_visits": True,
        "reason": True,
        "detail": False,
        "week": False,
    }
)
#: Figures every plan's ``kpis`` must hold (more are allowed).
REQUIRED_KPIS: tuple[str, ...] = (
    "required_visits",
    "planned_visits",
    "travel_minutes",
    "service_minutes",
    "requests_fully_served",
)
_REASONS: tuple[str, ...] = tuple(r.value for r in Reason)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PlanError(DocumentError):
    """A plan document is invalid; ``issues`` name every bad field."""


def _order(
    r: DocumentReader, path: str, first: tuple[str, int | None], then: tuple[str, int | None]
) -> None:
    """Report when time ``then`` comes before time ``first`` (both already read)."""
    (a_name, a), (b_name, b) = first, then
    if a is not None and b is not None and b < a:
        r.error(f"{path}.{b_name}", f"{format_hhmm(b)} is before {a_name} {format_hhmm(a)}")


def _stop(r: DocumentReader, value: Any, path: str) -> Stop | None:
    before = len(r.errors)
    obj = r.read_object(value, path, STOP_FIELDS)
    if obj is None:
        return None
    request = r.field(obj, path, "request", r.read_text)
    household = r.field(obj, path, "household", r.read_text)
    arrival = r.field(obj, path, "arrival", r.read_time)
    start = r.field(obj, path, "start", r.read_time)
    end = r.field(obj, path, "end", r.read_time)
    _order(r, path, ("arrival", arrival), ("start", start))
    _order(r, path, ("start", start), ("end", end))
    if len(r.errors) > before:
        return None
    return Stop(request=request, household=household, arrival=arrival, start=start, end=end)


def _route_break(r: DocumentReader, value: Any, path: str) -> RouteBreak | None:
    before = len(r.errors)
    obj = r.read_object(value, path, ROUTE_BREAK_FIELDS)
    if obj is None:
        return None
    start = r.field(obj, path, "start", r.read_time)
    end = r.field(obj, path, "end", r.read_time)
    _order(r, path, ("start", start), ("end", end))
    if len(r.errors) > before:
        return None
    return RouteBreak(start=start, end=end)


def _date(r: DocumentReader, value: Any, path: str) -> str | None:
    """An ISO date ``"YYYY-MM-DD"``."""
    text = r.read_text(value, path)
    if text is None:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        dt.date.fromisoformat(text)
    except ValueError:
        r.error(path, f"expected an ISO date YYYY-MM-DD, got {text!r}")
        return None
    return text


def _route(r: DocumentReader, value: Any, path: str) -> Route | None:
    before = len(r.errors)
    obj = r.read_object(value, path, ROUTE_FIELDS)
    if obj is None:
        return None
    caregiver = r.field(obj, path, "caregiver", r.read_text)
    day = r.field(obj, path, "day", r.read_day)
    date = r.field(obj, path, "date", lambda v, p: _date(r, v, p), default=None)
    if date is not None and day is not None:
        weekday = DAYS[dt.date.fromisoformat(date).weekday()]
        if weekday != day:
            r.error(f"{path}.date", f"{date} is a {weekday}, not {day}")
    leave = r.field(obj, path, "leave", r.read_time)
    back = r.field(obj, path, "back", r.read_time)
    _order(r, path, ("leave", leave), ("back", back))
    rest = r.field(obj, path, "break", lambda v, p: _route_break(r, v, p), default=None)
    items = r.field(obj, path, "stops", r.read_list)
    stops = [_stop(r, v, f"{path}.stops[{i}]") for i, v in enumerate(items or ())]
    if len(r.errors) > before:
        return None
    return Route(
        caregiver=caregiver,
        day=day,
        leave=leave,
        back=back,
        stops=tuple(s for s in stops if s is not None),
        rest=rest,
        date=date,
    )


def _unassigned(r: DocumentReader, value: Any, path: str) -> Unassigned | None:
    before = len(r.errors)
    obj = r.read_object(value, path, UNASSIGNED_FIELDS)
    if obj is None:
        return None
    request = r.field(obj, path, "request", r.read_text)
    household = r.field(obj, path, "household", r.read_text)
    missing = r.field(obj, path, "missing_visits", r.read_int, minimum=1)
    reason = r.field(obj, path, "reason", r.read_choice, choices=_REASONS)
    detail = r.field(obj, path, "detail", r.read_text, default="", allow_empty=True)
    week = r.field(obj, path, "week", lambda v, p: _monday(r, v, p), default=None)
    if len(r.errors) > before:
        return None
    return Unassigned(
        request=request,
        household=household,
        missing_visits=missing,
        reason=Reason(reason),
        detail=detail,
        week=week,
    )


def _monday(r: DocumentReader, value: Any, path: str) -> str | None:
    """An ISO date ``"YYYY-MM-DD"`` that is a Monday (the week of an unassigned entry)."""
    text = _date(r, value, path)
    if text is None:
        return None
    weekday = DAYS[dt.date.fromisoformat(text).weekday()]
    if weekday != "mon":
        r.error(path, f"{text} is a {weekday}, not a Monday")
        return None
    return text


def _kpis(r: DocumentReader, value: Any, path: str) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        r.error(path, "expected an object of named figures")
        return None
    out: dict[str, float] = {}
    for key, figure in value.items():
        if isinstance(figure, bool) or not isinstance(figure, int | float):
            r.error(f"{path}.{key}", "expected a number")
        else:
            # Keep whole numbers whole so a round trip writes them back unchanged.
            out[key] = figure
    for key in REQUIRED_KPIS:
        if key not in value:
            r.error(f"{path}.{key}", "missing required figure")
    return out


def _table_ref(r: DocumentReader, value: Any, path: str) -> TableRef | None:
    obj = r.read_object(value, path, TABLE_REF_FIELDS)
    if obj is None:
        return None
    fingerprint = r.field(obj, path, "fingerprint", r.read_text)
    file = r.field(obj, path, "path", r.read_text, default="", allow_empty=True)
    if fingerprint is not None and not fingerprint.startswith("sha256:"):
        r.error(f"{path}.fingerprint", f"expected sha256:<hex>, got {fingerprint!r}")
        return None
    return None if fingerprint is None else TableRef(fingerprint, file)


def _travel(r: DocumentReader, value: Any, path: str) -> TravelRecord | None:
    obj = r.read_object(value, path, TRAVEL_FIELDS)
    if obj is None:
        return None
    provider = r.field(obj, path, "provider", r.read_text)
    items = r.field(obj, path, "tables", r.read_list, non_empty=True) or ()
    tables = [_table_ref(r, v, f"{path}.tables[{i}]") for i, v in enumerate(items)]
    if provider is None or any(t is None for t in tables):
        return None
    return TravelRecord(provider, tuple(t for t in tables if t is not None))


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """Validate a decoded plan document (format 1) and convert it to a :class:`Plan`.

    Raises :class:`PlanError` listing every problem with its field path
    (``routes[2].stops[0].start``).
    """
    r = DocumentReader()
    doc = r.read_object(data, "", PLAN_FIELDS)
    if doc is None:
        raise PlanError(r.errors)
    r.check_format(doc)
    scenario = r.field(doc, "", "scenario", r.read_text, allow_empty=True)
    weeks = r.field(doc, "", "weeks", r.read_int, default=1, minimum=1)
    routes = [
        _route(r, v, f"routes[{i}]")
        for i, v in enumerate(r.field(doc, "", "routes", r.read_list) or ())
    ]
    seen: dict[tuple[str, str], int] = {}
    dated = [route.date is not None for route in routes if route is not None]
    for i, route in enumerate(routes):
        if route is None:
            continue
        if route.date is None and (any(dated) or (weeks or 1) > 1):
            # Without its date a route of a plan of several weeks has no place in time.
            r.error(f"routes[{i}].date", "missing: the plan's other routes or weeks are dated")
        when = route.date or route.day
        key = (route.caregiver, when)
        if key in seen:
            r.error(
                f"routes[{i}]",
                f"second route of caregiver {route.caregiver} on {when} "
                f"(first: routes[{seen[key]}])",
            )
        else:
            seen[key] = i
    items = r.field(doc, "", "unassigned", r.read_list) or ()
    unassigned = [_unassigned(r, v, f"unassigned[{i}]") for i, v in enumerate(items)]
    kpis = r.field(doc, "", "kpis", lambda v, p: _kpis(r, v, p))
    travel = r.field(doc, "", "travel", lambda v, p: _travel(r, v, p), default=None)
    if r.errors:
        raise PlanError(r.errors)
    return Plan(
        scenario=scenario,
        routes=tuple(x for x in routes if x is not None),
        unassigned=tuple(x for x in unassigned if x is not None),
        kpis=MappingProxyType(kpis),
        format=FORMAT_VERSION,
        weeks=weeks or 1,
        travel=travel,
    )


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; see :func:`parse_plan`.

    Raises :class:`PlanError` (also for bad JSON, with line and column) or ``OSError``.
    """
    return parse_plan(load_json(path, error=PlanError))


def _stop_dict(s: Stop) -> dict[str, Any]:
    return {
        "request": s.request,
        "household": s.household,
        "arrival": format_hhmm(s.arrival),
        "start": format_hhmm(s.start),
        "end": format_hhmm(s.end),
    }


def _route_dict(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {"caregiver": route.caregiver, "day": route.day}
    if route.date is not None:
        out["date"] = route.date
    out |= {
        "leave": format_hhmm(route.leave),
        "back": format_hhmm(route.back),
    }
    if route.rest is not None:
        out["break"] = {"start": format_hhmm(route.rest.start), "end": format_hhmm(route.rest.end)}
    out["stops"] = [_stop_dict(s) for s in route.stops]
    return out


def _unassigned_dict(u: Unassigned) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request": u.request,
        "household": u.household,
        "missing_visits": u.missing_visits,
        "reason": str(u.reason),
    }
    if u.detail:
        out["detail"] = u.detail
    if u.week is not None:
        out["week"] = u.week
    return out


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as a format-1 JSON document (times ``"HH:MM"``; ``weeks`` and the routes'
    ``date`` only in a plan that has them, so a one-week plan is written as it always was)."""
    out: dict[str, Any] = {"format": FORMAT_VERSION, "scenario": plan.scenario}
    if plan.weeks != 1:
        out["weeks"] = plan.weeks
    out |= {
        "routes": [_route_dict(x) for x in plan.routes],
        "unassigned": [_unassigned_dict(u) for u in plan.unassigned],
        "kpis": dict(plan.kpis),
    }
    if plan.travel is not None:
        out["travel"] = {
            "provider": plan.travel.provider,
            "tables": [{"fingerprint": t.fingerprint, "path": t.path} for t in plan.travel.tables],
        }
    return out


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write the plan as format-1 JSON (UTF-8, readable Chinese, indent 2)."""
    write_json(plan_to_dict(plan), path)
