"""Load benchmark: the service under many concurrent clients, on this machine's loopback only.

A real server (``python -m api.serve --workers 2`` by default: two processes, each with a
socket of its own and the settings' worker threads) is started
on ``127.0.0.1`` with a fresh database (SQLite file by default, or ``--database-url``), the
demo district is imported and its greedy week published through the API. Then, level by
level, ``c`` concurrent clients (one keep-alive connection each) read:

- ``assignments``: ``GET /caregivers/{id}/assignments?date=…`` for random caregivers (what a
  caregiver's phone asks), as that caregiver;
- ``routes``: ``GET /routes?date=…`` (a dispatcher's day board of every caregiver);

and ``hotline``: ten dispatchers send hotline requests (``POST /work-orders``, options only,
nothing confirmed) at once. Each client connects and makes one request of its workload before
the clock starts (it opens the keep-alive connection and fills the server's caches of the
day); the slowest of these is reported apart (``first ms``: a cold hotline call of the day).
Each level reports requests per second, p50/p95/p99 in milliseconds and errors (any answer
that is not 2xx, or no answer within ``--timeout``, the first requests' included). The client
is a minimal HTTP/1.1 one of its own: it shares the cores with the server, and a general client
would spend more time per request than the server.

The bars (from the issue this benchmark was written for): 0 errors at every level up to 256
clients; assignments p99 ≤ 100 ms at 32 clients; routes ≥ 100 requests per second at 16
clients on SQLite; hotline p95 ≤ 150 ms with 10 dispatchers. The exit status is 1 when one is
missed. Absolute figures depend on the machine (clients and server share its cores).

Examples::

    python -m benchmarks.load
    python -m benchmarks.load --levels 1,16,64 --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import format_table
from benchmarks.hotline import percentile
from benchmarks.server import ROOT, LoopbackServer

__all__ = ["Level", "main", "run_level"]

_ADMIN = "benchmark-load-admin-token-0123456789"
_DEMO = ROOT / "data" / "demo" / "district.json"
_SERVICES = ("welfare_visit", "cleaning", "meal_delivery", "walking")
_URGENCY = ("normal", "normal", "urgent", "emergency")
#: What a request that got no proper answer raises.
_FAILURES = (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError)


@dataclass(frozen=True)
class Level:
    """What one level of one workload measured."""

    workload: str
    clients: int
    requests: int
    seconds: float
    ms: tuple[float, ...]
    errors: int
    first: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def row(self) -> list[str]:
        ms = self.ms or (0.0,)
        return [
            self.workload,
            str(self.clients),
            str(self.requests),
            f"{self.rps:.0f}",
            f"{percentile(list(ms), 50):.1f}",
            f"{percentile(list(ms), 95):.1f}",
            f"{percentile(list(ms), 99):.1f}",
            str(self.errors),
            f"{self.first:.0f}",
        ]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _prepare(base: str) -> tuple[date, list[str], dict[str, dict[str, str]], list[str]]:
    """Import the demo district, publish its greedy week; the day, the caregivers working it,
    a token per role (and per caregiver) and the households."""
    admin = _bearer(_ADMIN)
    document = json.loads(_DEMO.read_text(encoding="utf-8"))
    with httpx.Client(base_url=f"{base}/api/v1", timeout=120.0) as client:
        assert client.post("/scenario", json=document, headers=admin).status_code == 200
        job = client.post("/plans", json={"solver": "greedy"}, headers=admin)
        assert job.status_code == 202, job.text
        plan_id = job.json()["id"]
        while client.get(f"/plans/{plan_id}", headers=admin).json()["status"] != "done":
            time.sleep(0.5)
        published = client.post(f"/plans/{plan_id}/publish", headers=admin)
        assert published.status_code == 200, published.text
        monday = date.fromisoformat(document["week_start"])
        day = monday + timedelta(days=1)
        routes = client.get(f"/routes?date={day}", headers=admin).json()
        caregivers = sorted(routes)
        tokens: dict[str, dict[str, str]] = {}
        for role in ("dispatcher", "planner"):
            made = client.post("/tokens", json={"name": role, "role": role}, headers=admin)
            tokens[role] = _bearer(made.json()["token"])
        for cid in caregivers:
            body = {"name": cid, "role": "caregiver", "caregiver_id": cid}
            made = client.post("/tokens", json=body, headers=admin)
            tokens[cid] = _bearer(made.json()["token"])
    households = [h["id"] for h in document["households"]]
    return day, caregivers, tokens, households


class _Connection:
    """One keep-alive HTTP/1.1 connection with nothing but what the benchmark needs.

    The load generator shares the machine's cores with the server: a general client such as
    httpx spends more processor time per request than the server does on a short read, which
    would measure the client. This one writes a request and reads the status, the headers and
    a ``Content-Length`` or chunked body, nothing more.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        status = int((await self.reader.readline()).split()[1])
        length, chunked, closing = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                closing = value == "close"
        if chunked:
            parts = []
            while size := int((await self.reader.readline()).strip(), 16):
                parts.append(await self.reader.readexactly(size + 2))
            await self.reader.readline()
            content = b"".join(p[:-2] for p in parts)
        else:
            content = await self.reader.readexactly(length)
        if closing:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run_level(
    base: str,
    workload: str,
    clients: int,
    requests: int,
    make: Any,
    timeout: float,
) -> Level:
    """``requests`` requests made by ``make(i) -> (method, url, headers, body)`` from
    ``clients`` concurrent keep-alive clients, each connected before the clock starts."""
    address = httpx.URL(base)
    host, port = address.host, address.port or 80
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    times: list[float] = []
    errors = 0
    ready = asyncio.Event()
    connected = 0

    first: list[float] = []

    async def client(k: int) -> None:
        nonlocal errors, connected
        connection = _Connection(host, port)
        try:
            # Each client's first request, ``make(requests + k)``, is not counted: it opens the
            # keep-alive connection (a level measures connected clients, not a burst of TCP
            # handshakes) and fills the server process's caches of the day (the first hotline
            # call of a day reads and parses the week's master data and plan). Its time is
            # reported apart, as ``first``.
            method, url, headers, body = make(requests + k)
            path = httpx.URL(url).raw_path.decode("ascii")
            start = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(
                    connection.request(method, path, headers, body), timeout
                )
            except _FAILURES:
                status = 0
                await connection.close()
            first.append((time.perf_counter() - start) * 1000.0)
            errors += not 200 <= status < 300
        finally:
            connected += 1
            if connected == clients:
                ready.set()
        await ready.wait()
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            method, url, headers, body = make(i)
            path = httpx.URL(url).raw_path.decode("ascii")
            start = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(
                    connection.request(method, path, headers, body), timeout
                )
                ok = 200 <= status < 300
            except _FAILURES:
                ok = False
                await connection.close()
            times.append((time.perf_counter() - start) * 1000.0)
            errors += not ok
        await connection.close()

    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    await ready.wait()
    start = time.perf_counter()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    slowest_first = max(first, default=0.0)
    return Level(workload, clients, requests, seconds, tuple(times), errors, slowest_first)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a bar is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128,256")
    parser.add_argument("--requests", type=int, default=512, help="requests per level (512)")
    parser.add_argument("--hotline", type=int, default=100, help="hotline requests (100)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes (uvicorn --workers; 2, one a core of this machine)",
    )
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'load.sqlite3'}"
        server = LoopbackServer(url, admin_token=_ADMIN, workers=args.workers)
        try:
            server.wait(warm=True)
            day, caregivers, tokens, households = _prepare(server.base)
            api = f"{server.base}/api/v1"
            print(
                f"demo district published; {len(caregivers)} caregivers work {day}",
                flush=True,
            )

            def assignments(i: int) -> tuple[str, str, dict[str, str], None]:
                cid = caregivers[(i * 7919 + args.seed) % len(caregivers)]
                return "GET", f"{api}/caregivers/{cid}/assignments?date={day}", tokens[cid], None

            def routes(_i: int) -> tuple[str, str, dict[str, str], None]:
                return "GET", f"{api}/routes?date={day}", tokens["dispatcher"], None

            calls = [
                {
                    "date": str(day),
                    "now": f"{8 + rng.randrange(6):02d}:{rng.randrange(60):02d}",
                    "household": rng.choice(households),
                    "service": rng.choice(_SERVICES),
                    "urgency": rng.choice(_URGENCY),
                }
                for _ in range(args.hotline + 10)
            ]

            def hotline(i: int) -> tuple[str, str, dict[str, str], dict[str, Any]]:
                return "POST", f"{api}/work-orders", tokens["dispatcher"], calls[i]

            results: list[Level] = []
            for workload, make in (("assignments", assignments), ("routes", routes)):
                for clients in levels:
                    n = max(args.requests, clients)
                    level = asyncio.run(
                        run_level(server.base, workload, clients, n, make, args.timeout)
                    )
                    results.append(level)
                    print(" ".join(level.row()), flush=True)
            level = asyncio.run(
                run_level(server.base, "hotline", 10, args.hotline, hotline, args.timeout)
            )
            results.append(level)
        finally:
            server.stop()

    header = ["workload", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    header.append("first ms")
    print(format_table(header, [r.row() for r in results]))
    return _verdict(results, sqlite=args.database_url is None)


def _verdict(results: Sequence[Level], *, sqlite: bool) -> int:
    missed = []
    if any(r.errors for r in results):
        missed.append("errors at some level")
    for r in results:
        ms = list(r.ms) or [0.0]
        if r.workload == "assignments" and r.clients == 32 and percentile(ms, 99) > 100.0:
            missed.append(f"assignments p99 {percentile(ms, 99):.0f} ms > 100 ms at 32 clients")
        if r.workload == "routes" and r.clients == 16 and sqlite and r.rps < 100.0:
            missed.append(f"routes {r.rps:.0f} req/s < 100 at 16 clients")
        if r.workload == "hotline" and percentile(ms, 95) > 150.0:
            missed.append(f"hotline p95 {percentile(ms, 95):.0f} ms > 150 ms")
    for m in missed:
        print(f"bar missed: {m}")
    if not missed:
        print("every bar met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
