"""Time the haversine travel-time matrix on random places around a city.

    python -m benchmarks.travel_matrix [--points 5000] [--repeat 5] [--mode ebike] [--check]

Places are drawn uniformly in a disc around central Yinchuan with a fixed seed, so runs are
comparable. Prints the matrix size and the median and best wall-clock seconds of
``HaversineProvider.matrix``; ``--check`` also compares the result with the literal contract
formula evaluated on the full matrix.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Sequence

import numpy as np

from dispatch.model import DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH
from dispatch.travel import HaversineProvider, Place, haversine_km_matrix

__all__ = ["main", "random_places"]

CITY_CENTRE = (38.4872, 106.2309)  # Yinchuan, 兴庆区
KM_PER_DEG_LAT = 111.195


def random_places(
    n: int,
    *,
    seed: int = 20261123,
    radius_km: float = 12.0,
    centre: tuple[float, float] = CITY_CENTRE,
) -> list[Place]:
    """``n`` places uniformly spread in a disc of ``radius_km`` around ``centre`` (lat, lon)."""
    rng = np.random.default_rng(seed)
    r = radius_km * np.sqrt(rng.uniform(0.0, 1.0, n))
    theta = rng.uniform(0.0, 2.0 * math.pi, n)
    lat = centre[0] + r * np.sin(theta) / KM_PER_DEG_LAT
    lon = centre[1] + r * np.cos(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(centre[0])))
    return [
        Place(f"p{i}", float(a), float(b)) for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


def _literal(places: Sequence[Place], mode: str) -> np.ndarray:
    lat = np.array([p.lat for p in places])
    lon = np.array([p.lon for p in places])
    km = haversine_km_matrix(lat, lon, lat, lon)
    minutes = np.ceil(60.0 * DEFAULT_CIRCUITY * km / DEFAULT_SPEED_KMH[mode]).astype(np.int64)
    np.fill_diagonal(minutes, 0)
    return minutes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code (1 when ``--check`` finds a mismatch)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.travel_matrix", description=__doc__)
    parser.add_argument("--points", type=int, default=5000, help="number of places (5000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (5)")
    parser.add_argument("--mode", default="ebike", choices=sorted(DEFAULT_SPEED_KMH))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--check", action="store_true", help="compare with the literal formula (slow, more memory)"
    )
    args = parser.parse_args(argv)
    if args.points < 1 or args.repeat < 1:
        parser.error("--points and --repeat must be at least 1")

    places = random_places(args.points, seed=args.seed)
    provider = HaversineProvider()
    seconds = []
    matrix = provider.matrix(places, args.mode)  # warm-up: first-touch memory, imports
    for _ in range(args.repeat):
        start = time.perf_counter()
        matrix = provider.matrix(places, args.mode)
        seconds.append(time.perf_counter() - start)

    n = args.points
    print(f"travel matrix  haversine, mode {args.mode}, {n} places")
    print(f"  size         {n} x {n} = {n * n:,} entries, {matrix.nbytes / 2**20:.1f} MiB")
    print(f"  median       {statistics.median(seconds):.3f} s  ({args.repeat} runs)")
    print(f"  best         {min(seconds):.3f} s")
    print(f"  max minutes  {int(matrix.max())}")
    if args.check:
        mismatches = int(np.count_nonzero(matrix != _literal(places, args.mode)))
        print(f"  check        {mismatches} entries differ from the literal formula")
        if mismatches:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
