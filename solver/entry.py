"""The one way into the solver: :func:`solve` picks the search in one table.

Each search in :data:`SEARCHES` says which problems it keeps (``supports``); the first that
keeps a problem searches it:

- ``sisr``, the compiled string-removal search of :mod:`solver.sisr`, for ``sisr_share`` of
  the budget; its routes then load into the OR-Tools model (which checks them against every
  rule of the model), a greedy descent of OR-Tools' own operators may still improve them, and
  the times are decoded there;
- ``sisr_cut``, the same search on the problem with each vehicle whose working time is bounded
  below its shift (a weekly cap nearly used up) working a shift cut to that bound, from its
  start or, where the rest needs it, to its end (:func:`cut_shifts`): a tightening, so its
  routes keep every rule of the problem, which the compiled search cannot keep itself when
  such a vehicle rests or may wait; OR-Tools' descent from them has the whole shift again;
- ``sync``, the compiled synchronised search of :mod:`solver.syncsearch`, for the problems
  with synchronised visits or soft window ends that the first cannot take, for the same share;
  its own times are the answer;
- ``ortools``, the OR-Tools search of :mod:`solver.ortools_search`, for everything else.

When a compiled search finds no plan with every mandatory visit, OR-Tools tries in the rest of
the budget. With ``initial_routes`` the first search of the table that keeps the problem and
can start from given routes does so (a warm start); when no start can be built from them the
problem is searched from scratch in what is left of the budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from solver import ortools_search, sisr, syncsearch, week_sisr
from solver.decode import timed_result
from solver.model import build_model
from solver.problem import RoutingProblem, SearchConfig, SolveParams, SolverResult
from solver.schedule import schedule_route

__all__ = ["SEARCHES", "Search", "cut_shifts", "improve", "search", "solve", "warm_up"]

Routes = Sequence[Sequence[int]]

#: Share of a warm start's budget that the string-removal search takes; OR-Tools' descent then
#: has the rest, with the vehicle costs of the problem in its model (the district and PVRP
#: figures were measured with this share; a search from scratch takes
#: ``SearchConfig.sisr_share``).
WARM_SISR_SHARE = 0.9


@dataclass(frozen=True)
class Search:
    """One row of the table: a ``name``, which problems it keeps (``supports``), a search from
    scratch (``run``, ``None`` when it found no plan with every mandatory visit) and a search
    from given routes (``improve``; ``None`` when it cannot start from routes, and its result
    ``None`` when no start can be built)."""

    name: str
    supports: Callable[[RoutingProblem, SearchConfig], bool]
    run: Callable[[RoutingProblem, SolveParams], SolverResult | None]
    improve: Callable[[RoutingProblem, SolveParams, Routes], SolverResult | None] | None


def _sisr_supports(problem: RoutingProblem, config: SearchConfig) -> bool:
    return config.sisr and sisr.supports(problem)


def cut_shifts(problem: RoutingProblem) -> RoutingProblem | None:
    """``problem`` with each vehicle whose ``max_duration`` is below its shift's length given a
    shift of that length, from the shift's start or, when the rest does not fit there, up to
    its end, and no bound: every plan of it keeps the rules of ``problem``. ``None`` when no
    vehicle is bounded or a bounded vehicle's rest fits neither cut."""
    vehicles = []
    cut = False
    for spec in problem.vehicles:
        length = spec.shift_end - spec.shift_start
        if spec.max_duration is None or spec.max_duration >= length:
            vehicles.append(spec)
            continue
        bound = max(spec.max_duration, 0)
        rest = spec.rest
        for lo, hi in (
            (spec.shift_start, spec.shift_start + bound),
            (spec.shift_end - bound, spec.shift_end),
        ):
            if rest is None or (lo <= rest.earliest and rest.latest_end <= hi):
                vehicles.append(replace(spec, shift_start=lo, shift_end=hi, max_duration=None))
                break
        else:
            return None
        cut = True
    return replace(problem, vehicles=tuple(vehicles)) if cut else None


def _cut_supports(problem: RoutingProblem, config: SearchConfig) -> bool:
    if not config.sisr or sisr.supports(problem):
        return False
    tight = cut_shifts(problem)
    return tight is not None and sisr.supports(tight)


def _sync_supports(problem: RoutingProblem, config: SearchConfig) -> bool:
    # The synchronised search takes only what the string-removal search cannot keep.
    return config.sync_search and not sisr.supports(problem) and syncsearch.supports(problem)


def _ortools_supports(problem: RoutingProblem, config: SearchConfig) -> bool:
    del problem, config
    return True


