"""The caregiver app: assignments of the published plan, accept/refuse, check-in/out; review
and settlement by dispatchers.

A caregiver token only reads and changes its own caregiver's orders (403 otherwise).
Elders' phone numbers: dispatchers and admins see them in full; a caregiver sees the phone
in full on its own visits dated today (local time), so it can call ahead, and masked
(``138****5678``) on other days; planners see it masked. ID numbers are never shown here.

Dispatchers list the queue (``GET /work-orders``, a day's ``summary`` and ``flags``) and
dispatch refused, unanswered or late orders again (``redispatch``). "Now" is the app's clock
(:mod:`api.clock`); dispatchers may give ``now`` to see the day as at another moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.auth import Principal, require_roles
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from api.models import HouseholdRow, WorkOrder
from api.schemas import (
    CheckCreate,
    CheckPublic,
    CheckRecordPublic,
    ConfirmCreate,
    ConfirmPublic,
    FlaggedOrderPublic,
    FlagsPublic,
    HotlineOptionPublic,
    HouseholdPublic,
    IsoDate,
    IsoDateTime,
    MovedVisitPublic,
    RedispatchCreate,
    RedispatchPublic,
    RefuseCreate,
    ReviewCreate,
    WindowPublic,
    WorkOrderPage,
    WorkOrderPublic,
    WorkOrderSummary,
)
from api.services import queue, redispatch
from api.services import work_orders as service
from api.services.errors import FieldProblem, InputError
from api.services.hotline import caregiver_names
from api.services.privacy import mask_phone
from api.settings import Settings
from dispatch.timeutil import format_hhmm, parse_hhmm

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


def rules_of(settings: Settings) -> service.VisitRules:
    """The visit rules of the settings."""
    return service.VisitRules(
        geofence_m=settings.geofence_m,
        min_visit_share=settings.min_visit_share,
        clock_skew_minutes=settings.clock_skew_minutes,
        late_minutes=settings.late_minutes,
        check_out_margin_minutes=settings.check_out_margin_minutes,
        zone=settings.zone,
    )


def _public(
    order: WorkOrder,
    who: Principal,
    phone: str | None,
    today: date,
    *,
    now: datetime | None = None,
    rules: service.VisitRules | None = None,
) -> WorkOrderPublic:
    rules = rules if rules is not None else service.VisitRules()
    now = now if now is not None else datetime.now(UTC)
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
        flags=service.live_flags(order, now, rules),
        refuse_reason=order.refuse_reason,
        checked_in_at=order.checked_in_at,
        checked_out_at=order.checked_out_at,
        late=service.is_late(order, now, rules),
        review_rating=order.review_rating,
        review_comment=order.review_comment,
        replaces=order.replaces_id,
    )


_PHONES = select(HouseholdRow.id, HouseholdRow.phone).where(
    HouseholdRow.id.in_(bindparam("ids", expanding=True))
)


def _phones(session: Session, household_ids: set[str]) -> dict[str, str | None]:
    if not household_ids:
        return {}
    rows = session.execute(_PHONES, {"ids": sorted(household_ids)})
    return {hid: phone for hid, phone in rows}


def _today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


def _answer(
    session: Session,
    order: WorkOrder,
    who: Principal,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> WorkOrderPublic:
    phone = _phones(session, {order.household_id}).get(order.household_id)
    return _public(order, who, phone, _today(settings), now=now, rules=rules_of(settings))


def _date_range(
    day: date | None, first: date | None, last: date | None, names: tuple[str, str]
) -> tuple[date, date]:
    """One ``date`` or a range of at most :data:`MAX_RANGE_DAYS` days (``names``: the query
    parameters of its first and last day); raises :class:`InputError` naming the parameter."""
    a, b = names
    if day is not None:
        if first is not None or last is not None:
            raise InputError(
                f"date 与 {a}/{b} 不能同时使用 / give either date or {a} and {b}",
                [FieldProblem("query.date", f"not together with {a}/{b}")],
            )
        return day, day
    if first is None or last is None:
        if first is None and last is None:
            missing = "query.date"
        else:
            missing = f"query.{a}" if first is None else f"query.{b}"
        raise InputError(
            f"需要 date 或 {a} 与 {b} / give date, or both {a} and {b}",
            [FieldProblem(missing, "required")],
        )
    if last < first:
        raise InputError(
            f"结束日期早于开始日期 / {b} is before {a}",
            [FieldProblem(f"query.{b}", f"must not be before {a}")],
        )
    if (last - first) > timedelta(days=MAX_RANGE_DAYS - 1):
        raise InputError(
            f"日期范围过长 / the range is longer than {MAX_RANGE_DAYS} days",
            [FieldProblem(f"query.{b}", f"at most {MAX_RANGE_DAYS} days after {a}")],
        )
    return first, last


@router.get("/caregivers/{caregiver_id}/assignments", response_model=list[WorkOrderPublic])
def list_assignments(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Reader,
    caregiver_id: str,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
    first: Annotated[IsoDate | None, Query(alias="from")] = None,
    last: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> list[WorkOrderPublic]:
    """A caregiver's visits of the published plan in visiting order: one ``date``, or the
    range ``from``–``to`` (inclusive, at most 31 days)."""
    _forbid_others(who, caregiver_id)
    first, last = _date_range(day, first, last, ("from", "to"))
    orders = service.assignments(session, caregiver_id, first, last)
    phones = _phones(session, {o.household_id for o in orders})
    today, now, rules = _today(settings), clock.now(), rules_of(settings)
    return [
        _public(o, who, phones.get(o.household_id), today, now=now, rules=rules) for o in orders
    ]


def _now(who: Principal, clock: ClockDep, settings: Settings, given: datetime | None) -> datetime:
    """The clock's time, or a dispatcher's ``now`` (without an offset: local time)."""
    if given is None:
        return clock.now()
    if who.role not in ("dispatcher", "admin"):
        raise HTTPException(403, "只有调度员可以指定 now / only dispatchers may give now")
    return service.as_utc(given, settings.zone)


def _statuses(values: list[str] | None) -> tuple[str, ...]:
    """``status=a&status=b`` or ``status=a,b``; raises :class:`InputError` for an unknown one."""
    wanted = tuple(v.strip() for value in values or [] for v in value.split(",") if v.strip())
    unknown = [v for v in wanted if v not in service.STATE_NAMES]
    if unknown:
        raise InputError(
            f"未知状态 / unknown status {', '.join(unknown)}",
            [FieldProblem("query.status", f"each one of {', '.join(service.STATE_NAMES)}")],
        )
    return wanted


Now = Annotated[
    IsoDateTime | None,
    Query(description="ISO instant to judge late and missing check-out at (dispatchers)."),
]


@router.get("/work-orders", response_model=WorkOrderPage)
def list_work_orders(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Reader,
    response: Response,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
    date_from: Annotated[IsoDate | None, Query()] = None,
    date_to: Annotated[IsoDate | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    station: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    caregiver: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    late: bool | None = None,
    flagged: bool | None = None,
    sort: Literal["start", "caregiver", "status"] = "start",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    now: Now = None,
) -> WorkOrderPage:
    """The dispatcher's queue (工单列表): orders of one ``date`` or ``date_from``–``date_to``
    (at most 31 days), filtered by ``status`` (repeat it or separate by commas), ``station``,
    ``caregiver``, ``late`` and ``flagged`` (flags to review), sorted by ``sort`` (ties by
    id), ``limit`` from ``offset``; ``total`` (also the ``X-Total-Count`` header) counts all
    that match. A caregiver lists only its own orders (``caregiver`` = its id)."""
    if who.is_caregiver() and caregiver != who.caregiver_id:
        _forbid_others(who, caregiver)
    first, last = _date_range(day, date_from, date_to, ("date_from", "date_to"))
    moment = _now(who, clock, settings, now)
    rules = rules_of(settings)
    found = queue.list_orders(
        session,
        queue.QueueFilter(
            first=first,
            last=last,
            statuses=_statuses(status),
            station=station,
            caregiver=caregiver,
            late=late,
            flagged=flagged,
        ),
        now=moment,
        rules=rules,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    phones = _phones(session, {o.household_id for o in found.orders})
    today = _today(settings)
    response.headers["X-Total-Count"] = str(found.total)
    return WorkOrderPage(
        total=found.total,
        limit=limit,
        offset=offset,
        items=[
            _public(o, who, phones.get(o.household_id), today, now=moment, rules=rules)
            for o in found.orders
        ],
    )


@router.get("/work-orders/summary", response_model=WorkOrderSummary)
def work_order_summary(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Dispatcher,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
    now: Now = None,
) -> WorkOrderSummary:
    """A day's orders (default today) by status, how many are late and flagged, the published
    plan's unassigned visits that could fall on the day and orders waiting for a caregiver."""
    moment = _now(who, clock, settings, now)
    visit_date = day or moment.astimezone(settings.zone).date()
    found = queue.day_summary(session, visit_date, now=moment, rules=rules_of(settings))
    return WorkOrderSummary(
        date=found.day,
        total=found.total,
        by_status=found.by_status,
        late=found.late,
        flagged=found.flagged,
        unassigned=found.unassigned,
        waiting=found.waiting,
    )


