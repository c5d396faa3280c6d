"""Plan versions: list, read, check or store a finished plan document, solve as a job, cancel,
compare, publish."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth import Principal, require_roles
from api.deps import IdPath, IdQuery, SessionDep
from api.models import PlanRow
from api.schemas import (
    IsoDate,
    KpiDifference,
    PlanCheckPublic,
    PlanComparison,
    PlanCreate,
    PlanDocumentCreate,
    PlanJobCreate,
    PlanPublic,
    PlanSummary,
    PlanViolationPublic,
    PlanViolationsBody,
    PlanViolationsResponse,
    WeekInForce,
)
from api.services import locality, plans
from api.services.errors import Conflict
from api.services.jobs import JobOptions, JobRunner
from api.services.travel import body_scenario
from dispatch.checker import Violation
from dispatch.model import Station
from dispatch.whatif import (
    AddCaregivers,
    Modifications,
    MoveStation,
)

__all__ = ["router"]

router = APIRouter(prefix="/plans", tags=["plans"])
Reader = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]
Planner = Annotated[Principal, Depends(require_roles("planner"))]


def _summary(row: PlanRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PlanSummary.model_fields}


def _violation(v: Violation) -> PlanViolationPublic:
    return PlanViolationPublic(
        rule=v.rule, message=v.message, caregiver=v.caregiver, day=v.day, request=v.request
    )


def _refused(exc: plans.PlanViolations) -> JSONResponse:
    """The one error shape, with the violations listed beside the fields."""
    body = PlanViolationsResponse(
        error=PlanViolationsBody(
            code="plan_violations",
            message=exc.message,
            fields=[{"path": f.path, "message": f.message} for f in exc.fields],
            violations=[_violation(v) for v in exc.violations],
        )
    )
    return JSONResponse(status_code=422, content=jsonable_encoder(body))


@router.get("", response_model=list[PlanSummary])
def list_plans(session: SessionDep, _who: Reader) -> list[PlanSummary]:
    """Every plan version, newest first."""
    return [PlanSummary(**_summary(row)) for row in plans.list_plans(session)]


def _modifications(body: PlanJobCreate) -> Modifications:
    m = body.modifications
    return Modifications(
        add_stations=tuple(Station(s.id, s.lat, s.lon, s.name, s.address) for s in m.add_station),
        move_stations=tuple(MoveStation(s.id, s.lat, s.lon) for s in m.move_station),
        add_caregivers=tuple(
            AddCaregivers(a.station, a.count, a.template) for a in m.add_caregivers
        ),
        remove_caregivers=tuple(m.remove_caregivers),
        scale_demand=m.scale_demand,
    )


@router.post(
    "",
    response_model=PlanPublic,
    status_code=201,
    responses={
        202: {"model": PlanSummary, "description": "Planner job accepted"},
        422: {
            "model": PlanViolationsResponse,
            "description": "Invalid input, or a plan that breaks rules (nothing stored)",
        },
    },
)
def store_or_solve(
    request: Request,
    session: SessionDep,
    who: Planner,
    body: Annotated[PlanCreate, Body()],
    name: Annotated[str, Query(max_length=200)] = "",
    week_start: Annotated[IsoDate | None, Query()] = None,
) -> Any:
    """A finished format-1 plan (:class:`api.schemas.PlanDocumentCreate`, a body with
    ``routes``) is checked against the stored master data and stored as a new version (201)
    with the KPIs the checker recomputes; one that breaks a rule is refused (422
    ``plan_violations``, the violations listed) and nothing is stored.

    Anything else is a planner job (:class:`api.schemas.PlanJobCreate`: a scenario or the
    stored one, what-if ``modifications``, ``time_limit``, ``seed``, ``solver``, ``weeks``):
    it answers 202 with the new plan's id at once and solves in the background; poll
    ``GET /plans/{id}``, cancel with ``DELETE /plans/{id}``. Neither replaces the published
    plan until it is published itself.
    """
    if isinstance(body, PlanDocumentCreate):
        try:
            row = plans.store_plan(
                session,
                body.model_dump(),
                week_start=week_start,
                name=name,
                created_by=who.name,
            )
        except plans.PlanViolations as exc:
            return _refused(exc)
        return PlanPublic(**_summary(row), document=row.document)
    runner: JobRunner = request.app.state.jobs
    row = runner.queue(
        session,
        body_scenario(body.scenario) if body.scenario is not None else None,
        _modifications(body),
        JobOptions(
            solver=body.solver,
            time_limit=body.time_limit,
            seed=body.seed,
            weeks=body.weeks,
            week_start=body.week_start or week_start,
            visiting=body.visiting,
            entitlements=locality.current(session).money if body.entitlements else None,
        ),
        name=body.name or name,
        asked=body.modifications.model_dump(exclude_defaults=True),
        created_by=who.name,
    )
    content = jsonable_encoder(PlanSummary(**_summary(row)))
    return JSONResponse(status_code=202, content=content, headers={"Location": f"{row.id}"})


@router.post("/check", response_model=PlanCheckPublic)
def check_plan(
    session: SessionDep,
    _who: Reader,
    body: Annotated[PlanDocumentCreate, Body()],
    week_start: Annotated[IsoDate | None, Query()] = None,
) -> PlanCheckPublic:
    """Check a finished format-1 plan for the weeks from ``week_start`` (default the stored
    scenario's) against the stored master data of those weeks without storing it: ``ok``, the
    checker's ``violations`` and the KPIs it recomputes (those the document claims are
    ignored). 422 for a document that is not a plan, 409 without a stored scenario."""
    _plan, report = plans.check_document(session, body.model_dump(), week_start)
    return PlanCheckPublic(
        ok=report.ok,
        violations=[_violation(v) for v in report.violations],
        kpis=dict(report.kpis),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@router.get("/compare", response_model=PlanComparison)
def compare_plans(session: SessionDep, _who: Reader, a: IdQuery, b: IdQuery) -> PlanComparison:
    """Two plan versions' KPIs side by side; ``difference`` is ``b - a``."""
    row_a, row_b = plans.get_plan(session, a), plans.get_plan(session, b)
    names = list(row_a.kpis) + [k for k in row_b.kpis if k not in row_a.kpis]
    kpis = []
    for key in names:
        va, vb = _number(row_a.kpis.get(key)), _number(row_b.kpis.get(key))
        diff = None if va is None or vb is None else round(vb - va, 6)
        kpis.append(KpiDifference(name=key, a=va, b=vb, difference=diff))
    return PlanComparison(
        a=PlanSummary(**_summary(row_a)), b=PlanSummary(**_summary(row_b)), kpis=kpis
    )


