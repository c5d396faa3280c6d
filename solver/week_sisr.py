"""A compiled string-removal search over a week of days with time windows: which days each
periodic task is visited on, and the routes of every day, searched together.

The week is one :class:`~solver.problem.RoutingProblem` of the daily router's kind: its vehicles
are caregiver-days and its visits are task-days, each allowed only on the vehicles of its own
day, so that every rule the router's compiled search keeps (windows, shifts, rests, travel
profiles, capacity, visit caps, allowed vehicles, extra costs per vehicle and visit) holds on
each day as it does there (:mod:`solver.sisr`, whose compiled steps this search calls). What the
week adds is the pattern: a :class:`WeekTask` lists the sets of its visits that may be made
together (one set per allowed pattern of days); the visits of a task in the routes always lie
inside one of its sets, and each visit of that set left out costs its penalty. Visits in no
task are ordinary visits of their day.

Each iteration removes strings of visits near a random seed (SISR's removals, over every day),
then either

- *pattern* iteration: frees every task touched from all its days and puts it back on the set
  whose visits' cheapest insertions (each on its own day, so they add up exactly) cost least,
  a left-out visit counting its penalty; or
- *day* iteration: puts each removed visit back on its own day (the task keeps its days),

and accepts by simulated annealing (:func:`solver.compiled.anneal`). Tasks planned short come
back in the next pattern iteration. Same seed and iteration budget, same routes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from solver.compiled import HAVE_NUMBA, INF, anneal, jit, mean_arc
from solver.problem import RoutingProblem
from solver.sisr import (
    ROUTE_COST,
    ROUTE_LENGTH,
    VISIT_PENALTY,
    SisrConfig,
    SisrResult,
    _accept,
    _cheapest_insertion,
    _gap_to_blink,
    _load,
    _remove_range,
    _ruin,
    _state,
    _tables,
    _time_route,
    _Work,
    supports,
)

__all__ = [
    "DEFAULT_WEEK_CONFIG",
    "WeekConfig",
    "WeekContinuity",
    "WeekTask",
    "search_week",
    "warm_up",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class WeekTask:
    """A periodic task: ``patterns`` are the sets of its visits (visit indices of the week's
    problem, at most one per day) that may be made together; each visit appears in at least
    one set. The task is planned on one set, or on part of one (the rest left out)."""

    patterns: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class WeekContinuity:
    """Continuity of care counted on the week: ``caregiver_of[k]`` is the caregiver of vehicle
    ``k`` (one number for a caregiver on every day), ``groups`` the visits of each request (a
    visit in one group at most) and ``prices[g][c]`` what caregiver ``c`` costs among group
    ``g``'s caregivers. A group costs the prices of its distinct caregivers, so that a request
    moved whole to another caregiver pays that caregiver's price instead of the old one's
    (once, not per visit), and a request split between two pays both."""

    caregiver_of: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    prices: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class WeekConfig:
    """Knobs of the week's search, one set for every problem: the string removals of
    :class:`~solver.sisr.SisrConfig` and ``pattern_rate``, the share of pattern iterations."""

    strings: SisrConfig = field(default_factory=lambda: SisrConfig(neighbours=60))
    pattern_rate: float = 0.5


DEFAULT_WEEK_CONFIG = WeekConfig()


# --------------------------------------------------------------------------- compiled core


@jit
def _chosen_set(
    t: int,
    placement: Ints,
    visit_facts: Ints,
    task_patterns: Ints,
    pattern_visits: Ints,
    task_visits: Ints,
) -> tuple[int, int]:
    """The set task ``t`` is on in ``placement`` and what it loses there: of its sets holding
    every visit it has, the one whose missing visits' penalties are least (-1 and every visit's
    penalty when none holds them)."""
    placed = 0
    everything = 0
    for k in range(task_visits.shape[1]):
        c = task_visits[t, k]
        if c < 0:
            break
        everything += visit_facts[c, VISIT_PENALTY]
        if placement[c, 0] >= 0:
            placed += 1
    best = everything
    chosen = -1
    for p in range(task_patterns[t, 0], task_patterns[t, 1]):
        miss = 0
        inside = 0
        for k in range(pattern_visits.shape[1]):
            c = pattern_visits[p, k]
            if c < 0:
                break
            if placement[c, 0] < 0:
                miss += visit_facts[c, VISIT_PENALTY]
            else:
                inside += 1
        if inside == placed and (chosen < 0 or miss < best):
            best = miss
            chosen = p
    return chosen, best


@jit
def _task_penalty(
    t: int,
    placement: Ints,
    visit_facts: Ints,
    task_patterns: Ints,
    pattern_visits: Ints,
    task_visits: Ints,
) -> int:
    """What task ``t`` loses in ``placement`` (see :func:`_chosen_set`)."""
    return _chosen_set(t, placement, visit_facts, task_patterns, pattern_visits, task_visits)[1]


@jit
def _group_cost(gi: int, placement: Ints, group_visits: Ints, vcg: Ints, price: Ints) -> int:
    """What group ``gi`` costs in ``placement``: the prices of its distinct caregivers."""
    total = 0
    for a in range(group_visits.shape[1]):
        c = group_visits[gi, a]
        if c < 0:
            break
        r = placement[c, 0]
        if r < 0:
            continue
        g = vcg[r]
        new = True
        for b in range(a):
            rb = placement[group_visits[gi, b], 0]
            if rb >= 0 and vcg[rb] == g:
                new = False
                break
        if new:
            total += price[gi, g]
    return total


@jit
def _serves(gi: int, g: int, placement: Ints, group_visits: Ints, vcg: Ints) -> bool:
    """Whether caregiver ``g`` makes a visit of group ``gi`` placed in ``placement``."""
    for b in range(group_visits.shape[1]):
        o = group_visits[gi, b]
        if o < 0:
            break
        ro = placement[o, 0]
        if ro >= 0 and vcg[ro] == g:
            return True
    return False


@jit
def _price(
    c: int,
    sign: int,
    placement: Ints,
    vehicle_cost: Ints,
    first_route: int,
    end_route: int,
    group_of: Ints,
    group_visits: Ints,
    vcg: Ints,
    price: Ints,
) -> None:
    """Add (``sign`` 1) or take back (-1) to ``vehicle_cost[r, c]`` on routes ``first_route``
    to ``end_route - 1`` what route ``r``'s caregiver adds to the cost of ``c``'s group, whose
    visits are placed as in ``placement``: an insertion then weighs continuity with travel.
    Between the two calls, ``placement`` must not change and no route be timed."""
    gi = group_of[c]
    if gi < 0:
        return
    for r in range(first_route, end_route):
        if vehicle_cost[r, c] < INF and not _serves(gi, vcg[r], placement, group_visits, vcg):
            vehicle_cost[r, c] += sign * price[gi, vcg[r]]


@jit
def _priced_insertion(
    c: int,
    pricing: Ints,
    until_blink: int,
    log_keep: float,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    routes_of: Ints,
    group_of: Ints,
    group_visits: Ints,
    vcg: Ints,
    price: Ints,
) -> tuple[int, int, int, int]:
    """The router's cheapest insertion of ``c`` on its day's routes, each route's caregiver
    priced against ``c``'s group as placed in ``pricing`` (:func:`_price`)."""
    lo, hi = routes_of[c, 0], routes_of[c, 1]
    _price(c, 1, pricing, vehicle_cost, lo, hi, group_of, group_visits, vcg, price)
    found = _cheapest_insertion(
        c,
        until_blink,
        log_keep,
        work,
        travel,
        visit_facts,
        windows,
        vehicle_facts,
        vehicle_cost,
        lo,
        hi,
    )
    _price(c, -1, pricing, vehicle_cost, lo, hi, group_of, group_visits, vcg, price)
    return found


