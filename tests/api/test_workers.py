"""Two server processes (``uvicorn --workers 2``) started at once on one new SQLite database:
they start one after the other, so one of them makes the data key, migrates, makes the admin
token and queues the demo's plan, and the other finds them made.

Runs a real ``uvicorn`` of this source tree on a SQLite file under the test's folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.server import ROOT, free_port


def test_two_workers_start_once_on_one_new_database(tmp_path: Path) -> None:
    database = tmp_path / "two.sqlite3"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")},
        "DISPATCH_DATABASE_URL": f"sqlite:///{database}",
        "DISPATCH_LOAD_DEMO": "true",
        "DISPATCH_LOG_LEVEL": "warning",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "api.app:app", "--workers", "2"),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            deadline = time.monotonic() + 90
            token = None
            while token is None:
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                assert process.poll() is None, log.read_text(errors="replace")
                found = re.search(r"admin token \(shown once\): (\S+)", log.read_text())
                token = found.group(1) if found else None
                time.sleep(0.2)
            headers = {"Authorization": f"Bearer {token}"}
            published = False
            while not published:
                assert time.monotonic() < deadline, "the demo's plan was never published"
                assert process.poll() is None, log.read_text(errors="replace")
                try:
                    # New connections, so both processes answer in turn.
                    answer = httpx.get(f"{base}/plans", headers=headers, timeout=10)
                    published = answer.status_code == 200 and any(
                        p["status"] == "published" for p in answer.json()
                    )
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            for _ in range(10):  # each process knows the one token and answers
                assert httpx.get(f"{base}/plans", headers=headers, timeout=10).status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    text_of_log = log.read_text(errors="replace")
    assert text_of_log.count("admin token (shown once)") == 1, text_of_log
    assert "Traceback" not in text_of_log, text_of_log
    assert (tmp_path / "two.sqlite3.key").exists()
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        jobs = connection.execute(
            text("SELECT count(*) FROM plans WHERE created_by = 'start-up'")
        ).scalar_one()
        tokens = connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    engine.dispose()
    assert (jobs, tokens) == (1, 1)


def test_the_server_of_several_processes_serves_and_stops_whole(tmp_path: Path) -> None:
    """``python -m api.serve --workers 2``: each process with a socket of its own on one port;
    many new connections are all answered; SIGTERM stops every process."""
    import signal

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")},
        "DISPATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "DISPATCH_LOAD_DEMO": "false",
        "DISPATCH_ADMIN_TOKEN": "serve-test-admin-token-0123456789",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 90
        answered = 0
        while answered < 40:
            assert time.monotonic() < deadline, "the server did not answer in time"
            assert process.poll() is None, "the server stopped"
            try:
                answered += httpx.get(f"{base}/health", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with socket.socket() as s:  # nothing listens any more: the port is free again
        s.bind(("127.0.0.1", port))
