"""Travel times on real roads (路网行程时间): OSRM and Valhalla routing servers, and Valhalla
embedded in the process.

Each provider answers the travel-provider question, ``matrix(places, mode)``: a square matrix
of whole minutes between places (anything with ``key``, ``lat``, ``lon`` in WGS-84 degrees,
such as :class:`dispatch.travel.Place`), zero on the diagonal, not necessarily symmetric
(one-way streets). Servers answer in seconds; each entry becomes ``ceil(seconds / 60)``.

- :class:`OsrmProvider`: OSRM's table service, one profile per travel mode.
- :class:`ValhallaProvider`: Valhalla's ``sources_to_targets`` service, one costing per mode.
- :class:`ValhallaLocalProvider`: the same Valhalla requests answered in this process by the
  ``pyvalhalla`` package, over road tiles the user has built.

Servers limit the size of one request, so a large matrix is asked for in blocks that each
respect the limit; places at identical coordinates are asked for once. Any failure (HTTP error,
timeout, refused connection, an answer that is not the expected JSON, a pair with no road
route) raises :class:`RoadServerError` naming the server, the profile and what happened, and
no matrix is returned: a matrix is never partly real.

``identity(mode)`` says what determines a provider's answers for a mode (for a cache keyed by
content); ``describe()`` names the provider in messages. How to run the servers: docs/roads.md.
"""

from __future__ import annotations

import base64
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from http.client import HTTPException
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

# This module imports nothing of the project: dispatch.travel and the scenario's travel
# resolution may import it without a cycle.

__all__ = [
    "DEFAULT_OSRM_PROFILES",
    "DEFAULT_VALHALLA_COSTINGS",
    "OsrmProvider",
    "RoadServerError",
    "ValhallaLocalProvider",
    "ValhallaProvider",
]

IntMatrix = npt.NDArray[np.int64]
FloatMatrix = npt.NDArray[np.float64]

#: OSRM profile per travel mode (the Lua profiles ``foot``, ``bicycle`` and ``car`` that ship
#: with OSRM; the name in the URL is what the server was started with).
DEFAULT_OSRM_PROFILES: Mapping[str, str] = {"walk": "foot", "ebike": "bike", "car": "car"}
#: Valhalla costing per travel mode.
DEFAULT_VALHALLA_COSTINGS: Mapping[str, str] = {
    "walk": "pedestrian",
    "ebike": "bicycle",
    "car": "auto",
}

_USER_AGENT = "eldercare-dispatch/0.1 (road travel times)"
_INSTALL_HINT = (
    "the pyvalhalla package is not installed: run `pip install pyvalhalla`, then build road "
    "tiles with `python -m valhalla valhalla_build_tiles -c valhalla.json <region>.osm.pbf` "
    "(docs/roads.md) / 未安装 pyvalhalla，请先安装并生成路网瓦片"
)


class RoadServerError(ValueError):
    """A routing server (or the embedded Valhalla) could not give the whole matrix.

    The message names the server (its URL without credentials or query), the profile or
    costing, and what happened.
    """


class Located(Protocol):
    """What a provider needs of a place: a unique key and WGS-84 degrees."""

    @property
    def key(self) -> str: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


# --- shared: places, blocks, minutes ---------------------------------------------------------


class _Distinct:
    """The distinct coordinates among ``places``: ``coords[u] = (lat, lon)``, ``index[i]`` the
    row of ``places[i]`` among them, ``keys[u]`` the first place at each."""

    def __init__(self, places: Sequence[Located]) -> None:
        seen: dict[tuple[float, float], int] = {}
        self.keys: list[str] = []
        index = np.empty(len(places), dtype=np.int64)
        for i, p in enumerate(places):
            lat, lon = float(p.lat), float(p.lon)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
                raise ValueError(
                    f"place {p.key!r}: invalid WGS-84 coordinates ({p.lat!r}, {p.lon!r})"
                )
            u = seen.setdefault((lat, lon), len(seen))
            if u == len(self.keys):
                self.keys.append(str(p.key))
            index[i] = u
        self.coords = list(seen)
        self.index = index

    def __len__(self) -> int:
        return len(self.coords)


