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


# Columns of the visit table.
V_LOC, V_DUR, V_DEM, V_PEN, V_W0, V_W1 = range(6)
# Per-route facts: length, load, cost (travel plus vehicle-visit costs).
R_LEN, R_LOAD, R_COST = range(3)
# Time chains per route position: earliest start with the rest not yet taken / taken, latest
# start with the rest still to take / already taken.
E0, E1, L0, L1 = range(4)


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
def _start_at(vis: Ints, win: Ints, c: int, t: int) -> int:
    """Earliest start of visit ``c`` at or after ``t`` inside one of its windows (or INF)."""
    w0 = vis[c, V_W0]
    if vis[c, V_W1] == w0 + 1:
        return max(t, win[w0, 0]) if t <= win[w0, 1] else INF
    for w in range(w0, vis[c, V_W1]):
        if t <= win[w, 1]:
            return max(t, win[w, 0])
    return INF


@inline
def _latest_at(vis: Ints, win: Ints, c: int, t: int) -> int:
    """Latest start of visit ``c`` at or before ``t`` inside one of its windows (or -INF)."""
    for w in range(vis[c, V_W1] - 1, vis[c, V_W0] - 1, -1):
        if t >= win[w, 0]:
            return min(t, win[w, 1])
    return -INF


@jit
def _recompute(
    r: int,
    routes: Ints,
    rinfo: Ints,
    times: Ints,
    vinfo: Ints,
    tt: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
    vcost: Ints,
) -> None:
    """Time chains, load and cost of route ``r``; where and position of its visits.

    A vehicle without a rest keeps only the "taken" chains (E1, L1).
    """
    n = rinfo[r, R_LEN]
    p = veh[r, VEH_PROFILE]
    rest = veh[r, VEH_HAS_REST] != 0
    re, rl, rd = veh[r, VEH_REST_EARLIEST], veh[r, VEH_REST_LATEST_END], veh[r, VEH_REST_DURATION]
    prev = veh[r, VEH_START]
    e0 = veh[r, VEH_SHIFT_START]
    e1 = e0
    if rest:
        e1 = max(e0, re + rd) if re + rd <= rl else INF
    times[r, E0, 0] = e0
    times[r, E1, 0] = e1
    load = 0
    cost = 0
    dur = 0
    for i in range(n):
        c = routes[r, i]
        vinfo[c, 0] = r
        vinfo[c, 1] = i
        loc = vis[c, V_LOC]
        d = tt[p, prev, loc]
        cost += d + vcost[r, c]
        n1 = _start_at(vis, win, c, e1 + dur + d) if e1 < INF else INF
        if rest:
            if max(e0 + dur, re) + rd <= rl:
                n1 = min(n1, _start_at(vis, win, c, max(e0 + dur + d, re) + rd))
            e0 = _start_at(vis, win, c, e0 + dur + d) if e0 < INF else INF
            times[r, E0, i + 1] = e0
        e1 = n1
        times[r, E1, i + 1] = e1
        dur = vis[c, V_DUR]
        prev = loc
        load += vis[c, V_DEM]
    d = tt[p, prev, veh[r, VEH_END]]
    cost += d
    n1 = e1 + dur + d if e1 < INF else INF
    if rest:
        if max(e0 + dur, re) + rd <= rl:
            n1 = min(n1, max(e0 + dur + d, re) + rd)
        times[r, E0, n + 1] = e0 + dur + d if e0 < INF else INF
    times[r, E1, n + 1] = n1
    rinfo[r, R_LOAD] = load
    rinfo[r, R_COST] = cost
    # Latest starts, from the end back.
    l1 = veh[r, VEH_SHIFT_END]
    l0 = l1
    if rest:
        l0 = min(l1, rl - rd) if re + rd <= rl else -INF
        times[r, L0, n + 1] = l0
    times[r, L1, n + 1] = l1
    nxt = veh[r, VEH_END]
    for i in range(n - 1, -1, -1):
        c = routes[r, i]
        loc = vis[c, V_LOC]
        d = tt[p, loc, nxt]
        dur = vis[c, V_DUR]
        m1 = _latest_at(vis, win, c, l1 - d - dur) if l1 > -INF else -INF
        if rest:
            l0 = _latest_at(vis, win, c, l0 - d - dur) if l0 > -INF else -INF
            if re + rd <= min(rl, l1):
                bound = min(rl - rd, l1 - d - rd) - dur
                l0 = max(l0, _latest_at(vis, win, c, bound))
            times[r, L0, i + 1] = l0
        l1 = m1
        times[r, L1, i + 1] = l1
        nxt = loc
    if rest:
        times[r, L0, 0] = l0
    times[r, L1, 0] = l1


