"""Batches (方案对比): what-if variants of one scenario solved in parallel and compared.

A batch is a ``batches`` row and one plan row per variant (``plans.batch_id``, named
"<batch> · <variant>"), all created at once when it is queued, draft. The variants document is
read by :func:`dispatch.batch.parse_variants` and applied by
:func:`dispatch.batch.variant_scenarios` before anything is stored (a mistake is an
:class:`InputError` naming its field under ``body.``). The runner's thread solves the variants
on an engine of :mod:`dispatch.engines` (a local process pool or Ray, from the settings) with
:func:`dispatch.batch.solve_variant`; each variant's plan row goes the way of a planner job's:
``running`` with its progress and best plan so far (checked against the variant's scenario
before it is stored, :func:`api.services.jobs.vetted`), then ``done`` through
:func:`api.services.plans.finish_plan` (checked, KPIs recomputed), or ``failed`` with the
error's line. The batch's comparison ``rows`` are made from each stored plan and its stored
(checker-recomputed) KPIs, in the order of the variants, as variants end.

Cancelling stops the running and queued variants (the engine's cancel event) and marks them
cancelled, each keeping its best plan so far; the variants that ended keep their plans and
rows. The job runner owns the variant rows while the batch is queued or running (its heartbeat
stamps them, :func:`api.services.jobs.reap` leaves them alone); the batch rows themselves beat
and are reaped the same way, on the job runner's heartbeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.models import BatchRow, PlanRow, utcnow
from api.services.errors import FieldProblem, InputError, NotFound
from api.services.jobs import (
    ACTIVE_STATES,
    CANCELLED_MESSAGE,
    INTERRUPTED_MESSAGE,
    JobOptions,
    JobRunner,
    job_parameters,
    reap,
    store_progress,
    vetted,
)
from api.services.plans import fail_plan, finish_plan, new_plan, weeks_scenarios
from dispatch.batch import (
    BatchError,
    StaffCost,
    VariantSpec,
    comparison_row,
    failed_row,
    parse_variants,
    solve_variant,
    variant_scenarios,
)
from dispatch.engines import STARTED, EngineSettings, EngineUnavailable, TaskResult, open_engine
from dispatch.model import Scenario
from dispatch.plan_io import parse_plan
from dispatch.scenario_io import scenario_to_dict
from dispatch.weekly import Progress

__all__ = [
    "BATCH_STATES",
    "BatchOptions",
    "BatchRunner",
    "batch_rows",
    "get_batch",
    "list_batches",
    "variants_of",
]

log = logging.getLogger("api.batches")

#: States of a batch.
BATCH_STATES: tuple[str, ...] = ("draft", "running", "done", "failed", "cancelled")

#: Plan states whose plan is stored and checker-clean (a line of the comparison table).
_SOLVED = ("done", "published")


@dataclass(frozen=True)
class BatchOptions:
    """How to solve each variant: ``solver`` ``ours`` (weekly planner) or ``greedy``,
    ``time_limit`` seconds (each variant's), ``seed``; ``week_start`` the week of the stored
    master data (default the stored scenario's), or the week a scenario sent is moved to."""

    solver: Literal["ours", "greedy"] = "ours"
    time_limit: float = 10.0
    seed: int = 0
    week_start: date | None = None


@dataclass(frozen=True)
class _Variant:
    plan_id: int
    name: str
    scenario: Scenario


def get_batch(session: Session, batch_id: int) -> BatchRow:
    """The batch with this id; raises :class:`NotFound`."""
    row = session.get(BatchRow, batch_id)
    if row is None:
        raise NotFound(f"方案对比不存在 / no batch {batch_id}")
    return row


def list_batches(session: Session) -> list[BatchRow]:
    """Every batch, newest first."""
    return list(session.scalars(select(BatchRow).order_by(BatchRow.id.desc())))


def variants_of(session: Session, batch_id: int) -> list[PlanRow]:
    """The plan rows of a batch's variants, in the batch's order (one indexed query)."""
    return list(
        session.scalars(
            select(PlanRow)
            .where(PlanRow.batch_id == batch_id)
            .order_by(PlanRow.id)
            .execution_options(populate_existing=True)
        )
    )


def batch_rows(
    variants: Sequence[PlanRow], scenarios: Mapping[str, Scenario], cost: StaffCost
) -> list[dict[str, Any]]:
    """The comparison table of the variants that ended, in order: a solved variant's line from
    its stored plan and stored KPIs (those the checker recomputed,
    :func:`dispatch.batch.comparison_row`), a failed or cancelled one's with its status and
    message; variants still queued or running have no line yet."""
    rows = []
    for row in variants:
        name = row.variant or row.name
        if row.status in _SOLVED and row.document is not None and name in scenarios:
            plan = parse_plan(row.document)
            rows.append(comparison_row(name, scenarios[name], plan, cost, kpis=row.kpis))
        elif row.status not in ACTIVE_STATES:
            rows.append(failed_row(name, row.status, row.message))
    return rows


def _problem(exc: BatchError, specs: Sequence[VariantSpec], document: Mapping[str, Any]) -> str:
    """Where in the body a variant's mistake lies: ``exc.path`` names the variant (and the
    modification) when a variant does not apply to the scenario."""
    listed = document.get("variants") or []
    names = [v.get("name", "").strip() if isinstance(v, dict) else "" for v in listed]
    owner = max(
        (s.name for s in specs if exc.path == s.name or exc.path.startswith(s.name + ".")),
        key=len,
        default=None,
    )
    if owner is None:
        return "body" if exc.path == "$" else f"body.{exc.path}"
    rest = exc.path[len(owner) :]
    if owner in names:
        return f"body.variants[{names.index(owner)}]{rest}"
    if "grid" in document:
        return f"body.grid{rest}"
    return "body"


def _single_counts(document: Mapping[str, Any]) -> None:
    """Raise :class:`BatchError` naming a listed variant's ``add_caregivers`` count that is not
    one whole number: :func:`dispatch.batch.parse_variants` reads a list or range there (a
    grid's) and fails unpacking it, without naming the field."""
    listed = document.get("variants")
    for i, item in enumerate(listed if isinstance(listed, list) else ()):
        adds = item.get("add_caregivers") if isinstance(item, dict) else None
        many = isinstance(adds, list)
        items: list[Any] = adds if isinstance(adds, list) else [adds]
        for j, add in enumerate(items):
            count = add.get("count") if isinstance(add, dict) else None
            if isinstance(count, list) or (isinstance(count, str) and ".." in count):
                where = f"variants[{i}].add_caregivers" + (f"[{j}]" if many else "")
                raise BatchError(
                    f"{where}.count", "must be one whole number (lists and ranges are a grid's)"
                )


def _invalid(exc: BatchError, path: str) -> InputError:
    return InputError(
        f"方案对比无效 / invalid batch: {path}: {exc.message}", [FieldProblem(path, exc.message)]
    )


class BatchRunner:
    """Runs batches one at a time on a thread of the service, each batch's variants in
    parallel on the engine ``engine`` names. The job runner ``jobs`` owns the variants' plan
    rows (heartbeat, cancel through ``DELETE /plans/{id}``) and beats for the batches too."""

    def __init__(
        self,
        database: Database,
        jobs: JobRunner,
        *,
        engine: EngineSettings | None = None,
        on_solved: Callable[[str, float], None] | None = None,
    ) -> None:
        self.database = database
        self.jobs = jobs
        self.engine = engine or EngineSettings(workers=2)
        #: Told the solver and the seconds of every variant's solve that ended (metrics).
        self.on_solved = on_solved
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        self._cancel: dict[int, threading.Event] = {}
        self._futures: dict[int, Future[None]] = {}
        self._lock = threading.Lock()
        jobs.add_beat(self._beat)

    # --- queueing -------------------------------------------------------------------------

    def queue(
        self,
        session: Session,
        scenario: Scenario | None,
        document: Mapping[str, Any],
        options: BatchOptions,
        *,
        name: str = "",
        created_by: str = "",
    ) -> BatchRow:
        """A new draft batch of the variants ``document`` asks for (the fields of a variants
        document: ``variants``, ``grid``, ``baseline``, ``staff_cost``), each a what-if of
        ``scenario`` (``None``: the stored master data of the week), with a draft plan row per
        variant; committed and queued. Raises :class:`InputError` naming the field of a
        mistake or of a variant that does not apply (nothing stored), and
        :class:`api.services.errors.Conflict` without a stored scenario."""
        try:
            _single_counts(document)
            specs, cost = parse_variants(dict(document))
        except BatchError as exc:
            raise _invalid(exc, "body" if exc.path == "$" else f"body.{exc.path}") from None
        except ValueError as exc:  # a mistake the reader lets through unnamed
            raise _invalid(BatchError("$", str(exc)), "body") from None
        if scenario is None:
            _first, (scenario,) = weeks_scenarios(session, options.week_start, 1)
        elif options.week_start is not None:
            scenario = replace(scenario, week_start=options.week_start.isoformat())
        try:
            resolved = variant_scenarios(scenario, specs)
        except BatchError as exc:
            raise _invalid(exc, _problem(exc, specs, document)) from None
        except ValueError as exc:
            raise _invalid(BatchError("$", str(exc)), "body") from None
        name = name.strip() or f"batch {utcnow():%Y-%m-%d %H:%M}"
        batch = BatchRow(
            name=name,
            status="draft",
            scenario_name=scenario.name,
            week_start=scenario.week_start,
            parameters={
                "solver": options.solver,
                "time_limit": options.time_limit,
                "seed": options.seed,
                "week_start": options.week_start.isoformat() if options.week_start else None,
                "engine": {"kind": self.engine.kind, "workers": self.engine.size},
                "variants": dict(document),
                "staff_cost": {
                    "yuan_per_month": cost.yuan_per_month,
                    "hours_per_month": cost.hours_per_month,
                    "overtime_factor": cost.overtime_factor,
                },
            },
            rows=[],
            message="",
            created_by=created_by,
        )
        session.add(batch)
        session.flush()
        job = JobOptions(solver=options.solver, time_limit=options.time_limit, seed=options.seed)
        variants = []
        for variant, changed in resolved:
            row = new_plan(
                session,
                name=f"{name} · {variant.name}"[:200],
                parameters=job_parameters(job, variant.changes)
                | {"batch": batch.id, "variant": variant.name},
                created_by=created_by,
            )
            row.batch_id, row.variant = batch.id, variant.name
            row.scenario_name, row.week_start = changed.name, changed.week_start
            variants.append(_Variant(row.id, variant.name, changed))
        session.commit()
        self.submit(batch.id, variants, cost, options)
        return batch

    def submit(
        self,
        batch_id: int,
        variants: Sequence[_Variant],
        cost: StaffCost,
        options: BatchOptions,
    ) -> None:
        """Queue the solve of a draft batch's ``variants``: from now on this process owns the
        batch and its variants' rows."""
        event = threading.Event()
        events = self.jobs.adopt([v.plan_id for v in variants])
        with self._lock:
            self._cancel[batch_id] = event
            self._futures[batch_id] = self._pool.submit(
                self._run, batch_id, variants, cost, options, event, events
            )

    def cancel(self, session: Session, batch_id: int) -> bool:
        """Stop a queued or running batch: its queued and running variants are marked
        cancelled (each keeps its best plan so far), the ended ones keep their plans; commits.
        False when the batch has already ended."""
        ended = _end_active(session, batch_id, "cancelled", CANCELLED_MESSAGE)
        with self._lock:
            event = self._cancel.get(batch_id)
        if event is not None:
            event.set()
        return ended

    def wait(self, batch_id: int, timeout: float | None = None) -> None:
        """Block until the batch's thread has returned (tests)."""
        with self._lock:
            future = self._futures.get(batch_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Stop every batch (the running one's variants end at once) and wait for its thread;
        a batch stopped so is failed as interrupted, not cancelled."""
        with self._lock:
            events = list(self._cancel.values())
        for event in events:
            event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- heartbeat ------------------------------------------------------------------------

    def _beat(self, session: Session) -> None:
        """Stamp this runner's batches alive and mark failed the orphaned ones (their process
        is gone): called at every heartbeat of the job runner."""
        with self._lock:
            owned = set(self._cancel)
        if owned:
            session.execute(
                update(BatchRow)
                .where(BatchRow.id.in_(owned), BatchRow.status.in_(ACTIVE_STATES))
                .values(heartbeat_at=utcnow())
            )
            session.commit()
        marked, _due = reap(
            session, stale_seconds=self.jobs.stale_seconds, owned=owned, table=BatchRow
        )
        if marked:
            log.warning("%d orphaned batch(es) marked failed (their process is gone)", marked)

    # --- running --------------------------------------------------------------------------

    def _run(
        self,
        batch_id: int,
        variants: Sequence[_Variant],
        cost: StaffCost,
        options: BatchOptions,
        cancel: threading.Event,
        events: Mapping[int, threading.Event],
    ) -> None:
        try:
            with self.database.session() as session:
                started = session.execute(
                    update(BatchRow)
                    .where(BatchRow.id == batch_id, BatchRow.status == "draft")
                    .values(status="running", updated_at=utcnow(), heartbeat_at=utcnow())
                )
                session.commit()
                if getattr(started, "rowcount", 0) and not cancel.is_set():
                    try:
                        self._solve(session, batch_id, variants, cost, options, cancel, events)
                    except Exception as exc:
                        log.exception("batch %s failed", batch_id)
                        session.rollback()
                        line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        message = f"方案对比失败 / the batch failed: {type(exc).__name__} {line}"
                        self._fail_all(session, batch_id, message.rstrip())
                self._end(session, batch_id, variants, cost, cancel)
        except Exception:  # a batch's failure must not kill the thread
            log.exception("batch %s failed", batch_id)
        finally:
            self.jobs.release([v.plan_id for v in variants])
            with self._lock:
                self._cancel.pop(batch_id, None)

    def _solve(
        self,
        session: Session,
        batch_id: int,
        variants: Sequence[_Variant],
        cost: StaffCost,
        options: BatchOptions,
        cancel: threading.Event,
        events: Mapping[int, threading.Event],
    ) -> None:
        by_name = {v.name: v for v in variants}
        scenarios = {v.name: v.scenario for v in variants}

        def on_report(key: str, value: Any) -> None:
            variant = by_name.get(key)
            if variant is None or events[variant.plan_id].is_set():
                return
            try:
                store_progress(session, variant.plan_id, _progress(variant, value))
            except Exception:  # a lost report never fails the batch
                session.rollback()
                log.warning("batch %s: a report of %s not stored", batch_id, key, exc_info=True)

        items = {
            v.name: {
                "scenario": scenario_to_dict(v.scenario),
                "time_limit": options.time_limit,
                "seed": options.seed,
                "solver": options.solver,
            }
            for v in variants
        }
        try:
            with open_engine(self.engine) as engine:
                for result in engine.run(solve_variant, items, on_report=on_report, cancel=cancel):
                    self._ended(session, by_name[result.key], result, options.solver)
                    self._store_rows(session, batch_id, scenarios, cost)
        except EngineUnavailable as exc:
            log.warning("batch %s: %s", batch_id, exc)
            self._fail_all(session, batch_id, f"计算引擎不可用 / the engine cannot run: {exc}")

    def _ended(self, session: Session, variant: _Variant, result: TaskResult, solver: str) -> None:
        """Store a variant's end: its plan checked through :func:`finish_plan`, or failed."""
        self._solved(solver, result.seconds)
        row = session.get(PlanRow, variant.plan_id, populate_existing=True)
        if row is None or row.status not in ACTIVE_STATES:
            return  # cancelled meanwhile
        if not result.ok:
            fail_plan(session, variant.plan_id, f"求解失败 / the solve failed: {result.error}")
            return
        try:
            finish_plan(session, variant.plan_id, parse_plan(result.value), [variant.scenario])
        except Exception as exc:
            session.rollback()
            log.exception("batch variant %s not stored", variant.name)
            fail_plan(session, variant.plan_id, f"方案无法保存 / the plan was not stored: {exc}")

    def _fail_all(self, session: Session, batch_id: int, message: str) -> None:
        _end_active(session, batch_id, "failed", message)

    def _store_rows(
        self, session: Session, batch_id: int, scenarios: Mapping[str, Scenario], cost: StaffCost
    ) -> list[PlanRow]:
        variants = variants_of(session, batch_id)
        rows = batch_rows(variants, scenarios, cost)
        session.execute(
            update(BatchRow).where(BatchRow.id == batch_id).values(rows=rows, updated_at=utcnow())
        )
        session.commit()
        return variants

    def _end(
        self,
        session: Session,
        batch_id: int,
        variants: Sequence[_Variant],
        cost: StaffCost,
        cancel: threading.Event,
    ) -> None:
        """The batch's last state: variants left without a result cancelled (a cancel) or
        failed as interrupted (the server stopping), the table of every variant, and the batch
        done when a variant was solved, else failed."""
        batch = session.get(BatchRow, batch_id, populate_existing=True)
        if batch is None:
            return
        user_cancelled = batch.status == "cancelled"
        if user_cancelled:
            status, left = "cancelled", CANCELLED_MESSAGE
        elif cancel.is_set():
            status, left = "failed", INTERRUPTED_MESSAGE
        else:
            status, left = "failed", "没有结果 / the engine gave no result"
        now = utcnow()
        session.execute(
            update(PlanRow)
            .where(PlanRow.batch_id == batch_id, PlanRow.status.in_(ACTIVE_STATES))
            .values(status=status, message=left, updated_at=now)
        )
        session.commit()
        rows = self._store_rows(session, batch_id, {v.name: v.scenario for v in variants}, cost)
        solved = sum(r.status in _SOLVED for r in rows)
        if cancel.is_set() and not user_cancelled:
            end, message = "failed", INTERRUPTED_MESSAGE
        elif solved:
            end, message = "done", f"{solved}/{len(rows)} 个方案已求解 / variant(s) solved"
        else:
            end, message = "failed", "没有方案求解成功 / no variant was solved"
        session.execute(
            update(BatchRow)
            .where(BatchRow.id == batch_id, BatchRow.status.in_(ACTIVE_STATES))
            .values(status=end, message=message, updated_at=now)
        )
        session.commit()

    def _solved(self, solver: str, seconds: float) -> None:
        if self.on_solved is not None:
            try:
                self.on_solved(solver, seconds)
            except Exception:  # metrics never fail a batch
                log.warning("solver metrics not recorded", exc_info=True)


def _end_active(session: Session, batch_id: int, status: str, message: str) -> bool:
    """Mark the batch and its queued and running variants ``status`` with ``message`` (the
    ended variants keep theirs); commits. False when the batch had already ended."""
    now = utcnow()
    result = session.execute(
        update(BatchRow)
        .where(BatchRow.id == batch_id, BatchRow.status.in_(ACTIVE_STATES))
        .values(status=status, message=message, updated_at=now)
    )
    session.execute(
        update(PlanRow)
        .where(PlanRow.batch_id == batch_id, PlanRow.status.in_(ACTIVE_STATES))
        .values(status=status, message=message, updated_at=now)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def _progress(variant: _Variant, value: Any) -> Progress:
    """A variant's report as a planner job's :class:`Progress`, its plan checked."""
    if value == STARTED:
        return Progress("start", 0.0, "started / 已开始")
    report = value if isinstance(value, dict) else {}
    plan = parse_plan(report["plan"]) if report.get("plan") else None
    p = Progress(
        "batch",
        float(report.get("fraction", 0.0)),
        str(report.get("message", "")),
        plan.kpis if plan is not None else MappingProxyType({}),
        plan,
    )
    return vetted(variant.plan_id, [variant.scenario], p)
