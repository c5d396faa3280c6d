"""GCJ-02 / BD-09 / WGS-84 conversion: published reference values and round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on the mean earth sphere."""
    la, lb = math.radians(a[0]), math.radians(b[0])
    dlon = math.radians(b[1] - a[1])
    h = math.sin((lb - la) / 2) ** 2 + math.cos(la) * math.cos(lb) * math.sin(dlon / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# Values printed by widely used open implementations of the same public formulas for the
# point (39.915 N, 116.404 E) near Tiananmen.
BEIJING = (39.915, 116.404)


def test_wgs84_to_gcj02_reference_value() -> None:
    assert wgs84_to_gcj02(*BEIJING) == pytest.approx(
        (39.91640428150164, 116.41024449916938), abs=1e-9
    )


def test_gcj02_to_bd09_reference_value() -> None:
    assert gcj02_to_bd09(*BEIJING) == pytest.approx(
        (39.92133699351021, 116.41036949371029), abs=1e-9
    )


def test_bd09_to_gcj02_close_to_the_one_step_reference() -> None:
    # The reference is the one-step approximate inverse; ours iterates, so agree to ~0.05 m.
    assert bd09_to_gcj02(*BEIJING) == pytest.approx(
        (39.90865673957631, 116.39762729119315), abs=5e-7
    )


def test_known_offsets_are_hundreds_of_metres() -> None:
    yinchuan = (38.4872, 106.2309)
    assert 300 < metres(yinchuan, wgs84_to_gcj02(*yinchuan)) < 500
    assert 500 < metres(BEIJING, wgs84_to_gcj02(*BEIJING)) < 700
    assert 800 < metres(BEIJING, wgs84_to_bd09(*BEIJING)) < 1500


def test_gcj02_round_trip_yinchuan() -> None:
    gcj = wgs84_to_gcj02(38.4872, 106.2309)
    assert metres(gcj02_to_wgs84(*gcj), (38.4872, 106.2309)) < 0.001


def test_outside_china_nothing_moves() -> None:
    paris = (48.8566, 2.3522)
    assert not in_china(*paris)
    assert wgs84_to_gcj02(*paris) == paris
    assert gcj02_to_wgs84(*paris) == paris
    assert in_china(38.4872, 106.2309)


def test_to_wgs84_dispatches_on_system() -> None:
    p = (38.4872, 106.2309)
    assert to_wgs84(*p, "wgs84") == p
    assert to_wgs84(*wgs84_to_gcj02(*p), "gcj02") == pytest.approx(p, abs=1e-9)
    assert to_wgs84(*wgs84_to_bd09(*p), "bd09") == pytest.approx(p, abs=1e-9)
    with pytest.raises(ValueError, match="unknown coordinate system 'gcj'"):
        to_wgs84(*p, "gcj")


china_lat = st.floats(min_value=18.0, max_value=53.0)
china_lon = st.floats(min_value=74.0, max_value=134.0)


@settings(max_examples=200, deadline=None)
@given(china_lat, china_lon)
def test_wgs_gcj_wgs_round_trip_under_half_a_metre(lat: float, lon: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert metres(back, (lat, lon)) < 0.5


@settings(max_examples=200, deadline=None)
@given(china_lat, china_lon)
def test_wgs_bd_wgs_round_trip_under_half_a_metre(lat: float, lon: float) -> None:
    assert metres(bd09_to_wgs84(*wgs84_to_bd09(lat, lon)), (lat, lon)) < 0.5
    assert metres(gcj02_to_bd09(*bd09_to_gcj02(lat, lon)), (lat, lon)) < 0.5
