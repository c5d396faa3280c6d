"""The state a weekly plan carries from phase to phase, and what a day's routes are worth.

:class:`WeekState` holds the routes of the week as they improve; :class:`Group` is one station
group's view of it (its part of the scenario, its tasks, the travel provider and the time
budget), the one object every phase of :mod:`dispatch.weekly` works on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dispatch.daily import DayVisit
from dispatch.haversine import scenario_travel
from dispatch.kpis import ScenarioIndex, route_leg_minutes
from dispatch.model import Household, Route, Scenario, ServiceRequest
from dispatch.reasons import Reason
from dispatch.travel import TravelProvider
from dispatch.weekly.budget import Budget

__all__ = ["Group", "Task", "WeekState", "day_value", "first_choice", "served_score"]

DayDrops = list[tuple[DayVisit, Reason, str]]


@dataclass
class Task:
    """A request being planned: where its visits go and who may serve them."""

    household: Household
    request: ServiceRequest
    patterns: tuple[tuple[str, ...], ...]
    primary: str  # the caregiver chosen when the greedy week does not serve the request
    station: str
    days: tuple[str, ...] = ()
    widened: frozenset[str] = frozenset()  # days on which every qualified caregiver may serve
    fixed: tuple[str, ...] | None = None  # the caregivers kept for continuity of care
    pinned: bool = False  # a visit rides on a kept route: its days do not move


@dataclass
class WeekState:
    """The week as planning goes: routes and the visits each day's search left out, by
    (station group, day); why the greedy week left requests out; the (caregiver, day) routes
    kept as they are (two-person visits); per group the seconds a day's re-route takes
    beyond its search; and who served each request in the week before, and how often (a plan
    of several weeks keeps its caregivers from week to week)."""

    routes: dict[tuple[str, str], tuple[Route, ...]] = field(default_factory=dict)
    dropped: dict[tuple[str, str], DayDrops] = field(default_factory=dict)
    fallback: dict[str, tuple[Reason, str]] = field(default_factory=dict)
    locked: set[tuple[str, str]] = field(default_factory=set)
    day_seconds: dict[str, float] = field(default_factory=dict)
    before: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass
class Group:
    """One station group being planned: its part of the scenario (``sub``: its caregivers and
    the requests they serve), its key in :class:`WeekState`, its tasks, the travel provider,
    the time budget, and the week's state the phases read and change."""

    sub: Scenario
    key: str
    tasks: list[Task]
    provider: TravelProvider
    budget: Budget
    week: WeekState

    def routes(self, day: str) -> tuple[Route, ...]:
        """The group's routes of ``day``."""
        return self.week.routes.get((self.key, day), ())

    def dropped(self, day: str) -> DayDrops:
        """The visits the last search of ``day`` left out, with reasons."""
        return self.week.dropped.get((self.key, day), [])

    def set_day(self, day: str, routes: tuple[Route, ...], dropped: DayDrops) -> None:
        self.week.routes[(self.key, day)] = routes
        self.week.dropped[(self.key, day)] = dropped

    def locked_on(self, day: str) -> frozenset[str]:
        """The caregivers whose routes of ``day`` hold two-person visits."""
        return frozenset(c for c, d in self.week.locked if d == day)

    def minutes_used(self, day: str) -> dict[str, int]:
        """Each caregiver's working minutes on the group's days other than ``day``."""
        used: dict[str, int] = defaultdict(int)
        for d in self.sub.days:
            if d == day:
                continue
            for route in self.routes(d):
                used[route.caregiver] += route.back - route.leave
        return used

    def affinity(self, day: str) -> dict[str, dict[str, int]]:
        """Who serves each request of the group on the days other than ``day`` and in the
        week before, and how often."""
        seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for request, counts in self.week.before.items():
            for caregiver, n in counts.items():
                seen[request][caregiver] += n
        for (key, d), routes in self.week.routes.items():
            if key != self.key or d == day:
                continue
            for route in routes:
                for stop in route.stops:
                    seen[stop.request][route.caregiver] += 1
        return seen


def day_value(sub: Scenario, routes: Sequence[Route]) -> tuple[int, int, int]:
    """What a day's routes are worth: visits served by priority, then less travel (contract
    travel model), then visits by a household's preferred caregivers."""
    preferred = {h.id: h.preferred_caregivers for h in sub.households}
    hits = sum(1 for r in routes for s in r.stops if r.caregiver in preferred.get(s.household, ()))
    index = ScenarioIndex.of(sub)
    minutes = scenario_travel(sub)
    travel = sum(m or 0 for r in routes for m in route_leg_minutes(index, r, minutes))
    return served_score(sub, routes), -travel, hits


def served_score(sub: Scenario, routes: Sequence[Route]) -> int:
    priority = {r.id: r.priority for _, r in sub.requests()}
    return sum(100 + priority.get(s.request, 0) for route in routes for s in route.stops)


def first_choice(sub: Scenario, task: Task, day: str) -> tuple[str, ...] | None:
    """Who may serve ``task`` on ``day`` before any widening: the caregiver kept for its
    household (continuity, preference) when working, else everyone qualified (``None``:
    narrowing the router's choice further costs visits)."""
    if day in task.widened or task.fixed is None:
        return None
    working = {c.id for c in sub.caregivers if day in c.shifts}
    if all(c in working for c in task.fixed):
        return task.fixed
    return None
