"""Hypothesis strategies for random small scenarios, shared by the planners' property tests."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import strategies as st

from dispatch.model import After, Break, Caregiver, Household, Scenario, ServiceRequest, Station

SKILLS = ("cleaning", "bathing", "meal_delivery")
WEEK = ("mon", "tue", "wed", "thu", "fri")
LAT, LON = 38.48, 106.23


@st.composite
def windows(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    """One or two disjoint start windows between 07:00 and 23:00."""
    out = []
    t = draw(st.integers(7 * 60, 11 * 60))
    for _ in range(draw(st.integers(1, 2))):
        width = draw(st.integers(0, 180))
        out.append((t, t + width))
        t += width + draw(st.integers(30, 180))
    return tuple(w for w in out if w[1] <= 23 * 60) or ((t, t),)


@st.composite
def scenarios(
    draw: st.DrawFn, *, days: tuple[str, ...] | None = None, weekly: bool = True
) -> Scenario:
    """A scenario of 1-2 stations, 1-4 caregivers and 1-6 households around one town.

    ``days`` fixes the planned days (default: a random subset of Monday-Friday). ``weekly``
    draws frequencies, spacing, allowed days and two-person visits; without it every request
    wants one one-person visit on any day and a random priority (what one routed day asks).
    A household's second request follows its first (``after``) one time in three.
    """
    if days is None:
        days = tuple(d for d in WEEK if draw(st.booleans())) or ("mon",)
    stations = tuple(
        Station(f"S{i}", LAT + draw(st.floats(-0.03, 0.03)), LON + draw(st.floats(-0.03, 0.03)))
        for i in range(draw(st.integers(1, 2)))
    )
    caregivers = []
    for i in range(draw(st.integers(1, 4))):
        start = draw(st.integers(7 * 60, 10 * 60))
        end = draw(st.integers(start + 120, 19 * 60))
        worked = draw(st.sets(st.sampled_from(days), min_size=1))
        caregivers.append(
            Caregiver(
                id=f"C{i}",
                station=draw(st.sampled_from(stations)).id,
                gender=draw(st.sampled_from(["F", "M"])),
                mode=draw(st.sampled_from(["walk", "ebike", "car"])),
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
                shifts=MappingProxyType({d: (start, end) for d in sorted(worked)}),
                rest=draw(
                    st.sampled_from(
                        [None, Break(11 * 60 + 30, 13 * 60 + 30, 60), Break(12 * 60, 13 * 60, 30)]
                    )
                ),
                max_visits_per_day=draw(st.sampled_from([None, 2, 5])),
                max_minutes_per_week=draw(st.sampled_from([None, 240, 2400])),
                capacity=draw(st.sampled_from([None, 3])),
            )
        )
    households = []
    for i in range(draw(st.integers(1, 6))):
        requests = []
        for j in range(draw(st.integers(1, 2))):
            common = {
                "id": f"H{i}-R{j}",
                "service": draw(st.sampled_from(SKILLS)),
                "minutes": draw(st.sampled_from([10, 30, 60, 90])),
                "windows": draw(windows()),
                "load": draw(st.sampled_from([0, 0, 1, 2])),
            }
            if weekly:
                extra = {
                    "visits_per_week": draw(st.integers(0, 3)),
                    "min_gap_days": draw(st.integers(1, 3)),
                    "days": draw(st.sampled_from([None, ("mon", "wed", "fri"), ("tue", "thu")])),
                    "staff": draw(st.sampled_from([1, 1, 1, 2])),
                }
            else:
                extra = {"priority": draw(st.integers(1, 100))}
            if j == 1 and draw(st.integers(0, 2)) == 0:  # linked to the first: 关联服务
                low = draw(st.sampled_from([0, 30, 60]))
                extra["after"] = After(f"H{i}-R0", low, low + draw(st.sampled_from([0, 30, 90])))
            requests.append(ServiceRequest(**common, **extra))  # type: ignore[arg-type]
        households.append(
            Household(
                id=f"H{i}",
                lat=LAT + draw(st.floats(-0.04, 0.04)),
                lon=LON + draw(st.floats(-0.04, 0.04)),
                requests=tuple(requests),
                gender_preference=draw(st.sampled_from([None, None, "F", "M"])),
                forbidden_caregivers=tuple(
                    draw(st.sets(st.sampled_from([c.id for c in caregivers]), max_size=1))
                ),
            )
        )
    return Scenario("prop", days, stations, tuple(caregivers), tuple(households))
