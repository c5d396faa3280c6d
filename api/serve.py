"""Serve the app with one or more processes: ``python -m api.serve --workers N``.

``uvicorn --workers N`` shares one listening socket between its processes, and the kernel
hands a new connection to whichever process is woken first: under a burst of clients one
process may hold most of the connections while the other idles. Here each process opens a
socket of its own on the same address with ``SO_REUSEPORT``, and the kernel spreads the
connections over them evenly. The processes start one at a time where it matters
(:meth:`api.db.Database.startup_lock`). With one worker this is plain ``uvicorn``; on a
platform without ``SO_REUSEPORT`` several workers fall back to ``uvicorn --workers``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn

__all__ = ["main"]

_APP = "api.app:app"


def _serve(host: str, port: int, log_level: str) -> None:
    """One worker: its own socket on ``host:port`` (``SO_REUSEPORT``), the app on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(_APP, log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: Sequence[str] | None = None) -> int:
    """Run until stopped (SIGTERM or SIGINT stop every worker: exit status 0) or until a
    worker ends by itself (the others are stopped: exit status 1)."""
    parser = argparse.ArgumentParser(prog="python -m api.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            _APP,
            host=args.host,
            port=args.port,
            workers=max(1, args.workers),
            log_level=args.log_level,
        )
        return 0
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(target=_serve, args=(args.host, args.port, args.log_level))
        for _ in range(args.workers)
    ]

    asked: list[int] = []

    def stop(number: int, _frame: FrameType | None) -> None:
        asked.append(number)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.start()
    # One worker ending (a crash, or a stop) ends the others: the service runs whole or not.
    while all(worker.is_alive() for worker in workers):
        workers[0].join(timeout=0.5)
    crashed = [w.exitcode for w in workers if not w.is_alive() and w.exitcode] if not asked else []
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=15)
        if worker.is_alive():
            worker.kill()
    # Stopped on request: 0 (uvicorn ends its workers by the signal they were sent).
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
