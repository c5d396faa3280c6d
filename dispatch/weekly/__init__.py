"""The weekly planner (周排班): visit days, caregivers and daily routes of a whole week.

The way of a weekly plan through the package (:func:`plan_week`, in :mod:`.planner`):

1. :mod:`.prepare`: every request gets its candidate day patterns (:func:`candidate_patterns`:
   the day sets of ``visits_per_week`` days inside its allowed days with ``min_gap_days``
   spacing, or its fixed ``patterns``) and a first caregiver; requests that no caregiver can
   serve, or whose visits cannot be spread, are explained at once;
2. :mod:`.prepare`: the greedy week (:func:`dispatch.greedy.plan_greedy`, the dispatcher's
   rules) gives first days and routes; stations whose caregivers share no request are planned
   apart (a caregiver works for one station), the others together. Each station group becomes
   a :class:`~.state.Group` over the one :class:`~.state.WeekState` (routes and dropped visits
   by group and day, locked two-person routes) that every later phase reads and changes.
   :mod:`.planner` plans the groups one after another or, with ``workers``, in a pool of
   processes, each within its share of one deadline;
3. :mod:`.polish`: every station-day is routed again starting from its current routes
   (:mod:`.day`: the router's compiled string-removal search where it keeps every rule of the
   day, else OR-Tools' guided local search) and kept only when it serves more (by priority) or
   as much with less travel — so the plan never serves less than the greedy one; routes the
   router's model cannot represent stay as they are; a two-person visit keeps the two
   caregivers and start the greedy week gave it while the rest of both routes is searched
   again; the search prefers each request's caregivers of the other days
   (:data:`CONTINUITY_MINUTES`). A group of several stations, whose days are too large for the
   router, re-routes each station's routes of a day among themselves instead. The polish
   takes a fifth of the routing time when the next step can run;
3b. :mod:`.repattern`: the days and routes of the group's week are searched together
   (:mod:`solver.week_sisr`: one routing problem of caregiver-days and request-days, each
   request kept inside one of its patterns, every rule of each day kept as the router keeps
   it, the weekly minutes through shifts narrowed around the current routes, each request's
   distinct caregivers priced, a household's preferred ones and last week's free or cheaper);
   each day is then routed again from the search's routes, and the new week is kept only
   when it serves as much with less travel, or more. Groups with two-person or linked visits
   skip it;
4. :mod:`.fill`: requests planned short get visits added on days that keep them inside a
   pattern; one whose days fit no pattern moves to the pattern that keeps most of them, and
   what that pushes out goes to another of its days; in a group of several stations this
   re-routes only the request's own station;
5. :mod:`.moves`: a large-neighbourhood search moves one request to another of its patterns,
   or keeps a household with its preferred or most frequent caregiver (continuity of care),
   re-routing the days it touches and keeping what is worth more;
6. :mod:`.relabel`: whole routes are handed to the caregivers who make their requests' other
   visits (same station and travel mode, so travel does not change);
7. :mod:`.planner` assembles the plan: routes, and every visit left out with its reason.

Several weeks: :func:`plan_weeks` (:mod:`.weeks`) plans consecutive weeks one after another,
each knowing the last visit and the caregivers of the week before (spacing across the week
boundary, continuity of care), every route dated.

Time: :mod:`.budget` is the one home of the planner's time — every deadline, share and
measured cost reads its clock, every sub-solve takes its settings from it. With
``plan_week(..., deterministic=True)`` sub-solves are bounded by ``params.iteration_limit`` and
the clock advances by the seconds allotted to each, so a seed gives one plan.

Solver: every call into ``solver/`` is in :mod:`.solving`.

Weekly minutes hold because each day is routed with the caregivers' minutes of the other days
already counted (the daily router bounds the route length by what is left); every route is
re-timed with the rest in its best gap (:func:`solver.schedule.schedule_route`) and checked
against the weekly limit.
"""

from dispatch.weekly.budget import Budget, Clock, ModelledClock, WallClock
from dispatch.weekly.day import CONTINUITY_MINUTES
from dispatch.weekly.planner import POLISH_SECONDS_PER_VISIT, Progress, ProgressFn, plan_week
from dispatch.weekly.prepare import candidate_patterns
from dispatch.weekly.weeks import plan_weeks, scenario_of_week

__all__ = [
    "CONTINUITY_MINUTES",
    "POLISH_SECONDS_PER_VISIT",
    "Budget",
    "Clock",
    "ModelledClock",
    "Progress",
    "ProgressFn",
    "WallClock",
    "candidate_patterns",
    "plan_week",
    "plan_weeks",
    "scenario_of_week",
]
