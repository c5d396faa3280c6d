"""The hotline benchmark's percentile (nearest rank), checked by hand."""

from __future__ import annotations

from benchmarks.hotline import percentile


def test_nearest_rank_percentile() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == 5.0
    assert percentile(values, 0) == 1.0
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 95) == 0.0