@jit
def _fits_with_rest(
    r: int,
    i: int,
    c: int,
    d1: int,
    d2: int,
    prev_dur: int,
    times: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
) -> bool:
    """Whether visit ``c`` fits between positions ``i`` and ``i + 1`` of route ``r`` with the
    vehicle's rest just before it, just after it, or later on (the rest-taken-before case is
    the caller's). ``d1``/``d2`` are the travel in and out; ``prev_dur`` the service at
    position ``i``.
    """
    e0 = times[r, E0, i]
    if e0 >= INF:
        return False
    dur = vis[c, V_DUR]
    l1 = times[r, L1, i + 1]
    re, rl, rd = veh[r, VEH_REST_EARLIEST], veh[r, VEH_REST_LATEST_END], veh[r, VEH_REST_DURATION]
    dep = e0 + prev_dur
    # the rest between position i and the new visit
    if max(dep, re) + rd <= rl:
        s = _start_at(vis, win, c, max(dep + d1, re) + rd)
        if s + dur + d2 <= l1:
            return True
    s = _start_at(vis, win, c, dep + d1)
    if s >= INF:
        return False
    out = s + dur
    # the rest between the new visit and position i + 1
    if max(out, re) + rd <= rl and max(out + d2, re) + rd <= l1:
        return True
    # the rest later on
    return out + d2 <= times[r, L0, i + 1]


@inline
def _gap_to_blink(log_keep: float) -> int:
    """Positions until the next skipped one, counting it (geometric; never when ``log_keep``
    is 0, i.e. no blinks)."""
    if log_keep == 0.0:
        return 1 << 62
    return int(math.log(1.0 - np.random.random()) / log_keep) + 1


@inline
def _remove_range(
    r: int, a: int, b: int, routes: Ints, rinfo: Ints, vinfo: Ints, removed: Ints, nrem: int
) -> int:
    """Remove positions ``a..b-1`` of route ``r`` into ``removed``; returns the new count."""
    n = rinfo[r, R_LEN]
    for i in range(a, b):
        c = routes[r, i]
        vinfo[c, 0] = -1
        removed[nrem] = c
        nrem += 1
    w = a
    for i in range(b, n):
        routes[r, w] = routes[r, i]
        w += 1
    rinfo[r, R_LEN] = n - (b - a)
    return nrem


@inline
def _copy_route(r: int, rest: bool, src_routes: Ints, src_rinfo: Ints, src_times: Ints,
                dst_routes: Ints, dst_rinfo: Ints, dst_times: Ints) -> None:  # fmt: skip
    n = src_rinfo[r, R_LEN]
    for j in range(3):
        dst_rinfo[r, j] = src_rinfo[r, j]
    for i in range(n):
        dst_routes[r, i] = src_routes[r, i]
    for i in range(n + 2):
        dst_times[r, E1, i] = src_times[r, E1, i]
        dst_times[r, L1, i] = src_times[r, L1, i]
    if rest:
        for i in range(n + 2):
            dst_times[r, E0, i] = src_times[r, E0, i]
            dst_times[r, L0, i] = src_times[r, L0, i]


_Work = tuple[Ints, Ints, Ints, Ints]
_Best = tuple[Ints, Ints, Ints]


