"""Dispatchers' desk: today's routes, hotline requests (12349) and their confirmation,
caregivers' absences."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from api.auth import Principal, require_roles
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from api.models import WorkOrder
from api.routers.work_orders import _answer, _moved, _phones, _public, _today, rules_of
from api.schemas import (
    AbsenceCreate,
    AbsencePublic,
    ConfirmCreate,
    ConfirmPublic,
    HotlineCreate,
    HotlineOptionPublic,
    HotlinePublic,
    IsoDate,
    NotKeptPublic,
    PartnerPublic,
    ReassignedPublic,
    WindowPublic,
    WorkOrderPublic,
)
from api.services import absence as absences
from api.services import board
from api.services import hotline as service
from api.services.errors import FieldProblem, InputError
from api.services.privacy import mask_phone
from dispatch.hotline import InsertionOption, PairOption
from dispatch.timeutil import format_hhmm, parse_hhmm

__all__ = ["router"]

router = APIRouter(tags=["dispatch"])
log = logging.getLogger("api.hotline")
Dispatcher = Annotated[Principal, Depends(require_roles("dispatcher"))]
_BOARD = TypeAdapter(dict[str, list[WorkOrderPublic]])


@router.get("/routes", response_model=dict[str, list[WorkOrderPublic]])
def day_routes(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    who: Dispatcher,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
) -> Response:
    """Every caregiver's visits of the published plan on ``date`` (default today), in
    visiting order, keyed by caregiver id."""
    visit_date = day or service.local_now(settings.zone)[0]
    today, rules, now = _today(settings), rules_of(settings), clock.now()

    def render(by_caregiver: Mapping[str, Sequence[WorkOrder]]) -> bytes:
        ids = {o.household_id for orders in by_caregiver.values() for o in orders}
        phones = _phones(session, ids)
        answer = {
            caregiver: [
                _public(o, who, phones.get(o.household_id), today, now=now, rules=rules)
                for o in orders
            ]
            for caregiver, orders in by_caregiver.items()
        }
        return _BOARD.dump_json(answer, by_alias=True)

    # The largest answer, read most often: kept while exact (api/services/board.py) and
    # serialised once, without the second validation of the response model.
    body = board.day_board(session, visit_date, now, rules, render)
    return Response(body, media_type="application/json")


@router.post("/work-orders", response_model=HotlinePublic, status_code=201)
def hotline_request(
    session: SessionDep,
    settings: SettingsDep,
    _who: Dispatcher,
    body: HotlineCreate,
    http: Request,
) -> HotlinePublic:
    """A hotline request (热线派单): opens a work order and proposes the best caregivers
    with their ETA, the added travel and the later visits that would move; for a two-person
    service (双人服务) pairs who start it together."""
    if (body.household is None) == (body.caller is None):
        raise InputError(
            "需要 household 或 caller 之一 / give either household or caller",
            [FieldProblem("body.household", "exactly one of household and caller")],
        )
    today, minute = service.local_now(settings.zone)
    caller = body.caller
    request = service.CallRequest(
        service=body.service,
        urgency=body.urgency,
        visit_date=body.visit_date or today,
        now=parse_hhmm(body.now) if body.now is not None else minute,
        household=body.household,
        caller_name=caller.name if caller else "",
        caller_address=caller.address if caller else "",
        caller_lat=caller.lat if caller else None,
        caller_lon=caller.lon if caller else None,
        coord_system=caller.coord_system if caller else "wgs84",
        window=(parse_hhmm(body.window.from_), parse_hhmm(body.window.to))
        if body.window is not None
        else None,
        minutes=body.minutes,
        options=body.options,
        notes=body.notes,
    )
    started = time.perf_counter()
    result = service.open_call(session, request)
    seconds = time.perf_counter() - started
    http.app.state.metrics.hotline_seconds.observe(seconds)
    names = service.caregiver_names(session, request.visit_date)
    options = []
    offered: Sequence[InsertionOption | PairOption] = result.answer.options
    for i, option in enumerate(offered):
        o = option.first if isinstance(option, PairOption) else option
        partner = None
        if isinstance(option, PairOption):
            p = option.second
            partner = PartnerPublic(
                caregiver=p.caregiver,
                caregiver_name=names.get(p.caregiver, ""),
                position=p.position,
                eta=format_hhmm(p.arrival),
                minutes_to_arrive=p.arrival - request.now,
                added_travel=p.added_travel,
                moved=[_moved(m) for m in (result.partner_moved or [])[i]],
            )
        options.append(
            HotlineOptionPublic(
                option=i,
                caregiver=o.caregiver,
                caregiver_name=names.get(o.caregiver, ""),
                position=o.position,
                eta=format_hhmm(o.arrival),
                minutes_to_arrive=o.arrival - request.now,
                start=format_hhmm(o.start),
                end=format_hhmm(o.end),
                added_travel=o.added_travel,
                moved=[_moved(m) for m in result.moved[i]],
                partner=partner,
            )
        )
    order = result.order
    assert order.visit_date is not None
    _log_call(order, body, options, seconds)
    return HotlinePublic(
        work_order=order.id,
        household=order.household_id,
        service=order.service,
        urgency=body.urgency,
        date=order.visit_date,
        now=format_hhmm(request.now),
        window=WindowPublic(
            from_=format_hhmm(result.call.window[0]), to=format_hhmm(result.call.window[1])
        ),
        minutes=result.call.minutes,
        options=options,
        within_emergency_minutes=result.answer.within_emergency_minutes,
        message=result.answer.message,
    )


def _log_call(
    order: WorkOrder, body: HotlineCreate, options: Sequence[HotlineOptionPublic], seconds: float
) -> None:
    """One line per call, without the caller's phone or name in full: a new caller's name is
    reduced to its first character, the phone masked (``138****5678``)."""
    best = options[0] if options else None
    extra: dict[str, object] = {
        "work_order": order.id,
        "household": order.household_id,
        "service": order.service,
        "urgency": body.urgency,
        "options": len(options),
        "best_caregiver": best.caregiver if best is not None else None,
        "best_eta": best.eta if best is not None else None,
        "ms": round(seconds * 1000, 1),
    }
    caller = body.caller
    if caller is not None:
        extra["caller_name"] = caller.name[:1] + "*" * (len(caller.name) - 1)
        extra["caller_phone"] = mask_phone(caller.phone)
    log.info("hotline call", extra=extra)


@router.post("/work-orders/{order_id}/confirm", response_model=ConfirmPublic)
def confirm(
    session: SessionDep,
    settings: SettingsDep,
    who: Dispatcher,
    order_id: IdPath,
    body: ConfirmCreate,
) -> ConfirmPublic:
    """Dispatch a hotline order as one of its options: the caregiver's route gets the visit,
    later visits their new times, and the plan a new published version. 409 when the
    caregiver's route changed since the options were given (ask again)."""
    result = service.confirm(session, order_id, body.caregiver, body.option)
    return ConfirmPublic(
        work_order=_answer(session, result.order, who, settings),
        plan_id=result.plan.id,
        plan_version=result.plan.version,
        moved=[_moved(m) for m in result.moved],
        partner_work_order=None
        if result.partner is None
        else _answer(session, result.partner, who, settings),
    )


