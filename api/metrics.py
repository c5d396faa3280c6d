"""Observability: Prometheus metrics of one app, request ids and JSON log lines.

Every app has its own :class:`Metrics` (its own registry, not the process-wide default one:
tests build many apps). :class:`ObserveMiddleware` (pure ASGI) gives each HTTP request an id
(the client's ``X-Request-ID`` when it is a sane token, else a new one), echoes it in the
answer, keeps it in :data:`request_id` for the log records made while the request is served
(worker threads included: AnyIO copies the context) and counts the request by its route's
*template* (``/api/v1/work-orders/{order_id}``, ``unmatched`` for unknown paths) and status.
:class:`JsonFormatter` writes a record as one JSON object per line, with the request id and the
fields given through ``extra=``, phone and ID numbers masked (:func:`api.services.privacy.redact`)
and bearer tokens left out.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import Database
from api.models import BatchRow, PlanRow
from api.services.batches import BATCH_STATES
from api.services.privacy import redact

__all__ = [
    "JOB_STATES",
    "REQUEST_ID_HEADER",
    "SOLVERS",
    "JobsCollector",
    "JsonFormatter",
    "Metrics",
    "ObserveMiddleware",
    "request_id",
    "scrub",
]

#: The states of a planner job (``plans.status``), each always exposed (0 when none).
JOB_STATES = ("draft", "running", "done", "failed", "cancelled", "published")
#: The solvers of planner jobs (``JobOptions.solver``).
SOLVERS = ("greedy", "ours")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: The id of the request being served in this context (``None`` outside requests).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_log = logging.getLogger("api.metrics")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")

# Request latency: from a cached board read (milliseconds) to a plan upload (seconds).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The hotline's insertion search: tens of milliseconds on a district, a few seconds at worst.
_HOTLINE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class JobsCollector(Collector):
    """``dispatch_jobs{state}``: planner jobs (plan rows, a batch's variants included) by
    state, and ``dispatch_batches{state}``: batches by state, counted in the database at scrape
    time, so every server process on the database reports the same numbers."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("dispatch_jobs", "Planner jobs (plans) by state", labels=["state"]),
            GaugeMetricFamily("dispatch_batches", "Batches by state", labels=["state"]),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        jobs, batches = self._families()
        try:
            with self.database.session() as session:
                plan_rows = session.execute(
                    select(PlanRow.status, func.count()).group_by(PlanRow.status)
                ).all()
                batch_rows = session.execute(
                    select(BatchRow.status, func.count()).group_by(BatchRow.status)
                ).all()
        except Exception:  # a scrape must answer even while the database is away
            _log.warning("jobs by state not counted: the database did not answer", exc_info=True)
            return
        for family, states, rows in (
            (jobs, JOB_STATES, plan_rows),
            (batches, BATCH_STATES, batch_rows),
        ):
            counts = dict.fromkeys(states, 0) | {str(s): int(n) for s, n in rows}
            for state, count in sorted(counts.items()):
                family.add_metric([state], count)
            yield family


class Metrics:
    """The metrics of one app, in a registry of its own."""

    def __init__(self, database: Database, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dispatch_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "dispatch_http_request_seconds",
            "Seconds from a request's arrival to the end of its answer",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.solver_runs = Counter(
            "dispatch_solver_runs",
            "Planner job solves ended (done or failed), by solver",
            ["solver"],
            registry=self.registry,
        )
        self.solver_seconds = Counter(
            "dispatch_solver_seconds",
            "Seconds spent in planner job solves, by solver",
            ["solver"],
            registry=self.registry,
        )
        self.hotline_seconds = Histogram(
            "dispatch_hotline_seconds",
            "Seconds a hotline call takes to open its order and find the insertions",
            buckets=_HOTLINE_BUCKETS,
            registry=self.registry,
        )
        self.build_info = Gauge(
            "dispatch_build_info",
            "The service's version (always 1)",
            ["version"],
            registry=self.registry,
        )
        self.build_info.labels(version=version).set(1)
        for solver in SOLVERS:  # shown from the start, at 0
            self.solver_runs.labels(solver=solver)
            self.solver_seconds.labels(solver=solver)
        self.registry.register(JobsCollector(database))

    def solved(self, solver: str, seconds: float) -> None:
        """Count one planner solve of ``solver`` that took ``seconds``."""
        self.solver_runs.labels(solver=solver).inc()
        self.solver_seconds.labels(solver=solver).inc(max(0.0, seconds))


def _route_of(scope: Scope) -> str:
    """The matched route's full path template, ``unmatched`` without one.

    FastAPI keeps included routers nested: ``scope["route"]`` is the route as its router
    declared it (``/work-orders/{order_id}``, without the ``/api/v1`` prefix), so the prefix is
    the part of the request's path before the part that the route's own pattern matches (router
    prefixes hold no parameters)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return "unmatched"
    pattern = getattr(route, "path_regex", None)
    path = str(scope.get("path", ""))
    if pattern is None or pattern.match(path):
        return template
    for i, char in enumerate(path):
        if char == "/" and i > 0 and pattern.match(path[i:]):
            return path[:i] + template
    return template


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


class ObserveMiddleware:
    """Request ids and request metrics (pure ASGI): the id in :data:`request_id` while the
    request is served and in the answer's ``X-Request-ID``; the request counted by method,
    route template and status, and its seconds observed. A request that raises counts as 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            route = _route_of(scope)
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.request_seconds.labels(method=method, route=route).observe(seconds)
            request_id.reset(token)


# --- JSON log lines ------------------------------------------------------------------------------

# The attributes every LogRecord has: whatever else a record holds came through ``extra=``.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "request_id",
    "color_message",
}


def scrub(text: str) -> str:
    """``text`` with phone and ID numbers masked and bearer tokens replaced by ``***``."""
    return redact(_BEARER.sub(r"\1 ***", text))


def _clean(value: Any) -> Any:
    """``value`` fit for JSON, with phone and ID numbers in its text masked."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message`` (redacted), ``request_id`` inside a request, the ``extra=`` fields (redacted)
    and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in entry:
                entry[key] = _clean(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
