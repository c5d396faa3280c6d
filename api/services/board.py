"""The dispatcher's day board (``GET /routes``): every caregiver's orders of a day, the answer
read most often and the largest.

The answer depends on the day's orders, the households' phones and the clock (an order turns
late, a check-out turns missing). So it is kept, per database and day, with:

- a key read in one small query: the plan in force, the count, the highest id and the latest
  ``updated_at`` of the day's orders of that plan (every update of an order stamps
  ``updated_at``, :class:`api.models.WorkOrder`), and the stored master data's revision
  (``scenario_settings.updated_at``, which contact changes move);
- the span of time it is exact for: from the moment it was made until the next moment an
  order of it turns late or its check-out turns missing (:func:`next_change`).

A request inside that span with the same key gets the kept bytes; anything else builds the
answer again. Nothing is ever answered that a fresh build would not answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.models import WorkOrder
from api.services import hotline, live
from api.services.errors import Conflict
from api.services.kept import Kept
from api.services.work_orders import VisitRules, planned_end, planned_start
from dispatch import evidence

__all__ = ["day_board", "next_change"]

Render = Callable[[Mapping[str, Sequence[WorkOrder]]], bytes]


@dataclass(frozen=True)
class _Kept:
    made: datetime
    until: datetime | None
    body: bytes


#: Rendered boards by :func:`_key`, each with the moment it stops being exact.
_boards: Kept[tuple[Any, ...], _Kept] = Kept(64)


def _key(session: Session, visit_date: date) -> tuple[Any, ...]:
    try:
        plan = live.published(session, visit_date)
    except Conflict:
        return (str(getattr(session.get_bind(), "url", "")), visit_date, None)
    return live.day_stamp(session, plan, visit_date)


def next_change(
    orders: Mapping[str, Sequence[WorkOrder]], now: datetime, rules: VisitRules
) -> datetime | None:
    """The first moment after ``now`` at which an order of ``orders`` turns late (not started
    ``rules.late_minutes`` after its planned start) or its check-out turns missing
    (``rules.check_out_margin_minutes`` after its planned end); ``None`` when none will."""
    moments = []
    for day in orders.values():
        for order in day:
            if order.status in evidence.NOT_STARTED_STATES:
                start = planned_start(order, rules.zone)
                if start is not None:
                    moments.append(start + timedelta(minutes=rules.late_minutes))
            elif order.status == "checked_in":
                end = planned_end(order, rules.zone)
                if end is not None:
                    moments.append(end + timedelta(minutes=rules.check_out_margin_minutes))
    later = [m for m in moments if m >= now]
    return min(later) if later else None


def day_board(
    session: Session, visit_date: date, now: datetime, rules: VisitRules, render: Render
) -> bytes:
    """The day board of ``visit_date`` at ``now`` as ``render`` writes it from the orders by
    caregiver (:func:`api.services.hotline.orders_by_caregiver`); kept while exact."""

    def build() -> _Kept:
        orders = hotline.orders_by_caregiver(session, visit_date)
        return _Kept(now, next_change(orders, now, rules), render(orders))

    def exact(kept: _Kept) -> bool:
        return kept.made <= now and (kept.until is None or now < kept.until)

    return _boards.get_or_build(_key(session, visit_date), build, exact).body
