"""Planner jobs (规划任务): solves that run outside the request, in an in-process worker pool.

A job is a plan row: ``draft`` (queued) → ``running`` (``progress`` and, at the end of each
phase, the best plan so far with its KPIs are stored from the planner's progress reports)
→ ``done``, ``failed`` or ``cancelled`` (a cancelled job keeps the best plan it had). Every
plan a job stores, the best so far and the final one, has passed the independent checker
against the job's own scenario (the stored one, or the what-if scenario it solves) and carries
the KPIs the checker recomputes (:func:`api.services.plans.checked`). A best plan so far that
breaks a rule is not stored; a final one is stored ``failed``, never publishable.
Cancelling sets an event that the progress callback checks: it raises :class:`Cancelled`,
which unwinds :func:`dispatch.weekly.weeks.plan_weeks` at its next report (after the station being
routed). The greedy baseline has no reports until its plan is ready; it is only checked
before and after.

Jobs live in the process that queued them. Its runner's heartbeat thread runs from start-up:
every ``heartbeat_seconds`` it stamps ``heartbeat_at`` on the queued and running rows it owns
(the planner stamps them at each report too) and reaps the orphans: a queued or running row
that this runner does not own and whose heartbeat is older than ``stale_seconds`` belongs to a
process that is gone (killed, crashed, restarted) and can never finish, so it is marked
``failed`` (:func:`reap`) while the server runs, at start-up too. The thread wakes when the
next orphan candidate turns stale, so a job cut off by a crash is failed at most
``stale_seconds`` after its last heartbeat. Jobs of another live server process on the same
database keep beating and are left alone; ``stale_seconds`` must exceed ``heartbeat_seconds``
with room for a slow beat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.models import BatchRow, PlanRow, utcnow
from api.services.errors import Conflict, FieldProblem, InputError
from api.services.plans import (
    PROGRAMME_VISITS,
    checked,
    fail_plan,
    finish_plan,
    in_force,
    new_plan,
    publish_plan,
    weeks_scenarios,
)
from api.services.travel import with_travel
from api.services.visits import with_programme
from dispatch.greedy import plan_greedy
from dispatch.model import Plan, Scenario, ServiceRequest
from dispatch.operations.engine import SolveParams
from dispatch.plan_io import plan_to_dict
from dispatch.programmes.entitlements import Tables, trim_to_entitlement
from dispatch.reasons import Reason
from dispatch.weekly import Progress, plan_weeks
from dispatch.whatif import Modifications, apply_modifications

__all__ = [
    "ACTIVE_STATES",
    "CANCELLED_MESSAGE",
    "HEARTBEAT_SECONDS",
    "INTERRUPTED_MESSAGE",
    "STALE_SECONDS",
    "Cancelled",
    "JobOptions",
    "JobRunner",
    "active_job",
    "job_parameters",
    "mark_interrupted",
    "reap",
    "store_progress",
    "vetted",
]

log = logging.getLogger("api.jobs")

#: States of a job that has not ended.
ACTIVE_STATES: tuple[str, ...] = ("draft", "running")
INTERRUPTED_MESSAGE = (
    "任务中断：运行它的服务进程已停止（崩溃或重启）/ "
    "interrupted: the server process running it stopped (crash or restart)"
)
CANCELLED_MESSAGE = "已取消 / cancelled"
#: Seconds between two heartbeats of a runner's queued and running jobs.
HEARTBEAT_SECONDS = 10.0
#: Seconds without a heartbeat after which a job no runner of this process owns is orphaned.
STALE_SECONDS = 20.0


class Cancelled(Exception):
    """Raised inside the planner's progress callback when its job was cancelled."""


