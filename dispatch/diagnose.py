"""Why a visit cannot be planned: who may do it at all, and whether it fits anyone's day alone.

The checks run in the order of :class:`dispatch.reasons.Reason`, so each unassigned visit gets the
first reason that applies and a detail that says what would make it fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dispatch.model import Caregiver, Household, Scenario, ServiceRequest
from dispatch.reasons import Reason
from dispatch.timeutil import format_hhmm
from solver.problem import RoutingProblem, VehicleSpec, VisitSpec
from solver.schedule import schedule_route

__all__ = ["diagnose_synced", "diagnose_visit", "eligible_caregivers", "fits_alone", "qualified"]


def qualified(c: Caregiver, h: Household, r: ServiceRequest) -> bool:
    """Skill, gender preference and forbidden list allow ``c`` on this household's request."""
    return (
        r.required_skill in c.skills
        and (h.gender_preference is None or c.gender == h.gender_preference)
        and c.id not in h.forbidden_caregivers
    )


def eligible_caregivers(
    scenario: Scenario,
    h: Household,
    r: ServiceRequest,
    working: Sequence[Caregiver],
    *,
    day: str,
) -> tuple[frozenset[int], Reason | None, str]:
    """Indices into ``working`` of the caregivers who may do ``r`` on ``day``.

    When there are none, also the reason and a human detail (else ``None`` and ``""``).
    """
    allowed = frozenset(i for i, c in enumerate(working) if qualified(c, h, r))
    if allowed:
        return allowed, None, ""
    skill = r.required_skill
    skilled = [c for c in scenario.caregivers if skill in c.skills]
    if not skilled:
        return (
            allowed,
            Reason.NO_QUALIFIED_CAREGIVER,
            (f"no caregiver has skill {skill}; train or hire one (无护理员具备技能 {skill})"),
        )
    gendered = [
        c for c in skilled if h.gender_preference is None or c.gender == h.gender_preference
    ]
    if not gendered:
        return (
            allowed,
            Reason.GENDER_PREFERENCE,
            (
                f"{len(skilled)} caregiver(s) have skill {skill} but none is of the "
                f"preferred gender {h.gender_preference}"
            ),
        )
    permitted = [c for c in gendered if c.id not in h.forbidden_caregivers]
    if not permitted:
        return (
            allowed,
            Reason.FORBIDDEN_CAREGIVERS,
            (
                f"every caregiver with skill {skill} ({', '.join(c.id for c in gendered)}) "
                "is on the household's forbidden list"
            ),
        )
    return (
        allowed,
        Reason.NO_SHIFT_ON_ALLOWED_DAYS,
        (
            f"{len(permitted)} qualified caregiver(s) ({', '.join(c.id for c in permitted[:5])}) "
            f"but none works on {day}; a shift on {day} or another allowed day would fit"
        ),
    )


def fits_alone(problem: RoutingProblem, node: int, vehicle: int) -> int | None:
    """Start time if visit ``node`` fits vehicle ``vehicle``'s day as its only visit, else None.

    The route station -> visit -> station is timed by :func:`solver.schedule.schedule_route`
    (windows, shift, route length bound, and the break in whichever gap holds it, a ride
    included); the load must fit on board and the daily visit cap allow one visit.
    """
    visit: VisitSpec = problem.visits[node]
    veh: VehicleSpec = problem.vehicles[vehicle]
    if veh.capacity is not None and visit.demand > veh.capacity:
        return None
    if veh.max_visits is not None and veh.max_visits < 1:
        return None
    times = schedule_route(problem, vehicle, [node])
    return times.starts[0] if times.feasible else None


def diagnose_visit(problem: RoutingProblem, node: int, *, solved: bool) -> tuple[Reason, str]:
    """Reason and detail for a visit the solver left out.

    ``solved`` is whether the solver found any solution (else the limit stopped it first).
    """
    visit = problem.visits[node]
    vehicles = (
        sorted(visit.allowed_vehicles)
        if visit.allowed_vehicles is not None
        else range(len(problem.vehicles))
    )
    windows = ", ".join(f"{format_hhmm(a)}–{format_hhmm(b)}" for a, b in visit.windows)
    if visit.demand and all(
        problem.vehicles[v].capacity is not None
        and visit.demand > (problem.vehicles[v].capacity or 0)
        for v in vehicles
    ):
        return Reason.CAPACITY, (
            f"one visit needs {visit.demand} load units; no qualified caregiver carries that many"
        )
    if not any(fits_alone(problem, node, v) is not None for v in vehicles):
        nearest = min(
            (
                int(
                    problem.matrices[problem.vehicles[v].profile][
                        problem.vehicles[v].start_location, visit.location
                    ]
                )
                for v in vehicles
            ),
            default=0,
        )
        return Reason.NO_TIME_WINDOW_FITS, (
            f"windows {windows} with {visit.duration} min of service do not fit any qualified "
            f"caregiver's shift (nearest is {nearest} min away); a wider window or a longer "
            "shift would fit"
        )
    if not solved:
        return Reason.SOLVER_LIMIT, "the solver found no plan within its limit; allow more time"
    return Reason.CAPACITY, (
        f"fits a qualified caregiver's day on its own (windows {windows}), but their time, "
        "visit caps or load went to visits of higher priority or closer by; one more "
        "qualified caregiver on this day would fit it"
    )


def diagnose_synced(
    problem: RoutingProblem, node: int, *, served: Mapping[int, int], solved: bool
) -> tuple[Reason, str]:
    """Reason and detail for a dropped visit that may be tied to others by syncs.

    ``served`` maps each routed visit to its start. A linked visit whose first visit is not
    routed, or whose delay after it meets none of its windows, is ``linked_visit``; a
    two-person visit that fewer than two vehicles could do alone is ``no_staff_pair``; anything
    else is diagnosed as a visit of its own (:func:`diagnose_visit`).
    """
    visit = problem.visits[node]
    for s in problem.syncs:
        if s.second == node and not s.both:
            if s.first not in served:
                return Reason.LINKED_VISIT, (
                    "the visit it follows is not planned this day (关联的前序服务未安排)"
                )
            lo, hi = served[s.first] + s.min_delay, served[s.first] + s.max_delay
            if not any(a <= hi and lo <= b for a, b in visit.windows):
                return Reason.LINKED_VISIT, (
                    f"must start {format_hhmm(lo)}–{format_hhmm(hi)} after the visit it follows, "
                    "outside its windows (关联服务间隔与时间窗不符)"
                )
    pairs = [s for s in problem.syncs if s.both and node in (s.first, s.second)]
    if pairs:
        vehicles = (
            sorted(visit.allowed_vehicles)
            if visit.allowed_vehicles is not None
            else range(len(problem.vehicles))
        )
        able = [v for v in vehicles if fits_alone(problem, node, v) is not None]
        if len(able) == 1:
            return Reason.NO_STAFF_PAIR, (
                "a two-person visit, but only one qualified caregiver can reach it inside a "
                "window and shift this day (双人服务只有一名护理员可以到达)"
            )
    return diagnose_visit(problem, node, solved=solved)
