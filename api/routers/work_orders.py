"""The caregiver app: assignments of the published plan, accept/refuse, check-in/out; review
and settlement by dispatchers.

A caregiver token only reads and changes its own caregiver's orders (403 otherwise).
Elders' phone numbers: dispatchers and admins see them in full; a caregiver sees the phone
in full on its own visits dated today (local time), so it can call ahead, and masked
(``138****5678``) on other days; planners see it masked. ID numbers are never shown here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_roles
from api.deps import SessionDep, SettingsDep
from api.models import HouseholdRow, WorkOrder, utcnow
from api.schemas import (
    CheckCreate,
    CheckPublic,
    HouseholdPublic,
    RefuseCreate,
    WindowPublic,
    WorkOrderPublic,
)
from api.services import work_orders as service
from api.services.errors import FieldProblem, InputError
from api.services.privacy import mask_phone
from api.settings import Settings
from dispatch.timeutil import format_hhmm

__all__ = ["MAX_RANGE_DAYS", "router"]

router = APIRouter(tags=["work orders"])
#: Longest ``from``–``to`` range of an assignments query, in days.
MAX_RANGE_DAYS = 31

Reader = Annotated[Principal, Depends(require_roles("dispatcher", "planner", "caregiver"))]
Actor = Annotated[Principal, Depends(require_roles("dispatcher", "caregiver"))]
Dispatcher = Annotated[Principal, Depends(require_roles("dispatcher"))]


def _forbid_others(who: Principal, caregiver_id: str | None) -> None:
    if not who.may_see_caregiver(caregiver_id):
        raise HTTPException(
            403, "只能查看和操作本人的工单 / a caregiver may only see and act on its own orders"
        )


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else format_hhmm(minutes)


def _public(order: WorkOrder, who: Principal, phone: str | None, today: date) -> WorkOrderPublic:
    full = who.role in ("admin", "dispatcher") or (who.is_caregiver() and order.visit_date == today)
    window = None
    if order.window_from is not None and order.window_to is not None:
        window = WindowPublic(from_=format_hhmm(order.window_from), to=format_hhmm(order.window_to))
    return WorkOrderPublic(
        id=order.id,
        status=order.status,
        source=order.source,
        plan_id=order.plan_id,
        caregiver=order.caregiver_id,
        date=order.visit_date,
        day=order.day,
        sequence=order.sequence,
        service=order.service,
        request=order.request_id,
        household=HouseholdPublic(
            id=order.household_id,
            name=order.household_name,
            address=order.address,
            lat=order.lat,
            lon=order.lon,
            phone=phone if full else mask_phone(phone),
        ),
        window=window,
        arrival=_hhmm(order.arrival),
        start=_hhmm(order.start),
        end=_hhmm(order.end),
        minutes=order.planned_minutes,
        notes=order.notes,
        flags=list(order.flags),
        refuse_reason=order.refuse_reason,
        checked_in_at=order.checked_in_at,
        checked_out_at=order.checked_out_at,
    )


def _phones(session: Session, household_ids: set[str]) -> dict[str, str | None]:
    if not household_ids:
        return {}
    rows = session.execute(
        select(HouseholdRow.id, HouseholdRow.phone).where(HouseholdRow.id.in_(household_ids))
    )
    return {hid: phone for hid, phone in rows}


def _today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


def _answer(
    session: Session, order: WorkOrder, who: Principal, settings: Settings
) -> WorkOrderPublic:
    phone = _phones(session, {order.household_id}).get(order.household_id)
    return _public(order, who, phone, _today(settings))


@router.get("/caregivers/{caregiver_id}/assignments", response_model=list[WorkOrderPublic])
def list_assignments(
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    caregiver_id: str,
    day: Annotated[date | None, Query(alias="date")] = None,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> list[WorkOrderPublic]:
    """A caregiver's visits of the published plan in visiting order: one ``date``, or the
    range ``from``–``to`` (inclusive, at most 31 days)."""
    _forbid_others(who, caregiver_id)
    if day is not None:
        if first is not None or last is not None:
            raise InputError(
                "date 与 from/to 不能同时使用 / give either date or from and to",
                [FieldProblem("query.date", "not together with from/to")],
            )
        first = last = day
    elif first is None or last is None:
        if first is None and last is None:
            missing = "query.date"
        else:
            missing = "query.from" if first is None else "query.to"
        raise InputError(
            "需要 date 或 from 与 to / give date, or both from and to",
            [FieldProblem(missing, "required")],
        )
    if last < first:
        raise InputError(
            "结束日期早于开始日期 / to is before from",
            [FieldProblem("query.to", "must not be before from")],
        )
    if (last - first) > timedelta(days=MAX_RANGE_DAYS - 1):
        raise InputError(
            f"日期范围过长 / the range is longer than {MAX_RANGE_DAYS} days",
            [FieldProblem("query.to", f"at most {MAX_RANGE_DAYS} days after from")],
        )
    orders = service.assignments(session, caregiver_id, first, last)
    phones = _phones(session, {o.household_id for o in orders})
    today = _today(settings)
    return [_public(o, who, phones.get(o.household_id), today) for o in orders]


@router.get("/work-orders/{order_id}", response_model=WorkOrderPublic)
def get_work_order(
    session: SessionDep, settings: SettingsDep, who: Reader, order_id: int
) -> WorkOrderPublic:
    """One work order."""
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    return _answer(session, order, who, settings)


def _move(
    session: Session, settings: Settings, who: Principal, order_id: int, target: str
) -> WorkOrderPublic:
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    service.transition(order, target)
    session.commit()
    return _answer(session, order, who, settings)


@router.post("/work-orders/{order_id}/accept", response_model=WorkOrderPublic)
def accept(
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: int
) -> WorkOrderPublic:
    """Accept a dispatched order (接单)."""
    return _move(session, settings, who, order_id, "accepted")


@router.post("/work-orders/{order_id}/refuse", response_model=WorkOrderPublic)
def refuse(
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: int, body: RefuseCreate
) -> WorkOrderPublic:
    """Refuse a dispatched order with a reason (拒单); the dispatcher reassigns it."""
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    service.transition(order, "refused")
    order.refuse_reason = body.reason
    session.commit()
    return _answer(session, order, who, settings)


def _check(
    session: Session,
    settings: Settings,
    who: Principal,
    order_id: int,
    body: CheckCreate,
    kind: str,
) -> CheckPublic:
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    at = service.as_utc(body.time, settings.zone) if body.time is not None else utcnow()
    answer = service.record_check(
        session,
        order,
        kind=kind,
        lat=body.lat,
        lon=body.lon,
        at=at,
        idempotency_key=body.idempotency_key,
        rules=service.VisitRules(
            geofence_m=settings.geofence_m, min_visit_share=settings.min_visit_share
        ),
        token_id=who.token_id,
    )
    return CheckPublic.model_validate(answer)


@router.post("/work-orders/{order_id}/check-in", response_model=CheckPublic)
def check_in(
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: int, body: CheckCreate
) -> CheckPublic:
    """Check in on site (签到). Outside the geofence the visit is accepted but flagged.
    A retry with the same ``idempotency_key`` returns the first answer."""
    return _check(session, settings, who, order_id, body, "check_in")


@router.post("/work-orders/{order_id}/check-out", response_model=CheckPublic)
def check_out(
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: int, body: CheckCreate
) -> CheckPublic:
    """Check out (签退). Outside the geofence, or shorter than the configured share of the
    planned minutes, the visit is accepted but flagged for review."""
    return _check(session, settings, who, order_id, body, "check_out")


@router.post("/work-orders/{order_id}/review", response_model=WorkOrderPublic)
def review(
    session: SessionDep, settings: SettingsDep, who: Dispatcher, order_id: int
) -> WorkOrderPublic:
    """Record the follow-up call of a checked-out visit (回访)."""
    return _move(session, settings, who, order_id, "reviewed")


@router.post("/work-orders/{order_id}/settle", response_model=WorkOrderPublic)
def settle(
    session: SessionDep, settings: SettingsDep, who: Dispatcher, order_id: int
) -> WorkOrderPublic:
    """Settle a reviewed visit against the subsidy (结算)."""
    return _move(session, settings, who, order_id, "settled")
