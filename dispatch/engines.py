"""Where independent solves run (计算引擎): a process pool on this machine, or a Ray cluster.

A batch's variants and a city's station groups are independent tasks. :func:`open_engine`
gives an :class:`Engine` for an :class:`EngineSettings`:

- ``local`` (the default): a pool of ``workers`` processes on this machine (``spawn``, so a
  worker starts clean whatever threads the caller runs), nothing else to install or start.
- ``ray``: ``ray.init()`` starts a local Ray cluster of ``workers`` CPUs, or joins the cluster
  at ``address``. Ray is an optional extra (``pip install 'eldercare-dispatch[ray]'``); without
  it :class:`EngineUnavailable` says so in one line.

Tasks receive plain, picklable data and build their models inside the worker (OR-Tools models
cannot be pickled); a worker process serves many tasks, so the router's compiled searches are
compiled once per worker, not per task. A task that raises, or whose worker dies, is run once
more; a second failure is that task's :class:`TaskResult` with its ``error``, and the other
tasks go on. A task reports progress by calling the ``report`` it is given with any picklable
value; :meth:`Engine.run` hands the reports to ``on_report`` in the caller's thread as they
arrive. Setting ``cancel`` stops the tasks not yet finished (their results never come).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "RAY_INSTALL_HINT",
    "Engine",
    "EngineSettings",
    "EngineUnavailable",
    "LocalEngine",
    "RayEngine",
    "Reporter",
    "TaskResult",
    "open_engine",
]

EngineKind = Literal["local", "ray"]

RAY_INSTALL_HINT = (
    "--engine ray needs Ray: pip install 'eldercare-dispatch[ray]' "
    "(or: .venv/bin/pip install 'ray>=2.9')"
)

#: Runs of a task: the first and one retry.
ATTEMPTS = 2
#: Seconds between two looks at the report queue while tasks run.
_POLL = 0.05


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here (Ray not installed, a cluster that does not
    answer); the message is one line saying what to do."""


@dataclass(frozen=True)
class EngineSettings:
    """``kind`` ``local`` or ``ray``; ``workers`` processes (local) or CPUs of the local Ray
    cluster (default: this machine's CPUs); ``address`` of a Ray cluster to join instead of
    starting one (``ray`` only)."""

    kind: EngineKind = "local"
    workers: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise ValueError(f"engine: must be 'local' or 'ray', got {self.kind!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers: must be at least 1, got {self.workers}")
        if self.address is not None and self.kind != "ray":
            raise ValueError("address: only the ray engine joins a cluster")

    @property
    def size(self) -> int:
        """The number of tasks run at once."""
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class TaskResult:
    """The end of one task: its ``key``, the ``value`` it returned, or the ``error`` (a line)
    of its last failed run; how many runs it took and the seconds from its first start."""

    key: str
    value: Any = None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Reporter:
    """What a task calls to report progress: puts ``(key, value)`` on a queue the caller
    drains (a manager's queue for the local pool, a Ray queue actor for Ray). Picklable."""

    def __init__(self, key: str, sink: Any) -> None:
        self.key = key
        self.sink = sink

    def __call__(self, value: Any) -> None:
        # A lost report never fails the task.
        with contextlib.suppress(Exception):
            self.sink.put((self.key, value))

    def started(self) -> None:
        """Tell the caller a run of the task has started (counted as an attempt)."""
        self(STARTED)


#: The report a task's run makes as it starts: :meth:`Engine.run` counts runs by it and hands
#: it on to ``on_report`` (a variant that is running, not only queued).
STARTED = "__started__"


TaskFn = Callable[[Any, Reporter], Any]


