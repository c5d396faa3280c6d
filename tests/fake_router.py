"""A fake road-routing server for tests: OSRM's table service and Valhalla's matrix service on
127.0.0.1, answering by a simple rule that a test can work out by hand.

Travel seconds from ``a`` to ``b`` (degrees) at ``speed`` metres per second::

    metres  = 111_000 * |dlat| + 85_000 * |dlon| + 30_000 * max(0, dlat)
    seconds = metres / speed

The last term makes going north dearer than coming back, so the matrix is not symmetric and a
transposed answer shows. OSRM answers seconds to one decimal, Valhalla whole seconds (as the
real servers do). Speeds are per OSRM profile (``foot``, ``bike``, ``car``) and per Valhalla
costing (``pedestrian``, ``bicycle``, ``auto``; ``costing_options.bicycle.cycling_speed`` in
km/h overrides the bicycle's).

The server enforces a table limit (OSRM: coordinates per request, else HTTP 400
``{"code": "TooBig"}``; Valhalla: sources and targets per request each, else HTTP 400 with
``error_code`` 150), records every request (:class:`Seen`), and misbehaves on demand
(:attr:`FakeRouter.fault`, from the :attr:`FakeRouter.fault_from`-th request on).

Use it as a context manager: ``with FakeRouter(osrm_limit=10) as router: router.url``.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Metres per second per OSRM profile and per Valhalla costing.
SPEEDS: dict[str, float] = {
    "foot": 1.25,
    "bike": 4.0,
    "car": 8.0,
    "pedestrian": 1.25,
    "bicycle": 4.0,
    "auto": 8.0,
}

#: What :attr:`FakeRouter.fault` may be.
FAULTS = ("status500", "slow", "malformed", "short", "code")


def travel_seconds(a: tuple[float, float], b: tuple[float, float], speed: float) -> float:
    """The fake road's seconds from ``a`` to ``b`` (``(lat, lon)``) at ``speed`` m/s."""
    dlat = b[0] - a[0]
    dlon = b[1] - a[1]
    metres = 111_000 * abs(dlat) + 85_000 * abs(dlon) + 30_000 * max(0.0, dlat)
    return metres / speed