@router.get("/work-orders/flags", response_model=FlagsPublic)
def work_order_flags(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Dispatcher,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
    now: Now = None,
) -> FlagsPublic:
    """A day's orders (default today) with flags to review (outside the geofence, short
    visit, clock skew, missing check-out, back-filled) and their checks as recorded."""
    moment = _now(who, clock, settings, now)
    visit_date = day or moment.astimezone(settings.zone).date()
    found = queue.day_flags(session, visit_date, now=moment, rules=rules_of(settings))
    return FlagsPublic(
        date=visit_date,
        orders=[
            FlaggedOrderPublic(
                work_order=f.order.id,
                status=f.order.status,
                caregiver=f.order.caregiver_id,
                household=f.order.household_id,
                household_name=f.order.household_name,
                service=f.order.service,
                start=_hhmm(f.order.start),
                end=_hhmm(f.order.end),
                flags=f.flags,
                checks=[
                    CheckRecordPublic(
                        kind=c.kind,
                        time=c.at,
                        phone_time=c.phone_time,
                        coord_system=c.coord_system,
                        raw_lat=c.raw_lat,
                        raw_lon=c.raw_lon,
                        distance_m=round(c.distance_m, 1),
                        flags=list(c.flags),
                    )
                    for c in f.checks
                ],
            )
            for f in found
        ],
    )


