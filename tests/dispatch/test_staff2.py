"""Two-caregiver visits (双人服务) and linked visits (``after``): file format, router, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.model import After
from dispatch.scenario_io import ScenarioError, parse_scenario, scenario_to_dict

Doc = dict[str, Any]


def _request(doc: Doc, rid: str) -> Doc:
    for h in doc["households"]:
        for r in h.get("requests", []):
            if r["id"] == rid:
                r_: Doc = r
                return r_
    raise KeyError(rid)


# --- the "after" field in the scenario file ---------------------------------------------------


def test_after_is_read_and_written_back(tiny_scenario_data: Doc) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = {
        "request": "H2-visit",
        "min_minutes": 30,
        "max_minutes": 90,
    }
    scenario = parse_scenario(tiny_scenario_data).scenario
    req = next(r for _, r in scenario.requests() if r.id == "H3-nurse")
    assert req.after == After("H2-visit", 30, 90)
    again = parse_scenario(scenario_to_dict(scenario)).scenario
    assert again == scenario


def test_after_min_minutes_defaults_to_zero(tiny_scenario_data: Doc) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = {"request": "H1-clean", "max_minutes": 5}
    scenario = parse_scenario(tiny_scenario_data).scenario
    req = next(r for _, r in scenario.requests() if r.id == "H3-nurse")
    assert req.after == After("H1-clean", 0, 5)


@pytest.mark.parametrize(
    ("after", "fragment"),
    [
        ({"request": "H9-x", "max_minutes": 5}, "unknown request H9-x"),
        ({"request": "H3-nurse", "max_minutes": 5}, "cannot follow itself"),
        ({"request": "H1-clean", "min_minutes": 50, "max_minutes": 10}, "at least min_minutes"),
        ({"request": "H1-clean"}, "missing required field"),
        ({"request": "H1-clean", "max_minutes": 5, "gap": 1}, "unknown field"),
    ],
)
def test_bad_after_is_rejected(tiny_scenario_data: Doc, after: Doc, fragment: str) -> None:
    _request(tiny_scenario_data, "H3-nurse")["after"] = after
    with pytest.raises(ScenarioError) as info:
        parse_scenario(tiny_scenario_data)
    texts = [str(i) for i in info.value.issues]
    assert any(fragment in t and ".after" in t for t in texts), texts