@jit
def _shares_caregiver(
    c: int, r: int, placement: Ints, group_of: Ints, group_visits: Ints, vcg: Ints
) -> bool:
    """Whether route ``r``'s caregiver already makes a placed visit of ``c``'s group (or
    ``c`` has no group)."""
    gi = group_of[c]
    return gi < 0 or _serves(gi, vcg[r], placement, group_visits, vcg)


@jit
def _take_out(
    c: int,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    touched: Flags,
    touched_list: Ints,
    ntouched: int,
    scratch: Ints,
) -> int:
    """Take visit ``c`` out of its route (it must be on one); returns the touched count
    (``scratch``: one slot for the removed visit)."""
    routes, route_facts, placement = work[0], work[1], work[3]
    r = placement[c, 0]
    pos = placement[c, 1]
    _remove_range(r, pos, pos + 1, routes, route_facts, placement, scratch, 0)
    _time_route(r, work, travel, visit_facts, windows, vehicle_facts, vehicle_cost)
    if not touched[r]:
        touched[r] = 1
        touched_list[ntouched] = r
        ntouched += 1
    return ntouched


@jit
def _put(
    c: int,
    r: int,
    pos: int,
    work: _Work,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    touched: Flags,
    touched_list: Ints,
    ntouched: int,
) -> int:
    """Insert visit ``c`` at position ``pos`` of route ``r``; returns the touched count."""
    routes, route_facts = work[0], work[1]
    n = route_facts[r, ROUTE_LENGTH]
    for i in range(n, pos, -1):
        routes[r, i] = routes[r, i - 1]
    routes[r, pos] = c
    route_facts[r, ROUTE_LENGTH] = n + 1
    _time_route(r, work, travel, visit_facts, windows, vehicle_facts, vehicle_cost)
    if not touched[r]:
        touched[r] = 1
        touched_list[ntouched] = r
        ntouched += 1
    return ntouched