@dataclass(frozen=True)
class JobOptions:
    """How to solve: ``solver`` ``ours`` (weekly planner) or ``greedy``; seconds (the whole
    run's); seed; ``weeks`` consecutive ISO weeks from ``week_start`` (the stored master data:
    default the stored scenario's ``week_start``; a scenario sent with the job: its own);
    ``visiting``: each week with the visiting programme's visits due
    (:func:`api.services.visits.with_programme`); ``entitlements``: the locality's tables, no
    visit planned beyond a household's monthly entitlement unsaid
    (:func:`dispatch.programmes.entitlements.trim_to_entitlement`)."""

    solver: Literal["ours", "greedy"] = "ours"
    time_limit: float = 10.0
    seed: int = 0
    weeks: int = 1
    week_start: date | None = None
    visiting: bool = False
    entitlements: Tables | None = None


def _aware(moment: datetime) -> datetime:
    """Rows written by hand may hold naive UTC times."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def reap(
    session: Session,
    *,
    stale_seconds: float | None,
    owned: Collection[int] = (),
    table: type[PlanRow] | type[BatchRow] = PlanRow,
) -> tuple[int, float | None]:
    """Mark failed the queued and running jobs whose worker is gone; commits.

    A job's worker is gone when the job is not in ``owned`` (this process's runner's jobs) and
    its last heartbeat (else its last update) is older than ``stale_seconds``; ``None`` marks
    every queued or running job not owned. Returns how many rows were marked and the seconds
    until the next candidate left turns stale (``None`` when there is none). The update is a
    compare-and-set on the status and the heartbeat's age, so a job that has just finished or
    beaten again is never marked. ``table`` is that of the jobs: plan rows, or batches (whose
    runner beats the same way).
    """
    now = utcnow()
    limit = None if stale_seconds is None else now - timedelta(seconds=stale_seconds)
    rows = session.execute(
        select(table.id, table.heartbeat_at, table.updated_at).where(
            table.status.in_(ACTIVE_STATES)
        )
    ).all()
    marked = 0
    due: float | None = None
    for row_id, heartbeat_at, updated_at in rows:
        if row_id in owned:
            continue
        seen = _aware(heartbeat_at or updated_at)
        if limit is not None and seen >= limit:
            wait = (seen - limit).total_seconds()
            due = wait if due is None else min(due, wait)
            continue
        still = [table.id == row_id, table.status.in_(ACTIVE_STATES)]
        if limit is not None:
            still.append(
                or_(
                    table.heartbeat_at < limit,
                    and_(table.heartbeat_at.is_(None), table.updated_at < limit),
                )
            )
        result = session.execute(
            update(table)
            .where(*still)
            .values(status="failed", message=INTERRUPTED_MESSAGE, updated_at=now)
        )
        marked += int(getattr(result, "rowcount", 0) or 0)
    session.commit()
    return marked, due


def active_job(session: Session, created_by: str) -> int | None:
    """The id of a queued or running job made by ``created_by``, if any."""
    found = session.scalar(
        select(PlanRow.id)
        .where(PlanRow.created_by == created_by, PlanRow.status.in_(ACTIVE_STATES))
        .limit(1)
    )
    return None if found is None else int(found)


def mark_interrupted(
    session: Session,
    *,
    stale_seconds: float | None = None,
    table: type[PlanRow] | type[BatchRow] = PlanRow,
) -> int:
    """Mark failed the queued and running jobs (of ``table``) whose worker is gone
    (:func:`reap` with no job owned); commits. Returns how many rows were marked."""
    marked, _due = reap(session, stale_seconds=stale_seconds, table=table)
    return marked


def vetted(plan_id: int, scenarios: Sequence[Scenario], p: Progress) -> Progress:
    """``p`` with its plan checked for ``scenarios`` (those of its weeks) and the KPIs the
    checker recomputes (the report's own are not kept); without plan or KPIs when the plan
    breaks a rule."""
    if p.plan is None:
        return replace(p, kpis=MappingProxyType({}))
    weeks = scenarios[: max(1, p.plan.weeks)]
    plan, report = checked(weeks, replace(p.plan, kpis=p.kpis or p.plan.kpis))
    if not report.ok:
        log.warning(
            "plan job %s: the plan so far breaks %d rule(s), not stored",
            plan_id,
            len(report.violations),
        )
        return replace(p, kpis=MappingProxyType({}), plan=None)
    return replace(p, kpis=plan.kpis, plan=plan)


def store_progress(session: Session, plan_id: int, p: Progress) -> None:
    """A queued or running job's report stored in its row (running, progress, message, a
    heartbeat, and the best plan so far with its KPIs when ``p`` has them); commits."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": "running",
        "progress": min(1.0, max(0.0, p.fraction)),
        "message": p.message,
        "updated_at": now,
        "heartbeat_at": now,
    }
    if p.kpis:
        values["kpis"] = dict(p.kpis)
    if p.plan is not None:
        values["document"] = plan_to_dict(replace(p.plan, kpis=p.kpis or p.plan.kpis))
    session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.status.in_(ACTIVE_STATES))
        .values(**values)
    )
    session.commit()