@router.get("/work-orders/{order_id}", response_model=WorkOrderPublic)
def get_work_order(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, who: Reader, order_id: IdPath
) -> WorkOrderPublic:
    """One work order; ``late`` when it has no check-in 15 minutes after its planned start."""
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    return _answer(session, order, who, settings, now=clock.now())


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
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: IdPath
) -> WorkOrderPublic:
    """Accept a dispatched order (接单)."""
    return _move(session, settings, who, order_id, "accepted")


@router.post("/work-orders/{order_id}/refuse", response_model=WorkOrderPublic)
def refuse(
    session: SessionDep, settings: SettingsDep, who: Actor, order_id: IdPath, body: RefuseCreate
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
    clock: ClockDep,
    who: Principal,
    order_id: int,
    body: CheckCreate,
    kind: str,
) -> CheckPublic:
    order = service.get_order(session, order_id)
    _forbid_others(who, order.caregiver_id)
    phone = service.as_utc(body.time, settings.zone) if body.time is not None else None
    answer = service.record_check(
        session,
        order,
        kind=kind,
        lat=body.lat,
        lon=body.lon,
        coord_system=body.coord_system,
        at=service.as_utc(clock.now()),
        phone_time=phone,
        idempotency_key=body.idempotency_key,
        rules=rules_of(settings),
        token_id=who.token_id,
    )
    return CheckPublic.model_validate(answer)


@router.post("/work-orders/{order_id}/check-in", response_model=CheckPublic)
def check_in(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Actor,
    order_id: IdPath,
    body: CheckCreate,
) -> CheckPublic:
    """Check in on site (签到) at the server's time; the phone's ``time`` is kept beside it.
    Outside the geofence (after converting GCJ-02/BD-09 to WGS-84), with a phone clock off by
    more than ``DISPATCH_CLOCK_SKEW_MINUTES``, or after the visit's planned end, the visit is
    accepted but flagged. A retry with the same ``idempotency_key`` returns the first answer."""
    return _check(session, settings, clock, who, order_id, body, "check_in")


@router.post("/work-orders/{order_id}/check-out", response_model=CheckPublic)
def check_out(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Actor,
    order_id: IdPath,
    body: CheckCreate,
) -> CheckPublic:
    """Check out (签退) at the server's time. Outside the geofence, shorter than the
    configured share of the planned minutes, with a skewed phone clock or entered long after
    the planned end, the visit is accepted but flagged for review."""
    return _check(session, settings, clock, who, order_id, body, "check_out")


@router.post("/work-orders/{order_id}/review", response_model=WorkOrderPublic)
def review(
    session: SessionDep,
    settings: SettingsDep,
    who: Dispatcher,
    order_id: IdPath,
    body: ReviewCreate | None = None,
) -> WorkOrderPublic:
    """Record the follow-up call of a checked-out visit (回访), with the elder's ``rating``
    (1–5) and ``comment``."""
    order = service.get_order(session, order_id)
    given = body if body is not None else ReviewCreate()
    service.record_review(session, order, rating=given.rating, comment=given.comment)
    return _answer(session, order, who, settings)


