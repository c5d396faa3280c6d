"""The field-checking toolkit shared by every document reader (scenario, plan, catalogue).

:class:`DocumentReader` checks the fields of a decoded JSON document and collects every problem
with its exact path (``households[12].requests[0].windows[1]``) before anything is raised, so one
run of a validator tells a user everything to fix; :class:`DocumentError` carries them. Times in
documents are ``"HH:MM"`` and become minutes from midnight here.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.model import DAYS
from dispatch.timeutil import parse_hhmm

__all__ = [
    "FORMAT_VERSION",
    "DocumentError",
    "DocumentReader",
    "ValidationIssue",
    "child_path",
    "describe_value",
    "did_you_mean",
    "index_path",
    "load_json",
    "max_visits_in_week",
    "merge_windows",
    "write_json",
]

#: The format version of every document this project reads and writes.
FORMAT_VERSION = 1

_MISSING: Any = object()


# --------------------------------------------------------------------------------------------
# Issues and errors


@dataclass(frozen=True)
class ValidationIssue:
    """One problem of a document: the field path (``caregivers[0].shifts.mon``) and a message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DocumentError(ValueError):
    """A document (scenario, plan, catalogue) is invalid; ``issues`` lists every problem.

    The message has one issue per line.
    """

    def __init__(self, issues: Iterable[ValidationIssue]) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


# --------------------------------------------------------------------------------------------
# The field-checking toolkit


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def index_path(path: str, i: int) -> str:
    return f"{path}[{i}]"


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value, ensure_ascii=False)})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""