@jit
def _ruin(
    work: _Work,
    tt: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
    vcost: Ints,
    neigh: Ints,
    params: Floats,
    removed: Ints,
    touched: npt.NDArray[np.uint8],
    touched_list: Ints,
) -> tuple[int, int]:
    """Remove strings from routes near a random seed visit (some split, keeping a middle part
    in place) into ``removed``; mark the ruined routes in ``touched``/``touched_list``.
    Returns how many visits were removed and how many routes touched."""
    routes, rinfo, times, vinfo = work
    nvis = vis.shape[0]
    nveh = veh.shape[0]
    avg_removed = params[0]
    max_string = params[1]
    split_rate = params[2]
    split_depth = params[3]
    nneigh = neigh.shape[1]
    nrem = 0
    ntouched = 0
    assigned = 0
    used = 0
    for r in range(nveh):
        if rinfo[r, R_LEN] > 0:
            assigned += rinfo[r, R_LEN]
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
        c = seed_visit if q == 0 else neigh[seed_visit, q - 1]
        r = vinfo[c, 0]
        if r < 0 or touched[r]:
            continue
        n = rinfo[r, R_LEN]
        ln = int(np.random.random() * min(float(n), ls_max)) + 1
        pc = vinfo[c, 1]
        if ln < n and np.random.random() < split_rate:
            m = 1
            while ln + m < n and np.random.random() < split_depth:
                m += 1
            span = ln + m
            lo = max(0, pc - span + 1)
            a = lo + np.random.randint(min(pc, n - span) - lo + 1)
            keep = np.random.randint(ln + 1)  # removed visits before the kept block
            nrem = _remove_range(r, a + keep + m, a + span, routes, rinfo, vinfo, removed, nrem)
            nrem = _remove_range(r, a, a + keep, routes, rinfo, vinfo, removed, nrem)
        else:
            lo = max(0, pc - ln + 1)
            a = lo + np.random.randint(min(pc, n - ln) - lo + 1)
            nrem = _remove_range(r, a, a + ln, routes, rinfo, vinfo, removed, nrem)
        touched[r] = 1
        touched_list[ntouched] = r
        ntouched += 1
        strings += 1
        _recompute(r, routes, rinfo, times, vinfo, tt, vis, win, veh, vcost)
    return nrem, ntouched


