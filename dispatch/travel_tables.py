"""Travel times of a provider other than the contract's model, resolved once per scenario.

A scenario whose ``travel.provider`` is ``matrix``, ``osrm``, ``valhalla`` or
``valhalla_local`` gets its travel times as a :class:`TravelTable`: whole minutes per travel
mode between the scenario's places (``station:S1``, ``household:H1``). :func:`resolve_travel`
builds it once (a stored matrix file is read; a road server is asked through
:mod:`dispatch.roads`, each mode's matrix cached on disk by content) and attaches it to the
scenario's travel settings, so that every planner, the hotline, the console's ETAs and the KPIs
of that scenario read the same minutes. A station group planned on its own (the city) resolves
its own places only.

A plan made with such a table records it (:class:`dispatch.model.TravelRecord`: provider,
fingerprint, file); the checker judges the plan with those minutes (:func:`load_recorded`), and
with the contract's model when the plan records none.

Table files are JSON (gzip when the name ends in ``.gz``)::

    {"format": 1, "provider": "osrm http://…",
     "tables": [{"places": ["station:S1", "household:H1"],
                 "minutes": {"ebike": [[0, 7], [8, 0]], "walk": [[0, 21], [23, 0]]}}]}

A file holding one table may give ``places`` and ``minutes`` at the top instead of ``tables``.
A matrix under the mode ``"*"`` serves every mode without its own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dispatch.model import Plan, Scenario, TableRef, TravelRecord, TravelSettings
from dispatch.travel import HaversineProvider, Place, TravelProvider

__all__ = [
    "DEFAULT_CACHE_DIR",
    "Block",
    "TravelTable",
    "TravelTableError",
    "cached_matrix",
    "contract_scenario",
    "default_cache_dir",
    "forget_resolved",
    "load_recorded",
    "load_table",
    "merge_records",
    "plan_travel_record",
    "resolve_travel",
    "road_provider",
    "scenario_modes",
    "scenario_places",
    "table_from_dict",
    "travel_of_plan",
    "with_record",
]

TABLE_FORMAT = 1
#: Where road matrices are cached when neither the caller nor ``DISPATCH_TRAVEL_CACHE`` says.
DEFAULT_CACHE_DIR = "var/travel-cache"
ANY_MODE = "*"
IntMatrix = npt.NDArray[np.int64]


class TravelTableError(ValueError):
    """A travel table (file, record or coverage) that cannot be used; the message says why."""


@dataclass(frozen=True)
class Block:
    """Minutes between ``keys`` for each mode: ``minutes[mode][i, j]`` from ``keys[i]`` to
    ``keys[j]``. ``coords`` (a road server's blocks) are the points the minutes were asked
    for: a place whose key is here but whose point moved is not served by the block."""

    keys: tuple[str, ...]
    minutes: Mapping[str, IntMatrix]
    coords: tuple[tuple[float, float], ...] | None = None


def _same_point(point: tuple[float, float], place: Place) -> bool:
    return abs(point[0] - place.lat) < 1e-7 and abs(point[1] - place.lon) < 1e-7


def _request_limit(provider: Any) -> int | None:
    """The most places one request of ``provider`` serves well (a road server's table limit);
    ``None`` for a provider without one (the model: any number at once)."""
    for name in ("max_table_size", "max_matrix_locations"):
        value = getattr(provider, name, None)
        if isinstance(value, int) and value > 1:
            return value
    return None


def _checked_matrix(raw: Any, n: int, where: str) -> IntMatrix:
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise TravelTableError(f"{where}: not a matrix of numbers") from None
    if arr.shape != (n, n):
        raise TravelTableError(f"{where}: shape {arr.shape}, expected {(n, n)} (one per place)")
    if not np.isfinite(arr).all():
        raise TravelTableError(f"{where}: has entries that are not finite numbers")
    if (arr != np.round(arr)).any():
        raise TravelTableError(f"{where}: has fractional minutes (round them up to whole ones)")
    if (arr < 0).any():
        raise TravelTableError(f"{where}: has negative minutes")
    if np.diagonal(arr).any():
        raise TravelTableError(f"{where}: the diagonal (a place to itself) must be 0")
    return arr.astype(np.int64)


class TravelTable:
    """Whole travel minutes between places, in one or more blocks (a block per station group
    resolved on its own). ``path`` is the file it was read from or stored in, if any."""

    def __init__(
        self,
        provider: str,
        blocks: Sequence[Block],
        path: str | None = None,
        *,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.provider = provider
        self.blocks = tuple(blocks)
        self.path = path
        #: Prices the places no block holds (a caller not registered, a household added since):
        #: the road server, or the contract's model beside a stored matrix. ``None``: refused.
        self.fallback: TravelProvider | None = None
        #: Where :meth:`stored` writes the table when it has no file yet.
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._fingerprint: str | None = None
        # Each block's place → row, built once: every look-up below is a dictionary read.
        self._index: list[dict[str, int]] = []
        self._where: dict[str, list[tuple[int, int]]] = {}
        for b, block in enumerate(self.blocks):
            index = {key: i for i, key in enumerate(block.keys)}
            if len(index) != len(block.keys):
                raise TravelTableError(f"tables[{b}].places: a place is listed twice")
            self._index.append(index)
            for key, i in index.items():
                self._where.setdefault(key, []).append((b, i))

    def with_fallback(self, fallback: TravelProvider) -> TravelTable:
        """This table (the same blocks, file and fingerprint) pricing the places it lacks with
        ``fallback``; the table itself is left as it is (it may be shared)."""
        out = TravelTable(self.provider, self.blocks, self.path, cache_dir=self.cache_dir)
        out._fingerprint = self._fingerprint
        out.fallback = fallback
        return out

    @property
    def fingerprint(self) -> str:
        """``sha256:…`` of the places and minutes (not of the file's layout)."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for block in self.blocks:
                h.update(json.dumps(block.keys, ensure_ascii=False).encode())
                for mode in sorted(block.minutes):
                    h.update(mode.encode() + b"\0")
                    h.update(np.ascontiguousarray(block.minutes[mode], dtype="<i8").tobytes())
            self._fingerprint = "sha256:" + h.hexdigest()
        return self._fingerprint

    def modes(self) -> set[str]:
        """Every mode some block has a matrix for (``"*"`` included)."""
        return {m for b in self.blocks for m in b.minutes}

    def block_for(self, keys: Iterable[str], mode: str) -> tuple[Block, list[int]] | None:
        """A block holding every one of ``keys`` with a matrix for ``mode`` (or ``"*"``) and
        the keys' indices in it; ``None`` when no block holds them all."""
        keys = list(keys)
        if not keys:
            return None
        for b, _ in self._where.get(keys[0], ()):
            block = self.blocks[b]
            if mode not in block.minutes and ANY_MODE not in block.minutes:
                continue
            index = self._index[b]
            if all(k in index for k in keys):
                return block, [index[k] for k in keys]
        return None

    def missing(self, keys: Sequence[str], modes: Iterable[str]) -> list[str]:
        """What keeps this table from serving ``keys`` in every one of ``modes``: a few
        messages, empty when it serves them."""
        problems: list[str] = []
        absent = [k for k in keys if k not in self._where]
        if absent:
            more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
            problems.append(f"no place {', '.join(absent[:3])}{more}")
            return problems
        for mode in sorted(set(modes)):
            if self.block_for(keys, mode) is None:
                problems.append(f"no table holds all {len(keys)} places for mode {mode!r}")
        return problems

    def minutes(self, from_key: str, to_key: str, mode: str) -> int:
        """Minutes from one place to another; raises ``KeyError`` when no block holds both with
        a matrix for ``mode``."""
        if from_key == to_key:
            return 0
        for b, i in self._where.get(from_key, ()):
            block = self.blocks[b]
            m = block.minutes.get(mode)
            if m is None:
                m = block.minutes.get(ANY_MODE)
                if m is None:
                    continue
            for b2, j in self._where.get(to_key, ()):
                if b2 == b:
                    return int(m[i, j])
        raise KeyError(f"the travel table has no {mode} minutes from {from_key} to {to_key}")

    def _served(self, places: Sequence[Place], mode: str) -> tuple[Block, list[int]] | None:
        found = self.block_for((p.key for p in places), mode)
        if found is None:
            return None
        block, idx = found
        if block.coords is not None and any(
            not _same_point(block.coords[i], p) for i, p in zip(idx, places, strict=True)
        ):
            return None
        return found

    def covers(self, places: Sequence[Place], modes: Iterable[str]) -> bool:
        """Whether one block serves all ``places`` (at their points) in every one of ``modes``."""
        return all(self._served(places, mode) is not None for mode in modes)

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        """The table as a :class:`dispatch.travel.TravelProvider`: minutes between ``places``
        (by key). Places no block holds are priced by :attr:`fallback`, the others keep the
        table's minutes. Raises ``ValueError`` when some are not held and there is no
        fallback."""
        found = self._served(places, mode)
        if found is not None:
            block, idx = found
            m = block.minutes.get(mode, block.minutes.get(ANY_MODE))
            assert m is not None
            ix = np.asarray(idx, dtype=np.int64)
            return np.asarray(m[np.ix_(ix, ix)], dtype=np.int64)
        if self.fallback is None:
            problems = self.missing([p.key for p in places], [mode]) or ["places split"]
            raise TravelTableError(f"travel table ({self.provider}): {'; '.join(problems)}")
        return self._with_fallback(places, mode, self.fallback)

    def _with_fallback(
        self, places: Sequence[Place], mode: str, fallback: TravelProvider
    ) -> IntMatrix:
        """Minutes between ``places``: the table's between the places its biggest block holds,
        ``fallback``'s from and to the others (asked in squares of the new places with a slice
        of the known ones, so a few new places cost a few requests, not the whole table)."""
        block, known, index = self._best_block(places, mode)
        m = block.minutes.get(mode, block.minutes.get(ANY_MODE)) if block is not None else None
        n = len(places)
        out = np.zeros((n, n), dtype=np.int64)
        new = [i for i in range(n) if i not in known]
        if m is not None and known:
            k = np.asarray(sorted(known), dtype=np.int64)
            rows = np.asarray([index[i] for i in sorted(known)], dtype=np.int64)
            out[np.ix_(k, k)] = m[np.ix_(rows, rows)]
        old = sorted(known)
        limit = _request_limit(fallback)
        step = limit - len(new) if limit is not None and len(new) < limit else len(old)
        step = max(1, step)
        chunks = [old[i : i + step] for i in range(0, len(old), step)] or [[]]
        for chunk in chunks if new else ():
            ask = new + chunk
            sub = np.asarray(fallback.matrix([places[i] for i in ask], mode), dtype=np.int64)
            ix = np.asarray(ask, dtype=np.int64)
            head = len(new)
            out[np.ix_(ix[:head], ix)] = sub[:head, :]
            out[np.ix_(ix, ix[:head])] = sub[:, :head]
        np.fill_diagonal(out, 0)
        return out

    def _best_block(
        self, places: Sequence[Place], mode: str
    ) -> tuple[Block | None, set[int], dict[int, int]]:
        """The block serving most of ``places`` for ``mode``: the positions it serves and each
        one's index in the block."""
        best: tuple[Block | None, set[int], dict[int, int]] = (None, set(), {})
        for block, where in zip(self.blocks, self._index, strict=True):
            if mode not in block.minutes and ANY_MODE not in block.minutes:
                continue
            index = {}
            for pos, p in enumerate(places):
                i = where.get(p.key)
                if i is not None and (block.coords is None or _same_point(block.coords[i], p)):
                    index[pos] = i
            if len(index) > len(best[1]):
                best = (block, set(index), index)
        return best

    def travel_fn(
        self, places: Sequence[Place], modes: Iterable[str]
    ) -> Callable[[str, str, str], int]:
        """Minutes ``(from_key, to_key, mode)`` among ``places``: the table's lookup when it
        :meth:`covers` them, else each mode's matrix over ``places`` through :attr:`fallback`
        (a scenario changed after its table was resolved: a what-if's new households)."""
        if self.covers(places, modes):
            return self.minutes
        index = {p.key: i for i, p in enumerate(places)}
        matrices: dict[str, IntMatrix] = {}

        def minutes(from_key: str, to_key: str, mode: str) -> int:
            if from_key == to_key:
                return 0
            if mode not in matrices:
                matrices[mode] = self.matrix(places, mode)
            return int(matrices[mode][index[from_key], index[to_key]])

        return minutes

    def merged(self, other: TravelTable) -> TravelTable:
        """This table's blocks and ``other``'s (a city's groups in one record)."""
        return TravelTable(self.provider, (*self.blocks, *other.blocks))

    def to_dict(self) -> dict[str, Any]:
        """The table as a file document (see the module's docstring)."""
        return {
            "format": TABLE_FORMAT,
            "provider": self.provider,
            "tables": [
                {
                    "places": list(b.keys),
                    "minutes": {mode: m.tolist() for mode, m in sorted(b.minutes.items())},
                }
                for b in self.blocks
            ],
        }

    def stored(self) -> str:
        """The table's file, written under ``cache_dir/tables`` by its fingerprint when it has
        none yet (a plan that records the table needs it on disk)."""
        if self.path is None:
            folder = self.cache_dir if self.cache_dir is not None else default_cache_dir()
            target = folder / "tables" / f"{self.fingerprint.split(':', 1)[1]}.json.gz"
            if target.exists():
                self.path = str(target)
            else:
                self.save(target)
        assert self.path is not None
        return self.path

    def save(self, path: str | Path) -> Path:
        """Write the table to ``path`` (gzip when it ends in ``.gz``) through a temporary file,
        so a reader never sees half a table; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        if path.suffix == ".gz":
            data = gzip.compress(data, mtime=0)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".table-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        self.path = str(path)
        return path


def _read_document(path: Path) -> Any:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise TravelTableError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise TravelTableError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise TravelTableError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def table_from_dict(doc: Any, *, source: str = "travel table") -> TravelTable:
    """A table from a decoded file document; raises :class:`TravelTableError` naming the
    field at fault."""
    if not isinstance(doc, dict):
        raise TravelTableError(f"{source}: expected a JSON object")
    known = {"format", "provider", "tables", "places", "minutes"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise TravelTableError(f"{source}: unknown field(s) {', '.join(unknown)}")
    if doc.get("format", TABLE_FORMAT) != TABLE_FORMAT:
        raise TravelTableError(f"{source}: format: expected {TABLE_FORMAT}, got {doc['format']!r}")
    if "tables" in doc:
        if "places" in doc or "minutes" in doc:
            raise TravelTableError(f"{source}: give either tables or places/minutes, not both")
        items = doc["tables"]
        if not isinstance(items, list) or not items:
            raise TravelTableError(f"{source}: tables: expected a non-empty list")
        paths = [f"tables[{i}]" for i in range(len(items))]
    else:
        items, paths = [doc], [""]
    blocks = []
    for item, at in zip(items, paths, strict=True):
        prefix = f"{at}." if at else ""
        if not isinstance(item, dict):
            raise TravelTableError(f"{source}: {at}: expected an object")
        extra = sorted(set(item) - {"places", "minutes"} - (known if not at else set()))
        if extra:
            raise TravelTableError(f"{source}: {at}: unknown field(s) {', '.join(extra)}")
        keys = item.get("places")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise TravelTableError(f"{source}: {prefix}places: expected a list of place keys")
        minutes = item.get("minutes")
        if not isinstance(minutes, dict) or not minutes:
            raise TravelTableError(
                f"{source}: {prefix}minutes: expected an object of matrices by travel mode"
            )
        blocks.append(
            Block(
                tuple(keys),
                {
                    str(mode): _checked_matrix(m, len(keys), f"{source}: {prefix}minutes.{mode}")
                    for mode, m in minutes.items()
                },
            )
        )
    provider = doc.get("provider", "matrix")
    if not isinstance(provider, str):
        raise TravelTableError(f"{source}: provider: expected text")
    return TravelTable(provider, blocks)


def load_table(path: str | Path) -> TravelTable:
    """Read a table file; raises :class:`TravelTableError` (also for a missing file)."""
    path = Path(path)
    try:
        doc = _read_document(path)
    except FileNotFoundError:
        raise TravelTableError(f"{path}: no such travel table file") from None
    except OSError as exc:
        raise TravelTableError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    table = table_from_dict(doc, source=str(path))
    table.path = str(path)
    return table


def default_cache_dir() -> Path:
    """``DISPATCH_TRAVEL_CACHE`` when set, else :data:`DEFAULT_CACHE_DIR`."""
    return Path(os.environ.get("DISPATCH_TRAVEL_CACHE") or DEFAULT_CACHE_DIR).resolve()


class RoadProvider(Protocol):
    """What :func:`cached_matrix` needs of a provider (those of :mod:`dispatch.roads`)."""

    def matrix(self, places: Sequence[Any], mode: str) -> IntMatrix: ...

    def identity(self, mode: str) -> dict[str, Any]: ...

    def describe(self) -> str: ...


def cached_matrix(
    provider: RoadProvider, places: Sequence[Place], mode: str, cache_dir: str | Path
) -> IntMatrix:
    """``provider``'s matrix of ``places`` for ``mode``, from the cache when the same provider
    (its identity) was asked for the same coordinates in the same order before.

    The cache key is the content of the question, not the place keys: a household that moves
    gets new minutes, a renamed one keeps its own.
    """
    path = _matrix_path(provider, places, mode, cache_dir)
    if path.exists():
        try:
            m = np.load(path, allow_pickle=False)
            if m.shape == (len(places), len(places)):
                return np.asarray(m, dtype=np.int64)
        except (OSError, ValueError):
            pass  # a damaged entry is asked again and overwritten
    m = np.asarray(provider.matrix(places, mode), dtype=np.int64)
    _save_matrix(path, m)
    return m


def _matrix_path(
    provider: RoadProvider, places: Sequence[Place], mode: str, cache_dir: str | Path
) -> Path:
    h = hashlib.sha256(json.dumps(provider.identity(mode), sort_keys=True).encode())
    h.update(mode.encode() + b"\0")
    for p in places:
        h.update(f"{p.lat:.7f},{p.lon:.7f};".encode())
    return Path(cache_dir) / "matrices" / f"{h.hexdigest()}.npy"


def _save_matrix(path: Path, m: IntMatrix) -> None:
    """Writes ``m`` through a temporary file: a reader never sees half a matrix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".matrix-", suffix=".npy")
    with os.fdopen(fd, "wb") as f:
        np.save(f, m, allow_pickle=False)
    os.replace(tmp, path)


def scenario_places(scenario: Scenario) -> list[Place]:
    """Every place of ``scenario``: stations, then households."""
    out = [Place(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations]
    out += [Place(f"household:{h.id}", h.lat, h.lon) for h in scenario.households]
    return out


def scenario_modes(scenario: Scenario) -> list[str]:
    """The travel modes of ``scenario``'s caregivers (``walk`` when it has none)."""
    return sorted({c.mode for c in scenario.caregivers}) or ["walk"]


def _path(settings: TravelSettings, value: str) -> Path:
    p = Path(value)
    if not p.is_absolute() and settings.base_dir:
        p = Path(settings.base_dir) / p
    return p


def road_provider(settings: TravelSettings) -> RoadProvider:
    """The road provider a scenario's ``travel`` object names (``osrm``, ``valhalla``,
    ``valhalla_local``); raises ``ValueError`` naming the field at fault."""
    from dispatch import roads

    options: dict[str, Any] = {}
    if settings.max_table_size is not None:
        options["max_table_size" if settings.provider == "osrm" else "max_matrix_locations"] = (
            settings.max_table_size
        )
    if settings.timeout is not None:
        options["timeout"] = settings.timeout
    if settings.profiles:
        options["profiles"] = dict(settings.profiles)
    if settings.dataset is not None:
        options["dataset"] = settings.dataset
    if settings.provider in ("osrm", "valhalla"):
        if not settings.url:
            raise ValueError(f"travel.url: the {settings.provider} server's address is missing")
        url = settings.url if isinstance(settings.url, str) else dict(settings.url)
        if settings.provider == "osrm":
            return roads.OsrmProvider(url, **options)
        return roads.ValhallaProvider(url, **options)
    if settings.provider == "valhalla_local":
        if not settings.config:
            raise ValueError("travel.config: the Valhalla configuration file is missing")
        options.pop("timeout", None)
        return roads.ValhallaLocalProvider(str(_path(settings, settings.config)), **options)
    raise ValueError(f"travel.provider: {settings.provider!r} is not a road provider")


def resolve_travel(
    scenario: Scenario,
    *,
    cache_dir: str | Path | None = None,
    road: RoadProvider | None = None,
) -> Scenario:
    """``scenario`` with its travel table attached when its provider needs one.

    The contract's model needs none (the scenario comes back as it is), and so does a scenario
    whose table already serves all its places (a station group cut from a resolved scenario).

    - ``matrix``: the file's minutes; places the file does not hold (a household registered
      since) are priced by the contract's model from their points, and so are places asked
      for later that no scenario holds (a caller at the hotline).
    - a road provider (or ``road``, given): every mode's matrix over the scenario's places,
      from the disk cache under ``cache_dir`` (default :func:`default_cache_dir`) or the
      server. When a table of the same server was resolved in this process for mostly the
      same places, only the pairs of the new or moved places are asked for. Places asked for
      later are asked of the server.

    Raises ``ValueError`` (:class:`TravelTableError`, :class:`dispatch.roads.RoadServerError`)
    naming the field, file or server at fault; nothing is half-resolved.
    """
    settings = scenario.travel
    if settings.provider == "haversine":
        return scenario
    places = scenario_places(scenario)
    modes = scenario_modes(scenario)
    current = settings.table
    if current is not None and current.covers(places, modes):
        return scenario
    folder = Path(cache_dir).resolve() if cache_dir is not None else default_cache_dir()
    if settings.provider == "matrix":
        table = _matrix_table(settings, places, modes, folder)
    else:
        provider = road if road is not None else road_provider(settings)
        table = _road_table(provider, places, modes, folder)
    return replace(scenario, travel=replace(settings, table=table))


def _matrix_table(
    settings: TravelSettings, places: Sequence[Place], modes: list[str], folder: Path
) -> TravelTable:
    if not settings.matrix:
        raise TravelTableError("travel.matrix: the stored matrix file is missing")
    stored = _matrix_file(_path(settings, settings.matrix))
    model = HaversineProvider.from_settings(settings)
    if stored.covers(places, modes):
        return stored.with_fallback(model)
    absent = [p.key for p in places if p.key not in stored._where]
    if len(absent) == len(places):
        raise TravelTableError(
            f"travel.matrix: {stored.path}: holds none of the scenario's places "
            f"(e.g. {places[0].key if places else '-'}); its places are keyed "
            "station:<id> and household:<id>"
        )
    question = _question(places, [model.circuity, dict(model.speed_kmh)])
    key = f"extended:{stored.path}:{stored.fingerprint}:{question}"
    known = _remembered(key)
    if known is None:
        minutes = {m: stored._with_fallback(places, m, model) for m in modes}
        note = f"{stored.provider} ({len(absent)} places by the straight-line model)"
        known = TravelTable(note, [Block(tuple(p.key for p in places), minutes)], cache_dir=folder)
        _remember(key, known)
    return known.with_fallback(model)


def _question(places: Sequence[Place], identities: Sequence[Any]) -> str:
    rows = [[p.key, round(p.lat, 7), round(p.lon, 7)] for p in places]
    return hashlib.sha256(
        json.dumps([identities, rows], sort_keys=True, default=str).encode()
    ).hexdigest()


def _road_table(
    provider: RoadProvider, places: Sequence[Place], modes: list[str], folder: Path
) -> TravelTable:
    identities = [provider.identity(m) for m in modes]
    server = f"road:{folder}:{_question([], identities)}"
    key = f"{server}:{_question(places, identities)}"
    table = _remembered(key)
    if table is None:
        latest = _remembered(f"{server}:latest")
        keys = tuple(p.key for p in places)
        coords = tuple((p.lat, p.lon) for p in places)
        fresh = [p for p in places if latest is None or not latest.covers([p], modes)]
        if latest is not None and len(fresh) * 4 <= len(places):
            # Mostly the places asked for before: only the new or moved ones go to the server.
            minutes = {}
            for mode in modes:
                path = _matrix_path(provider, places, mode, folder)
                minutes[mode] = latest._with_fallback(places, mode, provider)
                _save_matrix(path, minutes[mode])
        else:
            minutes = {mode: cached_matrix(provider, places, mode, folder) for mode in modes}
        table = TravelTable(provider.describe(), [Block(keys, minutes, coords)], cache_dir=folder)
        table.fallback = provider
        _remember(key, table)
    _remember(f"{server}:latest", table)
    return table


# Tables resolved in this process, newest last: a service resolves the same week's scenario
# for every request; the matrices are read from disk (or a server) once.
_MEMO: OrderedDict[str, TravelTable] = OrderedDict()
_MEMO_SIZE = 8
_MEMO_LOCK = threading.Lock()


def forget_resolved() -> None:
    """Drops the tables this process remembers (the disk cache stays): the next
    :func:`resolve_travel` reads the disk or asks the server again."""
    with _MEMO_LOCK:
        _MEMO.clear()


def _remembered(key: str) -> TravelTable | None:
    with _MEMO_LOCK:
        table = _MEMO.get(key)
        if table is not None:
            _MEMO.move_to_end(key)
        return table


def _remember(key: str, table: TravelTable) -> None:
    with _MEMO_LOCK:
        _MEMO[key] = table
        _MEMO.move_to_end(key)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


def _matrix_file(path: Path) -> TravelTable:
    """The stored matrix at ``path``, read again only when the file changed."""
    try:
        stat = path.stat()
    except OSError:
        return load_table(path)  # raises the clear error
    key = f"file:{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
    table = _remembered(key)
    if table is None:
        table = load_table(path)
        _remember(key, table)
    return table


def plan_travel_record(scenario: Scenario) -> TravelRecord | None:
    """What a plan made for ``scenario`` records of its travel times: ``None`` for the
    contract's model, else the provider and the table's fingerprint and file."""
    table = scenario.travel.table
    if scenario.travel.provider == "haversine" or table is None:
        return None
    return TravelRecord(
        provider=scenario.travel.provider,
        tables=(TableRef(table.fingerprint, table.stored()),),
    )


def with_record(plan: Plan, scenario: Scenario) -> Plan:
    """``plan`` carrying :func:`plan_travel_record` of ``scenario``."""
    record = plan_travel_record(scenario)
    return plan if record == plan.travel else replace(plan, travel=record)


def merge_records(records: Iterable[TravelRecord | None]) -> TravelRecord | None:
    """One record of the plans of several groups (their tables side by side)."""
    found = [r for r in records if r is not None]
    if not found:
        return None
    tables: dict[str, TableRef] = {}
    for r in found:
        for t in r.tables:
            tables.setdefault(t.fingerprint, t)
    return TravelRecord(found[0].provider, tuple(tables.values()))


def load_recorded(
    record: TravelRecord,
    *,
    known: Iterable[TravelTable] = (),
    override: Sequence[str | Path] = (),
) -> TravelTable:
    """The travel times a plan records, each table checked against its fingerprint.

    A table among ``known`` (already in memory) with the same fingerprint is used as it is;
    otherwise the file named by ``override`` (paths given by the user, e.g. a plan moved to
    another machine) or by the record is read. Raises :class:`TravelTableError` when a table
    is missing or its content is not the recorded one.
    """
    by_print = {t.fingerprint: t for t in known}
    for p in override:
        t = load_table(p)
        by_print.setdefault(t.fingerprint, t)
    if not record.tables:
        raise TravelTableError("plan travel: the record names no table")
    out: TravelTable | None = None
    for i, ref in enumerate(record.tables):
        table = by_print.get(ref.fingerprint)
        if table is None:
            if not ref.path:
                raise TravelTableError(
                    f"travel.tables[{i}]: the plan was made with travel table "
                    f"{ref.fingerprint} and names no file; pass it with --travel"
                )
            table = load_table(ref.path)
            if table.fingerprint != ref.fingerprint:
                raise TravelTableError(
                    f"travel.tables[{i}]: {ref.path} holds {table.fingerprint}, not the "
                    f"{ref.fingerprint} the plan was made with"
                )
        out = table if out is None else out.merged(table)
    assert out is not None
    return out


def travel_of_plan(
    scenario: Scenario, plan: Plan, *, tables: Sequence[str | Path] = ()
) -> Scenario:
    """``scenario`` carrying the travel times ``plan`` was made with, for checking it.

    A plan that records tables gets them (the scenario's own when the fingerprint is the
    same, else the recorded files or ``tables``, each checked against its fingerprint); a plan
    that records none was made with the contract's model, and gets it whatever the scenario's
    provider. Raises :class:`TravelTableError` when a recorded table cannot be found or holds
    other minutes.
    """
    if plan.travel is None:
        return contract_scenario(scenario)
    own = scenario.travel.table
    known = [own] if own is not None else []
    table = load_recorded(plan.travel, known=known, override=tables)
    travel = replace(scenario.travel, provider=plan.travel.provider, table=table)
    return replace(scenario, travel=travel)


def contract_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` on the contract's straight-line model (its circuity and speeds)."""
    if scenario.travel.provider == "haversine" and scenario.travel.table is None:
        return scenario
    return replace(scenario, travel=replace(scenario.travel, provider="haversine", table=None))
