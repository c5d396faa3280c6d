"""The service's clock: the server's in production, a fixed one in tests.

Work orders take "now" from here (check-in times, late visits, re-dispatch), never from the
phone. ``app.state.clock`` holds the clock of a running app; :class:`SystemClock` when unset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock"]


class Clock(Protocol):
    """Something that tells the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The server's clock."""

    def now(self) -> datetime:
        """The server's current time in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that shows ``moment`` (timezone-aware) until it is set or advanced."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware moment")
        self.moment = moment

    def now(self) -> datetime:
        """The fixed moment."""
        return self.moment

    def set(self, moment: datetime) -> None:
        """Show ``moment`` from now on."""
        if moment.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware moment")
        self.moment = moment

    def advance(self, minutes: float) -> None:
        """Move the clock ``minutes`` later."""
        self.moment = self.moment + timedelta(minutes=minutes)
