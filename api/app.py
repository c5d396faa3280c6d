"""The HTTP service: ``create_app()`` builds it, ``app`` is what ``uvicorn api.app:app`` serves.

Routes live under ``/api/v1``; interactive docs at ``/docs``. Every error answers with one JSON
shape::

    {"error": {"code": "validation_error", "message": "...",
               "fields": [{"path": "body.households[0].lat", "message": "..."}]}}
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import tomllib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import authenticate, bearer_scheme
from api.db import Database
from api.metrics import JsonFormatter, Metrics, ObserveMiddleware
from api.models import BatchRow
from api.routers import batches as batch_routes
from api.routers import circle as circle_routes
from api.routers import hotline as hotline_routes
from api.routers import lookup as lookup_routes
from api.routers import master as master_routes
from api.routers import plans as plans_routes
from api.routers import scenario as scenario_routes
from api.routers import settlement as settlement_routes
from api.routers import tokens as token_routes
from api.routers import visits as visit_routes
from api.routers import web as web_routes
from api.routers import work_orders as work_order_routes
from api.schemas import PLAN_BODY_TAGS
from api.services import master
from api.services.batches import BatchRunner
from api.services.errors import InputError, ServiceError
from api.services.jobs import (
    JobOptions,
    JobRunner,
    active_job,
    job_parameters,
    mark_interrupted,
)
from api.services.plans import default_week, in_force, new_plan
from api.services.privacy import RedactingFilter
from api.services.scenario import current_document, load_demo
from api.services.tokens import ensure_admin_token
from api.services.travel import configure as configure_travel
from api.settings import Settings
from dispatch.engines import EngineSettings
from dispatch.operations.engine import warm_up
from dispatch.scenario_io import DocumentError

__all__ = [
    "API_PREFIX",
    "BODY_LIMIT",
    "DOCUMENT_BODY_LIMIT",
    "METRICS_CONTENT_TYPE",
    "UPLOAD_BODY_LIMIT",
    "VERSION",
    "ErrorBody",
    "ErrorField",
    "ErrorResponse",
    "GuardMiddleware",
    "HealthPublic",
    "SolverVersions",
    "app",
    "body_limit",
    "configure_logging",
    "create_app",
    "describe_statuses",
    "router",
    "statuses_of",
]

API_PREFIX = "/api/v1"
_DISTRIBUTION = "eldercare-dispatch"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _project_version() -> str:
    """The installed package's version, else the one in the source tree's pyproject.toml."""
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        with _PYPROJECT.open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"


@functools.cache
def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


VERSION = _project_version()


# --- response schemas ------------------------------------------------------------------------


class SolverVersions(BaseModel):
    """Versions of the optimisation libraries the service solves with."""

    ortools: str


class HealthPublic(BaseModel):
    """Liveness answer: ``time`` is the server's clock (UTC, ISO 8601)."""

    status: Literal["ok"]
    version: str
    solver: SolverVersions
    time: datetime
    warm: bool = Field(
        description="The routing engine is compiled in the answering server process: planner "
        "jobs start at full speed and nothing compiles beside requests any more."
    )


class ErrorField(BaseModel):
    """One invalid input: ``path`` like ``body.households[0].lat`` or ``query.day``."""

    path: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []


class ErrorResponse(BaseModel):
    """The shape of every error answer."""

    error: ErrorBody


# --- errors ----------------------------------------------------------------------------------


