"""Dependencies of the route handlers, as ``Annotated`` aliases (``settings: SettingsDep``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from api.clock import Clock, SystemClock
from api.db import Database
from api.settings import Settings

__all__ = [
    "MAX_ID",
    "ClockDep",
    "IdPath",
    "IdQuery",
    "SessionDep",
    "SettingsDep",
    "get_clock",
    "get_session",
    "get_settings",
]

#: The largest row id the store holds: the id columns are ``INTEGER``, 32 bits on PostgreSQL
#: (SQLite's 64 bits are wider). A larger id in a path or query answers 422 naming the parameter
#: instead of overflowing in the database driver (a 500).
MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored row's id (1 to 2^31-1).")]
"""A row id in the path: 422 naming it when it is not in 1 … 2^31-1."""

IdQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="A stored row's id (1 to 2^31-1).")]
"""A row id in the query: 422 naming it when it is not in 1 … 2^31-1."""


async def get_settings(request: Request) -> Settings:
    """The settings the running app was created with (see ``api.app.create_app``). This and
    the other dependencies that touch no database are ``async``: they run in the event loop
    instead of taking a worker thread each."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, closed afterwards (services commit).

    ``async``: making a session takes no connection (the handler's first query does, in its
    worker thread) and closing one hands the connection back to the pool; neither is worth
    two more hops between the event loop and a worker thread per request.
    """
    database: Database = request.app.state.database
    with database.session() as session:
        yield session


#: The session closes as soon as the handler returns (``scope="function"``), before the answer
#: is validated and sent: a request waiting for a worker thread to serialise its answer holds
#: no database connection, so the pool (sized to the worker threads) never runs dry.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_clock(request: Request) -> Clock:
    """The running app's clock (``app.state.clock``; the server's clock when unset)."""
    clock: Clock | None = getattr(request.app.state, "clock", None)
    return clock if clock is not None else SystemClock()


ClockDep = Annotated[Clock, Depends(get_clock)]
