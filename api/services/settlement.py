"""The month's settlement (结算) from the store: work orders of the plans in force as lines.

Reads the work orders dated in the month of every plan in force in its weeks (cancelled ones
left out), with their check-in and check-out times and evidence flags (a missing check-out
while it applies, as the dispatcher's queue shows it), each caregiver's station, and the
households' assessment levels and tags; :func:`dispatch.programmes.settlement.settle` does the
sums with the locality's tables (:func:`api.services.locality.current`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import CaregiverRow, HouseholdRow, WeekPlan, WorkOrder
from api.services import locality
from api.services.errors import FieldProblem, InputError
from api.services.work_orders import VisitRules, live_flags
from dispatch.model import Household
from dispatch.programmes.entitlements import Tables
from dispatch.programmes.settlement import DeliveredVisit, Settlement, settle

__all__ = ["month_lines", "month_range", "month_settlement"]


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``"YYYY-MM"``; raises :class:`InputError` naming
    ``query.month``."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError(
            f"月份无效 / month must be YYYY-MM, got {month!r}",
            [FieldProblem("query.month", "expected YYYY-MM")],
        ) from None
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def month_lines(
    session: Session, month: str, now: dt.datetime, rules: VisitRules
) -> list[DeliveredVisit]:
    """The month's work orders of the plans in force as settlement lines, flags as at ``now``."""
    first, last = month_range(month)
    orders = session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.plan_id.in_(select(WeekPlan.plan_id)),
            WorkOrder.visit_date >= first,
            WorkOrder.visit_date <= last,
            WorkOrder.status != "cancelled",
        )
        .order_by(WorkOrder.visit_date, WorkOrder.id)
    )
    stations = {
        cid: sid for cid, sid in session.execute(select(CaregiverRow.id, CaregiverRow.station_id))
    }
    lines = []
    for order in orders:
        assert order.visit_date is not None  # selected by date
        lines.append(
            DeliveredVisit(
                order=order.id,
                household=order.household_id,
                station=stations.get(order.caregiver_id or "", ""),
                caregiver=order.caregiver_id or "",
                service=order.service,
                date=order.visit_date,
                planned_minutes=order.planned_minutes,
                checked_in=order.checked_in_at,
                checked_out=order.checked_out_at,
                flags=tuple(live_flags(order, now, rules)),
            )
        )
    return lines


def _households(session: Session) -> list[Household]:
    """The stored households with what picks their scheme: assessment level and tags."""
    out = []
    for row in session.scalars(select(HouseholdRow)):
        level = row.data.get("assessment_level")
        out.append(
            Household(
                row.id,
                row.lat,
                row.lon,
                tags=tuple(row.data.get("tags") or ()),
                assessment_level=level if isinstance(level, int) else None,
            )
        )
    return out


def month_settlement(
    session: Session,
    month: str,
    now: dt.datetime,
    rules: VisitRules,
    tables: Tables | None = None,
) -> Settlement:
    """The settlement of ``month`` (``"YYYY-MM"``) from the store, with ``tables`` (default:
    the locality's)."""
    lines = month_lines(session, month, now, rules)
    return settle(
        lines,
        locality.current(session).money if tables is None else tables,
        month,
        households=_households(session),
    )
