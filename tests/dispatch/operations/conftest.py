"""A station with two caregivers and one household 0.56 km away (3 minutes by e-bike).

A visits H1 on Monday (welfare visit 09:00–10:00, window 09:00–12:00): leaves 08:57, back
10:03. B works Monday and Tuesday 08:00–17:00 and spends all of Tuesday (540 minutes) out.
"""

from __future__ import annotations

from types import MappingProxyType

from dispatch.model import (
    Caregiver,
    Household,
    Plan,
    Route,
    Scenario,
    ServiceRequest,
    Station,
    Stop,
)
from dispatch.operations.day import DayOrder

MON = {"mon": (480, 1020)}


def scenario(*, b_weekly: int | None = None) -> Scenario:
    """The tiny station; ``b_weekly`` is B's weekly cap in minutes."""
    visit = ServiceRequest("R1", "welfare_visit", 60, ((540, 720),), days=("mon",))
    return Scenario(
        name="tiny",
        days=("mon", "tue"),
        stations=(Station("S", 38.47, 106.27),),
        caregivers=(
            Caregiver("A", "S", skills=frozenset({"welfare_visit"}), shifts=MappingProxyType(MON)),
            Caregiver(
                "B",
                "S",
                skills=frozenset({"welfare_visit"}),
                shifts=MappingProxyType({**MON, "tue": (480, 1020)}),
                max_minutes_per_week=b_weekly,
            ),
        ),
        households=(Household("H1", 38.475, 106.27, (visit,)),),
    )


def plan() -> Plan:
    return Plan(
        scenario="tiny",
        routes=(
            Route("A", "mon", 537, 603, (Stop("R1", "H1", 540, 540, 600),)),
            Route("B", "tue", 480, 1020),
        ),
    )


def orders() -> list[DayOrder]:
    """Monday's work order of the plan: A's visit of H1."""
    return [DayOrder(1, "A", "R1", "H1", 540, 600, 38.475, 106.27, (540, 720))]