class Engine(Protocol):
    settings: EngineSettings

    def run(
        self,
        fn: TaskFn,
        items: Mapping[str, Any],
        *,
        on_report: Callable[[str, Any], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TaskResult]:
        """Run ``fn(item, report)`` for every item, yielding results as tasks finish."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


def open_engine(settings: EngineSettings | None = None) -> Engine:
    """The engine ``settings`` asks for (default: the local pool). Raises
    :class:`EngineUnavailable` when Ray is asked for and cannot be used."""
    settings = settings or EngineSettings()
    if settings.kind == "ray":
        return RayEngine(settings)
    return LocalEngine(settings)


def _line(exc: BaseException) -> str:
    if isinstance(exc, TaskFailed):
        return exc.line
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _drain(sink: Any, on_report: Callable[[str, Any], None] | None) -> None:
    while True:
        try:
            key, value = sink.get_nowait() if hasattr(sink, "get_nowait") else sink.get(False)
        except (queue_module.Empty, Exception):
            return
        if on_report is not None:
            on_report(key, value)


class TaskFailed(Exception):
    """A task's failure as it crosses back from a worker process: the error's line, and its
    traceback for the log."""

    def __init__(self, line: str, trace: str = "") -> None:
        super().__init__(line, trace)
        self.line = line
        self.trace = trace

    def __str__(self) -> str:
        return self.line


def _in_worker(fn: TaskFn, item: Any, reporter: Reporter) -> Any:
    """A task in a pool process."""
    reporter.started()
    try:
        return fn(item, reporter)
    except Exception as exc:
        raise TaskFailed(_line(exc), traceback.format_exc()) from None


class LocalEngine:
    """A pool of ``settings.size`` spawned processes on this machine."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._manager: Any = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(max_workers=self.settings.size, mp_context=self._context)
        return self._pool

    def _sink(self) -> Any:
        if self._manager is None:
            self._manager = self._context.Manager()
        return self._manager.Queue()

    def run(
        self,
        fn: TaskFn,
        items: Mapping[str, Any],
        *,
        on_report: Callable[[str, Any], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TaskResult]:
        sink = self._sink()
        pool = self._pool or self._new_pool()
        attempts = dict.fromkeys(items, 0)
        started: dict[str, float] = {}
        running: dict[Future[Any], str] = {}

        def submit(key: str) -> None:
            attempts[key] += 1
            started.setdefault(key, time.perf_counter())
            running[pool.submit(_in_worker, fn, items[key], Reporter(key, sink))] = key

        for key in items:
            submit(key)
        try:
            while running:
                if cancel is not None and cancel.is_set():
                    self._stop()
                    return
                done, _ = wait(list(running), timeout=_POLL, return_when=FIRST_COMPLETED)
                _drain(sink, on_report)
                broken: list[str] = []
                for future in done:
                    key = running.pop(future)
                    seconds = time.perf_counter() - started[key]
                    try:
                        value = future.result()
                    except BrokenProcessPool:
                        broken.append(key)
                        continue
                    except Exception as exc:
                        if attempts[key] < ATTEMPTS:
                            submit(key)
                            continue
                        yield TaskResult(
                            key, error=_line(exc), attempts=attempts[key], seconds=seconds
                        )
                        continue
                    yield TaskResult(key, value, attempts=attempts[key], seconds=seconds)
                if broken:
                    # A worker died: the pool is unusable. Every task it still held runs
                    # again in a new pool; the ones that were running count a failed run.
                    lost = broken + list(running.values())
                    running.clear()
                    pool = self._new_pool()
                    for key in lost:
                        if attempts[key] < ATTEMPTS:
                            submit(key)
                        else:
                            yield TaskResult(
                                key,
                                error="its worker process died / 工作进程退出",
                                attempts=attempts[key],
                                seconds=time.perf_counter() - started[key],
                            )
            _drain(sink, on_report)
        finally:
            if running:
                self._stop()

    def _stop(self) -> None:
        """Stop every task now: the pool's processes are ended, a new pool serves next runs."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(RAY_INSTALL_HINT) from None
    return ray


class RayEngine:
    """Tasks on a Ray cluster: a local one of ``settings.size`` CPUs started by this engine
    (and stopped by :meth:`close`), or the one at ``settings.address``. Ray retries a task
    whose worker died or that raised, once."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._ray = _ray()
        self._started = False
        if not self._ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if settings.address:
                kwargs["address"] = settings.address
            else:
                kwargs["num_cpus"] = settings.size
            try:
                self._ray.init(**kwargs)
            except Exception as exc:
                raise EngineUnavailable(
                    f"ray: could not start or join a cluster: {_line(exc)}"
                ) from None
            self._started = True
        self._remote = self._ray.remote(
            num_cpus=1, max_retries=ATTEMPTS - 1, retry_exceptions=True
        )(_in_ray)

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        fn: TaskFn,
        items: Mapping[str, Any],
        *,
        on_report: Callable[[str, Any], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TaskResult]:
        ray = self._ray
        from ray.util.queue import Queue

        sink = Queue(actor_options={"num_cpus": 0})
        started = time.perf_counter()
        runs = dict.fromkeys(items, 0)
        counted = _counting(runs, on_report)
        refs = {self._remote.remote(fn, items[key], Reporter(key, sink)): key for key in items}
        try:
            while refs:
                if cancel is not None and cancel.is_set():
                    for ref in refs:
                        ray.cancel(ref, force=True)
                    refs.clear()
                    return
                done, _ = ray.wait(list(refs), num_returns=1, timeout=_POLL)
                _drain_ray(sink, counted)
                for ref in done:
                    key = refs.pop(ref)
                    seconds = time.perf_counter() - started
                    _drain_ray(sink, counted)
                    try:
                        value = ray.get(ref)
                    except Exception as exc:
                        yield TaskResult(
                            key, error=_ray_error(exc), attempts=runs[key], seconds=seconds
                        )
                        continue
                    yield TaskResult(key, value, attempts=runs[key], seconds=seconds)
            _drain_ray(sink, counted)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)
            with contextlib.suppress(Exception):
                ray.kill(sink.actor)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


def _counting(
    runs: dict[str, int], on_report: Callable[[str, Any], None] | None
) -> Callable[[str, Any], None]:
    """``on_report`` that also counts the runs of each task by their :data:`STARTED` reports."""

    def seen(key: str, value: Any) -> None:
        if value == STARTED and key in runs:
            runs[key] += 1
        if on_report is not None:
            on_report(key, value)

    return seen


def _drain_ray(sink: Any, on_report: Callable[[str, Any], None] | None) -> None:
    for key, value in sink.get_nowait_batch(sink.qsize()) if sink.qsize() else ():
        if on_report is not None:
            on_report(key, value)


def _in_ray(fn: TaskFn, item: Any, reporter: Reporter) -> Any:
    """A task on a Ray worker."""
    reporter.started()
    return fn(item, reporter)


def _ray_error(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None:
        return _line(cause)
    name = type(exc).__name__
    if "WorkerCrashed" in name or "Died" in name or "ObjectLost" in name:
        return "its Ray worker died / Ray 工作进程退出"
    return _line(exc)
