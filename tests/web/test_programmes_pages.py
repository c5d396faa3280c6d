"""The planner's workbench shows the visiting programme and the month's settlement: the
ledger (月探访率 of the district, streets and stations, the misses, the households sortable by
overdue days and filtered by class, the map by status) and the settlement (totals, per
station, the Excel workbook fetched with the token)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.web.conftest import Site, open_page


def test_the_planner_sees_the_ledger_of_the_published_plan(browser: Any, site: Site) -> None:
    page, console = open_page(browser, site, "/plans", "planner")
    assert page.get_attribute("body", "data-ready") == "true"
    page.wait_for_selector("#ledger[data-ready='true']")
    ledger = site.http.get(f"/visits?on={site.date}").json()
    rate = ledger["month_rate"]
    district = page.inner_text("#ledger-district")
    assert "月探访率" in district and "全区" in district
    share = f"{rate['district']['rate'] * 100:.1f}%"
    assert share in district
    assert f"{rate['district']['met']}/{rate['district']['households']}" in district
    # One row per programme household, with the API's id, name, next due and overdue days.
    rows = page.locator("#ledger-households tbody tr")
    assert rows.count() == len(ledger["households"]) > 0
    first = ledger["households"][0]
    row = page.locator(f"#ledger-households tr[data-household='{first['household']}']")
    text = row.inner_text()
    assert first["name"] in text and first["next_due"] in text
    for station in rate["stations"]:
        assert page.locator("#ledger-rates tr[data-level='station']", has_text=station).count() == 1
    assert page.locator("#ledger-misses li").count() == len(rate["misses"])
    for miss in rate["misses"]:
        assert miss["text"] in page.inner_text("#ledger-misses")
    # Overdue households are marked; the map colours every household drawn.
    overdue = [h for h in ledger["households"] if h["overdue_days"] > 0]
    assert page.locator("#ledger-households tr.overdue").count() == len(overdue)
    assert page.locator("#ledger-map .households circle").count() == 5
    # Sorted by overdue days, most first; the header button (keyboard) turns it around.
    days = [int(x) for x in page.locator("#ledger-households tbody td.num").all_inner_texts()]
    assert days == sorted(days, reverse=True)
    page.focus("#ledger-sort")
    page.keyboard.press("Enter")
    days = [int(x) for x in page.locator("#ledger-households tbody td.num").all_inner_texts()]
    assert days == sorted(days)
    page.keyboard.press("Enter")
    assert page.get_attribute("#ledger-sort", "aria-pressed") == "true"
    # Filtered by class.
    klass = first["class"]
    page.select_option("#ledger-class", klass)
    expected = sum(1 for h in ledger["households"] if h["class"] == klass)
    assert rows.count() == expected
    page.select_option("#ledger-class", "")
    assert rows.count() == len(ledger["households"])
    # Two weeks on, the weekly household is overdue: its row is marked, its dot is orange,
    # and it sorts first.
    later = (date.fromisoformat(site.date) + timedelta(days=14)).isoformat()
    page.fill("#ledger-on", later)
    page.click("#show-ledger")
    page.wait_for_selector("#ledger-households tr.overdue")
    month = page.input_value("#ledger-month")
    then = site.http.get(f"/visits?on={later}&month={month}").json()
    late = {h["household"] for h in then["households"] if h["overdue_days"] > 0}
    missed = {m["household"] for m in then["month_rate"]["misses"]}
    assert late and "H1" in late, then
    assert {x.get_attribute("data-household") for x in page.locator("tr.overdue").all()} == late
    ids = page.locator("#ledger-households tbody tr").evaluate_all(
        "rows => rows.map((r) => r.dataset.household)"
    )
    assert ids[0] in late
    orange = "#ff7f0e" if "H1" not in missed else "#d62728"
    assert page.get_attribute("#ledger-map circle[data-household='H1']", "fill") == orange
    # Another month asks the API for that month's rate.
    page.fill("#ledger-month", "2020-01")
    page.click("#show-ledger")
    page.wait_for_function(
        "() => document.querySelector('#ledger-district').textContent.includes('2020-01')"
    )
    assert console.errors == []
    page.context.close()


def test_the_planner_sees_the_settlement_and_downloads_the_workbook(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    page, console = open_page(browser, site, "/plans", "planner")
    page.wait_for_selector("#settlement[data-ready='true']")
    month = site.date[:7]
    settled = site.http.get(f"/settlement?month={month}").json()
    totals = settled["totals"]
    assert page.inner_text("#settle-totals dd[data-total='payable']") == totals["payable_yuan"]
    assert page.inner_text("#settle-totals dd[data-total='withheld']") == totals["withheld_yuan"]
    planned = f"{totals['planned_fen'] / 100:.2f}"
    assert page.inner_text("#settle-totals dd[data-total='planned']") == planned
    assert page.locator("#settle-stations tbody tr").count() == len(settled["stations"])
    with page.expect_download() as info:
        page.click("#download-settlement")
    download = info.value
    assert download.suggested_filename == f"settlement-{month}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    assert console.errors == []
    page.context.close()


def test_the_panels_speak_english_after_the_switch(browser: Any, site: Site) -> None:
    page, console = open_page(browser, site, "/plans", "planner")
    page.click("#lang")
    page.wait_for_selector("body[data-ready='true'] #ledger[data-ready='true']")
    assert "Visiting ledger" in page.inner_text("#ledger-card h2")
    assert "Monthly visit rate" in page.inner_text("#ledger-district")
    assert "Settlement" in page.inner_text("#settlement-card h2")
    page.click("#lang")
    page.wait_for_selector("body[data-ready='true']")
    assert console.errors == []
    page.context.close()


def test_the_ledger_and_settlement_follow_the_console_roles(browser: Any, site: Site) -> None:
    # The workbench is the planner's page: a dispatcher and a caregiver are told so and it
    # loads nothing; the API lets the dispatcher read the ledger and refuses the caregiver.
    for role in ("dispatcher", "caregiver"):
        page, _console = open_page(browser, site, "/plans", role)
        assert page.get_attribute("body", "data-ready") == "refused"
        assert page.locator("#ledger, #settlement").count() == 0
        statuses = page.evaluate(
            """async (month) => Promise.all([`/api/v1/visits?month=${month}`,
                `/api/v1/settlement?month=${month}`, `/api/v1/settlement.xlsx?month=${month}`]
                .map(async (u) => (await fetch(u, {headers:
                    {Authorization: `Bearer ${sessionStorage.getItem('token')}`}})).status))""",
            site.date[:7],
        )
        assert statuses == ([200, 200, 200] if role == "dispatcher" else [403, 403, 403]), role
        page.context.close()
