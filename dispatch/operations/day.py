"""A day of a published plan as its work orders tell it: the visits in the field, today."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DayOrder"]


@dataclass(frozen=True)
class DayOrder:
    """One visit of a published plan's day, as its work order (工单) has it now.

    ``key`` is the work order's id, ``start``/``end`` the planned service (minutes from
    midnight), ``window`` the start window it keeps (``None``: any time) and ``fixed`` whether
    the visit has started or is done (it stays where it is). ``request`` is ``None`` for a
    hotline order not yet booked.
    """

    key: int
    caregiver: str
    request: str | None
    household: str
    start: int
    end: int
    lat: float = 0.0
    lon: float = 0.0
    window: tuple[int, int] | None = None
    fixed: bool = False
    sequence: int = 0
