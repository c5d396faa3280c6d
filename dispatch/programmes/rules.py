"""A locality's programme tables in one document: what its visiting programme, prices,
entitlements, default packages and 15-minute circle are (``docs/programmes/``).

```json
{"format": 1, "name": "兴庆区",
 "visiting": {...}, "prices": {...}, "entitlements": {...}, "packages": {...},
 "circle": {"minutes": 15, "streets": {"S01": "富宁街道"}}}
```

A section left out is the bundled default's (:func:`default_locality`); a section given
replaces the default's whole. Every bad field of every section is reported at once, each by
its path in this document (``visiting.classes[0].tags_any[1]``, ``prices.cleaning.yuan``,
``circle.streets.S09``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch.document import DocumentError, DocumentReader, ValidationIssue, load_json
from dispatch.kpis import CIRCLE_MINUTES
from dispatch.programmes.entitlements import Tables, parse_tables
from dispatch.programmes.visiting import VisitingRules, parse_visiting

__all__ = [
    "Locality",
    "default_document",
    "default_locality",
    "load_locality",
    "parse_locality",
]

_FIELDS = MappingProxyType(
    {
        "format": True,
        "name": False,
        "visiting": False,
        "prices": False,
        "entitlements": False,
        "packages": False,
        "circle": False,
    }
)
_CIRCLE_FIELDS = MappingProxyType({"minutes": False, "streets": False})
_MONEY = ("prices", "entitlements", "packages")


@dataclass(frozen=True)
class Locality:
    """The tables of one locality: its visiting rules, its prices, entitlements and packages
    (``money``), the circle's minutes and the street of each station (a station missing from
    ``streets`` is a street of its own)."""

    name: str
    visiting: VisitingRules
    money: Tables
    circle_minutes: int
    streets: Mapping[str, str]


@functools.cache
def _bundled_text(name: str) -> str:
    return resources.files("dispatch.programmes").joinpath(name).read_text(encoding="utf-8")


def default_document() -> dict[str, Any]:
    """The bundled tables as one locality document (a fresh copy, free to edit)."""
    money = json.loads(_bundled_text("entitlements.json"))
    return {
        "format": 1,
        "name": "默认 default",
        "visiting": json.loads(_bundled_text("visiting.json")),
        **{key: money[key] for key in _MONEY},
        "circle": {"minutes": CIRCLE_MINUTES, "streets": {}},
    }


def parse_locality(data: Any, *, stations: Sequence[str] | None = None) -> Locality:
    """The locality of a decoded document; with ``stations`` (the scenario's station ids),
    ``circle.streets`` may name only those. Raises :class:`DocumentError` with every bad
    field of every section."""
    r = DocumentReader()
    doc = r.read_object(data, "", _FIELDS)
    if doc is None:
        raise DocumentError(r.errors)
    r.check_format(doc)
    name = r.field(doc, "", "name", r.read_text, default="") or ""
    defaults = default_document()
    issues: list[ValidationIssue] = []
    visiting = None
    try:
        visiting = parse_visiting(doc.get("visiting", defaults["visiting"]), "visiting")
    except DocumentError as exc:
        issues += exc.issues
    money = None
    try:
        money = parse_tables({"format": 1, **{k: doc.get(k, defaults[k]) for k in _MONEY}})
    except DocumentError as exc:
        issues += exc.issues
    minutes, streets = _circle(r, doc.get("circle", defaults["circle"]), stations)
    issues = [*r.errors, *issues]
    if issues or visiting is None or money is None or minutes is None:
        raise DocumentError(issues)
    return Locality(name, visiting, money, minutes, MappingProxyType(streets))


def _circle(
    r: DocumentReader, value: Any, stations: Sequence[str] | None
) -> tuple[int | None, dict[str, str]]:
    section = r.read_object(value, "circle", _CIRCLE_FIELDS)
    if section is None:
        return None, {}
    minutes = r.field(section, "circle", "minutes", r.read_int, default=CIRCLE_MINUTES)
    if minutes is not None and not 1 <= minutes <= 120:
        r.error("circle.minutes", f"expected 1 to 120 minutes, got {minutes}")
        minutes = None
    streets: dict[str, str] = {}
    raw = section.get("streets", {})
    if not isinstance(raw, Mapping):
        r.error("circle.streets", "expected an object mapping station ids to street names")
        return minutes, streets
    known = set(stations) if stations is not None else None
    for station, street in raw.items():
        path = f"circle.streets.{station}"
        if known is not None and station not in known:
            r.error(path, f"unknown station {station!r} (stations: {', '.join(sorted(known))})")
            continue
        text = r.read_text(street, path)
        if text is not None:
            streets[str(station)] = text
    return minutes, streets


def default_locality() -> Locality:
    """The bundled tables (``visiting.json``, ``entitlements.json`` beside this module)."""
    return parse_locality(default_document())


def load_locality(path: str | Path, *, stations: Sequence[str] | None = None) -> Locality:
    """The locality of the JSON file at ``path``; raises :class:`DocumentError` (bad JSON
    too)."""
    return parse_locality(load_json(path), stations=stations)
