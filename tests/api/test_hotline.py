"""Hotline requests (12349), confirmation on a new published plan version, stale options,
emergencies and absences, on the tiny scenario's Monday of the current week.

The published plan: C1 (ebike, 08:00–17:00, rest 11:30–13:30) visits H1 (cleaning 09:00–10:30,
window 08:30–11:00) then H2 (welfare visit 10:40–11:10, window 09:00–12:00); C2 (walks,
08:00–12:00) has nothing on Monday.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.models import WorkOrder
from api.services import hotline, master
from api.services.errors import Conflict
from dispatch.checker import check_plan
from dispatch.greedy import plan_greedy
from dispatch.plan_io import parse_plan, plan_to_dict
from dispatch.reasons import Reason
from dispatch.scenario_io import parse_scenario
from tests.api.conftest import ADMIN, new_token, plan_doc, this_monday, week_scenario_doc
from tests.api.test_work_orders import act, check

MONDAY = this_monday().isoformat()


@pytest.fixture
def monday_plan(client: TestClient) -> dict[str, Any]:
    assert (
        client.post("/api/v1/scenario", json=week_scenario_doc(), headers=ADMIN).status_code == 200
    )
    stored = client.post("/api/v1/plans", json=plan_doc(c1_day="mon", c2_day="tue"), headers=ADMIN)
    plan_id = stored.json()["id"]
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    return {"plan": plan_id}


def ask(client: TestClient, **body: Any) -> Any:
    payload = {"date": MONDAY, "now": "08:00", "service": "welfare_visit", **body}
    return client.post("/api/v1/work-orders", json=payload, headers=ADMIN)


def visits(client: TestClient, caregiver: str) -> list[tuple[str | None, str, str]]:
    orders = client.get(
        f"/api/v1/caregivers/{caregiver}/assignments?date={MONDAY}", headers=ADMIN
    ).json()
    return [(o["request"], o["start"], o["status"]) for o in orders]


def test_request_proposes_caregivers_and_confirm_updates_the_routes(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    response = ask(client, household="H4", window={"from": "08:00", "to": "09:30"}, minutes=30)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["household"], answer["minutes"], answer["window"]) == (
        "H4",
        30,
        {"from": "08:00", "to": "09:30"},
    )
    options = answer["options"]
    # C1 fits H4 in before H1 on the e-bike; C2 walks there from the station and back.
    assert [o["caregiver"] for o in options] == ["C1", "C2"]
    assert options[0]["added_travel"] < options[1]["added_travel"]
    assert options[0]["position"] == 0 and options[0]["moved"] == []
    assert options[1]["eta"] > "08:00" and options[1]["minutes_to_arrive"] > 0
    order = answer["work_order"]
    created = client.get(f"/api/v1/work-orders/{order}", headers=ADMIN).json()
    assert (created["status"], created["source"], created["caregiver"]) == (
        "created",
        "hotline",
        None,
    )

    confirmed = client.post(
        f"/api/v1/work-orders/{order}/confirm", json={"caregiver": "C1", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["work_order"]["status"] == "dispatched"
    assert body["work_order"]["caregiver"] == "C1"
    assert body["work_order"]["start"] == options[0]["start"]
    assert visits(client, "C1") == [
        (f"hotline-{order}", options[0]["start"], "dispatched"),
        ("H1-clean", "09:00", "dispatched"),
        ("H2-visit", "10:40", "dispatched"),
    ]
    plans = {p["id"]: p for p in client.get("/api/v1/plans", headers=ADMIN).json()}
    assert plans[body["plan_id"]]["status"] == "published"
    assert plans[monday_plan["plan"]]["status"] == "done"
    assert body["plan_version"] == plans[monday_plan["plan"]]["version"] + 1
    doc = client.get(f"/api/v1/plans/{body['plan_id']}", headers=ADMIN).json()["document"]
    c1 = next(r for r in doc["routes"] if r["caregiver"] == "C1")
    assert [s["request"] for s in c1["stops"]] == [f"hotline-{order}", "H1-clean", "H2-visit"]
    # Confirming again is refused: the order is no longer waiting.
    again = client.post(
        f"/api/v1/work-orders/{order}/confirm", json={"caregiver": "C1", "option": 0}, headers=ADMIN
    )
    assert again.status_code == 409


def test_later_visits_move_and_their_orders_follow(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    # H3 forbids C2; a 10:30–10:45 start only fits between H1 and H2, pushing H2 later.
    answer = ask(client, household="H3", window={"from": "10:30", "to": "10:45"}).json()
    [option] = answer["options"]
    assert (option["caregiver"], option["position"]) == ("C1", 1)
    [moved] = option["moved"]
    assert (moved["request"], moved["start_before"]) == ("H2-visit", "10:40")
    assert moved["delay"] > 0 and moved["start_after"] > "10:40"
    order = answer["work_order"]
    confirmed = client.post(
        f"/api/v1/work-orders/{order}/confirm", json={"caregiver": "C1", "option": 0}, headers=ADMIN
    )
    assert confirmed.status_code == 200, confirmed.text
    assert visits(client, "C1") == [
        ("H1-clean", "09:00", "dispatched"),
        (f"hotline-{order}", option["start"], "dispatched"),
        ("H2-visit", moved["start_after"], "dispatched"),
    ]
    # Monday's routes keep every rule of the week's master data, which holds the hotline visit
    # as a one-off request of H3 on Monday; the stored master data does not.
    plan_id = confirmed.json()["plan_id"]
    doc = client.get(f"/api/v1/plans/{plan_id}", headers=ADMIN).json()["document"]
    stored = parse_scenario(client.get("/api/v1/scenario", headers=ADMIN).json()).scenario
    assert [r.id for r in stored.household("H3").requests] == ["H3-nurse"]
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        stored = master.week_scenario(session, this_monday())
    request = next(r for r in stored.household("H3").requests if r.id == f"hotline-{order}")
    assert (request.days, request.visits_per_week, request.windows) == (
        ("mon",),
        1,
        ((10 * 60 + 30, 10 * 60 + 45),),
    )
    report = check_plan(stored, parse_plan(doc))
    assert [v for v in report.violations if v.day == "mon"] == []


def test_stale_options_cannot_double_book(client: TestClient, monday_plan: dict[str, Any]) -> None:
    window = {"from": "08:00", "to": "12:00"}
    first = ask(client, household="H4", window=window).json()
    second = ask(client, household="H5", window=window).json()
    assert first["options"][0]["caregiver"] == second["options"][0]["caregiver"] == "C1"
    ok = client.post(
        f"/api/v1/work-orders/{first['work_order']}/confirm",
        json={"caregiver": "C1", "option": 0},
        headers=ADMIN,
    )
    assert ok.status_code == 200
    stale = client.post(
        f"/api/v1/work-orders/{second['work_order']}/confirm",
        json={"caregiver": "C1", "option": 0},
        headers=ADMIN,
    )
    assert stale.status_code == 409, stale.text
    assert "ask again" in stale.json()["error"]["message"]
    # C2's route did not change: its option is still good.
    c2 = next(o for o in second["options"] if o["caregiver"] == "C2")
    fine = client.post(
        f"/api/v1/work-orders/{second['work_order']}/confirm",
        json={"caregiver": "C2", "option": c2["option"]},
        headers=ADMIN,
    )
    assert fine.status_code == 200, fine.text
    unknown = ask(client, household="H4", window=window).json()
    wrong = client.post(
        f"/api/v1/work-orders/{unknown['work_order']}/confirm",
        json={"caregiver": "C3", "option": 0},
        headers=ADMIN,
    )
    assert wrong.status_code == 422


def test_emergency_without_anyone_near_says_so(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    # Nobody in the tiny district has the emergency (助急) skill.
    answer = ask(client, household="H4", service="emergency", urgency="emergency").json()
    assert answer["options"] == []
    assert answer["within_emergency_minutes"] is False
    assert "15" in answer["message"]
    assert answer["window"] == {"from": "08:00", "to": "10:00"}  # now .. now + 2 h


def test_new_caller_and_invalid_requests(client: TestClient, monday_plan: dict[str, Any]) -> None:
    caller = {
        "name": "新来电",
        "address": "丽景街道 9-1",
        "lat": 38.4884,
        "lon": 106.2371,
        "coord_system": "gcj02",
    }
    answer = ask(client, caller=caller, window={"from": "08:00", "to": "12:00"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["household"] == f"caller-{body['work_order']}"
    assert body["options"]
    both = ask(client, household="H4", caller=caller)
    assert both.status_code == 422
    assert ask(client, household="NOPE").status_code == 404
    assert ask(client, household="H4", service="juggling").status_code == 422
    assert ask(client, household="H4", date="2000-01-03").status_code == 409
    caregiver = new_token(client, "caregiver", "C1")
    denied = client.post(
        "/api/v1/work-orders",
        json={"household": "H4", "service": "welfare_visit"},
        headers=caregiver,
    )
    assert denied.status_code == 403


def test_day_routes_of_every_caregiver(client: TestClient, monday_plan: dict[str, Any]) -> None:
    routes = client.get(f"/api/v1/routes?date={MONDAY}", headers=ADMIN).json()
    assert {c: [o["request"] for o in orders] for c, orders in routes.items()} == {
        "C1": ["H1-clean", "H2-visit"]
    }


def test_absence_redistributes_the_day(client: TestClient, monday_plan: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/caregivers/C1/absence", json={"date": MONDAY, "now": "08:00"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Only C1 cleans: H1's visit is lost; C2 also does welfare visits and works Monday morning.
    assert [(r["request"], r["caregiver"]) for r in body["reassigned"]] == [("H2-visit", "C2")]
    [lost] = body["not_kept"]
    assert lost["request"] == "H1-clean"
    assert lost["reason"] in {r.value for r in Reason}
    assert visits(client, "C1") == []
    assert [v[0] for v in visits(client, "C2")] == ["H2-visit"]
    doc = client.get(f"/api/v1/plans/{body['plan_id']}", headers=ADMIN).json()
    assert doc["status"] == "published"
    scenario = parse_scenario(week_scenario_doc()).scenario
    report = check_plan(scenario, parse_plan(doc["document"]))
    # The hand-made plan never held the other requests and puts C2 on Tuesday, when C2 has no
    # shift; every rule about Monday's routes holds.
    assert [v for v in report.violations if v.rule != "unassigned" and v.day != "tue"] == []
    assert not [v for v in report.violations if v.request == "H1-clean"]
    unknown = client.post(
        "/api/v1/caregivers/NOPE/absence", json={"date": MONDAY, "now": "08:00"}, headers=ADMIN
    )
    assert unknown.status_code == 404


def test_two_dispatchers_confirming_at_once_cannot_both_book(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    window = {"from": "08:00", "to": "12:00"}
    first = ask(client, household="H4", window=window).json()
    second = ask(client, household="H5", window=window).json()
    database = client.app.state.database  # type: ignore[attr-defined]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def dispatcher(order: int) -> None:
        with database.session() as session:
            start.wait()
            try:
                hotline.confirm(session, order, "C1", 0)
                outcomes.append("booked")
            except Conflict as exc:
                # The loser is told to ask again, never that no plan is published.
                assert "route changed" in exc.message and "ask again" in exc.message, exc.message
                assert "请重新查询" in exc.message
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=dispatcher, args=(answer["work_order"],))
        for answer in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked", "conflict"]
    hotline_visits = [v for v in visits(client, "C1") if str(v[0]).startswith("hotline-")]
    assert len(hotline_visits) == 1
    published = [p for p in client.get("/api/v1/plans", headers=ADMIN).json()]
    assert sum(p["status"] == "published" for p in published) == 1


def _publish_greedy(client: TestClient) -> int:
    """Store the tiny scenario of this week and publish its greedy plan (checker-clean)."""
    doc = week_scenario_doc()
    assert client.post("/api/v1/scenario", json=doc, headers=ADMIN).status_code == 200
    plan = plan_to_dict(plan_greedy(parse_scenario(doc).scenario))
    stored = client.post("/api/v1/plans", json=plan, headers=ADMIN)
    assert stored.status_code == 201, stored.text
    plan_id = int(stored.json()["id"])
    assert client.post(f"/api/v1/plans/{plan_id}/publish", headers=ADMIN).status_code == 200
    return plan_id


def _check_published(client: TestClient) -> list[Any]:
    """The checker's findings on the plan in force this week, against the master data of the
    week with its one-off orders (the hotline visits booked so far)."""
    [week] = client.get(f"/api/v1/plans/in-force?from={MONDAY}", headers=ADMIN).json()
    doc = client.get(f"/api/v1/plans/{week['plan_id']}", headers=ADMIN).json()["document"]
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        scenario = master.week_scenario(session, this_monday())
    return list(check_plan(scenario, parse_plan(doc)).violations)


def test_confirmed_visits_of_a_known_household_and_a_new_caller_pass_the_checker(
    client: TestClient,
) -> None:
    _publish_greedy(client)
    assert list(_check_published(client)) == []
    known = ask(client, household="H4", window={"from": "08:00", "to": "12:00"}).json()
    caller = {
        "name": "新来电",
        "address": "丽景街道 9-1",
        "lat": 38.4884,
        "lon": 106.2371,
        "coord_system": "gcj02",
    }
    new = ask(client, caller=caller, window={"from": "13:30", "to": "16:00"}).json()
    for answer in (known, new):
        assert answer["options"], answer
        option = answer["options"][0]
        confirmed = client.post(
            f"/api/v1/work-orders/{answer['work_order']}/confirm",
            json={"caregiver": option["caregiver"], "option": option["option"]},
            headers=ADMIN,
        )
        assert confirmed.status_code == 200, confirmed.text
    assert list(_check_published(client)) == []
    # The new caller is the order's caller in the week's scenario, not a stored household.
    stored = parse_scenario(client.get("/api/v1/scenario", headers=ADMIN).json()).scenario
    assert f"caller-{new['work_order']}" not in {h.id for h in stored.households}
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        stored = master.week_scenario(session, this_monday())
    household = stored.household(f"caller-{new['work_order']}")
    assert household.name == "新来电"
    # Stored in WGS-84: the GCJ-02 point moves by a few hundred metres.
    assert (household.lat, household.lon) != (38.4884, 106.2371)
    assert abs(household.lat - 38.4884) < 0.01 and abs(household.lon - 106.2371) < 0.01
    assert [r.id for r in household.requests] == [f"hotline-{new['work_order']}"]
    # The scenario the next call works on is the week's, built once per stored revision.
    with database.session() as session:
        monday = this_monday()
        assert master.week_scenario(session, monday) is master.week_scenario(session, monday)


def test_absence_keeps_started_visits_and_reroutes_hotline_visits(client: TestClient) -> None:
    """C1 has checked in at H2 and has a confirmed afternoon hotline visit, then falls ill: the
    visit in progress stays on C1's route, the rest is re-routed or reported with a listed
    reason, and the whole published plan keeps every rule."""
    _publish_greedy(client)
    first = visits(client, "C1")[0]
    orders = client.get(f"/api/v1/caregivers/C1/assignments?date={MONDAY}", headers=ADMIN).json()
    started = next(o for o in orders if o["request"] == first[0])
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.id == started["id"]).values(status="checked_in")
        )
        session.commit()
    answer = ask(client, household="H4", window={"from": "13:30", "to": "16:00"}).json()
    [option] = answer["options"]  # only C1 does welfare visits in the afternoon
    assert option["caregiver"] == "C1"
    confirmed = client.post(
        f"/api/v1/work-orders/{answer['work_order']}/confirm",
        json={"caregiver": "C1", "option": 0},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
    response = client.post(
        "/api/v1/caregivers/C1/absence", json={"date": MONDAY, "now": "08:00"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    reasons = {r.value for r in Reason}
    lost = {n["request"]: n["reason"] for n in body["not_kept"]}
    assert f"hotline-{answer['work_order']}" in lost  # nobody else works that afternoon
    assert set(lost.values()) <= reasons
    doc = client.get(f"/api/v1/plans/{body['plan_id']}", headers=ADMIN).json()["document"]
    c1 = [r for r in doc["routes"] if r["caregiver"] == "C1" and r["day"] == "mon"]
    assert [[s["request"] for s in r["stops"]] for r in c1] == [[first[0]]]
    assert list(_check_published(client)) == []


@pytest.mark.parametrize("now", ["08:00", "11:50", "14:00"])
def test_a_two_person_call_is_booked_on_a_pair_and_survives_an_absence(
    client: TestClient, now: str
) -> None:
    """C1 and C2 give bed baths: one for H4 (双人服务) goes to both together. Both get the
    visit at one start, each with a work order; the published plan keeps every rule, also
    after C2 falls ill (nobody else bathes, so the visit is reported, not half kept), before,
    during and after C1's rest window (11:30-13:30): C1's rest is planned from ``now`` or
    kept where it was taken."""
    doc = week_scenario_doc()
    for c in doc["caregivers"][:2]:
        c["skills"].append("bed_bath")
    _publish(client, doc, plan_to_dict(plan_greedy(parse_scenario(doc).scenario)))
    assert _check_published(client) == []
    answer = ask(
        client, household="H4", service="bed_bath", window={"from": "08:00", "to": "10:00"}
    )
    assert answer.status_code == 201, answer.text
    options = answer.json()["options"]
    assert options, (answer.json()["message"], answer.json())
    best = options[0]
    assert best["partner"] is not None
    assert {best["caregiver"], best["partner"]["caregiver"]} == {"C1", "C2"}
    assert best["eta"] <= best["start"] and best["partner"]["eta"] <= best["start"]
    order = answer.json()["work_order"]
    confirmed = client.post(
        f"/api/v1/work-orders/{order}/confirm",
        json={"caregiver": best["partner"]["caregiver"], "option": best["option"]},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    request = f"hotline-{order}"
    assert body["partner_work_order"]["request"] == request
    starts = {c: [start for r, start, _ in visits(client, c) if r == request] for c in ("C1", "C2")}
    assert starts["C1"] == starts["C2"] == [best["start"]]
    assert _check_published(client) == []
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        week = master.week_scenario(session, this_monday())
    assert next(r for _, r in week.requests() if r.id == request).staff == 2
    gone = client.post(
        "/api/v1/caregivers/C2/absence", json={"date": MONDAY, "now": now}, headers=ADMIN
    )
    assert gone.status_code == 200, gone.text
    lost = [n for n in gone.json()["not_kept"] if n["request"] == request]
    assert len(lost) == 2 and {n["reason"] for n in lost} <= {r.value for r in Reason}
    assert _check_published(client) == []


def test_a_two_person_call_without_a_second_caregiver_says_so(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    response = ask(client, household="H4", service="bed_bath")
    assert response.status_code == 201, response.text
    assert response.json()["options"] == []
    assert "two caregivers" in response.json()["message"]


def _publish(client: TestClient, scenario: dict[str, Any], plan: dict[str, Any]) -> None:
    assert client.post("/api/v1/scenario", json=scenario, headers=ADMIN).status_code == 200
    stored = client.post("/api/v1/plans", json=plan, headers=ADMIN)
    assert stored.status_code == 201, stored.text
    published = client.post(f"/api/v1/plans/{stored.json()['id']}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text


def test_weekly_minutes_of_other_days_limit_the_options(client: TestClient) -> None:
    """C1 may work 2400 minutes a week; its Monday route spans 170 minutes (08:40–11:30) and
    H3's visit between H1 and H2 (C2 is forbidden there) brings it back later. With 1100
    minutes on Tuesday it is offered; with 1125 more on Wednesday (175 left for Monday) not."""
    doc = week_scenario_doc()
    for day in ("tue", "wed"):
        doc["caregivers"][0]["shifts"][day] = ["00:10", "23:50"]
    window = {"from": "10:30", "to": "10:45"}
    plan = plan_doc(c1_day="mon", c2_day="tue")
    plan["routes"].append(
        {"caregiver": "C1", "day": "tue", "leave": "00:10", "back": "18:30", "stops": []}
    )
    _publish(client, doc, plan)
    [option] = ask(client, household="H3", window=window).json()["options"]
    assert option["caregiver"] == "C1"
    plan["routes"].append(
        {"caregiver": "C1", "day": "wed", "leave": "00:10", "back": "18:55", "stops": []}
    )
    _publish(client, doc, plan)
    assert ask(client, household="H3", window=window).json()["options"] == []


@pytest.mark.parametrize(("capacity", "offered"), [(2, ["C2"]), (1, [])])
def test_a_call_carries_the_households_load(
    client: TestClient, capacity: int, offered: list[str]
) -> None:
    """H2's meals weigh 2 boxes; only C2 delivers meals."""
    doc = week_scenario_doc()
    doc["caregivers"][1]["capacity"] = capacity
    _publish(client, doc, plan_doc(c1_day="mon", c2_day="tue"))
    window = {"from": "10:30", "to": "11:30"}
    answer = ask(client, household="H2", service="meal_delivery", window=window).json()
    assert [o["caregiver"] for o in answer["options"]] == offered


