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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dispatch.model import Plan, Scenario, TableRef, TravelRecord, TravelSettings
from dispatch.travel import Place

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
    ``keys[j]``."""

    keys: tuple[str, ...]
    minutes: Mapping[str, IntMatrix]


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
        #: Where :meth:`stored` writes the table when it has no file yet.
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._fingerprint: str | None = None
        self._where: dict[str, list[tuple[int, int]]] = {}
        for b, block in enumerate(self.blocks):
            if len(set(block.keys)) != len(block.keys):
                raise TravelTableError(f"tables[{b}].places: a place is listed twice")
            for i, key in enumerate(block.keys):
                self._where.setdefault(key, []).append((b, i))

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
            index = {k: i for i, k in enumerate(block.keys)}
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

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        """The table as a :class:`dispatch.travel.TravelProvider`: minutes between ``places``
        (by key). Raises ``ValueError`` when no block holds them all for ``mode``."""
        found = self.block_for((p.key for p in places), mode)
        if found is None:
            problems = self.missing([p.key for p in places], [mode]) or ["places split"]
            raise TravelTableError(f"travel table ({self.provider}): {'; '.join(problems)}")
        block, idx = found
        m = block.minutes.get(mode, block.minutes.get(ANY_MODE))
        assert m is not None
        ix = np.asarray(idx, dtype=np.int64)
        return np.asarray(m[np.ix_(ix, ix)], dtype=np.int64)

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
    h = hashlib.sha256(json.dumps(provider.identity(mode), sort_keys=True).encode())
    h.update(mode.encode() + b"\0")
    for p in places:
        h.update(f"{p.lat:.7f},{p.lon:.7f};".encode())
    path = Path(cache_dir) / "matrices" / f"{h.hexdigest()}.npy"
    if path.exists():
        try:
            m = np.load(path, allow_pickle=False)
            if m.shape == (len(places), len(places)):
                return np.asarray(m, dtype=np.int64)
        except (OSError, ValueError):
            pass  # a damaged entry is asked again and overwritten
    m = np.asarray(provider.matrix(places, mode), dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".matrix-", suffix=".npy")
    with os.fdopen(fd, "wb") as f:
        np.save(f, m, allow_pickle=False)
    os.replace(tmp, path)
    return m


def scenario_places(scenario: Scenario) -> list[tuple[str, float, float]]:
    """Every place of ``scenario`` as ``(key, lat, lon)``: stations, then households."""
    out = [(f"station:{s.id}", s.lat, s.lon) for s in scenario.stations]
    out += [(f"household:{h.id}", h.lat, h.lon) for h in scenario.households]
    return out


def _modes(scenario: Scenario) -> list[str]:
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
    A ``matrix`` provider reads its file; a road provider (or ``road``, given) is asked per
    travel mode for all the scenario's places, through the disk cache, and the table is stored
    under ``cache_dir/tables`` by its fingerprint for the plans that record it.

    Raises ``ValueError`` (:class:`TravelTableError`, :class:`dispatch.roads.RoadServerError`)
    naming the field, file or server at fault; nothing is half-resolved.
    """
    settings = scenario.travel
    if settings.provider == "haversine":
        return scenario
    places = scenario_places(scenario)
    keys = [k for k, _, _ in places]
    modes = _modes(scenario)
    current = settings.table
    if isinstance(current, TravelTable) and not current.missing(keys, modes):
        return scenario
    if settings.provider == "matrix":
        if not settings.matrix:
            raise TravelTableError("travel.matrix: the stored matrix file is missing")
        table = _matrix_file(_path(settings, settings.matrix))
        problems = table.missing(keys, modes)
        if problems:
            raise TravelTableError(f"travel.matrix: {table.path}: {'; '.join(problems)}")
    else:
        provider = road if road is not None else road_provider(settings)
        folder = Path(cache_dir).resolve() if cache_dir is not None else default_cache_dir()
        question = hashlib.sha256(
            json.dumps(
                [[provider.identity(m) for m in modes], places], sort_keys=True, default=str
            ).encode()
        ).hexdigest()
        known = _remembered(f"road:{folder}:{question}")
        if known is not None:
            table = known
        else:
            points = [Place(k, lat, lon) for k, lat, lon in places]
            minutes = {mode: cached_matrix(provider, points, mode, folder) for mode in modes}
            table = TravelTable(
                provider.describe(), [Block(tuple(keys), minutes)], cache_dir=folder
            )
            _remember(f"road:{folder}:{question}", table)
    return replace(scenario, travel=replace(settings, table=table))


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
    if scenario.travel.provider == "haversine" or not isinstance(table, TravelTable):
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
    override: Mapping[str, str | Path] | Sequence[str | Path] = (),
) -> TravelTable:
    """The travel times a plan records, each table checked against its fingerprint.

    A table among ``known`` (already in memory) with the same fingerprint is used as it is;
    otherwise the file named by ``override`` (paths given by the user, e.g. a plan moved to
    another machine) or by the record is read. Raises :class:`TravelTableError` when a table
    is missing or its content is not the recorded one.
    """
    by_print = {t.fingerprint: t for t in known}
    for p in override.values() if isinstance(override, Mapping) else override:
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
    known = [own] if isinstance(own, TravelTable) else []
    table = load_recorded(plan.travel, known=known, override=tables)
    travel = replace(scenario.travel, provider=plan.travel.provider, table=table)
    return replace(scenario, travel=travel)


def contract_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` on the contract's straight-line model (its circuity and speeds)."""
    if scenario.travel.provider == "haversine" and scenario.travel.table is None:
        return scenario
    return replace(scenario, travel=replace(scenario.travel, provider="haversine", table=None))
