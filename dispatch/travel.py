"""Travel times between places, behind a provider interface.

The contract's default model (``"provider": "haversine"``)::

    minutes(a, b) = ceil(60 * circuity * haversine_km(a, b) / speed_kmh[mode])

:class:`HaversineProvider` gives exactly these numbers for whole matrices. It evaluates the
formula in a cache-friendly, trigonometry-free form (sines and cosines of half angles are
taken once per place, the pairwise differences come from the subtraction formula), then
recomputes with the literal formula every entry whose value lies within a tiny tolerance of a
whole minute, where the two forms could round to different sides. :class:`MatrixProvider`
serves stored matrices (a routing server's table, or benchmark instances whose travel times are
given).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dispatch.model import DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH, Scenario, TravelSettings

__all__ = [
    "EARTH_RADIUS_KM",
    "HaversineProvider",
    "MatrixProvider",
    "Place",
    "TravelProvider",
    "haversine_km",
    "haversine_km_matrix",
    "provider_for",
]

EARTH_RADIUS_KM = 6371.0088
IntMatrix = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Rows of the matrix computed together: the temporaries of one block stay in the CPU cache.
_BLOCK_ROWS = 64
# Beyond this haversine term (a quarter of the globe) arcsin amplifies rounding; such pairs are
# recomputed with the literal formula. Dispatch districts never get near it.
_FAR_H = 0.5


@dataclass(frozen=True)
class Place:
    """A point a route passes: ``key`` is unique (``"station:S1"``, ``"household:H1"``)."""

    key: str
    lat: float
    lon: float


class TravelProvider(Protocol):
    """Gives a square matrix of whole travel minutes between places for one travel mode."""

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        """``m[i, j]`` = minutes from ``places[i]`` to ``places[j]``; zero on the diagonal."""
        ...


def pairwise(
    provider: TravelProvider, origins: Sequence[Place], destinations: Sequence[Place], mode: str
) -> IntMatrix:
    """Minutes from ``origins[i]`` to ``destinations[i]`` for each ``i``: the entries of
    ``provider``'s matrix, through its own ``pairwise`` when it has one (the hotline needs a
    few legs among thousands of places, not the square of them)."""
    if len(origins) != len(destinations):
        raise ValueError(f"{len(origins)} origins for {len(destinations)} destinations")
    own = getattr(provider, "pairwise", None)
    if own is not None:
        found: IntMatrix = own(origins, destinations, mode)
        return found
    index: dict[Place, int] = {}
    for p in (*origins, *destinations):
        index.setdefault(p, len(index))
    m = provider.matrix(list(index), mode)
    rows = np.fromiter((index[p] for p in origins), dtype=np.int64, count=len(origins))
    cols = np.fromiter((index[p] for p in destinations), dtype=np.int64, count=len(origins))
    return np.asarray(m[rows, cols], dtype=np.int64)


def haversine_km(
    lat_a: npt.ArrayLike, lon_a: npt.ArrayLike, lat_b: npt.ArrayLike, lon_b: npt.ArrayLike
) -> FloatArray:
    """Great-circle distances in km between ``a`` and ``b``, element by element (broadcasting).

    The literal haversine formula on a sphere of radius :data:`EARTH_RADIUS_KM`; degrees in.
    """
    la = np.radians(np.asarray(lat_a, dtype=np.float64))
    lb = np.radians(np.asarray(lat_b, dtype=np.float64))
    dlat = lb - la
    dlon = np.radians(np.asarray(lon_b, dtype=np.float64)) - np.radians(
        np.asarray(lon_a, dtype=np.float64)
    )
    h = np.sin(dlat * 0.5) ** 2 + np.cos(la) * np.cos(lb) * np.sin(dlon * 0.5) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def haversine_km_matrix(
    lat_a: npt.ArrayLike, lon_a: npt.ArrayLike, lat_b: npt.ArrayLike, lon_b: npt.ArrayLike
) -> FloatArray:
    """Great-circle distances in km between every point of ``a`` (rows) and ``b`` (columns)."""
    return haversine_km(
        np.asarray(lat_a, dtype=np.float64)[:, None],
        np.asarray(lon_a, dtype=np.float64)[:, None],
        np.asarray(lat_b, dtype=np.float64)[None, :],
        np.asarray(lon_b, dtype=np.float64)[None, :],
    )


def _contract_minutes(km: FloatArray, *, circuity: float, speed: float) -> IntMatrix:
    """The contract's ``ceil(60 * circuity * km / speed)``, operations in that order."""
    return np.ceil(60.0 * circuity * km / speed).astype(np.int64)


