"""Master data by date: the master data of a day, the scenario of a week with its arrivals,
departures and dated orders (``dispatch/calendar.py``)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.calendar import (
    DatedRequest,
    MasterChange,
    master_on,
    patterns_within,
    span_documents,
    week_document,
)
from dispatch.scenario_io import parse_scenario

MONDAY = dt.date(2026, 11, 23)
WEEK = ["mon", "tue", "wed", "thu", "fri", "sat"]
SHIFT = ["08:00", "17:00"]


def day(i: int) -> dt.date:
    """The date ``i`` days after the first Monday."""
    return MONDAY + dt.timedelta(days=i)


def caregiver(cid: str, station: str = "S1") -> dict[str, Any]:
    return {
        "id": cid,
        "station": station,
        "skills": ["cleaning", "welfare_visit"],
        "shifts": {d: list(SHIFT) for d in WEEK},
    }


def household(hid: str, lat: float = 38.49, **request: Any) -> dict[str, Any]:
    return {
        "id": hid,
        "lat": lat,
        "lon": 106.23,
        "requests": [
            {
                "id": f"{hid}-clean",
                "service": "cleaning",
                "minutes": 60,
                "windows": [["08:30", "16:00"]],
                "visits_per_week": 2,
                "min_gap_days": 2,
                **request,
            }
        ],
    }


BASE: dict[str, Any] = {
    "format": 1,
    "name": "calendar",
    "week_start": "2026-11-23",
    "days": WEEK,
    "stations": [
        {"id": "S1", "lat": 38.487, "lon": 106.231},
        {"id": "S2", "lat": 38.480, "lon": 106.220},
    ],
    "caregivers": [caregiver("C1"), caregiver("C2"), caregiver("C3", "S2")],
    "households": [
        household("H1"),
        household("H2", days=["mon", "wed", "fri"]),
        household("H3", patterns=[["mon", "thu"], ["tue", "fri"]]),
    ],
}
BASE["households"][0]["preferred_caregivers"] = ["C2"]


def parses(doc: dict[str, Any]) -> dict[str, Any]:
    parse_scenario(doc)
    return doc


def ids(doc: dict[str, Any], kind: str) -> list[str]:
    return [x["id"] for x in doc[kind]]


def find(doc: dict[str, Any], kind: str, entity: str) -> dict[str, Any]:
    return next(x for x in doc[kind] if x["id"] == entity)


def request(doc: dict[str, Any], hid: str) -> dict[str, Any]:
    reqs = find(doc, "households", hid)["requests"]
    assert len(reqs) == 1
    return reqs[0]


def test_the_base_parses() -> None:
    parses(copy.deepcopy(BASE))


# ---- master_on


def test_changes_apply_in_date_then_seq_order() -> None:
    moved = household("H1", lat=38.50)
    moved_again = household("H1", lat=38.51)
    changes = [
        MasterChange("household", "H1", day(7), moved_again, seq=2),
        MasterChange("household", "H1", day(7), moved, seq=1),
        MasterChange("household", "H1", day(3), household("H1", lat=38.40)),
    ]
    assert find(master_on(BASE, changes, day(2)), "households", "H1")["lat"] == 38.49
    assert find(master_on(BASE, changes, day(3)), "households", "H1")["lat"] == 38.40
    on = master_on(BASE, changes, day(7))
    assert find(on, "households", "H1")["lat"] == 38.51
    assert ids(on, "households") == ["H1", "H2", "H3"]  # replaced in its place


def test_removal_and_addition() -> None:
    changes = [
        MasterChange("caregiver", "C2", day(0), None),
        MasterChange("caregiver", "C9", day(0), caregiver("C9")),
        MasterChange("caregiver", "C7", day(0), None),  # not there: nothing happens
    ]
    on = master_on(BASE, changes, day(0))
    assert ids(on, "caregivers") == ["C1", "C3", "C9"]


def test_a_caregiver_who_left_is_no_longer_named_by_households() -> None:
    """H1 prefers C2; once C2 has left, H1 names nobody (the day still parses), while a
    household naming a caregiver who never existed is left for the validator to report."""
    on = master_on(BASE, [MasterChange("caregiver", "C2", day(3), None)], day(3))
    assert find(on, "households", "H1")["preferred_caregivers"] == []
    parses(on)
    typo = {**household("H4"), "preferred_caregivers": ["C8"]}
    on = master_on(BASE, [MasterChange("household", "H4", day(0), typo)], day(0))
    assert find(on, "households", "H4")["preferred_caregivers"] == ["C8"]
    back = [
        MasterChange("caregiver", "C2", day(1), None),
        MasterChange("caregiver", "C2", day(2), caregiver("C2")),
    ]
    assert find(master_on(BASE, back, day(2)), "households", "H1")["preferred_caregivers"] == ["C2"]


def test_closing_a_station_with_caregivers_does_not_crash() -> None:
    on = master_on(BASE, [MasterChange("station", "S2", day(0), None)], day(0))
    assert ids(on, "stations") == ["S1"]
    assert find(on, "caregivers", "C3")["station"] == "S2"  # for the caller to validate


def test_bad_kind_or_id() -> None:
    with pytest.raises(ValueError, match="unknown kind 'nurse'"):
        master_on(BASE, [MasterChange("nurse", "N1", day(0), None)], day(0))
    with pytest.raises(ValueError, match="has id 'C2'"):
        master_on(BASE, [MasterChange("caregiver", "C1", day(0), caregiver("C2"))], day(0))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2", "C9"]), st.integers(1, 60), st.booleans(), st.integers()
        ),
        max_size=6,
    )
)
def test_changes_after_the_day_leave_the_base(
    items: list[tuple[str, int, bool, int]],
) -> None:
    before = copy.deepcopy(BASE)
    changes = [
        MasterChange("caregiver", cid, day(n), None if gone else caregiver(cid), seq)
        for cid, n, gone, seq in items
    ]
    assert master_on(BASE, changes, day(0)) == BASE
    assert before == BASE


# ---- week_document


def test_a_week_without_changes_is_the_base_on_its_monday() -> None:
    doc = parses(week_document(BASE, [], day(7)))
    assert doc == {**BASE, "week_start": "2026-11-30"}


def test_a_caregiver_leaving_midweek_keeps_the_days_before() -> None:
    doc = parses(week_document(BASE, [MasterChange("caregiver", "C2", day(3), None)], MONDAY))
    assert list(find(doc, "caregivers", "C2")["shifts"]) == ["mon", "tue", "wed"]
    nxt = parses(week_document(BASE, [MasterChange("caregiver", "C2", day(3), None)], day(7)))
    assert ids(nxt, "caregivers") == ["C1", "C3"]
    # The household that preferred C2 no longer names the caregiver who left.
    assert find(nxt, "households", "H1")["preferred_caregivers"] == []


def test_a_caregiver_joining_midweek_gets_the_days_from_then_on() -> None:
    doc = parses(
        week_document(BASE, [MasterChange("caregiver", "C9", day(4), caregiver("C9"))], MONDAY)
    )
    assert list(find(doc, "caregivers", "C9")["shifts"]) == ["fri", "sat"]


def test_a_household_leaving_midweek_owes_what_its_days_hold() -> None:
    change = MasterChange("household", "H1", day(2), None)
    doc = parses(week_document(BASE, [change], MONDAY))
    # mon and tue left, two days apart wanted: one visit.
    assert request(doc, "H1") == {
        **request(BASE, "H1"),
        "days": ["mon", "tue"],
        "visits_per_week": 1,
    }
    # H2 allows mon, wed, fri; leaving on Thursday leaves mon and wed: still two visits.
    doc = parses(week_document(BASE, [MasterChange("household", "H2", day(3), None)], MONDAY))
    assert (request(doc, "H2")["days"], request(doc, "H2")["visits_per_week"]) == (
        ["mon", "wed"],
        2,
    )


def test_a_household_leaving_with_no_day_left_loses_its_requests() -> None:
    doc = parses(week_document(BASE, [MasterChange("household", "H2", day(1), None)], MONDAY))
    # H2 allows mon, wed, fri: Monday is left, one visit.
    assert request(doc, "H2")["days"] == ["mon"]
    doc = parses(week_document(BASE, [MasterChange("household", "H3", day(1), None)], MONDAY))
    # H3's patterns: only ["mon"] of ["mon", "thu"] is left, one visit on it.
    assert request(doc, "H3")["patterns"] == [["mon"]]
    assert request(doc, "H3")["visits_per_week"] == 1
    moved = household("H2", days=["thu", "fri"])
    doc = parses(
        week_document(
            BASE,
            [
                MasterChange("household", "H2", day(0), moved),
                MasterChange("household", "H2", day(2), None),
            ],
            MONDAY,
        )
    )
    assert find(doc, "households", "H2")["requests"] == []


def test_patterns_narrow_with_the_days() -> None:
    # Leaving on Friday: ["mon", "thu"] is whole, ["tue"] is shorter and goes.
    doc = parses(week_document(BASE, [MasterChange("household", "H3", day(4), None)], MONDAY))
    r = request(doc, "H3")
    assert (r["days"], r["patterns"], r["visits_per_week"]) == (
        ["mon", "tue", "wed", "thu"],
        [["mon", "thu"]],
        2,
    )
    assert patterns_within([["mon", "thu"], ["tue", "fri"]], ["tue", "thu"]) == (
        ("thu",),
        ("tue",),
    )
    assert patterns_within(None, ["mon"]) is None


def test_a_household_arriving_midweek() -> None:
    new = household("H9", lat=38.495)
    doc = parses(week_document(BASE, [MasterChange("household", "H9", day(3), new)], MONDAY))
    r = request(doc, "H9")
    assert (r["days"], r["visits_per_week"]) == (["thu", "fri", "sat"], 2)
    assert ids(doc, "households") == ["H1", "H2", "H3", "H9"]


def test_a_station_closing_midweek_trims_its_caregivers() -> None:
    doc = parses(week_document(BASE, [MasterChange("station", "S2", day(5), None)], MONDAY))
    assert ids(doc, "stations") == ["S1", "S2"]
    assert list(find(doc, "caregivers", "C3")["shifts"]) == ["mon", "tue", "wed", "thu", "fri"]
    assert list(find(doc, "caregivers", "C1")["shifts"]) == WEEK


def test_a_change_of_attributes_midweek_waits_for_the_next_week() -> None:
    moved = household("H1", lat=38.52)
    changes = [MasterChange("household", "H1", day(2), moved)]
    this = parses(week_document(BASE, changes, MONDAY))
    assert find(this, "households", "H1") == find(BASE, "households", "H1")
    nxt = parses(week_document(BASE, changes, day(7)))
    assert find(nxt, "households", "H1")["lat"] == 38.52


def test_dated_request_of_a_master_household() -> None:
    order = DatedRequest(
        "hotline-17",
        day(2),
        "H1",
        {
            "service": "welfare_visit",
            "minutes": 30,
            "windows": [["09:00", "12:00"]],
            "patterns": [["wed"]],
            "visits_per_week": 3,
        },
    )
    doc = parses(week_document(BASE, [], MONDAY, [order]))
    added = find(doc, "households", "H1")["requests"][-1]
    assert added == {
        "id": "hotline-17",
        "service": "welfare_visit",
        "minutes": 30,
        "windows": [["09:00", "12:00"]],
        "days": ["wed"],
        "visits_per_week": 1,
        "min_gap_days": 1,
    }
    # Not in the following week.
    assert week_document(BASE, [], day(7), [order]) == week_document(BASE, [], day(7))


def test_dated_request_of_a_caller_and_on_a_day_not_planned() -> None:
    caller = {"id": "X1", "name": "来电老人", "lat": 38.49, "lon": 106.24}
    order = DatedRequest("hotline-18", day(6), "X1", {"service": "welfare_visit"}, caller=caller)
    doc = parses(week_document(BASE, [], MONDAY, [order]))
    assert doc["days"] == [*WEEK, "sun"]
    x1 = find(doc, "households", "X1")
    assert x1["name"] == "来电老人" and [r["id"] for r in x1["requests"]] == ["hotline-18"]
    # Standing requests without days keep the days they had.
    assert request(doc, "H1")["days"] == WEEK
    assert "days" not in request(BASE, "H1")


def test_dated_request_of_an_unknown_household() -> None:
    order = DatedRequest("hotline-19", day(1), "H404", {"service": "welfare_visit"})
    with pytest.raises(ValueError, match="unknown household 'H404'"):
        week_document(BASE, [], MONDAY, [order])
    gone = [MasterChange("household", "H1", day(1), None)]
    order = DatedRequest("hotline-20", day(2), "H1", {"service": "welfare_visit"})
    with pytest.raises(ValueError, match="'H1' is not there"):
        week_document(BASE, gone, MONDAY, [order])


def test_inputs_are_not_changed() -> None:
    base = copy.deepcopy(BASE)
    new = household("H9")
    new_copy = copy.deepcopy(new)
    caller = {"id": "X1", "lat": 38.49, "lon": 106.24}
    changes = [
        MasterChange("household", "H9", day(3), new),
        MasterChange("household", "H1", day(2), None),
        MasterChange("caregiver", "C1", day(8), caregiver("C1")),
    ]
    orders = [DatedRequest("hotline-1", day(9), "X1", {"service": "welfare_visit"}, caller)]
    docs = span_documents(BASE, changes, MONDAY, 3, orders)
    assert base == BASE and new == new_copy and caller == {"id": "X1", "lat": 38.49, "lon": 106.24}
    assert [d["week_start"] for d in docs] == ["2026-11-23", "2026-11-30", "2026-12-07"]
    for d in docs:
        parses(d)
    docs[0]["households"][0]["requests"].clear()
    assert base == BASE


def test_week_document_wants_a_monday() -> None:
    with pytest.raises(ValueError, match="not a Monday"):
        week_document(BASE, [], day(1))
    with pytest.raises(ValueError, match="at least 1"):
        span_documents(BASE, [], MONDAY, 0)
