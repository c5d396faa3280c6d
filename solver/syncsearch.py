"""A compiled ruin-and-recreate search for days with synchronised visits and soft window ends.

The string-removal search of :mod:`solver.sisr` keeps hard windows in constant time per
insertion; it cannot keep two visits whose starts are linked, nor price lateness. This search
does both, at the price of a walk along the rest of the route for every insertion it tries
(routes of home-care days hold a handful of visits, so the walk is short):

- a **synchronised pair** (a :class:`solver.problem.Sync` with ``both`` and ``distinct``) is one
  unit of the search. It is removed whole and inserted whole, on two different vehicles, at the
  earliest starts that keep its delay: ``start(second) - start(first)`` in
  ``[min_delay, max_delay]``. Once placed, a synchronised visit keeps its start while other
  visits come and go around it (an insertion may not make either caregiver late for it); after
  each recreate the pairs are moved earlier wherever both routes allow (a fixed point: no start
  ever gets later), so their times follow the routes they sit in.
- a visit's **soft window end** (``soft_latest``) charges ``tardiness_cost`` per unit of
  lateness; ``problem.max_tardiness_cost`` charges the largest lateness of the plan once more
  (the home-health-care objective: distance + total + maximum tardiness).

The rest of the model kept: one hard window per visit, each vehicle's shift, its start and end
location and travel profile, capacity, visit cap, allowed vehicles, optional visits with their
penalties, and the vehicle's rest (in one gap of the route, before leaving or after coming back,
as the router's own schedule places it: each route keeps two chains of departures, rest not
taken yet and taken, and an insertion walks both). Not kept (:func:`supports` says so, and the
router uses OR-Tools): several windows per visit, pinned visits, a span bound shorter than the
shift, linked visits that need not both be served, a visit in more than one sync, extra costs
per vehicle and visit, and soft window ends on a day with rests (where the rest goes would
change what lateness costs).

Iterations remove strings of consecutive visits from routes near a random seed visit (the
partners of removed synchronised visits go with them), re-insert every unplanned unit at its
cheapest feasible place (each place skipped with a small "blink" probability) and accept the
result by simulated annealing, as in Christiaens and Vanden Berghe's SISR. The result is timed
again by the router's schedule (:func:`solver.schedule.schedule_route`) with the synchronised
starts held, which checks every rule once more in plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from solver.compiled import (
    HAVE_NUMBA,
    INF,
    VEH_CAPACITY,
    VEH_END,
    VEH_HAS_REST,
    VEH_MAX_VISITS,
    VEH_PROFILE,
    VEH_REST_DURATION,
    VEH_REST_EARLIEST,
    VEH_REST_LATEST_END,
    VEH_SHIFT_END,
    VEH_SHIFT_START,
    VEH_START,
    anneal,
    inline,
    jit,
    mandatory_penalty,
    mean_arc,
    nearest_visits,
    travel_table,
    vehicle_table,
)
from solver.problem import RoutingProblem, SolvedRoute, SolverResult
from solver.schedule import schedule_route

__all__ = ["DEFAULT_CONFIG", "SyncSearchConfig", "search", "supports"]

Ints = npt.NDArray[np.int64]
#: The search state: visits of each route, per-route facts (ROUTE_*), the start, arrival and
#: (route, position) of each visit, per route and position the largest lateness before and
#: from it, and the departures with the rest not taken yet / taken (see :func:`_state`).
_State = tuple[Ints, Ints, Ints, Ints, Ints, Ints, Ints, Ints]


# Columns of the visit table: location, duration, hard window, soft end and its cost per unit,
# penalty, partner (-1: none), delay bounds of the pair, role (0 free, 1 first, 2 second),
# demand.
(
    VISIT_LOCATION,
    VISIT_DURATION,
    VISIT_EARLIEST,
    VISIT_LATEST,
    VISIT_SOFT_LATEST,
    VISIT_TARDINESS_COST,
    VISIT_PENALTY,
    VISIT_PARTNER,
    VISIT_MIN_DELAY,
    VISIT_MAX_DELAY,
    VISIT_ROLE,
    VISIT_DEMAND,
) = range(12)
# Per-route facts: length, travel, weighted tardiness, largest tardiness, load, and whether the
# route changed since the search state was last saved or restored.
ROUTE_LENGTH, ROUTE_TRAVEL, ROUTE_TARDINESS, ROUTE_LARGEST_LATENESS, ROUTE_LOAD, ROUTE_CHANGED = (
    range(6)
)


@dataclass(frozen=True)
class SyncSearchConfig:
    """Knobs of the search, one set for every problem (never tuned per instance).

    ``avg_removed`` and ``max_string`` are the average number of removed visits and the longest
    removed string; ``blink`` the chance to skip an insertion place; ``start_temperature`` and
    ``end_temperature`` are in units of the mean arc of the first solution; ``neighbours``
    bounds the list of nearby visits strings are taken from; ``retime_passes`` bounds the
    rounds of moving pairs earlier after each recreate.
    """

    avg_removed: float = 10.0
    max_string: int = 10
    blink: float = 0.01
    start_temperature: float = 1.0
    end_temperature: float = 0.01
    neighbours: int = 100
    retime_passes: int = 30


DEFAULT_CONFIG = SyncSearchConfig()


def supports(problem: RoutingProblem) -> bool:
    """Whether every rule of ``problem`` is one this search keeps (see the module text)."""
    if not HAVE_NUMBA or not problem.visits or problem.vehicle_costs:
        return False
    for v in problem.visits:
        if len(v.windows) != 1 or v.pinned_vehicle is not None:
            return False
    rests = False
    for spec in problem.vehicles:
        rests = rests or spec.rest is not None
        if spec.max_duration is not None and spec.max_duration < spec.shift_end - spec.shift_start:
            return False
    if rests and (
        problem.max_tardiness_cost > 0 or any(v.soft_latest is not None for v in problem.visits)
    ):
        return False  # the rest's place would change what lateness costs
    seen: set[int] = set()
    n = len(problem.visits)
    for s in problem.syncs:
        if not (s.both and s.distinct) or s.max_delay < s.min_delay:
            return False
        if not (0 <= s.first < n and 0 <= s.second < n) or s.first == s.second:
            return False
        if s.first in seen or s.second in seen:
            return False
        seen.update((s.first, s.second))
    return True


# --------------------------------------------------------------------------- compiled core


@inline
def _leg_arrivals(t0: int, t1: int, d: int, r: int, vehicle_facts: Ints) -> tuple[int, int]:
    """Arrivals after a leg of ``d`` from departures ``t0`` (rest not taken yet) and ``t1``
    (taken): the rest may be taken on this leg, from ``max(t0, earliest)`` (INF: no way)."""
    a0 = t0 + d if t0 < INF else INF
    a1 = t1 + d if t1 < INF else INF
    if vehicle_facts[r, VEH_HAS_REST] != 0 and t0 < INF:
        rd = vehicle_facts[r, VEH_REST_DURATION]
        rs = max(t0, vehicle_facts[r, VEH_REST_EARLIEST])
        if rs + rd <= vehicle_facts[r, VEH_REST_LATEST_END]:
            a1 = min(a1, max(t0 + d + rd, rs + rd))
    return a0, a1


@inline
def _serve(c: int, a: int, forced: int, visit_facts: Ints, start: Ints) -> int:
    """Start of visit ``c`` reached at ``a``: ``forced`` when given (or the fixed start of a
    synchronised visit), else the earliest in its window; INF when it cannot."""
    if a >= INF:
        return INF
    fix = forced if forced >= 0 else (start[c] if visit_facts[c, VISIT_ROLE] != 0 else -1)
    if fix >= 0:
        return fix if a <= fix and fix <= visit_facts[c, VISIT_LATEST] else INF
    return _earliest(c, a, visit_facts)


@inline
def _earliest(c: int, a: int, visit_facts: Ints) -> int:
    """Earliest start of visit ``c`` in its window when reached at ``a`` (INF: none)."""
    if a >= INF:
        return INF
    s = max(a, visit_facts[c, VISIT_EARLIEST])
    return s if s <= visit_facts[c, VISIT_LATEST] else INF


@inline
def _gets_back(t0: int, t1: int, d: int, r: int, vehicle_facts: Ints) -> bool:
    """Whether the route gets back in its shift with its rest taken (on the way, or after)."""
    a0, a1 = _leg_arrivals(t0, t1, d, r, vehicle_facts)
    if a1 <= vehicle_facts[r, VEH_SHIFT_END]:
        return True
    if vehicle_facts[r, VEH_HAS_REST] == 0 or a0 > vehicle_facts[r, VEH_SHIFT_END]:
        return False
    return (
        max(a0, vehicle_facts[r, VEH_REST_EARLIEST]) + vehicle_facts[r, VEH_REST_DURATION]
        <= vehicle_facts[r, VEH_REST_LATEST_END]
    )


@jit
def _time_route(r: int, state: _State, travel: Ints, visit_facts: Ints, vehicle_facts: Ints) -> int:
    """Times, travel, tardiness and load of route ``r`` (synchronised visits keep ``start``).

    ``departure[r, 0 / 1, q]`` is the departure before position ``q`` with the rest not taken
    yet / taken (INF: impossible); a vehicle without a rest keeps only the second. ``start``
    of a free visit is its earliest start, ``arrival`` the earliest arrival.
    ``late_before[r, q]`` is the largest tardiness before position ``q``, ``late_from[r, q]``
    from ``q`` on. Returns -1 when the route keeps every rule, else the first position that
    breaks one (its length: the way back).
    """
    routes, route_facts, start, arrival, placement, late_before, late_from, departure = state
    n = route_facts[r, ROUTE_LENGTH]
    p = vehicle_facts[r, VEH_PROFILE]
    prev = vehicle_facts[r, VEH_START]
    ss = vehicle_facts[r, VEH_SHIFT_START]
    if vehicle_facts[r, VEH_HAS_REST] != 0:
        t0 = ss
        first = max(ss, vehicle_facts[r, VEH_REST_EARLIEST] + vehicle_facts[r, VEH_REST_DURATION])
        t1 = (
            first
            if vehicle_facts[r, VEH_REST_EARLIEST] + vehicle_facts[r, VEH_REST_DURATION]
            <= vehicle_facts[r, VEH_REST_LATEST_END]
            else INF
        )
    else:
        t0 = INF
        t1 = ss
    departure[r, 0, 0] = t0
    departure[r, 1, 0] = t1
    trav = 0
    tard = 0
    worst = 0
    load = 0
    fail = -1
    for q in range(n):
        c = routes[r, q]
        placement[c, 0] = r
        placement[c, 1] = q
        loc = visit_facts[c, VISIT_LOCATION]
        d = travel[p, prev, loc]
        trav += d
        a0, a1 = _leg_arrivals(t0, t1, d, r, vehicle_facts)
        arrival[c] = min(a0, a1)
        s0 = _serve(c, a0, -1, visit_facts, start)
        s1 = _serve(c, a1, -1, visit_facts, start)
        if s0 >= INF and s1 >= INF and fail < 0:
            fail = q
        if visit_facts[c, VISIT_ROLE] == 0:
            start[c] = (
                min(s0, s1)
                if min(s0, s1) < INF
                else max(arrival[c], visit_facts[c, VISIT_EARLIEST])
            )
        late = max(0, start[c] - visit_facts[c, VISIT_SOFT_LATEST])
        tard += late * visit_facts[c, VISIT_TARDINESS_COST]
        late_before[r, q] = worst
        worst = max(worst, late)
        load += visit_facts[c, VISIT_DEMAND]
        dur = visit_facts[c, VISIT_DURATION]
        t0 = s0 + dur if s0 < INF else INF
        t1 = s1 + dur if s1 < INF else INF
        departure[r, 0, q + 1] = t0
        departure[r, 1, q + 1] = t1
        prev = loc
    late_before[r, n] = worst
    d = travel[p, prev, vehicle_facts[r, VEH_END]]
    trav += d
    if n > 0 and fail < 0 and not _gets_back(t0, t1, d, r, vehicle_facts):
        fail = n
    if n == 0:
        trav = 0
    late_from[r, n] = 0
    for q in range(n - 1, -1, -1):
        c = routes[r, q]
        late_from[r, q] = max(
            late_from[r, q + 1], max(0, start[c] - visit_facts[c, VISIT_SOFT_LATEST])
        )
    route_facts[r, ROUTE_TRAVEL] = trav
    route_facts[r, ROUTE_TARDINESS] = tard
    route_facts[r, ROUTE_LARGEST_LATENESS] = worst
    route_facts[r, ROUTE_LOAD] = load
    route_facts[r, ROUTE_CHANGED] = 1
    return fail


@jit
def _try_insert(
    r: int,
    p: int,
    c: int,
    forced: int,
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    out: Ints,
) -> bool:
    """Visit ``c`` at position ``p`` of route ``r``, starting at ``forced`` (or at its earliest
    when ``forced < 0``): whether it fits, and in ``out`` its start, the extra travel, the extra
    weighted tardiness, the route's new largest tardiness and its start on either chain
    (lateness is priced on vehicles without a rest only: :func:`supports` keeps soft windows
    off the others)."""
    routes, route_facts, start, late_before, late_from, departure = (
        state[0],
        state[1],
        state[2],
        state[5],
        state[6],
        state[7],
    )
    n = route_facts[r, ROUTE_LENGTH]
    pr = vehicle_facts[r, VEH_PROFILE]
    ploc = vehicle_facts[r, VEH_START] if p == 0 else visit_facts[routes[r, p - 1], VISIT_LOCATION]
    loc = visit_facts[c, VISIT_LOCATION]
    nloc = vehicle_facts[r, VEH_END] if p == n else visit_facts[routes[r, p], VISIT_LOCATION]
    a0, a1 = _leg_arrivals(
        departure[r, 0, p], departure[r, 1, p], travel[pr, ploc, loc], r, vehicle_facts
    )
    # the new visit starts at ``forced`` or at its earliest, whatever its role
    s0 = _serve(c, a0, forced, visit_facts, start) if forced >= 0 else _earliest(c, a0, visit_facts)
    s1 = _serve(c, a1, forced, visit_facts, start) if forced >= 0 else _earliest(c, a1, visit_facts)
    if s0 >= INF and s1 >= INF:
        return False
    s = min(s0, s1)
    dtrav = travel[pr, ploc, loc] + travel[pr, loc, nloc]
    if n > 0:
        dtrav -= travel[pr, ploc, nloc]
    late = max(0, s - visit_facts[c, VISIT_SOFT_LATEST])
    dtard = late * visit_facts[c, VISIT_TARDINESS_COST]
    worst = max(late_before[r, p], late)
    dur = visit_facts[c, VISIT_DURATION]
    t0 = s0 + dur if s0 < INF else INF
    t1 = s1 + dur if s1 < INF else INF
    ploc = loc
    absorbed = False
    for q in range(p, n):
        d = routes[r, q]
        b0, b1 = _leg_arrivals(
            t0, t1, travel[pr, ploc, visit_facts[d, VISIT_LOCATION]], r, vehicle_facts
        )
        u0 = _serve(d, b0, -1, visit_facts, start)
        u1 = _serve(d, b1, -1, visit_facts, start)
        if u0 >= INF and u1 >= INF:
            return False
        new = max(0, min(u0, u1) - visit_facts[d, VISIT_SOFT_LATEST])
        old = max(0, start[d] - visit_facts[d, VISIT_SOFT_LATEST])
        dtard += (new - old) * visit_facts[d, VISIT_TARDINESS_COST]
        worst = max(worst, new)
        dd = visit_facts[d, VISIT_DURATION]
        t0 = u0 + dd if u0 < INF else INF
        t1 = u1 + dd if u1 < INF else INF
        ploc = visit_facts[d, VISIT_LOCATION]
        if t0 == departure[r, 0, q + 1] and t1 == departure[r, 1, q + 1]:
            worst = max(worst, late_from[r, q])
            absorbed = True
            break
    if not absorbed and not _gets_back(
        t0, t1, travel[pr, ploc, vehicle_facts[r, VEH_END]], r, vehicle_facts
    ):
        return False
    out[0] = s
    out[1] = dtrav
    out[2] = dtard
    out[3] = worst
    out[4] = s0
    out[5] = s1
    return True


@jit
def _latest_routes(route_facts: Ints, nveh: int, top: Ints) -> None:
    """Routes with the three largest tardiness figures (``top[0..2]`` routes, ``top[3..5]``
    their values; -1 / 0 when there are fewer)."""
    top[0] = top[1] = top[2] = -1
    top[3] = top[4] = top[5] = 0
    for r in range(nveh):
        v = route_facts[r, ROUTE_LARGEST_LATENESS]
        if top[0] < 0 or v > top[3]:
            top[2], top[5] = top[1], top[4]
            top[1], top[4] = top[0], top[3]
            top[0], top[3] = r, v
        elif top[1] < 0 or v > top[4]:
            top[2], top[5] = top[1], top[4]
            top[1], top[4] = r, v
        elif top[2] < 0 or v > top[5]:
            top[2], top[5] = r, v


@jit
def _max_without(top: Ints, a: int, b: int) -> int:
    for j in range(3):
        if top[j] >= 0 and top[j] != a and top[j] != b:
            return top[3 + j]
    return 0


@jit
def _place(r: int, p: int, c: int, s: int, routes: Ints, route_facts: Ints, start: Ints) -> None:
    n = route_facts[r, ROUTE_LENGTH]
    for q in range(n, p, -1):
        routes[r, q] = routes[r, q - 1]
    routes[r, p] = c
    route_facts[r, ROUTE_LENGTH] = n + 1
    start[c] = s


@jit
def _candidates(
    c: int,
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    blink: float,
    cand: Ints,
    out: Ints,
) -> int:
    """Every place where ``c`` fits at its earliest start: rows of (route, position, start,
    travel + tardiness, new largest tardiness of the route); returns their number.

    For a synchronised visit on a vehicle with a rest, a place gives a row for each start that
    holds as a fixed start: before the rest is taken and after (the earliest start alone may
    hold only with the rest before it on one chain and after it on the other).
    """
    route_facts = state[1]
    nveh = vehicle_facts.shape[0]
    m = 0
    for r in range(nveh):
        if allow[c, r] == 0:
            continue
        n = route_facts[r, ROUTE_LENGTH]
        if (
            n + 1 > vehicle_facts[r, VEH_MAX_VISITS]
            or route_facts[r, ROUTE_LOAD] + visit_facts[c, VISIT_DEMAND]
            > vehicle_facts[r, VEH_CAPACITY]
        ):
            continue
        fixed = visit_facts[c, VISIT_ROLE] != 0 and vehicle_facts[r, VEH_HAS_REST] != 0
        for p in range(n + 1):
            if blink > 0.0 and np.random.random() < blink:
                continue
            if not _try_insert(r, p, c, -1, state, travel, visit_facts, vehicle_facts, out):
                continue
            if not fixed:
                m = _add_row(cand, m, r, p, out)
                continue
            s0, s1 = out[4], out[5]
            for k in range(2):
                s = s0 if k == 0 else s1
                if s >= INF or (k == 1 and s1 == s0):
                    continue
                if _try_insert(r, p, c, s, state, travel, visit_facts, vehicle_facts, out):
                    m = _add_row(cand, m, r, p, out)
    return m


@inline
def _add_row(cand: Ints, m: int, r: int, p: int, out: Ints) -> int:
    cand[m, 0] = r
    cand[m, 1] = p
    cand[m, 2] = out[0]
    cand[m, 3] = out[1] + out[2]
    cand[m, 4] = out[3]
    return m + 1


@jit
def _insert_free(
    c: int,
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    max_tardiness_cost: int,
    blink: float,
    cand_a: Ints,
    cand_b: Ints,
    top: Ints,
    out: Ints,
    gmax: int,
) -> bool:
    """Insert free visit ``c`` at its cheapest feasible place, when that costs less than leaving
    it out (``gmax``: the plan's largest lateness now)."""
    routes, route_facts, start = state[0], state[1], state[2]
    m = _candidates(c, state, travel, visit_facts, vehicle_facts, allow, blink, cand_a, out)
    best = visit_facts[c, VISIT_PENALTY]
    bi = -1
    for i in range(m):
        r = cand_a[i, 0]
        cost = cand_a[i, 3] + max_tardiness_cost * (
            max(_max_without(top, r, -1), cand_a[i, 4]) - gmax
        )
        if cost < best:
            best = cost
            bi = i
    if bi < 0:
        return False
    r = cand_a[bi, 0]
    _place(r, cand_a[bi, 1], c, cand_a[bi, 2], routes, route_facts, start)
    _time_route(r, state, travel, visit_facts, vehicle_facts)
    return True


@jit
def _insert_pair(
    c: int,
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    max_tardiness_cost: int,
    blink: float,
    cand_a: Ints,
    cand_b: Ints,
    top: Ints,
    out: Ints,
    gmax: int,
) -> bool:
    """Insert the pair whose first visit is ``c`` on two vehicles at the cheapest feasible
    places that keep its delay, when that costs less than leaving it out (``gmax``: the
    plan's largest lateness now)."""
    routes, route_facts, start = state[0], state[1], state[2]
    b = visit_facts[c, VISIT_PARTNER]
    mn, mx = visit_facts[c, VISIT_MIN_DELAY], visit_facts[c, VISIT_MAX_DELAY]
    ma = _candidates(c, state, travel, visit_facts, vehicle_facts, allow, blink, cand_a, out)
    if ma == 0:
        return False
    mb = _candidates(b, state, travel, visit_facts, vehicle_facts, allow, blink, cand_b, out)
    if mb == 0:
        return False
    oa = np.argsort(cand_a[:ma, 3])
    ob = np.argsort(cand_b[:mb, 3])
    best = visit_facts[c, VISIT_PENALTY] + visit_facts[b, VISIT_PENALTY]
    best_i, best_j, best_ta, best_tb = -1, -1, 0, 0
    lb0 = cand_b[ob[0], 3]
    for ii in range(ma):
        i = oa[ii]
        if cand_a[i, 3] + lb0 >= best:
            break
        ra, pa, ea = cand_a[i, 0], cand_a[i, 1], cand_a[i, 2]
        for jj in range(mb):
            j = ob[jj]
            if cand_a[i, 3] + cand_b[j, 3] >= best:
                break
            rb = cand_b[j, 0]
            if rb == ra:
                continue
            eb = cand_b[j, 2]
            ta = max(ea, eb - mx)
            tb = max(eb, ta + mn)
            cost_a, worst_a = cand_a[i, 3], cand_a[i, 4]
            if ta != ea:
                if not _try_insert(ra, pa, c, ta, state, travel, visit_facts, vehicle_facts, out):
                    continue
                cost_a, worst_a = out[1] + out[2], out[3]
            cost_b, worst_b = cand_b[j, 3], cand_b[j, 4]
            if tb != eb:
                pb = cand_b[j, 1]
                if not _try_insert(rb, pb, b, tb, state, travel, visit_facts, vehicle_facts, out):
                    continue
                cost_b, worst_b = out[1] + out[2], out[3]
            worst = max(_max_without(top, ra, rb), worst_a, worst_b)
            cost = cost_a + cost_b + max_tardiness_cost * (worst - gmax)
            if cost < best:
                best = cost
                best_i, best_j, best_ta, best_tb = i, j, ta, tb
    if best_i < 0:
        return False
    ra, rb = cand_a[best_i, 0], cand_b[best_j, 0]
    _place(ra, cand_a[best_i, 1], c, best_ta, routes, route_facts, start)
    _place(rb, cand_b[best_j, 1], b, best_tb, routes, route_facts, start)
    _time_route(ra, state, travel, visit_facts, vehicle_facts)
    _time_route(rb, state, travel, visit_facts, vehicle_facts)
    return True


@jit
def _insert_unit(
    c: int,
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    max_tardiness_cost: int,
    blink: float,
    cand_a: Ints,
    cand_b: Ints,
    top: Ints,
    out: Ints,
) -> bool:
    """Insert the unit of ``c`` (a free visit, or the pair whose first visit ``c`` is) at its
    cheapest feasible place, when that costs less than leaving it out."""
    route_facts = state[1]
    gmax = 0
    if max_tardiness_cost > 0:  # otherwise top stays empty and the largest lateness costs nothing
        _latest_routes(route_facts, vehicle_facts.shape[0], top)
        gmax = top[3] if top[0] >= 0 else 0
    if visit_facts[c, VISIT_ROLE] == 0:
        return _insert_free(
            c,
            state,
            travel,
            visit_facts,
            vehicle_facts,
            allow,
            max_tardiness_cost,
            blink,
            cand_a,
            cand_b,
            top,
            out,
            gmax,
        )
    return _insert_pair(
        c,
        state,
        travel,
        visit_facts,
        vehicle_facts,
        allow,
        max_tardiness_cost,
        blink,
        cand_a,
        cand_b,
        top,
        out,
        gmax,
    )


@jit
def _retime(
    state: _State, travel: Ints, visit_facts: Ints, vehicle_facts: Ints, firsts: Ints, passes: int
) -> None:
    """Move every placed pair to the earliest starts both its routes allow, until nothing
    moves. Without rests each step only makes starts earlier, so every rule still holds; with
    a rest an earlier start can leave it no room, and the step is taken back."""
    start, arrival, placement = state[2], state[3], state[4]
    for _ in range(passes):
        moved = False
        for c in firsts:
            if placement[c, 0] < 0:
                continue
            b = visit_facts[c, VISIT_PARTNER]
            ea = max(arrival[c], visit_facts[c, VISIT_EARLIEST])
            eb = max(arrival[b], visit_facts[b, VISIT_EARLIEST])
            ta = max(ea, eb - visit_facts[c, VISIT_MAX_DELAY])
            tb = max(eb, ta + visit_facts[c, VISIT_MIN_DELAY])
            if ta < start[c] or tb < start[b]:
                ra, rb = placement[c, 0], placement[b, 0]
                old_a, old_b = start[c], start[b]
                start[c] = min(ta, start[c])
                start[b] = min(tb, start[b])
                # later visits of both routes move with them
                fa = _time_route(ra, state, travel, visit_facts, vehicle_facts)
                fb = _time_route(rb, state, travel, visit_facts, vehicle_facts)
                if fa < 0 and fb < 0:
                    moved = True
                    continue
                start[c], start[b] = old_a, old_b
                _time_route(ra, state, travel, visit_facts, vehicle_facts)
                _time_route(rb, state, travel, visit_facts, vehicle_facts)
        if not moved:
            break


@jit
def _remove_marked(r: int, routes: Ints, route_facts: Ints, placement: Ints, gone: Ints) -> None:
    n = route_facts[r, ROUTE_LENGTH]
    k = 0
    for q in range(n):
        c = routes[r, q]
        if gone[c]:
            placement[c, 0] = -1
            placement[c, 1] = -1
        else:
            routes[r, k] = c
            k += 1
    route_facts[r, ROUTE_LENGTH] = k


@jit
def _ruin(
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    neighbours: Ints,
    avg_removed: float,
    max_string: int,
    gone: Ints,
    touched: Ints,
) -> None:
    """Remove strings of consecutive visits from routes near a random seed visit; partners of
    removed synchronised visits go too. Routes that break a rule afterwards (travel that does
    not keep the triangle inequality) lose the visits that break it."""
    routes, route_facts, placement = state[0], state[1], state[4]
    nvis = visit_facts.shape[0]
    nveh = vehicle_facts.shape[0]
    gone[:] = 0
    touched[:] = 0
    planned = 0
    used = 0
    for r in range(nveh):
        if route_facts[r, ROUTE_LENGTH] > 0:
            planned += route_facts[r, ROUTE_LENGTH]
            used += 1
    if planned == 0:
        return
    avg_len = planned / used
    ls_max = min(float(max_string), avg_len)
    ks_max = 4.0 * avg_removed / (1.0 + ls_max) - 1.0
    ks = int(np.random.random() * ks_max) + 1
    seed = np.random.randint(0, nvis)
    ruined = 0
    for j in range(-1, neighbours.shape[1]):
        if ruined >= ks:
            break
        c = seed if j < 0 else neighbours[seed, j]
        r = placement[c, 0]
        if r < 0 or touched[r] == 2:
            continue
        n = route_facts[r, ROUTE_LENGTH]
        length = min(int(np.random.random() * ls_max) + 1, n)
        pos = placement[c, 1]
        lo = max(0, pos - length + 1)
        hi = min(pos, n - length)
        first = lo + int(np.random.random() * (hi - lo + 1))
        for q in range(first, first + length):
            gone[routes[r, q]] = 1
        touched[r] = 2
        ruined += 1
    for c in range(nvis):
        if gone[c] and visit_facts[c, VISIT_PARTNER] >= 0:
            b = visit_facts[c, VISIT_PARTNER]
            if placement[b, 0] >= 0 and not gone[b]:
                gone[b] = 1
                if touched[placement[b, 0]] == 0:
                    touched[placement[b, 0]] = 1
    changed = True
    while changed:
        changed = False
        for r in range(nveh):
            if touched[r] == 0:
                continue
            _remove_marked(r, routes, route_facts, placement, gone)
            fail = _time_route(r, state, travel, visit_facts, vehicle_facts)
            if fail < 0:
                continue
            # drop the first visit that no longer fits (the last one when the way back does
            # not), with its partner, and look again
            c = routes[r, min(fail, route_facts[r, ROUTE_LENGTH] - 1)]
            gone[c] = 1
            b = visit_facts[c, VISIT_PARTNER]
            if b >= 0 and placement[b, 0] >= 0:
                gone[b] = 1
                if touched[placement[b, 0]] == 0:
                    touched[placement[b, 0]] = 1
            changed = True


@jit
def _total(route_facts: Ints, placement: Ints, visit_facts: Ints, max_tardiness_cost: int) -> int:
    cost = 0
    worst = 0
    for r in range(route_facts.shape[0]):
        cost += route_facts[r, ROUTE_TRAVEL] + route_facts[r, ROUTE_TARDINESS]
        worst = max(worst, route_facts[r, ROUTE_LARGEST_LATENESS])
    for c in range(visit_facts.shape[0]):
        if placement[c, 0] < 0:
            cost += visit_facts[c, VISIT_PENALTY]
    return cost + max_tardiness_cost * worst


@jit
def _copy(src: _State, dst: _State) -> None:
    dst[0][:, :] = src[0]
    dst[1][:, :] = src[1]
    dst[2][:] = src[2]
    dst[3][:] = src[3]
    dst[4][:, :] = src[4]
    dst[5][:, :] = src[5]
    dst[6][:, :] = src[6]
    dst[7][:, :, :] = src[7]


@jit
def _copy_changed(work: _State, src: _State, dst: _State) -> None:
    """Copy from ``src`` to ``dst`` the routes that changed in ``work`` since the last copy
    (every change goes through :func:`_eval_route`, which marks it) and the visits' arrays;
    the marks are cleared. ``work`` is ``src`` (keep an accepted move) or ``dst`` (undo it)."""
    changed = work[1][:, ROUTE_CHANGED].copy()
    for r in range(changed.shape[0]):
        if changed[r] == 0:
            continue
        dst[0][r, :] = src[0][r, :]
        dst[1][r, :] = src[1][r, :]
        dst[5][r, :] = src[5][r, :]
        dst[6][r, :] = src[6][r, :]
        dst[7][r, :, :] = src[7][r, :, :]
        work[1][r, ROUTE_CHANGED] = 0
        dst[1][r, ROUTE_CHANGED] = 0
    dst[2][:] = src[2]
    dst[3][:] = src[3]
    dst[4][:, :] = src[4]


@jit
def _recreate(
    state: _State,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    depot_dist: Ints,
    firsts: Ints,
    max_tardiness_cost: int,
    blink: float,
    passes: int,
    units: Ints,
    keys: npt.NDArray[np.float64],
    cand_a: Ints,
    cand_b: Ints,
    top: Ints,
    out: Ints,
) -> None:
    """Insert every unplanned unit (a free visit, or a pair by its first visit) in a random,
    far-first, tight-window-last or long-first order, each at its cheapest feasible place; then
    move the pairs to the earliest starts their routes allow."""
    placement = state[4]
    nvis = visit_facts.shape[0]
    nu = 0
    for c in range(nvis):
        if placement[c, 0] < 0 and visit_facts[c, VISIT_ROLE] != 2:
            units[nu] = c
            nu += 1
    u = np.random.random()
    for k in range(nu):
        c = units[k]
        noise = np.random.random()
        if u < 0.4:
            keys[k] = noise
        elif u < 0.7:
            keys[k] = -float(depot_dist[c]) - noise * 1e-3
        elif u < 0.9:
            keys[k] = (
                float(visit_facts[c, VISIT_LATEST] - visit_facts[c, VISIT_EARLIEST]) + noise * 1e-3
            )
        else:
            keys[k] = -float(visit_facts[c, VISIT_DURATION]) - noise * 1e-3
    order = np.argsort(keys[:nu])
    for k in range(nu):
        _insert_unit(
            units[order[k]],
            state,
            travel,
            visit_facts,
            vehicle_facts,
            allow,
            max_tardiness_cost,
            blink,
            cand_a,
            cand_b,
            top,
            out,
        )
    if firsts.shape[0] > 0:
        _retime(state, travel, visit_facts, vehicle_facts, firsts, passes)


@jit
def _accept(
    temp: float,
    work: _State,
    cur: _State,
    best: _State,
    costs: Ints,
    visit_facts: Ints,
    max_tardiness_cost: int,
) -> None:
    """Accept the new state by simulated annealing (the current one, and the best when it is)
    or take the changed routes back from the current state."""
    cost = _total(work[1], work[4], visit_facts, max_tardiness_cost)
    if cost < costs[0] - temp * math.log(np.random.random() + 1e-300):
        costs[0] = cost
        if cost < costs[1]:
            _copy(work, best)
            costs[1] = cost
        _copy_changed(work, work, cur)
    else:
        _copy_changed(work, cur, work)


@jit
def _iterate(
    iters: int,
    hot: float,
    cold: float,
    rng: int,
    work: _State,
    cur: _State,
    best: _State,
    costs: Ints,
    travel: Ints,
    visit_facts: Ints,
    vehicle_facts: Ints,
    allow: Ints,
    neighbours: Ints,
    depot_dist: Ints,
    firsts: Ints,
    max_tardiness_cost: int,
    params: npt.NDArray[np.float64],
) -> None:
    """``iters`` iterations (ruin, recreate, accept) cooling from ``hot`` to ``cold``;
    ``costs`` holds the current and best objective."""
    np.random.seed(rng)
    nvis = visit_facts.shape[0]
    nveh = vehicle_facts.shape[0]
    avg_removed, max_string, blink, passes = params[0], int(params[1]), params[2], int(params[3])
    gone = np.zeros(nvis, dtype=np.int64)
    touched = np.zeros(nveh, dtype=np.int64)
    cand_a = np.zeros((2 * (nvis + nveh + 1), 5), dtype=np.int64)
    cand_b = np.zeros((2 * (nvis + nveh + 1), 5), dtype=np.int64)
    top = np.zeros(6, dtype=np.int64)
    top[:3] = -1
    out = np.zeros(6, dtype=np.int64)
    units = np.zeros(nvis, dtype=np.int64)
    keys = np.zeros(nvis, dtype=np.float64)
    if costs[0] >= INF:  # the first call: times of the empty routes
        for r in range(nveh):
            _time_route(r, work, travel, visit_facts, vehicle_facts)
    for it in range(iters):
        temp = hot * (cold / hot) ** (it / max(iters - 1, 1))
        if costs[0] < INF:
            _ruin(
                work,
                travel,
                visit_facts,
                vehicle_facts,
                neighbours,
                avg_removed,
                max_string,
                gone,
                touched,
            )
        _recreate(
            work,
            travel,
            visit_facts,
            vehicle_facts,
            allow,
            depot_dist,
            firsts,
            max_tardiness_cost,
            blink,
            passes,
            units,
            keys,
            cand_a,
            cand_b,
            top,
            out,
        )
        _accept(temp, work, cur, best, costs, visit_facts, max_tardiness_cost)


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True, eq=False)
class _Tables:
    travel: Ints
    visit_facts: Ints
    vehicle_facts: Ints
    allow: Ints
    neighbours: Ints
    depot_dist: Ints
    firsts: Ints


