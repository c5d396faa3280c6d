"""The map's coordinate conversions (api/web/static/coords.js) agree with dispatch/coords.py."""

from __future__ import annotations

from typing import Any

from dispatch import coords
from tests.web.conftest import Site

POINTS = [(38.4872, 106.2309), (39.9087, 116.3975), (22.5431, 114.0579), (48.8584, 2.2945)]


def test_the_javascript_conversions_match_the_python_ones(browser: Any, site: Site) -> None:
    page = browser.new_page()
    page.goto(site.base + "/")
    found = page.evaluate(
        """async (points) => {
            const c = await import('/static/coords.js');
            return points.map(([lat, lon]) => ({
                gcj: c.wgs84ToGcj02(lat, lon), bd: c.wgs84ToBd09(lat, lon),
                back: c.gcj02ToWgs84(...c.wgs84ToGcj02(lat, lon)),
                backBd: c.bd09ToWgs84(...c.wgs84ToBd09(lat, lon)),
            }));
        }""",
        POINTS,
    )
    for (lat, lon), js in zip(POINTS, found, strict=True):
        for got, want in (
            (js["gcj"], coords.wgs84_to_gcj02(lat, lon)),
            (js["bd"], coords.wgs84_to_bd09(lat, lon)),
            (js["back"], (lat, lon)),
            (js["backBd"], (lat, lon)),
        ):
            assert abs(got[0] - want[0]) < 1e-9 and abs(got[1] - want[1]) < 1e-9, (got, want)
    page.close()
