"""What-if modifications on the tiny scenario."""

from __future__ import annotations

import pytest

from dispatch.model import Scenario, Station
from dispatch.scenario_io import parse_scenario
from dispatch.whatif import (
    AddCaregivers,
    Modifications,
    MoveStation,
    apply_modifications,
    scale_demand,
)
from tests.conftest import fixture_data


@pytest.fixture
def tiny() -> Scenario:
    return parse_scenario(fixture_data("tiny_scenario.json")).scenario


def test_add_and_remove_caregivers(tiny: Scenario) -> None:
    out = apply_modifications(
        tiny,
        Modifications(add_caregivers=(AddCaregivers("S1", 2, "C1"),), remove_caregivers=("C2",)),
    )
    assert [c.id for c in out.caregivers] == ["C1", "C3", "S1-new1", "S1-new2"]
    new = out.caregiver("S1-new1")
    c1 = tiny.caregiver("C1")
    assert (new.skills, new.shifts, new.rest, new.station) == (c1.skills, c1.shifts, c1.rest, "S1")
    # H3 forbade C2; C2 is gone, so is the reference.
    assert out.household("H3").forbidden_caregivers == ()


def test_stations_moved_and_added(tiny: Scenario) -> None:
    out = apply_modifications(
        tiny,
        Modifications(
            add_stations=(Station("S2", 38.5, 106.3, "新站"),),
            move_stations=(MoveStation("S1", 38.48, 106.22),),
            add_caregivers=(AddCaregivers("S2", 1, "C3"),),
        ),
    )
    assert (out.station("S1").lat, out.station("S1").lon) == (38.48, 106.22)
    assert out.station("S2").name == "新站"
    assert out.caregiver("S2-new1").station == "S2"


def test_scale_demand_is_deterministic(tiny: Scenario) -> None:
    assert len(tiny.households) == 5
    more = scale_demand(tiny.households, 1.4)  # 5 households → 7
    assert len(more) == 7
    assert [h.id for h in more[:5]] == [h.id for h in tiny.households]
    copies = more[5:]
    assert all(h.id.endswith("-x1") for h in copies)
    assert all(r.id.endswith("-x1") for h in copies for r in h.requests)
    assert scale_demand(tiny.households, 1.4) == more
    fewer = scale_demand(tiny.households, 0.4)
    assert len(fewer) == 2 and set(fewer) <= set(tiny.households)
    assert len(scale_demand(tiny.households, 3.0)) == 15


def test_invalid_modifications(tiny: Scenario) -> None:
    for changes in (
        Modifications(remove_caregivers=("NOPE",)),
        Modifications(move_stations=(MoveStation("NOPE", 1, 1),)),
        Modifications(add_stations=(Station("S1", 1, 1),)),
        Modifications(add_caregivers=(AddCaregivers("S1", 1, "NOPE"),)),
        Modifications(add_caregivers=(AddCaregivers("S1", 0, "C1"),)),
        Modifications(scale_demand=0.0),
    ):
        with pytest.raises(ValueError):
            apply_modifications(tiny, changes)