def _minutes_matrix(
    lat: FloatArray, lon: FloatArray, *, circuity: float, speed: float
) -> IntMatrix:
    """Symmetric whole-minute matrix of the contract's model; zero diagonal.

    With half angles ``s = sin(phi/2)``, ``c = cos(phi/2)`` per place, ``sin((phi_j - phi_i)/2)
    = s_j c_i - c_j s_i``; the longitude term folds ``sqrt(cos phi)`` into its factors so that
    ``h = a**2 + b**2``. Both differences carry an absolute error of a few ulps, so the fast
    value differs from the literal one by far less than ``tol``; entries within ``tol`` of a
    whole minute (or far apart, see ``_FAR_H``) are recomputed literally.
    """
    n = lat.shape[0]
    out = np.empty((n, n), dtype=np.int64)
    if n == 0:
        return out
    phi = np.radians(lat)
    lam = np.radians(lon)
    s_phi = np.sin(phi * 0.5)
    c_phi = np.cos(phi * 0.5)
    root_cos = np.sqrt(np.cos(phi))
    p_lam = root_cos * np.cos(lam * 0.5)
    q_lam = root_cos * np.sin(lam * 0.5)
    scale = 2.0 * EARTH_RADIUS_KM * 60.0 * circuity / speed
    # Worst-case disagreement of the two forms is a few 1e-15 * scale; keep a wide margin.
    tol = 1e-6 + 1e-11 * scale
    redo_i: list[npt.NDArray[np.intp]] = []
    redo_j: list[npt.NDArray[np.intp]] = []
    for i0 in range(0, n, _BLOCK_ROWS):
        i1 = min(n, i0 + _BLOCK_ROWS)
        # Only columns j >= i0 are computed; the lower triangle is mirrored.
        a = np.multiply.outer(c_phi[i0:i1], s_phi[i0:])
        a -= np.multiply.outer(s_phi[i0:i1], c_phi[i0:])
        b = np.multiply.outer(p_lam[i0:i1], q_lam[i0:])
        b -= np.multiply.outer(q_lam[i0:i1], p_lam[i0:])
        a *= a
        b *= b
        h = np.add(a, b, out=a)
        far = None
        if float(h.max()) > _FAR_H:
            far = h > _FAR_H
            np.minimum(h, 1.0, out=h)
        x = np.sqrt(h, out=h)
        np.arcsin(x, out=x)
        x *= scale
        d = np.ceil(x, out=b)
        d -= x
        d -= 0.5
        np.abs(d, out=d)
        redo = d > 0.5 - tol
        if far is not None:
            redo |= far
        np.ceil(x, out=x)
        out[i0:i1, i0:] = x
        out[i0:, i0:i1] = x.T
        ri, rj = np.nonzero(redo)
        redo_i.append(ri + i0)
        redo_j.append(rj + i0)
    ii = np.concatenate(redo_i)
    jj = np.concatenate(redo_j)
    exact = _contract_minutes(
        haversine_km(lat[ii], lon[ii], lat[jj], lon[jj]), circuity=circuity, speed=speed
    )
    out[ii, jj] = exact
    out[jj, ii] = exact
    np.fill_diagonal(out, 0)
    return out


