"""The service catalogue (服务目录): what each service code means and its usual defaults.

A scenario's request may omit ``minutes``, ``windows`` and ``staff``; they then come from the
catalogue entry of its ``service``. Every locality edits the catalogue, so it is data:

- ``dispatch/catalogue.json`` is the bundled default, read through ``importlib.resources`` so it
  is found from a fresh clone and from an installed package alike;
- ``data/catalogue.json`` is the same content kept at the repository root as the copy users edit
  and pass explicitly (``load_catalogue("data/catalogue.json")``, or ``overrides=``).

File format::

    {"format": 1, "services": {"cleaning": {"name_zh": "助洁", "name_en": "Cleaning",
      "minutes": 90, "staff": 1, "skill": "cleaning", "windows": [["08:30", "11:30"]],
      "frequency": "1–2 / week", "qualification": "...", "note": "..."}}}

``name_zh``, ``name_en``, ``minutes`` and ``windows`` are required; ``staff`` defaults to 1,
``skill`` to the code.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch.document import (
    FORMAT_VERSION,
    DocumentError,
    DocumentReader,
    load_json,
)
from dispatch.timeutil import format_hhmm

__all__ = [
    "SERVICE_FIELDS",
    "Catalogue",
    "CatalogueError",
    "ServiceType",
    "catalogue_to_dict",
    "default_catalogue",
    "load_catalogue",
    "parse_catalogue",
]

#: Fields of one catalogue entry: name -> required for a new entry.
SERVICE_FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        "name_zh": True,
        "name_en": True,
        "minutes": True,
        "staff": False,
        "skill": False,
        "windows": True,
        "frequency": False,
        "qualification": False,
        "note": False,
    }
)
_FILE_FIELDS: Mapping[str, bool] = MappingProxyType({"format": True, "services": True})
_BUNDLED = "catalogue.json"


@dataclass(frozen=True)
class ServiceType:
    """One service of the catalogue (e.g. ``cleaning``, 助洁) with its defaults.

    ``minutes`` is the default visit length, ``windows`` the typical ``(from, to)`` start
    windows in minutes from midnight, ``staff`` how many caregivers do it together, ``skill``
    what they must have. ``frequency``, ``qualification`` and ``note`` are human text.
    """

    code: str
    name_zh: str
    name_en: str
    minutes: int
    windows: tuple[tuple[int, int], ...]
    staff: int = 1
    skill: str = ""
    frequency: str = ""
    qualification: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not self.skill:
            object.__setattr__(self, "skill", self.code)


class Catalogue(Mapping[str, ServiceType]):
    """An immutable mapping from service code to :class:`ServiceType`, in file order."""

    def __init__(self, services: Iterable[ServiceType] = ()) -> None:
        self._by_code: dict[str, ServiceType] = {}
        for s in services:
            if s.code in self._by_code:
                raise ValueError(f"duplicate service code {s.code!r}")
            self._by_code[s.code] = s

    def __getitem__(self, code: str) -> ServiceType:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __repr__(self) -> str:
        return f"Catalogue({', '.join(self._by_code)})"


class CatalogueError(DocumentError):
    """A catalogue file or override is invalid; ``issues`` name every bad field."""


def _entry(
    r: DocumentReader, value: Any, path: str, code: str, base: ServiceType | None
) -> ServiceType | None:
    """A service entry; with ``base`` it is a partial update whose fields replace base's."""
    spec = SERVICE_FIELDS if base is None else dict.fromkeys(SERVICE_FIELDS, False)
    before = len(r.errors)
    obj = r.read_object(value, path, spec)
    if obj is None:
        return None
    readers: dict[str, tuple[Any, dict[str, Any]]] = {
        "name_zh": (r.read_text, {}),
        "name_en": (r.read_text, {}),
        "minutes": (r.read_int, {"minimum": 1}),
        "staff": (r.read_int, {"minimum": 1, "maximum": 2}),
        "skill": (r.read_text, {}),
        "windows": (r.read_windows, {}),
        "frequency": (r.read_text, {"allow_empty": True}),
        "qualification": (r.read_text, {"allow_empty": True}),
        "note": (r.read_text, {"allow_empty": True}),
    }
    values = {
        key: r.field(obj, path, key, read, **options)
        for key, (read, options) in readers.items()
        if key in obj
    }
    if len(r.errors) > before:
        return None
    if base is not None:
        return dataclasses.replace(base, **values)
    return ServiceType(code=code, **values)


def _entries(
    r: DocumentReader,
    value: Any,
    path: str,
    base: Mapping[str, ServiceType],
    *,
    partial: bool,
) -> dict[str, ServiceType]:
    """Entries of a ``{code: entry}`` object merged over ``base``; ``null`` removes a code."""
    out = dict(base)
    if not isinstance(value, Mapping):
        r.error(path, "expected an object mapping service codes to entries")
        return out
    for code, entry in value.items():
        sub = f"{path}.{code}" if path else str(code)
        if not isinstance(code, str) or not code.strip():
            r.error(sub, "service code must be a non-empty string")
            continue
        if entry is None and partial:
            out.pop(code, None)
            continue
        parsed = _entry(r, entry, sub, code, base.get(code) if partial else None)
        if parsed is not None:
            out[code] = parsed
    return out


def parse_catalogue(
    data: Mapping[str, Any], *, overrides: Mapping[str, Any] | None = None
) -> Catalogue:
    """A catalogue from a decoded catalogue document, then ``overrides`` applied.

    ``overrides`` maps a code to an entry: a new code needs a full entry, an existing one takes
    the fields given, ``null`` removes the code. Raises :class:`CatalogueError` listing every
    bad field (``services.cleaning.minutes``, ``overrides.bathing.windows[0]``).
    """
    r = DocumentReader()
    services: dict[str, ServiceType] = {}
    doc = r.read_object(data, "", _FILE_FIELDS)
    if doc is not None:
        r.check_format(doc)
        if "services" in doc:
            services = _entries(r, doc["services"], "services", {}, partial=False)
    if overrides is not None:
        services = _entries(r, overrides, "overrides", services, partial=True)
    if r.errors:
        raise CatalogueError(r.errors)
    return Catalogue(services.values())


@functools.cache
def _bundled() -> Catalogue:
    text = resources.files("dispatch").joinpath(_BUNDLED).read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))


def default_catalogue() -> Catalogue:
    """The bundled default catalogue (DOMAIN.md's table), read once and cached."""
    return _bundled()


def load_catalogue(
    path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Catalogue:
    """The catalogue at ``path`` (default: the bundled one) with ``overrides`` applied.

    Raises :class:`CatalogueError` for an invalid file or override (bad JSON included) and
    ``OSError`` when the file cannot be read.
    """
    if path is None:
        base = default_catalogue()
        if overrides is None:
            return base
        return parse_catalogue(catalogue_to_dict(base), overrides=overrides)
    return parse_catalogue(load_json(path, error=CatalogueError), overrides=overrides)


def catalogue_to_dict(catalogue: Mapping[str, ServiceType]) -> dict[str, Any]:
    """The catalogue as a format-1 catalogue document (``load`` of it gives it back)."""
    services: dict[str, Any] = {}
    for code, s in catalogue.items():
        entry: dict[str, Any] = {
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "minutes": s.minutes,
            "staff": s.staff,
            "skill": s.skill,
            "windows": [[format_hhmm(a), format_hhmm(b)] for a, b in s.windows],
        }
        for key in ("frequency", "qualification", "note"):
            if getattr(s, key):
                entry[key] = getattr(s, key)
        services[code] = entry
    return {"format": FORMAT_VERSION, "services": services}
