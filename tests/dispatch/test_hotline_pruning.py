"""The hotline tries routes in order of a lower bound and stops early: its answer must be the
one of trying every route (:func:`dispatch.hotline._options`, ranked), on random days."""

from __future__ import annotations

import random
from types import MappingProxyType

import pytest

from dispatch.hotline import (
    Call,
    RouteVisit,
    _candidates,
    _legs,
    _options,
    _rank,
    find_insertions,
)
from tests.dispatch.test_hotline import TRAVEL, caregiver, route


def _day(rng: random.Random, caregivers: int) -> list[object]:
    routes = []
    for k in range(caregivers):
        t = 480 + rng.randrange(60)
        visits = []
        for v in range(rng.randrange(6)):
            t += rng.randrange(5, 40)
            length = rng.choice((30, 45, 60))
            windows = ((t, t + rng.randrange(0, 60)),) if rng.random() < 0.7 else ()
            lon = rng.uniform(0.0, 0.4)
            visits.append(RouteVisit(f"V{k}-{v}", 0.0, lon, t, t + length, windows))
            t += length
        shifts = {"mon": (480, 1020)} if rng.random() < 0.9 else {"tue": (480, 1020)}
        c = caregiver(f"C{k:02d}", shifts=MappingProxyType(shifts))
        routes.append(route(c, *visits, station_lon=rng.uniform(0.0, 0.4)))
    return routes


@pytest.mark.parametrize("urgency", ["normal", "urgent", "emergency"])
def test_the_pruned_answer_is_the_exhaustive_one(urgency: str) -> None:
    rng = random.Random(7)
    compared = 0
    for _ in range(150):
        routes = _day(rng, rng.randrange(1, 12))
        start = rng.randrange(480, 900)
        call = Call(
            0.0,
            rng.uniform(0.0, 0.4),
            rng.choice((30, 60)),
            (start, start + rng.randrange(0, 240)),
            "cleaning",
            urgency=urgency,  # type: ignore[arg-type]
        )
        now = rng.randrange(480, 840)
        limit = rng.randrange(1, 4)
        answer = find_insertions(call, routes, now=now, travel=TRAVEL, limit=limit)  # type: ignore[arg-type]
        provider, candidates = _candidates(call, routes, TRAVEL, limit)  # type: ignore[arg-type]
        every = _options(call, _legs(call, candidates, provider), now=now)
        every.sort(key=lambda o: (*_rank(call, o), o.caregiver))
        assert answer.options == tuple(every[:limit])
        compared += bool(every)
    assert compared > 50  # most days have somebody who can take the call
