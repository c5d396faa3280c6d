"""Master data over time (主数据): the imported scenario, its changes dated from a day, and the
one-off orders that live on their date only.

The tables of :mod:`api.services.scenario` hold the master data as imported; ``master_changes``
the changes that take effect from a date (:class:`dispatch.calendar.MasterChange`: a household
moves, a request changes, a caregiver joins or leaves); ``dated_requests`` the one-off orders of
one date (:class:`dispatch.calendar.DatedRequest`: a hotline call's visit). The scenario of an
ISO week (:func:`week_scenario`), which plans, checks and live changes of that week use, is
:func:`dispatch.calendar.week_document` over the three, parsed once per stored revision (every
write here moves ``scenario_settings.updated_at``).

A change is validated before it is stored: the master data in force on its date and on every
later change's date must still be a valid scenario (errors name the field). A new caller of the
hotline is a one-off order's caller, never master data, until a dispatcher registers them as a
household (:func:`register_household`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import DatedRequestRow, MasterChangeRow, ScenarioSettings, WorkOrder, utcnow
from api.services.errors import Conflict, FieldProblem, InputError, NotFound
from api.services.kept import Kept
from api.services.scenario import current_document
from api.services.travel import with_travel
from dispatch.calendar import (
    KINDS,
    DatedRequest,
    MasterChange,
    master_on,
    week_document,
)
from dispatch.model import Scenario
from dispatch.scenario_io import ScenarioError, ValidationIssue, parse_scenario

__all__ = [
    "add_change",
    "add_dated_request",
    "base_document",
    "cancel_change",
    "in_week",
    "list_changes",
    "master_document",
    "monday_of",
    "register_household",
    "revision",
    "span_scenarios",
    "touch",
    "undated_scenario",
    "week_scenario",
]

#: Week scenarios by database, master data revision and Monday.
_weeks: Kept[tuple[str, str, date], Scenario] = Kept(32)


def monday_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def in_week(column: Any, monday: date) -> Any:
    """The SQL condition that a date ``column`` lies in the ISO week of ``monday``."""
    return column.between(monday, monday + timedelta(days=6))


def _database(session: Session) -> str:
    return str(getattr(session.get_bind(), "url", ""))


def touch(session: Session) -> None:
    """Mark the stored master data changed (no commit): cached week scenarios are stale."""
    frame = session.get(ScenarioSettings, 1)
    if frame is not None:
        frame.updated_at = utcnow()


def base_document(session: Session) -> dict[str, Any]:
    """The master data as imported; raises :class:`Conflict` when none is stored."""
    document = current_document(session)
    if document is None:
        raise Conflict("尚未导入场景 / no scenario stored")
    return document


def _change(row: MasterChangeRow) -> MasterChange:
    return MasterChange(row.kind, row.entity_id, row.effective_from, row.data, seq=row.id)


def _changes(session: Session) -> list[MasterChange]:
    rows = session.scalars(
        select(MasterChangeRow).order_by(MasterChangeRow.effective_from, MasterChangeRow.id)
    )
    return [_change(r) for r in rows]


def _dated(session: Session, first: date, last: date) -> list[DatedRequest]:
    rows = session.scalars(
        select(DatedRequestRow)
        .where(DatedRequestRow.visit_date >= first, DatedRequestRow.visit_date <= last)
        .order_by(DatedRequestRow.visit_date, DatedRequestRow.created_at, DatedRequestRow.id)
    )
    return [
        DatedRequest(
            r.id, r.visit_date, r.household_id, r.request, r.caller, whole_week=r.whole_week
        )
        for r in rows
    ]


def master_document(session: Session, on: date) -> dict[str, Any]:
    """The master data in force on ``on`` as a format-1 document (no one-off orders)."""
    return master_on(base_document(session), _changes(session), on)


def revision(session: Session) -> tuple[str, str] | None:
    """Which master data is stored: the database and the revision every import and dated
    change moves (:func:`touch`); ``None`` when no scenario is stored. Equal revisions mean an
    answer built from the master data may be given again."""
    frame = session.get(ScenarioSettings, 1)
    if frame is None:
        return None
    return (_database(session), frame.updated_at.isoformat())


def _key(session: Session, monday: date) -> tuple[str, str, date] | None:
    stored = revision(session)
    return None if stored is None else (*stored, monday)


def week_scenario(session: Session, day: date) -> Scenario:
    """The scenario of the ISO week of ``day``: the master data of that week with its one-off
    orders, ``week_start`` its Monday. Raises :class:`Conflict` when no scenario is stored."""
    monday = monday_of(day)
    key = _key(session, monday)
    if key is None:
        raise Conflict("尚未导入场景 / no scenario stored")

    def build() -> Scenario:
        document = week_document(
            base_document(session),
            _changes(session),
            monday,
            _dated(session, monday, monday + timedelta(days=6)),
        )
        return with_travel(parse_scenario(document).scenario)

    return _weeks.get_or_build(key, build)


def undated_scenario(session: Session) -> Scenario:
    """The master data as imported, for a plan that names no week (its dated changes cannot
    apply). Raises :class:`Conflict` when no scenario is stored."""
    return with_travel(parse_scenario(base_document(session)).scenario)


def span_scenarios(session: Session, first: date, weeks: int) -> list[Scenario]:
    """The scenarios of ``weeks`` consecutive ISO weeks from the week of ``first``."""
    monday = monday_of(first)
    return [week_scenario(session, monday + timedelta(days=7 * k)) for k in range(weeks)]


# --- changes -----------------------------------------------------------------------------------


def list_changes(
    session: Session, *, entity: str | None = None, since: date | None = None
) -> list[MasterChangeRow]:
    """Stored changes in the order they apply, optionally of one entity or from a date on."""
    query = select(MasterChangeRow).order_by(MasterChangeRow.effective_from, MasterChangeRow.id)
    if entity is not None:
        query = query.where(MasterChangeRow.entity_id == entity)
    if since is not None:
        query = query.where(MasterChangeRow.effective_from >= since)
    return list(session.scalars(query))


def _validate(session: Session, changes: Sequence[MasterChange], dates: Sequence[date]) -> None:
    """Raise :class:`ScenarioError` when the master data in force on one of ``dates`` is not a
    valid scenario (its issues say on which date)."""
    base = base_document(session)
    for on in sorted(set(dates)):
        try:
            parse_scenario(master_on(base, changes, on))
        except ScenarioError as exc:
            raise ScenarioError(
                [ValidationIssue(i.path, f"{i.message} (in force from {on})") for i in exc.issues]
            ) from None


def add_change(
    session: Session,
    *,
    kind: str,
    entity: str,
    effective_from: date,
    data: Mapping[str, Any] | None,
    contact: Mapping[str, Any] | None = None,
    reason: str = "",
    created_by: str = "",
) -> MasterChangeRow:
    """Store a change of ``entity`` from ``effective_from`` on; commits.

    Raises :class:`InputError` for an unknown kind or an id that differs from the data's, and
    :class:`dispatch.scenario_io.ScenarioError` (naming the fields) when the master data would
    not be valid on the change's date or a later change's; nothing is stored then.
    """
    if kind not in KINDS:
        raise InputError(
            f"未知主数据类型 / unknown kind {kind!r}",
            [FieldProblem("body.kind", f"one of {', '.join(KINDS)}")],
        )
    if data is not None and str(data.get("id", entity)) != entity:
        raise InputError(
            "编号不一致 / the data's id differs from the entity's",
            [FieldProblem("body.data.id", f"must be {entity!r}")],
        )
    if data is not None and "id" not in data:
        data = {"id": entity, **data}
    pending = MasterChangeRow(
        kind=kind,
        entity_id=entity,
        effective_from=effective_from,
        data=dict(data) if data is not None else None,
        contact=dict(contact) if contact else None,
        reason=reason,
        created_by=created_by,
        created_at=utcnow(),
    )
    existing = _changes(session)
    seq = max((c.seq for c in existing), default=0) + 1
    candidate = MasterChange(kind, entity, effective_from, pending.data, seq=seq)
    changes = sorted([*existing, candidate], key=lambda c: (c.effective_from, c.seq))
    later = [c.effective_from for c in existing if c.effective_from > effective_from]
    _validate(session, changes, [effective_from, *later])
    session.add(pending)
    touch(session)
    session.commit()
    return pending


def cancel_change(session: Session, change_id: int, *, today: date) -> MasterChangeRow:
    """Withdraw a change that has not taken effect yet; commits. Raises :class:`NotFound`,
    :class:`Conflict` for a change in force already or whose withdrawal would leave later
    master data invalid."""
    row = session.get(MasterChangeRow, change_id)
    if row is None:
        raise NotFound(f"主数据变更不存在 / no change {change_id}")
    if row.effective_from <= today:
        raise Conflict(
            f"变更已生效，不能撤回 / change {change_id} is in force since {row.effective_from}; "
            "add a new change instead"
        )
    rest = [c for c in _changes(session) if c.seq != change_id]
    try:
        _validate(session, rest, [row.effective_from, *(c.effective_from for c in rest)])
    except ScenarioError as exc:
        raise Conflict(
            f"撤回后主数据无效 / withdrawing it leaves invalid master data: {exc}"
        ) from None
    session.delete(row)
    touch(session)
    session.commit()
    return row


def register_household(
    session: Session,
    household: Mapping[str, Any],
    *,
    effective_from: date,
    contact: Mapping[str, Any] | None = None,
    from_order: int | None = None,
    created_by: str = "",
) -> MasterChangeRow:
    """Register a household (登记服务对象) from ``effective_from`` on: a caller of the hotline
    becomes master data only this way. With ``from_order`` (a hotline work order of a caller who
    is not a household), the caller's name, address and position fill what ``household``
    leaves out. Raises :class:`Conflict` when the id is a household already in force that day,
    and what :func:`add_change` raises."""
    data = dict(household)
    if from_order is not None:
        order = session.get(WorkOrder, from_order)
        if order is None or order.source != "hotline":
            raise NotFound(f"不是热线工单 / work order {from_order} is not a hotline request")
        data.setdefault("name", order.household_name)
        data.setdefault("address", order.address)
        data.setdefault("lat", order.lat)
        data.setdefault("lon", order.lon)
    data.setdefault("requests", [])
    hid = str(data.get("id", ""))
    if not hid:
        raise InputError(
            "缺少编号 / the household needs an id", [FieldProblem("body.household.id", "required")]
        )
    present = master_document(session, effective_from)
    if any(h.get("id") == hid for h in present.get("households", ())):
        raise Conflict(
            f"服务对象已存在 / household {hid} is registered on {effective_from} already"
        )
    return add_change(
        session,
        kind="household",
        entity=hid,
        effective_from=effective_from,
        data=data,
        contact=contact,
        reason=f"registered from hotline order {from_order}" if from_order else "registered",
        created_by=created_by,
    )


# --- one-off orders ----------------------------------------------------------------------------


def add_dated_request(session: Session, request: DatedRequest, *, work_order: int | None) -> None:
    """Store a one-off order of one date (no commit: it is written with the plan version that
    books it)."""
    session.add(
        DatedRequestRow(
            id=request.id,
            visit_date=request.date,
            household_id=request.household,
            request=dict(request.request),
            caller=dict(request.caller) if request.caller is not None else None,
            work_order_id=work_order,
            created_at=utcnow(),
            whole_week=request.whole_week,
        )
    )
    touch(session)
