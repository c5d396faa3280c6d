"""The maximal covering model against brute force, and its edge cases."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from solver.covering import solve_covering


def brute_force(covers: list[list[bool]], weights: list[int], k: int) -> int:
    """The most weight any ``k`` rows cover, by trying every subset."""
    best = 0
    for rows in combinations(range(len(covers)), k):
        best = max(
            best,
            sum(w for j, w in enumerate(weights) if any(covers[i][j] for i in rows)),
        )
    return best


def covered(covers: list[list[bool]], weights: list[int], rows: tuple[int, ...]) -> int:
    return sum(w for j, w in enumerate(weights) if any(covers[i][j] for i in rows))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_equals_brute_force_and_is_proved_optimal(seed: int, k: int) -> None:
    rng = random.Random(seed * 10 + k)
    covers = [[rng.random() < 0.25 for _ in range(15)] for _ in range(8)]
    weights = [rng.randint(1, 5) for _ in range(15)]
    answer = solve_covering(covers, weights, k)
    assert answer.optimal
    assert len(answer.chosen) == k
    assert list(answer.chosen) == sorted(set(answer.chosen))
    assert answer.covered_weight == covered(covers, weights, answer.chosen)
    assert answer.covered_weight == brute_force(covers, weights, k)


def test_same_answer_every_run() -> None:
    rng = random.Random(7)
    covers = [[rng.random() < 0.3 for _ in range(30)] for _ in range(12)]
    weights = [rng.randint(0, 4) for _ in range(30)]
    assert solve_covering(covers, weights, 3) == solve_covering(covers, weights, 3)


def test_k_above_candidates_opens_them_all() -> None:
    covers = [[True, False, False], [False, True, False]]
    answer = solve_covering(covers, [2, 3, 4], 5)
    assert (answer.chosen, answer.covered_weight, answer.optimal) == ((0, 1), 5, True)


def test_zero_k_and_empty_demand_and_no_candidates() -> None:
    assert solve_covering([[True]], [3], 0) == solve_covering([], [3], 2)
    assert solve_covering([[True]], [3], 0).chosen == ()
    assert solve_covering([[True]], [3], 0).covered_weight == 0
    empty = solve_covering([[], []], [], 1)
    assert (empty.chosen, empty.covered_weight, empty.optimal) == ((0,), 0, True)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="k must"):
        solve_covering([[True]], [1], -1)
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        solve_covering([[True]], [-1], 1)
    with pytest.raises(ValueError, match=r"covers\[1\]"):
        solve_covering([[True], [True, False]], [1], 1)