def _tables(problem: RoutingProblem, config: SyncSearchConfig) -> _Tables:
    visits, vehicles = problem.visits, problem.vehicles
    nvis, nveh = len(visits), len(vehicles)
    travel = travel_table(problem)
    mandatory = mandatory_penalty(travel)
    visit_facts = np.zeros((nvis, 12), dtype=np.int64)
    for i, v in enumerate(visits):
        ((e, l_),) = v.windows
        soft = l_ if v.soft_latest is None else min(v.soft_latest, l_)
        visit_facts[i] = (
            v.location,
            v.duration,
            e,
            l_,
            soft,
            max(v.tardiness_cost, 0) if v.soft_latest is not None else 0,
            mandatory if v.penalty is None else v.penalty,
            -1,
            0,
            0,
            0,
            v.demand,
        )
    firsts = []
    for s in problem.syncs:
        firsts.append(s.first)
        visit_facts[s.first, VISIT_PARTNER], visit_facts[s.second, VISIT_PARTNER] = (
            s.second,
            s.first,
        )
        visit_facts[s.first, VISIT_ROLE], visit_facts[s.second, VISIT_ROLE] = 1, 2
        for j in (s.first, s.second):
            visit_facts[j, VISIT_MIN_DELAY], visit_facts[j, VISIT_MAX_DELAY] = (
                s.min_delay,
                s.max_delay,
            )
    vehicle_facts = vehicle_table(problem)
    allow = np.ones((nvis, nveh), dtype=np.int64)
    for i, v in enumerate(visits):
        if v.allowed_vehicles is not None:
            allow[i, :] = 0
            for k in v.allowed_vehicles:
                if 0 <= k < nveh:
                    allow[i, k] = 1
    locs = visit_facts[:, VISIT_LOCATION]
    start0 = vehicles[0].start_location
    return _Tables(
        travel=travel,
        visit_facts=visit_facts,
        vehicle_facts=vehicle_facts,
        allow=allow,
        neighbours=nearest_visits(travel[0], locs, config.neighbours),
        depot_dist=np.ascontiguousarray(travel[0, start0, locs], dtype=np.int64),
        firsts=np.array(firsts, dtype=np.int64),
    )


