"""Shared benchmark helpers: gaps, tables, CSV and optional imports."""

from __future__ import annotations

import csv

import pytest

from benchmarks.common import (
    MissingDependencyError,
    format_table,
    gap_pct,
    import_optional,
    write_csv,
)


def test_gap_pct():
    assert gap_pct(101.0, 100.0) == pytest.approx(1.0)
    assert gap_pct(99.0, 100.0) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        gap_pct(1.0, 0.0)


def test_format_table_aligns_left_then_right():
    text = format_table(["name", "dist"], [["C101", "827.3"], ["RC208", "7.0"]])
    assert text.splitlines() == [
        "name    dist",
        "-----  -----",
        "C101   827.3",
        "RC208    7.0",
    ]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="2 cells"):
        format_table(["a"], [["1", "2"]])


def test_write_csv_creates_folders(tmp_path):
    path = tmp_path / "deep" / "out.csv"
    write_csv(path, [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert list(csv.DictReader(path.open())) == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]


def test_import_optional_names_the_extra():
    assert import_optional("json", purpose="test").dumps([1]) == "[1]"
    with pytest.raises(MissingDependencyError, match=r"\.\[bench\]"):
        import_optional("no_such_module_xyz", purpose="--solver xyz")
    with pytest.raises(MissingDependencyError, match="not in this checkout"):
        import_optional("no_such_module_xyz", purpose="x", hint="not in this checkout")