@jit
def _set_short(u: int, now: bool, short_pos: Ints, short_list: Ints, costs: Ints) -> None:
    """Unit ``u`` is short ``now`` or not: keep the list of short units (``costs[3]`` long)."""
    at = short_pos[u]
    if now and at < 0:
        n = costs[3]
        short_list[n] = u
        short_pos[u] = n
        costs[3] = n + 1
    elif not now and at >= 0:
        n = costs[3] - 1
        last = short_list[n]
        short_list[at] = last
        short_pos[last] = at
        short_pos[u] = -1
        costs[3] = n


@jit
def _iterate_week(
    iters: int,
    t_start: float,
    t_end: float,
    seed_rng: int,
    work: _Work,
    cur: _Work,
    best: tuple[Ints, Ints, Ints],
    costs: Ints,
    travel: Ints,
    visit_facts: Ints,
    windows: Ints,
    vehicle_facts: Ints,
    vehicle_cost: Ints,
    neighbours: Ints,
    params: Floats,
    task_of: Ints,
    task_patterns: Ints,
    pattern_visits: Ints,
    task_visits: Ints,
    short_pos: Ints,
    short_list: Ints,
    routes_of: Ints,
    group_of: Ints,
    group_visits: Ints,
    vcg: Ints,
    price: Ints,
) -> int:
    """Run ``iters`` iterations from the current state, cooling from ``t_start`` to
    ``t_end``. ``costs`` holds [current objective, best objective, current penalties, current
    number of short units]; ``short_list[:costs[3]]`` are the units (tasks, then visits
    outside tasks by ``ntasks + visit``) that miss visits now, ``short_pos`` their places in it
    (-1 for the others); ``routes_of[c]`` is the range of routes visit
    ``c`` may go on (its day's); ``group_of``, ``group_visits``, ``vcg`` (caregiver of each
    vehicle) and ``price`` the continuity of :class:`WeekContinuity`, counted in ``costs[2]``
    with the penalties. Returns the accepted iterations."""
    np.random.seed(seed_rng)
    placement = work[3]
    cur_placement = cur[3]
    nvis = visit_facts.shape[0]
    nveh = vehicle_facts.shape[0]
    ntasks = task_patterns.shape[0]
    nunits = ntasks + nvis
    blink = params[4]
    pattern_rate = params[5]
    removed = np.empty(nvis, dtype=np.int64)
    in_removed = np.zeros(nvis, dtype=np.uint8)
    ruined = np.empty(nvis, dtype=np.int64)
    units = np.empty(nunits, dtype=np.int64)
    in_units = np.zeros(nunits, dtype=np.uint8)
    keys = np.empty(nunits, dtype=np.float64)
    touched = np.zeros(nveh, dtype=np.uint8)
    touched_list = np.empty(nveh, dtype=np.int64)
    scratch = np.empty(1, dtype=np.int64)
    # per candidate visit of one task: (delta, route, position), INF delta when it fits nowhere
    cand_delta = np.empty(nvis, dtype=np.int64)
    cand_route = np.empty(nvis, dtype=np.int64)
    cand_pos = np.empty(nvis, dtype=np.int64)
    in_group = np.zeros(group_visits.shape[0], dtype=np.uint8)
    groups = np.empty(group_visits.shape[0], dtype=np.int64)
    log_keep = math.log(1.0 - blink) if 0.0 < blink < 1.0 else 0.0
    until_blink = _gap_to_blink(log_keep)
    accepted = 0
    for it in range(iters):
        temperature = t_start * (t_end / t_start) ** (it / max(iters, 1))
        by_pattern = np.random.random() < pattern_rate
        nruin, ntouched = _ruin(
            work,
            travel,
            visit_facts,
            windows,
            vehicle_facts,
            vehicle_cost,
            neighbours,
            params,
            ruined,
            touched,
            touched_list,
        )
        # The units whose placement may change, and every visit that may move (for _accept).
        nunit = 0
        nrem = 0
        for q in range(nruin):
            c = ruined[q]
            if not in_removed[c]:
                in_removed[c] = 1
                removed[nrem] = c
                nrem += 1
            t = task_of[c]
            u = t if (t >= 0 and by_pattern) else ntasks + c
            if not in_units[u]:
                in_units[u] = 1
                units[nunit] = u
                nunit += 1
        if costs[3] > 0:
            # units planned short get another chance: in a pattern iteration every one, in a
            # day iteration the visits outside tasks
            for q in range(costs[3]):
                u = short_list[q]
                if not in_units[u] and (by_pattern or u >= ntasks):
                    in_units[u] = 1
                    units[nunit] = u
                    nunit += 1
                    if u >= ntasks and not in_removed[u - ntasks]:
                        in_removed[u - ntasks] = 1
                        removed[nrem] = u - ntasks
                        nrem += 1
        # Old penalties of the units, from the accepted state.
        # The units' penalties in the accepted state: a pattern unit's task, a visit outside
        # tasks, and once each the task of a visit put back on its own day (flagged 2).
        old_pen = 0
        for q in range(nunit):
            u = units[q]
            if u < ntasks:
                old_pen += _task_penalty(
                    u, cur_placement, visit_facts, task_patterns, pattern_visits, task_visits
                )
                continue
            c = u - ntasks
            t = task_of[c]
            if t < 0:
                if cur_placement[c, 0] < 0:
                    old_pen += visit_facts[c, VISIT_PENALTY]
            elif not in_units[t]:
                in_units[t] = 2
                old_pen += _task_penalty(
                    t, cur_placement, visit_facts, task_patterns, pattern_visits, task_visits
                )
        # Pattern units leave all their days.
        for q in range(nunit):
            u = units[q]
            if u >= ntasks:
                continue
            for k in range(task_visits.shape[1]):
                c = task_visits[u, k]
                if c < 0:
                    break
                if not in_removed[c]:
                    in_removed[c] = 1
                    removed[nrem] = c
                    nrem += 1
                if placement[c, 0] >= 0:
                    ntouched = _take_out(
                        c,
                        work,
                        travel,
                        visit_facts,
                        windows,
                        vehicle_facts,
                        vehicle_cost,
                        touched,
                        touched_list,
                        ntouched,
                        scratch,
                    )
        # Recreate, the units in a random order.
        for q in range(nunit):
            keys[q] = np.random.random()
        order = np.argsort(keys[:nunit])
        for oq in range(nunit):
            u = units[order[oq]]
            if u >= ntasks:
                c = u - ntasks
                if placement[c, 0] >= 0:
                    continue
                t = task_of[c]
                if t >= 0 and in_units[t] == 1:
                    continue  # the task comes back whole
                delta, r, pos, until_blink = _priced_insertion(
                    c,
                    placement,
                    until_blink,
                    log_keep,
                    work,
                    travel,
                    visit_facts,
                    windows,
                    vehicle_facts,
                    vehicle_cost,
                    routes_of,
                    group_of,
                    group_visits,
                    vcg,
                    price,
                )
                if r >= 0 and delta < visit_facts[c, VISIT_PENALTY]:
                    ntouched = _put(
                        c,
                        r,
                        pos,
                        work,
                        travel,
                        visit_facts,
                        windows,
                        vehicle_facts,
                        vehicle_cost,
                        touched,
                        touched_list,
                        ntouched,
                    )
                continue
            # A whole task: each candidate visit's cheapest place (continuity priced against
            # the caregivers the task had), then the cheapest set.
            for k in range(task_visits.shape[1]):
                c = task_visits[u, k]
                if c < 0:
                    break
                delta, r, pos, until_blink = _priced_insertion(
                    c,
                    cur_placement,
                    until_blink,
                    log_keep,
                    work,
                    travel,
                    visit_facts,
                    windows,
                    vehicle_facts,
                    vehicle_cost,
                    routes_of,
                    group_of,
                    group_visits,
                    vcg,
                    price,
                )
                if r < 0 or delta >= visit_facts[c, VISIT_PENALTY]:
                    cand_delta[c] = INF
                else:
                    cand_delta[c] = delta
                    cand_route[c] = r
                    cand_pos[c] = pos
            best_p = -1
            best_cost = INF
            for p in range(task_patterns[u, 0], task_patterns[u, 1]):
                total = 0
                for k in range(pattern_visits.shape[1]):
                    c = pattern_visits[p, k]
                    if c < 0:
                        break
                    d = cand_delta[c]
                    total += visit_facts[c, VISIT_PENALTY] if d >= INF else d
                if total < best_cost:
                    best_cost = total
                    best_p = p
            if best_p < 0:
                continue
            for k in range(pattern_visits.shape[1]):
                c = pattern_visits[best_p, k]
                if c < 0:
                    break
                if cand_delta[c] >= INF:
                    continue
                if not _shares_caregiver(c, cand_route[c], placement, group_of, group_visits, vcg):
                    # a caregiver new to the task's visits placed so far: look again, pricing
                    # continuity against them (the other days' routes are as they were)
                    delta, r, pos, until_blink = _priced_insertion(
                        c,
                        placement,
                        until_blink,
                        log_keep,
                        work,
                        travel,
                        visit_facts,
                        windows,
                        vehicle_facts,
                        vehicle_cost,
                        routes_of,
                        group_of,
                        group_visits,
                        vcg,
                        price,
                    )
                    if r >= 0:
                        cand_route[c] = r
                        cand_pos[c] = pos
                ntouched = _put(
                    c,
                    cand_route[c],
                    cand_pos[c],
                    work,
                    travel,
                    visit_facts,
                    windows,
                    vehicle_facts,
                    vehicle_cost,
                    touched,
                    touched_list,
                    ntouched,
                )
        # New penalties of the same units.
        new_pen = 0
        for q in range(nunit):
            u = units[q]
            if u < ntasks:
                new_pen += _task_penalty(
                    u, placement, visit_facts, task_patterns, pattern_visits, task_visits
                )
            else:
                c = u - ntasks
                t = task_of[c]
                if t >= 0:
                    if in_units[t] == 2:
                        in_units[t] = 3
                        new_pen += _task_penalty(
                            t, placement, visit_facts, task_patterns, pattern_visits, task_visits
                        )
                elif placement[c, 0] < 0:
                    new_pen += visit_facts[c, VISIT_PENALTY]
        # Continuity of every group a moved visit belongs to, before and after.
        ngroups = 0
        for q in range(nrem):
            gi = group_of[removed[q]]
            if gi >= 0 and not in_group[gi]:
                in_group[gi] = 1
                groups[ngroups] = gi
                ngroups += 1
        for q in range(ngroups):
            gi = groups[q]
            in_group[gi] = 0
            new_pen += _group_cost(gi, placement, group_visits, vcg, price)
            old_pen += _group_cost(gi, cur_placement, group_visits, vcg, price)
        total_pen = costs[2] - old_pen + new_pen
        if _accept(
            temperature,
            total_pen,
            costs[3],
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
            # the short flags of the units just placed
            for q in range(nunit):
                u = units[q]
                if u < ntasks:
                    now = (
                        _task_penalty(
                            u, placement, visit_facts, task_patterns, pattern_visits, task_visits
                        )
                        > 0
                    )
                else:
                    c = u - ntasks
                    t = task_of[c]
                    if t >= 0:
                        now = (
                            _task_penalty(
                                t,
                                placement,
                                visit_facts,
                                task_patterns,
                                pattern_visits,
                                task_visits,
                            )
                            > 0
                        )
                        _set_short(t, now, short_pos, short_list, costs)
                        continue
                    now = placement[c, 0] < 0
                _set_short(u, now, short_pos, short_list, costs)
        for q in range(nunit):
            u = units[q]
            in_units[u] = 0
            if u >= ntasks and task_of[u - ntasks] >= 0:
                in_units[task_of[u - ntasks]] = 0
        for q in range(nrem):
            in_removed[removed[q]] = 0
        for q in range(ntouched):
            touched[touched_list[q]] = 0
    return accepted


# --------------------------------------------------------------------------- driver


def _task_tables(nvis: int, tasks: Sequence[WeekTask]) -> tuple[Ints, Ints, Ints, Ints]:
    """``task_of[visit]`` (-1 outside tasks), each task's range of sets, the sets' visits and
    each task's visits (rows padded with -1). Raises ``ValueError`` for a visit in two tasks,
    twice in a set, or out of range."""
    task_of = np.full(nvis, -1, dtype=np.int64)
    sets = [p for t in tasks for p in t.patterns]
    width = max((len(p) for p in sets), default=1)
    members = [sorted({c for p in t.patterns for c in p}) for t in tasks]
    task_width = max((len(m) for m in members), default=1)
    task_patterns = np.zeros((len(tasks), 2), dtype=np.int64)
    pattern_visits = np.full((max(1, len(sets)), max(1, width)), -1, dtype=np.int64)
    task_visits = np.full((max(1, len(tasks)), max(1, task_width)), -1, dtype=np.int64)
    row = 0
    for t, (task, mine) in enumerate(zip(tasks, members, strict=True)):
        for c in mine:
            if not 0 <= c < nvis:
                raise ValueError(f"tasks[{t}]: visit {c} is not a visit of the problem")
            if task_of[c] >= 0:
                raise ValueError(f"tasks[{t}]: visit {c} is already in tasks[{task_of[c]}]")
            task_of[c] = t
        task_visits[t, : len(mine)] = mine
        task_patterns[t] = (row, row + len(task.patterns))
        for p in task.patterns:
            if len(set(p)) != len(p):
                raise ValueError(f"tasks[{t}]: a set names a visit twice")
            pattern_visits[row, : len(p)] = p
            row += 1
    return task_of, task_patterns, pattern_visits, task_visits


def search_week(
    problem: RoutingProblem,
    tasks: Sequence[WeekTask],
    *,
    time_limit: float,
    seed: int = 0,
    iteration_limit: int | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    vehicle_costs: Mapping[int, Sequence[int]] | None = None,
    continuity: WeekContinuity | None = None,
    config: WeekConfig = DEFAULT_WEEK_CONFIG,
) -> SisrResult:
    """Search the week ``problem`` (which :func:`solver.sisr.supports` must accept; its visits
    are task-days, each allowed only on its day's vehicles) with its ``tasks`` for
    ``time_limit`` seconds.

    ``initial[k]`` lists visits of vehicle ``k`` to start from (a route that breaks a rule
    starts empty; a task's start visits should lie inside one of its sets);
    ``vehicle_costs[i][k]`` is added when vehicle ``k`` serves visit ``i``; ``continuity``
    prices each request's distinct caregivers. The result's ``dropped`` lists only the visits
    missing from each task's set (and ordinary visits left out); its objective counts travel,
    vehicle-visit costs, those penalties and continuity. With
    ``iteration_limit`` the same seed gives the same routes. Raises ``ValueError`` for a
    problem the compiled search does not keep or for malformed tasks.
    """
    if not supports(problem):
        raise ValueError("problem has rules the string-removal search does not keep")
    nvis, nveh = len(problem.visits), len(problem.vehicles)
    task_of, task_patterns, pattern_visits, task_visits = _task_tables(nvis, tasks)
    group_of, group_visits, vcg, price = _continuity_tables(nvis, nveh, continuity)
    t = _tables(problem, config.strings, vehicle_costs)
    work, cur = _state(nveh, nvis), _state(nveh, nvis)
    routes, route_facts, placement = work[0], work[1], work[3]
    for r in range(nveh):
        _time_route(r, work, t.travel, t.visit_facts, t.windows, t.vehicle_facts, t.vehicle_cost)
    if initial is not None:
        _load(t, work, initial)
    ntasks = len(tasks)
    short = np.zeros(ntasks + nvis, dtype=np.bool_)
    penalty = 0
    for k in range(ntasks):
        pen = int(
            _task_penalty(k, placement, t.visit_facts, task_patterns, pattern_visits, task_visits)
        )
        penalty += pen
        short[k] = pen > 0
    for c in range(nvis):
        if task_of[c] < 0 and placement[c, 0] < 0:
            penalty += int(t.visit_facts[c, VISIT_PENALTY])
            short[ntasks + c] = 1
    for gi in range(group_visits.shape[0]):
        penalty += int(_group_cost(gi, placement, group_visits, vcg, price))
    for w, w_cur in zip(work, cur, strict=True):
        w_cur[...] = w
    best = (routes.copy(), route_facts[:, ROUTE_LENGTH].copy(), placement[:, 0].copy())
    start_cost = int(route_facts[:, ROUTE_COST].sum()) + penalty
    costs = np.array([start_cost, start_cost, penalty, int(short.sum())], dtype=np.int64)
    short_list = np.zeros(ntasks + nvis, dtype=np.int64)
    short_list[: costs[3]] = np.flatnonzero(short)
    short_pos = np.full(ntasks + nvis, -1, dtype=np.int64)
    short_pos[short_list[: costs[3]]] = np.arange(costs[3])
    routes_of = _routes_of(t.vehicle_cost)
    s = config.strings
    params = np.array(
        [s.avg_removed, s.max_string, s.split_rate, s.split_depth, s.blink, config.pattern_rate],
        dtype=np.float64,
    )

    def run(iters: int, hot: float, cold: float, rng: int) -> None:
        _iterate_week(
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
            params,
            task_of,
            task_patterns,
            pattern_visits,
            task_visits,
            short_pos,
            short_list,
            routes_of,
            group_of,
            group_visits,
            vcg,
            price,
        )

    done = anneal(
        run,
        lambda: mean_arc(float(cur[1][:, ROUTE_COST].sum()), best[1]),
        temperatures=(s.start_temperature, s.end_temperature),
        time_limit=time_limit,
        iteration_limit=iteration_limit,
        seed=seed,
        first_chunk=100,
        first_rate=2e-5,
        min_chunk=10,
    )
    best_routes, best_lengths, best_route_of = best
    out = tuple(tuple(int(c) for c in best_routes[r, : best_lengths[r]]) for r in range(nveh))
    wanted = _wanted(
        best_route_of, t.visit_facts, task_of, task_patterns, pattern_visits, task_visits
    )
    dropped = tuple(i for i in range(nvis) if best_route_of[i] < 0 and wanted[i])
    return SisrResult(
        routes=out,
        dropped=dropped,
        objective=int(costs[1]),
        feasible=not any(problem.visits[i].penalty is None for i in dropped),
        iterations=done,
    )


def _continuity_tables(
    nvis: int, nveh: int, continuity: WeekContinuity | None
) -> tuple[Ints, Ints, Ints, Ints]:
    """``group_of[visit]`` (-1 outside groups), the groups' visits (rows padded with -1), the
    caregiver of each vehicle and the prices per group and caregiver. Raises ``ValueError``
    for a visit in two groups or out of range, or tables of the wrong sizes."""
    group_of = np.full(nvis, -1, dtype=np.int64)
    if continuity is None or not continuity.groups:
        return (
            group_of,
            np.full((1, 1), -1, np.int64),
            np.zeros(nveh, np.int64),
            np.zeros((1, 1), np.int64),
        )
    if len(continuity.caregiver_of) != nveh:
        raise ValueError(
            f"continuity.caregiver_of: {len(continuity.caregiver_of)} vehicles, problem has {nveh}"
        )
    if len(continuity.prices) != len(continuity.groups):
        raise ValueError("continuity.prices: one row per group")
    vcg = np.array(continuity.caregiver_of, dtype=np.int64)
    ncg = int(vcg.max()) + 1 if nveh else 1
    if vcg.min(initial=0) < 0:
        raise ValueError("continuity.caregiver_of: a negative caregiver")
    width = max(1, max(len(g) for g in continuity.groups))
    group_visits = np.full((len(continuity.groups), width), -1, dtype=np.int64)
    price = np.zeros((len(continuity.groups), ncg), dtype=np.int64)
    for gi, (members, row) in enumerate(zip(continuity.groups, continuity.prices, strict=True)):
        if len(row) < ncg:
            raise ValueError(f"continuity.prices[{gi}]: {len(row)} prices, {ncg} caregivers")
        price[gi] = row[:ncg]
        for a, c in enumerate(members):
            if not 0 <= c < nvis:
                raise ValueError(
                    f"continuity.groups[{gi}]: visit {c} is not a visit of the problem"
                )
            if group_of[c] >= 0:
                raise ValueError(
                    f"continuity.groups[{gi}]: visit {c} is already in group {group_of[c]}"
                )
            group_of[c] = gi
            group_visits[gi, a] = c
    return group_of, group_visits, vcg, price


def _routes_of(vehicle_cost: Ints) -> Ints:
    """Per visit, the first route it may go on and one past the last (a day's vehicles are
    consecutive): insertions look at those routes only."""
    allowed = vehicle_cost < INF
    out = np.zeros((vehicle_cost.shape[1], 2), dtype=np.int64)
    for c in range(vehicle_cost.shape[1]):
        ks = np.flatnonzero(allowed[:, c])
        if len(ks):
            out[c] = (ks[0], ks[-1] + 1)
    return out


def _wanted(
    route_of: Ints,
    visit_facts: Ints,
    task_of: Ints,
    task_patterns: Ints,
    pattern_visits: Ints,
    task_visits: Ints,
) -> npt.NDArray[np.bool_]:
    """Per visit, whether the plan in ``route_of`` wants it: ordinary visits always, a task's
    visits when they belong to the set it is on (:func:`_chosen_set`, the search's own rule)."""
    wanted = task_of < 0
    placement = np.stack([route_of, np.zeros_like(route_of)], axis=1)
    for k in range(task_patterns.shape[0]):
        p, _ = _chosen_set(k, placement, visit_facts, task_patterns, pattern_visits, task_visits)
        if p >= 0:
            wanted[pattern_visits[p][pattern_visits[p] >= 0]] = True
    return wanted


def warm_up() -> None:
    """Compile the search now (a few seconds the first time, then from numba's disk cache)."""
    if not HAVE_NUMBA:  # pragma: no cover
        return
    from solver.problem import VehicleSpec, VisitSpec

    matrix = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=np.int64)
    problem = RoutingProblem(
        matrices=(matrix,),
        visits=(
            VisitSpec(location=1, duration=1, windows=((0, 50),), allowed_vehicles=frozenset({0})),
            VisitSpec(location=1, duration=1, windows=((0, 50),), allowed_vehicles=frozenset({1})),
            VisitSpec(location=2, duration=1, windows=((0, 50),), penalty=5),
        ),
        vehicles=(VehicleSpec(0, 0, 0, 100), VehicleSpec(0, 0, 0, 100)),
    )
    search_week(problem, [WeekTask(patterns=((0,), (1,)))], time_limit=1.0, iteration_limit=2)
