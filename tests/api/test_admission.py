"""Admission: no more requests inside the app than there are worker threads; the rest wait in
the event loop holding nothing, and ``/health`` is always answered."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from api.app import AdmissionMiddleware


@pytest.mark.parametrize("limit", [1, 3])
def test_at_most_limit_requests_are_inside_at_once(limit: int) -> None:
    inside = 0
    most = 0
    health_seen_inside: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, most
        if scope["path"].endswith("/health"):
            health_seen_inside.append(inside)
            return
        inside += 1
        most = max(most, inside)
        await anyio.sleep(0.01)
        inside -= 1

    guarded = AdmissionMiddleware(app, limit)

    async def call(path: str) -> None:
        await guarded({"type": "http", "path": path}, None, None)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(call, "/api/v1/routes")
            await anyio.sleep(0.005)
            tg.start_soon(call, "/api/v1/health")

    anyio.run(main)
    assert most == limit
    # Health was answered while the gate was full, not after the queue drained.
    assert health_seen_inside and health_seen_inside[0] == limit
