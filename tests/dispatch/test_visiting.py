"""The visiting programme (探访关爱) on small hand-made districts worked out by hand.

February 2027 is four whole ISO weeks (Mondays 1, 8, 15 and 22; the 28th is a Sunday), so a
monthly household's deadline week is the one of the 22nd. Geometry as in ``test_greedy``:
circuity 1.0, e-bikes at 60 km/h, travel minutes = ceil(km).

    S1 (38.00, 106.00)  S2 (38.20, 106.00)
    H1 (38.02, 106.00)  H2 (38.03, 106.00)  H3 (38.04, 106.00)  H9 (38.18, 106.00)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from dispatch.checker import check_plan
from dispatch.cli import main as cli_main
from dispatch.document import DocumentError
from dispatch.greedy import plan_greedy
from dispatch.model import (
    Caregiver,
    Household,
    Plan,
    Route,
    Scenario,
    ServiceRequest,
    Station,
    Stop,
    TravelSettings,
)
from dispatch.plan_io import save_plan
from dispatch.programmes.visiting import (
    NOT_PLANNED,
    Ledger,
    LedgerEntry,
    PhoneVisit,
    RiskClass,
    Unplanned,
    Visit,
    VisitingRules,
    VisitingRun,
    default_visiting,
    format_ledger,
    ledger,
    ledger_from_files,
    ledger_to_dict,
    month_rate,
    parse_visiting,
    plan_visiting_weeks,
    with_visits,
)
from dispatch.scenario_io import load_scenario, save_scenario
from dispatch.timeutil import parse_hhmm as hm

WEEK = ("mon", "tue", "wed", "thu", "fri")
FAST = TravelSettings(circuity=1.0, speed_kmh=MappingProxyType({"ebike": 60.0}))
S1 = Station("S1", 38.00, 106.0)
S2 = Station("S2", 38.20, 106.0)
PLACES = {"H1": (38.02, 106.0), "H2": (38.03, 106.0), "H3": (38.04, 106.0), "H9": (38.18, 106.0)}
FEB = [dt.date(2027, 2, 1) + dt.timedelta(days=7 * k) for k in range(4)]
KNOWN = ("living_alone", "empty_nest", "left_behind", "disabled", "special_family")


def rules(**kw: Any) -> VisitingRules:
    """The bundled classes without the catch-all one: untagged households stay out."""
    base = default_visiting()
    return VisitingRules(
        **{
            "classes": base.classes[:2],
            "known_tags": base.known_tags,
            "other_services_count": False,
            "phone_counts": True,
            **kw,
        }
    )


def caregiver(cid: str, **kw: Any) -> Caregiver:
    shifts = MappingProxyType(dict.fromkeys(WEEK, (hm("08:00"), hm("17:00"))))
    base: dict[str, Any] = {
        "station": "S1",
        "skills": frozenset({"cleaning", "welfare_visit"}),
        "shifts": shifts,
    }
    return Caregiver(cid, **{**base, **kw})


def household(hid: str, *requests: ServiceRequest, **kw: Any) -> Household:
    lat, lon = PLACES[hid]
    return Household(hid, lat, lon, requests=requests, **kw)


def cleaning(rid: str, visits: int = 1) -> ServiceRequest:
    return ServiceRequest(
        rid, "cleaning", 90, ((hm("08:30"), hm("15:00")),), visits_per_week=visits
    )


def scenario(caregivers: list[Caregiver], households: list[Household]) -> Scenario:
    return Scenario(
        "visiting test",
        WEEK,
        (S1, S2),
        tuple(caregivers),
        tuple(households),
        week_start=FEB[0].isoformat(),
        travel=FAST,
    )


def run(sc: Scenario, r: VisitingRules, **kw: Any) -> VisitingRun:
    out = plan_visiting_weeks(sc, r, FEB[0], 4, plan=plan_greedy, **kw)
    for week, plan in zip(out.scenarios, out.plans, strict=True):
        report = check_plan(week, plan)
        assert report.violations == (), report.violations
    return out


def welfare_stops(out: VisitingRun, household_id: str) -> list[tuple[int, str]]:
    """(week index, day) of each programme visit of a household."""
    return [
        (k, route.day)
        for k, plan in enumerate(out.plans)
        for route in plan.routes
        for stop in route.stops
        if stop.request.startswith(f"{household_id}-visit-")
    ]


def entry_of(book: Ledger, household_id: str) -> LedgerEntry:
    return next(e for e in book.entries if e.household == household_id)


# --- scheduling across the month -------------------------------------------------------------


def test_a_monthly_household_is_visited_in_the_deadline_week_when_earlier_weeks_are_full():
    # C1 makes one visit a day and F needs one every weekday: no spare time in any week, so
    # the optional visits of weeks 1-3 would cost F a visit and are not kept; in the week of
    # the 22nd the visit is required and comes first (H1 is first in the file).
    sc = scenario(
        [caregiver("C1", max_visits_per_day=1)],
        [household("H1", tags=("empty_nest",)), household("H2", cleaning("F", 5))],
    )
    out = run(sc, rules())
    assert welfare_stops(out, "H1") == [(3, "mon")]
    ids = [r.id for h in out.scenarios[3].households for r in h.requests]
    assert ids == [f"H1-visit-{FEB[3]:%Y%m%d}", "F"]
    assert out.scenarios[3].household("H1").requests[0].priority == 80
    entry = entry_of(out.ledger, "H1")
    assert entry.risk_class.id == "key"
    assert [v.date for v in entry.visits] == [dt.date(2027, 2, 22)]
    assert entry.misses == ()
    assert month_rate(out.ledger, FEB[0]).district.rate == 1.0


def test_a_monthly_household_is_visited_early_once_when_there_is_spare_time():
    sc = scenario([caregiver("C1")], [household("H1", tags=("empty_nest",))])
    out = run(sc, rules())
    assert welfare_stops(out, "H1") == [(0, "mon")]
    assert out.scenarios[0].household("H1").requests[0].priority == 5
    # Met for the month: no visit request in the weeks after.
    assert all(not sc_.household("H1").requests for sc_ in out.scenarios[1:])
    assert len(entry_of(out.ledger, "H1").visits) == 1


def test_a_high_risk_household_is_visited_every_week():
    sc = scenario(
        [caregiver("C1"), caregiver("C2")],
        [household("H1", tags=("living_alone",), assessment_level=3)],
    )
    out = run(sc, rules())
    assert [k for k, _ in welfare_stops(out, "H1")] == [0, 1, 2, 3]
    assert all(s.household("H1").requests[0].priority == 80 for s in out.scenarios)
    entry = entry_of(out.ledger, "H1")
    assert entry.risk_class.id == "high_risk"
    assert len(entry.visits) == 4
    assert entry.misses == ()
    assert entry.overdue_days == 0
    assert entry.station == "S1"
    rate = month_rate(out.ledger, FEB[0])
    assert rate.district.rate == 1.0
    assert rate.misses == ()


def test_a_standing_cleaning_counts_only_when_other_services_count():
    sc = scenario([caregiver("C1")], [household("H1", cleaning("CL"), tags=("empty_nest",))])
    counted = with_visits(sc, rules(other_services_count=True), FEB[3], {})
    assert [r.id for r in counted.household("H1").requests] == ["CL"]
    needed = with_visits(sc, rules(other_services_count=False), FEB[3], {})
    visit = needed.household("H1").requests[1]
    assert (visit.id, visit.service, visit.minutes, visit.priority) == (
        f"H1-visit-{FEB[3]:%Y%m%d}",
        "welfare_visit",
        30,
        80,
    )
    assert visit.windows == ((hm("09:00"), hm("17:00")),)

    out = run(sc, rules(other_services_count=True))
    assert welfare_stops(out, "H1") == []
    assert entry_of(out.ledger, "H1").misses == ()
    out = run(sc, rules(other_services_count=False))
    assert len(welfare_stops(out, "H1")) == 1


def test_a_phone_visit_counts_only_when_phone_counts():
    sc = scenario([caregiver("C1")], [household("H1", tags=("empty_nest",))])
    call = PhoneVisit("H1", dt.date(2027, 2, 10), "hotline-3")
    empty = [(FEB[0], Plan("visiting test"))]
    yes = ledger(sc, rules(phone_counts=True), empty, on=dt.date(2027, 2, 28), phone_visits=[call])
    entry = entry_of(yes, "H1")
    assert entry.last_visit == Visit(dt.date(2027, 2, 10), "phone:hotline-3", "phone")
    assert entry.misses == ()
    assert month_rate(yes, FEB[0]).district.rate == 1.0
    no = ledger(sc, rules(phone_counts=False), empty, on=dt.date(2027, 2, 28), phone_visits=[call])
    entry = entry_of(no, "H1")
    assert entry.visits == ()
    assert [(m.start, m.end, m.reason) for m in entry.misses] == [
        (dt.date(2027, 2, 1), dt.date(2027, 2, 28), NOT_PLANNED)
    ]
    assert month_rate(no, FEB[0]).district.rate == 0.0
    # Planning knows the call: nothing is due in the deadline week.
    week = with_visits(sc, rules(), FEB[3], {"H1": [call.date]})
    assert week.household("H1").requests == ()


def test_overdue_days_by_hand():
    sc = scenario(
        [caregiver("C1")],
        [
            household("H1", tags=("empty_nest",)),
            household("H2", tags=("disabled",), assessment_level=4),
        ],
    )
    # H1 (monthly) was last visited on 10 January: February is due by the 28th, and on
    # 15 March that is 15 days ago; January is met, February missed.
    # H2 (weekly) was visited on Wednesday 10 February by C1: the next week (15-21 Feb) is due
    # by the 21st, and on Thursday the 25th that is 4 days ago.
    jan = dt.date(2027, 1, 4)
    visit = Route(
        "C1", "wed", hm("09:00"), hm("10:00"), (Stop("H2-visit-20270208", "H2", 549, 549, 579),)
    )
    plan = Plan("visiting test", routes=(visit,))
    calls = [PhoneVisit("H1", dt.date(2027, 1, 10), "desk")]
    book = ledger(
        sc, rules(), [(jan, Plan("x")), (FEB[1], plan)], on=dt.date(2027, 3, 15), phone_visits=calls
    )
    h1 = entry_of(book, "H1")
    assert (h1.next_due, h1.overdue_days) == (dt.date(2027, 2, 28), 15)
    assert [m.start for m in h1.misses] == [dt.date(2027, 2, 1)]
    assert h1.visits_in_period == 0
    book = ledger(sc, rules(), [(FEB[1], plan)], on=dt.date(2027, 2, 25))
    h2 = entry_of(book, "H2")
    assert h2.last_visit == Visit(dt.date(2027, 2, 10), "C1", "welfare_visit")
    assert (h2.next_due, h2.overdue_days) == (dt.date(2027, 2, 21), 4)
    assert [m.start for m in h2.misses] == [dt.date(2027, 2, 15)]


# --- the rule table --------------------------------------------------------------------------


def table(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "classes": [
            {"id": "high_risk", "tags_any": ["living_alone"], "min_level": 3, "every": "week"},
            {"id": "key", "tags_any": ["living_alone", "empty_nest"], "every": "month"},
            {"id": "other", "tags_any": [], "every": "quarter"},
        ],
        "known_tags": list(KNOWN),
    }
    doc.update(changes)
    return doc


def paths_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(DocumentError) as err:
        parse_visiting(doc)
    return [issue.path for issue in err.value.issues]


def test_a_good_table_reads_with_its_defaults():
    r = parse_visiting(table())
    assert [c.every for c in r.classes] == ["week", "month", "quarter"]
    assert r.classes[0].min_level == 3
    assert (r.service, r.minutes, r.window, r.priority, r.phone_counts) == (
        "welfare_visit",
        30,
        (540, 1020),
        80,
        True,
    )
    assert parse_visiting(table()).risk_class(Household("X", 0, 0, tags=("low",))).id == "other"


def test_an_unknown_tag_is_named_with_a_hint():
    doc = table()
    doc["classes"][0]["tags_any"] = ["living_alone", "livng_alone"]
    with pytest.raises(DocumentError) as err:
        parse_visiting(doc)
    assert str(err.value) == (
        "visiting.classes[0].tags_any[1]: unknown tag 'livng_alone' (did you mean 'living_alone'?)"
    )


def test_bad_every_duplicate_id_and_negative_minutes_are_named():
    doc = table(minutes=-30)
    doc["classes"][1]["every"] = "fortnight"
    doc["classes"][2]["id"] = "high_risk"
    assert paths_of(doc) == [
        "visiting.classes[1].every",
        "visiting.classes[2].id",
        "visiting.minutes",
    ]


def test_a_class_after_the_catch_all_is_never_reached():
    doc = table()
    doc["classes"].append({"id": "late", "tags_any": ["disabled"], "every": "week"})
    assert paths_of(doc) == ["visiting.classes[3]"]


# --- the monthly rate ------------------------------------------------------------------------

KEY = RiskClass("key", "重点", ("empty_nest",), "month")
WEEKLY = RiskClass("high_risk", "高风险", ("living_alone",), "week", 3)
QUARTER = RiskClass("other", "一般", (), "quarter")


def hand_entry(
    hid: str, station: str, risk: RiskClass, dates: list[int], unplanned: tuple[Unplanned, ...] = ()
) -> LedgerEntry:
    visits = tuple(Visit(dt.date(2027, 2, d), "C1", "welfare_visit") for d in dates)
    return LedgerEntry(hid, hid, risk, station, visits, dt.date(2027, 3, 31), 0, 0, (), unplanned)


def test_month_rate_per_station_street_and_district_by_hand():
    short = Unplanned(FEB[3], "capacity", "time used up")
    book = Ledger(
        on=dt.date(2027, 2, 28),
        start=FEB[0],
        entries=(
            hand_entry("A1", "S1", KEY, [3]),  # met
            hand_entry("A2", "S1", KEY, [], (short,)),  # missed: capacity
            hand_entry("B1", "S2", WEEKLY, [1, 9, 17, 26]),  # met
            hand_entry("B2", "S2", WEEKLY, [1, 9, 26]),  # week of the 15th missed
            hand_entry("C1", "S3", QUARTER, []),  # not yet due (quarter ends in March)
            hand_entry("C2", "S3", QUARTER, [12]),  # met
        ),
    )
    streets = {"S1": "Street A", "S2": "Street A", "S3": "Street B"}
    rate = month_rate(book, dt.date(2027, 2, 14), streets=streets)
    assert rate.month == FEB[0]
    assert {k: (r.met, r.households) for k, r in rate.stations.items()} == {
        "S1": (1, 2),
        "S2": (1, 2),
        "S3": (2, 2),
    }
    assert {k: (r.met, r.households) for k, r in rate.streets.items()} == {
        "Street A": (2, 4),
        "Street B": (2, 2),
    }
    assert (rate.district.met, rate.district.households) == (4, 6)
    assert [(m.household, m.reason) for m in rate.misses] == [
        ("A2", "capacity"),
        ("B2", NOT_PLANNED),
    ]
    assert rate.misses[0].text().startswith("capacity: 护理员工时或容量不足")
    assert rate.misses[1].start == dt.date(2027, 2, 15)
    # At the end of March the quarter is due, but the ledger starts in February: what C1 had
    # in January is unknown, so its quarter is not judged.
    march = month_rate(replace_on(book, dt.date(2027, 3, 31)), dt.date(2027, 3, 1))
    assert [m.household for m in march.misses] == ["A1", "A2", "B1", "B2"]
    # A ledger holding the whole quarter judges it: C1 missed it.
    whole = Ledger(dt.date(2027, 3, 31), dt.date(2026, 12, 28), book.entries)
    march = month_rate(whole, dt.date(2027, 3, 1))
    assert [m.household for m in march.misses] == ["A1", "A2", "B1", "B2", "C1"]


def replace_on(book: Ledger, on: dt.date) -> Ledger:
    return Ledger(on, book.start, book.entries)


# --- output ----------------------------------------------------------------------------------


def test_ledger_text_json_and_files(tmp_path, capsys):
    sc = scenario(
        [caregiver("C1")],
        [household("H1", tags=("living_alone",), assessment_level=3, name="王奶奶")],
    )
    out = run(sc, rules())
    text = format_ledger(out.ledger, streets={"S1": "Street A"})
    assert "下次应访 next due" in text and "王奶奶" in text and "Street A" in text
    assert "100.0 % (1/1)" in text
    data = ledger_to_dict(out.ledger)
    json.dumps(data, ensure_ascii=False)
    assert data["households"][0]["by"] == "C1"
    assert data["month_rate"]["district"]["rate"] == 1.0

    save_scenario(sc, tmp_path / "s.json")
    for k, plan in enumerate(out.plans):
        save_plan(plan, tmp_path / f"p{k}.json")
    rules_file = tmp_path / "rules.json"
    doc = table()
    rules_file.write_text(json.dumps(doc), encoding="utf-8")
    book = ledger_from_files(
        tmp_path / "s.json", [tmp_path / f"p{k}.json" for k in range(4)], rules_path=rules_file
    )
    assert book.on == dt.date(2027, 2, 28)
    assert len(entry_of(book, "H1").visits) == 4

    # The same through the command line: `dispatch visits SCENARIO PLAN...`.
    files = [str(tmp_path / f"p{k}.json") for k in range(4)]
    args = ["visits", str(tmp_path / "s.json"), *files, "--rules", str(rules_file)]
    assert cli_main([*args, "--month", "2027-02"]) == 0
    printed = capsys.readouterr().out
    assert "月探访率 monthly visit rate 2027-02" in printed and "100.0 % (1/1)" in printed
    assert cli_main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["households"][0]["by"] == "C1"
    assert cli_main([*args, "--on", "28.2.2027"]) == 2
    assert "--on: expected YYYY-MM-DD" in capsys.readouterr().err


# --- the demo district -----------------------------------------------------------------------


def test_the_demo_district_over_four_weeks_is_checker_clean_and_fully_visited():
    demo = load_scenario(Path(__file__).resolve().parents[2] / "data/demo/district.json").scenario
    first = dt.date.fromisoformat(demo.week_start or "")
    out = plan_visiting_weeks(demo, default_visiting(), first, 4, plan=plan_greedy)
    for week, plan in zip(out.scenarios, out.plans, strict=True):
        assert check_plan(week, plan).violations == ()
    assert len(out.ledger.entries) == len(demo.households)  # the catch-all class
    for entry in out.ledger.entries:
        if entry.risk_class.every == "week":
            assert len(entry.visits) >= 4, entry
    rate = month_rate(out.ledger, first)
    assert rate.district.households == len(demo.households)
    assert rate.district.rate == 1.0
