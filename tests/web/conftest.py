"""The web console in a real browser: a ``uvicorn`` server of this source tree on a free
loopback port with a temporary SQLite database (no demo), the tiny scenario of this week and a
published plan imported through the API, a token per role, and Debian's Chromium driven by
Playwright (``DISPATCH_CHROMIUM``, default ``chromium`` on the PATH). Without a browser or
Playwright the tests are skipped, saying why; ``.ci/run`` installs Chromium where missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from benchmarks.server import LoopbackServer

# The service tests' fixtures (a client of the app on SQLite and PostgreSQL, the published
# tiny week) serve the console's API tests too.
from tests.api.conftest import (  # noqa: F401
    ADMIN,
    backend_url,
    client,
    plan_doc,
    postgres_url,
    published,
    today_code,
    week_scenario_doc,
)

TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


def chromium_path() -> str | None:
    return os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium")


@dataclass
class Site:
    base: str
    http: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)
    date: str = ""
    plan: int = 0


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The running server with the tiny week stored, a plan published (C1 and C2 today)."""
    folder = tmp_path_factory.mktemp("web")
    server = LoopbackServer(
        f"sqlite:///{folder / 'web.sqlite3'}", admin_token=TOKEN, log=folder / "server.log"
    )
    base = server.base
    http = httpx.Client(base_url=f"{base}/api/v1", timeout=30, headers=ADMIN)
    try:
        server.wait(timeout=60)
        assert http.post("/scenario", json=week_scenario_doc()).status_code == 200
        stored = http.post("/plans", json=plan_doc(c1_day=today_code(), c2_day=today_code()))
        assert stored.status_code == 201, stored.text
        plan = stored.json()["id"]
        assert http.post(f"/plans/{plan}/publish").status_code == 200
        found = Site(base=base, http=http, plan=plan)
        found.date = datetime.now(Settings().zone).date().isoformat()
        found.tokens["admin"] = TOKEN
        for role, caregiver in (("dispatcher", None), ("planner", None), ("caregiver", "C1")):
            body: dict[str, Any] = {"name": f"{role} web", "role": role}
            if caregiver:
                body["caregiver_id"] = caregiver
            made = http.post("/tokens", json=body)
            assert made.status_code == 201, made.text
            found.tokens[role] = made.json()["token"]
        yield found
    finally:
        http.close()
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None or not Path(path).exists():
        pytest.skip("no Chromium: install Debian's chromium or set DISPATCH_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


class Console:
    """The console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


def open_page(
    browser: Any, site: Site, path: str, role: str, **context: Any
) -> tuple[Any, Console]:
    """A new page at ``path`` logged in with ``role``'s token (typed into the login form)."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    console = Console(page)
    page.goto(site.base + path)
    page.fill("#token", site.tokens[role])
    page.press("#token", "Enter")
    page.wait_for_selector("body[data-ready]", timeout=15000)
    return page, console
