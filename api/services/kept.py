"""Values kept between requests in one server process, each under a key that changes when the
value would (a revision, a stamp of the rows it was built from): nothing is ever invalidated by
hand, a stale value is simply never asked for again.

:class:`Kept` is bounded (emptied when full) and builds a missing value once: when ten
dispatchers' calls miss the same day at once (the first calls after a plan is published), one
of them builds it and the others wait for it instead of building it ten times over, which
would make every one of them as slow as all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Kept"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """At most ``size`` values by key; thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: dict[K, V] = {}
        self._building: dict[K, threading.Lock] = {}

    def get(self, key: K) -> V | None:
        """The value kept under ``key``, if any."""
        with self._lock:
            return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` (everything kept is dropped first when full)."""
        with self._lock:
            if len(self._values) >= self.size and key not in self._values:
                self._values.clear()
            self._values[key] = value

    def get_or_build(
        self,
        key: K,
        build: Callable[[], V],
        fresh: Callable[[V], bool] | None = None,
    ) -> V:
        """The value under ``key`` (when ``fresh`` says it still is, if given), else
        ``build()``'s, kept. Threads missing the same key at once build it once."""
        found = self.get(key)
        if found is not None and (fresh is None or fresh(found)):
            return found
        with self._lock:
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            found = self.get(key)
            if found is not None and (fresh is None or fresh(found)):
                return found
            try:
                value = build()
                self.put(key, value)
            finally:
                with self._lock:
                    if self._building.get(key) is gate:
                        del self._building[key]
            return value
