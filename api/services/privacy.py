"""Personal data of elders: masking for roles that do not need it, and log redaction.

Who sees what (documented in ``api/routers/work_orders.py`` too):

- ``admin`` and ``dispatcher`` see phone and ID numbers in full (they call and verify elders);
- ``planner`` sees both masked;
- ``caregiver`` sees the phone in full only on its own visits of the current local day
  (to call ahead or when nobody opens), masked on other days; never the ID number.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "mask_id_number", "mask_phone", "redact"]

# 11-digit mainland mobiles, landlines with area code, 15/18-character resident ID numbers.
_SENSITIVE = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?![0-9A-Za-z])"
)


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    text = value.strip()
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[-keep_end:]


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; ``None`` stays ``None``."""
    return None if phone is None else _mask(phone, 3, 4)


def mask_id_number(id_number: str | None) -> str | None:
    """``110105194912310021`` → ``110***********0021``; ``None`` stays ``None``."""
    return None if id_number is None else _mask(id_number, 3, 4)


def redact(text: str) -> str:
    """``text`` with every phone-like or ID-like number masked."""
    return _SENSITIVE.sub(lambda m: _mask(m.group(0), 3, 4), text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks phone and ID numbers in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