@jit
def _add_left_out(nrem: int, removed: Ints, in_removed: npt.NDArray[np.uint8], vinfo: Ints) -> int:
    """Append to ``removed`` the visits that were left out before (another chance for them);
    returns the new count."""
    for q in range(nrem):
        in_removed[removed[q]] = 1
    for c in range(vinfo.shape[0]):
        if vinfo[c, 0] < 0 and not in_removed[c]:
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
    tt: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
    vcost: Ints,
) -> tuple[int, int, int, int]:
    """The cheapest feasible place of visit ``c``: (added cost, route, position, positions to
    the next blink); route -1 when none (each position skipped with the blink probability)."""
    routes, rinfo, times, _ = work
    nveh = veh.shape[0]
    loc = vis[c, V_LOC]
    cdur = vis[c, V_DUR]
    clast = win[vis[c, V_W1] - 1, 1]
    best_delta = INF
    best_r = -1
    best_p = -1
    for r in range(nveh):
        if vcost[r, c] >= INF:
            continue
        n = rinfo[r, R_LEN]
        if n + 1 > veh[r, VEH_MAX_VISITS]:
            continue
        if rinfo[r, R_LOAD] + vis[c, V_DEM] > veh[r, VEH_CAPACITY]:
            continue
        pr = veh[r, VEH_PROFILE]
        prev = veh[r, VEH_START]
        prev_dur = 0
        extra = vcost[r, c]
        rest = veh[r, VEH_HAS_REST] != 0
        for i in range(n + 1):
            # departures only get later along a route: once past the visit's last window, no
            # later position can hold it
            if (times[r, E0, i] if rest else times[r, E1, i]) + prev_dur > clast:
                break
            if i < n:
                nc = routes[r, i]
                nloc = vis[nc, V_LOC]
                ndur = vis[nc, V_DUR]
            else:
                nloc = veh[r, VEH_END]
                ndur = 0
            until_blink -= 1
            if until_blink == 0:
                until_blink = _gap_to_blink(log_keep)
                prev = nloc
                prev_dur = ndur
                continue
            d1 = tt[pr, prev, loc]
            d2 = tt[pr, loc, nloc]
            delta = d1 + d2 - tt[pr, prev, nloc] + extra
            if delta < best_delta:
                # the rest (if any) taken before: the one case without a rest
                s = _start_at(vis, win, c, times[r, E1, i] + prev_dur + d1)
                if (s + cdur + d2 <= times[r, L1, i + 1]) or (
                    rest and _fits_with_rest(r, i, c, d1, d2, prev_dur, times, vis, win, veh)
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
    tt: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
    vcost: Ints,
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
    routes, rinfo, times, vinfo = work
    pick = np.random.random() * 11.0
    for q in range(nrem):
        c = removed[q]
        if pick < 4.0:
            keys[q] = np.random.random()
        elif pick < 8.0:
            keys[q] = -vis[c, V_DEM] + 1e-3 * np.random.random()
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
            c, until_blink, log_keep, work, tt, vis, win, veh, vcost
        )
        if r < 0 or best_delta >= vis[c, V_PEN]:
            unplanned_pen += vis[c, V_PEN]
            unplanned += 1
            continue
        n = rinfo[r, R_LEN]
        for i in range(n, best_p, -1):
            routes[r, i] = routes[r, i - 1]
        routes[r, best_p] = c
        rinfo[r, R_LEN] = n + 1
        if not touched[r]:
            touched[r] = 1
            touched_list[ntouched] = r
            ntouched += 1
        _recompute(r, routes, rinfo, times, vinfo, tt, vis, win, veh, vcost)
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
    veh: Ints,
    removed: Ints,
    touched_list: Ints,
) -> bool:
    """Accept the new state by simulated annealing (keep it as the current one, and as the
    best when it is) or restore the touched routes from the current state."""
    routes, rinfo, times, vinfo = work
    c_routes, c_rinfo, c_times, c_vinfo = cur
    new_cost = costs[0] - costs[2] + unplanned_pen
    for q in range(ntouched):
        r = touched_list[q]
        new_cost += rinfo[r, R_COST] - c_rinfo[r, R_COST]
    threshold = costs[0] - temperature * math.log(np.random.random() + 1e-300)
    if not new_cost < threshold:
        for q in range(nrem):
            vinfo[removed[q], 0] = -1
        for q in range(ntouched):
            r = touched_list[q]
            _copy_route(r, veh[r, VEH_HAS_REST] != 0, c_routes, c_rinfo, c_times, routes, rinfo,
                        times)  # fmt: skip
            for i in range(rinfo[r, R_LEN]):
                c = routes[r, i]
                vinfo[c, 0] = r
                vinfo[c, 1] = i
        return False
    costs[0] = new_cost
    costs[2] = unplanned_pen
    costs[3] = unplanned
    for q in range(ntouched):
        r = touched_list[q]
        _copy_route(r, veh[r, VEH_HAS_REST] != 0, routes, rinfo, times, c_routes, c_rinfo,
                    c_times)  # fmt: skip
    for q in range(nrem):
        c = removed[q]
        c_vinfo[c, 0] = vinfo[c, 0]
        c_vinfo[c, 1] = vinfo[c, 1]
    for q in range(ntouched):
        r = touched_list[q]
        for i in range(rinfo[r, R_LEN]):
            c = routes[r, i]
            c_vinfo[c, 0] = r
            c_vinfo[c, 1] = i
    if new_cost < costs[1]:
        costs[1] = new_cost
        b_routes, b_rlen, b_where = best
        for r in range(veh.shape[0]):
            b_rlen[r] = rinfo[r, R_LEN]
            for i in range(rinfo[r, R_LEN]):
                b_routes[r, i] = routes[r, i]
        for c in range(vinfo.shape[0]):
            b_where[c] = vinfo[c, 0]
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
    tt: Ints,
    vis: Ints,
    win: Ints,
    veh: Ints,
    vcost: Ints,
    neigh: Ints,
    depot_dist: Floats,
    params: Floats,
) -> int:
    """Run ``iters`` iterations (ruin, recreate, accept) from the current state, cooling from
    ``t_start`` to ``t_end``.

    ``costs`` holds [current objective, best objective, penalties and number of the visits the
    current state leaves out]. Returns the number of accepted iterations.
    """
    np.random.seed(seed_rng)
    vinfo = work[3]
    nvis = vis.shape[0]
    nveh = veh.shape[0]
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
        nrem, ntouched = _ruin(work, tt, vis, win, veh, vcost, neigh, params, removed, touched,
                               touched_list)  # fmt: skip
        if costs[3] > 0:
            nrem = _add_left_out(nrem, removed, in_removed, vinfo)
        unplanned_pen, unplanned, ntouched, until_blink = _recreate(
            nrem, ntouched, until_blink, log_keep, work, tt, vis, win, veh, vcost, depot_dist,
            removed, keys, touched, touched_list,
        )  # fmt: skip
        if _accept(temperature, unplanned_pen, unplanned, nrem, ntouched, work, cur, best, costs,
                   veh, removed, touched_list):  # fmt: skip
            accepted += 1
        for q in range(ntouched):
            touched[touched_list[q]] = 0
    return accepted


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True, eq=False)
class _Tables:
    tt: Ints
    vis: Ints
    win: Ints
    veh: Ints
    vcost: Ints
    neigh: Ints
    depot_dist: Floats


