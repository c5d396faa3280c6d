"""Where independent solves run (计算引擎): a process pool on this machine, or a Ray cluster.

A batch's variants and a city's station groups are independent tasks. :func:`open_engine`
gives an :class:`Engine` for an :class:`EngineSettings`:

- ``local`` (the default): a pool of ``workers`` processes on this machine (``spawn``, so a
  worker starts clean whatever threads the caller runs), nothing else to install or start.
- ``ray``: ``ray.init()`` starts a local Ray cluster of ``workers`` CPUs, or joins the cluster
  at ``address`` (``auto``: the one ``RAY_ADDRESS`` or ``ray start`` on this machine names).
  Ray is an optional extra (``pip install 'eldercare-dispatch[ray]'``); without it
  :class:`EngineUnavailable` says so in one line.

Tasks receive plain, picklable data and build their models inside the worker (OR-Tools models
cannot be pickled); a worker process serves many tasks, so the router's compiled searches are
compiled once per worker, not per task. A task that raises, or whose worker dies, is run once
more; a second failure is that task's :class:`TaskResult` with its ``error``, and the other
tasks go on. When a local worker dies the whole pool is replaced (``concurrent.futures``
cannot replace one worker): only the task whose worker died is charged a failed run, the
others it held run again uncharged. A result's ``attempts`` counts the runs that started.

A task reports progress by calling the ``report`` it is given with any picklable value;
:meth:`Engine.run` hands the reports to ``on_report`` in the caller's thread as they arrive,
each task's in the order it made them and all of them before its result (a run's start is
reported as :data:`STARTED`). Setting ``cancel`` stops the tasks not yet finished: their
processes are ended and their results never come. Leaving the loop over :meth:`Engine.run`
early does the same.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from typing import Any, Literal, Protocol

__all__ = [
    "RAY_INSTALL_HINT",
    "Engine",
    "EngineKind",
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
#: Seconds between two looks at a Ray run's reports and cancel event while no task ends.
_RAY_POLL = 0.5


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
        """The number of tasks run at once: ``workers``, else the CPUs this process may use."""
        if self.workers:
            return self.workers
        affinity = getattr(os, "sched_getaffinity", None)
        return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@dataclass(frozen=True)
class TaskResult:
    """The end of one task: its ``key``, the ``value`` it returned, or the ``error`` (a line)
    of its last failed run; how many runs it took (counted by their start reports: on Ray,
    whose reports travel without waiting, a run killed in its first moments may go
    uncounted) and the seconds from its first start (as the caller saw it, to ~0.05 s)."""

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
    drains (a manager's queue for the local pool, a report actor for Ray). Picklable."""

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
        """Run ``fn(item, report)`` for every item (keyed by its name), yielding one
        :class:`TaskResult` per task as tasks finish. ``fn`` must be importable by name in a
        worker (a module-level function) for the local pool."""
        ...

    def close(self) -> None:
        """Release the engine's processes (or the Ray cluster it started)."""
        ...

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
    """An error as one line: ``Type: first line of its message``."""
    if isinstance(exc, TaskFailed):
        return exc.line
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _start(reporter: Reporter) -> None:
    """Report a run's start with the worker's process id (the local pool finds by it the task
    whose worker died). Plain values only: Ray's report actor unpickles what it holds, and
    need not import this module to do so."""
    with contextlib.suppress(Exception):
        reporter.sink.put((reporter.key, (STARTED, os.getpid())))


def _started_pid(value: Any) -> int | None:
    """The process id of a start report made by :func:`_start`, else ``None``."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == STARTED:
        pid = value[1]
        return pid if isinstance(pid, int) else None
    return None


class _Tasks:
    """What :meth:`Engine.run` knows of its tasks while they run: runs started (by their
    start reports), failed runs, when the first run started and the process of the last."""

    def __init__(self, keys: Iterator[str], on_report: Callable[[str, Any], None] | None):
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.first: dict[str, float] = {}
        self.pid: dict[str, int] = {}
        for key in keys:
            self.runs[key] = self.failures[key] = 0
        self.on_report = on_report

    def seen(self, key: str, value: Any) -> None:
        """A report from a task: start reports are counted (and passed on as STARTED)."""
        if key not in self.runs:
            return
        pid = _started_pid(value)
        if pid is not None or value == STARTED:
            self.runs[key] += 1
            self.first.setdefault(key, time.perf_counter())
            if pid is not None:
                self.pid[key] = pid
            value = STARTED
        if self.on_report is not None:
            self.on_report(key, value)

    def seconds(self, key: str) -> float:
        first = self.first.get(key)
        return round(time.perf_counter() - first, 3) if first is not None else 0.0

    def result(self, key: str, value: Any = None, error: str | None = None) -> TaskResult:
        attempts = max(1, self.runs[key])
        return TaskResult(key, value, error, attempts=attempts, seconds=self.seconds(key))


def _drain(sink: Any, on_report: Callable[[str, Any], None] | None) -> None:
    """Hand every report waiting in ``sink`` to ``on_report``; a queue that is gone (its
    manager ended) has nothing more to hand."""
    while True:
        try:
            key, value = sink.get_nowait() if hasattr(sink, "get_nowait") else sink.get(False)
        except queue_module.Empty:
            return
        except (OSError, EOFError, ValueError):  # the manager is gone: reports are lost
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
    _start(reporter)
    try:
        return fn(item, reporter)
    except Exception as exc:
        raise TaskFailed(_line(exc), traceback.format_exc()) from None


def _ignore_interrupt() -> None:
    """Pool workers and the report manager leave Ctrl-C to the caller, which stops them: a
    worker interrupted mid-solve would only print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: What a worker that died of :meth:`LocalEngine._stop` or of a broken pool's clean-up ends
