"""A real server of this source tree for benchmarks and browser tests: ``python -m api.serve``
(the app on uvicorn, each worker process with a socket of its own) on a free port of
``127.0.0.1`` (loopback only), a database of the caller's, no demo loaded, stopped on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["ROOT", "LoopbackServer", "free_port"]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port of the loopback interface nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackServer:
    """``uvicorn api.app:app`` with ``workers`` processes on ``database_url``, the admin token
    ``admin_token``, ``env`` over the environment, its output into ``log`` (else inherited).
    ``base`` is its address; :meth:`wait` blocks until it answers."""

    def __init__(
        self,
        database_url: str,
        *,
        admin_token: str,
        workers: int = 1,
        log: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "DISPATCH_DATABASE_URL": database_url,
            "DISPATCH_ADMIN_TOKEN": admin_token,
            "DISPATCH_LOAD_DEMO": "false",
            "DISPATCH_LOG_LEVEL": "warning",
            **(env or {}),
        }
        command = [sys.executable, "-m", "api.serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(workers), "--log-level", "warning"]
        self._log = log.open("ab") if log is not None else None
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log is not None else None,
        )

    def wait(self, timeout: float = 120.0, *, warm: bool = False) -> None:
        """Block until ``/health`` answers (with ``warm``: until 20 answers in a row, on new
        connections served by any of the processes, say the routing engine is compiled, so
        that a measurement does not run beside the compiling). Raises ``RuntimeError`` when
        the server stops or does not answer in time."""
        deadline = time.monotonic() + timeout
        ready = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped while starting ({self.process.returncode})")
            try:
                answer = httpx.get(f"{self.base}/api/v1/health", timeout=1.0)
                up = answer.status_code == 200 and (not warm or answer.json()["warm"])
            except httpx.HTTPError:
                up = False
            ready = ready + 1 if up else 0
            if ready >= (20 if warm else 1):
                return
            time.sleep(0.1 if warm else 0.05)
        raise RuntimeError("the server did not answer in time")

    def stop(self) -> None:
        """Terminate the server (kill it when it does not stop within 15 seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
