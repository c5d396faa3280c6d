"""Load benchmark: the service under many concurrent clients, on this machine's loopback only.

A real server (``uvicorn api.app:app``, one process, the settings' worker threads) is started
on ``127.0.0.1`` with a fresh database (SQLite file by default, or ``--database-url``), the
demo district is imported and its greedy week published through the API. Then, level by
level, ``c`` concurrent clients (one keep-alive connection each) read:

- ``assignments``: ``GET /caregivers/{id}/assignments?date=…`` for random caregivers (what a
  caregiver's phone asks), as that caregiver;
- ``routes``: ``GET /routes?date=…`` (a dispatcher's day board of every caregiver);

and ``hotline``: ten dispatchers send hotline requests (``POST /work-orders``, options only,
nothing confirmed) at once. Each level reports requests per second, p50/p95/p99 in
milliseconds and errors (any answer that is not 2xx, or no answer within ``--timeout``).

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
import os
import random
import socket
import subprocess
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

__all__ = ["Level", "main", "run_level"]

_ADMIN = "benchmark-load-admin-token-0123456789"
_ROOT = Path(__file__).resolve().parent.parent
_DEMO = _ROOT / "data" / "demo" / "district.json"
_SERVICES = ("welfare_visit", "cleaning", "meal_delivery", "walking")
_URGENCY = ("normal", "normal", "urgent", "emergency")


@dataclass(frozen=True)
class Level:
    """What one level of one workload measured."""

    workload: str
    clients: int
    requests: int
    seconds: float
    ms: tuple[float, ...]
    errors: int

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
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn subprocess on a free loopback port, stopped on exit."""

    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DISPATCH_DATABASE_URL": database_url,
            "DISPATCH_ADMIN_TOKEN": _ADMIN,
            "DISPATCH_LOAD_DEMO": "false",
        }
        command = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--log-level", "warning"],
            cwd=_ROOT,
            env=env,
        )

    def wait(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server stopped while starting")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


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


async def run_level(
    base: str,
    workload: str,
    clients: int,
    requests: int,
    make: Any,
    timeout: float,
) -> Level:
    """``requests`` requests made by ``make(i) -> (method, url, headers, body)`` from
    ``clients`` concurrent keep-alive clients."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    times: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as http:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                method, url, headers, body = make(i)
                start = time.perf_counter()
                try:
                    answer = await http.request(method, url, headers=headers, json=body)
                    ok = 200 <= answer.status_code < 300
                except httpx.HTTPError:
                    ok = False
                times.append((time.perf_counter() - start) * 1000.0)
                errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    seconds = time.perf_counter() - start
    return Level(workload, clients, requests, seconds, tuple(times), errors)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a bar is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128,256")
    parser.add_argument("--requests", type=int, default=512, help="requests per level (512)")
    parser.add_argument("--hotline", type=int, default=100, help="hotline requests (100)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'load.sqlite3'}"
        server = Server(url)
        try:
            server.wait()
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
                for _ in range(args.hotline)
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
