"""A compiled ruin-and-recreate search for the daily router (slack induction by string removals).

Each iteration removes a few strings of consecutive visits from routes near a random seed visit
(some strings keep a split-off middle part in place), re-inserts every removed or unplanned visit
at its cheapest feasible position (each position skipped with a small "blink" probability), and
accepts the result by simulated annealing. This is the SISR scheme of Christiaens and Vanden
Berghe (2020); it needs many cheap iterations, so the inner loop is compiled with numba and
works on flat integer arrays: hundreds of thousands of iterations in ten seconds on 100 visits,
where one OR-Tools perturbation costs milliseconds.

Feasibility is strict at every step and checked in constant time per insertion from each
route's earliest and latest start times. The rules kept: several start windows per visit, each
vehicle's shift and start and end location, its travel profile, capacity, visit cap, allowed
vehicles, optional visits with their penalties, extra costs per vehicle and visit, and the
vehicle's rest (a break in one gap of the route: before leaving, between two stops, during
travel, or after coming back, as the router's own schedule places it). Each route keeps two
earliest-start chains (rest not taken yet / taken) and two latest-start chains (rest still to
take / already taken), so an insertion tries the rest before, on either side of, and after the
new visit. A span bound is kept where no visit can wait (every window covers the shift): the
route's length is then fixed by its order. Pinned visits, synchronised visits and soft windows
are not kept: :func:`supports` says so, and the router searches with OR-Tools alone.

The result is a set of routes; the router loads them into its OR-Tools model (which checks them
against the full model) and decodes the times there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
from solver.problem import RoutingProblem

__all__ = [
    "DEFAULT_CONFIG",
    "SisrConfig",
    "SisrResult",
    "insertion_fits",
    "search",
    "supports",
    "warm_up",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
#: The search state: visits of each route, per-route facts (ROUTE_*), time chains per route
#: and position, and the (route, position) of each visit (see :func:`_state`).
_Work = tuple[Ints, Ints, Ints, Ints]
#: The best routes: their visits, lengths and each visit's route.
_Best = tuple[Ints, Ints, Ints]


# Columns of the visit table.
(
    VISIT_LOCATION,
    VISIT_DURATION,
    VISIT_DEMAND,
    VISIT_PENALTY,
    VISIT_FIRST_WINDOW,
    VISIT_WINDOWS_END,
) = range(6)
# Per-route facts: length, load, cost (travel plus vehicle-visit costs).
ROUTE_LENGTH, ROUTE_LOAD, ROUTE_COST = range(3)
# Time chains per route position: earliest start with the rest not yet taken / taken, latest
# start with the rest still to take / already taken.
EARLIEST_UNRESTED, EARLIEST_RESTED, LATEST_UNRESTED, LATEST_RESTED = range(4)


@dataclass(frozen=True)
class SisrConfig:
    """Knobs of the search, one set for every problem (never tuned per instance).

    ``avg_removed`` and ``max_string`` are SISR's average number of removed visits and longest
    string; ``split_rate`` the share of split strings and ``split_depth`` the chance to keep
    one more visit of a split string; ``blink`` the chance to skip an insertion position.
    ``start_temperature`` and ``end_temperature`` are in units of the mean arc of the first
    solution (a scale of the problem, not of one instance). ``neighbours`` bounds the list of
    nearby visits that strings are taken from.
    """

    avg_removed: float = 10.0
    max_string: int = 10
    split_rate: float = 0.5
    split_depth: float = 0.01
    blink: float = 0.01
    start_temperature: float = 1.0
    end_temperature: float = 0.01
    neighbours: int = 100


DEFAULT_CONFIG = SisrConfig()


@dataclass(frozen=True)
class SisrResult:
    """Routes (visit indices per vehicle, empty for unused ones), unplanned visits, objective
    (travel, vehicle-visit costs and the penalties of visits left out) and search figures."""

    routes: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    objective: int
    feasible: bool
    iterations: int


def _no_waiting(problem: RoutingProblem, k: int) -> bool:
    spec = problem.vehicles[k]
    return all(
        len(v.windows) == 1
        and v.windows[0][0] <= spec.shift_start
        and v.windows[0][1] >= spec.shift_end
        for v in problem.visits
    )


def supports(problem: RoutingProblem) -> bool:
    """Whether every rule of ``problem`` is one this search keeps (see the module text)."""
    if not HAVE_NUMBA or not problem.visits or problem.syncs:
        return False
    for v in problem.visits:
        if not v.windows or v.pinned_vehicle is not None or v.soft_latest is not None:
            return False
    for k, spec in enumerate(problem.vehicles):
        bounded = spec.max_duration is not None and (
            spec.max_duration < spec.shift_end - spec.shift_start
        )
        if bounded and (spec.rest is not None or not _no_waiting(problem, k)):
            return False
    return True


# --------------------------------------------------------------------------- compiled core


@inline
def _start_at(visit_facts: Ints, windows: Ints, c: int, t: int) -> int:
    """Earliest start of visit ``c`` at or after ``t`` inside one of its windows (or INF)."""
    w0 = visit_facts[c, VISIT_FIRST_WINDOW]
    if visit_facts[c, VISIT_WINDOWS_END] == w0 + 1:
        return max(t, windows[w0, 0]) if t <= windows[w0, 1] else INF
    for w in range(w0, visit_facts[c, VISIT_WINDOWS_END]):
        if t <= windows[w, 1]:
            return max(t, windows[w, 0])
    return INF


@inline
def _latest_at(visit_facts: Ints, windows: Ints, c: int, t: int) -> int:
    """Latest start of visit ``c`` at or before ``t`` inside one of its windows (or -INF)."""
    for w in range(
        visit_facts[c, VISIT_WINDOWS_END] - 1, visit_facts[c, VISIT_FIRST_WINDOW] - 1, -1
    ):
        if t >= windows[w, 0]:
            return min(t, windows[w, 1])
    return -INF


@jit
def _time_route(
    r: int,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
) -> None:
    """Time chains, load and cost of route ``r``; where and position of its visits.

    A vehicle without a rest keeps only the "taken" chains (E1, L1).
    """
    routes, route_facts, time_chains, placement = work
    n = route_facts[r, ROUTE_LENGTH]
    p = vehicle_facts[r, VEH_PROFILE]
    rest = vehicle_facts[r, VEH_HAS_REST] != 0
    re, rl, rd = (
        vehicle_facts[r, VEH_REST_EARLIEST],
        vehicle_facts[r, VEH_REST_LATEST_END],
        vehicle_facts[r, VEH_REST_DURATION],
    )
    prev = vehicle_facts[r, VEH_START]
    e0 = vehicle_facts[r, VEH_SHIFT_START]
    e1 = e0
    if rest:
        e1 = max(e0, re + rd) if re + rd <= rl else INF
    time_chains[r, EARLIEST_UNRESTED, 0] = e0
    time_chains[r, EARLIEST_RESTED, 0] = e1
    load = 0
    cost = 0
    dur = 0
    for i in range(n):
        c = routes[r, i]
        placement[c, 0] = r
        placement[c, 1] = i
        loc = visit_facts[c, VISIT_LOCATION]
        d = travel[p, prev, loc]
        cost += d + vehicle_cost[r, c]
        n1 = _start_at(visit_facts, windows, c, e1 + dur + d) if e1 < INF else INF
        if rest:
            if max(e0 + dur, re) + rd <= rl:
                n1 = min(n1, _start_at(visit_facts, windows, c, max(e0 + dur + d, re) + rd))
            e0 = _start_at(visit_facts, windows, c, e0 + dur + d) if e0 < INF else INF
            time_chains[r, EARLIEST_UNRESTED, i + 1] = e0
        e1 = n1
        time_chains[r, EARLIEST_RESTED, i + 1] = e1
        dur = visit_facts[c, VISIT_DURATION]
        prev = loc
        load += visit_facts[c, VISIT_DEMAND]
    d = travel[p, prev, vehicle_facts[r, VEH_END]]
    cost += d
    n1 = e1 + dur + d if e1 < INF else INF
    if rest:
        if max(e0 + dur, re) + rd <= rl:
            n1 = min(n1, max(e0 + dur + d, re) + rd)
        time_chains[r, EARLIEST_UNRESTED, n + 1] = e0 + dur + d if e0 < INF else INF
    time_chains[r, EARLIEST_RESTED, n + 1] = n1
    route_facts[r, ROUTE_LOAD] = load
    route_facts[r, ROUTE_COST] = cost
    # Latest starts, from the end back.
    l1 = vehicle_facts[r, VEH_SHIFT_END]
    l0 = l1
    if rest:
        l0 = min(l1, rl - rd) if re + rd <= rl else -INF
        time_chains[r, LATEST_UNRESTED, n + 1] = l0
    time_chains[r, LATEST_RESTED, n + 1] = l1
    nxt = vehicle_facts[r, VEH_END]
    for i in range(n - 1, -1, -1):
        c = routes[r, i]
        loc = visit_facts[c, VISIT_LOCATION]
        d = travel[p, loc, nxt]
        dur = visit_facts[c, VISIT_DURATION]
        m1 = _latest_at(visit_facts, windows, c, l1 - d - dur) if l1 > -INF else -INF
        if rest:
            l0 = _latest_at(visit_facts, windows, c, l0 - d - dur) if l0 > -INF else -INF
            if re + rd <= min(rl, l1):
                bound = min(rl - rd, l1 - d - rd) - dur
                l0 = max(l0, _latest_at(visit_facts, windows, c, bound))
            time_chains[r, LATEST_UNRESTED, i + 1] = l0
        l1 = m1
        time_chains[r, LATEST_RESTED, i + 1] = l1
        nxt = loc
    if rest:
        time_chains[r, LATEST_UNRESTED, 0] = l0
    time_chains[r, LATEST_RESTED, 0] = l1


@jit
def _fits_with_rest(
    r: int,
    i: int,
    c: int,
    d1: int,
    d2: int,
    prev_dur: int,
    time_chains: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
) -> bool:
    """Whether visit ``c`` fits between positions ``i`` and ``i + 1`` of route ``r`` with the
    vehicle's rest just before it, just after it, or later on (the rest-taken-before case is
    the caller's). ``d1``/``d2`` are the travel in and out; ``prev_dur`` the service at
    position ``i``.
    """
    e0 = time_chains[r, EARLIEST_UNRESTED, i]
    if e0 >= INF:
        return False
    dur = visit_facts[c, VISIT_DURATION]
    l1 = time_chains[r, LATEST_RESTED, i + 1]
    re, rl, rd = (
        vehicle_facts[r, VEH_REST_EARLIEST],
        vehicle_facts[r, VEH_REST_LATEST_END],
        vehicle_facts[r, VEH_REST_DURATION],
    )
    dep = e0 + prev_dur
    # the rest between position i and the new visit
    if max(dep, re) + rd <= rl:
        s = _start_at(visit_facts, windows, c, max(dep + d1, re) + rd)
        if s + dur + d2 <= l1:
            return True
    s = _start_at(visit_facts, windows, c, dep + d1)
    if s >= INF:
        return False
    out = s + dur
    # the rest between the new visit and position i + 1
    if max(out, re) + rd <= rl and max(out + d2, re) + rd <= l1:
        return True
    # the rest later on
    return out + d2 <= time_chains[r, LATEST_UNRESTED, i + 1]


@inline
def _gap_to_blink(log_keep: float) -> int:
    """Positions until the next skipped one, counting it (geometric; never when ``log_keep``
    is 0, i.e. no blinks)."""
    if log_keep == 0.0:
        return 1 << 62
    return int(math.log(1.0 - np.random.random()) / log_keep) + 1


@inline
def _remove_range(
    r: int,
    a: int,
    b: int,
    routes: Ints,
    route_facts: Ints,
    placement: Ints,
    removed: Ints,
    nrem: int,
) -> int:
    """Remove positions ``a..b-1`` of route ``r`` into ``removed``; returns the new count."""
    n = route_facts[r, ROUTE_LENGTH]
    for i in range(a, b):
        c = routes[r, i]
        placement[c, 0] = -1
        removed[nrem] = c
        nrem += 1
    w = a
    for i in range(b, n):
        routes[r, w] = routes[r, i]
        w += 1
    route_facts[r, ROUTE_LENGTH] = n - (b - a)
    return nrem


@inline
def _copy_route(
    r: int,
    rest: bool,
    src_routes: Ints,
    src_route_facts: Ints,
    src_time_chains: Ints,
    dst_routes: Ints,
    dst_route_facts: Ints,
    dst_time_chains: Ints,
) -> None:
    n = src_route_facts[r, ROUTE_LENGTH]
    for j in range(3):
        dst_route_facts[r, j] = src_route_facts[r, j]
    for i in range(n):
        dst_routes[r, i] = src_routes[r, i]
    for i in range(n + 2):
        dst_time_chains[r, EARLIEST_RESTED, i] = src_time_chains[r, EARLIEST_RESTED, i]
        dst_time_chains[r, LATEST_RESTED, i] = src_time_chains[r, LATEST_RESTED, i]
    if rest:
        for i in range(n + 2):
            dst_time_chains[r, EARLIEST_UNRESTED, i] = src_time_chains[r, EARLIEST_UNRESTED, i]
            dst_time_chains[r, LATEST_UNRESTED, i] = src_time_chains[r, LATEST_UNRESTED, i]


@jit
def _ruin(
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    neighbours: Ints,
    params: Floats,
    removed: Ints,
    touched: npt.NDArray[np.uint8],
    touched_list: Ints,
) -> tuple[int, int]:
    """Remove strings from routes near a random seed visit (some split, keeping a middle part
    in place) into ``removed``; mark the ruined routes in ``touched``/``touched_list``.
    Returns how many visits were removed and how many routes touched."""
    routes, route_facts, placement = work[0], work[1], work[3]
    nvis = visit_facts.shape[0]
    nveh = vehicle_facts.shape[0]
    avg_removed = params[0]
    max_string = params[1]
    split_rate = params[2]
    split_depth = params[3]
    nneigh = neighbours.shape[1]
    nrem = 0
    ntouched = 0
    assigned = 0
    used = 0
    for r in range(nveh):
        if route_facts[r, ROUTE_LENGTH] > 0:
            assigned += route_facts[r, ROUTE_LENGTH]
            used += 1
    if used == 0:
        return nrem, ntouched
    ls_max = min(max_string, assigned / used)
    ks_max = 4.0 * avg_removed / (1.0 + ls_max) - 1.0
    ks = int(np.random.random() * ks_max) + 1
    seed_visit = np.random.randint(nvis)
    strings = 0
    for q in range(nneigh + 1):
        if strings >= ks:
            break
        c = seed_visit if q == 0 else neighbours[seed_visit, q - 1]
        r = placement[c, 0]
        if r < 0 or touched[r]:
            continue
        n = route_facts[r, ROUTE_LENGTH]
        ln = int(np.random.random() * min(float(n), ls_max)) + 1
        pc = placement[c, 1]
        if ln < n and np.random.random() < split_rate:
            m = 1
            while ln + m < n and np.random.random() < split_depth:
                m += 1
            span = ln + m
            lo = max(0, pc - span + 1)
            a = lo + np.random.randint(min(pc, n - span) - lo + 1)
            keep = np.random.randint(ln + 1)  # removed visits before the kept block
            nrem = _remove_range(
                r, a + keep + m, a + span, routes, route_facts, placement, removed, nrem
            )
            nrem = _remove_range(r, a, a + keep, routes, route_facts, placement, removed, nrem)
        else:
            lo = max(0, pc - ln + 1)
            a = lo + np.random.randint(min(pc, n - ln) - lo + 1)
            nrem = _remove_range(r, a, a + ln, routes, route_facts, placement, removed, nrem)
        touched[r] = 1
        touched_list[ntouched] = r
        ntouched += 1
        strings += 1
        _time_route(r, work, travel, visit_facts, windows, vehicle_facts, vehicle_cost)
    return nrem, ntouched


@jit
def _add_left_out(
    nrem: int, removed: Ints, in_removed: npt.NDArray[np.uint8], placement: Ints
) -> int:
    """Append to ``removed`` the visits that were left out before (another chance for them);
    returns the new count."""
    for q in range(nrem):
        in_removed[removed[q]] = 1
    for c in range(placement.shape[0]):
        if placement[c, 0] < 0 and not in_removed[c]:
            removed[nrem] = c
            nrem += 1
    for q in range(nrem):
        in_removed[removed[q]] = 0
    return nrem


@jit
def _cheapest_insertion(
    c: int,
    until_blink: int,
    log_keep: float,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    first_route: int,
    end_route: int,
) -> tuple[int, int, int, int]:
    """The cheapest feasible place of visit ``c`` on routes ``first_route`` to
    ``end_route - 1``: (added cost, route, position, positions to the next blink); route -1
    when none (each position skipped with the blink probability)."""
    routes, route_facts, time_chains, _ = work
    loc = visit_facts[c, VISIT_LOCATION]
    cdur = visit_facts[c, VISIT_DURATION]
    clast = windows[visit_facts[c, VISIT_WINDOWS_END] - 1, 1]
    best_delta = INF
    best_r = -1
    best_p = -1
    for r in range(first_route, end_route):
        if vehicle_cost[r, c] >= INF:
            continue
        n = route_facts[r, ROUTE_LENGTH]
        if n + 1 > vehicle_facts[r, VEH_MAX_VISITS]:
            continue
        if (
            route_facts[r, ROUTE_LOAD] + visit_facts[c, VISIT_DEMAND]
            > vehicle_facts[r, VEH_CAPACITY]
        ):
            continue
        pr = vehicle_facts[r, VEH_PROFILE]
        prev = vehicle_facts[r, VEH_START]
        prev_dur = 0
        extra = vehicle_cost[r, c]
        rest = vehicle_facts[r, VEH_HAS_REST] != 0
        for i in range(n + 1):
            # departures only get later along a route: once past the visit's last window, no
            # later position can hold it
            if (
                time_chains[r, EARLIEST_UNRESTED, i] if rest else time_chains[r, EARLIEST_RESTED, i]
            ) + prev_dur > clast:
                break
            if i < n:
                nc = routes[r, i]
                nloc = visit_facts[nc, VISIT_LOCATION]
                ndur = visit_facts[nc, VISIT_DURATION]
            else:
                nloc = vehicle_facts[r, VEH_END]
                ndur = 0
            until_blink -= 1
            if until_blink == 0:
                until_blink = _gap_to_blink(log_keep)
                prev = nloc
                prev_dur = ndur
                continue
            d1 = travel[pr, prev, loc]
            d2 = travel[pr, loc, nloc]
            delta = d1 + d2 - travel[pr, prev, nloc] + extra
            if delta < best_delta:
                # the rest (if any) taken before: the one case without a rest
                s = _start_at(
                    visit_facts, windows, c, time_chains[r, EARLIEST_RESTED, i] + prev_dur + d1
                )
                if (s + cdur + d2 <= time_chains[r, LATEST_RESTED, i + 1]) or (
                    rest
                    and _fits_with_rest(
                        r, i, c, d1, d2, prev_dur, time_chains, visit_facts, windows, vehicle_facts
                    )
                ):
                    best_delta = delta
                    best_r = r
                    best_p = i
            prev = nloc
            prev_dur = ndur
    return best_delta, best_r, best_p, until_blink


@jit
def _recreate(
    nrem: int,
    ntouched: int,
    until_blink: int,
    log_keep: float,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    depot_dist: Floats,
    removed: Ints,
    keys: Floats,
    touched: npt.NDArray[np.uint8],
    touched_list: Ints,
) -> tuple[int, int, int, int]:
    """Insert the ``removed`` visits in a random, demand, far or close order, each at its
    cheapest feasible place when that costs less than its penalty. Returns the penalties and
    number of the visits left out, the touched routes' count and the positions to the next
    blink."""
    routes, route_facts = work[0], work[1]
    pick = np.random.random() * 11.0
    for q in range(nrem):
        c = removed[q]
        if pick < 4.0:
            keys[q] = np.random.random()
        elif pick < 8.0:
            keys[q] = -visit_facts[c, VISIT_DEMAND] + 1e-3 * np.random.random()
        elif pick < 10.0:
            keys[q] = -depot_dist[c] + 1e-3 * np.random.random()
        else:
            keys[q] = depot_dist[c] + 1e-3 * np.random.random()
    order = np.argsort(keys[:nrem])
    unplanned_pen = 0
    unplanned = 0
    for oq in range(nrem):
        c = removed[order[oq]]
        best_delta, r, best_p, until_blink = _cheapest_insertion(
            c,
            until_blink,
            log_keep,
            work,
            travel,
            visit_facts,
            windows,
            vehicle_facts,
            vehicle_cost,
            0,
            vehicle_facts.shape[0],
        )
        if r < 0 or best_delta >= visit_facts[c, VISIT_PENALTY]:
            unplanned_pen += visit_facts[c, VISIT_PENALTY]
            unplanned += 1
            continue
        n = route_facts[r, ROUTE_LENGTH]
        for i in range(n, best_p, -1):
            routes[r, i] = routes[r, i - 1]
        routes[r, best_p] = c
        route_facts[r, ROUTE_LENGTH] = n + 1
        if not touched[r]:
            touched[r] = 1
            touched_list[ntouched] = r
            ntouched += 1
        _time_route(r, work, travel, visit_facts, windows, vehicle_facts, vehicle_cost)
    return unplanned_pen, unplanned, ntouched, until_blink


@jit
def _accept(
    temperature: float,
    unplanned_pen: int,
    unplanned: int,
    nrem: int,
    ntouched: int,
    work: _Work,
    cur: _Work,
    best: _Best,
    costs: Ints,
    vehicle_facts: Ints,
    removed: Ints,
    touched_list: Ints,
) -> bool:
    """Accept the new state by simulated annealing (keep it as the current one, and as the
    best when it is) or restore the touched routes from the current state."""
    routes, route_facts, time_chains, placement = work
    cur_routes, cur_route_facts, cur_time_chains, cur_placement = cur
    new_cost = costs[0] - costs[2] + unplanned_pen
    for q in range(ntouched):
        r = touched_list[q]
        new_cost += route_facts[r, ROUTE_COST] - cur_route_facts[r, ROUTE_COST]
    threshold = costs[0] - temperature * math.log(np.random.random() + 1e-300)
    if not new_cost < threshold:
        for q in range(nrem):
            placement[removed[q], 0] = -1
        for q in range(ntouched):
            r = touched_list[q]
            _copy_route(
                r,
                vehicle_facts[r, VEH_HAS_REST] != 0,
                cur_routes,
                cur_route_facts,
                cur_time_chains,
                routes,
                route_facts,
                time_chains,
            )
            for i in range(route_facts[r, ROUTE_LENGTH]):
                c = routes[r, i]
                placement[c, 0] = r
                placement[c, 1] = i
        return False
    costs[0] = new_cost
    costs[2] = unplanned_pen
    costs[3] = unplanned
    for q in range(ntouched):
        r = touched_list[q]
        _copy_route(
            r,
            vehicle_facts[r, VEH_HAS_REST] != 0,
            routes,
            route_facts,
            time_chains,
            cur_routes,
            cur_route_facts,
            cur_time_chains,
        )
    for q in range(nrem):
        c = removed[q]
        cur_placement[c, 0] = placement[c, 0]
        cur_placement[c, 1] = placement[c, 1]
    for q in range(ntouched):
        r = touched_list[q]
        for i in range(route_facts[r, ROUTE_LENGTH]):
            c = routes[r, i]
            cur_placement[c, 0] = r
            cur_placement[c, 1] = i
    if new_cost < costs[1]:
        costs[1] = new_cost
        best_routes, best_lengths, best_route_of = best
        for r in range(vehicle_facts.shape[0]):
            best_lengths[r] = route_facts[r, ROUTE_LENGTH]
            for i in range(route_facts[r, ROUTE_LENGTH]):
                best_routes[r, i] = routes[r, i]
        for c in range(placement.shape[0]):
            best_route_of[c] = placement[c, 0]
    return True


@jit
def _iterate(
    iters: int,
    t_start: float,
    t_end: float,
    seed_rng: int,
    work: _Work,
    cur: _Work,
    best: _Best,
    costs: Ints,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    neighbours: Ints,
    depot_dist: Floats,
    params: Floats,
) -> int:
    """Run ``iters`` iterations (ruin, recreate, accept) from the current state, cooling from
    ``t_start`` to ``t_end``.

    ``costs`` holds [current objective, best objective, penalties and number of the visits the
    current state leaves out]. Returns the number of accepted iterations.
    """
    np.random.seed(seed_rng)
    placement = work[3]
    nvis = visit_facts.shape[0]
    nveh = vehicle_facts.shape[0]
    blink = params[4]
    removed = np.empty(nvis, dtype=np.int64)
    in_removed = np.zeros(nvis, dtype=np.uint8)
    touched = np.zeros(nveh, dtype=np.uint8)  # routes ruined or given a visit
    touched_list = np.empty(nveh, dtype=np.int64)
    keys = np.empty(nvis, dtype=np.float64)
    # Each insertion position is skipped with probability `blink`: draw the number of positions
    # to the next skip (geometric) instead of one random number per position.
    log_keep = math.log(1.0 - blink) if 0.0 < blink < 1.0 else 0.0
    until_blink = _gap_to_blink(log_keep)
    accepted = 0
    for it in range(iters):
        temperature = t_start * (t_end / t_start) ** (it / max(iters, 1))
        nrem, ntouched = _ruin(
            work,
            travel,
            visit_facts,
            windows,
            vehicle_facts,
            vehicle_cost,
            neighbours,
            params,
            removed,
            touched,
            touched_list,
        )
        if costs[3] > 0:
            nrem = _add_left_out(nrem, removed, in_removed, placement)
        unplanned_pen, unplanned, ntouched, until_blink = _recreate(
            nrem,
            ntouched,
            until_blink,
            log_keep,
            work,
            travel,
            visit_facts,
            windows,
            vehicle_facts,
            vehicle_cost,
            depot_dist,
            removed,
            keys,
            touched,
            touched_list,
        )
        if _accept(
            temperature,
            unplanned_pen,
            unplanned,
            nrem,
            ntouched,
            work,
            cur,
            best,
            costs,
            vehicle_facts,
            removed,
            touched_list,
        ):
            accepted += 1
        for q in range(ntouched):
            touched[touched_list[q]] = 0
    return accepted


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True, eq=False)
class _Tables:
    travel: Ints
    visit_facts: Ints
    windows: Ints
    vehicle_facts: Ints
    vehicle_cost: Ints
    neighbours: Ints
    depot_dist: Floats


def _tables(
    problem: RoutingProblem,
    config: SisrConfig,
    vehicle_costs: Mapping[int, Sequence[int]] | None,
) -> _Tables:
    visits, vehicles = problem.visits, problem.vehicles
    nvis, nveh = len(visits), len(vehicles)
    travel = travel_table(problem)
    mandatory = mandatory_penalty(travel)
    flat_windows: list[tuple[int, int]] = []
    visit_facts = np.zeros((nvis, 6), dtype=np.int64)
    for i, v in enumerate(visits):
        visit_facts[i, VISIT_LOCATION] = v.location
        visit_facts[i, VISIT_DURATION] = v.duration
        visit_facts[i, VISIT_DEMAND] = v.demand
        visit_facts[i, VISIT_PENALTY] = mandatory if v.penalty is None else v.penalty
        visit_facts[i, VISIT_FIRST_WINDOW] = len(flat_windows)
        flat_windows.extend(v.windows)
        visit_facts[i, VISIT_WINDOWS_END] = len(flat_windows)
    vehicle_facts = vehicle_table(problem)
    vehicle_cost = np.zeros((nveh, nvis), dtype=np.int64)
    for i, v in enumerate(visits):
        if v.allowed_vehicles is not None:
            vehicle_cost[:, i] = INF
            for k in v.allowed_vehicles:
                if 0 <= k < nveh:
                    vehicle_cost[k, i] = 0
    if vehicle_costs:
        for i, per_vehicle in vehicle_costs.items():
            for k, extra in enumerate(per_vehicle):
                if vehicle_cost[k, i] < INF:
                    vehicle_cost[k, i] = int(extra)
    neighbours = nearest_visits(travel[0], visit_facts[:, VISIT_LOCATION], config.neighbours)
    start0 = vehicles[0].start_location
    return _Tables(
        travel=travel,
        visit_facts=visit_facts,
        windows=np.array(flat_windows, dtype=np.int64).reshape(-1, 2),
        vehicle_facts=vehicle_facts,
        vehicle_cost=vehicle_cost,
        neighbours=neighbours,
        depot_dist=travel[0, start0, visit_facts[:, VISIT_LOCATION]].astype(np.float64),
    )


def _state(nveh: int, nvis: int) -> _Work:
    width = nvis + 2
    return (
        np.zeros((nveh, width), dtype=np.int64),  # visits of each route
        np.zeros((nveh, 3), dtype=np.int64),  # length, load, cost
        np.zeros((nveh, 4, width), dtype=np.int64),  # time chains
        np.full((nvis, 2), -1, dtype=np.int64),  # route and position of each visit
    )


def _load(
    t: _Tables,
    state: _Work,
    initial: Sequence[Sequence[int]],
) -> None:
    """Put the ``initial`` routes into ``state``; a route that breaks a rule (an unknown visit,
    one twice or already on another route, caps, capacity, allowed vehicles, times) stays
    empty."""
    routes, route_facts, time_chains, placement = state
    visit_facts, vehicle_facts = t.visit_facts, t.vehicle_facts
    for r, seq in enumerate(initial):
        if r >= vehicle_facts.shape[0] or not seq:
            continue
        nvis = visit_facts.shape[0]
        ok = (
            all(0 <= c < nvis for c in seq)
            and len(set(seq)) == len(seq)
            and len(seq) <= vehicle_facts[r, VEH_MAX_VISITS]
            and all(placement[c, 0] < 0 and t.vehicle_cost[r, c] < INF for c in seq)
            and sum(int(visit_facts[c, VISIT_DEMAND]) for c in seq)
            <= vehicle_facts[r, VEH_CAPACITY]
        )
        if ok:
            routes[r, : len(seq)] = seq
            route_facts[r, ROUTE_LENGTH] = len(seq)
            _time_route(
                r, state, t.travel, t.visit_facts, t.windows, t.vehicle_facts, t.vehicle_cost
            )
            n = len(seq)
            if time_chains[r, EARLIEST_RESTED, n + 1] <= time_chains[r, LATEST_RESTED, n + 1] or (
                vehicle_facts[r, VEH_HAS_REST]
                and time_chains[r, EARLIEST_UNRESTED, n + 1]
                <= time_chains[r, LATEST_UNRESTED, n + 1]
            ):
                continue
        for c in routes[r, : route_facts[r, ROUTE_LENGTH]]:
            placement[c] = -1
        route_facts[r, ROUTE_LENGTH] = 0
        _time_route(r, state, t.travel, t.visit_facts, t.windows, t.vehicle_facts, t.vehicle_cost)


def search(
    problem: RoutingProblem,
    *,
    time_limit: float,
    seed: int = 0,
    iteration_limit: int | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    vehicle_costs: Mapping[int, Sequence[int]] | None = None,
    config: SisrConfig = DEFAULT_CONFIG,
) -> SisrResult:
    """Search ``problem`` (which :func:`supports` must accept) for ``time_limit`` seconds.

    ``initial[k]`` (optional) lists visits of vehicle ``k`` to start from (a route that breaks a
    rule is dropped, its visits start unplanned); ``vehicle_costs[i][k]`` is added when vehicle
    ``k`` serves visit ``i``. With ``iteration_limit`` the search stops after that many
    iterations and cools along them, so the same seed and limit give the same routes on any
    machine (unless the time limit comes first). Raises ``ValueError`` for a problem it does
    not support.
    """
    if not supports(problem):
        raise ValueError("problem has rules the string-removal search does not keep")
    t = _tables(problem, config, vehicle_costs)
    nvis, nveh = len(problem.visits), len(problem.vehicles)
    work, cur = _state(nveh, nvis), _state(nveh, nvis)
    routes, route_facts, placement = work[0], work[1], work[3]
    for r in range(nveh):
        _time_route(r, work, t.travel, t.visit_facts, t.windows, t.vehicle_facts, t.vehicle_cost)
    if initial is not None:
        _load(t, work, initial)
    for w, c in zip(work, cur, strict=True):
        c[...] = w
    best = (
        routes.copy(),
        route_facts[:, ROUTE_LENGTH].copy(),
        placement[:, 0].copy(),
    )
    out_now = placement[:, 0] < 0
    unplanned = int(t.visit_facts[out_now, VISIT_PENALTY].sum())
    start_cost = int(route_facts[:, ROUTE_COST].sum()) + unplanned
    costs = np.array([start_cost, start_cost, unplanned, int(out_now.sum())], dtype=np.int64)
    params = np.array(
        [
            config.avg_removed,
            config.max_string,
            config.split_rate,
            config.split_depth,
            config.blink,
        ],
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
            t.windows,
            t.vehicle_facts,
            t.vehicle_cost,
            t.neighbours,
            t.depot_dist,
            params,
        )

    # One cold iteration inserts whatever is unplanned: the first solution, whose mean arc sets
    # the temperature scale.
    done = anneal(
        run,
        lambda: mean_arc(float(cur[1][:, ROUTE_COST].sum()), best[1]),
        temperatures=(config.start_temperature, config.end_temperature),
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=100,
        first_rate=2e-5,
        min_chunk=10,
    )
    best_routes, best_lengths, best_route_of = best
    out = tuple(tuple(int(c) for c in best_routes[r, : best_lengths[r]]) for r in range(nveh))
    dropped = tuple(i for i in range(nvis) if best_route_of[i] < 0)
    return SisrResult(
        routes=out,
        dropped=dropped,
        objective=int(costs[1]),
        feasible=not any(problem.visits[i].penalty is None for i in dropped),
        iterations=done,
    )


def insertion_fits(
    problem: RoutingProblem, vehicle: int, seq: Sequence[int], visit: int, position: int
) -> bool:
    """Whether the times of route ``seq`` of ``vehicle`` allow ``visit`` at ``position``.

    Windows, shift and rest only (capacity, caps and allowed vehicles are the caller's): the
    constant-time test the search makes for every insertion, exposed for checks against the
    router's own schedule.
    """
    t = _tables(problem, SisrConfig(neighbours=0), None)  # no strings: no neighbour lists
    state = _state(len(problem.vehicles), len(problem.visits))
    routes, route_facts, time_chains = state[0], state[1], state[2]
    r = vehicle
    routes[r, : len(seq)] = seq
    route_facts[r, ROUTE_LENGTH] = len(seq)
    _time_route(r, state, t.travel, t.visit_facts, t.windows, t.vehicle_facts, t.vehicle_cost)
    p = int(t.vehicle_facts[r, VEH_PROFILE])
    prev = (
        int(t.vehicle_facts[r, VEH_START])
        if position == 0
        else int(t.visit_facts[seq[position - 1], VISIT_LOCATION])
    )
    prev_dur = 0 if position == 0 else int(t.visit_facts[seq[position - 1], VISIT_DURATION])
    nxt = (
        int(t.vehicle_facts[r, VEH_END])
        if position == len(seq)
        else int(t.visit_facts[seq[position], VISIT_LOCATION])
    )
    loc = int(t.visit_facts[visit, VISIT_LOCATION])
    d1, d2 = int(t.travel[p, prev, loc]), int(t.travel[p, loc, nxt])
    start = _start_at(
        t.visit_facts,
        t.windows,
        visit,
        int(time_chains[r, EARLIEST_RESTED, position]) + prev_dur + d1,
    )
    if (
        start + int(t.visit_facts[visit, VISIT_DURATION]) + d2
        <= time_chains[r, LATEST_RESTED, position + 1]
    ):
        return True
    return bool(t.vehicle_facts[r, VEH_HAS_REST]) and bool(
        _fits_with_rest(
            r,
            position,
            visit,
            d1,
            d2,
            prev_dur,
            time_chains,
            t.visit_facts,
            t.windows,
            t.vehicle_facts,
        )
    )


def warm_up() -> None:
    """Compile the search now (a few seconds the first time, then loaded from numba's disk
    cache), so that the first real search spends its whole budget searching."""
    if not HAVE_NUMBA:  # pragma: no cover
        return
    from solver.problem import BreakSpec, VehicleSpec, VisitSpec

    matrix = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=np.int64)
    problem = RoutingProblem(
        matrices=(matrix,),
        visits=(
            VisitSpec(location=1, duration=1, windows=((0, 50),)),
            VisitSpec(location=2, duration=1, windows=((0, 10), (20, 50)), penalty=5),
        ),
        vehicles=(
            VehicleSpec(0, 0, 0, 100, rest=BreakSpec(earliest=0, latest_end=100, duration=5)),
        ),
    )
    search(problem, time_limit=1.0, iteration_limit=2)
    insertion_fits(problem, 0, [0], 1, 1)
