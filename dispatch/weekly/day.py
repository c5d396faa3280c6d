"""Routing one day of a station group: the router's model compiled from the day's visits,
searched from the current routes (:mod:`dispatch.weekly.solving`), decoded, re-timed and held
to the weekly minutes.

Two-person visits on locked routes keep their caregivers and start (anchored) while the rest of
both routes is searched again; routes the router's model cannot represent stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from dispatch.daily import DayProblem, DayVisit, compile_day, decode_day
from dispatch.diagnose import eligible_caregivers, fits_alone
from dispatch.model import Route, Scenario, Unassigned
from dispatch.reasons import Reason
from dispatch.travel import TravelProvider
from dispatch.weekly.budget import Budget
from dispatch.weekly.solving import accepted, retime, search_day
from dispatch.weekly.state import served_score

__all__ = ["CONTINUITY_MINUTES", "continuity_costs", "narrow_to_teams", "solve_day"]

#: Minutes of travel the router gives up to keep a visit with the caregiver who makes the
#: request's other visits this week (continuity of care, 服务连续性).
CONTINUITY_MINUTES = 8


def solve_day(
    sub: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    teams: Mapping[str, tuple[str, ...] | None],
    *,
    provider: TravelProvider,
    used: Mapping[str, int],
    budget: Budget,
    seconds: float,
    hint: Sequence[Route] = (),
    locked: frozenset[str] = frozenset(),
    affinity: Mapping[str, Mapping[str, int]] | None = None,
    fixed: Sequence[Route] = (),
    anchor: bool = True,
) -> tuple[tuple[Route, ...], list[tuple[DayVisit, Reason, str]], int]:
    """Route ``visits`` on ``day``; ``teams[request]`` narrows who may serve (``None``: any
    qualified). The search starts from the ``hint`` routes when they are still feasible;
    ``affinity[request][caregiver]`` (visits on the other days) makes the search prefer a
    request's usual caregivers (:data:`CONTINUITY_MINUTES`). ``fixed`` are routes of the day
    that stay as they are (another station's): visits linked to theirs keep the delays.

    The ``locked`` caregivers' hint routes hold two-person visits: with ``anchor`` each pair
    keeps its two caregivers and start (:func:`_pair_anchors`) while the rest of both routes
    is searched again; a pair that cannot be held that way (its partner's route is not in the
    hint), or a result that loses a pair, keeps the locked routes as they are.
    Returns routes, dropped visits with reasons, and the priority-weighted score."""
    if not any(day in c.shifts for c in sub.caregivers) or not visits:
        return (), _nobody_works(sub, day, visits), 0
    route = partial(
        _route_day,
        sub,
        day,
        visits,
        teams,
        provider=provider,
        used=used,
        budget=budget,
        seconds=seconds,
        hint=hint,
        locked=locked,
        affinity=affinity,
        fixed=fixed,
    )
    if anchor and hint and locked:
        held = route(anchor=True)
        if held is not None:
            return held
    whole = route(anchor=False)
    assert whole is not None, "with the locked routes whole no pair is given up"
    return whole


def _nobody_works(
    sub: Scenario, day: str, visits: Sequence[DayVisit]
) -> list[tuple[DayVisit, Reason, str]]:
    """Why each of ``visits`` has nobody on ``day``."""
    dropped: list[tuple[DayVisit, Reason, str]] = []
    for v in visits:
        h = sub.household(v.household)
        r = next(q for q in h.requests if q.id == v.request)
        _, reason, detail = eligible_caregivers(sub, h, r, (), day=day)
        dropped.append((v, reason or Reason.NO_SHIFT_ON_ALLOWED_DAYS, detail))
    return dropped


def _route_day(
    sub: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    teams: Mapping[str, tuple[str, ...] | None],
    *,
    provider: TravelProvider,
    used: Mapping[str, int],
    budget: Budget,
    seconds: float,
    hint: Sequence[Route],
    locked: frozenset[str],
    affinity: Mapping[str, Mapping[str, int]] | None,
    fixed: Sequence[Route],
    anchor: bool,
) -> tuple[tuple[Route, ...], list[tuple[DayVisit, Reason, str]], int] | None:
    """:func:`solve_day` with the pairs anchored or not; ``None`` when an anchored pair cannot
    be held (the caller then keeps the locked routes whole)."""
    frozen: tuple[Route, ...] = ()
    anchors: dict[str, tuple[tuple[str, int], ...]] = {}
    whole = locked
    if hint and locked and anchor:
        anchors, whole = _pair_anchors(sub, hint, locked)
        if anchors:
            home = {s.request: s.household for r in hint for s in r.stops}
            visits = [v for v in visits if v.request not in anchors]
            visits += [DayVisit(rid, home[rid]) for rid in anchors]
    if hint:
        # Routes the router's model cannot represent (their rest falls where the model has no
        # room for it) stay as they are, with their caregivers and visits out of the search.
        kept = tuple(r for r in hint if r.caregiver in whole)
        fixed_stops = {s.request for r in kept for s in r.stops}
        rest = [v for v in visits if v.request not in fixed_stops]
        others = [r for r in hint if r.caregiver not in whole]
        off_now = {r.caregiver for r in kept}
        frozen = kept + _unrepresentable(
            replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id not in off_now)),
            day,
            rest,
            teams,
            provider,
            used,
            others,
            (*kept, *fixed),
        )
        if frozen:
            off = {r.caregiver for r in frozen}
            if any(len({c for c, _ in who} & off) == 1 for who in anchors.values()):
                return None
            held = {s.request for r in frozen for s in r.stops}
            sub = replace(sub, caregivers=tuple(c for c in sub.caregivers if c.id not in off))
            visits = [v for v in visits if v.request not in held]
            hint = [r for r in hint if r.caregiver not in off]
            if not visits or not any(day in c.shifts for c in sub.caregivers):
                return frozen, [], served_score(sub, frozen)
    starts = {s.request: s.start for r in (*frozen, *fixed) for s in r.stops}
    compiled = compile_day(
        sub, day, travel=provider, visits=visits, minutes_used=used, fixed_starts=starts
    )
    compiled = narrow_to_teams(compiled, teams)
    if anchors:
        held_pairs = {s.request for r in frozen for s in r.stops}
        anchors = {rid: who for rid, who in anchors.items() if rid not in held_pairs}
        compiled = _anchored(compiled, anchors)
    start = _hint_indices(compiled, hint) if hint else None
    costs = continuity_costs(compiled, affinity or {}) if hint else {}
    result = search_day(compiled.problem, start, budget, seconds, costs)
    routes, unassigned = decode_day(sub, compiled, retime(compiled.problem, result))
    routes, unassigned = _enforce_weekly_cap(sub, routes, unassigned, used)
    routes = tuple(sorted((*routes, *frozen), key=lambda r: r.caregiver))
    reasons = {u.request: (Reason(u.reason), u.detail) for u in unassigned}
    _weekly_cap_reasons(compiled, reasons)
    dropped = [(v, *reasons[v.request]) for v in visits if v.request in reasons]
    priority = {r.id: r.priority for _, r in sub.requests()}
    served = {s.request for route in routes for s in route.stops}
    score = sum(100 + priority[v.request] for v in visits if v.request in served)
    if anchors and not _pairs_kept(routes, anchors):
        return None
    return routes, dropped, score


def _pair_anchors(
    sub: Scenario, hint: Sequence[Route], locked: frozenset[str]
) -> tuple[dict[str, tuple[tuple[str, int], ...]], frozenset[str]]:
    """The two-person visits on the ``locked`` caregivers' ``hint`` routes that can keep
    their caregivers and start while the rest of the routes is searched again: request ->
    ((caregiver, start), (caregiver, start)) in hint order. Also the locked caregivers whose
    routes stay whole: those holding a pair whose partner route is not in the hint, and,
    repeatedly, the partners of their pairs."""
    pairs = {r.id for _, r in sub.requests() if r.staff > 1}
    working = {c.id for c in sub.caregivers}
    seats: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for route in hint:
        if route.caregiver in locked:
            for stop in route.stops:
                if stop.request in pairs:
                    seats[stop.request].append((route.caregiver, stop.start))
    whole = {
        c
        for who in seats.values()
        if len(who) != 2 or any(c not in working for c, _ in who)
        for c, _ in who
    }
    while True:
        more = {c for who in seats.values() if any(c in whole for c, _ in who) for c, _ in who}
        if more <= whole:
            break
        whole |= more
    anchors = {rid: tuple(who) for rid, who in seats.items() if not any(c in whole for c, _ in who)}
    # A locked route with no pair left to hold stays whole (as does one whose lock had another
    # reason).
    held = {c for who in anchors.values() for c, _ in who}
    return anchors, frozenset(locked - held)


def _anchored(
    compiled: DayProblem, anchors: Mapping[str, tuple[tuple[str, int], ...]]
) -> DayProblem:
    """``compiled`` with each anchored pair's two solver visits held to their caregiver and
    start (one window of one minute, mandatory) and their start link dropped: two fixed starts
    keep it by themselves, and the day becomes one the compiled search can take."""
    if not anchors:
        return compiled
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    nodes: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(compiled.visits):
        if v.request in anchors:
            nodes[v.request].append(i)
    specs = list(compiled.problem.visits)
    linked: set[tuple[int, int]] = set()
    for rid, seats in anchors.items():
        if len(nodes[rid]) != len(seats):
            continue
        for i, (cid, start) in zip(nodes[rid], seats, strict=True):
            specs[i] = replace(
                specs[i],
                windows=((start, start),),
                allowed_vehicles=frozenset({vehicle[cid]}),
                penalty=None,
            )
        linked.add((nodes[rid][0], nodes[rid][1]))
    syncs = tuple(s for s in compiled.problem.syncs if (s.first, s.second) not in linked)
    problem = replace(compiled.problem, visits=tuple(specs), syncs=syncs)
    return replace(compiled, problem=problem)


def _pairs_kept(
    routes: Sequence[Route], anchors: Mapping[str, tuple[tuple[str, int], ...]]
) -> bool:
    """Whether every anchored pair is on its two caregivers' routes at its start."""
    seats: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for route in routes:
        for stop in route.stops:
            if stop.request in anchors:
                seats[stop.request].add((route.caregiver, stop.start))
    return all(seats.get(rid) == set(who) for rid, who in anchors.items())


def continuity_costs(
    compiled: DayProblem, affinity: Mapping[str, Mapping[str, int]]
) -> dict[int, list[int]]:
    """Per visit of ``compiled``, the extra minutes each caregiver costs: none for the one who
    makes all of the request's other visits, :data:`CONTINUITY_MINUTES` for one who makes none
    of them."""
    costs: dict[int, list[int]] = {}
    for i, visit in enumerate(compiled.visits):
        counts = affinity.get(visit.request)
        total = sum(counts.values()) if counts else 0
        if not counts or total <= 0:
            continue
        costs[i] = [
            CONTINUITY_MINUTES * (total - counts.get(c.id, 0)) // total for c in compiled.caregivers
        ]
    return costs


def _hint_indices(compiled: DayProblem, hint: Sequence[Route]) -> list[list[int]]:
    """The ``hint`` routes as visit indices per vehicle of ``compiled`` (stops the compiled
    day does not hold, or whose caregiver may not serve them, left out)."""
    vehicle = {c.id: k for k, c in enumerate(compiled.caregivers)}
    nodes: dict[str, list[int]] = defaultdict(list)  # a two-person visit has two
    for i, v in enumerate(compiled.visits):
        nodes[v.request].append(i)
    specs = compiled.problem.visits
    taken: set[int] = set()
    start: list[list[int]] = [[] for _ in compiled.caregivers]
    for route in hint:
        k = vehicle.get(route.caregiver)
        if k is None:
            continue
        for s in route.stops:
            for i in nodes.get(s.request, ()):
                allowed = specs[i].allowed_vehicles
                if i not in taken and (allowed is None or k in allowed):
                    start[k].append(i)
                    taken.add(i)
                    break
    return start


def _unrepresentable(
    sub: Scenario,
    day: str,
    visits: Sequence[DayVisit],
    teams: Mapping[str, tuple[str, ...] | None],
    provider: TravelProvider,
    used: Mapping[str, int],
    hint: Sequence[Route],
    fixed: Sequence[Route] = (),
) -> tuple[Route, ...]:
    """The ``hint`` routes the router's model rejects on their own (``fixed`` as in
    :func:`solve_day`)."""
    if not hint or not any(day in c.shifts for c in sub.caregivers):
        return ()
    starts = {s.request: s.start for r in fixed for s in r.stops}
    compiled = narrow_to_teams(
        compile_day(
            sub, day, travel=provider, visits=visits, minutes_used=used, fixed_starts=starts
        ),
        teams,
    )
    start = _hint_indices(compiled, hint)
    verdict = accepted(compiled.problem, start)
    rejected = {compiled.caregivers[k].id for k, ok in enumerate(verdict) if not ok}
    return tuple(r for r in hint if r.caregiver in rejected)


def _enforce_weekly_cap(
    sub: Scenario,
    routes: tuple[Route, ...],
    unassigned: tuple[Unassigned, ...],
    used: Mapping[str, int],
) -> tuple[tuple[Route, ...], tuple[Unassigned, ...]]:
    """Give up a route that would break its caregiver's weekly minutes (a safety net: the
    router bounds the route length already)."""
    kept: list[Route] = []
    lost = list(unassigned)
    for route in routes:
        cap = sub.caregiver(route.caregiver).max_minutes_per_week
        if cap is not None and used.get(route.caregiver, 0) + route.back - route.leave > cap:
            lost.extend(
                Unassigned(
                    s.request,
                    s.household,
                    1,
                    Reason.CAPACITY.value,
                    f"{route.caregiver}'s weekly working minutes ({cap}) are used up",
                )
                for s in route.stops
            )
            continue
        kept.append(route)
    return tuple(kept), tuple(lost)


def _weekly_cap_reasons(compiled: DayProblem, reasons: dict[str, tuple[Reason, str]]) -> None:
    """A visit that fits nobody's day only because their weekly minutes are spent elsewhere is
    a capacity matter, not a window one."""
    problem = compiled.problem
    uncapped = replace(
        problem, vehicles=tuple(replace(v, max_duration=None) for v in problem.vehicles)
    )
    for node, visit in enumerate(compiled.visits):
        got = reasons.get(visit.request)
        if got is None or got[0] is not Reason.NO_TIME_WINDOW_FITS:
            continue
        allowed = problem.visits[node].allowed_vehicles
        vehicles = range(len(problem.vehicles)) if allowed is None else sorted(allowed)
        if any(fits_alone(uncapped, node, v) is not None for v in vehicles):
            reasons[visit.request] = (
                Reason.CAPACITY,
                "fits a qualified caregiver's shift, but their weekly working minutes "
                "(max_minutes_per_week) are used up on other days; more weekly minutes or "
                "another caregiver would fit it (每周工时已满)",
            )


def narrow_to_teams(
    compiled: DayProblem, teams: Mapping[str, tuple[str, ...] | None]
) -> DayProblem:
    """Restrict each visit to its team (those of them working today and qualified)."""
    index = {c.id: i for i, c in enumerate(compiled.caregivers)}
    visits = list(compiled.problem.visits)
    for i, v in enumerate(compiled.visits):
        team = teams.get(v.request)
        if team is None:
            continue
        allowed = visits[i].allowed_vehicles
        keep = frozenset(index[c] for c in team if c in index)
        if allowed is not None:
            keep &= allowed
        if keep:
            visits[i] = replace(visits[i], allowed_vehicles=keep)
    return replace(compiled, problem=replace(compiled.problem, visits=tuple(visits)))