@dataclass
class Seen:
    """One request the server received."""

    kind: str  # "osrm" or "valhalla"
    profile: str  # OSRM profile or Valhalla costing
    coords: int  # distinct coordinates sent (OSRM: in the URL; Valhalla: sources + targets)
    sources: int
    targets: int
    query: dict[str, list[str]] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeRouter:
    """An OSRM and Valhalla look-alike on ``127.0.0.1`` (a free port), in a daemon thread.

    ``osrm_limit``: most coordinates per OSRM request. ``valhalla_limit``: most sources, and
    most targets, per Valhalla request. ``columnar``: Valhalla answers in the newer
    ``{"durations": [[...]]}`` form. ``null_pairs``: ``((lat, lon), (lat, lon))`` pairs with no
    route (null duration). ``fault``: one of :data:`FAULTS` (``"code"``: OSRM answers HTTP 200
    with code ``NoSegment``), applied from request number ``fault_from`` (1-based) on;
    ``delay``: seconds a ``"slow"`` answer waits.
    """

    def __init__(
        self,
        *,
        osrm_limit: int = 100,
        valhalla_limit: int = 50,
        columnar: bool = False,
        speeds: dict[str, float] | None = None,
    ) -> None:
        self.osrm_limit = osrm_limit
        self.valhalla_limit = valhalla_limit
        self.columnar = columnar
        self.speeds = dict(SPEEDS if speeds is None else speeds)
        self.null_pairs: set[tuple[tuple[float, float], tuple[float, float]]] = set()
        self.fault: str | None = None
        self.fault_from = 1
        self.delay = 5.0
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------

    def start(self) -> FakeRouter:
        router = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                router._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                router._handle(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left; nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes slow answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start the router first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def seconds(
        self,
        kind: str,
        profile: str,
        a: tuple[float, float],
        b: tuple[float, float],
        cycling_speed_kmh: float | None = None,
    ) -> float:
        """The seconds this server answers from ``a`` to ``b`` (OSRM: one decimal; Valhalla:
        whole seconds)."""
        speed = self.speeds[profile] if cycling_speed_kmh is None else cycling_speed_kmh / 3.6
        s = travel_seconds(a, b, speed)
        return round(s, 1) if kind == "osrm" else float(round(s))

    # -- answering ------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, body: bytes | None) -> None:
        parts = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(parts.query)
        path = parts.path
        try:
            if body is None and path.startswith("/table/v1/"):
                self._osrm(h, path, query)
            elif body is not None and path == "/sources_to_targets":
                self._valhalla(h, body, query)
            else:
                self._send(h, 404, {"code": "InvalidUrl", "message": f"no service at {path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _record(self, seen: Seen) -> int:
        with self._lock:
            self.seen.append(seen)
            return len(self.seen)

    def _faulty(self, number: int) -> str | None:
        return self.fault if self.fault and number >= self.fault_from else None

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, doc: Any, raw: bytes | None = None
    ) -> None:
        payload = raw if raw is not None else json.dumps(doc).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _misbehave(self, h: BaseHTTPRequestHandler, fault: str | None) -> bool:
        """Answers as ``fault`` says; ``False`` when the answer is still to be given."""
        if fault == "status500":
            h.send_response(500)
            h.send_header("Content-Type", "text/plain")
            h.end_headers()
            h.wfile.write(b"Internal Server Error")
            return True
        if fault == "slow":
            self._stop.wait(self.delay)
        if fault == "malformed":
            self._send(h, 200, None, raw=b'{"code": "Ok", "durations": [[0, 12')
            return True
        return False

    def _osrm(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:
        _, _, _, profile, coord_text = path.split("/", 4)
        coords = []
        for pair in coord_text.split(";"):
            lon, lat = pair.split(",")
            coords.append((float(lat), float(lon)))
        src = _indices(query.get("sources"), len(coords))
        dst = _indices(query.get("destinations"), len(coords))
        headers = {k: v for k, v in h.headers.items()}
        number = self._record(
            Seen("osrm", profile, len(coords), len(src), len(dst), query, headers=headers)
        )
        fault = self._faulty(number)
        if self._misbehave(h, fault):
            return
        if fault == "code":
            self._send(
                h, 200, {"code": "NoSegment", "message": "Could not find a matching segment"}
            )
            return
        if len(coords) > self.osrm_limit:
            self._send(h, 400, {"code": "TooBig", "message": "Too many table coordinates"})
            return
        if profile not in self.speeds:
            self._send(h, 400, {"code": "InvalidOptions", "message": f"no profile {profile}"})
            return
        rows: list[list[float | None]] = []
        for i in src:
            row: list[float | None] = []
            for j in dst:
                a, b = coords[i], coords[j]
                row.append(
                    None if (a, b) in self.null_pairs else self.seconds("osrm", profile, a, b)
                )
            rows.append(row)
        if fault == "short":
            rows = rows[:-1]
        self._send(h, 200, {"code": "Ok", "durations": rows})

    def _valhalla(self, h: BaseHTTPRequestHandler, raw: bytes, query: dict[str, list[str]]) -> None:
        body = json.loads(raw)
        sources = [(float(p["lat"]), float(p["lon"])) for p in body["sources"]]
        targets = [(float(p["lat"]), float(p["lon"])) for p in body["targets"]]
        costing = body["costing"]
        headers = {k: v for k, v in h.headers.items()}
        number = self._record(
            Seen(
                "valhalla",
                costing,
                len(set(sources) | set(targets)),
                len(sources),
                len(targets),
                query,
                body,
                headers,
            )
        )
        fault = self._faulty(number)
        if self._misbehave(h, fault):
            return
        if len(sources) > self.valhalla_limit or len(targets) > self.valhalla_limit:
            self._send(
                h,
                400,
                {
                    "error_code": 150,
                    "error": "Exceeded max locations",
                    "status_code": 400,
                    "status": "Bad Request",
                },
            )
            return
        if costing not in self.speeds:
            self._send(
                h,
                400,
                {
                    "error_code": 125,
                    "error": "No costing method found",
                    "status_code": 400,
                    "status": "Bad Request",
                },
            )
            return
        cycling = None
        if costing == "bicycle":
            cycling = body.get("costing_options", {}).get("bicycle", {}).get("cycling_speed")
        times: list[list[float | None]] = [
            [
                None
                if (a, b) in self.null_pairs
                else self.seconds("valhalla", costing, a, b, cycling)
                for b in targets
            ]
            for a in sources
        ]
        if fault == "short":
            times = times[:-1]
        if self.columnar:
            doc: dict[str, Any] = {
                "sources_to_targets": {
                    "durations": times,
                    "distances": [[None if t is None else 1.0 for t in row] for row in times],
                }
            }
        else:
            doc = {
                "sources_to_targets": [
                    [
                        {
                            "from_index": i,
                            "to_index": j,
                            "time": None if t is None else int(t),
                            "distance": None if t is None else 1.0,
                        }
                        for j, t in enumerate(row)
                    ]
                    for i, row in enumerate(times)
                ]
            }
        self._send(h, 200, doc)


def _indices(values: list[str] | None, n: int) -> list[int]:
    if not values or values[0] == "all":
        return list(range(n))
    return [int(x) for x in values[0].split(";")]
