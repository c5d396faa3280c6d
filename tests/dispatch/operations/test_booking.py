"""Hotline bookings on the plan model: today's routes, the offer, the new version."""

from __future__ import annotations

from dispatch.checker import check_plan
from dispatch.hotline import Call, HotlineAnswer
from dispatch.model import Household
from dispatch.operations.booking import (
    book_visit,
    day_routes,
    offer,
    one_off_request,
    with_request,
)
from tests.dispatch.operations.conftest import orders, plan, scenario


def test_day_routes_come_from_the_plan_and_the_orders() -> None:
    routes, by_caregiver = day_routes(scenario(), plan(), "mon", orders())
    a, b = routes
    assert [v.key for v in a.visits] == ["1"] and a.leave == 537 and a.minutes_elsewhere == 0
    assert b.visits == () and b.minutes_elsewhere == 540
    assert [o.key for o in by_caregiver["A"]] == [1]


def test_a_booked_call_is_a_new_version_that_keeps_every_rule() -> None:
    """A second visit to H1 at 10:00–10:30 goes to A right after its first one, or to B."""
    tiny = scenario()
    call = Call(38.475, 106.27, 30, (600, 660), "welfare_visit", place="household:H1")
    found = offer(tiny, plan(), "mon", orders(), call, staff=1, now=480)
    assert isinstance(found.answer, HotlineAnswer)
    best = found.answer.options[0]
    assert (best.caregiver, best.start, best.added_travel) == ("A", 600, 0)
    request = one_off_request(
        "hotline-7", "welfare_visit", minutes=30, window=(600, 660), day="mon"
    )
    done = book_visit(
        tiny, plan(), "mon", [best], household=Household("H1", 38.475, 106.27), request=request
    )
    updated, booked = done.scenario, done.plan
    assert [r.id for r in updated.household("H1").requests] == ["R1", "hotline-7"]
    [a] = [r for r in booked.routes if r.caregiver == "A"]
    assert [(s.request, s.start, s.end) for s in a.stops] == [
        ("R1", 540, 600),
        ("hotline-7", 600, 630),
    ]
    assert a.back == best.back == 633
    assert booked.kpis["planned_visits"] == 2.0
    assert check_plan(updated, booked).ok


def test_a_new_caller_becomes_a_household_of_the_scenario() -> None:
    request = one_off_request(
        "hotline-8", "welfare_visit", minutes=30, window=(600, 660), day="mon"
    )
    updated = with_request(scenario(), Household("caller-8", 38.48, 106.27), request)
    assert [r.id for r in updated.household("caller-8").requests] == ["hotline-8"]
    assert len(updated.households) == 2