@router.post("/caregivers/{caregiver_id}/absence", response_model=AbsencePublic)
def absence(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _who: Dispatcher,
    caregiver_id: str,
    body: AbsenceCreate,
) -> AbsencePublic:
    """A caregiver is absent on ``date`` (请假) from ``now`` (default the server's clock):
    the station's day is re-routed without them, keeping started and finished visits and
    colleagues' accepted orders where they are (unless ``allow_moving_accepted``) and moving
    nothing before ``now``; lists the visits given to others and those that could not be
    kept, with reasons. 422 for a past date without ``now``."""
    result = absences.report_absence(
        session,
        caregiver_id,
        body.date,
        now=parse_hhmm(body.now) if body.now is not None else None,
        local=clock.now().astimezone(settings.zone),
        allow_moving_accepted=body.allow_moving_accepted,
    )
    return AbsencePublic(
        caregiver=caregiver_id,
        date=body.date,
        now=format_hhmm(result.now),
        plan_id=result.plan.id,
        plan_version=result.plan.version,
        reassigned=[
            ReassignedPublic(
                work_order=o.id,
                request=o.request_id,
                household=o.household_id,
                caregiver=o.caregiver_id or "",
                start=format_hhmm(o.start or 0),
            )
            for o in result.reassigned
        ],
        not_kept=[NotKeptPublic(**n) for n in result.not_kept],
    )