def _groups(n: int, size: int) -> list[npt.NDArray[np.int64]]:
    """``0 .. n-1`` cut into the fewest runs of at most ``size``, of nearly equal lengths."""
    k = max(1, -(-n // size))
    return [g.astype(np.int64) for g in np.array_split(np.arange(n), k)]


def _minutes(seconds: FloatMatrix, distinct: _Distinct, where: str) -> IntMatrix:
    """Whole minutes ``ceil(seconds / 60)`` for every place; zero diagonal.

    ``seconds`` is over the distinct coordinates; NaN off the diagonal means no answer.
    """
    np.fill_diagonal(seconds, 0.0)
    missing = np.argwhere(np.isnan(seconds))
    if missing.size:  # every block was asked for; this is a bug, not the server's fault
        i, j = missing[0]
        raise RoadServerError(
            f"{where}: no travel time was obtained from {distinct.keys[i]} to {distinct.keys[j]}"
        )
    minutes = np.ceil(seconds / 60.0).astype(np.int64)
    # Places at one point share a row of the distinct table: zero between them, and on the
    # diagonal.
    return np.ascontiguousarray(minutes[np.ix_(distinct.index, distinct.index)])


def _no_route(where: str, distinct: _Distinct, i: int, j: int) -> RoadServerError:
    return RoadServerError(
        f"{where}: no road route from {distinct.keys[i]} to {distinct.keys[j]} "
        "(is the place off the road network?) / 两地之间无可通行道路"
    )


def _as_seconds(rows: Any, shape: tuple[int, int], what: str) -> FloatMatrix:
    """A ``shape`` table of seconds from JSON rows of numbers or nulls (null: NaN).

    Raises ``ValueError`` (caught by the caller) for any other shape or value.
    """
    if not isinstance(rows, list) or len(rows) != shape[0]:
        raise ValueError(f"{what} has {_count(rows)} rows, expected {shape[0]}")
    for row in rows:
        if not isinstance(row, list) or len(row) != shape[1]:
            raise ValueError(f"{what} has a row of {_count(row)} entries, expected {shape[1]}")
        for v in row:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ValueError(f"{what} holds {v!r}, not a number of seconds")
    out = np.array(rows, dtype=np.float64).reshape(shape)
    bad = ~np.isnan(out) & ~((out >= 0) & np.isfinite(out))
    if bad.any():
        raise ValueError(f"{what} holds {out[bad][0]!r}, not a number of seconds")
    return out


def _is_index(value: Any, n: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list) else f"no list but {type(value).__name__}"


def _check_mapping(name: str, values: Mapping[str, str]) -> dict[str, str]:
    out = {str(mode): str(v) for mode, v in values.items()}
    for mode, v in out.items():
        if not v.strip():
            raise ValueError(f"{name}[{mode!r}] is empty")
    return out


def _positive_int(name: str, value: int, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")
    return value


# --- shared: HTTP ----------------------------------------------------------------------------


class _Endpoint:
    """A server's base URL: ``public`` (scheme, host, port and path; shown in messages and
    identities), the query and user:password it may carry (sent, never shown)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(str(url).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not the URL itself in the message: it may carry a key.
            raise ValueError(
                "road server URL must be http://host[:port][/path] or https://…, "
                f"got one with scheme {parts.scheme!r} and host {parts.hostname!r}"
            )
        host = parts.hostname
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        self.base = f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
        self.public = self.base
        self.query = parts.query
        self.auth: str | None = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self.auth = f"Basic {token}"

    def request(
        self, path: str, query: str = "", body: bytes | None = None
    ) -> urllib.request.Request:
        """A request for ``path`` under the base URL, with ``query`` and the base's own."""
        q = "&".join(x for x in (query, self.query) if x)
        url = self.base + path + (f"?{q}" if q else "")
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.auth:
            headers["Authorization"] = self.auth
        return urllib.request.Request(
            url, data=body, headers=headers, method="GET" if body is None else "POST"
        )


def _server_detail(raw: bytes) -> tuple[str, str]:
    """``(code, text)`` of an error answer: OSRM's ``code``/``message``, Valhalla's
    ``error_code``/``error``, else the start of the body."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    if isinstance(doc, dict):
        code = doc.get("code", doc.get("error_code", ""))
        text = doc.get("message", doc.get("error", ""))
        if code or text:
            return str(code), str(text)
    text = raw.decode("utf-8", "replace").strip()
    return "", (text[:200] + "…") if len(text) > 200 else text


def _fetch_json(
    request: urllib.request.Request,
    *,
    opener: Callable[..., Any],
    timeout: float,
    where: str,
    hint: Callable[[str], str],
) -> Any:
    """The decoded JSON answer to ``request``; every failure as :class:`RoadServerError`.

    ``hint(code)`` adds advice for a server error code (empty: none).
    """
    timed_out = f"{where}: timed out after {timeout:g} s / 路网服务超时"
    try:
        with opener(request, timeout=timeout) as response:
            status = getattr(response, "status", 200)
            raw = response.read()
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read()
        except (OSError, HTTPException):
            body = b""
        code, text = _server_detail(body or b"")
        detail = ": ".join(x for x in (code, text) if x)
        extra = hint(code)
        raise RoadServerError(
            f"{where}: HTTP {exc.code} {exc.reason}"
            + (f": {detail}" if detail else "")
            + (f" ({extra})" if extra else "")
            + " / 路网服务返回错误"
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise RoadServerError(timed_out) from None
        raise RoadServerError(
            f"{where}: cannot reach the server ({exc.reason}) / 无法连接路网服务"
        ) from None
    except TimeoutError:
        raise RoadServerError(timed_out) from None
    except (OSError, HTTPException) as exc:
        raise RoadServerError(
            f"{where}: the connection failed ({exc or type(exc).__name__}) / 路网服务连接中断"
        ) from None
    if not 200 <= int(status) < 300:
        code, text = _server_detail(raw)
        raise RoadServerError(
            f"{where}: HTTP {status}: {code} {text}".rstrip() + " / 路网服务返回错误"
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        start = raw[:80].decode("utf-8", "replace")
        raise RoadServerError(
            f"{where}: the answer is not valid JSON ({start!r}) / 路网服务返回的不是有效 JSON"
        ) from None


def _endpoints(url: str | Mapping[str, str]) -> tuple[_Endpoint | None, dict[str, _Endpoint]]:
    if isinstance(url, str):
        return _Endpoint(url), {}
    if not url:
        raise ValueError("road server URL: the mapping of travel modes to URLs is empty")
    return None, {str(mode): _Endpoint(u) for mode, u in url.items()}


def _describe_modes(
    kind: str, shared: _Endpoint | None, per_mode: Mapping[str, _Endpoint], names: Mapping[str, str]
) -> str:
    if shared is not None:
        listed = ", ".join(f"{m}: {names[m]}" for m in sorted(names))
        return f"{kind} {shared.public} ({listed})"
    listed = ", ".join(f"{m}: {names[m]} at {per_mode[m].public}" for m in sorted(per_mode))
    return f"{kind} ({listed})"


# --- OSRM ------------------------------------------------------------------------------------


class OsrmProvider:
    """Travel minutes from an OSRM server's table service (``/table/v1/{profile}/...``).

    ``url`` is the server's base URL (``http://host:5000``), or one base URL per travel mode:
    ``osrm-routed`` serves the one profile its data was prepared with and ignores the profile
    named in the URL, so walking, e-bike and car times usually come from three servers.
    ``profiles`` maps travel modes to OSRM profiles over :data:`DEFAULT_OSRM_PROFILES`.
    ``max_table_size`` is the most coordinates one request may carry (keep it at or under the
    server's ``--max-table-size``, default 100): the places are cut into groups of at most
    half that, and each request asks for the table among two groups. ``timeout`` is seconds
    per request. ``opener`` is called like ``urllib.request.urlopen(request, timeout=...)``.
    ``dataset`` names the road data the server was built from (``"china-2026-05"``); it is part
    of :meth:`identity`, so that answers cached from other data are not reused.

    Raises ``ValueError`` for a malformed URL, an empty profile or a limit below 2.
    """

    kind = "osrm"

    def __init__(
        self,
        url: str | Mapping[str, str],
        *,
        profiles: Mapping[str, str] | None = None,
        max_table_size: int = 100,
        timeout: float = 30.0,
        opener: Callable[..., Any] | None = None,
        dataset: str | None = None,
    ) -> None:
        self._shared, self._per_mode = _endpoints(url)
        self.profiles = dict(DEFAULT_OSRM_PROFILES)
        self.profiles.update(_check_mapping("profiles", profiles or {}))
        for mode in self._per_mode:
            if mode not in self.profiles:
                raise ValueError(f"OSRM: no profile for travel mode {mode!r} (give it in profiles)")
        self.max_table_size = _positive_int("max_table_size", max_table_size, 2)
        self.timeout = _timeout(timeout)
        self._opener = opener or urllib.request.urlopen
        self.dataset = dataset

    def modes(self) -> list[str]:
        """The travel modes this provider answers for."""
        return sorted(self._per_mode or self.profiles)

    def _endpoint(self, mode: str) -> tuple[_Endpoint, str]:
        endpoint = self._shared or self._per_mode.get(mode)
        if endpoint is None or mode not in self.profiles:
            raise ValueError(
                f"{self.describe()}: unknown travel mode {mode!r}; known: {self.modes()}"
            )
        return endpoint, self.profiles[mode]

    def describe(self) -> str:
        """``OSRM http://host:5000 (car: car, ebike: bike, walk: foot)`` or, with one server
        per mode, ``OSRM (walk: foot at http://host:5001, ...)``."""
        names = {m: self.profiles[m] for m in self.modes()}
        return _describe_modes("OSRM", self._shared, self._per_mode, names)

    def identity(self, mode: str) -> dict[str, Any]:
        """What determines the answers for ``mode``: kind, base URL (no credentials or query),
        profile, the rounding of seconds, and ``dataset`` when given."""
        endpoint, profile = self._endpoint(mode)
        out: dict[str, Any] = {
            "kind": self.kind,
            "url": endpoint.public,
            "profile": profile,
            "minutes": "ceil(seconds/60)",
        }
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out

    def matrix(self, places: Sequence[Located], mode: str) -> IntMatrix:
        """Whole minutes ``ceil(seconds / 60)`` from ``places[i]`` to ``places[j]`` by road;
        zero diagonal, not necessarily symmetric.

        Raises ``ValueError`` for an unknown mode or invalid coordinates, and
        :class:`RoadServerError` when any request fails or a pair has no route.
        """
        endpoint, profile = self._endpoint(mode)
        where = f"OSRM {endpoint.public} (profile {profile})"
        distinct = _Distinct(places)
        n = len(distinct)
        seconds = np.full((n, n), np.nan)
        if n > 1:
            if n <= self.max_table_size:
                blocks = [np.arange(n, dtype=np.int64)]
            else:
                # Any two groups together fit in one request; the requests are the pairs.
                groups = _groups(n, self.max_table_size // 2)
                blocks = [
                    np.concatenate((groups[a], groups[b]))
                    for a in range(len(groups))
                    for b in range(a + 1, len(groups))
                ]
            for number, block in enumerate(blocks, start=1):
                label = where if len(blocks) == 1 else f"{where}, request {number} of {len(blocks)}"
                table = self._table(endpoint, profile, [distinct.coords[u] for u in block], label)
                off = np.isnan(table) & (block[:, None] != block[None, :])
                if off.any():
                    i, j = np.argwhere(off)[0]
                    raise _no_route(where, distinct, int(block[i]), int(block[j]))
                seconds[np.ix_(block, block)] = table
        return _minutes(seconds, distinct, where)

    def _table(
        self,
        endpoint: _Endpoint,
        profile: str,
        coords: Sequence[tuple[float, float]],
        where: str,
    ) -> FloatMatrix:
        # OSRM stores coordinates as whole millionths of a degree: six decimals lose nothing.
        path_coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in coords)
        request = endpoint.request(
            f"/table/v1/{urllib.parse.quote(profile, safe='')}/{path_coords}",
            "annotations=duration",
        )
        answer = _fetch_json(
            request, opener=self._opener, timeout=self.timeout, where=where, hint=_osrm_hint
        )
        if not isinstance(answer, dict):
            raise RoadServerError(
                f"{where}: the answer is not a JSON object / 路网服务返回格式错误"
            )
        code = answer.get("code")
        if code != "Ok":
            message = answer.get("message", "")
            extra = _osrm_hint(str(code))
            raise RoadServerError(
                f"{where}: the server answered code {code!r}"
                + (f": {message}" if message else "")
                + (f" ({extra})" if extra else "")
                + " / 路网服务未能计算"
            )
        try:
            return _as_seconds(answer.get("durations"), (len(coords), len(coords)), "durations")
        except ValueError as exc:
            raise RoadServerError(
                f"{where}: malformed answer: {exc} / 路网服务返回格式错误"
            ) from None


def _osrm_hint(code: str) -> str:
    if code == "TooBig":
        return "set max_table_size no higher than the server's --max-table-size"
    if code == "NoSegment":
        return "a place is too far from any road of this profile"
    return ""


def _timeout(value: float) -> float:
    t = float(value)
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
    return t


# --- Valhalla --------------------------------------------------------------------------------


class _ValhallaMatrix:
    """Valhalla's matrix question, whoever answers it: costings per mode, the request body,
    the blocks of at most ``max_matrix_locations`` sources by as many targets, and both forms
    of the answer (rows of ``{from_index, to_index, time}`` objects, or the columnar
    ``{"durations": [[...]]}`` of newer versions)."""

    costings: dict[str, str]
    costing_options: dict[str, dict[str, Any]]
    max_matrix_locations: int

    def _setup(
        self,
        profiles: Mapping[str, str] | None,
        costing_options: Mapping[str, Mapping[str, Any]] | None,
        max_matrix_locations: int,
    ) -> None:
        self.costings = dict(DEFAULT_VALHALLA_COSTINGS)
        self.costings.update(_check_mapping("profiles", profiles or {}))
        self.costing_options = {}
        for mode, options in (costing_options or {}).items():
            try:
                # A JSON round trip: a private copy, and proof that it can be sent.
                self.costing_options[str(mode)] = json.loads(json.dumps(dict(options)))
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"costing_options[{mode!r}] must be a JSON object: {exc}"
                ) from None
        self.max_matrix_locations = _positive_int("max_matrix_locations", max_matrix_locations, 1)

    def _costing(self, mode: str, known: Sequence[str]) -> str:
        if mode not in known or mode not in self.costings:
            raise ValueError(
                f"{self.describe()}: unknown travel mode {mode!r}; known: {sorted(known)}"
            )
        return self.costings[mode]

    def describe(self) -> str:
        raise NotImplementedError

    def _ask(self, body: dict[str, Any], mode: str, where: str) -> Any:
        """The decoded answer to one ``sources_to_targets`` request."""
        raise NotImplementedError

    def _body(
        self,
        mode: str,
        costing: str,
        sources: list[tuple[float, float]],
        targets: list[tuple[float, float]],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sources": [{"lat": lat, "lon": lon} for lat, lon in sources],
            "targets": [{"lat": lat, "lon": lon} for lat, lon in targets],
            "costing": costing,
        }
        if mode in self.costing_options:
            body["costing_options"] = self.costing_options[mode]
        return body

    def _identity(self, mode: str, costing: str) -> dict[str, Any]:
        out: dict[str, Any] = {"costing": costing, "minutes": "ceil(seconds/60)"}
        if mode in self.costing_options:
            out["costing_options"] = self.costing_options[mode]
        return out

    def _solve(self, places: Sequence[Located], mode: str, costing: str, where: str) -> IntMatrix:
        distinct = _Distinct(places)
        n = len(distinct)
        seconds = np.full((n, n), np.nan)
        if n > 1:
            groups = _groups(n, self.max_matrix_locations)
            total = len(groups) ** 2
            number = 0
            for rows in groups:
                for cols in groups:
                    number += 1
                    label = where if total == 1 else f"{where}, request {number} of {total}"
                    body = self._body(
                        mode,
                        costing,
                        [distinct.coords[u] for u in rows],
                        [distinct.coords[u] for u in cols],
                    )
                    table = self._table(self._ask(body, mode, label), len(rows), len(cols), label)
                    off = np.isnan(table) & (rows[:, None] != cols[None, :])
                    if off.any():
                        i, j = np.argwhere(off)[0]
                        raise _no_route(where, distinct, int(rows[i]), int(cols[j]))
                    seconds[np.ix_(rows, cols)] = table
        return _minutes(seconds, distinct, where)

    @staticmethod
    def _table(answer: Any, n_sources: int, n_targets: int, where: str) -> FloatMatrix:
        def malformed(why: str) -> RoadServerError:
            return RoadServerError(f"{where}: malformed answer: {why} / 路网服务返回格式错误")

        if not isinstance(answer, dict):
            raise malformed("not a JSON object")
        if "error_code" in answer or "error" in answer:
            raise RoadServerError(
                f"{where}: Valhalla error {answer.get('error_code', '?')}: "
                f"{answer.get('error', '')} / 路网服务未能计算"
            )
        found = answer.get("sources_to_targets")
        shape = (n_sources, n_targets)
        if isinstance(found, dict):
            try:
                return _as_seconds(found.get("durations"), shape, "sources_to_targets.durations")
            except ValueError as exc:
                raise malformed(str(exc)) from None
        if not isinstance(found, list):
            raise malformed("no sources_to_targets list")
        # Rows of objects; each says its own cell, so a flat list is read as well.
        cells = [c for row in found for c in (row if isinstance(row, list) else [row])]
        out = np.full(shape, np.nan)
        filled = np.zeros(shape, dtype=bool)
        for cell in cells:
            if not isinstance(cell, dict) or "time" not in cell:
                raise malformed(f"entry {cell!r} has no time")
            i, j, t = cell.get("from_index"), cell.get("to_index"), cell["time"]
            if not (_is_index(i, n_sources) and _is_index(j, n_targets)):
                raise malformed(f"entry {cell!r} has no valid from_index/to_index")
            if t is not None:
                if (
                    isinstance(t, bool)
                    or not isinstance(t, int | float)
                    or not (math.isfinite(t) and t >= 0)
                ):
                    raise malformed(f"entry {cell!r} has a time that is no number of seconds")
                out[i, j] = float(t)
            filled[i, j] = True
        if not filled.all():
            i, j = np.argwhere(~filled)[0]
            raise malformed(f"no entry for source {i} and target {j}")
        return out


class ValhallaProvider(_ValhallaMatrix):
    """Travel minutes from a Valhalla server's ``sources_to_targets`` service (POST, JSON).

    ``url`` is the server's base URL (``http://host:8002``) or one per travel mode.
    ``profiles`` maps travel modes to Valhalla costings over
    :data:`DEFAULT_VALHALLA_COSTINGS`; ``costing_options`` gives per mode the request's
    ``costing_options`` object, e.g. ``{"ebike": {"bicycle": {"cycling_speed": 18}}}``.
    ``max_matrix_locations`` is the most sources, and the most targets, of one request
    (its square must stay within the server's ``max_matrix_location_pairs``, 2,500 by
    default; older servers limit sources and targets to 50 each). ``timeout``, ``opener``
    and ``dataset`` as for :class:`OsrmProvider`.

    Raises ``ValueError`` for a malformed URL, an empty costing, costing options that are
    not JSON objects or a limit below 1.
    """

    kind = "valhalla"

    def __init__(
        self,
        url: str | Mapping[str, str],
        *,
        profiles: Mapping[str, str] | None = None,
        costing_options: Mapping[str, Mapping[str, Any]] | None = None,
        max_matrix_locations: int = 50,
        timeout: float = 30.0,
        opener: Callable[..., Any] | None = None,
        dataset: str | None = None,
    ) -> None:
        self._shared, self._per_mode = _endpoints(url)
        self._setup(profiles, costing_options, max_matrix_locations)
        for mode in self._per_mode:
            if mode not in self.costings:
                raise ValueError(
                    f"Valhalla: no costing for travel mode {mode!r} (give it in profiles)"
                )
        self.timeout = _timeout(timeout)
        self._opener = opener or urllib.request.urlopen
        self.dataset = dataset

    def modes(self) -> list[str]:
        """The travel modes this provider answers for."""
        return sorted(self._per_mode or self.costings)

    def _endpoint(self, mode: str) -> tuple[_Endpoint, str]:
        costing = self._costing(mode, self.modes())
        endpoint = self._shared or self._per_mode[mode]
        return endpoint, costing

    def describe(self) -> str:
        """``Valhalla http://host:8002 (car: auto, ebike: bicycle, walk: pedestrian)``."""
        names = {m: self.costings[m] for m in self.modes()}
        return _describe_modes("Valhalla", self._shared, self._per_mode, names)

    def identity(self, mode: str) -> dict[str, Any]:
        """What determines the answers for ``mode``: kind, base URL (no credentials or query),
        costing and its options, the rounding of seconds, and ``dataset`` when given."""
        endpoint, costing = self._endpoint(mode)
        out = {"kind": self.kind, "url": endpoint.public, **self._identity(mode, costing)}
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out

    def matrix(self, places: Sequence[Located], mode: str) -> IntMatrix:
        """Whole minutes ``ceil(seconds / 60)`` from ``places[i]`` to ``places[j]`` by road;
        zero diagonal. Raises as :meth:`OsrmProvider.matrix`."""
        endpoint, costing = self._endpoint(mode)
        return self._solve(places, mode, costing, f"Valhalla {endpoint.public} (costing {costing})")

    def _ask(self, body: dict[str, Any], mode: str, where: str) -> Any:
        endpoint, _ = self._endpoint(mode)
        request = endpoint.request("/sources_to_targets", body=json.dumps(body).encode("utf-8"))
        return _fetch_json(
            request, opener=self._opener, timeout=self.timeout, where=where, hint=_valhalla_hint
        )


def _valhalla_hint(code: str) -> str:
    if code == "150":
        return (
            "lower max_matrix_locations: its square must stay within the server's "
            "service_limits max_matrix_location_pairs"
        )
    if code == "154":
        return "the places are farther apart than the costing's max_matrix_distance"
    return ""


class ValhallaLocalProvider(_ValhallaMatrix):
    """Travel minutes from Valhalla running inside this process (``pyvalhalla``), over road
    tiles the user has built; the requests and answers are those of :class:`ValhallaProvider`.

    ``config`` is the path of a ``valhalla.json`` (or the configuration as a mapping) whose
    ``mjolnir.tile_extract`` or ``mjolnir.tile_dir`` holds the tiles. ``actor`` replaces the
    ``valhalla.Actor`` built from it (anything with ``matrix(json_text) -> json_text or
    dict``). ``max_matrix_locations`` also obeys the configuration's ``service_limits``.
    Other options as for :class:`ValhallaProvider`.

    Raises :class:`RoadServerError` when ``pyvalhalla`` is not installed or the actor cannot be
    built (no tiles), ``ValueError`` when neither ``config`` nor ``actor`` is given.
    """

    kind = "valhalla-local"

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        profiles: Mapping[str, str] | None = None,
        costing_options: Mapping[str, Mapping[str, Any]] | None = None,
        max_matrix_locations: int = 50,
        actor: Any | None = None,
        dataset: str | None = None,
    ) -> None:
        self._setup(profiles, costing_options, max_matrix_locations)
        self.dataset = dataset
        self.tiles = _tile_source(config)
        self._label = f"Valhalla local {self.tiles or '(given actor)'}"
        if actor is None:
            if config is None:
                raise ValueError("Valhalla local: give the configuration file (or an actor)")
            actor = _build_actor(config, self._label)
        self._actor = actor

    def modes(self) -> list[str]:
        """The travel modes this provider answers for."""
        return sorted(self.costings)

    def describe(self) -> str:
        """``Valhalla local /data/valhalla_tiles.tar (car: auto, ...)``."""
        listed = ", ".join(f"{m}: {self.costings[m]}" for m in self.modes())
        return f"{self._label} ({listed})"

    def identity(self, mode: str) -> dict[str, Any]:
        """What determines the answers for ``mode``: kind, the tiles (path, and the size and
        modification time of a tile extract), costing and its options, the rounding of
        seconds, and ``dataset`` when given."""
        costing = self._costing(mode, self.modes())
        out: dict[str, Any] = {"kind": self.kind, "tiles": self.tiles}
        if self.tiles:
            try:
                stat = Path(self.tiles).stat()
                if Path(self.tiles).is_file():
                    out["tiles_stamp"] = [stat.st_size, stat.st_mtime_ns]
            except OSError:
                pass
        out.update(self._identity(mode, costing))
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out

    def matrix(self, places: Sequence[Located], mode: str) -> IntMatrix:
        """Whole minutes ``ceil(seconds / 60)`` from ``places[i]`` to ``places[j]`` by road;
        zero diagonal. Raises as :meth:`OsrmProvider.matrix`."""
        costing = self._costing(mode, self.modes())
        return self._solve(places, mode, costing, f"{self._label} (costing {costing})")

    def _ask(self, body: dict[str, Any], mode: str, where: str) -> Any:
        try:
            answer = self._actor.matrix(json.dumps(body))
        except Exception as exc:  # the bindings raise RuntimeError subclasses, and others
            raise RoadServerError(f"{where}: {exc} / 路网计算失败") from None
        if isinstance(answer, bytes | str):
            try:
                return json.loads(answer)
            except ValueError:
                raise RoadServerError(
                    f"{where}: the answer is not valid JSON ({str(answer)[:80]!r}) "
                    "/ 路网服务返回的不是有效 JSON"
                ) from None
        return answer


def _tile_source(config: str | os.PathLike[str] | Mapping[str, Any] | None) -> str | None:
    """Where a Valhalla configuration's tiles are (its tile extract, else its tile folder)."""
    if config is None:
        return None
    doc: Any = config
    if not isinstance(config, Mapping):
        try:
            doc = json.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return str(config)
    mjolnir = doc.get("mjolnir") if isinstance(doc, Mapping) else None
    if isinstance(mjolnir, Mapping):
        for key in ("tile_extract", "tile_dir"):
            if mjolnir.get(key):
                return str(mjolnir[key])
    return None if isinstance(config, Mapping) else str(config)


def _build_actor(config: str | os.PathLike[str] | Mapping[str, Any], label: str) -> Any:
    try:
        from valhalla import Actor  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise RoadServerError(f"{label}: {_INSTALL_HINT}") from None
    try:
        return Actor(dict(config) if isinstance(config, Mapping) else str(config))
    except Exception as exc:  # missing tiles, unreadable configuration
        raise RoadServerError(
            f"{label}: Valhalla could not start ({exc}); are the tiles built? / 路网瓦片无法加载"
        ) from None
