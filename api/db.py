"""Database access: one :class:`Database` per app, Alembic migrations run at start.

SQLite (a file, the embedded default) and PostgreSQL (``postgresql+psycopg://...``) are
supported. Sessions are plain SQLAlchemy 2 sessions; services commit their own transactions.

Connections and threads: synchronous handlers run in AnyIO's worker threads, at most
``worker_threads`` at once (``api/settings.py``); the pool holds that many connections plus as
many again for requests between their handler and their session's close, so a burst of
clients waits for a thread (back-pressure) and never for a connection. SQLite runs in WAL mode
with a busy timeout: concurrent writers wait for the lock instead of failing "database is
locked", and readers never wait for a writer; ``synchronous=NORMAL`` (SQLite's advice for WAL)
lets a commit return without waiting for fsync: a crash of the process (kill -9) loses nothing,
a power loss may lose the last commits, never the database.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from api.crypto import DataCipher, attach, load_key

__all__ = ["DEFAULT_CONNECTIONS", "MIGRATIONS_DIR", "Database", "alembic_config", "normalise_url"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Connections of a :class:`Database` made without ``connections`` (``Settings.worker_threads``).
DEFAULT_CONNECTIONS = 32
#: Connections beyond the request threads: the planner's worker, the batch runner's and their
#: heartbeat.
_BACKGROUND_CONNECTIONS = 4
#: The PostgreSQL advisory lock of :meth:`Database.startup_lock` (any fixed number).
_STARTUP_ADVISORY_KEY = 7_349_120_612
_memory_startup = threading.Lock()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes (``flock``; a platform without it,
    Windows, runs one server process and needs none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def alembic_config(url: str | None = None) -> Config:
    """A programmatic Alembic configuration for ``api/migrations`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class _SqlitePragmas:
    """Set on every new SQLite connection: foreign keys, WAL and the busy timeout."""

    def __init__(self, busy_timeout_ms: int) -> None:
        self.busy_timeout_ms = busy_timeout_ms

    def __call__(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL: every commit survives a crash of the process; only a
        # power loss may lose the last ones (no corruption). Commits no longer wait for fsync.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class Database:
    """An engine and a session factory for one database URL.

    ``connections`` is how many requests may use the database at once (the worker threads);
    the pool holds that many, twice over for requests finishing, and waits up to
    ``pool_timeout`` seconds for one. ``busy_timeout_ms`` is how long a SQLite writer waits
    for the lock. Creating it does not connect; :meth:`migrate` creates the SQLite file's
    folder and brings the schema to the newest Alembic revision.
    """

    def __init__(
        self,
        url: str,
        *,
        connections: int = DEFAULT_CONNECTIONS,
        pool_timeout: float = 60.0,
        busy_timeout_ms: int = 30000,
    ) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.cipher: DataCipher | None = None
        self.engine: Engine = self._engine(connections, pool_timeout, busy_timeout_ms)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _engine(self, connections: int, pool_timeout: float, busy_timeout_ms: int) -> Engine:
        options: dict[str, Any] = {}
        size = connections + _BACKGROUND_CONNECTIONS
        memory = self.is_sqlite and make_url(self.url).database in (None, "", ":memory:")
        if self.is_sqlite:
            # TestClient and uvicorn's thread pool use the connection from other threads.
            options["connect_args"] = {
                "check_same_thread": False,
                "timeout": busy_timeout_ms / 1000.0,
            }
        if memory:
            # One in-memory database is one connection; every thread shares it.
            options["poolclass"] = StaticPool
        else:
            options.update(
                poolclass=QueuePool,
                pool_size=size,
                max_overflow=connections,
                pool_timeout=pool_timeout,
            )
        engine = create_engine(self.url, pool_pre_ping=not self.is_sqlite, **options)
        if self.is_sqlite:
            event.listen(engine, "connect", _SqlitePragmas(busy_timeout_ms))
        if self.cipher is not None:
            attach(engine.dialect, self.cipher)
        return engine

    def use_data_key(self, configured: str | None) -> None:
        """Encrypt and decrypt sensitive columns with the key ``configured``, else with the
        key kept beside the database (made when absent; see :func:`api.crypto.load_key`)."""
        self._sqlite_folder()
        self.cipher = DataCipher(load_key(self.url, configured))
        attach(self.engine.dialect, self.cipher)

    def size_pool(
        self, connections: int, *, pool_timeout: float = 60.0, busy_timeout_ms: int = 30000
    ) -> None:
        """Size the pool for ``connections`` request threads (see the class); call it before
        the first connection, at start-up."""
        self.engine.dispose()
        self.engine = self._engine(connections, pool_timeout, busy_timeout_ms)
        self.sessions.configure(bind=self.engine)

    def _sqlite_folder(self) -> None:
        database = make_url(self.url).database
        if self.is_sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Held by one server process at a time while it starts (data key, migrations, admin
        token, demo): ``uvicorn --workers N`` starts N processes on one database at once.

        A SQLite file is locked through a lock file beside it; PostgreSQL through an advisory
        lock (which also holds between machines), and a lock file in the temporary folder for
        the key file and the processes of this machine; an in-memory database has one process.
        """
        parsed = make_url(self.url)
        database = parsed.database
        if self.is_sqlite and database and database != ":memory:":
            self._sqlite_folder()
            with _file_lock(Path(database + ".lock")):
                yield
            return
        if self.is_sqlite:
            with _memory_startup:
                yield
            return
        name = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:16]
        lock = {"k": _STARTUP_ADVISORY_KEY}
        with (
            _file_lock(Path(tempfile.gettempdir()) / f"dispatch-startup-{name}.lock"),
            self.engine.connect() as connection,
        ):
            connection.execute(text("SELECT pg_advisory_lock(:k)"), lock)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
                connection.commit()

    def migrate(self) -> None:
        """Run ``alembic upgrade head`` on this database."""
        self._sqlite_folder()
        config = alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that is closed (and rolled back if uncommitted) on exit."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