#: with; any other end (a crash, ``os._exit``, the OOM killer's SIGKILL) makes it the culprit.
_TERMINATED = -signal.SIGTERM
_DIED = "its worker process died / 工作进程退出"


class LocalEngine:
    """A pool of ``settings.size`` spawned processes on this machine, and a manager process
    that carries the tasks' reports (started with the first run, ended by :meth:`close`)."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._manager: SyncManager | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(
            max_workers=self.settings.size,
            mp_context=self._context,
            initializer=_ignore_interrupt,
        )
        return self._pool

    def _sink(self) -> Any:
        """A new report queue in the manager; a manager that died is started again."""
        if self._manager is not None:
            try:
                return self._manager.Queue()
            except (OSError, EOFError):
                with contextlib.suppress(Exception):
                    self._manager.shutdown()
                self._manager = None
        manager = SyncManager(ctx=self._context)
        manager.start(_ignore_interrupt)
        self._manager = manager
        return manager.Queue()

    def run(
        self,
        fn: TaskFn,
        items: Mapping[str, Any],
        *,
        on_report: Callable[[str, Any], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TaskResult]:
        sink = self._sink()
        tasks = _Tasks(iter(items), on_report)
        running: dict[Future[Any], str] = {}
        queued: list[str] = list(items)
        try:
            while queued or running:
                if cancel is not None and cancel.is_set():
                    return
                broken = False
                if queued:
                    pool = self._pool or self._new_pool()
                    while queued and not broken:
                        key = queued[0]
                        try:
                            future = pool.submit(_in_worker, fn, items[key], Reporter(key, sink))
                        except BrokenProcessPool:  # a worker died since the last look
                            broken = True
                        else:
                            running[future] = queued.pop(0)
                done, _ = wait(list(running), timeout=_POLL, return_when=FIRST_COMPLETED)
                _drain(sink, tasks.seen)
                lost: list[str] = []
                for future in done:
                    key = running.pop(future)
                    exc = future.exception()
                    if exc is None:
                        yield tasks.result(key, future.result())
                    elif isinstance(exc, BrokenProcessPool):
                        lost.append(key)
                    else:
                        tasks.failures[key] += 1
                        if tasks.failures[key] < ATTEMPTS:
                            queued.append(key)
                        else:
                            yield tasks.result(key, error=_line(exc))
                if lost or broken:
                    yield from self._recover(lost, running, tasks, sink, queued)
            _drain(sink, tasks.seen)
        finally:
            if running or queued:
                self._stop()

    def _recover(
        self,
        lost: list[str],
        running: dict[Future[Any], str],
        tasks: _Tasks,
        sink: Any,
        queued: list[str],
    ) -> Iterator[TaskResult]:
        """A worker died and the pool is broken: the results that came before the break are
        kept, the task whose worker died is charged a failed run, and every lost task runs
        again in a new pool (or, after its second failure, ends with an error)."""
        # A broken pool fails all its futures at once; those that finished first keep results.
        wait(list(running), timeout=5)
        for future, key in list(running.items()):
            if future.done() and future.exception() is None:
                yield tasks.result(key, future.result())
            else:
                lost.append(key)
        running.clear()
        _drain(sink, tasks.seen)
        dead = self._dead_workers()
        started = [key for key in lost if tasks.runs[key] > tasks.failures[key]]
        culprits = [key for key in started if tasks.pid.get(key) in dead]
        # Without a culprit in sight (its process already gone), every started task is charged.
        for key in culprits or started:
            tasks.failures[key] += 1
        self._stop()
        for key in lost:
            if tasks.failures[key] < ATTEMPTS:
                queued.append(key)
            else:
                yield tasks.result(key, error=_DIED)

    def _dead_workers(self) -> set[int]:
        """Process ids of the pool's workers that ended on their own (not terminated)."""
        processes = dict(getattr(self._pool, "_processes", None) or {})
        return {
            pid
            for pid, p in processes.items()
            if p.exitcode is not None and p.exitcode != _TERMINATED
        }

    def _stop(self) -> None:
        """Stop every task now: the pool's processes are ended, a new pool serves next runs."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)

    def close(self) -> None:
        """End the pool (waiting for nothing: :meth:`run` leaves no task running) and the
        report manager."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._manager is not None:
            with contextlib.suppress(Exception):
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
    (and stopped by :meth:`close`), or the one at ``settings.address``. When this process is
    connected to Ray already (``ray.init`` called before), that connection is used as it is
    and left open. Ray runs a task whose worker died or that raised once more."""

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
                # "local": a cluster of our own even when RAY_ADDRESS or a `ray start` on this
                # machine names another (joining one is --address's work, and num_cpus would
                # be refused there).
                kwargs["address"] = "local"
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
        box = _report_box(ray).remote()
        tasks = _Tasks(iter(items), on_report)
        refs = {
            self._remote.remote(fn, items[key], Reporter(key, _RaySink(box))): key for key in items
        }
        try:
            while refs:
                if cancel is not None and cancel.is_set():
                    return
                # Wait for the first to finish, a while at most: every look costs the
                # driver, Ray and the report actor processor time the tasks could use.
                done, _ = ray.wait(list(refs), num_returns=1, timeout=_RAY_POLL)
                # A task puts its reports before it returns: drained now, they come before
                # its result.
                _drain_ray(ray, box, tasks.seen)
                for ref in done:
                    key = refs.pop(ref)
                    try:
                        value = ray.get(ref)
                    except Exception as exc:
                        yield tasks.result(key, error=_ray_error(exc))
                        continue
                    yield tasks.result(key, value)
            _drain_ray(ray, box, tasks.seen)
        finally:
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            with contextlib.suppress(Exception):
                ray.kill(box)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


def _report_box(ray: Any) -> Any:
    """The Ray actor class that holds a run's reports until the caller takes them. A plain
    (synchronous) actor runs one caller's calls in the order they were made, so each task's
    reports stay in order (Ray's queue is an asyncio actor, which does not promise that). The
    class is made here so that Ray sends it by value: the actor's process needs nothing of
    this project."""

    class ReportBox:
        def __init__(self) -> None:
            self.items: list[Any] = []

        def put(self, item: Any) -> None:
            self.items.append(item)

        def take(self) -> list[Any]:
            items, self.items = self.items, []
            return items

    return ray.remote(num_cpus=0)(ReportBox)


class _RaySink:
    """Where a Ray task's reports go: the report box, without waiting for it. A task that
    waited (``ray.get``) would hand its CPU back to Ray for the wait, and Ray would start
    another task on it: more tasks at once than ``workers``. :meth:`flush` at the task's end
    waits for the last report, and with it for all before (the box runs them in order), so
    that every report is in the box before the result is."""

    def __init__(self, box: Any) -> None:
        self.box = box
        self._last: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"box": self.box, "_last": None}

    def put(self, item: Any) -> None:
        self._last = self.box.put.remote(item)

    def flush(self) -> None:
        last, self._last = self._last, None
        if last is not None:
            import ray

            with contextlib.suppress(Exception):
                ray.get(last, timeout=30)


def _drain_ray(ray: Any, box: Any, on_report: Callable[[str, Any], None] | None) -> None:
    """Hand the reports waiting in the box to ``on_report`` (none when the box's actor is
    gone: its reports are lost, the results are not)."""
    try:
        items = ray.get(box.take.remote(), timeout=30)
    except Exception:
        return
    for key, value in items:
        if on_report is not None:
            on_report(key, value)


def _in_ray(fn: TaskFn, item: Any, reporter: Reporter) -> Any:
    """A task on a Ray worker."""
    _start(reporter)
    try:
        return fn(item, reporter)
    finally:
        if isinstance(reporter.sink, _RaySink):
            reporter.sink.flush()


def _ray_error(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None:
        return _line(cause)
    name = type(exc).__name__
    if "WorkerCrashed" in name or "Died" in name or "ObjectLost" in name:
        return "its Ray worker died / Ray 工作进程退出"
    return _line(exc)