def _share(config: SearchConfig) -> float:
    return min(max(config.sisr_share, 0.0), 1.0)


def _run_sisr(
    problem: RoutingProblem, params: SolveParams, *, searched: RoutingProblem | None = None
) -> SolverResult | None:
    """The string-removal search's routes, checked and finished by OR-Tools.

    The search runs on ``searched`` (default ``problem``; a tightening of it, whose plans keep
    every rule of ``problem``). A greedy descent of OR-Tools' own operators runs from its
    routes over the rest of the budget in the model of ``problem``; where the OR-Tools model
    rejects them (its rest has less freedom than the router's schedule) they are timed by the
    schedule alone. ``None`` when the search found no plan with every mandatory visit.
    """
    end = time.perf_counter() + params.time_limit
    found = sisr.search(
        searched if searched is not None else problem,
        time_limit=_share(params.search) * params.time_limit,
        seed=params.seed,
        iteration_limit=params.iteration_limit,
        vehicle_costs=problem.vehicle_costs,
    )
    if not found.feasible:
        return None
    stats = {
        "rounds": 1.0,
        "sisr_iterations": float(found.iterations),
        "sisr_objective": float(found.objective),
    }
    model = build_model(problem, shuffle_seed=params.seed * 7919)
    sp = ortools_search.search_parameters(
        params.search,
        time_limit=max(end - time.perf_counter(), 0.05),
        solution_limit=params.iteration_limit,
        log=params.log,
        metaheuristic="GREEDY_DESCENT",
    )
    result = ortools_search.descend_from(model, found.routes, sp, objective=found.objective)
    if result is None:  # pragma: no cover - the search keeps the schedule's rules
        return None
    return replace(result, stats=stats)


def _run_cut(problem: RoutingProblem, params: SolveParams) -> SolverResult | None:
    """:func:`_run_sisr` searching the problem with cut shifts (:func:`cut_shifts`)."""
    tight = cut_shifts(problem)
    if tight is None:  # pragma: no cover - the row keeps only problems with a cut
        return None
    return _run_sisr(problem, params, searched=tight)


def _improve_sisr(
    problem: RoutingProblem, params: SolveParams, routes: Routes
) -> SolverResult | None:
    """String removals from ``routes`` for most of the budget, then a greedy descent of
    OR-Tools' operators from the best routes (timed by the router's schedule where the OR-Tools
    model rejects them). The search never ends worse than its start: it keeps the best."""
    end = time.perf_counter() + params.time_limit
    found = sisr.search(
        problem,
        time_limit=WARM_SISR_SHARE * params.time_limit,
        seed=params.seed,
        iteration_limit=params.iteration_limit,
        initial=routes,
        vehicle_costs=problem.vehicle_costs,
    )
    model = build_model(problem, shuffle_seed=params.seed)
    # A greedy descent ends at its local optimum: it needs no count of its own, only, under an
    # iteration budget, no per-move clock either.
    sp = ortools_search.polish_parameters(
        max(end - time.perf_counter(), 0.01), metaheuristic="GREEDY_DESCENT"
    )
    if params.iteration_limit is not None:
        sp.lns_time_limit.CopyFrom(sp.time_limit)
    result = ortools_search.descend_from(model, found.routes, sp, objective=found.objective)
    if result is None:  # pragma: no cover - the search keeps the schedule's rules
        return None
    return replace(result, stats={"sisr_iterations": float(found.iterations)})


def _run_sync(problem: RoutingProblem, params: SolveParams) -> SolverResult | None:
    """The synchronised search's plan, timed by the schedule (``None`` when it has no plan
    with every mandatory visit)."""
    timed = syncsearch.search(
        problem,
        time_limit=_share(params.search) * params.time_limit,
        seed=params.seed,
        iteration_limit=params.iteration_limit,
    )
    if timed is None:
        return None
    return replace(timed, stats={"rounds": 1.0, **timed.stats})


#: The searches, in the order they are asked whether they keep a problem.
SEARCHES: tuple[Search, ...] = (
    Search("sisr", _sisr_supports, _run_sisr, _improve_sisr),
    Search("sisr_cut", _cut_supports, _run_cut, None),
    Search("sync", _sync_supports, _run_sync, None),
    Search("ortools", _ortools_supports, ortools_search.search, ortools_search.improve),
)


