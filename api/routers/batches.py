"""Batches (方案对比): start, list, read, cancel, and the comparison table as CSV or Excel.

``POST /batches`` answers 202 at once; the variants are solved in parallel in the background
(:mod:`api.services.batches`). Each variant's plan is an ordinary plan row: compare it with
``GET /plans/compare`` or publish it with ``POST /plans/{id}/publish``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.auth import Principal, require_roles
from api.deps import IdPath, SessionDep
from api.models import BatchRow
from api.routers.settlement import XLSX
from api.schemas import BatchCreate, BatchPublic, BatchSummary, BatchVariantPublic
from api.services import batches
from api.services.batches import BatchOptions, BatchRunner
from api.services.errors import Conflict
from api.services.travel import body_scenario
from dispatch.batch import write_csv, write_xlsx

__all__ = ["CSV", "router"]

router = APIRouter(prefix="/batches", tags=["batches"])
Reader = Annotated[Principal, Depends(require_roles("planner", "dispatcher"))]
Planner = Annotated[Principal, Depends(require_roles("planner"))]
#: The media type of the comparison table as CSV (UTF-8 with a byte-order mark).
CSV = "text/csv; charset=utf-8"


def _summary(row: BatchRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in BatchSummary.model_fields}


def _public(session: SessionDep, row: BatchRow) -> BatchPublic:
    variants = [
        BatchVariantPublic(
            variant=plan.variant or plan.name,
            plan_id=plan.id,
            status=plan.status,
            progress=plan.progress,
            message=plan.message,
            kpis=plan.kpis,
        )
        for plan in batches.variants_of(session, row.id)
    ]
    return BatchPublic(**_summary(row), variants=variants, rows=row.rows or [])


@router.post(
    "",
    response_model=BatchSummary,
    status_code=202,
    responses={202: {"description": "Batch accepted; its variants are solved in the background"}},
)
def start_batch(
    request: Request,
    session: SessionDep,
    who: Planner,
    body: Annotated[BatchCreate, Body()],
) -> Any:
    """Start a batch: one draft plan row per variant ("<name> · <variant>"), solved in
    parallel on the service's engine (``DISPATCH_BATCH_ENGINE``: a local process pool, or
    Ray). Answers 202 with the batch and its ``Location``; poll ``GET /batches/{id}``, cancel
    with ``DELETE /batches/{id}``. 422 names the field of a mistake in the variants, or of a
    variant that does not apply to the scenario (an unknown station); nothing is stored then.
    409 when no scenario is sent and none is stored."""
    document = {
        key: value
        for key, value in (
            ("variants", body.variants),
            ("grid", body.grid),
            ("baseline", body.baseline),
            ("staff_cost", body.staff_cost),
        )
        if value is not None
    }
    runner: BatchRunner = request.app.state.batches
    row = runner.queue(
        session,
        body_scenario(body.scenario) if body.scenario is not None else None,
        document,
        BatchOptions(
            solver=body.solver,
            time_limit=body.time_limit,
            seed=body.seed,
            week_start=body.week_start,
        ),
        name=body.name,
        created_by=who.name,
    )
    content = jsonable_encoder(BatchSummary(**_summary(row)))
    return JSONResponse(
        status_code=202, content=content, headers={"Location": f"/api/v1/batches/{row.id}"}
    )


@router.get("", response_model=list[BatchSummary])
def list_batches(session: SessionDep, _who: Reader) -> list[BatchSummary]:
    """Every batch, newest first."""
    return [BatchSummary(**_summary(row)) for row in batches.list_batches(session)]


@router.get("/{batch_id}", response_model=BatchPublic)
def get_batch(session: SessionDep, _who: Reader, batch_id: IdPath) -> BatchPublic:
    """A batch: its state, each variant's state, progress, message, plan id and KPIs, and the
    comparison table (of the variants ended so far while it runs)."""
    return _public(session, batches.get_batch(session, batch_id))


@router.delete("/{batch_id}", response_model=BatchPublic)
def cancel_batch(
    request: Request, session: SessionDep, _who: Planner, batch_id: IdPath
) -> BatchPublic:
    """Cancel a queued or running batch: the variants not ended stop and are cancelled (each
    keeping its best plan so far), those that ended keep their plans and lines. 409 when the
    batch has ended."""
    row = batches.get_batch(session, batch_id)
    runner: BatchRunner = request.app.state.batches
    if not runner.cancel(session, batch_id):
        raise Conflict(
            f"只能取消排队或运行中的方案对比 / only a queued or running batch can be cancelled; "
            f"batch {batch_id} is {row.status}"
        )
    session.refresh(row)
    return _public(session, row)


def _file(
    rows: Sequence[Mapping[str, Any]],
    write: Callable[[Sequence[Mapping[str, Any]], Path], None],
    suffix: str,
) -> bytes:
    with tempfile.TemporaryDirectory(prefix="batch-") as directory:
        path = Path(directory) / f"comparison{suffix}"
        write(rows, path)
        return path.read_bytes()


@router.get(
    "/{batch_id}/comparison.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The comparison table"}},
)
def comparison_csv(session: SessionDep, _who: Reader, batch_id: IdPath) -> Response:
    """The batch's comparison table as CSV (UTF-8 with a byte-order mark, for Excel)."""
    row = batches.get_batch(session, batch_id)
    return Response(
        _file(row.rows or [], write_csv, ".csv"),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'},
    )


@router.get(
    "/{batch_id}/comparison.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The comparison table"}},
)
def comparison_xlsx(session: SessionDep, _who: Reader, batch_id: IdPath) -> Response:
    """The batch's comparison table as an Excel workbook (one sheet, ``comparison``)."""
    row = batches.get_batch(session, batch_id)
    return Response(
        _file(row.rows or [], write_xlsx, ".xlsx"),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.xlsx"'},
    )