#: What the runner calls to store a report (a seam the tests replace).
_report = store_progress


class JobRunner:
    """A pool of worker threads running planner jobs against one database.

    OR-Tools releases the GIL while it searches, so threads keep the service answering. A
    heartbeat thread (:meth:`start`) stamps the runner's queued and running rows every
    ``heartbeat_seconds`` and marks failed the orphaned ones older than ``stale_seconds``.
    """

    def __init__(
        self,
        database: Database,
        *,
        workers: int = 1,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_seconds: float = STALE_SECONDS,
        on_solved: Callable[[str, float], None] | None = None,
    ) -> None:
        self.database = database
        #: Told the solver and the seconds of every solve that ended, done or failed (metrics).
        self.on_solved = on_solved
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_seconds = stale_seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="planner")
        self._cancel: dict[int, threading.Event] = {}
        self._futures: dict[int, Future[None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None
        self._beats: list[Callable[[Session], None]] = []

    def configure(self, *, heartbeat_seconds: float, stale_seconds: float) -> None:
        """Set the heartbeat period and the age of an orphaned job (seconds), before
        :meth:`start`."""
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_seconds = stale_seconds

    def start(self) -> None:
        """Start the heartbeat thread (once): it beats for this runner's jobs and reaps the
        orphaned ones while the server runs."""
        with self._lock:
            if self._beating is None:
                self._beating = threading.Thread(
                    target=self._beat, name="planner-heartbeat", daemon=True
                )
                self._beating.start()

    def _beat_once(self) -> float | None:
        """Stamp this runner's jobs, reap orphans; the seconds until the next orphan is due."""
        with self._lock:
            ids = list(self._cancel)
        with self.database.session() as session:
            if ids:
                session.execute(
                    update(PlanRow)
                    .where(PlanRow.id.in_(ids), PlanRow.status.in_(ACTIVE_STATES))
                    .values(heartbeat_at=utcnow())
                )
                session.commit()
            with self._lock:
                owned = set(self._cancel) | set(ids)
            marked, due = reap(session, stale_seconds=self.stale_seconds, owned=owned)
            for beat in list(self._beats):
                beat(session)
        if marked:
            log.warning("%d orphaned planner job(s) marked failed (their process is gone)", marked)
        return due

    def _beat(self) -> None:
        while not self._stop.is_set():
            due: float | None = None
            try:
                due = self._beat_once()
            except Exception:  # a missed beat is retried; the database may be restarting
                log.warning("job heartbeat failed", exc_info=True)
            wait = self.heartbeat_seconds
            if due is not None:
                # Wake when the next orphan candidate turns stale (a little after).
                wait = min(wait, due + 0.05)
            self._stop.wait(wait)

    def add_beat(self, beat: Callable[[Session], None]) -> None:
        """Call ``beat(session)`` at every heartbeat too (after this runner's own jobs): the
        batch runner stamps and reaps its batches with it."""
        self._beats.append(beat)

    def adopt(self, plan_ids: Collection[int]) -> dict[int, threading.Event]:
        """Own the queued or running plan rows ``plan_ids`` that another worker solves (a
        batch's variants): the heartbeat stamps them, :func:`reap` leaves them alone and
        :meth:`cancel` marks them cancelled and sets the event returned for each, until
        :meth:`release`."""
        events = {plan_id: threading.Event() for plan_id in plan_ids}
        with self._lock:
            self._cancel.update(events)
        self.start()
        return events

    def release(self, plan_ids: Collection[int]) -> None:
        """Stop owning rows :meth:`adopt` took."""
        with self._lock:
            for plan_id in plan_ids:
                self._cancel.pop(plan_id, None)

    def queue(
        self,
        session: Session,
        scenario: Scenario | None,
        modifications: Modifications,
        options: JobOptions,
        *,
        name: str = "",
        asked: Mapping[str, Any] | None = None,
        created_by: str = "",
    ) -> PlanRow:
        """A new draft plan row for the solve of ``scenario`` (``None``: the stored master data
        of the job's weeks, each week its own) with the what-if ``modifications``, committed
        and queued; the row records ``options`` and the modifications as ``asked``. Raises
        :class:`Conflict` without a scenario and :class:`InputError` for a modification that
        does not apply."""
        if scenario is None:
            _first, scenarios = weeks_scenarios(session, options.week_start, options.weeks)
        else:
            if options.week_start is not None:
                scenario = replace(scenario, week_start=options.week_start.isoformat())
            scenarios = [scenario] * options.weeks
        try:
            # New places (a new station, more households) get their travel times here.
            changed = [with_travel(apply_modifications(s, modifications)) for s in scenarios]
        except ValueError as exc:
            raise InputError(
                f"修改无效 / invalid modification: {exc}",
                [FieldProblem("body.modifications", str(exc))],
            ) from None
        _check_weeks(changed[0], options)
        programme: list[dict[str, Any]] = []
        if options.visiting:
            changed, programme = with_programme(session, changed)
        row = new_plan(
            session,
            name=name,
            parameters=job_parameters(options, asked or {}) | {PROGRAMME_VISITS: programme},
            created_by=created_by,
        )
        row.scenario_name, row.week_start = changed[0].name, changed[0].week_start
        session.commit()
        self.submit(row.id, changed, options)
        return row

    def submit(
        self,
        plan_id: int,
        scenarios: Sequence[Scenario],
        options: JobOptions,
        *,
        publish: bool = False,
    ) -> None:
        """Queue the solve of ``scenarios`` (one per week) into plan row ``plan_id`` (which
        must be draft); ``publish`` publishes the result when none of its weeks has a plan in
        force meanwhile."""
        event = threading.Event()
        with self._lock:
            self._cancel[plan_id] = event
            self._futures[plan_id] = self._pool.submit(
                self._run, plan_id, scenarios, options, event, publish
            )
        self.start()

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
        self._stop.set()
        if self._beating is not None:
            self._beating.join()

    def _run(
        self,
        plan_id: int,
        scenarios: Sequence[Scenario],
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
                    _report(session, plan_id, vetted(plan_id, scenarios, p))

                started = time.perf_counter()
                try:
                    plan = self._solve(scenarios, options, progress)
                    if cancel.is_set():
                        raise Cancelled
                except Cancelled:
                    log.info("plan job %s cancelled", plan_id)
                    return
                except Exception as exc:  # a job's failure must not kill the worker
                    self._solved(options.solver, time.perf_counter() - started)
                    log.exception("plan job %s failed", plan_id)
                    session.rollback()
                    fail_plan(session, plan_id, f"求解失败 / the solve failed: {exc}")
                    return
                self._solved(options.solver, time.perf_counter() - started)
                row = session.get(PlanRow, plan_id)
                if row is not None and row.status in ACTIVE_STATES:
                    done = finish_plan(session, plan_id, plan, scenarios)
                    free = done.week_start is not None and not in_force(
                        session, date.fromisoformat(done.week_start), options.weeks
                    )
                    if publish and done.status == "done" and free:
                        try:
                            publish_plan(session, plan_id)
                        except Conflict as exc:  # the stored scenario changed meanwhile
                            session.rollback()
                            log.warning("plan job %s not published: %s", plan_id, exc.message)
        finally:
            with self._lock:
                self._cancel.pop(plan_id, None)

    def _solved(self, solver: str, seconds: float) -> None:
        if self.on_solved is not None:
            try:
                self.on_solved(solver, seconds)
            except Exception:  # metrics never fail a job
                log.warning("solver metrics not recorded", exc_info=True)

    @staticmethod
    def _solve(scenarios: Sequence[Scenario], options: JobOptions, progress: Any) -> Plan:
        if options.solver == "greedy":
            progress(Progress("greedy", 0.0, "greedy baseline / 贪心基线"))
            plan = plan_greedy(scenarios[0])
            progress(Progress("greedy", 0.95, "greedy plan ready / 贪心方案完成", plan.kpis, plan))
            return _within_entitlement(scenarios, plan, options, progress)
        params = SolveParams(time_limit=options.time_limit, seed=options.seed)
        plan = plan_weeks(
            scenarios[0],
            weeks=options.weeks,
            params=params,
            progress=progress,
            week_scenarios=scenarios if options.weeks > 1 else None,
        )
        return _within_entitlement(scenarios, plan, options, progress)


def _within_entitlement(
    scenarios: Sequence[Scenario], plan: Plan, options: JobOptions, progress: Any
) -> Plan:
    """``plan`` with no visit beyond an entitlement unsaid, when the job asked for it: the
    visits beyond are unassigned ``over_entitlement``, or kept where the family may top up,
    and the job's message says how many and how much the families pay. The requests of every
    week are looked up (a week's one-off orders are its own)."""
    if options.entitlements is None:
        return plan
    first = scenarios[0]
    extra: dict[str, dict[str, ServiceRequest]] = {}
    own = {r.id for _, r in first.requests()}
    for week in scenarios[1:]:
        for household, request in week.requests():
            if request.id not in own:
                extra.setdefault(household.id, {})[request.id] = request
    every = replace(
        first,
        households=tuple(
            replace(h, requests=(*h.requests, *extra.get(h.id, {}).values()))
            for h in first.households
        ),
    )
    trimmed = trim_to_entitlement(every, plan, options.entitlements)
    over = Reason.OVER_ENTITLEMENT.value
    cut = sum(u.missing_visits for u in trimmed.plan.unassigned if u.reason == over)
    visits = sum(t.visits for t in trimmed.top_ups)
    yuan = sum(t.yuan for t in trimmed.top_ups)
    message = (
        f"超出补贴：{cut}次未安排，{visits}次由家庭自付{yuan:.2f}元 / beyond the entitlements: "
        f"{cut} visit(s) left unassigned, {visits} kept as family top-ups ({yuan:.2f} yuan)"
    )
    progress(Progress("entitlements", 0.99, message, trimmed.plan.kpis, trimmed.plan))
    return trimmed.plan


def _check_weeks(scenario: Scenario, options: JobOptions) -> None:
    """Raises :class:`InputError` naming ``body.weeks`` when the job cannot plan its weeks."""
    if options.weeks == 1:
        return
    if options.solver == "greedy":
        why = "the greedy baseline plans one week"
        raise InputError(f"贪心基线只规划一周 / {why}", [FieldProblem("body.weeks", why)])
    if scenario.week_start is None:
        why = "a plan of several weeks needs the scenario's week_start"
        raise InputError(f"多周计划需要场景的周起始日期 / {why}", [FieldProblem("body.weeks", why)])


def job_parameters(options: JobOptions, modifications: Mapping[str, Any]) -> dict[str, Any]:
    """What a job row records about how it was asked for."""
    return {
        "job": True,
        "solver": options.solver,
        "time_limit": options.time_limit,
        "seed": options.seed,
        "weeks": options.weeks,
        "week_start": options.week_start.isoformat() if options.week_start else None,
        "visiting": options.visiting,
        "entitlements": options.entitlements is not None,
        "modifications": dict(modifications),
    }
