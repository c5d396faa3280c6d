"""The web console on a large district: time until the day board is drawn, and screenshots.

A real server (``uvicorn api.app:app``, one process) is started on ``127.0.0.1`` with a fresh
SQLite database; a district of ``--households`` households (``dispatch generate``, this week)
is imported and its greedy week published through the API. Headless Chromium
(``DISPATCH_CHROMIUM``, default ``chromium``) opens the day board as a dispatcher ``--runs``
times; each run is timed from the navigation's start until the page marks itself drawn (the
map and the timeline in the page: ``body[data-ready]``). The bar of the issue: usable within
2 seconds. With ``--screenshots DIR`` it also writes PNGs of the four pages (board, hotline
desk with a call's options previewed, planner's workbench with two plans compared, the
caregiver's phone page at 375 pixels).

Examples::

    python -m benchmarks.console
    python -m benchmarks.console --households 1500 --screenshots docs/images
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from benchmarks.server import ROOT, LoopbackServer

ADMIN_TOKEN = "console-benchmark-admin-token-0123"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _publish_greedy_week(http: httpx.Client) -> int:
    job = http.post("/plans", json={"name": "greedy week", "solver": "greedy"}, headers=ADMIN)
    job.raise_for_status()
    plan_id = int(job.json()["id"])
    while True:
        row = http.get(f"/plans/{plan_id}", headers=ADMIN).json()
        if row["status"] == "done":
            break
        if row["status"] in ("failed", "cancelled"):
            raise SystemExit(f"the greedy job ended {row['status']}: {row['message']}")
        time.sleep(0.5)
    http.post(f"/plans/{plan_id}/publish", headers=ADMIN).raise_for_status()
    return plan_id


def _token(http: httpx.Client, role: str, caregiver: str | None = None) -> str:
    body: dict[str, Any] = {"name": f"{role} console", "role": role}
    if caregiver:
        body["caregiver_id"] = caregiver
    made = http.post("/tokens", json=body, headers=ADMIN)
    made.raise_for_status()
    return str(made.json()["token"])


def _page(browser: Any, base: str, token: str, **context: Any) -> Any:
    ctx = browser.new_context(**context)
    ctx.add_init_script(f"sessionStorage.setItem('token', {token!r});")
    return ctx.new_page()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1500)
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshots", type=Path, default=None, help="write PNGs here")
    args = parser.parse_args(argv)
    chromium = os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no Chromium: install Debian's chromium or set DISPATCH_CHROMIUM")
    from playwright.sync_api import sync_playwright

    zone = ZoneInfo("Asia/Shanghai")
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday())
    with tempfile.TemporaryDirectory() as folder:
        district = Path(folder) / "district.json"
        subprocess.run(
            [
                *(sys.executable, "-m", "dispatch", "generate"),
                *("--households", str(args.households), "--stations", str(args.stations)),
                *("--seed", str(args.seed), "--week-start", monday.isoformat()),
                *("--out", str(district)),
            ],
            check=True,
            cwd=ROOT,
        )
        server = LoopbackServer(
            f"sqlite:///{Path(folder) / 'console.sqlite3'}",
            admin_token=ADMIN_TOKEN,
            log=Path(folder) / "server.log",
        )
        base = server.base
        http = httpx.Client(base_url=f"{base}/api/v1", timeout=120)
        try:
            server.wait()
            http.post(
                "/scenario", content=district.read_bytes(), headers={**ADMIN, **_JSON}
            ).raise_for_status()
            started = time.monotonic()
            plan_id = _publish_greedy_week(http)
            print(f"greedy week published (plan {plan_id}) in {time.monotonic() - started:.1f} s")
            day = _busiest_day(http, today, monday)
            dispatcher = _token(http, "dispatcher")
            planner = _token(http, "planner")
            board = http.get(f"/routes?date={day}", headers=ADMIN).json()
            caregiver = max(board, key=lambda c: len(board[c]))
            carer = _token(http, "caregiver", caregiver)
            visits = sum(len(v) for v in board.values())
            print(f"day {day}: {len(board)} caregivers, {visits} visits")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = _page(browser, base, dispatcher, viewport={"width": 1440, "height": 1000})
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    page.goto(f"{base}/board?date={day}")
                    page.wait_for_selector("body[data-ready='true']", timeout=60000)
                    times.append(time.perf_counter() - t0)
                print(
                    "day board drawn in "
                    f"{statistics.median(times):.2f} s median of {args.runs} "
                    f"(first {times[0]:.2f} s, max {max(times):.2f} s); bar 2 s; "
                    f"console errors: {len(errors)}"
                )
                calls = page.evaluate(
                    """() => performance.getEntriesByType('resource')
                        .filter((e) => e.name.includes('/api/v1/'))
                        .map((e) => [e.name.split('/api/v1')[1].split('?')[0],
                                     Math.round(e.duration), e.encodedBodySize])"""
                )
                for name, ms, size in calls:
                    print(f"  {name:<28} {ms:>5} ms {size / 1024:>8.0f} KiB")
                if args.screenshots is not None:
                    _screenshots(browser, base, page, day, planner, carer, plan_id, args)
                browser.close()
        finally:
            http.close()
            server.stop()
    return 0


_JSON = {"Content-Type": "application/json"}


def _busiest_day(http: httpx.Client, today: date, monday: date) -> str:
    """Today when the published week has visits on it, else its Monday."""
    board = http.get(f"/routes?date={today}", headers=ADMIN).json()
    return today.isoformat() if board else monday.isoformat()


def _screenshots(
    browser: Any,
    base: str,
    board: Any,
    day: str,
    planner: str,
    carer: str,
    plan_id: int,
    args: argparse.Namespace,
) -> None:
    out: Path = args.screenshots
    out.mkdir(parents=True, exist_ok=True)
    first = board.locator("#timeline rect[data-order]").first
    first.click()
    board.wait_for_selector("#detail-household")
    board.screenshot(path=str(out / "console-board.png"))

    hotline = _page(browser, base, _token_of(board), viewport={"width": 1440, "height": 1000})
    hotline.goto(f"{base}/hotline")
    hotline.wait_for_selector("body[data-ready='true']", timeout=60000)
    hotline.fill("#date", day)
    hotline.fill("#search", "奶奶")
    hotline.press("#search", "Enter")
    hotline.locator("button.pick").first.click()
    hotline.fill("#now", "08:30")
    hotline.select_option("#urgency", "urgent")
    hotline.click("#ask")
    hotline.wait_for_selector("#options li.option", timeout=60000)
    hotline.locator("#options li.option button.preview").first.click()
    hotline.wait_for_selector("#timeline .part-preview")
    hotline.screenshot(path=str(out / "console-hotline.png"), full_page=True)

    plans = _page(browser, base, planner, viewport={"width": 1440, "height": 1000})
    plans.goto(f"{base}/plans")
    plans.wait_for_selector("body[data-ready='true']", timeout=60000)
    plans.fill("#job-name", "what-if: demand +20%")
    plans.select_option("#job-solver", "greedy")
    plans.fill("#job-scale", "1.2")
    plans.click("#start-job")
    plans.wait_for_selector("#job-status[data-status='done']", timeout=300000)
    job = plans.inner_text("#job-status").split()[0].lstrip("#")
    plans.select_option("#compare-a", str(plan_id))
    plans.select_option("#compare-b", job)
    plans.click("#compare")
    plans.wait_for_selector("#comparison .map")
    plans.screenshot(path=str(out / "console-plans.png"), full_page=True)

    phone = _page(
        browser,
        base,
        carer,
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    phone.goto(f"{base}/phone")
    phone.wait_for_selector("body[data-ready='true']", timeout=60000)
    phone.screenshot(path=str(out / "console-phone.png"))
    print(f"screenshots written to {out}")


def _token_of(page: Any) -> str:
    return str(page.evaluate("() => sessionStorage.getItem('token')"))


if __name__ == "__main__":
    raise SystemExit(main())
