"""Master data that changes from a date, and one-off orders on a date (主数据日历).

The service keeps the master data (stations, caregivers, households with their standing
requests) as a base scenario document plus :class:`MasterChange` entries, each taking effect
from a date: a household moves, a request changes, a caregiver leaves or joins. Dated one-off
orders (a hotline call's visit on one date only) are :class:`DatedRequest` entries. A week's
plan is made from the master data valid that week, built by :func:`week_document` as a
format-1 scenario document (``dispatch.scenario_io.parse_scenario`` reads it).

The rules of a week (Monday to Sunday):

- the week starts from the master data of its Monday (:func:`master_on`);
- a change taking effect inside the week (Tuesday to Sunday) is honoured by day for arrivals
  and departures: an entity present on Monday that ends (``data`` ``None``) keeps only the
  days before, an entity absent on Monday that starts keeps only the days from then on; a
  change of attributes of an entity present on Monday takes effect from the next week (the
  week is planned with Monday's data);
- "keeps the days" means: a caregiver's ``shifts``, the shifts of a station's caregivers, and
  a household's requests' allowed ``days``. A request narrowed that way owes what its days
  can hold: ``visits_per_week`` becomes at most the visits its remaining days hold with
  ``min_gap_days`` (or the largest remaining part of its fixed ``patterns``, which keep only
  their parts of that size, so that every pattern still has ``visits_per_week`` days); a
  request left with no day is dropped for the week (the household is not there, so no visit
  is owed and none is reported unassigned);
- a caregiver absent from the week's document is dropped from the households'
  ``preferred_caregivers`` and ``forbidden_caregivers`` of that week;
- each :class:`DatedRequest` of the week becomes a request of its household on its date only
  (``days`` that day, one visit, no patterns); a caller who is not a registered household is
  added as a household of the week. A dated request on a day the scenario does not plan adds
  that day to the week's ``days``; requests without their own ``days`` then get the days they
  had spelt out, so that only the dated request uses the added day.

Validating the master data is the caller's: removing a station that caregivers still belong
to, a request id used twice, or an ``after`` link to a request that is gone that week give a
document that ``parse_scenario`` rejects with errors naming the fields; nothing here crashes on
them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dispatch.model import DAYS

__all__ = [
    "KINDS",
    "DatedRequest",
    "MasterChange",
    "master_on",
    "patterns_within",
    "span_documents",
    "week_document",
]

#: The kinds of master data a change may concern.
KINDS: tuple[str, ...] = ("station", "caregiver", "household")
#: Each kind's list in a scenario document.
_LISTS: Mapping[str, str] = {
    "station": "stations",
    "caregiver": "caregivers",
    "household": "households",
}


@dataclass(frozen=True)
class MasterChange:
    """One change of master data taking effect from a date.

    ``data`` is the entity's whole format-1 object from that date on (a household with its
    requests); ``None`` means the entity ends (leaves, closes) from that date. ``seq`` orders
    the changes of one date (creation order).
    """

    kind: str
    entity: str
    effective_from: date
    data: Mapping[str, Any] | None
    seq: int = 0


@dataclass(frozen=True)
class DatedRequest:
    """A one-off order on one date (a hotline call, a follow-up): a request that lives on its
    date only.

    ``request`` is a format-1 request object (service, minutes, windows, skill, staff,
    priority …); its ``visits_per_week``, ``min_gap_days``, ``days`` and ``patterns`` are set
    by :func:`week_document`. ``caller`` is a format-1 household object without requests, for
    a caller who is not a registered household.
    """

    id: str
    date: date
    household: str
    request: Mapping[str, Any]
    caller: Mapping[str, Any] | None = None
    #: A request of the whole week of ``date`` instead (a programme's visit due that week): it
    #: keeps its own ``days`` and ``visits_per_week`` inside the week.
    whole_week: bool = False


def patterns_within(
    patterns: Sequence[Sequence[str]] | None, days: Sequence[str]
) -> tuple[tuple[str, ...], ...] | None:
    """The parts of ``patterns`` on ``days``: each kept one is a subset of a pattern, so the
    visits planned on it keep the rule; empty parts go (``None`` stays ``None``)."""
    if patterns is None:
        return None
    parts = (tuple(d for d in p if d in days) for p in patterns)
    return tuple(dict.fromkeys(p for p in parts if p))


def _ordered(changes: Iterable[MasterChange]) -> list[MasterChange]:
    out = sorted(changes, key=lambda c: (c.effective_from, c.seq))
    for c in out:
        if c.kind not in KINDS:
            raise ValueError(f"change of {c.entity!r}: unknown kind {c.kind!r}, not one of {KINDS}")
        if c.data is not None and c.data.get("id", c.entity) != c.entity:
            raise ValueError(
                f"change of {c.kind} {c.entity!r}: its data has id {c.data.get('id')!r}"
            )
    return out


def _apply(doc: dict[str, Any], change: MasterChange) -> None:
    items: list[Any] = doc.setdefault(_LISTS[change.kind], [])
    at = next(
        (i for i, x in enumerate(items) if isinstance(x, Mapping) and x.get("id") == change.entity),
        None,
    )
    if change.data is None:
        if at is not None:
            del items[at]
        return
    data = {"id": change.entity, **copy.deepcopy(dict(change.data))}
    if at is None:
        items.append(data)
    else:
        items[at] = data


def master_on(base: Mapping[str, Any], changes: Iterable[MasterChange], on: date) -> dict[str, Any]:
    """The master data valid on ``on``: a deep copy of the scenario document ``base`` with
    every change effective on or before ``on`` applied in order (date, then ``seq``). A
    change's ``data`` replaces the entity of that id in its place, or is appended when there is
    none; ``None`` removes it (nothing when it is not there). A caregiver who has left is no
    longer named by the households' ``preferred_caregivers`` and ``forbidden_caregivers``.

    Raises ``ValueError`` for a change of an unknown kind, or whose data names another id.
    """
    doc = copy.deepcopy(dict(base))
    left: set[str] = set()
    for change in _ordered(changes):
        if change.effective_from > on:
            break
        _apply(doc, change)
        if change.kind == "caregiver":
            (left.add if change.data is None else left.discard)(change.entity)
    if left:
        _drop_absent_caregivers(doc, left)
    return doc


def _find(doc: Mapping[str, Any], kind: str, entity: str) -> dict[str, Any] | None:
    for x in doc.get(_LISTS[kind], ()):
        if isinstance(x, dict) and x.get("id") == entity:
            return x
    return None


def _capacity(days: Sequence[str], gap: int) -> int:
    """Visits that ``days`` hold at least ``gap`` days apart (earliest first is optimal)."""
    count, last = 0, None
    for d in days:
        i = DAYS.index(d)
        if last is None or i - last >= gap:
            count, last = count + 1, i
    return count


def _narrow_request(
    request: dict[str, Any], planned: Sequence[str], present: set[str]
) -> dict[str, Any] | None:
    """``request`` on the days of ``present`` only, owing what they hold; ``None`` when none
    of its days is left."""
    allowed = request.get("days")
    if allowed is None:
        allowed = planned
    kept = [d for d in DAYS if d in allowed and d in present]
    if not kept:
        return None
    out = dict(request)
    out["days"] = kept
    vpw = int(request.get("visits_per_week") or 1)
    gap = int(request.get("min_gap_days") or 1)
    patterns = patterns_within(request.get("patterns"), kept)
    if patterns is not None:
        if not patterns:
            return None
        vpw = max(len(p) for p in patterns)
        out["patterns"] = [list(p) for p in patterns if len(p) == vpw]
    else:
        vpw = min(vpw, _capacity(kept, gap))
    out["visits_per_week"] = vpw
    return out


def _narrow(doc: dict[str, Any], kind: str, entity: dict[str, Any], present: set[str]) -> None:
    """Keep ``entity`` (already in ``doc``) on the days of ``present`` only."""
    if kind == "caregiver":
        shifts = entity.get("shifts")
        if isinstance(shifts, Mapping):
            entity["shifts"] = {d: v for d, v in shifts.items() if d in present}
    elif kind == "station":
        for cg in doc.get("caregivers", ()):
            if isinstance(cg, dict) and cg.get("station") == entity.get("id"):
                _narrow(doc, "caregiver", cg, present)
    else:
        planned = doc.get("days") or DAYS
        requests = []
        for r in entity.get("requests") or ():
            narrowed = _narrow_request(r, planned, present) if isinstance(r, dict) else r
            if narrowed is not None:
                requests.append(narrowed)
        entity["requests"] = requests


def _week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


def _inside_week(
    doc: dict[str, Any], changes: Sequence[MasterChange], monday: date
) -> dict[tuple[str, str], set[str]]:
    """Honour the arrivals and departures of the changes inside the week (Tuesday to Sunday)
    on ``doc`` (Monday's master data); returns the days of each entity that changed."""
    sunday = monday + timedelta(days=6)
    inside: dict[tuple[str, str], list[MasterChange]] = {}
    for c in changes:
        if monday < c.effective_from <= sunday:
            inside.setdefault((c.kind, c.entity), []).append(c)
    present_days: dict[tuple[str, str], set[str]] = {}
    # Stations last, so that a caregiver arriving with a station is narrowed by both.
    for (kind, entity), mine in sorted(inside.items(), key=lambda kv: -KINDS.index(kv[0][0])):
        on_monday = _find(doc, kind, entity)
        state: Mapping[str, Any] | None = on_monday
        first: Mapping[str, Any] | None = on_monday
        present: set[str] = set()
        for day in _week_days(monday):
            for c in mine:
                if c.effective_from == day:
                    state = c.data
            if state is not None:
                present.add(DAYS[day.weekday()])
                if first is None:
                    first = state
        present_days[(kind, entity)] = present
        if len(present) == 7 or first is None:
            # Only changes of attributes: Monday's data holds all week. Or never there.
            continue
        if on_monday is None:
            _apply(doc, MasterChange(kind, entity, monday, first))
        entity_doc = _find(doc, kind, entity)
        if entity_doc is not None:
            _narrow(doc, kind, entity_doc, present)
    return present_days


def _add_dated(
    doc: dict[str, Any],
    dated: Sequence[DatedRequest],
    present_days: Mapping[tuple[str, str], set[str]],
) -> None:
    for order in dated:
        if order.whole_week:
            _add_week_request(doc, order)
            continue
        day = DAYS[order.date.weekday()]
        household = _find(doc, "household", order.household)
        if household is None:
            if order.caller is None:
                raise ValueError(
                    f"dated request {order.id!r} on {order.date}: unknown household "
                    f"{order.household!r} and no caller given"
                )
            household = {**copy.deepcopy(dict(order.caller)), "id": order.household}
            household["requests"] = []
            doc.setdefault("households", []).append(household)
        elif day not in present_days.get(("household", order.household), set(DAYS)):
            raise ValueError(
                f"dated request {order.id!r} on {order.date}: household "
                f"{order.household!r} is not there that day"
            )
        planned = doc.get("days") or []
        if day not in planned:
            # Spell out the days of requests that had the default, so that only this one
            # uses the day added.
            for h in doc.get("households", ()):
                for r in h.get("requests") or ():
                    if isinstance(r, dict) and r.get("days") is None:
                        r["days"] = list(planned)
            doc["days"] = [d for d in DAYS if d in planned or d == day]
        request = {k: copy.deepcopy(v) for k, v in order.request.items() if k not in ("patterns",)}
        request |= {"id": order.id, "days": [day], "visits_per_week": 1, "min_gap_days": 1}
        requests = household.get("requests")
        if not isinstance(requests, list):
            requests = household["requests"] = list(requests or ())
        requests.append(request)


def _add_week_request(doc: dict[str, Any], order: DatedRequest) -> None:
    """A request of the whole week added to its household, with its own days (those the week
    plans) and visits."""
    household = _find(doc, "household", order.household)
    if household is None:
        raise ValueError(
            f"request {order.id!r} of the week of {order.date}: unknown household "
            f"{order.household!r}"
        )
    request = {k: copy.deepcopy(v) for k, v in order.request.items() if k != "patterns"}
    request["id"] = order.id
    planned = doc.get("days") or []
    if request.get("days") is not None:
        request["days"] = [d for d in request["days"] if d in planned]
    requests = household.get("requests")
    if not isinstance(requests, list):
        requests = household["requests"] = list(requests or ())
    requests.append(request)


def _drop_absent_caregivers(doc: dict[str, Any], only: set[str] | None = None) -> None:
    """Households no longer name caregivers absent from ``doc`` (of ``only``, when given)."""
    known = {c.get("id") for c in doc.get("caregivers", ()) if isinstance(c, Mapping)}
    for h in doc.get("households", ()):
        for field in ("preferred_caregivers", "forbidden_caregivers"):
            ids = h.get(field) if isinstance(h, dict) else None
            if isinstance(ids, list):
                h[field] = [c for c in ids if c in known or (only is not None and c not in only)]


def week_document(
    base: Mapping[str, Any],
    changes: Iterable[MasterChange],
    monday: date,
    dated: Iterable[DatedRequest] = (),
) -> dict[str, Any]:
    """The scenario document of the week starting ``monday``: :func:`master_on` that Monday
    with ``week_start`` set, the arrivals and departures inside the week honoured by day, and
    the dated requests of the week added (the rules are in the module's docstring). Dated
    requests of other weeks are ignored. Inputs are never changed.

    Raises ``ValueError`` when ``monday`` is not a Monday, for a dated request whose household
    is unknown and which has no caller (or whose household is not there on its date), and
    what :func:`master_on` raises.
    """
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    ordered = _ordered(changes)
    doc = master_on(base, ordered, monday)
    doc["week_start"] = monday.isoformat()
    present_days = _inside_week(doc, ordered, monday)
    sunday = monday + timedelta(days=6)
    mine = [d for d in dated if monday <= d.date <= sunday]
    _add_dated(doc, mine, present_days)
    _drop_absent_caregivers(doc)
    return doc


def span_documents(
    base: Mapping[str, Any],
    changes: Iterable[MasterChange],
    first_monday: date,
    weeks: int,
    dated: Iterable[DatedRequest] = (),
) -> list[dict[str, Any]]:
    """:func:`week_document` of each of ``weeks`` consecutive weeks from ``first_monday``.

    Raises ``ValueError`` for ``weeks`` < 1 and what :func:`week_document` raises.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    ordered = _ordered(changes)
    orders = list(dated)
    return [
        week_document(base, ordered, first_monday + timedelta(days=7 * k), orders)
        for k in range(weeks)
    ]