def _field_path(loc: Sequence[int | str]) -> str:
    """``("body", "households", 0, "lat")`` → ``"body.households[0].lat"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _error(status: int, code: str, message: str, fields: list[ErrorField] | None = None) -> Any:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, fields=fields or []))
    return JSONResponse(status_code=status, content=body.model_dump())


async def _on_validation_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RequestValidationError)
    if _wrong_method(request):
        # ``GET /plans/check`` reaches ``/plans/{plan_id}`` and fails its id: the path is a
        # route of its own that does not take this method.
        allowed = _allowed_methods(request.app, request.url.path)
        response = _error(405, "method_not_allowed", "Method Not Allowed")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    fields = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if loc[:1] == ("body",) and len(loc) > 1 and loc[1] in PLAN_BODY_TAGS:
            loc = loc[:1] + loc[2:]  # the kind of a two-kind body is not a field
        if err.get("type") == "json_invalid":
            loc = loc[:1]  # the rest is a character offset, not a field
        fields.append(ErrorField(path=_field_path(loc), message=str(err.get("msg", "invalid"))))
    names = ", ".join(f.path for f in fields[:5]) + (", …" if len(fields) > 5 else "")
    return _error(422, "validation_error", f"请求数据无效 / invalid request: {names}", fields)


async def _on_document_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, DocumentError)
    fields = [
        ErrorField(path=f"body.{i.path}" if i.path else "body", message=i.message)
        for i in exc.issues
    ]
    return _error(
        422, "invalid_document", f"文档无效 / invalid document: {len(fields)} problem(s)", fields
    )


async def _on_http_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
    }.get(exc.status_code, f"http_{exc.status_code}")
    response = _error(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette names only the methods of the last route it tried on the path; an operation
        # of the same path in another route would be left out.
        allowed = _allowed_methods(request.app, request.url.path)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _wrong_method(request: Request) -> bool:
    """True when the path is an operation's own (no parameters) but not for this method."""
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    own = paths.get(request.url.path)
    return own is not None and request.method.lower() not in own


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document gives for ``path``: those of its own template when it
    has one (``/plans/check``), else of every template with parameters that matches it."""
    paths: dict[str, Any] = app.openapi().get("paths", {})
    if path in paths:
        return sorted(m.upper() for m in paths[path])
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


async def _on_service_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, ServiceError)
    fields = (
        [ErrorField(path=f.path, message=f.message) for f in exc.fields]
        if isinstance(exc, InputError)
        else []
    )
    return _error(exc.status, exc.code, exc.message, fields)


# --- request limits and security headers ----------------------------------------------------

#: Largest request body in bytes, unless a route below allows more.
BODY_LIMIT = 2 * 1024 * 1024
#: Largest body of a scenario or plan document (``POST /scenario``, ``/plans``, ``/plans/check``).
DOCUMENT_BODY_LIMIT = 16 * 1024 * 1024
#: Largest multipart body of a sheet import: the file limit of :mod:`api.routers.scenario` and
#: room for the multipart envelope.
UPLOAD_BODY_LIMIT = scenario_routes.MAX_UPLOAD_BYTES + 64 * 1024

_DOCUMENT_ROUTES = frozenset(
    f"{API_PREFIX}{path}" for path in ("/scenario", "/plans", "/plans/check", "/batches")
)
_UPLOAD_ROUTES = frozenset(
    f"{API_PREFIX}{path}" for path in ("/import/households", "/import/caregivers")
)
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs page loads Swagger UI from its CDN and starts it with an inline script.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


# The console's pages (api/routers/web.py): their own scripts and styles only; map tiles from
# the https tile server a user configures.
_WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def body_limit(path: str) -> int:
    """The largest request body in bytes that ``path`` accepts."""
    if path in _UPLOAD_ROUTES:
        return UPLOAD_BODY_LIMIT
    if path in _DOCUMENT_ROUTES:
        return DOCUMENT_BODY_LIMIT
    return BODY_LIMIT


def _too_large_message(limit: int) -> str:
    return f"请求体过大 / request body larger than {limit} bytes"


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a body without a (true) Content-Length passes its limit: an
    HTTP error, so that the body parsers let it through to the error handlers unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))
        self.limit = limit


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = _DOCS_CSP if path in _DOCS_PATHS else _API_CSP
    if path in web_routes.PAGES or path.startswith("/static/"):
        csp = _WEB_CSP
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", csp.encode()),
        (b"cache-control", b"no-store"),
    ]


class AdmissionMiddleware:
    """Lets at most ``limit`` requests into the app at once (pure ASGI); the others wait here,
    in the event loop, holding nothing.

    A request needs a worker thread for its dependencies, its handler and the validation of
    its answer, and holds a database connection from its first query until its session closes.
    Admitting no more requests than there are worker threads (``DISPATCH_WORKER_THREADS``) and
    pooled connections means a request never holds a connection while it waits for a thread, so
    a burst of clients queues instead of exhausting the pool. ``/health`` is always answered.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = max(1, limit)
        self._gate: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").endswith("/health"):
            await self.app(scope, receive, send)
            return
        if self._gate is None:
            self._gate = anyio.Semaphore(self.limit)
        async with self._gate:
            await self.app(scope, receive, send)