@router.post("/work-orders/{order_id}/settle", response_model=WorkOrderPublic)
def settle(
    session: SessionDep, settings: SettingsDep, who: Dispatcher, order_id: IdPath
) -> WorkOrderPublic:
    """Settle a reviewed visit against the subsidy (结算)."""
    return _move(session, settings, who, order_id, "settled")


def _moved(m: dict[str, Any]) -> MovedVisitPublic:
    return MovedVisitPublic(
        work_order=m["work_order"],
        request=m["request"],
        household=m["household"],
        start_before=format_hhmm(m["start_before"]),
        start_after=format_hhmm(m["start_after"]),
        delay=m["delay"],
    )


def _offered(session: Session, found: redispatch.Offered) -> RedispatchPublic:
    order = found.order
    assert order.visit_date is not None
    names = caregiver_names(session, order.visit_date)
    window = (
        WindowPublic(from_=format_hhmm(order.window_from), to=format_hhmm(order.window_to))
        if order.window_from is not None and order.window_to is not None
        else WindowPublic(from_=_hhmm(order.start) or "", to=_hhmm(order.start) or "")
    )
    return RedispatchPublic(
        work_order=order.id,
        status=order.status,
        late=found.late,
        date=order.visit_date,
        now=format_hhmm(found.now),
        excluded=found.excluded,
        ranked_by=found.ranked_by,
        window=window,
        options=[
            HotlineOptionPublic(
                option=o["option"],
                caregiver=o["caregiver"],
                caregiver_name=names.get(o["caregiver"], ""),
                position=o["position"],
                eta=format_hhmm(o["arrival"]),
                minutes_to_arrive=o["arrival"] - found.now,
                start=format_hhmm(o["start"]),
                end=format_hhmm(o["end"]),
                added_travel=o["added_travel"],
                moved=[_moved(m) for m in o["moves"]],
            )
            for o in found.options
        ],
        message=found.message,
    )


Minute = Annotated[
    str | None,
    Query(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="\"HH:MM\" on the order's day (default: the server's local time).",
    ),
]


@router.get("/work-orders/{order_id}/options", response_model=RedispatchPublic)
def redispatch_options(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _who: Dispatcher,
    order_id: IdPath,
    now: Minute = None,
    options: Annotated[int, Query(ge=1, le=20)] = 3,
) -> RedispatchPublic:
    """Who could take a refused, unanswered or late order instead, best first (its caregiver
    left out): for a late order the soonest on site, else the least added travel. Stores
    nothing; ``POST …/redispatch`` gives options that can be confirmed."""
    found = redispatch.options(
        session,
        order_id,
        moment=clock.now(),
        rules=rules_of(settings),
        now=parse_hhmm(now) if now is not None else None,
        limit=options,
    )
    return _offered(session, found)


@router.post("/work-orders/{order_id}/redispatch", response_model=RedispatchPublic)
def redispatch_request(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _who: Dispatcher,
    order_id: IdPath,
    body: RedispatchCreate | None = None,
) -> RedispatchPublic:
    """Dispatch a refused, unanswered or late order again (改派): the ranked options, as a
    hotline call gets them, kept for ``…/redispatch/confirm``."""
    given = body if body is not None else RedispatchCreate()
    found = redispatch.offer(
        session,
        order_id,
        moment=clock.now(),
        rules=rules_of(settings),
        now=parse_hhmm(given.now) if given.now is not None else None,
        limit=given.options,
    )
    return _offered(session, found)


@router.post("/work-orders/{order_id}/redispatch/confirm", response_model=ConfirmPublic)
def redispatch_confirm(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Dispatcher,
    order_id: IdPath,
    body: ConfirmCreate,
) -> ConfirmPublic:
    """Give the order to the caregiver of one of its re-dispatch options: the order is
    cancelled and a new one (``replaces`` it) dispatched, later visits get their new times and
    the plan a new published version. 409 when the plan changed since the options were given
    (ask again)."""
    done = redispatch.confirm(
        session,
        order_id,
        body.caregiver,
        body.option,
        moment=clock.now(),
        rules=rules_of(settings),
    )
    return ConfirmPublic(
        work_order=_answer(session, done.order, who, settings, now=clock.now()),
        plan_id=done.plan.id,
        plan_version=done.plan.version,
        moved=[_moved(m) for m in done.moved],
    )