def _state(nveh: int, nvis: int) -> _State:
    width = nvis + 2
    return (
        np.zeros((nveh, width), dtype=np.int64),  # visits of each route
        np.zeros((nveh, 6), dtype=np.int64),  # length, travel, tardiness, largest, load, changed
        np.zeros(nvis, dtype=np.int64),  # start of each visit
        np.zeros(nvis, dtype=np.int64),  # arrival at each visit
        np.full((nvis, 2), -1, dtype=np.int64),  # route and position of each visit
        np.zeros((nveh, width), dtype=np.int64),  # largest tardiness before a position
        np.zeros((nveh, width), dtype=np.int64),  # largest tardiness from a position on
        np.zeros((nveh, 2, width), dtype=np.int64),  # departures, rest not taken / taken
    )


def search(
    problem: RoutingProblem,
    *,
    time_limit: float,
    seed: int = 0,
    iteration_limit: int | None = None,
    config: SyncSearchConfig = DEFAULT_CONFIG,
) -> SolverResult | None:
    """Search ``problem`` (which :func:`supports` must accept) for ``time_limit`` seconds.

    Returns the best plan, timed, when it serves every mandatory visit (``None`` otherwise).
    With ``iteration_limit`` the search stops after that many iterations and cools along
    them, so the same seed and limit give the same routes on any machine (unless the time limit
    comes first). Raises ``ValueError`` for a problem it does not support.
    """
    if not supports(problem):
        raise ValueError("problem has rules the synchronised search does not keep")
    t = _tables(problem, config)
    nvis, nveh = len(problem.visits), len(problem.vehicles)
    work, cur, best = _state(nveh, nvis), _state(nveh, nvis), _state(nveh, nvis)
    max_tardiness_cost = max(int(problem.max_tardiness_cost), 0)
    costs = np.array([INF, INF], dtype=np.int64)
    params = np.array(
        [config.avg_removed, config.max_string, config.blink, config.retime_passes],
        dtype=np.float64,
    )

    def run(iters: int, hot: float, cold: float, rng: int) -> None:
        _iterate(
            iters,
            hot,
            cold,
            rng,
            work,
            cur,
            best,
            costs,
            t.travel,
            t.visit_facts,
            t.vehicle_facts,
            t.allow,
            t.neighbours,
            t.depot_dist,
            t.firsts,
            max_tardiness_cost,
            params,
        )

    # One cold iteration from nothing planned: the first solution, whose mean arc sets the
    # temperature scale.
    done = anneal(
        run,
        lambda: mean_arc(float(cur[1][:, ROUTE_TRAVEL].sum()), cur[1][:, ROUTE_LENGTH]),
        temperatures=(config.start_temperature, config.end_temperature),
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=50,
        first_rate=1e-4,
        min_chunk=5,
    )
    return _result(problem, best, int(costs[1]), {"sync_iterations": float(done)})


