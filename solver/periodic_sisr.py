"""A compiled ruin-and-recreate search for periodic routing (string removals over a week).

The periodic problem of :mod:`solver.periodic` is a set of day routing problems tied together
by each task's pattern: the days it is served on. This search keeps every day's routes in one
array of route slots (a day's vehicles side by side) and, per task, its pattern and its place
on each day. Each iteration removes a few strings of consecutive tasks from routes near a seed
task (the string removals of Christiaens and Vanden Berghe's SISR), then inserts them again
with blinks, and accepts by simulated annealing. Two kinds of iteration:

- a *pattern* iteration frees each removed task from all its days; recreating it weighs every
  one of its patterns by the sum of its cheapest insertions on the pattern's days, so a task
  moves to other days when they are cheaper (the pattern move of the periodic problem);
- a *day* iteration removes the strings from their day only and puts each task back on the
  same day (its pattern kept): a routing move, cheaper to evaluate, that improves the days.

Feasibility (capacity and route duration, travel plus service) holds at every step; a task
that fits nowhere is left out with a penalty larger than any route and is tried again in every
later iteration. Everything is compiled with numba and works on flat integer arrays; the
driver (:func:`solver.compiled.anneal`) cools along the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.compiled import (
    HAVE_NUMBA,
    INF,
    anneal,
    inline,
    jit,
    mandatory_penalty,
    mean_arc,
    nearest_visits,
)

__all__ = ["DEFAULT_CONFIG", "Found", "PeriodicSisrConfig", "search", "warm_up"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
#: The search state: routes of each slot, per-slot facts (LENGTH…COST), each task's (slot,
#: position) per day, each task's pattern (a row of the pattern table, -1: left out).
_Work = tuple[Ints, Ints, Ints, Ints]
#: What does not change: travel, the task table (T_*), the day table (D_*) and the depot.
_Week = tuple[Ints, Ints, Ints, int]
#: The slots an iteration changed: a flag per slot and their list.
_Marks = tuple[npt.NDArray[np.uint8], Ints]
#: The best plan: routes, lengths and patterns.
_Best = tuple[Ints, Ints, Ints]

# Per-slot facts: number of tasks, load, duration (travel plus service), travel.
LENGTH, LOAD, DURATION, COST = range(4)
# Columns of the task table.
T_LOCATION, T_DURATION, T_DEMAND, T_PENALTY, T_FIRST_PATTERN, T_PATTERNS_END, T_VISITS = range(7)
# Columns of the day table.
D_FIRST_SLOT, D_SLOTS, D_CAPACITY, D_MAX_DURATION = range(4)


@dataclass(frozen=True)
class PeriodicSisrConfig:
    """Knobs of the search, one set for every problem (never tuned per instance).

    ``avg_removed``, ``max_string``, ``split_rate``, ``split_depth`` and ``blink`` as in
    :class:`solver.sisr.SisrConfig`; ``day_rate`` is the share of day iterations (patterns
    kept); temperatures are in units of the first solution's mean arc.
    """

    avg_removed: float = 10.0
    max_string: int = 10
    split_rate: float = 0.5
    split_depth: float = 0.01
    blink: float = 0.01
    day_rate: float = 0.5
    start_temperature: float = 1.0
    end_temperature: float = 0.01
    neighbours: int = 60


DEFAULT_CONFIG = PeriodicSisrConfig()


@dataclass(frozen=True)
class Found:
    """The best plan: per day the non-empty routes (task indices), per task its pattern's index
    among its own patterns (``None``: left out), and the iterations run."""

    days: tuple[tuple[tuple[int, ...], ...], ...]
    patterns: tuple[int | None, ...]
    iterations: int


# --------------------------------------------------------------------------- compiled parts


@inline
def _gap_to_blink(log_keep: float) -> int:
    if log_keep == 0.0:
        return 1 << 62
    return int(math.log(1.0 - np.random.random()) / log_keep) + 1


@jit
def _refresh(s: int, day: int, work: _Work) -> None:
    """Record the place of every task of slot ``s`` (on ``day``)."""
    routes, facts, place = work[0], work[1], work[2]
    for i in range(facts[s, LENGTH]):
        c = routes[s, i]
        place[c, day, 0] = s
        place[c, day, 1] = i


@jit
def _price(s: int, work: _Work, week: _Week) -> None:
    """Recompute the load, duration and travel of slot ``s``."""
    routes, facts = work[0], work[1]
    travel, tasks, depot = week[0], week[1], week[3]
    prev = depot
    load = 0
    service = 0
    cost = 0
    for i in range(facts[s, LENGTH]):
        c = routes[s, i]
        loc = tasks[c, T_LOCATION]
        cost += travel[prev, loc]
        load += tasks[c, T_DEMAND]
        service += tasks[c, T_DURATION]
        prev = loc
    cost += travel[prev, depot]
    facts[s, LOAD] = load
    facts[s, COST] = cost
    facts[s, DURATION] = cost + service


@inline
def _touch(s: int, marks: _Marks, ntouched: int) -> int:
    """Mark slot ``s`` as changed by this iteration; returns the touched count."""
    if not marks[0][s]:
        marks[0][s] = 1
        marks[1][ntouched] = s
        ntouched += 1
    return ntouched


@jit
def _take_out(c: int, day: int, work: _Work, week: _Week, marks: _Marks, ntouched: int) -> int:
    """Remove task ``c`` from its route on ``day`` (if there); returns the touched count."""
    routes, facts, place = work[0], work[1], work[2]
    s = place[c, day, 0]
    if s < 0:
        return ntouched
    p = place[c, day, 1]
    n = facts[s, LENGTH]
    for i in range(p, n - 1):
        routes[s, i] = routes[s, i + 1]
    facts[s, LENGTH] = n - 1
    place[c, day, 0] = -1
    place[c, day, 1] = -1
    _refresh(s, day, work)
    _price(s, work, week)
    return _touch(s, marks, ntouched)


@jit
def _take_out_everywhere(c: int, work: _Work, week: _Week, marks: _Marks, ntouched: int) -> int:
    """Remove task ``c`` from every day and free its pattern; returns the touched count."""
    for day in range(work[2].shape[1]):
        ntouched = _take_out(c, day, work, week, marks, ntouched)
    work[3][c] = -1
    return ntouched


@jit
def _ruin(
    work: _Work,
    week: _Week,
    neighbours: Ints,
    params: Floats,
    day_mode: bool,
    removed: Ints,
    removed_day: Ints,
    marks: _Marks,
    string: Ints,
) -> tuple[int, int]:
    """Remove strings near a random seed task; returns (removed entries, touched slots)."""
    routes, facts, place, chosen = work
    touched = marks[0]
    ntasks = week[1].shape[0]
    nslots = facts.shape[0]
    ndays = place.shape[1]
    avg_removed, max_string = params[0], params[1]
    split_rate, split_depth = params[2], params[3]
    assigned = 0
    used = 0
    for s in range(nslots):
        if facts[s, LENGTH] > 0:
            assigned += facts[s, LENGTH]
            used += 1
    nrem = 0
    ntouched = 0
    if used == 0:
        return nrem, ntouched
    ls_max = min(max_string, assigned / used)
    ks_max = 4.0 * avg_removed / (1.0 + ls_max) - 1.0
    ks = int(np.random.random() * ks_max) + 1
    seed_task = np.random.randint(ntasks)
    strings = 0
    nneigh = neighbours.shape[1]
    for q in range(nneigh + 1):
        if strings >= ks:
            break
        c = seed_task if q == 0 else neighbours[seed_task, q - 1]
        if chosen[c] < 0:
            continue
        # a random day of its pattern on which its route is still whole
        options = 0
        pick = -1
        for d in range(ndays):
            s = place[c, d, 0]
            if s >= 0 and not touched[s]:
                options += 1
                if np.random.randint(options) == 0:
                    pick = d
        if pick < 0:
            continue
        s = place[c, pick, 0]
        n = facts[s, LENGTH]
        ln = int(np.random.random() * min(float(n), ls_max)) + 1
        pc = place[c, pick, 1]
        nstr = 0
        if ln < n and np.random.random() < split_rate:
            m = 1
            while ln + m < n and np.random.random() < split_depth:
                m += 1
            span = ln + m
            lo = max(0, pc - span + 1)
            a = lo + np.random.randint(min(pc, n - span) - lo + 1)
            keep = np.random.randint(ln + 1)
            for i in range(a, a + keep):
                string[nstr] = routes[s, i]
                nstr += 1
            for i in range(a + keep + m, a + span):
                string[nstr] = routes[s, i]
                nstr += 1
        else:
            lo = max(0, pc - ln + 1)
            a = lo + np.random.randint(min(pc, n - ln) - lo + 1)
            for i in range(a, a + ln):
                string[nstr] = routes[s, i]
                nstr += 1
        for k in range(nstr):
            t = string[k]
            if day_mode:
                ntouched = _take_out(t, pick, work, week, marks, ntouched)
                removed_day[nrem] = pick
            else:
                ntouched = _take_out_everywhere(t, work, week, marks, ntouched)
                removed_day[nrem] = -1
            removed[nrem] = t
            nrem += 1
        strings += 1
    return nrem, ntouched


@jit
def _cheapest(
    c: int, d: int, until_blink: int, log_keep: float, work: _Work, week: _Week
) -> tuple[int, int, int, int]:
    """The cheapest feasible insertion of task ``c`` on day ``d``: (added travel or ``INF``,
    slot, position, positions to the next blink)."""
    routes, facts = work[0], work[1]
    travel, tasks, days, depot = week
    loc = tasks[c, T_LOCATION]
    q = tasks[c, T_DEMAND]
    serve = tasks[c, T_DURATION]
    cap = days[d, D_CAPACITY]
    dmax = days[d, D_MAX_DURATION]
    best = INF
    best_s = -1
    best_p = -1
    empty_seen = False
    first = days[d, D_FIRST_SLOT]
    for s in range(first, first + days[d, D_SLOTS]):
        n = facts[s, LENGTH]
        if n == 0:
            if empty_seen:
                continue
            empty_seen = True
        if facts[s, LOAD] + q > cap:
            continue
        room = dmax - facts[s, DURATION] - serve
        if room < 0:
            continue
        prev = depot
        for i in range(n + 1):
            nxt = depot if i == n else tasks[routes[s, i], T_LOCATION]
            delta = travel[prev, loc] + travel[loc, nxt] - travel[prev, nxt]
            prev = nxt
            if delta >= best or delta > room:
                continue
            until_blink -= 1
            if until_blink == 0:
                until_blink = _gap_to_blink(log_keep)
                continue
            best = delta
            best_s = s
            best_p = i
    return best, best_s, best_p, until_blink


@jit
def _put(
    c: int, d: int, at: tuple[int, int, int], work: _Work, week: _Week, marks: _Marks, ntouched: int
) -> int:
    """Insert task ``c`` on day ``d`` at ``at`` = (added travel, slot, position)."""
    routes, facts = work[0], work[1]
    tasks = week[1]
    delta, s, p = at
    n = facts[s, LENGTH]
    for i in range(n, p, -1):
        routes[s, i] = routes[s, i - 1]
    routes[s, p] = c
    facts[s, LENGTH] = n + 1
    facts[s, LOAD] += tasks[c, T_DEMAND]
    facts[s, COST] += delta
    facts[s, DURATION] += delta + tasks[c, T_DURATION]
    _refresh(s, d, work)
    return _touch(s, marks, ntouched)


@jit
def _recreate(
    nrem: int,
    ntouched: int,
    until_blink: int,
    log_keep: float,
    work: _Work,
    week: _Week,
    masks: npt.NDArray[np.uint8],
    depot_dist: Floats,
    removed: Ints,
    removed_day: Ints,
    keys: Floats,
    marks: _Marks,
    best_by_day: Ints,
) -> tuple[int, int, int, int]:
    """Insert the removed entries in a random, weekly load, far or close order. A day entry
    goes back on its day (or, when it fits nowhere there, its task is left out); a pattern
    entry takes the pattern whose days' cheapest insertions cost least. Returns the penalty
    and number of the tasks left out, the touched count and the positions to the next blink.
    ``best_by_day`` is scratch space: per day the cheapest insertion (cost, slot, position)."""
    place, chosen = work[2], work[3]
    tasks = week[1]
    ndays = place.shape[1]
    pick = np.random.random() * 11.0
    for k in range(nrem):
        c = removed[k]
        if pick < 4.0:
            keys[k] = np.random.random()
        elif pick < 8.0:
            # the weekly load: demand times visits
            keys[k] = -tasks[c, T_DEMAND] * tasks[c, T_VISITS] + 1e-3 * np.random.random()
        elif pick < 10.0:
            keys[k] = -depot_dist[c] + 1e-3 * np.random.random()
        else:
            keys[k] = depot_dist[c] + 1e-3 * np.random.random()
    order = np.argsort(keys[:nrem])
    penalty = 0
    left_out = 0
    for oq in range(nrem):
        k = order[oq]
        c = removed[k]
        d = removed_day[k]
        if d >= 0:
            if chosen[c] < 0 or place[c, d, 0] >= 0:
                continue  # left out meanwhile
            delta, s, p, until_blink = _cheapest(c, d, until_blink, log_keep, work, week)
            if s >= 0:
                ntouched = _put(c, d, (delta, s, p), work, week, marks, ntouched)
            else:
                ntouched = _take_out_everywhere(c, work, week, marks, ntouched)
                penalty += tasks[c, T_PENALTY]
                left_out += 1
            continue
        if chosen[c] >= 0:
            continue  # listed twice (left out and removed again)
        first = tasks[c, T_FIRST_PATTERN]
        end = tasks[c, T_PATTERNS_END]
        for dd in range(ndays):
            best_by_day[dd, 1] = -1
            for pat in range(first, end):
                if masks[pat, dd]:
                    delta, s, p, until_blink = _cheapest(c, dd, until_blink, log_keep, work, week)
                    best_by_day[dd, 0] = delta
                    best_by_day[dd, 1] = s
                    best_by_day[dd, 2] = p
                    break
        best = INF
        best_pat = -1
        for pat in range(first, end):
            total = 0
            for dd in range(ndays):
                if masks[pat, dd]:
                    if best_by_day[dd, 1] < 0:
                        total = INF
                        break
                    total += best_by_day[dd, 0]
            if total < best:
                best = total
                best_pat = pat
        if best_pat < 0:
            penalty += tasks[c, T_PENALTY]
            left_out += 1
            continue
        for dd in range(ndays):
            if masks[best_pat, dd]:
                at = (best_by_day[dd, 0], best_by_day[dd, 1], best_by_day[dd, 2])
                ntouched = _put(c, dd, at, work, week, marks, ntouched)
        chosen[c] = best_pat
    return penalty, left_out, ntouched, until_blink


@jit
def _settle(
    src: _Work, dst: _Work, nrem: int, ntouched: int, removed: Ints, marks: _Marks, slot_day: Ints
) -> None:
    """Copy the touched slots and the removed tasks' places and patterns from ``src`` to
    ``dst``: the working state into the current one when accepted, back when not."""
    src_routes, src_facts, src_place, src_chosen = src
    dst_routes, dst_facts, dst_place, dst_chosen = dst
    for k in range(nrem):
        c = removed[k]
        dst_chosen[c] = src_chosen[c]
        for d in range(src_place.shape[1]):
            dst_place[c, d, 0] = src_place[c, d, 0]
            dst_place[c, d, 1] = src_place[c, d, 1]
    touched_list = marks[1]
    for k in range(ntouched):
        s = touched_list[k]
        for j in range(4):
            dst_facts[s, j] = src_facts[s, j]
        for i in range(src_facts[s, LENGTH]):
            dst_routes[s, i] = src_routes[s, i]
        _refresh(s, slot_day[s], dst)


@jit
def _add_left_out(
    nrem: int, removed: Ints, removed_day: Ints, chosen: Ints, eligible: npt.NDArray[np.uint8]
) -> int:
    for c in range(chosen.shape[0]):
        if chosen[c] < 0 and eligible[c]:
            removed[nrem] = c
            removed_day[nrem] = -1
            nrem += 1
    return nrem


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
    week: _Week,
    masks: npt.NDArray[np.uint8],
    slot_day: Ints,
    eligible: npt.NDArray[np.uint8],
    neighbours: Ints,
    depot_dist: Floats,
    params: Floats,
) -> int:
    """Run ``iters`` iterations cooling from ``t_start`` to ``t_end``. ``costs`` holds [current
    objective, best objective, tasks left out now, their penalty]. Returns the accepted
    iterations."""
    np.random.seed(seed_rng)
    facts, chosen = work[1], work[3]
    ntasks = chosen.shape[0]
    nslots = facts.shape[0]
    ndays = work[2].shape[1]
    removed = np.empty(ntasks * (ndays + 1), dtype=np.int64)
    removed_day = np.empty(ntasks * (ndays + 1), dtype=np.int64)
    keys = np.empty(ntasks * (ndays + 1), dtype=np.float64)
    string = np.empty(ntasks + 1, dtype=np.int64)
    marks = (np.zeros(nslots, dtype=np.uint8), np.empty(nslots, dtype=np.int64))
    best_by_day = np.empty((ndays, 3), dtype=np.int64)
    blink = params[4]
    day_rate = params[5]
    log_keep = math.log(1.0 - blink) if 0.0 < blink < 1.0 else 0.0
    until_blink = _gap_to_blink(log_keep)
    accepted = 0
    for it in range(iters):
        temperature = t_start * (t_end / t_start) ** (it / max(iters, 1))
        day_mode = np.random.random() < day_rate
        nrem, ntouched = _ruin(
            work, week, neighbours, params, day_mode, removed, removed_day, marks, string
        )
        if costs[2] > 0:
            nrem = _add_left_out(nrem, removed, removed_day, chosen, eligible)
        penalty, left_out, ntouched, until_blink = _recreate(
            nrem,
            ntouched,
            until_blink,
            log_keep,
            work,
            week,
            masks,
            depot_dist,
            removed,
            removed_day,
            keys,
            marks,
            best_by_day,
        )
        new_cost = costs[0] - costs[3] + penalty
        cur_facts = cur[1]
        for k in range(ntouched):
            s = marks[1][k]
            new_cost += facts[s, COST] - cur_facts[s, COST]
        threshold = costs[0] - temperature * math.log(np.random.random() + 1e-300)
        if new_cost < threshold:
            _settle(work, cur, nrem, ntouched, removed, marks, slot_day)
            accepted += 1
            costs[0] = new_cost
            costs[3] = penalty
            costs[2] = left_out
            if new_cost < costs[1]:
                costs[1] = new_cost
                best_routes, best_lengths, best_chosen = best
                for s in range(nslots):
                    best_lengths[s] = facts[s, LENGTH]
                    for i in range(facts[s, LENGTH]):
                        best_routes[s, i] = work[0][s, i]
                for c in range(ntasks):
                    best_chosen[c] = chosen[c]
        else:
            _settle(cur, work, nrem, ntouched, removed, marks, slot_day)
        for k in range(ntouched):
            marks[0][marks[1][k]] = 0
    return accepted


# --------------------------------------------------------------------------- driver


def search(
    matrix: Ints,
    depot: int,
    tasks: Sequence[tuple[int, int, int, Sequence[Sequence[int]]]],
    fleets: Sequence[tuple[int, int | None, int | None]],
    *,
    time_limit: float,
    seed: int = 0,
    iteration_limit: int | None = None,
    initial: tuple[Sequence[Sequence[Sequence[int]]], Sequence[int | None]] | None = None,
    config: PeriodicSisrConfig = DEFAULT_CONFIG,
    progress: Callable[[int], None] | None = None,
) -> Found:
    """Search a periodic problem for ``time_limit`` seconds.

    ``tasks[i]`` is (location, duration, demand, patterns) with each pattern a sequence of day
    indices; ``fleets[d]`` is (vehicles, capacity or ``None``, max duration or ``None``).
    ``initial`` (routes per day, pattern index per task) is the start; without it the first
    iteration inserts every task. The same seed and ``iteration_limit`` give the same plan.
    """
    travel = np.ascontiguousarray(np.asarray(matrix, dtype=np.int64))
    ndays = len(fleets)
    ntasks = len(tasks)
    pen = mandatory_penalty(travel)
    task_table = np.zeros((ntasks, 7), dtype=np.int64)
    mask_rows: list[list[int]] = []
    for i, (loc, dur, dem, patterns) in enumerate(tasks):
        task_table[i, T_LOCATION] = loc
        task_table[i, T_DURATION] = dur
        task_table[i, T_DEMAND] = dem
        task_table[i, T_FIRST_PATTERN] = len(mask_rows)
        for pat in patterns:
            mask_rows.append([1 if d in pat else 0 for d in range(ndays)])
        task_table[i, T_PATTERNS_END] = len(mask_rows)
        visits = len(patterns[0]) if patterns else 0
        task_table[i, T_VISITS] = visits
        task_table[i, T_PENALTY] = pen * max(1, visits)
    masks = np.array(mask_rows or [[0] * ndays], dtype=np.uint8).reshape(-1, ndays)
    eligible = (task_table[:, T_PATTERNS_END] > task_table[:, T_FIRST_PATTERN]).astype(np.uint8)
    day_table = np.zeros((ndays, 4), dtype=np.int64)
    total_demand = int(task_table[:, T_DEMAND].sum()) + 1
    nslots = 0
    for d, (vehicles, capacity, max_duration) in enumerate(fleets):
        day_table[d] = (
            nslots,
            vehicles,
            total_demand if capacity is None else capacity,
            INF if max_duration is None else max_duration,
        )
        nslots += vehicles
    slot_day = np.repeat(np.arange(ndays, dtype=np.int64), day_table[:, D_SLOTS])
    neighbours = nearest_visits(travel, task_table[:, T_LOCATION], config.neighbours)
    depot_dist = travel[depot, task_table[:, T_LOCATION]].astype(np.float64)

    width = ntasks + 2
    routes = np.zeros((max(nslots, 1), width), dtype=np.int64)
    facts = np.zeros((max(nslots, 1), 4), dtype=np.int64)
    place = np.full((ntasks, ndays, 2), -1, dtype=np.int64)
    chosen = np.full(ntasks, -1, dtype=np.int64)
    work = (routes, facts, place, chosen)
    if initial is not None:
        _load(initial, work, task_table, day_table)
    week = (travel, task_table, day_table, depot)
    for s in range(nslots):
        _price(s, work, week)
    cur = (routes.copy(), facts.copy(), place.copy(), chosen.copy())
    best = (routes.copy(), facts[:, LENGTH].copy(), chosen.copy())
    left = int(((chosen < 0) & (eligible > 0)).sum())
    left_pen = int(task_table[(chosen < 0) & (eligible > 0), T_PENALTY].sum())
    start = int(facts[:nslots, COST].sum()) + left_pen
    costs = np.array([start, start, left, left_pen], dtype=np.int64)
    params = np.array(
        [
            config.avg_removed,
            config.max_string,
            config.split_rate,
            config.split_depth,
            config.blink,
            config.day_rate,
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
            week,
            masks,
            slot_day,
            eligible,
            neighbours,
            depot_dist,
            params,
        )
        if progress is not None:
            progress(int(costs[1]))

    done = anneal(
        run,
        lambda: mean_arc(float(cur[1][:nslots, COST].sum()), cur[1][:nslots, LENGTH]),
        temperatures=(config.start_temperature, config.end_temperature),
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=100,
        first_rate=5e-5,
        min_chunk=10,
    )
    best_routes, best_lengths, best_chosen = best
    out_days = []
    for d in range(ndays):
        first, count = int(day_table[d, D_FIRST_SLOT]), int(day_table[d, D_SLOTS])
        seqs = (
            tuple(int(c) for c in best_routes[s, : best_lengths[s]])
            for s in range(first, first + count)
        )
        out_days.append(tuple(seq for seq in seqs if seq))
    chosen_patterns = tuple(
        None if best_chosen[i] < 0 else int(best_chosen[i] - task_table[i, T_FIRST_PATTERN])
        for i in range(ntasks)
    )
    return Found(days=tuple(out_days), patterns=chosen_patterns, iterations=done)


def _load(
    initial: tuple[Sequence[Sequence[Sequence[int]]], Sequence[int | None]],
    work: _Work,
    task_table: Ints,
    day_table: Ints,
) -> None:
    """Put a start plan into the state: its routes per day and each task's pattern (the
    caller's plan keeps every rule; a task whose pattern is ``None`` starts left out)."""
    routes, facts, place, chosen = work
    day_routes, patterns = initial
    for i, k in enumerate(patterns):
        if k is not None:
            chosen[i] = int(task_table[i, T_FIRST_PATTERN]) + k
    for d, seqs in enumerate(day_routes):
        first = int(day_table[d, D_FIRST_SLOT])
        for r, seq in enumerate(seqs):
            s = first + r
            routes[s, : len(seq)] = seq
            facts[s, LENGTH] = len(seq)
            for i, c in enumerate(seq):
                place[c, d] = (s, i)


def warm_up() -> None:
    """Compile the search now (then loaded from numba's disk cache)."""
    if not HAVE_NUMBA:  # pragma: no cover
        return
    matrix = np.array([[0, 2, 3], [2, 0, 2], [3, 2, 0]], dtype=np.int64)
    tasks: list[tuple[int, int, int, Sequence[Sequence[int]]]] = [
        (1, 1, 1, [(0, 1)]),
        (2, 1, 1, [(0,), (1,)]),
    ]
    search(matrix, 0, tasks, [(1, 5, None), (1, 5, 100)], time_limit=1.0, iteration_limit=3)