class GuardMiddleware:
    """Bounds request bodies and adds security headers to every answer (pure ASGI).

    A body whose Content-Length passes :func:`body_limit` answers 413 before it is read; a
    chunked body is counted as it arrives and cut off with 413 once it passes the limit, so no
    more than the limit is ever held. Every answer gets ``nosniff``, ``DENY`` framing, no
    referrer, a content security policy (a strict one for JSON, one that lets ``/docs`` load
    Swagger UI) and ``Cache-Control: no-store`` unless the route set its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = body_limit(path)
        started = False
        extra = _security_headers(path)

        async def send_guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_too_large(send_guarded, limit)
            return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, receive_counted, send_guarded)
        except _BodyTooLarge as exc:
            if started:
                raise
            await _answer_too_large(send_guarded, exc.limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_too_large(send: Send, limit: int) -> None:
    response = _error(413, "payload_too_large", _too_large_message(limit))
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(response.body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


# --- the statuses each operation answers, for the OpenAPI document -----------------------------

_STATUS_TEXT = {
    400: "The body cannot be read (not UTF-8, broken multipart)",
    401: "Missing, unknown or revoked bearer token",
    403: "The token's role may not do this (or a caregiver asks about another caregiver)",
    404: "What the path or query names does not exist",
    409: "Not allowed in the current state (named in the message)",
    413: "Request body too large",
    422: "Invalid input (each field named)",
}
# Operations that look something up or meet a state without a path parameter or a body.
_EXTRA_STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/scenario"): (404,),
    ("GET", "/plans/compare"): (404,),
    ("GET", "/master"): (409,),
    ("GET", "/routes"): (409,),
    ("GET", "/work-orders/summary"): (409,),
    ("GET", "/work-orders/flags"): (409,),
    ("GET", "/plans/in-force"): (404,),
    ("GET", "/work-orders/{order_id}/options"): (409,),
    ("POST", "/work-orders"): (404,),
    ("POST", "/households"): (404,),
    ("POST", "/plans"): (404,),
}


def statuses_of(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an OpenAPI ``operation`` can answer besides its successes: 401/403
    when it needs a token, 404 when it looks up what its path names, 409 for changes (a state
    can refuse them), 400 and 413 when it takes a body, 422 when it takes any input; and those
    of :data:`_EXTRA_STATUSES`."""
    parameters = operation.get("parameters", [])
    found: set[int] = set()
    if operation.get("security"):
        found |= {401, 403}
    if any(p.get("in") == "path" for p in parameters):
        found.add(404)
    if method.upper() not in ("GET", "HEAD"):
        found.add(409)
    if "requestBody" in operation:
        found |= {400, 413}
    if parameters or "requestBody" in operation:
        found.add(422)
    found.update(_EXTRA_STATUSES.get((method.upper(), path.removeprefix(API_PREFIX)), ()))
    return found


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _STATUS_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }


def describe_statuses(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an OpenAPI document) with every error status of each operation
    (:func:`statuses_of`) in its ``responses``, in the one error shape; statuses a route
    describes itself stay as they are."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            found = statuses_of(method, path, operation)
            for status in sorted(found):
                responses.setdefault(str(status), _error_response(status))
            if 422 not in found:  # the app-wide default, for an operation without input
                responses.pop("422", None)
    return schema


def _openapi_with_statuses(app: FastAPI) -> Callable[[], dict[str, Any]]:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_statuses(build())
        return app.openapi_schema

    return openapi


# --- start-up --------------------------------------------------------------------------------

log = logging.getLogger("api")
#: Who made the demo's plan job at start-up (``plans.created_by``).
_STARTUP = "start-up"