def _tables(
    problem: RoutingProblem,
    config: SisrConfig,
    vehicle_costs: Mapping[int, Sequence[int]] | None,
) -> _Tables:
    visits, vehicles = problem.visits, problem.vehicles
    nvis, nveh = len(visits), len(vehicles)
    tt = travel_table(problem)
    mandatory = mandatory_penalty(tt)
    windows: list[tuple[int, int]] = []
    vis = np.zeros((nvis, 6), dtype=np.int64)
    for i, v in enumerate(visits):
        vis[i, V_LOC] = v.location
        vis[i, V_DUR] = v.duration
        vis[i, V_DEM] = v.demand
        vis[i, V_PEN] = mandatory if v.penalty is None else v.penalty
        vis[i, V_W0] = len(windows)
        windows.extend(v.windows)
        vis[i, V_W1] = len(windows)
    veh = vehicle_table(problem)
    vcost = np.zeros((nveh, nvis), dtype=np.int64)
    for i, v in enumerate(visits):
        if v.allowed_vehicles is not None:
            vcost[:, i] = INF
            for k in v.allowed_vehicles:
                if 0 <= k < nveh:
                    vcost[k, i] = 0
    if vehicle_costs:
        for i, per_vehicle in vehicle_costs.items():
            for k, extra in enumerate(per_vehicle):
                if vcost[k, i] < INF:
                    vcost[k, i] = int(extra)
    neigh = nearest_visits(tt[0], vis[:, V_LOC], config.neighbours)
    start0 = vehicles[0].start_location
    return _Tables(
        tt=tt,
        vis=vis,
        win=np.array(windows, dtype=np.int64).reshape(-1, 2),
        veh=veh,
        vcost=vcost,
        neigh=neigh,
        depot_dist=tt[0, start0, vis[:, V_LOC]].astype(np.float64),
    )


def _state(nveh: int, nvis: int) -> tuple[Ints, Ints, Ints, Ints]:
    width = nvis + 2
    return (
        np.zeros((nveh, width), dtype=np.int64),  # visits of each route
        np.zeros((nveh, 3), dtype=np.int64),  # length, load, cost
        np.zeros((nveh, 4, width), dtype=np.int64),  # time chains
        np.full((nvis, 2), -1, dtype=np.int64),  # route and position of each visit
    )