@router.get("/in-force", response_model=list[WeekInForce])
def plans_in_force(
    session: SessionDep,
    _who: Reader,
    first: Annotated[IsoDate, Query(alias="from")],
    weeks: Annotated[int, Query(ge=1, le=53)] = 1,
) -> list[WeekInForce]:
    """The plan in force in each ISO week of ``weeks`` from the week of ``from`` (weeks without
    a published plan are left out)."""
    found = plans.in_force(session, first, weeks)
    return [
        WeekInForce(
            week_start=monday,
            plan_id=plan_id,
            version=plans.get_plan(session, plan_id).version,
        )
        for monday, plan_id in sorted(found.items())
    ]


@router.get("/{plan_id}", response_model=PlanPublic)
def get_plan(session: SessionDep, _who: Reader, plan_id: IdPath) -> PlanPublic:
    """One plan version with its document; a job's ``status``, ``progress`` (0–1), ``message``
    and best ``kpis`` so far while it runs."""
    row = plans.get_plan(session, plan_id)
    return PlanPublic(**_summary(row), document=row.document)


@router.delete("/{plan_id}", response_model=PlanSummary)
def cancel_job(
    request: Request, session: SessionDep, _who: Planner, plan_id: IdPath
) -> PlanSummary:
    """Cancel a queued or running planner job (it stops at the planner's next report)."""
    row = plans.get_plan(session, plan_id)
    runner: JobRunner = request.app.state.jobs
    if not runner.cancel(session, plan_id):
        raise Conflict(
            f"只能取消排队或运行中的任务 / only a queued or running job can be cancelled; "
            f"plan {plan_id} is {row.status}"
        )
    session.refresh(row)
    return PlanSummary(**_summary(row))


@router.post("/{plan_id}/publish", response_model=PlanSummary)
def publish_plan(session: SessionDep, _who: Planner, plan_id: IdPath) -> PlanSummary:
    """Make this plan the one in force in its ISO weeks: one work order per stop, dispatched to
    its caregiver; in those weeks the open orders of the plan it replaces are cancelled, other
    weeks are not touched. 409 for a plan that is not done or breaks a rule of the stored
    master data of its weeks (the violations named)."""
    return PlanSummary(**_summary(plans.publish_plan(session, plan_id)))