class DocumentReader:
    """Checks fields of a decoded JSON document and collects errors and warnings.

    Every ``read_*`` method takes the value and its path, reports what is wrong and returns the
    converted value, or ``None`` when it reported an error. Nothing is raised here; callers
    raise once at the end with every issue (:class:`DocumentError`).
    """

    def __init__(self) -> None:
        self.errors: list[ValidationIssue] = []
        self.warnings: list[ValidationIssue] = []

    def error(self, path: str, message: str) -> None:
        """Record an error at ``path``."""
        self.errors.append(ValidationIssue(path, message))

    def warn(self, path: str, message: str) -> None:
        """Record a warning at ``path``."""
        self.warnings.append(ValidationIssue(path, message))

    # -- objects

    def read_object(
        self, value: Any, path: str, spec: Mapping[str, bool]
    ) -> Mapping[str, Any] | None:
        """The object if it is one; reports unknown fields (with a hint) and missing ones."""
        if not isinstance(value, Mapping):
            self.error(path, f"expected an object, got {describe_value(value)}")
            return None
        for key in value:
            if key not in spec:
                self.error(
                    child_path(path, str(key)), f"unknown field{did_you_mean(str(key), spec)}"
                )
        for key, required in spec.items():
            if required and key not in value:
                self.error(child_path(path, key), "missing required field")
        return value

    def field(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        read: Callable[..., Any],
        /,
        default: Any = _MISSING,
        **options: Any,
    ) -> Any:
        """``read(obj[key], path.key, **options)``; ``default`` when the field is absent or null.

        A required field (no ``default``) that is absent gives ``None``: :meth:`read_object`
        has reported it already.
        """
        if key not in obj or (obj[key] is None and default is not _MISSING):
            return None if default is _MISSING else default
        return read(obj[key], child_path(path, key), **options)

    # -- scalars

    def read_text(self, value: Any, path: str, *, allow_empty: bool = False) -> str | None:
        """A string; empty (or blank) only with ``allow_empty``."""
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {describe_value(value)}")
            return None
        if not allow_empty and not value.strip():
            self.error(path, "must not be empty")
            return None
        return value

    def read_int(
        self, value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """A whole number (JSON ``true`` is not one) within ``[minimum, maximum]``."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"expected a whole number, got {describe_value(value)}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(path, f"must be {_range_text(minimum, maximum)}, got {value}")
            return None
        return value

    def read_number(
        self,
        value: Any,
        path: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        """A finite number within ``[minimum, maximum]``; ``positive`` demands > 0."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"expected a number, got {describe_value(value)}")
            return None
        if not math.isfinite(value):
            self.error(path, f"must be a finite number, got {value!r}")
            return None
        if positive and value <= 0:
            self.error(path, f"must be greater than 0, got {value!r}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(path, f"must be {_range_text(minimum, maximum)}, got {value!r}")
            return None
        return float(value)

    def read_choice(self, value: Any, path: str, *, choices: Sequence[str]) -> str | None:
        """A string out of ``choices``."""
        text = self.read_text(value, path)
        if text is None:
            return None
        if text not in choices:
            self.error(
                path,
                f"unknown value {json.dumps(text, ensure_ascii=False)}{did_you_mean(text, choices)}"
                f" (expected one of {', '.join(choices)})",
            )
            return None
        return text

    def read_time(self, value: Any, path: str) -> int | None:
        """Minutes from midnight of an ``"HH:MM"`` string in 00:00–23:59."""
        try:
            return parse_hhmm(value)
        except ValueError:
            self.error(
                path,
                f'expected a time "HH:MM" between 00:00 and 23:59, got {describe_value(value)}',
            )
            return None

    def read_day(self, value: Any, path: str) -> str | None:
        """A day code ``"mon"`` … ``"sun"``."""
        return self.read_choice(value, path, choices=DAYS)

    def check_format(self, doc: Mapping[str, Any]) -> None:
        """Report a top-level ``format`` other than :data:`FORMAT_VERSION`."""
        fmt = self.field(doc, "", "format", self.read_int)
        if fmt is not None and fmt != FORMAT_VERSION:
            self.error(
                "format", f"unsupported format {fmt}; this version reads format {FORMAT_VERSION}"
            )

    # -- lists

    def read_list(self, value: Any, path: str, *, non_empty: bool = False) -> list[Any] | None:
        """A JSON list; ``non_empty`` demands at least one item."""
        if not isinstance(value, list | tuple):
            self.error(path, f"expected a list, got {describe_value(value)}")
            return None
        if non_empty and not value:
            self.error(path, "must not be an empty list")
            return None
        return list(value)

    def read_texts(self, value: Any, path: str) -> tuple[str, ...] | None:
        """A list of non-empty strings (duplicates kept, in file order)."""
        items = self.read_list(value, path)
        if items is None:
            return None
        out = [self.read_text(v, index_path(path, i)) for i, v in enumerate(items)]
        return None if any(v is None for v in out) else tuple(v for v in out if v is not None)

    def read_days(self, value: Any, path: str) -> tuple[str, ...] | None:
        """A non-empty list of distinct day codes, returned in week order."""
        items = self.read_list(value, path, non_empty=True)
        if items is None:
            return None
        seen: set[str] = set()
        ok = True
        for i, v in enumerate(items):
            day = self.read_day(v, index_path(path, i))
            if day is None:
                ok = False
            elif day in seen:
                self.error(index_path(path, i), f"duplicate day {day}")
                ok = False
            else:
                seen.add(day)
        return tuple(d for d in DAYS if d in seen) if ok else None

    def read_interval(
        self, value: Any, path: str, *, strict: bool = False
    ) -> tuple[int, int] | None:
        """A ``["HH:MM", "HH:MM"]`` pair as minutes; the end may not be before the start
        (nor equal to it when ``strict``)."""
        items = self.read_list(value, path)
        if items is None:
            return None
        if len(items) != 2:
            self.error(path, f'expected a pair ["HH:MM", "HH:MM"], got {len(items)} items')
            return None
        start = self.read_time(items[0], index_path(path, 0))
        end = self.read_time(items[1], index_path(path, 1))
        if start is None or end is None:
            return None
        if end < start:
            self.error(path, f"ends {items[1]} before it starts {items[0]}")
            return None
        if strict and end == start:
            self.error(path, f"ends when it starts ({items[0]})")
            return None
        return start, end

    def read_windows(self, value: Any, path: str) -> tuple[tuple[int, int], ...] | None:
        """A non-empty list of ``[from, to]`` pairs, sorted, overlapping ones merged."""
        items = self.read_list(value, path, non_empty=True)
        if items is None:
            return None
        pairs = [self.read_interval(v, index_path(path, i)) for i, v in enumerate(items)]
        if any(p is None for p in pairs):
            return None
        return merge_windows(p for p in pairs if p is not None)


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f"at least {minimum}"
    return f"at most {maximum}"


def merge_windows(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Windows sorted by start, overlapping or touching ones merged (same set of start times)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def max_visits_in_week(days: Iterable[str], min_gap_days: int) -> int:
    """How many visits fit on ``days`` (codes) when two visits are ``min_gap_days`` apart."""
    count, last = 0, None
    for i in sorted(DAYS.index(d) for d in set(days)):
        if last is None or i - last >= min_gap_days:
            count, last = count + 1, i
    return count


# --------------------------------------------------------------------------------------------
# JSON files


def load_json(path: str | Path, *, error: type[DocumentError] = DocumentError) -> Any:
    """The decoded JSON document at ``path`` (UTF-8, a byte-order mark tolerated).

    Raises ``error`` with the line and column of a syntax error, or when the file is not UTF-8;
    ``OSError`` when it cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error([ValidationIssue("", f"{path}: not UTF-8 text (byte {exc.start})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise error([ValidationIssue("", message)]) from None


def write_json(data: Any, path: str | Path) -> None:
    """Write ``data`` as UTF-8 JSON, Chinese kept readable, indented by 2, newline at the end."""
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