@pytest.mark.parametrize(("weekly", "kept"), [(None, True), (100, False)])
def test_an_absence_counts_the_weekly_minutes_of_the_other_days(
    client: TestClient, weekly: int | None, kept: bool
) -> None:
    """C1 is ill on Monday; C2 could take H2's welfare visit but walks H4 for 90 minutes on
    Tuesday (09:00–10:30). With a weekly cap of 100 minutes the visit is not given to C2, as a
    hotline booking would not be."""
    doc = week_scenario_doc()
    c2 = doc["caregivers"][1]
    c2["shifts"]["tue"] = ["08:00", "12:00"]
    if weekly is not None:
        c2["max_minutes_per_week"] = weekly
    _publish(client, doc, plan_doc(c1_day="mon", c2_day="tue"))
    response = client.post(
        "/api/v1/caregivers/C1/absence", json={"date": MONDAY, "now": "08:00"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    given = {r["request"]: r["caregiver"] for r in body["reassigned"]}
    lost = {n["request"] for n in body["not_kept"]}
    if kept:
        assert given.get("H2-visit") == "C2"
    else:
        assert "H2-visit" in lost and "H2-visit" not in given


@pytest.mark.parametrize(
    ("urgency", "first", "rule"),
    [("urgent", "C2", "arrival"), ("emergency", "C2", "arrival"), ("normal", "C1", "added_travel")],
)
def test_urgent_calls_rank_by_arrival_and_say_so(
    client: TestClient, monday_plan: dict[str, Any], urgency: str, first: str, rule: str
) -> None:
    """At 09:10 C1 is at H1 until 10:30: it reaches H4 around 10:36 for a few minutes of
    added travel and moves H2; C2 walks there from the station by 09:27, 34 minutes there
    and back. An urgent call goes to whoever is there first, a normal one to the shorter
    detour."""
    window = {"from": "09:10", "to": "11:10"}
    response = ask(client, household="H4", urgency=urgency, now="09:10", window=window)
    assert response.status_code == 201, response.text
    answer = response.json()
    by_id = {o["caregiver"]: o for o in answer["options"]}
    assert by_id["C2"]["eta"] < by_id["C1"]["eta"]
    assert by_id["C1"]["added_travel"] < by_id["C2"]["added_travel"]
    assert by_id["C1"]["moved"] and not by_id["C2"]["moved"]
    assert answer["options"][0]["caregiver"] == first
    assert answer["ranked_by"] == rule
    assert " / " in answer["ranked_by_text"]


def test_a_call_after_a_booking_is_offered_on_the_booked_routes(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    """The day's routes kept between calls are built again once the plan changed: the second
    call's option is computed on the route with the first booking, so it can be confirmed."""
    window = {"from": "13:30", "to": "16:00"}
    first = ask(client, household="H4", window=window).json()
    option = first["options"][0]
    booked = client.post(
        f"/api/v1/work-orders/{first['work_order']}/confirm",
        json={"caregiver": option["caregiver"], "option": option["option"]},
        headers=ADMIN,
    )
    assert booked.status_code == 200, booked.text
    second = ask(client, household="H5", window=window).json()
    again = next(o for o in second["options"] if o["caregiver"] == option["caregiver"])
    confirmed = client.post(
        f"/api/v1/work-orders/{second['work_order']}/confirm",
        json={"caregiver": again["caregiver"], "option": again["option"]},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert list(_check_published(client)) == []


def test_a_call_after_a_check_in_is_offered_on_the_day_as_it_is(
    client: TestClient, monday_plan: dict[str, Any]
) -> None:
    """A check-in changes no plan version but fixes the visit: the day's routes kept from an
    earlier call are built again (the orders' stamp moved), so the option offered after it
    carries the caregiver's current route and can be confirmed. Offered on the routes kept
    from before, its route fingerprint would be stale and the confirm refused (409)."""
    window = {"from": "13:30", "to": "16:00"}
    assert ask(client, household="H4", window=window).status_code == 201  # routes now kept
    h1 = next(v for v in visits(client, "C1") if v[0] == "H1-clean")
    assert h1[2] == "dispatched"
    order = next(
        o["id"]
        for o in client.get(
            f"/api/v1/caregivers/C1/assignments?date={MONDAY}", headers=ADMIN
        ).json()
        if o["request"] == "H1-clean"
    )
    assert act(client, order, "accept", ADMIN).status_code == 200
    assert check(client, order, "check-in", "h1-in", f"{MONDAY}T09:00:00+08:00").status_code == 200
    later = ask(client, household="H5", window=window).json()
    c1 = next(o for o in later["options"] if o["caregiver"] == "C1")
    confirmed = client.post(
        f"/api/v1/work-orders/{later['work_order']}/confirm",
        json={"caregiver": "C1", "option": c1["option"]},
        headers=ADMIN,
    )
    assert confirmed.status_code == 200, confirmed.text
