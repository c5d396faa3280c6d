"""Admission: no more requests inside the app than there are worker threads; the rest wait in
the event loop holding nothing, and ``/health`` is always answered."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from api.app import AdmissionMiddleware


@pytest.mark.parametrize("limit", [1, 3])
def test_at_most_limit_requests_are_inside_at_once(limit: int) -> None:
    """Twelve requests that stay inside until released: exactly ``limit`` get in; health is
    answered while they hold the gate, and once released the rest go through."""
    inside = 0
    most = 0
    served = 0
    health_seen_inside: list[int] = []
    release = anyio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, most, served
        if scope["path"].endswith("/health"):
            health_seen_inside.append(inside)
            return
        inside += 1
        most = max(most, inside)
        await release.wait()
        inside -= 1
        served += 1

    guarded = AdmissionMiddleware(app, limit)

    async def call(path: str) -> None:
        await guarded({"type": "http", "path": path}, None, None)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(call, "/api/v1/routes")
            while inside < limit:
                await anyio.sleep(0)
            for _ in range(20):  # the others had every chance to get in
                await anyio.sleep(0)
            # Health is answered while the gate is full, not after the queue drained.
            with anyio.fail_after(5):
                await call("/api/v1/health")
            release.set()

    anyio.run(main)
    assert most == limit
    assert health_seen_inside == [limit]
    assert served == 12