def search(problem: RoutingProblem, params: SolveParams) -> SolverResult:
    """Search ``problem`` from scratch with the first search of :data:`SEARCHES` that keeps
    it; when a compiled search finds no plan with every mandatory visit, the next that keeps
    the problem (in the end OR-Tools) searches in the time that is left."""
    end = time.perf_counter() + params.time_limit
    for row in SEARCHES:
        if not row.supports(problem, params.search):
            continue
        found = row.run(problem, params)
        if found is not None:
            return replace(found, search=row.name)
        params = replace(params, time_limit=max(end - time.perf_counter(), 0.05))
        end = time.perf_counter() + params.time_limit
    raise AssertionError("the OR-Tools search keeps every problem")  # pragma: no cover


def improve(problem: RoutingProblem, params: SolveParams, routes: Routes) -> SolverResult | None:
    """Search ``problem`` from ``routes`` (``routes[k]``: visits of vehicle ``k`` in order;
    visits on no route start unplanned) with the first search of :data:`SEARCHES` that keeps
    the problem and can start from routes; ``None`` when no start can be built."""
    for row in SEARCHES:
        if row.improve is None or not row.supports(problem, params.search):
            continue
        found = row.improve(problem, params, routes)
        if found is None:
            return None
        return replace(found, search=row.name, stats={**found.stats, "warm_start": 1.0})
    raise AssertionError("the OR-Tools search keeps every problem")  # pragma: no cover


DEFAULT_PARAMS = SolveParams()


def _as_given(problem: RoutingProblem, routes: Routes) -> SolverResult:
    """``routes`` timed by the schedule, unsearched (the objective is their travel); a route
    with no feasible schedule is left out and its visits dropped."""
    timed = []
    complete = True
    for k, seq in enumerate(routes):
        if not seq:
            continue
        times = schedule_route(problem, k, list(seq))
        if times.feasible:
            timed.append((k, seq, times))
        else:
            complete = False
    found = timed_result(problem, timed, objective=0)
    return replace(
        found,
        objective=found.travel,
        feasible=complete,
        stats={"warm_start": 1.0},
        search="given",
    )


def solve(
    problem: RoutingProblem,
    params: SolveParams = DEFAULT_PARAMS,
    *,
    initial_routes: Routes | None = None,
) -> SolverResult:
    """Plan ``problem`` within ``params.time_limit`` seconds on one thread.

    ``initial_routes[k]`` (optional) lists the visits of vehicle ``k`` in order to start from;
    the result then says whether the search started from them (``stats["warm_start"]``).
    With ``initial_routes`` and no time (``params.time_limit <= 0``) nothing is searched: the
    answer is the given routes timed by :mod:`solver.schedule` with the verdict of the OR-Tools
    model on each (``initial_accepted``; building that model is not free, so only this call
    gives it), a route that no schedule makes feasible leaving its visits dropped
    (``feasible`` is then False).
    ``result.search`` names the search that ran; ``stats["seconds"]`` is the wall-clock time.
    Returns ``feasible=False`` with every visit dropped when no solution is found (for example a
    mandatory visit that no vehicle can serve). Raises ``ValueError`` on malformed input.
    """
    t0 = time.perf_counter()
    accepted = None
    if initial_routes is not None:
        if len(initial_routes) > len(problem.vehicles):
            raise ValueError("more initial routes than vehicles / 初始路线多于车辆")
        if params.time_limit <= 0:
            accepted = tuple(not route for route in initial_routes)
    if not problem.visits:
        return SolverResult(
            routes=(),
            dropped=(),
            travel=0,
            objective=0,
            feasible=True,
            stats={"seconds": 0.0},
            initial_accepted=accepted,
        )
    result = None
    if initial_routes is not None:
        if params.time_limit <= 0:
            accepted = ortools_search.accepted_routes(problem, initial_routes)
            found = _as_given(problem, initial_routes)
            stats = {**found.stats, "seconds": time.perf_counter() - t0}
            return replace(found, stats=stats, initial_accepted=accepted)
        result = improve(problem, params, initial_routes)
        if result is None:
            left = params.time_limit - (time.perf_counter() - t0)
            params = replace(params, time_limit=max(left, 0.05))
    if result is None:
        result = search(problem, params)
        if initial_routes is not None:
            result = replace(result, stats={**result.stats, "warm_start": 0.0})
    stats = {**result.stats, "seconds": time.perf_counter() - t0}
    return replace(result, stats=stats)


def warm_up() -> None:
    """Compile the compiled searches :func:`solve` and the weekly planner use (the day's, the
    synchronised and the week's), or load them from numba's disk cache, so that the first solve
    of a process spends its time limit searching."""
    sisr.warm_up()
    syncsearch.warm_up()
    week_sisr.warm_up()