def _result(
    problem: RoutingProblem, state: _State, objective: int, stats: dict[str, float]
) -> SolverResult | None:
    """The plan of ``state``, its times checked again here; ``None`` when a mandatory visit is
    out or a time does not hold (the router then searches with OR-Tools)."""
    routes, route_facts, start, _arrival, placement, _late_before, _late_from, _departure = state
    dropped = tuple(i for i in range(len(problem.visits)) if placement[i, 0] < 0)
    if any(problem.visits[i].penalty is None for i in dropped):
        return None
    synced = {x for sync in problem.syncs for x in (sync.first, sync.second)}
    out: list[SolvedRoute] = []
    travel = 0
    start_of: dict[int, tuple[int, int]] = {}
    for k, spec in enumerate(problem.vehicles):
        seq = [int(c) for c in routes[k, : route_facts[k, ROUTE_LENGTH]]]
        if not seq:
            continue
        if any(
            (allowed := problem.visits[c].allowed_vehicles) is not None and k not in allowed
            for c in seq
        ):
            return None
        times = schedule_route(
            problem, k, seq, fixed={c: int(start[c]) for c in seq if c in synced}
        )
        if not times.feasible:
            return None
        m = problem.matrices[spec.profile]
        locs = [spec.start_location, *(problem.visits[c].location for c in seq), spec.end_location]
        travel += sum(int(m[x, y]) for x, y in pairwise(locs))
        start_of.update((c, (k, s)) for c, s in zip(seq, times.starts, strict=True))
        out.append(
            SolvedRoute(
                k,
                tuple(seq),
                times.arrivals,
                times.starts,
                times.leave,
                times.back,
                times.rest_start,
            )
        )
    for sync in problem.syncs:
        a, b = start_of.get(sync.first), start_of.get(sync.second)
        if (a is None) != (b is None):
            return None
        if (a is not None and b is not None) and (
            a[0] == b[0] or not sync.min_delay <= b[1] - a[1] <= sync.max_delay
        ):
            return None
    return SolverResult(
        routes=tuple(out),
        dropped=dropped,
        travel=travel,
        objective=objective,
        feasible=True,
        stats=stats,
    )


def warm_up() -> None:
    """Compile the search (a tiny problem), so that the first real call does not wait."""
    if not HAVE_NUMBA:  # pragma: no cover
        return
    from solver.problem import Sync, VehicleSpec, VisitSpec

    matrix = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=np.int64)
    visits = (
        VisitSpec(location=1, duration=1, windows=((0, 100),), soft_latest=5, tardiness_cost=1),
        VisitSpec(location=1, duration=1, windows=((0, 100),)),
        VisitSpec(location=2, duration=1, windows=((0, 100),)),
    )
    vehicles = (VehicleSpec(0, 0, 0, 100), VehicleSpec(0, 0, 0, 100))
    problem = RoutingProblem((matrix,), visits, vehicles, syncs=(Sync(0, 1),))
    search(problem, time_limit=0.01, iteration_limit=3)