def _plan_demo(app: FastAPI) -> None:
    """Queue a greedy plan of the stored scenario's week, published when done, if no plan is in
    force that week and no other server process is planning it."""
    jobs: JobRunner = app.state.jobs
    with app.state.database.session() as session:
        if active_job(session, _STARTUP) is not None:
            return
        frame = current_document(session)
        if frame is None or not frame.get("households") or not frame.get("week_start"):
            return
        first = default_week(session)
        if first is None or in_force(session, first):
            return
        scenario = master.week_scenario(session, first)
        options = JobOptions(solver="greedy")
        row = new_plan(
            session,
            name="demo (greedy)",
            parameters=job_parameters(options, {}),
            created_by=_STARTUP,
        )
        row.week_start = first.isoformat()
        session.commit()
        jobs.submit(row.id, [scenario], options, publish=True)


def _start(app: FastAPI) -> None:
    """Size the database pool for the worker threads, open the data key, migrate the
    database, make sure an admin token exists, load the demo if empty, mark jobs cut off by a
    restart failed and start the job runner's heartbeat (which keeps reaping orphaned jobs),
    and plan the demo in the background if nothing is published."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    database.size_pool(
        settings.worker_threads,
        pool_timeout=settings.pool_timeout_seconds,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    jobs: JobRunner = app.state.jobs
    jobs.configure(
        heartbeat_seconds=settings.job_heartbeat_seconds, stale_seconds=settings.job_stale_seconds
    )
    # Several server processes (uvicorn --workers) start one at a time: one makes the key,
    # migrates, makes the admin token and plans the demo; the others find them done.
    with database.startup_lock():
        database.use_data_key(settings.data_key)
        database.migrate()
        with database.session() as session:
            interrupted = mark_interrupted(session, stale_seconds=settings.job_stale_seconds)
            if interrupted:
                log.warning("%d planner job(s) interrupted by a restart marked failed", interrupted)
            interrupted = mark_interrupted(
                session, stale_seconds=settings.job_stale_seconds, table=BatchRow
            )
            if interrupted:
                log.warning("%d batch(es) interrupted by a restart marked failed", interrupted)
            generated = ensure_admin_token(session, settings.admin_token)
            if generated is not None:
                # Shown once: only its hash is stored. Printed, not logged, to keep it out of
                # logs.
                print(
                    f"管理员令牌（仅显示一次）/ admin token (shown once): {generated}",
                    file=sys.stderr,
                    flush=True,
                )
            if settings.load_demo:
                load_demo(session, settings.demo_scenario)
        jobs.start()
        if settings.load_demo:
            _plan_demo(app)
    # The router's compiled searches are compiled (or loaded from numba's cache) once per
    # process: do it now, beside serving, rather than inside the first planner job's time limit.
    threading.Thread(target=_warm_up, args=(app,), name="router warm-up", daemon=True).start()


def _warm_up(app: FastAPI) -> None:
    warm_up()
    app.state.warm.set()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Synchronous handlers run in AnyIO's worker threads: no more of them at once than the
    # database pool has connections for (api/db.py), so a burst of clients queues for a thread.
    settings: Settings = app.state.settings
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
    _start(app)
    try:
        yield
    finally:
        app.state.batches.shutdown()
        app.state.jobs.shutdown()
        app.state.database.dispose()


# --- routes ----------------------------------------------------------------------------------

router = APIRouter(prefix=API_PREFIX)


@router.get("/health", response_model=HealthPublic, tags=["system"])
async def health(request: Request) -> HealthPublic:
    """The service is up: its version, the solver library's version, the server time and
    whether the routing engine is compiled yet."""
    return HealthPublic(
        status="ok",
        version=VERSION,
        solver=SolverVersions(ortools=_distribution_version("ortools")),
        time=datetime.now(UTC),
        warm=request.app.state.warm.is_set(),
    )


#: The Prometheus text exposition format ``generate_latest`` writes.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
metrics_router = APIRouter()


def _metrics_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """An admin token, or none at all with ``DISPATCH_METRICS_PUBLIC=true``."""
    settings: Settings = request.app.state.settings
    if settings.metrics_public:
        return
    principal = authenticate(request, credentials)
    if principal.role != "admin":
        raise HTTPException(403, f"无权限 / role {principal.role} may not do this (allowed: admin)")


@metrics_router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    responses={
        200: {
            "description": "The metrics in the Prometheus text format (version 0.0.4)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    dependencies=[Depends(_metrics_access)],
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route template and status, their seconds, planner jobs
    by state, solver runs and seconds, the hotline's search seconds and the build. Needs an
    admin token unless ``DISPATCH_METRICS_PUBLIC`` is true (a scraper without a token)."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=METRICS_CONTENT_TYPE)


# --- logging -----------------------------------------------------------------------------------

#: The loggers whose records are JSON lines with ``DISPATCH_LOG_FORMAT=json``.
_JSON_LOGGERS = ("api", "dispatch", "solver", "uvicorn.access", "uvicorn.error")


class _JsonHandler(logging.StreamHandler):
    """The JSON line handler this module installs (found again and replaced on the next app)."""

    def __init__(self, propagate: bool, replaced: list[logging.Handler]) -> None:
        super().__init__(sys.stderr)
        self.previous_propagate = propagate
        self.replaced = replaced
        self.setFormatter(JsonFormatter())
        self.addFilter(RedactingFilter())


def configure_logging(settings: Settings) -> None:
    """Levels and redaction of the service's loggers; with ``log_format`` ``json`` one JSON
    handler on each of :data:`_JSON_LOGGERS` (uvicorn's own handlers set aside, so no line is
    written twice), with ``text`` the loggers as they were."""
    level = logging.DEBUG if settings.log_level == "trace" else settings.log_level.upper()
    for name in ("api", "dispatch", "solver"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    for name in _JSON_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _JsonHandler)]:
            logger.removeHandler(old)
            logger.propagate = old.previous_propagate
            for handler in old.replaced:
                logger.addHandler(handler)
        if settings.log_format != "json":
            continue
        replaced = list(logger.handlers) if name.startswith("uvicorn") else []
        for handler in replaced:
            logger.removeHandler(handler)
        logger.addHandler(_JsonHandler(logger.propagate, replaced))
        logger.propagate = False


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new application; ``settings`` defaults to :meth:`Settings.from_env`.

    Raises :class:`api.settings.SettingsError` when the environment holds invalid values.
    """
    settings = Settings.from_env() if settings is None else settings
    configure_logging(settings)
    app = FastAPI(
        title="Eldercare dispatch · 居家养老上门服务调度",
        version=VERSION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        responses={422: {"model": ErrorResponse, "description": "Invalid input"}},
        lifespan=_lifespan,
    )
    app.state.settings = settings
    configure_travel(settings.travel_cache)
    app.state.database = Database(settings.database_url)
    app.state.metrics = Metrics(app.state.database, VERSION)
    app.state.jobs = JobRunner(app.state.database, on_solved=app.state.metrics.solved)
    app.state.batches = BatchRunner(
        app.state.database,
        app.state.jobs,
        engine=EngineSettings(
            kind=settings.batch_engine, workers=settings.batch_workers, address=settings.ray_address
        ),
        on_solved=app.state.metrics.solved,
    )
    app.state.warm = threading.Event()
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DocumentError, _on_document_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_middleware(AdmissionMiddleware, limit=settings.worker_threads)
    app.add_middleware(GuardMiddleware)
    # Outermost: every answer, a 413 of the guard included, is counted and carries its id.
    app.add_middleware(ObserveMiddleware, metrics=app.state.metrics)
    app.include_router(router)
    app.include_router(metrics_router)
    for module in (
        token_routes,
        scenario_routes,
        master_routes,
        plans_routes,
        batch_routes,
        hotline_routes,
        work_order_routes,
        circle_routes,
        settlement_routes,
        visit_routes,
        lookup_routes,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web_routes.router)
    app.openapi = _openapi_with_statuses(app)  # type: ignore[method-assign]
    return app


app = create_app()