def _load(
    t: _Tables,
    state: tuple[Ints, Ints, Ints, Ints],
    initial: Sequence[Sequence[int]],
) -> None:
    """Put the ``initial`` routes into ``state``; a route that breaks a rule (an unknown visit,
    one twice or already on another route, caps, capacity, allowed vehicles, times) stays
    empty."""
    routes, rinfo, times, vinfo = state
    vis, veh = t.vis, t.veh
    for r, seq in enumerate(initial):
        if r >= veh.shape[0] or not seq:
            continue
        nvis = vis.shape[0]
        ok = (
            all(0 <= c < nvis for c in seq)
            and len(set(seq)) == len(seq)
            and len(seq) <= veh[r, VEH_MAX_VISITS]
            and all(vinfo[c, 0] < 0 and t.vcost[r, c] < INF for c in seq)
            and sum(int(vis[c, V_DEM]) for c in seq) <= veh[r, VEH_CAPACITY]
        )
        if ok:
            routes[r, : len(seq)] = seq
            rinfo[r, R_LEN] = len(seq)
            _recompute(r, routes, rinfo, times, vinfo, t.tt, vis, t.win, veh, t.vcost)
            n = len(seq)
            if times[r, E1, n + 1] <= times[r, L1, n + 1] or (
                veh[r, VEH_HAS_REST] and times[r, E0, n + 1] <= times[r, L0, n + 1]
            ):
                continue
        for c in routes[r, : rinfo[r, R_LEN]]:
            vinfo[c] = -1
        rinfo[r, R_LEN] = 0
        _recompute(r, routes, rinfo, times, vinfo, t.tt, vis, t.win, veh, t.vcost)


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
    routes, rinfo, times, vinfo = work
    for r in range(nveh):
        _recompute(r, routes, rinfo, times, vinfo, t.tt, t.vis, t.win, t.veh, t.vcost)
    if initial is not None:
        _load(t, work, initial)
    for w, c in zip(work, cur, strict=True):
        c[...] = w
    best = (
        routes.copy(),
        rinfo[:, R_LEN].copy(),
        vinfo[:, 0].copy(),
    )
    out_now = vinfo[:, 0] < 0
    unplanned = int(t.vis[out_now, V_PEN].sum())
    start_cost = int(rinfo[:, R_COST].sum()) + unplanned
    costs = np.array([start_cost, start_cost, unplanned, int(out_now.sum())], dtype=np.int64)
    params = np.array(
        [config.avg_removed, config.max_string, config.split_rate, config.split_depth,
         config.blink], dtype=np.float64,
    )  # fmt: skip

    def run(iters: int, hot: float, cold: float, rng: int) -> None:
        _iterate(iters, hot, cold, rng, work, cur, best, costs, t.tt, t.vis, t.win, t.veh,
                 t.vcost, t.neigh, t.depot_dist, params)  # fmt: skip

    # One cold iteration inserts whatever is unplanned: the first solution, whose mean arc sets
    # the temperature scale.
    done = anneal(
        run,
        lambda: mean_arc(float(cur[1][:, R_COST].sum()), best[1]),
        temperatures=(config.start_temperature, config.end_temperature),
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=100,
        first_rate=2e-5,
        min_chunk=10,
    )
    b_routes, b_rlen, b_where = best
    out = tuple(tuple(int(c) for c in b_routes[r, : b_rlen[r]]) for r in range(nveh))
    dropped = tuple(i for i in range(nvis) if b_where[i] < 0)
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
    routes, rinfo, times, vinfo = _state(len(problem.vehicles), len(problem.visits))
    r = vehicle
    routes[r, : len(seq)] = seq
    rinfo[r, R_LEN] = len(seq)
    _recompute(r, routes, rinfo, times, vinfo, t.tt, t.vis, t.win, t.veh, t.vcost)
    p = int(t.veh[r, VEH_PROFILE])
    prev = int(t.veh[r, VEH_START]) if position == 0 else int(t.vis[seq[position - 1], V_LOC])
    prev_dur = 0 if position == 0 else int(t.vis[seq[position - 1], V_DUR])
    nxt = int(t.veh[r, VEH_END]) if position == len(seq) else int(t.vis[seq[position], V_LOC])
    loc = int(t.vis[visit, V_LOC])
    d1, d2 = int(t.tt[p, prev, loc]), int(t.tt[p, loc, nxt])
    start = _start_at(t.vis, t.win, visit, int(times[r, E1, position]) + prev_dur + d1)
    if start + int(t.vis[visit, V_DUR]) + d2 <= times[r, L1, position + 1]:
        return True
    return bool(t.veh[r, VEH_HAS_REST]) and bool(
        _fits_with_rest(r, position, visit, d1, d2, prev_dur, times, t.vis, t.win, t.veh)
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
