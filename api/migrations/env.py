"""Alembic environment: the app passes its connection; the CLI reads the URL from settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from api.db import normalise_url
from api.models import Base
from api.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or normalise_url(
        Settings.from_env().database_url
    )


def run_offline() -> None:
    """Emit SQL for ``alembic upgrade --sql`` without a database."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate over the app's connection, or over a new one from the settings' URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.begin() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
