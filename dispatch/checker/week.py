"""The checker's rules over the week (or each ISO week of a dated plan): allowed days,
working minutes, visits per week, spacing, day patterns, two-person and linked visits, and
the unassigned list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise

from dispatch.checker.context import (
    Rule,
    Violation,
    _Context,
    _day_number,
    _t,
    _v,
    _when,
)
from dispatch.model import (
    DAYS,
    Route,
    Stop,
)
from dispatch.reasons import Reason


def _request_days(ctx: _Context) -> Iterator[Violation]:
    for route, _s, _hh, req in ctx.request_stops():
        if route.day in ctx.days and req.days is not None and route.day not in req.days:
            yield _v(Rule.REQUEST_DAY, f"the request allows only {list(req.days)}", route, req.id)


def _weekly_minutes(ctx: _Context) -> Iterator[Violation]:
    # Per ISO week: a caregiver near the maximum in each of two weeks keeps the rule.
    worked: dict[tuple[str, int], int] = defaultdict(int)
    for route in ctx.plan.routes:
        week = ctx.week_of(route)
        if week is not None:
            worked[(route.caregiver, week)] += route.back - route.leave
    for (cid, week), total in worked.items():
        cg = ctx.index.caregivers.get(cid)
        if (
            cg is not None
            and cg.max_minutes_per_week is not None
            and total > cg.max_minutes_per_week
        ):
            yield Violation(
                Rule.WEEKLY_MINUTES.value,
                f"{total} working minutes in {ctx.week_name(week)}, "
                f"at most {cg.max_minutes_per_week}",
                caregiver=cid,
            )


def _same_start(stops: list[tuple[Route, Stop]]) -> bool:
    return len({s.start for _, s in stops}) == 1


def _frequency(ctx: _Context) -> Iterator[Violation]:
    for rid, weeks in ctx.visit_weeks().items():
        req = ctx.index.requests[rid][1]
        for week, visited in sorted(weeks.items()):
            if len(visited) > req.visits_per_week:
                yield Violation(
                    Rule.FREQUENCY.value,
                    f"{len(visited)} visits in {ctx.week_name(week)}, "
                    f"{req.visits_per_week} a week wanted",
                    request=rid,
                )
    for (rid, _day), stops in ctx.visits().items():
        req = ctx.index.requests[rid][1]
        # Several stops of a one-person request at one minute are one visit with too many
        # caregivers (a staff finding); at different minutes they are repeat visits that day.
        if req.staff == 1 and len(stops) > 1 and not _same_start(stops):
            yield _v(
                Rule.FREQUENCY, f"{len(stops)} visits of the request on one day", stops[1][0], rid
            )


def _spacing(ctx: _Context) -> Iterator[Violation]:
    # Over the plan's whole span: across a week boundary the dates tell the gap.
    visited: dict[str, dict[int, str]] = defaultdict(dict)
    for route, s, _hh, _req in ctx.request_stops():
        number = _day_number(route)
        if number is not None:
            visited[s.request].setdefault(number, _when(route))
    for rid, days in visited.items():
        gap = ctx.index.requests[rid][1].min_gap_days
        for a, b in pairwise(sorted(days)):
            if b - a < gap:
                yield Violation(
                    Rule.SPACING.value,
                    f"visits on {days[a]} and {days[b]} are "
                    f"{b - a} day(s) apart, at least {gap} wanted",
                    day=days[b],
                    request=rid,
                )


def _patterns(ctx: _Context) -> Iterator[Violation]:
    for rid, weeks in ctx.visit_weeks().items():
        patterns = ctx.index.requests[rid][1].patterns
        if patterns is None:
            continue
        for week, visited in sorted(weeks.items()):
            if any(visited <= set(p) for p in patterns):
                continue
            days = [d for d in DAYS if d in visited]
            yield Violation(
                Rule.PATTERN.value,
                f"visits on {', '.join(days)} in {ctx.week_name(week)} lie inside none of "
                f"the patterns {[list(p) for p in patterns]}",
                request=rid,
            )


def _staff(ctx: _Context) -> Iterator[Violation]:
    for (rid, day), stops in ctx.visits().items():
        req = ctx.index.requests[rid][1]
        who = sorted({r.caregiver for r, _ in stops})
        if req.staff == 1:
            if len(stops) > 1 and _same_start(stops):
                yield Violation(
                    Rule.STAFF.value,
                    f"one-person visit done by {len(stops)} stops ({', '.join(who)})",
                    day=day,
                    request=rid,
                )
        elif len(stops) != req.staff or len(who) != req.staff:
            yield Violation(
                Rule.STAFF.value,
                f"needs {req.staff} different caregivers, has "
                f"{len(stops)} stop(s) by {', '.join(who)}",
                day=day,
                request=rid,
            )
        elif not _same_start(stops):
            starts = ", ".join(_t(s.start) for _, s in stops)
            yield Violation(
                Rule.STAFF.value,
                f"caregivers must start together, start at {starts}",
                day=day,
                request=rid,
            )


def _after(ctx: _Context) -> Iterator[Violation]:
    visits = ctx.visits()
    for (rid, day), stops in visits.items():
        link = ctx.index.requests[rid][1].after
        if link is None or link.request not in ctx.index.requests:
            continue
        first = visits.get((link.request, day))
        if not first:
            yield Violation(
                Rule.AFTER.value,
                f"follows request {link.request!r}, which has no visit on {day}",
                day=day,
                request=rid,
            )
            continue
        # Both visits may be two-person ones: every pair of their starts must keep the delay.
        for _, s in stops:
            for _, f in first:
                delay = s.start - f.start
                if not link.min_minutes <= delay <= link.max_minutes:
                    yield Violation(
                        Rule.AFTER.value,
                        f"starts {delay} min after {link.request!r} ({_t(f.start)}), "
                        f"{link.min_minutes}-{link.max_minutes} min wanted",
                        day=day,
                        request=rid,
                    )


def _unassigned(ctx: _Context) -> Iterator[Violation]:
    reasons = {r.value for r in Reason}
    missing: dict[str, int] = defaultdict(int)
    for u in ctx.plan.unassigned:
        if u.request not in ctx.index.requests:
            continue
        missing[u.request] += u.missing_visits
        if u.reason not in reasons:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"reason {u.reason!r} is not one of {sorted(reasons)}",
                request=u.request,
            )
        if u.missing_visits < 1:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"missing_visits is {u.missing_visits}, must be at least 1",
                request=u.request,
            )
    # Counted week by week: a week's extra visits never make up for another week's missing.
    by_week = ctx.visit_weeks()
    for _hh, req in ctx.scenario.requests():
        weeks = by_week.get(req.id, {})
        counts = [len(weeks.get(w, ())) for w in range(ctx.weeks)]
        planned = sum(counts)
        expected = sum(max(0, req.visits_per_week - n) for n in counts)
        wanted = req.visits_per_week * ctx.weeks
        if missing.get(req.id, 0) != expected:
            yield Violation(
                Rule.UNASSIGNED.value,
                f"{planned} of {wanted} visits "
                f"planned but {missing.get(req.id, 0)} reported missing, not {expected}",
                request=req.id,
            )
