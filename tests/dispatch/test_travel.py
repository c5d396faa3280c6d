"""Travel times: the contract's haversine model and stored matrices.

Hand numbers use the contract constants: earth radius 6371.0088 km, circuity 1.3, speeds walk
4.5, ebike 15, car 25 km/h, minutes = ceil(60 * circuity * km / speed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.model import Scenario, TravelSettings
from dispatch.travel import (
    EARTH_RADIUS_KM,
    HaversineProvider,
    MatrixProvider,
    Place,
    haversine_km,
    haversine_km_matrix,
    provider_for,
)

# Station S1 and household H1 of the contract's example (Yinchuan).
S1 = Place("station:S1", 38.4872, 106.2309)
H1 = Place("household:H1", 38.4901, 106.2288)
# Two points on one meridian, 0.1 degree of latitude apart.
M0 = Place("m0", 38.40, 106.20)
M1 = Place("m1", 38.50, 106.20)


def scalar_km(a: Place, b: Place) -> float:
    """Haversine with the math module, written independently of dispatch.travel."""
    phi_a, phi_b = math.radians(a.lat), math.radians(b.lat)
    d_phi = phi_b - phi_a
    d_lam = math.radians(b.lon - a.lon)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lam / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def scalar_minutes(a: Place, b: Place, speed: float, circuity: float = 1.3) -> int:
    if a.key == b.key:
        return 0
    return math.ceil(60 * circuity * scalar_km(a, b) / speed)


def literal_matrix(places: list[Place], speed: float, circuity: float = 1.3) -> np.ndarray:
    """The contract formula evaluated literally with NumPy, element by element."""
    lat = np.array([p.lat for p in places])
    lon = np.array([p.lon for p in places])
    km = haversine_km_matrix(lat, lon, lat, lon)
    m = np.ceil(60.0 * circuity * km / speed).astype(np.int64)
    np.fill_diagonal(m, 0)
    return m


def random_places(n: int, *, seed: int, spread_deg: float) -> list[Place]:
    rng = np.random.default_rng(seed)
    lat = np.clip(38.48 + rng.uniform(-spread_deg, spread_deg, n), -89.0, 89.0)
    lon = 106.23 + rng.uniform(-spread_deg, spread_deg, n)
    return [
        Place(f"p{i}", float(a), float(b)) for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


# --- the haversine distance ---------------------------------------------------------------


def test_meridian_distance_is_radius_times_angle() -> None:
    # Same meridian: h = sin^2(dphi/2), so d = 2R asin(sin(dphi/2)) = R * dphi.
    # dphi = 0.1 deg = 0.0017453292519943 rad; d = 6371.0088 * 0.0017453292519943 = 11.1195 km.
    km = float(haversine_km(M0.lat, M0.lon, M1.lat, M1.lon))
    assert km == pytest.approx(11.119508, abs=1e-6)
    assert km == pytest.approx(EARTH_RADIUS_KM * math.radians(0.1), rel=1e-12)
    assert km == pytest.approx(scalar_km(M0, M1), rel=1e-12)


def test_contract_example_pair_distance() -> None:
    # dphi = 0.0029 deg = 5.0615e-5 rad, dlam = -0.0021 deg = -3.6652e-5 rad,
    # cos(38.4872 deg) = 0.782747, cos(38.4901 deg) = 0.782716:
    # h = (2.5307e-5)^2 + 0.782747 * 0.782716 * (1.8326e-5)^2 = 6.4047e-10 + 2.0575e-10
    #   = 8.4622e-10;  d = 2 * 6371.0088 * asin(sqrt(h)) = 2 * 6371.0088 * 2.90898e-5 = 0.37066 km.
    km = float(haversine_km(S1.lat, S1.lon, H1.lat, H1.lon))
    assert km == pytest.approx(0.370663, abs=1e-6)
    assert km == pytest.approx(scalar_km(S1, H1), rel=1e-12)


# --- minutes, per mode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # 60 * 1.3 * 11.119508 / 4.5 = 192.738  -> 193
        ("walk", 193),
        # 60 * 1.3 * 11.119508 / 15 = 57.821    -> 58
        ("ebike", 58),
        # 60 * 1.3 * 11.119508 / 25 = 34.693    -> 35
        ("car", 35),
    ],
)
def test_meridian_minutes_per_mode(mode: str, expected: int) -> None:
    m = HaversineProvider().matrix([M0, M1], mode)
    assert m.tolist() == [[0, expected], [expected, 0]]
    assert m[0, 1] == scalar_minutes(M0, M1, {"walk": 4.5, "ebike": 15.0, "car": 25.0}[mode])


def test_contract_example_pair_minutes() -> None:
    # 0.370663 km: walk 6.42 -> 7, ebike 1.93 -> 2, car 1.16 -> 2.
    provider = HaversineProvider()
    got = {mode: int(provider.matrix([S1, H1], mode)[0, 1]) for mode in ("walk", "ebike", "car")}
    assert got == {"walk": 7, "ebike": 2, "car": 2}


def test_minutes_are_rounded_up_not_to_nearest() -> None:
    # About 1 m apart: 0.001 km * 5.2 min/km = 0.005 minutes, still a whole minute.
    a = Place("a", 38.0, 106.0)
    b = Place("b", 38.000009, 106.0)
    assert HaversineProvider().matrix([a, b], "ebike")[0, 1] == 1


def test_colocated_distinct_places_take_zero_minutes() -> None:
    # Two households in one building share coordinates: ceil(0) = 0, not 1.
    a = Place("household:A", 38.0, 106.0)
    b = Place("household:B", 38.0, 106.0)
    assert HaversineProvider().matrix([a, b], "walk").tolist() == [[0, 0], [0, 0]]


def test_value_just_above_a_whole_minute_rounds_up() -> None:
    # Choose the speed so that 60 * c * km / speed lands 3e-10 above 12 minutes: the contract's
    # ceil gives 13 (a tolerance that rounds such values down would disagree with the checker).
    km = float(haversine_km(np.array([M0.lat]), np.array([M0.lon]), [M1.lat], [M1.lon])[0])
    speed = 60 * 1.3 * km / (12 + 3e-10)
    value = 60 * 1.3 * km / speed
    assert 12 < value < 12 + 1e-9
    provider = HaversineProvider(speed_kmh={"ebike": speed})
    assert provider.matrix([M0, M1], "ebike")[0, 1] == 13


def test_whole_minute_boundaries_match_the_literal_formula() -> None:
    # For many pairs pick speeds that put the value on (or one ulp beside) a whole minute; the
    # provider must round exactly like the literal float64 formula, on both sides.
    places = random_places(40, seed=7, spread_deg=0.05)
    lat = np.array([p.lat for p in places])
    lon = np.array([p.lon for p in places])
    km = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    rounded_up = rounded_exact = 0
    for i, d in enumerate(km):
        for k in (1, 7, 30):
            speed = 60 * 1.3 * float(d) / k
            provider = HaversineProvider(speed_kmh={"ebike": speed})
            got = provider.matrix(places[i : i + 2], "ebike")[0, 1]
            literal = literal_matrix(places[i : i + 2], speed)[0, 1]
            assert got == literal, (i, k)
            rounded_up += int(literal == k + 1)
            rounded_exact += int(literal == k)
    # Both outcomes occur, so the comparison really covered the boundary.
    assert rounded_exact > 0
    assert rounded_up > 0 or rounded_exact == 3 * len(km)


def test_per_mode_speeds_order_the_minutes() -> None:
    m = {
        mode: HaversineProvider().matrix([S1, M0], mode)[0, 1] for mode in ("walk", "ebike", "car")
    }
    assert m["walk"] > m["ebike"] > m["car"] > 0


# --- matrix properties -----------------------------------------------------------------------


def test_matrix_is_symmetric_with_zero_diagonal() -> None:
    places = random_places(150, seed=3, spread_deg=0.1)
    m = HaversineProvider().matrix(places, "ebike")
    assert m.shape == (150, 150)
    assert m.dtype == np.int64
    assert (np.diagonal(m) == 0).all()
    assert (m == m.T).all()
    assert (m[~np.eye(150, dtype=bool)] > 0).all()


def test_matrix_matches_independent_scalar_formula() -> None:
    places = random_places(60, seed=11, spread_deg=0.08)
    m = HaversineProvider().matrix(places, "walk")
    expected = [[scalar_minutes(a, b, 4.5) for b in places] for a in places]
    assert m.tolist() == expected


@pytest.mark.parametrize(
    ("spread_deg", "mode"),
    [(0.001, "walk"), (0.1, "ebike"), (2.0, "car"), (80.0, "walk"), (179.0, "car")],
)
def test_matrix_matches_literal_formula_at_every_scale(spread_deg: float, mode: str) -> None:
    # Covers several row blocks and, at continental and global spreads, the far-pair path.
    places = random_places(300, seed=5, spread_deg=spread_deg)
    speed = {"walk": 4.5, "ebike": 15.0, "car": 25.0}[mode]
    assert (HaversineProvider().matrix(places, mode) == literal_matrix(places, speed)).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-85, max_value=85, allow_nan=False),
            st.floats(min_value=-180, max_value=180, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(min_value=0.5, max_value=60.0),
)
def test_matrix_equals_literal_formula_property(
    coords: list[tuple[float, float]], speed: float
) -> None:
    places = [Place(f"p{i}", lat, lon) for i, (lat, lon) in enumerate(coords)]
    got = HaversineProvider(speed_kmh={"ebike": speed}).matrix(places, "ebike")
    assert (got == literal_matrix(places, speed)).all()


def test_empty_and_single_place() -> None:
    provider = HaversineProvider()
    assert provider.matrix([], "walk").shape == (0, 0)
    assert provider.matrix([S1], "walk").tolist() == [[0]]


# --- settings and errors ---------------------------------------------------------------------


def scenario_with(travel: TravelSettings) -> Scenario:
    return Scenario(
        name="t", days=("mon",), stations=(), caregivers=(), households=(), travel=travel
    )


def test_scenario_overrides_circuity_and_one_speed() -> None:
    # circuity 1.0, ebike 12 km/h: 60 * 1.0 * 11.119508 / 12 = 55.598 -> 56.
    # walk is not overridden and keeps 4.5 km/h: 60 * 1.0 * 11.119508 / 4.5 = 148.26 -> 149.
    provider = provider_for(scenario_with(TravelSettings(circuity=1.0, speed_kmh={"ebike": 12.0})))
    assert provider.matrix([M0, M1], "ebike")[0, 1] == 56
    assert provider.matrix([M0, M1], "walk")[0, 1] == 149


def test_scenario_default_travel_settings_give_default_provider() -> None:
    provider = provider_for(scenario_with(TravelSettings()))
    assert provider.matrix([M0, M1], "ebike")[0, 1] == 58


def test_scenario_with_other_provider_needs_it_passed_in() -> None:
    with pytest.raises(ValueError, match="osrm"):
        provider_for(scenario_with(TravelSettings(provider="osrm")))


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown travel mode 'bicycle'"):
        HaversineProvider().matrix([S1, H1], "bicycle")


@pytest.mark.parametrize("speed", [0.0, -3.0, float("nan"), float("inf")])
def test_non_positive_speed_is_an_error(speed: float) -> None:
    with pytest.raises(ValueError, match="speed_kmh"):
        HaversineProvider(speed_kmh={"walk": speed})


@pytest.mark.parametrize("circuity", [0.0, -1.3, float("nan")])
def test_non_positive_circuity_is_an_error(circuity: float) -> None:
    with pytest.raises(ValueError, match="circuity"):
        HaversineProvider(circuity=circuity)


def test_non_finite_coordinate_is_an_error() -> None:
    with pytest.raises(ValueError, match="finite"):
        HaversineProvider().matrix([S1, Place("x", float("nan"), 106.0)], "walk")


# --- stored matrices -------------------------------------------------------------------------

KEYS = ["a", "b", "c"]
WALK = [[0, 5, 9], [6, 0, 4], [8, 3, 0]]


def place(key: str) -> Place:
    return Place(key, 0.0, 0.0)


def test_matrix_provider_looks_up_subset_in_requested_order() -> None:
    provider = MatrixProvider(KEYS, {"walk": WALK})
    m = provider.matrix([place("c"), place("a")], "walk")
    # c->a = WALK[2][0] = 8, a->c = WALK[0][2] = 9: stored matrices may be asymmetric.
    assert m.tolist() == [[0, 8], [9, 0]]
    assert provider.matrix([place(k) for k in KEYS], "walk").tolist() == WALK


def test_matrix_provider_star_is_the_fallback_mode() -> None:
    star = [[0, 1, 2], [1, 0, 3], [2, 3, 0]]
    provider = MatrixProvider(KEYS, {"walk": WALK, "*": star})
    assert provider.matrix([place("a"), place("b")], "walk").tolist() == [[0, 5], [6, 0]]
    assert provider.matrix([place("a"), place("b")], "car").tolist() == [[0, 1], [1, 0]]


def test_matrix_provider_accepts_whole_floats() -> None:
    provider = MatrixProvider(["a", "b"], {"*": [[0.0, 2.0], [3.0, 0.0]]})
    m = provider.matrix([place("a"), place("b")], "walk")
    assert m.dtype == np.int64
    assert m.tolist() == [[0, 2], [3, 0]]


def test_matrix_provider_unknown_mode_without_fallback() -> None:
    provider = MatrixProvider(KEYS, {"walk": WALK})
    with pytest.raises(ValueError, match="no matrix for mode 'car'"):
        provider.matrix([place("a")], "car")


def test_matrix_provider_unknown_key() -> None:
    provider = MatrixProvider(KEYS, {"walk": WALK})
    with pytest.raises(ValueError, match="no place 'z'"):
        provider.matrix([place("a"), place("z")], "walk")


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[0, 1], [1, 0]], "shape"),
        ([0, 1, 2], "shape"),
        ([[0, 1, 2], [1, 0, 3]], "shape"),
        ([[0, -1, 2], [1, 0, 3], [2, 3, 0]], "negative"),
        ([[0, 1.5, 2], [1, 0, 3], [2, 3, 0]], "non-integer"),
        ([[0, float("nan"), 2], [1, 0, 3], [2, 3, 0]], "non-integer"),
        ([[1, 1, 2], [1, 0, 3], [2, 3, 0]], "diagonal"),
    ],
)
def test_matrix_provider_rejects_bad_matrices(matrix: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatrixProvider(KEYS, {"walk": matrix})


def test_matrix_provider_rejects_repeated_keys() -> None:
    with pytest.raises(ValueError, match="not unique"):
        MatrixProvider(["a", "a"], {"*": [[0, 1], [1, 0]]})


def test_pairwise_legs_are_the_matrix_entries() -> None:
    import random

    from dispatch.travel import pairwise

    rng = random.Random(5)
    places = [
        Place(f"p{i}", 38.4 + rng.uniform(0, 0.2), 106.1 + rng.uniform(0, 0.2)) for i in range(120)
    ]
    pairs = [(rng.randrange(120), rng.randrange(120)) for _ in range(2000)]
    a = [places[i] for i, _ in pairs]
    b = [places[j] for _, j in pairs]
    haversine = HaversineProvider()
    m = haversine.matrix(places, "ebike")
    expected = [int(m[i, j]) for i, j in pairs]
    assert pairwise(haversine, a, b, "ebike").tolist() == expected
    stored = MatrixProvider([p.key for p in places], {"*": m})
    assert pairwise(stored, a, b, "walk").tolist() == expected  # through the matrix
    with pytest.raises(ValueError, match="origins"):
        pairwise(haversine, a, b[:-1], "ebike")
