"""The planner's batches page in a real browser: a small batch started from the form (the
baseline and one caregiver more at each station), each variant's progress to done, the
comparison table with the baseline first and the differences to it, and the CSV download."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.web.conftest import Site, open_page


def test_a_planner_starts_a_batch_and_sees_the_comparison_table(browser: Any, site: Site) -> None:
    page, console = open_page(browser, site, "/batches", "planner")
    page.fill("#batch-name", "more staff")
    page.fill("#batch-add", "1")
    page.fill("#batch-demand", "1.0")
    page.fill("#batch-limit", "1")
    page.click("#start-batch")
    page.wait_for_selector("#batch-detail[data-status='done']", timeout=120000)
    variants = page.locator("#batch-variants li")
    assert variants.count() == 2
    assert page.locator("#batch-variants li[data-status='done']").count() == 2
    rows = page.locator("#batch-table tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-variant") == "baseline"
    assert rows.nth(1).get_attribute("data-variant") == "+1@each"
    # One caregiver more at the one station: the difference to the baseline is shown.
    caregivers = rows.nth(1).locator("td[data-kpi='caregivers']").inner_text()
    assert caregivers.replace(" ", "").endswith("+1"), caregivers
    assert page.locator("#batch-table button.publish").count() == 2
    batch = site.http.get("/batches").json()[0]
    assert batch["name"] == "more staff" and batch["status"] == "done"
    with page.expect_download() as got:
        page.click("#download-csv")
    download = got.value
    assert download.suggested_filename == f"batch-{batch['id']}.csv"
    with open(download.path(), encoding="utf-8-sig") as f:
        text = f.read()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["variant"] for line in lines] == ["baseline", "+1@each"]
    assert console.errors == []
    page.context.close()
