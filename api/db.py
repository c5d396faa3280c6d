"""Database access: one :class:`Database` per app, Alembic migrations run at start.

SQLite (a file, the embedded default) and PostgreSQL (``postgresql+psycopg://...``) are
supported. Sessions are plain SQLAlchemy 2 sessions; services commit their own transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config", "normalise_url"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """An engine and a session factory for one database URL.

    Creating it does not connect; :meth:`migrate` creates the SQLite file's folder and
    brings the schema to the newest Alembic revision.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {}
        if self.is_sqlite:
            # TestClient and uvicorn's thread pool use the connection from other threads.
            options["connect_args"] = {"check_same_thread": False}
        self.engine: Engine = create_engine(self.url, pool_pre_ping=not self.is_sqlite, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _sqlite_folder(self) -> None:
        database = make_url(self.url).database
        if self.is_sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

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
