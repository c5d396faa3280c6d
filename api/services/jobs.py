"""Planner jobs (规划任务): solves that run outside the request, in an in-process worker pool.

A job is a plan row: ``draft`` (queued) → ``running`` (``progress`` and the best KPIs so far
are stored from the planner's progress reports) → ``done``, ``failed`` or ``cancelled``.
Cancelling sets an event that the progress callback checks: it raises :class:`Cancelled`,
which unwinds :func:`dispatch.weekly.plan_week` at its next report (after the station being
routed). The greedy baseline has no reports; it is only checked before and after.

Jobs live in this process: a job cut off by a restart can never finish, so at start-up
:func:`mark_interrupted` marks every queued or running row ``failed``. (With several server
processes on one database, give the job pool to one of them.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.db import Database
from api.models import PlanRow, utcnow
from api.services.plans import fail_plan, finish_plan, publish_plan, published_plan
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario
from dispatch.weekly import Progress, plan_week
from solver.problem import SolveParams

__all__ = [
    "ACTIVE_STATES",
    "CANCELLED_MESSAGE",
    "INTERRUPTED_MESSAGE",
    "Cancelled",
    "JobOptions",
    "JobRunner",
    "job_parameters",
    "mark_interrupted",
]

log = logging.getLogger("api.jobs")

#: States of a job that has not ended.
ACTIVE_STATES: tuple[str, ...] = ("draft", "running")
INTERRUPTED_MESSAGE = "服务重启中断 / interrupted by a restart"
CANCELLED_MESSAGE = "已取消 / cancelled"


class Cancelled(Exception):
    """Raised inside the planner's progress callback when its job was cancelled."""


@dataclass(frozen=True)
class JobOptions:
    """How to solve: ``solver`` ``ours`` (weekly planner) or ``greedy``; seconds; seed."""

    solver: Literal["ours", "greedy"] = "ours"
    time_limit: float = 10.0
    seed: int = 0


def mark_interrupted(session: Session) -> int:
    """Mark queued and running jobs failed (they died with the previous process); commits.

    Returns how many rows were marked.
    """
    result = session.execute(
        update(PlanRow)
        .where(PlanRow.status.in_(ACTIVE_STATES))
        .values(status="failed", message=INTERRUPTED_MESSAGE, updated_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _report(session: Session, plan_id: int, p: Progress) -> None:
    values: dict[str, Any] = {
        "status": "running",
        "progress": min(1.0, max(0.0, p.fraction)),
        "message": p.message,
        "updated_at": utcnow(),
    }
    if p.kpis:
        values["kpis"] = dict(p.kpis)
    session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.status.in_(ACTIVE_STATES))
        .values(**values)
    )
    session.commit()


class JobRunner:
    """A pool of worker threads running planner jobs against one database.

    OR-Tools releases the GIL while it searches, so threads keep the service answering.
    """

    def __init__(self, database: Database, *, workers: int = 1) -> None:
        self.database = database
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="planner")
        self._cancel: dict[int, threading.Event] = {}
        self._futures: dict[int, Future[None]] = {}
        self._lock = threading.Lock()

    def submit(
        self, plan_id: int, scenario: Scenario, options: JobOptions, *, publish: bool = False
    ) -> None:
        """Queue the solve of ``scenario`` into plan row ``plan_id`` (which must be draft);
        ``publish`` publishes the result when no other plan has been published meanwhile."""
        event = threading.Event()
        with self._lock:
            self._cancel[plan_id] = event
            self._futures[plan_id] = self._pool.submit(
                self._run, plan_id, scenario, options, event, publish
            )

    def cancel(self, session: Session, plan_id: int) -> bool:
        """Stop a queued or running job and mark it cancelled; commits. False when the job
        has already ended."""
        result = session.execute(
            update(PlanRow)
            .where(PlanRow.id == plan_id, PlanRow.status.in_(ACTIVE_STATES))
            .values(status="cancelled", message=CANCELLED_MESSAGE, updated_at=utcnow())
        )
        session.commit()
        with self._lock:
            event = self._cancel.get(plan_id)
        if event is not None:
            event.set()
        return bool(getattr(result, "rowcount", 0))

    def wait(self, plan_id: int, timeout: float | None = None) -> None:
        """Block until the job's worker has returned (tests and benchmarks)."""
        with self._lock:
            future = self._futures.get(plan_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Cancel every job, drop the queued ones and wait for the running one to stop (at
        the planner's next report), so no worker writes to a closed database."""
        with self._lock:
            events = list(self._cancel.values())
        for event in events:
            event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(
        self,
        plan_id: int,
        scenario: Scenario,
        options: JobOptions,
        cancel: threading.Event,
        publish: bool,
    ) -> None:
        try:
            with self.database.session() as session:
                if cancel.is_set():
                    return
                _report(session, plan_id, Progress("start", 0.0, "started / 已开始"))

                def progress(p: Progress) -> None:
                    if cancel.is_set():
                        raise Cancelled
                    _report(session, plan_id, p)

                try:
                    plan = self._solve(scenario, options, progress)
                    if cancel.is_set():
                        raise Cancelled
                except Cancelled:
                    log.info("plan job %s cancelled", plan_id)
                    return
                except Exception as exc:  # a job's failure must not kill the worker
                    log.exception("plan job %s failed", plan_id)
                    session.rollback()
                    fail_plan(session, plan_id, f"求解失败 / the solve failed: {exc}")
                    return
                row = session.get(PlanRow, plan_id)
                if row is not None and row.status in ACTIVE_STATES:
                    finish_plan(session, plan_id, plan)
                    if publish and published_plan(session) is None:
                        publish_plan(session, plan_id)
        finally:
            with self._lock:
                self._cancel.pop(plan_id, None)

    @staticmethod
    def _solve(scenario: Scenario, options: JobOptions, progress: Any) -> Plan:
        if options.solver == "greedy":
            progress(Progress("greedy", 0.0, "greedy baseline / 贪心基线"))
            return plan_greedy(scenario)
        params = SolveParams(time_limit=options.time_limit, seed=options.seed)
        return plan_week(scenario, params=params, progress=progress)


def job_parameters(options: JobOptions, modifications: Mapping[str, Any]) -> dict[str, Any]:
    """What a job row records about how it was asked for."""
    return {
        "job": True,
        "solver": options.solver,
        "time_limit": options.time_limit,
        "seed": options.seed,
        "modifications": dict(modifications),
    }