class HaversineProvider:
    """The contract's default travel model (a 5,000-point matrix in a fraction of a second).

    Raises ``ValueError`` for a non-positive circuity or speed.
    """

    def __init__(
        self, *, circuity: float = DEFAULT_CIRCUITY, speed_kmh: Mapping[str, float] | None = None
    ) -> None:
        self.circuity = float(circuity)
        if not (math.isfinite(self.circuity) and self.circuity > 0):
            raise ValueError(f"circuity must be a positive number, got {circuity!r}")
        self.speed_kmh = dict(DEFAULT_SPEED_KMH)
        if speed_kmh:
            self.speed_kmh.update({mode: float(v) for mode, v in speed_kmh.items()})
        for mode, v in self.speed_kmh.items():
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"speed_kmh[{mode!r}] must be a positive number, got {v!r}")

    @classmethod
    def from_settings(cls, settings: TravelSettings) -> HaversineProvider:
        """The provider for a scenario's ``travel`` object (its overrides over the defaults)."""
        return cls(circuity=settings.circuity, speed_kmh=settings.speed_kmh)

    def _speed(self, mode: str) -> float:
        try:
            return self.speed_kmh[mode]
        except KeyError:
            raise ValueError(
                f"unknown travel mode {mode!r}; known: {sorted(self.speed_kmh)}"
            ) from None

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        """Whole minutes between every pair of ``places`` for ``mode``; symmetric, zero diagonal.

        Raises ``ValueError`` for an unknown mode or a non-finite coordinate.
        """
        speed = self._speed(mode)
        lat = np.fromiter((p.lat for p in places), dtype=np.float64, count=len(places))
        lon = np.fromiter((p.lon for p in places), dtype=np.float64, count=len(places))
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise ValueError("travel: every place needs finite lat/lon")
        return _minutes_matrix(lat, lon, circuity=self.circuity, speed=speed)

    def pairwise(
        self, origins: Sequence[Place], destinations: Sequence[Place], mode: str
    ) -> IntMatrix:
        """Whole minutes from ``origins[i]`` to ``destinations[i]``: the literal contract
        formula, which every entry of :meth:`matrix` equals."""
        if len(origins) != len(destinations):
            raise ValueError(f"{len(origins)} origins for {len(destinations)} destinations")
        speed = self._speed(mode)
        n = len(origins)
        lat_a = np.fromiter((p.lat for p in origins), dtype=np.float64, count=n)
        lon_a = np.fromiter((p.lon for p in origins), dtype=np.float64, count=n)
        lat_b = np.fromiter((p.lat for p in destinations), dtype=np.float64, count=n)
        lon_b = np.fromiter((p.lon for p in destinations), dtype=np.float64, count=n)
        if not all(np.isfinite(a).all() for a in (lat_a, lon_a, lat_b, lon_b)):
            raise ValueError("travel: every place needs finite lat/lon")
        km = haversine_km(lat_a, lon_a, lat_b, lon_b)
        return _contract_minutes(km, circuity=self.circuity, speed=speed)


class MatrixProvider:
    """Stored travel matrices: ``matrices[mode][i][j]`` between the places named by ``keys``.

    A mode missing from ``matrices`` falls back to the ``"*"`` entry when there is one.
    Raises ``ValueError`` for repeated keys and for a matrix that is not square over ``keys``,
    has negative or fractional entries, or a non-zero diagonal.
    """

    def __init__(self, keys: Sequence[str], matrices: Mapping[str, npt.ArrayLike]) -> None:
        self.index = {k: i for i, k in enumerate(keys)}
        if len(self.index) != len(keys):
            raise ValueError("matrix provider: place keys are not unique")
        self.matrices: dict[str, IntMatrix] = {}
        for mode, m in matrices.items():
            raw = np.asarray(m)
            if raw.shape != (len(keys), len(keys)):
                raise ValueError(
                    f"matrix provider: matrix for mode {mode!r} has shape {raw.shape}, "
                    f"expected {(len(keys), len(keys))}"
                )
            if raw.dtype.kind not in "iub":
                raw = raw.astype(np.float64)
                if not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
                    raise ValueError(
                        f"matrix provider: matrix for mode {mode!r} has non-integer entries "
                        "(round them to whole units first)"
                    )
            arr = raw.astype(np.int64)
            if (arr < 0).any():
                raise ValueError(f"matrix provider: matrix for mode {mode!r} has negative entries")
            if np.diagonal(arr).any():
                raise ValueError(
                    f"matrix provider: matrix for mode {mode!r} has a non-zero diagonal"
                )
            self.matrices[mode] = arr

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        """The stored minutes between ``places`` (by key); raises ``ValueError`` for an unknown
        mode or place."""
        full = self.matrices.get(mode, self.matrices.get("*"))
        if full is None:
            raise ValueError(f"matrix provider has no matrix for mode {mode!r}")
        try:
            idx = np.array([self.index[p.key] for p in places], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"matrix provider has no place {exc.args[0]!r}") from None
        return full[np.ix_(idx, idx)]


def provider_for(scenario: Scenario) -> TravelProvider:
    """The provider a scenario's ``travel`` object asks for: the contract's model, or the
    travel table resolved for the scenario (:func:`dispatch.travel_tables.resolve_travel`).

    Raises ``ValueError`` for another provider whose table is not resolved yet.
    """
    if scenario.travel.table is not None:
        return scenario.travel.table
    if scenario.travel.provider != "haversine":
        raise ValueError(
            f"travel.provider: {scenario.travel.provider!r}: the scenario's travel times are "
            "not resolved (dispatch.travel_tables.resolve_travel)"
        )
    return HaversineProvider.from_settings(scenario.travel)
