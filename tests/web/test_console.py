"""The console's pages for each role and the stories of the issue, in one server session
(in file order: the pages, the dispatcher's call, the caregiver's visit, the planner's job)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Site, open_page

PAGES = {
    "dispatcher": ["/", "/board", "/hotline"],
    "planner": ["/", "/plans", "/batches"],
    "caregiver": ["/", "/phone"],
    "admin": ["/", "/board", "/hotline", "/plans", "/batches", "/phone"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_page_of_each_role_loads_without_console_errors(
    browser: Any, site: Site, role: str
) -> None:
    for path in PAGES[role]:
        page, console = open_page(browser, site, path, role)
        assert page.get_attribute("body", "data-ready") == "true", path
        assert console.errors == [], (path, console.errors)
        page.context.close()


def test_the_board_draws_map_timeline_and_queue_and_selects_a_visit(
    browser: Any, site: Site
) -> None:
    page, console = open_page(browser, site, "/board", "dispatcher")
    assert page.locator("#map svg .stations rect").count() == 1
    assert page.locator("#map svg .households circle").count() == 5
    bars = page.locator("#timeline rect[data-order]")
    assert bars.count() == 3
    assert page.locator("#timeline .part-travel").count() >= 1
    assert page.locator("#timeline .part-rest").count() == 1
    page.wait_for_selector("#queue tbody tr")
    assert page.locator("#queue tbody tr").count() == 3
    # Keyboard: Tab to a bar, Enter selects it; the queue row and the map dot light up.
    bars.first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail-household")
    assert "刘奶奶" in page.inner_text("#details")
    assert page.locator("#queue tr.lit").count() == 1
    assert page.locator("#map circle.lit").count() == 1
    page.select_option("#queue-filter", "refused")
    page.wait_for_function("() => document.querySelectorAll('#queue tbody tr').length === 0")
    page.click("#lang")
    page.wait_for_selector("body[data-ready='true']")
    assert "Day board" in page.inner_text("main h1")
    page.click("#lang")
    page.wait_for_selector("body[data-ready='true']")
    assert console.errors == []
    page.context.close()


def test_a_dispatcher_takes_a_hotline_call_and_sees_the_timeline_change(
    browser: Any, site: Site
) -> None:
    page, console = open_page(browser, site, "/hotline", "dispatcher")
    before = page.locator("#timeline rect[data-order]").count()
    page.fill("#search", "孙")
    page.press("#search", "Enter")
    page.click("button.pick[data-household='H4']")
    page.select_option("#service", "welfare_visit")
    page.fill("#now", "07:00")
    page.click("#ask")
    page.wait_for_selector("#options li.option")
    page.click("#options li.option >> nth=0 >> button.preview")
    page.wait_for_selector("#timeline .part-preview")
    page.click("#options li.option >> nth=0 >> button.confirm")
    page.wait_for_selector("#confirmed")
    page.wait_for_function(
        "n => document.querySelectorAll('#timeline rect[data-order]').length === n", arg=before + 1
    )
    assert page.locator("#timeline .part-preview").count() == 0
    assert console.errors == []
    page.context.close()


def test_a_caregiver_accepts_and_checks_in_on_a_phone(browser: Any, site: Site) -> None:
    page, console = open_page(
        browser,
        site,
        "/phone",
        "caregiver",
        viewport={"width": 375, "height": 740},
        geolocation={"latitude": 38.4901, "longitude": 106.2288},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    first = page.locator("li.visit").first
    assert "丽景街道 3-2-101" in first.inner_text()
    first.locator("button.accept").click()
    page.wait_for_selector("li.visit.status-accepted button.check-in")
    page.locator("li.visit.status-accepted button.check-in").first.click()
    page.wait_for_selector("li.visit.status-checked_in")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways: {width}px"
    order = page.get_attribute("li.visit.status-checked_in", "data-order")
    stored = site.http.get(f"/work-orders/{order}").json()
    assert stored["status"] == "checked_in"
    assert console.errors == []
    page.context.close()


def test_a_check_out_cut_off_by_the_network_is_retried_with_the_same_key(
    browser: Any, site: Site
) -> None:
    page, console = open_page(
        browser,
        site,
        "/phone",
        "caregiver",
        viewport={"width": 375, "height": 740},
        geolocation={"latitude": 38.4901, "longitude": 106.2288},
        permissions=["geolocation"],
    )
    sent: list[str] = []

    def flaky(route: Any) -> None:
        sent.append(route.request.post_data_json["idempotency_key"])
        if len(sent) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/check-out", flaky)
    page.locator("li.visit.status-checked_in button.check-out").first.click()
    page.wait_for_selector("li.visit.status-checked_out", timeout=15000)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert [e for e in console.errors if "ERR_CONNECTION_RESET" not in e] == []
    page.context.close()


def test_a_caregiver_token_cannot_open_the_dispatchers_pages_or_data(
    browser: Any, site: Site
) -> None:
    for path in ("/board", "/hotline", "/plans"):
        page, _console = open_page(browser, site, path, "caregiver")
        assert page.get_attribute("body", "data-ready") == "refused"
        assert page.locator("#refused").is_visible()
        assert page.locator("#map, #timeline, #queue, #plans").count() == 0
        status = page.evaluate(
            """async (date) => (await fetch(`/api/v1/routes?date=${date}`,
                {headers: {Authorization: `Bearer ${sessionStorage.getItem('token')}`}})).status""",
            site.date,
        )
        assert status == 403
        page.context.close()


def test_a_confirm_that_lost_a_race_asks_again_by_itself(browser: Any, site: Site) -> None:
    page, console = open_page(browser, site, "/hotline", "dispatcher")
    page.fill("#search", "周奶奶")
    page.press("#search", "Enter")
    page.click("button.pick[data-household='H5']")
    page.select_option("#service", "welfare_visit")
    page.fill("#now", "07:00")
    page.click("#ask")
    page.wait_for_selector("#options li.option")
    first = page.inner_text("#options h2")
    # Meanwhile another desk books a call on the same day: the page's options are stale.
    other = site.http.post(
        "/work-orders",
        json={"household": "H5", "service": "welfare_visit", "date": site.date, "now": "07:00"},
    ).json()
    option = other["options"][0]
    confirmed = site.http.post(
        f"/work-orders/{other['work_order']}/confirm",
        json={"caregiver": option["caregiver"], "option": 0},
    )
    assert confirmed.status_code == 200, confirmed.text
    page.click("#options li.option >> nth=0 >> button.confirm")
    page.wait_for_selector("#status.warn")
    assert "路线已变更" in page.inner_text("#status")
    page.wait_for_function(
        "h => document.querySelector('#options h2').textContent !== h", arg=first
    )
    assert page.locator("#options li.option").count() >= 1
    # The refused confirm is the one console error: the browser reports the 409 answer.
    assert [e for e in console.errors if "409" not in e] == []
    page.context.close()


def test_a_refused_order_is_dispatched_again_from_the_desk(browser: Any, site: Site) -> None:
    c1 = {"Authorization": f"Bearer {site.tokens['caregiver']}"}
    orders = site.http.get(f"/caregivers/C1/assignments?date={site.date}", headers=c1).json()
    open_orders = [o for o in orders if o["status"] in ("created", "dispatched")]
    assert open_orders, orders
    order = open_orders[0]["id"]
    refused = site.http.post(
        f"/work-orders/{order}/refuse", json={"reason": "家中有事"}, headers=c1
    )
    assert refused.status_code == 200, refused.text
    page, console = open_page(browser, site, "/hotline", "dispatcher")
    page.fill("#now", "07:00")
    entry = page.locator("#refused-list li", has_text=f"#{order}")
    assert "家中有事" in entry.inner_text()
    entry.locator("button").click()
    page.wait_for_selector("#options li.option")
    page.click("#options li.option >> nth=0 >> button.confirm")
    page.wait_for_selector("#confirmed")
    page.wait_for_function(
        "id => !document.querySelector('#refused-list').textContent.includes('#' + id)", arg=order
    )
    assert site.http.get(f"/work-orders/{order}").json()["status"] == "cancelled"
    assert console.errors == []
    page.context.close()


def test_a_planner_runs_a_job_to_done_compares_and_publishes(browser: Any, site: Site) -> None:
    page, console = open_page(browser, site, "/plans", "planner")
    page.fill("#job-name", "what-if greedy")
    page.select_option("#job-solver", "greedy")
    page.fill("#job-limit", "5")
    page.click("#start-job")
    page.wait_for_selector("#job-status[data-status='done']", timeout=60000)
    assert page.evaluate("document.querySelector('#job-progress').value") == 1
    job = int(page.inner_text("#job-status").split()[0].lstrip("#"))
    page.select_option("#compare-a", str(site.plan))
    page.select_option("#compare-b", str(job))
    page.click("#compare")
    page.wait_for_selector("#kpis tbody tr")
    assert page.locator("#comparison .map").count() == 2
    page.click("#show-circle")
    page.wait_for_selector("#circle-district")
    assert page.locator("#circle .map .households circle").count() == 5
    page.click(f"button.publish[data-plan='{job}']")
    page.wait_for_function(
        "id => !document.querySelector(`button.publish[data-plan='${id}']`)", arg=job
    )
    assert site.http.get(f"/plans/{job}").json()["status"] == "published"
    assert console.errors == []
    page.context.close()


# A 1×1 transparent PNG, answered for every tile the map asks for.
_TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def test_a_tile_layer_in_gcj02_draws_tiles_and_moves_the_points_for_display(
    browser: Any, site: Site
) -> None:
    page, console = open_page(browser, site, "/board", "dispatcher")
    assert page.locator("#map image").count() == 0  # offline by default
    page.route(
        "https://tiles.test/**",
        lambda route: route.fulfill(body=_TILE, content_type="image/png"),
    )

    def tiles_under_the_station(system: str) -> dict[str, float]:
        """Each tile's offset from the station's square when the layer is in ``system``."""
        page.locator("details.settings").first.evaluate("d => { d.open = true; }")
        page.fill("#tiles", "https://tiles.test/{z}/{x}/{y}.png")
        page.select_option("#tile-system", system)
        page.locator("details.settings button").click()
        page.wait_for_selector("body[data-ready='true'] #map image")
        return dict(
            page.evaluate(
                """() => {
                    const s = document.querySelector('#map .stations rect');
                    return [...document.querySelectorAll('#map image')].map((i) => [
                        i.getAttribute('href'),
                        Number(i.getAttribute('x')) - Number(s.getAttribute('x'))]);
                }"""
            )
        )

    wgs = tiles_under_the_station("wgs84")
    gcj = tiles_under_the_station("gcj02")
    assert wgs and all(h.startswith("https://tiles.test/") for h in wgs)
    shared = set(wgs) & set(gcj)
    assert shared
    # The same tile lies elsewhere under the station: its point is drawn converted (GCJ-02 is
    # a few hundred metres east of WGS-84 here), the stored position is unchanged.
    assert all(wgs[h] - gcj[h] > 1 for h in shared), (wgs, gcj)
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('map'))")
    assert stored == {"tiles": "https://tiles.test/{z}/{x}/{y}.png", "system": "gcj02"}
    page.evaluate("() => localStorage.removeItem('map')")
    assert console.errors == []
    page.context.close()
