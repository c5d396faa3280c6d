"""Conversion between ``"HH:MM"`` strings (files, HTTP) and minutes from midnight (inside)."""

from __future__ import annotations

import re

__all__ = ["format_hhmm", "parse_hhmm"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> int:
    """Minutes from midnight of a ``"HH:MM"`` string in 00:00–23:59.

    Raises ``ValueError`` with a readable message for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f'expected a time "HH:MM", got {text!r}')
    m = _HHMM.match(text)
    if m is None:
        raise ValueError(f'expected a time "HH:MM" between 00:00 and 23:59, got {text!r}')
    return int(m.group(1)) * 60 + int(m.group(2))


def format_hhmm(minutes: int) -> str:
    """``"HH:MM"`` of minutes from midnight; times past midnight keep counting hours (24:10)."""
    if minutes < 0:
        raise ValueError(f"negative time of day: {minutes}")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
