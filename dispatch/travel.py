"""Travel times between places, behind a provider interface.

The contract's default model (``"provider": "haversine"``)::

    minutes(a, b) = ceil(60 * circuity * haversine_km(a, b) / speed_kmh[mode])

is computed vectorised with NumPy. :class:`MatrixProvider` serves stored matrices (a routing
server's table, or benchmark instances whose travel times are given).
"""

from __future__ import annotations

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
    "haversine_km_matrix",
    "provider_for",
]

EARTH_RADIUS_KM = 6371.0088
IntMatrix = npt.NDArray[np.int64]


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


def haversine_km_matrix(
    lat_a: npt.ArrayLike, lon_a: npt.ArrayLike, lat_b: npt.ArrayLike, lon_b: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distances in km between every point of ``a`` (rows) and ``b`` (columns)."""
    la = np.radians(np.asarray(lat_a, dtype=np.float64))[:, None]
    lb = np.radians(np.asarray(lat_b, dtype=np.float64))[None, :]
    dlat = lb - la
    dlon = np.radians(np.asarray(lon_b, dtype=np.float64))[None, :] - np.radians(
        np.asarray(lon_a, dtype=np.float64)
    )[:, None]
    h = np.sin(dlat * 0.5) ** 2 + np.cos(la) * np.cos(lb) * np.sin(dlon * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


class HaversineProvider:
    """The contract's default travel model, vectorised (a 5,000-point matrix in a fraction of a
    second)."""

    def __init__(
        self, *, circuity: float = DEFAULT_CIRCUITY, speed_kmh: Mapping[str, float] | None = None
    ) -> None:
        self.circuity = float(circuity)
        self.speed_kmh = dict(DEFAULT_SPEED_KMH)
        if speed_kmh:
            self.speed_kmh.update(speed_kmh)

    @classmethod
    def from_settings(cls, settings: TravelSettings) -> HaversineProvider:
        return cls(circuity=settings.circuity, speed_kmh=settings.speed_kmh)

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        try:
            speed = self.speed_kmh[mode]
        except KeyError:
            raise ValueError(f"unknown travel mode {mode!r}; known: {sorted(self.speed_kmh)}") from None
        lat = np.fromiter((p.lat for p in places), dtype=np.float64, count=len(places))
        lon = np.fromiter((p.lon for p in places), dtype=np.float64, count=len(places))
        km = haversine_km_matrix(lat, lon, lat, lon)
        minutes = np.ceil(km * (60.0 * self.circuity / speed) - 1e-9)
        out = minutes.astype(np.int64)
        np.fill_diagonal(out, 0)
        return out


class MatrixProvider:
    """Stored travel matrices: ``matrices[mode][i][j]`` between the places named by ``keys``.

    A mode missing from ``matrices`` falls back to the ``"*"`` entry when there is one.
    """

    def __init__(self, keys: Sequence[str], matrices: Mapping[str, npt.ArrayLike]) -> None:
        self.index = {k: i for i, k in enumerate(keys)}
        if len(self.index) != len(keys):
            raise ValueError("matrix provider: place keys are not unique")
        self.matrices: dict[str, IntMatrix] = {}
        for mode, m in matrices.items():
            arr = np.asarray(m, dtype=np.int64)
            if arr.shape != (len(keys), len(keys)):
                raise ValueError(
                    f"matrix provider: matrix for mode {mode!r} has shape {arr.shape}, "
                    f"expected {(len(keys), len(keys))}"
                )
            if (arr < 0).any():
                raise ValueError(f"matrix provider: matrix for mode {mode!r} has negative entries")
            self.matrices[mode] = arr

    def matrix(self, places: Sequence[Place], mode: str) -> IntMatrix:
        full = self.matrices.get(mode, self.matrices.get("*"))
        if full is None:
            raise ValueError(f"matrix provider has no matrix for mode {mode!r}")
        try:
            idx = np.array([self.index[p.key] for p in places], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"matrix provider has no place {exc.args[0]!r}") from None
        return full[np.ix_(idx, idx)]


def provider_for(scenario: Scenario) -> TravelProvider:
    """The provider a scenario's ``travel`` object asks for (only ``haversine`` is built in)."""
    if scenario.travel.provider != "haversine":
        raise ValueError(
            f"travel.provider: {scenario.travel.provider!r} needs a provider passed in explicitly"
        )
    return HaversineProvider.from_settings(scenario.travel)
