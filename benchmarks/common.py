"""Helpers shared by the benchmark suites: data paths, optional imports, gaps, tables, CSV.

Benchmarks read public instances from ``../shared/benchmarks`` beside the repository root and
compare the project's solver with other open-source solvers installed by the ``bench`` extra.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

__all__ = [
    "BENCH_EXTRA_HINT",
    "REPO_ROOT",
    "SHARED_BENCHMARKS",
    "MissingDependencyError",
    "format_table",
    "gap_pct",
    "import_optional",
    "write_csv",
]

#: The repository root (the folder holding ``pyproject.toml``).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Public benchmark data kept beside the repository, not inside it.
SHARED_BENCHMARKS = REPO_ROOT.parent / "shared" / "benchmarks"
BENCH_EXTRA_HINT = "pip install -e '.[bench]'"


class MissingDependencyError(RuntimeError):
    """A package or module a benchmark needs is not available."""


def import_optional(module: str, *, purpose: str, hint: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to get it.

    ``hint`` defaults to installing the ``bench`` extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = hint or f"run `{BENCH_EXTRA_HINT}` (or `make bench`)"
        raise MissingDependencyError(
            f"{purpose} needs {module!r}, which cannot be imported ({exc}): {how}"
        ) from exc


def gap_pct(value: float, best: float) -> float:
    """Relative gap in percent of ``value`` above ``best``; raises ``ValueError`` if best ≤ 0."""
    if best <= 0:
        raise ValueError(f"best-known value must be positive, got {best}")
    return 100.0 * (value - best) / best


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, sep: str = "  "
) -> str:
    """An aligned plain-text table; the first ``left`` columns are left-aligned, others right."""
    widths = [len(h) for h in headers]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"table row has {len(row)} cells, expected {len(headers)}")
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return sep.join(out).rstrip()

    rule = sep.join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def write_csv(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    """Write dict rows (keys of the first row as header) to ``path``, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def warm_up_router() -> None:
    """Compile the router's, the periodic planner's and the weekly planner's string-removal
    searches before any run is timed (numba compiles them on first use, then loads them from
    its disk cache), so no run pays for compiling."""
    from solver import periodic_sisr, warm_up

    warm_up()
    periodic_sisr.warm_up()
