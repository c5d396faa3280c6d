"""The policy's programmes on the demo district, through the service as a planner uses it.

On a fresh SQLite database (in this process, nothing listens): the demo district is imported,
the locality's tables stored with a street per station, and four weeks from ``--first-monday``
planned by a job of the weekly planner with the visiting programme and the entitlements, then
published. It prints:

- the job's KPIs and message (visits left out beyond an entitlement, family top-ups);
- 月探访率 of each month the weeks touch, per station, street and district, and every miss
  with its reason (the ledger on the last day planned);
- the month's settlement after the visits are delivered as planned — a simulation written into
  the store: every order checked in at its planned start and out at its end, except every
  ``--short``-th (checked out after a third of its minutes: a short visit) and every
  ``--open``-th (no check-out) — with the check that the totals are the sums of their lines;
- the 15-minute circle: households outside and the coverage per street.

Examples::

    python -m benchmarks.programmes_demo
    python -m benchmarks.programmes_demo --time-limit 120 --first-monday 2026-11-30
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.models import WorkOrder
from api.settings import Settings
from dispatch.evidence import FLAG_SHORT_VISIT

__all__ = ["main"]

_ADMIN = "programmes-demo-admin-token-0123456789"
_DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / "district.json"


def _get(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    answer = client.get(url, headers=headers)
    answer.raise_for_status()
    return answer.json()


def _deliver(
    client: TestClient, first: dt.date, last: dt.date, short: int, open_: int, zone: ZoneInfo
) -> int:
    """Check every order from ``first`` to ``last`` in and out as planned (the simulation of
    the module's docstring), with the flag a check-out would have stamped on a short visit;
    the number of orders."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        orders = session.scalars(
            select(WorkOrder)
            .where(WorkOrder.visit_date >= first, WorkOrder.visit_date <= last)
            .where(WorkOrder.status != "cancelled")
            .order_by(WorkOrder.id)
        ).all()
        for k, order in enumerate(orders, start=1):
            if order.visit_date is None or order.start is None or order.end is None:
                continue
            midnight = dt.datetime.combine(order.visit_date, dt.time(), zone)
            start = midnight + dt.timedelta(minutes=order.start)
            minutes = order.end - order.start
            order.status = "checked_out"
            order.checked_in_at = start
            order.checked_out_at = start + dt.timedelta(minutes=minutes)
            if k % short == 0:
                order.checked_out_at = start + dt.timedelta(minutes=max(1, minutes // 3))
                order.flags = [FLAG_SHORT_VISIT]
            if k % open_ == 0:
                order.status, order.checked_out_at = "checked_in", None
        session.commit()
        return len(orders)


def _rate(rate: dict[str, Any]) -> str:
    return f"{100 * rate['rate']:.1f} % ({rate['met']}/{rate['households']})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the story and print its figures; 1 when a sum differs from its lines."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.programmes_demo")
    parser.add_argument("--scenario", type=Path, default=_DEMO)
    parser.add_argument("--first-monday", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60.0, help="the job's seconds")
    parser.add_argument("--short", type=int, default=20, help="every n-th visit is short")
    parser.add_argument("--open", type=int, default=50, help="every n-th has no check-out")
    args = parser.parse_args(argv)
    document = json.loads(args.scenario.read_text(encoding="utf-8"))
    first = args.first_monday or dt.date.fromisoformat(document["week_start"])
    last = first + dt.timedelta(days=7 * args.weeks - 1)
    admin = {"Authorization": f"Bearer {_ADMIN}"}
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'demo.sqlite3'}",
            admin_token=_ADMIN,
            load_demo=False,
        )
        app = create_app(settings)
        with TestClient(app) as client:
            assert client.post("/api/v1/scenario", json=document, headers=admin).is_success
            tables = _get(client, "/api/v1/locality", admin)
            tables["name"] = document.get("name", "demo")
            tables["circle"]["streets"] = {
                s["id"]: (s.get("name") or s["id"]).replace("居家养老服务站", "")
                for s in document["stations"]
            }
            client.put("/api/v1/locality", json=tables, headers=admin).raise_for_status()
            body = {
                "week_start": first.isoformat(),
                "weeks": args.weeks,
                "time_limit": args.time_limit,
                "visiting": True,
                "entitlements": True,
            }
            started = time.perf_counter()
            job = client.post("/api/v1/plans", json=body, headers=admin)
            job.raise_for_status()
            plan_id = job.json()["id"]
            app.state.jobs.wait(plan_id)
            done = _get(client, f"/api/v1/plans/{plan_id}", admin)
            print(f"job {plan_id}: {done['status']} in {time.perf_counter() - started:.0f} s")
            print(f"  {done['message']}")
            kpis = done["kpis"]
            for key in ("required_visits", "planned_visits", "travel_minutes"):
                print(f"  {key}: {kpis.get(key)}")
            if done["status"] != "done":
                return 1
            client.post(f"/api/v1/plans/{plan_id}/publish", headers=admin).raise_for_status()
            reasons: dict[str, int] = {}
            for u in done["document"]["unassigned"]:
                reasons[u["reason"]] = reasons.get(u["reason"], 0) + u["missing_visits"]
            print(f"  unassigned visits by reason: {reasons}")

            months = sorted(
                {(first + dt.timedelta(days=d)).strftime("%Y-%m") for d in range(7 * args.weeks)}
            )
            for month in months:
                book = _get(client, f"/api/v1/visits?on={last}&month={month}", admin)
                rate = book["month_rate"]
                print(f"\n月探访率 {month} (ledger on {last}): district {_rate(rate['district'])}")
                for name, street in rate["streets"].items():
                    print(f"  {name}: {_rate(street)}")
                for miss in rate["misses"]:
                    print(f"  miss {miss['household']}: {miss['text']}")

            orders = _deliver(client, first, last, args.short, args.open, settings.zone)
            print(f"\ndelivered (simulated): {orders} orders {first} to {last}")
            failed = False
            for month in months:
                s = _get(client, f"/api/v1/settlement?month={month}", admin)
                totals = s["totals"]
                keys = [k for k in totals if k.endswith("_fen")]
                sums = {k: sum(line[k] for line in s["lines"]) for k in keys if k in s["lines"][0]}
                equal = all(totals[k] == v for k, v in sums.items())
                by_station = all(sum(t[k] for t in s["stations"]) == totals[k] for k in keys)
                failed |= not (equal and by_station)
                print(
                    f"结算 settlement {month}: {len(s['lines'])} lines; "
                    + ", ".join(
                        f"{k.removesuffix('_fen')} {totals[k] / 100:.2f} yuan" for k in keys
                    )
                    + f"; totals = sum of lines: {equal}; = sum of stations: {by_station}"
                )
                withheld: dict[str, int] = {}
                for line in s["lines"]:
                    if line.get("exception"):
                        withheld[line["exception"]] = withheld.get(line["exception"], 0) + 1
                print(f"  withheld lines by exception: {withheld}")

            circle = _get(client, f"/api/v1/circle?date={first}", admin)
            print(
                f"\n15分钟圈 circle ({circle['minutes']} min): {len(circle['outside'])} households "
                f"outside; district {100 * circle['district']['share']:.1f} % inside"
            )
            for street in circle["streets"]:
                print(
                    f"  {street['area']}: {100 * street['share']:.1f} % of {street['households']}"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
