"""Ranking hotline options by urgency (加急/助急 by arrival, 普通 by added travel).

The line of places of :mod:`tests.dispatch.test_hotline`: one degree of longitude is 100
minutes. The caller lives at B. At 09:00 BUSY is at a visit at B (W1, started 08:50, ends
10:00) with two more visits there: taking the call at 10:00 costs no travel but moves W2 (10:00
→ 10:30) and W3 (10:40 → 11:00). FREE is idle at a station 35.5 minutes away: it leaves at
09:00 and is there at 09:36, moving nothing, at 36 + 36 = 72 added minutes.
"""

from __future__ import annotations

import pytest

from dispatch.hotline import (
    RANKED_BY_TEXT,
    Call,
    RouteVisit,
    find_insertions,
    find_pair_insertions,
    ranked_by,
)
from tests.dispatch.test_hotline import TRAVEL, B, caregiver, route

NOW = 540  # 09:00
W1 = RouteVisit("W1", 0.0, B, 530, 600, ((530, 600),))
W2 = RouteVisit("W2", 0.0, B, 600, 630, ((600, 640),))
W3 = RouteVisit("W3", 0.0, B, 640, 670, ((640, 680),))


def busy(cid: str = "BUSY") -> object:
    return route(caregiver(cid), W1, W2, W3)


def free(cid: str = "FREE") -> object:
    return route(caregiver(cid), station_lon=B + 0.355)


def urgent_call(urgency: str) -> Call:
    # The window of an urgent call as the service gives it, cut at 10:00 so that BUSY's only
    # place is right after W1.
    return Call(0.0, B, 30, (NOW, 600), "cleaning", urgency=urgency)  # type: ignore[arg-type]


def test_the_two_options_of_the_issue() -> None:
    answer = find_insertions(urgent_call("normal"), [busy(), free()], now=NOW, travel=TRAVEL)  # type: ignore[list-item]
    by_id = {o.caregiver: o for o in answer.options}
    assert (by_id["BUSY"].arrival, by_id["BUSY"].added_travel) == (600, 0)
    assert [(m.key, m.delay) for m in by_id["BUSY"].moves] == [("W2", 30), ("W3", 20)]
    assert (by_id["FREE"].arrival, by_id["FREE"].added_travel, by_id["FREE"].moves) == (
        576,
        72,
        (),
    )


@pytest.mark.parametrize("urgency", ["urgent", "emergency"])
def test_urgent_and_emergency_calls_rank_by_arrival(urgency: str) -> None:
    answer = find_insertions(urgent_call(urgency), [busy(), free()], now=NOW, travel=TRAVEL)  # type: ignore[list-item]
    assert [o.caregiver for o in answer.options] == ["FREE", "BUSY"]  # 09:36 before 10:00
    assert answer.ranked_by == "arrival"
    assert answer.ranked_by_text == RANKED_BY_TEXT["arrival"]


def test_normal_calls_rank_by_added_travel() -> None:
    answer = find_insertions(urgent_call("normal"), [busy(), free()], now=NOW, travel=TRAVEL)  # type: ignore[list-item]
    assert [o.caregiver for o in answer.options] == ["BUSY", "FREE"]  # 0 before 72 minutes
    assert answer.ranked_by == "added_travel"


def test_ties_in_arrival_go_to_less_added_travel() -> None:
    # Both leave stations 35.5 minutes away at 09:00 and are there at 09:36; ZZZ has a visit
    # at B at 11:00 anyway, so the call costs its route nothing, AAA's 72 minutes.
    later = RouteVisit("V", 0.0, B, 660, 690, ((600, 720),))
    idle = route(caregiver("AAA"), station_lon=B + 0.355)
    passing = route(caregiver("ZZZ"), later, station_lon=B + 0.355)
    answer = find_insertions(urgent_call("urgent"), [idle, passing], now=NOW, travel=TRAVEL)
    assert [(o.caregiver, o.arrival, o.added_travel) for o in answer.options] == [
        ("ZZZ", 576, 0),
        ("AAA", 576, 72),
    ]


def test_the_rule_of_each_urgency_is_named_in_both_languages() -> None:
    assert ranked_by("normal") == "added_travel"
    assert ranked_by("urgent") == ranked_by("emergency") == "arrival"
    for text in RANKED_BY_TEXT.values():
        assert " / " in text  # 中文 / English
    with pytest.raises(ValueError, match="urgency"):
        ranked_by("soon")  # type: ignore[arg-type]


# --- two-person calls (双人服务) ---------------------------------------------------------------


def pair_routes() -> list[object]:
    return [busy("BUSY1"), busy("BUSY2"), free("FREE1"), free("FREE2")]


@pytest.mark.parametrize("urgency", ["urgent", "emergency"])
def test_an_urgent_pair_ranks_by_when_both_are_there(urgency: str) -> None:
    answer = find_pair_insertions(
        urgent_call(urgency),
        pair_routes(),  # type: ignore[arg-type]
        now=NOW,
        travel=TRAVEL,
        limit=10,
    )
    best = answer.options[0]
    assert set(best.caregivers) == {"FREE1", "FREE2"}
    assert (best.start, best.added_travel, best.total_delay) == (576, 144, 0)
    assert answer.ranked_by == "arrival"


def test_a_normal_pair_ranks_by_added_travel() -> None:
    answer = find_pair_insertions(
        urgent_call("normal"),
        pair_routes(),  # type: ignore[arg-type]
        now=NOW,
        travel=TRAVEL,
        limit=10,
    )
    best = answer.options[0]
    assert set(best.caregivers) == {"BUSY1", "BUSY2"}
    assert (best.start, best.added_travel) == (600, 0)
    assert answer.ranked_by == "added_travel"
    assert answer.ranked_by_text == RANKED_BY_TEXT["added_travel"]
