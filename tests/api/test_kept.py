"""Values kept between requests: bounded, and a value missing for several threads at once is
built by one of them."""

from __future__ import annotations

import threading
import time

import pytest

from api.services.kept import Kept


def test_concurrent_misses_build_once_and_everybody_gets_the_value() -> None:
    kept: Kept[str, int] = Kept(4)
    builds = []
    got: list[int] = []

    def build() -> int:
        builds.append(1)
        time.sleep(0.2)
        return 42

    def ask() -> None:
        got.append(kept.get_or_build("day", build))

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(builds), got) == (1, [42] * 10)


def test_a_stale_value_is_built_again_and_a_full_store_starts_over() -> None:
    kept: Kept[int, str] = Kept(2)
    assert kept.get_or_build(1, lambda: "a") == "a"
    assert kept.get_or_build(1, lambda: "b") == "a"
    assert kept.get_or_build(1, lambda: "c", lambda v: v != "a") == "c"
    kept.put(2, "x")
    kept.put(3, "y")  # full: the others are dropped
    assert (kept.get(1), kept.get(2), kept.get(3)) == (None, None, "y")


def test_a_failed_build_keeps_nothing_and_the_next_caller_builds() -> None:
    kept: Kept[str, int] = Kept(2)

    def broken() -> int:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        kept.get_or_build("k", broken)
    assert kept.get("k") is None
    assert kept.get_or_build("k", lambda: 7) == 7
