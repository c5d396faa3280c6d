"""Monthly settlement: exceptions withheld, pro rata hours, the entitlement, sums to the fen."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from dispatch.evidence import FLAG_CHECK_IN_OUTSIDE, FLAG_SHORT_VISIT
from dispatch.model import Household
from dispatch.programmes.entitlements import parse_tables
from dispatch.programmes.settlement import (
    DeliveredVisit,
    Settlement,
    escape_cell,
    settle,
    settlement_workbook,
)

TZ = dt.timezone(dt.timedelta(hours=8))


def tables(*, top_up: bool = False) -> Any:
    """Cleaning 30 yuan an hour, a welfare visit 10 yuan; 200 yuan a month for level-1
    low-income households."""
    return parse_tables(
        {
            "format": 1,
            "prices": {
                "cleaning": {"per": "hour", "yuan": 30},
                "welfare_visit": {"per": "visit", "yuan": 10},
            },
            "entitlements": {
                "basic": {
                    "yuan_per_month": 200,
                    "levels": [1],
                    "tags": ["low_income"],
                    "top_up": top_up,
                }
            },
            "packages": {},
        }
    )


HOUSEHOLDS = (
    Household("H1", 0, 0, assessment_level=1, tags=("low_income",)),
    Household("H2", 0, 0, assessment_level=1, tags=("low_income",)),
    Household("H3", 0, 0, assessment_level=1),  # no scheme: the family pays
)


def visit(
    order: int,
    household: str,
    station: str,
    service: str,
    day: int,
    planned: int,
    delivered: int | None,
    *,
    checked_in: bool = True,
    flags: tuple[str, ...] = (),
) -> DeliveredVisit:
    start = dt.datetime(2026, 12, day, 9, 0, tzinfo=TZ)
    return DeliveredVisit(
        order=order,
        household=household,
        station=station,
        caregiver="C1",
        service=service,
        date=start.date(),
        planned_minutes=planned,
        checked_in=start if checked_in else None,
        checked_out=None if delivered is None else start + dt.timedelta(minutes=delivered),
        flags=flags,
    )


LINES = (
    visit(1, "H1", "S1", "cleaning", 1, 60, 60),  # 30.00 paid
    visit(2, "H1", "S1", "cleaning", 2, 60, 20, flags=(FLAG_SHORT_VISIT,)),  # 30.00 withheld
    visit(3, "H1", "S1", "welfare_visit", 3, 30, 30, flags=(FLAG_CHECK_IN_OUTSIDE,)),  # 10.00
    visit(4, "H1", "S1", "cleaning", 4, 60, None),  # no check-out: 30.00 withheld
    visit(5, "H1", "S1", "cleaning", 5, 90, 80),  # 45.00 planned, 40.00 paid for 80 minutes
    visit(6, "H1", "S1", "welfare_visit", 6, 30, None, checked_in=False),  # 10.00 withheld
    *(visit(6 + d, "H2", "S2", "cleaning", d, 120, 120) for d in range(1, 5)),  # 60.00 each
    visit(11, "H3", "S2", "welfare_visit", 1, 30, 30),  # 10.00, no scheme
)


def by_order(settlement: Settlement) -> dict[int, tuple[int, int, int, int, str | None]]:
    return {
        x.visit.order: (x.planned, x.subsidy, x.family, x.withheld, x.exception)
        for x in settlement.lines
    }


def test_exceptions_are_withheld_with_their_names() -> None:
    lines = by_order(settle(LINES, tables(), "2026-12", households=HOUSEHOLDS))
    assert lines[1] == (3000, 3000, 0, 0, None)
    assert lines[2] == (3000, 0, 0, 3000, "short_visit")
    assert lines[3] == (1000, 0, 0, 1000, "outside_geofence")
    assert lines[4] == (3000, 0, 0, 3000, "missing_check_out")
    assert lines[5] == (4500, 4000, 0, 500, None)
    assert lines[6] == (1000, 0, 0, 1000, "not_delivered")
    assert lines[11] == (1000, 0, 1000, 0, None)


def test_the_entitlement_caps_the_subsidy() -> None:
    lines = by_order(settle(LINES, tables(), "2026-12", households=HOUSEHOLDS))
    assert [lines[o] for o in (7, 8, 9, 10)] == [
        (6000, 6000, 0, 0, None),
        (6000, 6000, 0, 0, None),
        (6000, 6000, 0, 0, None),
        (6000, 2000, 0, 4000, "over_entitlement"),
    ]
    topped = by_order(settle(LINES, tables(top_up=True), "2026-12", households=HOUSEHOLDS))
    assert topped[10] == (6000, 2000, 4000, 0, None)


def test_totals_are_the_sums_of_their_lines_to_the_fen() -> None:
    s = settle(LINES, tables(), "2026-12", households=HOUSEHOLDS)
    hand = {
        "H1": (15500, 7000, 0, 8500),
        "H2": (24000, 20000, 0, 4000),
        "H3": (1000, 0, 1000, 0),
    }
    assert {t.key: (t.planned, t.subsidy, t.family, t.withheld) for t in s.households} == hand
    assert {t.key: (t.planned, t.subsidy, t.family, t.withheld) for t in s.stations} == {
        "S1": (15500, 7000, 0, 8500),
        "S2": (25000, 20000, 1000, 4000),
    }
    total = s.total
    assert (total.lines, total.planned, total.subsidy, total.family, total.withheld) == (
        11,
        40500,
        27000,
        1000,
        12500,
    )
    for totals in (*s.households, *s.stations, total):
        mine = [
            x
            for x in s.lines
            if totals is total or totals.key in (x.visit.household, x.visit.station)
        ]
        assert totals.planned == sum(x.planned for x in mine)
        assert totals.payable == sum(x.payable for x in mine)
        assert totals.withheld == sum(x.withheld for x in mine)
    for x in s.lines:
        assert x.planned == x.subsidy + x.family + x.withheld


def test_a_visit_of_another_month_is_refused() -> None:
    with pytest.raises(ValueError, match="not in 2027-01"):
        settle(LINES, tables(), "2027-01", households=HOUSEHOLDS)


def test_the_workbook_has_four_sheets_with_the_hand_totals_and_escaped_text() -> None:
    hostile = visit(12, '=HYPERLINK("http://x")', "@S9", "welfare_visit", 7, 30, 30)
    s = settle((*LINES, hostile), tables(), "2026-12", households=HOUSEHOLDS)
    book = openpyxl.load_workbook(io.BytesIO(settlement_workbook(s)))
    assert book.sheetnames == ["明细", "按家庭", "按站点", "汇总"]
    summary = list(book["汇总"].iter_rows(values_only=True))
    assert summary[0][:2] == ("月份 month", "单数 lines")
    assert summary[1] == ("2026-12", 12, 415, 270, 20, 290, 125)
    households = {row[0]: row for row in book["按家庭"].iter_rows(min_row=2, values_only=True)}
    assert households["H1"][1:] == ("basic", 6, 155, 70, 0, 70, 85)
    lines = list(book["明细"].iter_rows(min_row=2, values_only=True))
    assert lines[-1][2:4] == ('\'=HYPERLINK("http://x")', "'@S9")
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)
    stations = {row[0] for row in book["按站点"].iter_rows(min_row=2, values_only=True)}
    assert stations == {"S1", "S2", "'@S9"}


def test_escape_cell() -> None:
    assert [escape_cell(v) for v in ("=1+1", "+86", "-x", "@a", "ok", 5)] == [
        "'=1+1",
        "'+86",
        "'-x",
        "'@a",
        "ok",
        5,
    ]
