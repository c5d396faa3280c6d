"""Reading, writing and validating the request ``patterns`` extension (fixed day patterns)."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.scenario_io import ScenarioError, parse_scenario, scenario_to_dict

Doc = dict[str, Any]


def errors(data: Doc) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return [str(i) for i in info.value.issues]


def test_patterns_are_read_in_week_order_and_written_back(week_scenario_data: Doc) -> None:
    week_scenario_data["households"][0]["requests"][0]["patterns"] = [
        ["thu", "mon"],
        ["tue", "fri"],
    ]
    scenario = parse_scenario(week_scenario_data).scenario
    request = scenario.households[0].requests[0]
    assert request.patterns == (("mon", "thu"), ("tue", "fri"))
    again = parse_scenario(scenario_to_dict(scenario)).scenario
    assert again.households[0].requests[0].patterns == (("mon", "thu"), ("tue", "fri"))


def test_request_without_patterns_has_none_and_writes_none(week_scenario_data: Doc) -> None:
    scenario = parse_scenario(week_scenario_data).scenario
    assert scenario.households[0].requests[0].patterns is None
    assert "patterns" not in scenario_to_dict(scenario)["households"][0]["requests"][0]


def test_unknown_day_names_the_exact_path(week_scenario_data: Doc) -> None:
    week_scenario_data["households"][2]["requests"][0]["patterns"] = [
        ["mon", "wed"],
        ["mnn", "thu"],
    ]
    found = errors(week_scenario_data)
    assert any(
        e.startswith('households[2].requests[0].patterns[1][0]: unknown day "mnn"') for e in found
    ), found


@pytest.mark.parametrize(
    ("patterns", "path", "fragment"),
    [
        ([["mon"]], "households[0].requests[0].patterns[0]", "visits_per_week is 2"),
        ([["mon", "wed", "fri"]], "households[0].requests[0].patterns[0]", "visits_per_week is 2"),
        ([["mon", "tue"]], "households[0].requests[0].patterns[0]", "min_gap_days is 2"),
        ([["mon", "mon"]], "households[0].requests[0].patterns[0][1]", "duplicate day mon"),
        ([], "households[0].requests[0].patterns", "empty"),
        ([[]], "households[0].requests[0].patterns[0]", "empty"),
        (["mon"], "households[0].requests[0].patterns[0]", "expected a list"),
    ],
)
def test_bad_patterns_are_errors(
    week_scenario_data: Doc, patterns: Any, path: str, fragment: str
) -> None:
    week_scenario_data["households"][0]["requests"][0]["patterns"] = patterns
    found = errors(week_scenario_data)
    assert any(e.startswith(path + ":") and fragment in e for e in found), found


def test_pattern_day_outside_the_request_days_is_an_error(week_scenario_data: Doc) -> None:
    # H2-care allows mon, wed, fri only.
    week_scenario_data["households"][1]["requests"][0]["patterns"] = [["mon", "thu"]]
    found = errors(week_scenario_data)
    assert any(e.startswith("households[1].requests[0].patterns[0]:") and "thu" in e for e in found)
