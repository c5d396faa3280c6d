"""A compiled ruin-and-recreate search for the daily router (slack induction by string removals).

Each iteration removes a few strings of consecutive visits from routes near a random seed visit
(some strings keep a split-off middle part in place), re-inserts every removed or unplanned visit
at its cheapest feasible position (each position skipped with a small "blink" probability),
and accepts the result by simulated annealing. This is the SISR scheme of Christiaens and
Vanden Berghe (2020); it needs many cheap iterations, so the inner loop is compiled with
numba and works on flat integer arrays: hundreds of thousands of iterations in ten seconds on
100 visits, where one OR-Tools perturbation costs milliseconds.

Feasibility is strict at every step: a time window per visit (on the start of service), each
vehicle's shift and start and end location, capacity, a visit cap, allowed vehicles and the
vehicle's travel profile. Problems with more than that (breaks, several windows, pins,
synchronised visits, soft windows, span bounds) are not for this search:
:func:`supports` tells, and the router then searches with OR-Tools alone.

The result is a set of routes; the router loads them into its OR-Tools model (which checks
them against the full model) and decodes the times there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from solver.problem import RoutingProblem

__all__ = ["SisrConfig", "SisrResult", "search", "supports"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]

try:  # numba is a declared dependency; without it the router keeps to OR-Tools.
    from numba import njit
except ImportError:  # pragma: no cover - exercised only on installs without numba
    njit = None

# A dropped mandatory visit costs this many times the largest arc: never worth it while a
# feasible insertion exists.
MANDATORY_WEIGHT = 1000


@dataclass(frozen=True)
class SisrConfig:
    """Knobs of the search, one set for every problem (never tuned per instance).

    ``avg_removed`` and ``max_string`` are SISR's average number of removed visits and longest
    string; ``split_rate`` the share of split strings and ``split_depth`` the chance to keep
    one more visit of a split string; ``blink`` the chance to skip an insertion position.
    ``start_temperature`` and ``end_temperature`` are in units of the mean arc of the first
    solution (a scale of the problem, not of one instance).
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
    (travel plus the penalties of optional visits left out) and search figures."""

    routes: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    objective: int
    feasible: bool
    iterations: int


def supports(problem: RoutingProblem) -> bool:
    """Whether every rule of ``problem`` is one this search keeps (see the module text)."""
    if njit is None or not problem.visits or problem.syncs:
        return False
    for v in problem.visits:
        if len(v.windows) != 1 or v.pinned_vehicle is not None or v.soft_latest is not None:
            return False
    for k in problem.vehicles:
        if k.rest is not None:
            return False
        if k.max_duration is not None and k.max_duration < k.shift_end - k.shift_start:
            return False
    return True


# --------------------------------------------------------------------------- compiled core

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(f: _F) -> _F:
    """Compile ``f`` with numba (cached on disk); plain Python without numba."""
    if njit is None:  # pragma: no cover
        return f
    return cast(_F, njit(cache=True, nogil=True)(f))


@_jit
def _recompute(
    r: int,
    routes: Ints,
    rlen: Ints,
    E: Ints,
    Ld: Ints,
    rload: Ints,
    rcost: Ints,
    where: Ints,
    pos: Ints,
    tt: Ints,
    vloc: Ints,
    vdur: Ints,
    ve: Ints,
    vl: Ints,
    vdem: Ints,
    kstart: Ints,
    kend: Ints,
    kss: Ints,
    kse: Ints,
    kprof: Ints,
) -> None:
    """Forward earliest starts, backward latest starts, load and cost of route ``r``."""
    n = rlen[r]
    p = kprof[r]
    prev = kstart[r]
    t = kss[r]
    E[r, 0] = t
    load = 0
    cost = 0
    prev_dur = 0
    for i in range(n):
        c = routes[r, i]
        where[c] = r
        pos[c] = i
        loc = vloc[c]
        d = tt[p, prev, loc]
        cost += d
        t = max(t + prev_dur + d, ve[c])
        E[r, i + 1] = t
        prev_dur = vdur[c]
        prev = loc
        load += vdem[c]
    d = tt[p, prev, kend[r]]
    cost += d
    E[r, n + 1] = t + prev_dur + d
    rload[r] = load
    rcost[r] = cost
    # Latest starts: Ld[r, q] is the latest start at position q that keeps the rest feasible.
    nxt = kend[r]
    late = kse[r]
    Ld[r, n + 1] = late
    for i in range(n - 1, -1, -1):
        c = routes[r, i]
        loc = vloc[c]
        late = min(vl[c], late - tt[p, loc, nxt] - vdur[c])
        Ld[r, i + 1] = late
        nxt = loc
    Ld[r, 0] = min(kse[r], late - tt[p, kstart[r], nxt])


@_jit
def _remove_range(
    r: int, a: int, b: int, routes: Ints, rlen: Ints, where: Ints, removed: Ints, nrem: int
) -> int:
    """Remove positions ``a..b-1`` of route ``r`` into ``removed``; returns the new count."""
    n = rlen[r]
    for i in range(a, b):
        c = routes[r, i]
        where[c] = -1
        removed[nrem] = c
        nrem += 1
    w = a
    for i in range(b, n):
        routes[r, w] = routes[r, i]
        w += 1
    rlen[r] = n - (b - a)
    return nrem


@_jit
def _iterate(
    iters: int,
    t_start: float,
    t_end: float,
    seed_rng: int,
    state_i: Ints,
    routes: Ints,
    rlen: Ints,
    E: Ints,
    Ld: Ints,
    rload: Ints,
    rcost: Ints,
    where: Ints,
    pos: Ints,
    c_routes: Ints,
    c_rlen: Ints,
    c_E: Ints,
    c_Ld: Ints,
    c_rload: Ints,
    c_rcost: Ints,
    c_where: Ints,
    c_pos: Ints,
    b_routes: Ints,
    b_rlen: Ints,
    b_where: Ints,
    costs: Ints,
    tt: Ints,
    vloc: Ints,
    vdur: Ints,
    ve: Ints,
    vl: Ints,
    vdem: Ints,
    vpen: Ints,
    kstart: Ints,
    kend: Ints,
    kss: Ints,
    kse: Ints,
    kprof: Ints,
    kcap: Ints,
    kmaxv: Ints,
    allowed: Flags,
    neigh: Ints,
    depot_dist: Floats,
    params: Floats,
) -> int:
    """Run ``iters`` iterations from the current state; ``costs`` holds [current, best]."""
    np.random.seed(seed_rng)
    nvis = vloc.shape[0]
    nveh = kstart.shape[0]
    avg_removed = params[0]
    max_string = params[1]
    split_rate = params[2]
    split_depth = params[3]
    blink = params[4]
    removed = np.empty(nvis, dtype=np.int64)
    ruined = np.zeros(nveh, dtype=np.uint8)
    touched = np.zeros(nveh, dtype=np.uint8)
    touched_list = np.empty(nveh, dtype=np.int64)
    keys = np.empty(nvis, dtype=np.float64)
    nneigh = neigh.shape[1]
    cur_cost = costs[0]
    best_cost = costs[1]
    accepted = 0
    for it in range(iters):
        frac = it / max(iters, 1)
        temperature = t_start * (t_end / t_start) ** frac
        nrem = 0
        ntouched = 0
        # ---- ruin: strings from routes near a random seed visit
        assigned = 0
        used = 0
        for r in range(nveh):
            if rlen[r] > 0:
                assigned += rlen[r]
                used += 1
        if used > 0:
            avg_card = assigned / used
            ls_max = min(max_string, avg_card)
            ks_max = 4.0 * avg_removed / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed_visit = np.random.randint(nvis)
            strings = 0
            for q in range(nneigh + 1):
                if strings >= ks:
                    break
                c = seed_visit if q == 0 else neigh[seed_visit, q - 1]
                r = where[c]
                if r < 0 or ruined[r]:
                    continue
                n = rlen[r]
                lmax = min(float(n), ls_max)
                ln = int(np.random.random() * lmax) + 1
                pc = pos[c]
                if ln < n and np.random.random() < split_rate:
                    m = 1
                    while ln + m < n and np.random.random() < split_depth:
                        m += 1
                    span = ln + m
                    lo = max(0, pc - span + 1)
                    hi = min(pc, n - span)
                    a = lo + np.random.randint(hi - lo + 1)
                    keep = np.random.randint(ln + 1)  # kept block starts after `keep` removed
                    # remove [a+keep+m, a+span) then [a, a+keep), keeping the middle block
                    nrem = _remove_range(
                        r, a + keep + m, a + span, routes, rlen, where, removed, nrem
                    )
                    nrem = _remove_range(r, a, a + keep, routes, rlen, where, removed, nrem)
                else:
                    lo = max(0, pc - ln + 1)
                    hi = min(pc, n - ln)
                    a = lo + np.random.randint(hi - lo + 1)
                    nrem = _remove_range(r, a, a + ln, routes, rlen, where, removed, nrem)
                ruined[r] = 1
                touched[r] = 1
                touched_list[ntouched] = r
                ntouched += 1
                strings += 1
                _recompute(
                    r,
                    routes,
                    rlen,
                    E,
                    Ld,
                    rload,
                    rcost,
                    where,
                    pos,
                    tt,
                    vloc,
                    vdur,
                    ve,
                    vl,
                    vdem,
                    kstart,
                    kend,
                    kss,
                    kse,
                    kprof,
                )
        for r in range(nveh):
            ruined[r] = 0
        # visits that were left out before get another chance
        for c in range(nvis):
            if where[c] < 0:
                dup = False
                for q in range(nrem):
                    if removed[q] == c:
                        dup = True
                        break
                if not dup:
                    removed[nrem] = c
                    nrem += 1
        # ---- recreate: in random, demand, far or close order
        pick = np.random.random() * 11.0
        for q in range(nrem):
            c = removed[q]
            if pick < 4.0:
                keys[q] = np.random.random()
            elif pick < 8.0:
                keys[q] = -vdem[c] + 1e-3 * np.random.random()
            elif pick < 10.0:
                keys[q] = -depot_dist[c] + 1e-3 * np.random.random()
            else:
                keys[q] = depot_dist[c] + 1e-3 * np.random.random()
        order = np.argsort(keys[:nrem])
        unplanned_pen = 0
        for oq in range(nrem):
            c = removed[order[oq]]
            loc = vloc[c]
            best_delta = np.int64(1) << 62
            best_r = -1
            best_p = -1
            for r in range(nveh):
                if not allowed[r, c]:
                    continue
                n = rlen[r]
                if n + 1 > kmaxv[r] or rload[r] + vdem[c] > kcap[r]:
                    continue
                pr = kprof[r]
                prev = kstart[r]
                prev_dur = 0
                for i in range(n + 1):
                    if i < n:
                        nc = routes[r, i]
                        nloc = vloc[nc]
                    else:
                        nc = -1
                        nloc = kend[r]
                    if blink > 0.0 and np.random.random() < blink:
                        prev = nloc
                        prev_dur = vdur[nc] if nc >= 0 else 0
                        continue
                    d1 = tt[pr, prev, loc]
                    d2 = tt[pr, loc, nloc]
                    delta = d1 + d2 - tt[pr, prev, nloc]
                    if delta < best_delta:
                        start = max(E[r, i] + prev_dur + d1, ve[c])
                        if start <= vl[c] and start + vdur[c] + d2 <= Ld[r, i + 1]:
                            best_delta = delta
                            best_r = r
                            best_p = i
                    prev = nloc
                    prev_dur = vdur[nc] if nc >= 0 else 0
            if best_r < 0 or best_delta >= vpen[c]:
                unplanned_pen += vpen[c]
                continue
            r = best_r
            n = rlen[r]
            for i in range(n, best_p, -1):
                routes[r, i] = routes[r, i - 1]
            routes[r, best_p] = c
            rlen[r] = n + 1
            if not touched[r]:
                touched[r] = 1
                touched_list[ntouched] = r
                ntouched += 1
            _recompute(
                r,
                routes,
                rlen,
                E,
                Ld,
                rload,
                rcost,
                where,
                pos,
                tt,
                vloc,
                vdur,
                ve,
                vl,
                vdem,
                kstart,
                kend,
                kss,
                kse,
                kprof,
            )
        # ---- accept or restore
        new_cost = cur_cost - state_i[0]  # state_i[0]: penalties of the current state
        for q in range(ntouched):
            r = touched_list[q]
            new_cost += rcost[r] - c_rcost[r]
        new_cost += unplanned_pen
        threshold = cur_cost - temperature * math.log(np.random.random() + 1e-300)
        if new_cost < threshold:
            accepted += 1
            cur_cost = new_cost
            state_i[0] = unplanned_pen
            for q in range(ntouched):
                r = touched_list[q]
                n = rlen[r]
                c_rlen[r] = n
                c_rload[r] = rload[r]
                c_rcost[r] = rcost[r]
                for i in range(n):
                    c_routes[r, i] = routes[r, i]
                for i in range(n + 2):
                    c_E[r, i] = E[r, i]
                    c_Ld[r, i] = Ld[r, i]
            for q in range(nrem):
                c = removed[q]
                c_where[c] = where[c]
                c_pos[c] = pos[c]
            for q in range(ntouched):
                r = touched_list[q]
                for i in range(rlen[r]):
                    c = routes[r, i]
                    c_where[c] = r
                    c_pos[c] = i
            if cur_cost < best_cost:
                best_cost = cur_cost
                for r in range(nveh):
                    b_rlen[r] = rlen[r]
                    for i in range(rlen[r]):
                        b_routes[r, i] = routes[r, i]
                for c in range(nvis):
                    b_where[c] = where[c]
        else:
            for q in range(nrem):
                where[removed[q]] = -1
            for q in range(ntouched):
                r = touched_list[q]
                n = c_rlen[r]
                rlen[r] = n
                rload[r] = c_rload[r]
                rcost[r] = c_rcost[r]
                for i in range(n):
                    c = c_routes[r, i]
                    routes[r, i] = c
                    where[c] = r
                    pos[c] = i
                for i in range(n + 2):
                    E[r, i] = c_E[r, i]
                    Ld[r, i] = c_Ld[r, i]
        for q in range(ntouched):
            touched[touched_list[q]] = 0
    costs[0] = cur_cost
    costs[1] = best_cost
    return accepted


# --------------------------------------------------------------------------- driver


def _arrays(problem: RoutingProblem, config: SisrConfig) -> dict[str, np.ndarray]:
    visits, vehicles = problem.visits, problem.vehicles
    nvis, nveh = len(visits), len(vehicles)
    tt = np.ascontiguousarray(np.stack([np.asarray(m, dtype=np.int64) for m in problem.matrices]))
    big = int(tt.max(initial=1)) + 1
    total_demand = sum(max(v.demand, 0) for v in visits)
    allowed = np.ones((nveh, nvis), dtype=np.uint8)
    for i, v in enumerate(visits):
        if v.allowed_vehicles is not None:
            allowed[:, i] = 0
            for k in v.allowed_vehicles:
                if 0 <= k < nveh:
                    allowed[k, i] = 1
    vloc = np.array([v.location for v in visits], dtype=np.int64)
    loc_matrix = tt[0][np.ix_(vloc, vloc)]
    m = min(nvis - 1, config.neighbours)
    if m > 0:
        closeness = loc_matrix + loc_matrix.T
        np.fill_diagonal(closeness, -1)
        order = np.argsort(closeness, axis=1, kind="stable")
        neigh = np.ascontiguousarray(order[:, 1 : m + 1], dtype=np.int64)
    else:
        neigh = np.zeros((nvis, 0), dtype=np.int64)
    start0 = vehicles[0].start_location
    return {
        "tt": tt,
        "vloc": vloc,
        "vdur": np.array([v.duration for v in visits], dtype=np.int64),
        "ve": np.array([v.windows[0][0] for v in visits], dtype=np.int64),
        "vl": np.array([v.windows[0][1] for v in visits], dtype=np.int64),
        "vdem": np.array([v.demand for v in visits], dtype=np.int64),
        "vpen": np.array(
            [MANDATORY_WEIGHT * big * 4 if v.penalty is None else v.penalty for v in visits],
            dtype=np.int64,
        ),
        "kstart": np.array([k.start_location for k in vehicles], dtype=np.int64),
        "kend": np.array([k.end_location for k in vehicles], dtype=np.int64),
        "kss": np.array([k.shift_start for k in vehicles], dtype=np.int64),
        "kse": np.array([k.shift_end for k in vehicles], dtype=np.int64),
        "kprof": np.array([k.profile for k in vehicles], dtype=np.int64),
        "kcap": np.array(
            [total_demand + 1 if k.capacity is None else k.capacity for k in vehicles],
            dtype=np.int64,
        ),
        "kmaxv": np.array(
            [nvis + 1 if k.max_visits is None else k.max_visits for k in vehicles],
            dtype=np.int64,
        ),
        "allowed": allowed,
        "neigh": neigh,
        "depot_dist": np.array(
            [float(tt[0, start0, v.location]) for v in visits], dtype=np.float64
        ),
    }


def search(
    problem: RoutingProblem,
    *,
    time_limit: float,
    seed: int = 0,
    iteration_limit: int | None = None,
    config: SisrConfig = DEFAULT_CONFIG,
) -> SisrResult:
    """Search ``problem`` (which :func:`supports` must accept) for ``time_limit`` seconds.

    With ``iteration_limit`` the search stops after that many iterations and its cooling
    follows the iterations, so the same seed and limit give the same routes on any machine
    (unless the time limit comes first).
    """
    if not supports(problem):
        raise ValueError("problem has rules the string-removal search does not keep")
    a = _arrays(problem, config)
    nvis, nveh = len(problem.visits), len(problem.vehicles)
    width = nvis + 2

    def state() -> list[np.ndarray]:
        return [
            np.zeros((nveh, width), dtype=np.int64),  # routes
            np.zeros(nveh, dtype=np.int64),  # rlen
            np.zeros((nveh, width), dtype=np.int64),  # E
            np.zeros((nveh, width), dtype=np.int64),  # Ld
            np.zeros(nveh, dtype=np.int64),  # rload
            np.zeros(nveh, dtype=np.int64),  # rcost
            np.full(nvis, -1, dtype=np.int64),  # where
            np.zeros(nvis, dtype=np.int64),  # pos
        ]

    work, cur = state(), state()
    for r in range(nveh):
        _recompute(
            r,
            *work[:8],
            a["tt"],
            a["vloc"],
            a["vdur"],
            a["ve"],
            a["vl"],
            a["vdem"],
            a["kstart"],
            a["kend"],
            a["kss"],
            a["kse"],
            a["kprof"],
        )
    for w, c in zip(work, cur, strict=True):
        c[...] = w
    b_routes = np.zeros((nveh, width), dtype=np.int64)
    b_rlen = np.zeros(nveh, dtype=np.int64)
    b_where = np.full(nvis, -1, dtype=np.int64)
    all_pen = int(a["vpen"].sum())
    empty_cost = int(work[5].sum())
    costs = np.array([empty_cost + all_pen, empty_cost + all_pen + 1], dtype=np.int64)
    state_i = np.array([all_pen], dtype=np.int64)
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

    def run(iters: int, t0: float, t1: float, rng: int) -> None:
        _iterate(
            iters,
            t0,
            t1,
            rng,
            state_i,
            *work,
            *cur,
            b_routes,
            b_rlen,
            b_where,
            costs,
            a["tt"],
            a["vloc"],
            a["vdur"],
            a["ve"],
            a["vl"],
            a["vdem"],
            a["vpen"],
            a["kstart"],
            a["kend"],
            a["kss"],
            a["kse"],
            a["kprof"],
            a["kcap"],
            a["kmaxv"],
            a["allowed"],
            a["neigh"],
            a["depot_dist"],
            params,
        )

    # One iteration from the empty routes inserts every visit: the first solution, whose mean
    # arc sets the temperature scale.
    run(1, 1e-9, 1e-9, seed)
    arcs = int(cur[1].sum()) + int((cur[1] > 0).sum())
    scale = float(cur[5].sum()) / max(arcs, 1)
    hot = max(config.start_temperature * scale, 1e-6)
    cold = max(config.end_temperature * scale, 1e-7)
    done = 1
    start = time.perf_counter()
    deadline = start + time_limit
    rng = np.random.default_rng(seed)
    if iteration_limit is not None:
        total = max(iteration_limit, 1)
        chunk = max(total // 64, 1)
        while done < total and time.perf_counter() < deadline:
            k = min(chunk, total - done)
            f0, f1 = done / total, (done + k) / total
            run(k, hot * (cold / hot) ** f0, hot * (cold / hot) ** f1, int(rng.integers(2**31)))
            done += k
    else:
        chunk, rate = 100, 2e-5  # iterations of the next chunk, seconds per iteration
        span = max(time_limit, 1e-9)
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            # cool along the elapsed time: this chunk spans its expected share of the budget
            f0 = (now - start) / span
            f1 = min(f0 + chunk * rate / span, 1.0)
            run(chunk, hot * (cold / hot) ** f0, hot * (cold / hot) ** f1, int(rng.integers(2**31)))
            done += chunk
            rate = max((time.perf_counter() - now) / chunk, 1e-8)
            left = deadline - time.perf_counter()
            chunk = int(min(max(min(0.05, left) / rate, 10), 1_000_000))
    routes = tuple(tuple(int(c) for c in b_routes[r, : b_rlen[r]]) for r in range(nveh))
    dropped = tuple(i for i in range(nvis) if b_where[i] < 0)
    mandatory_dropped = any(problem.visits[i].penalty is None for i in dropped)
    return SisrResult(
        routes=routes,
        dropped=dropped,
        objective=int(costs[1]),
        feasible=not mandatory_dropped,
        iterations=done,
    )
