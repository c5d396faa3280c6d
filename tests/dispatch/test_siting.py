"""Station siting on the line of ``test_circle`` and on small random maps.

On the line, H3 (level 4, weight 5) and H5 (level 3, weight 4) are outside; the others weigh
1 + 2 + 3 = 6. The siting mode is e-bike (one station each by e-bike and car: the slower wins
the tie), 100 minutes a degree. Candidate P1 at 0.2 reaches H3 (3.9 → 4 minutes) but not H5
(29.3 → 30); P2 at 0.45 reaches H5 (4.3 → 5) but not H3 (28.9 → 29).
"""

from __future__ import annotations

import math
import random
from itertools import combinations

import pytest

from dispatch.model import Scenario
from dispatch.programmes.circle import circle_report
from dispatch.programmes.siting import (
    Candidate,
    choose_sites,
    compare_siting,
    need_weight,
    reassign_caregivers,
    siting_mode,
)
from dispatch.travel import provider_for
from dispatch.whatif import apply_modifications
from tests.dispatch.test_circle import household, line_scenario

P1 = Candidate(0.0, 0.2, "甲")
P2 = Candidate(0.0, 0.45, "乙")


def test_need_weight_is_level_plus_one() -> None:
    assert [need_weight(h) for h in line_scenario().households] == [1, 2, 5, 3, 4]
    assert need_weight(household("X", 0.0)) == 1


def test_mode_is_the_most_common_one() -> None:
    assert siting_mode(line_scenario()) == "ebike"


def test_one_site_goes_where_the_need_is_heaviest() -> None:
    result = choose_sites(line_scenario(), 1, candidates=[P2, P1])
    assert result.optimal and result.chosen == (1,)
    [site] = result.sites
    assert (site.id, site.name, site.lat, site.lon) == ("NEW1", "新站点1 new site 1 (甲)", 0.0, 0.2)
    assert result.outside_before == ("H3", "H5")
    assert result.outside_after == ("H5",)
    assert (result.weight_before, result.weight_after, result.total_weight) == (6, 11, 15)
    assert result.modifications.add_stations == result.sites


def test_two_sites_cover_everyone_and_the_circle_agrees() -> None:
    scenario = line_scenario()
    result = choose_sites(scenario, 2, candidates=[P1, P2])
    assert result.outside_after == ()
    assert result.weight_after == result.total_weight
    opened = apply_modifications(scenario, result.modifications)
    # New stations without caregivers ride e-bikes, the siting mode here.
    assert circle_report(opened).outside == ()


def test_zero_k_too_many_k_and_no_candidates() -> None:
    scenario = line_scenario()
    none = choose_sites(scenario, 0, candidates=[P1, P2])
    assert none.sites == () and none.outside_after == none.outside_before
    assert choose_sites(scenario, 5, candidates=[P1, P2]).chosen == (0, 1)
    assert choose_sites(scenario, 2, candidates=[]).sites == ()


def test_households_are_the_default_candidates() -> None:
    result = choose_sites(line_scenario(), 2)
    assert result.outside_after == ()
    assert {s.lon for s in result.sites} <= {h.lon for h in line_scenario().households}


def test_bad_arguments_are_named() -> None:
    scenario = line_scenario()
    with pytest.raises(ValueError, match=r"^k "):
        choose_sites(scenario, -1)
    with pytest.raises(ValueError, match="limit"):
        choose_sites(scenario, 1, limit=-5)
    with pytest.raises(ValueError, match="mode"):
        choose_sites(scenario, 1, mode="boat")
    with pytest.raises(ValueError, match="candidates"):
        choose_sites(scenario, 1, candidates=[Candidate(math.nan, 0.0)])


def test_ids_skip_stations_in_use() -> None:
    scenario = line_scenario()
    first = choose_sites(scenario, 1, candidates=[P1])
    opened = apply_modifications(scenario, first.modifications)
    assert [s.id for s in choose_sites(opened, 1, candidates=[P2]).sites] == ["NEW2"]


def random_scenario(seed: int) -> tuple[Scenario, list[Candidate]]:
    rng = random.Random(seed)
    base = line_scenario()
    homes = tuple(
        household(f"R{j}", rng.uniform(0.0, 1.0), rng.choice([None, 0, 1, 2, 3, 4]))
        for j in range(15)
    )
    points = [Candidate(0.0, rng.uniform(0.0, 1.0)) for _ in range(8)]
    return Scenario(
        base.name, base.days, base.stations, base.caregivers, homes, travel=base.travel
    ), points


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_siting_equals_brute_force(seed: int, k: int) -> None:
    scenario, points = random_scenario(seed)
    result = choose_sites(scenario, k, candidates=points)
    assert result.optimal
    inside = {r.household for r in circle_report(scenario).reaches if r.inside}
    weights = {h.id: need_weight(h) for h in scenario.households}
    travel = provider_for(scenario)
    # What each candidate alone brings inside, then every k-subset tried.
    reach = [
        set(result.outside_before)
        - set(choose_sites(scenario, 1, candidates=[p], travel=travel).outside_after)
        for p in points
    ]
    best = max(
        sum(weights[h] for h in inside.union(*(reach[i] for i in rows)))
        for rows in combinations(range(len(points)), k)
    )
    assert result.weight_after == best


def test_reassign_moves_the_nearest_caregivers_once() -> None:
    scenario = line_scenario()
    result = choose_sites(scenario, 1, candidates=[P2])
    opened = apply_modifications(scenario, result.modifications)
    moved = reassign_caregivers(opened, result.sites, 1)
    assert [(c.id, c.station) for c in moved.caregivers] == [("C1", "NEW1"), ("C2", "S2")]
    assert reassign_caregivers(opened, result.sites, 0) == opened
    with pytest.raises(ValueError, match="not in the scenario"):
        reassign_caregivers(scenario, result.sites, 1)
    with pytest.raises(ValueError, match="move_caregivers"):
        reassign_caregivers(opened, result.sites, -1)


def test_compare_plans_both_weeks_and_they_pass_the_checker() -> None:
    comparison = compare_siting(line_scenario(), 2, candidates=[P1, P2], move_caregivers=1)
    assert comparison.moved_caregivers == 2
    assert comparison.before.households_outside == 2
    assert comparison.before.share_inside == 0.6
    # The moved caregivers bring their modes: C1 (e-bike) to NEW1, C2 (car) to NEW2.
    assert comparison.after.households_outside == 0
    for side in (comparison.before, comparison.after):
        assert 0.0 <= side.planned_share <= 1.0
        assert side.unassigned_visits >= 0
        assert side.travel_minutes >= 0
