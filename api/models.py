"""ORM tables of the dispatch service (SQLAlchemy 2, typed ``Mapped`` columns).

The scenario lives in ``scenario_settings`` (one row: name, week, days, travel), ``stations``,
``caregivers``, ``households`` and ``requests``; each entity row keeps its contract-v1 object in
``data`` (times ``"HH:MM"``, coordinates WGS-84) beside the columns that are queried, so export
gives back exactly what was imported. Contact data that the contract does not carry (an elder's
``phone``, ``id_number``, ``notes``) only lives in columns and never leaves through the
scenario export.

These tables hold the master data as imported; ``master_changes`` holds the changes that take
effect from a date (a household moves, a caregiver leaves), applied over them by
:mod:`dispatch.calendar`. ``dated_requests`` are one-off orders (a hotline call's visit) that live
on their date only and never enter the master data.

Plans are versioned rows: a solve creates a new row (draft → running → done/failed) and only
publishing makes it the plan in use for its ISO weeks (``week_plans``: one row per week, the
plan in force that week); publishing turns each stop into a ``work_orders`` row. A
``batches`` row groups the plan rows of its what-if variants (``plans.batch_id``) and keeps
their comparison table.
Hotline orders (``source = "hotline"``) use the same table without a plan. ``check_ins`` keep
every check-in/out with its idempotency key and the first answer given. ``hotline_calls``
keep what a hotline request asked for and the options it was offered; ``redispatch_offers``
the options a refused, unanswered or late order was offered for dispatching it again.
``api_tokens`` keep SHA-256 hashes of bearer tokens, never the tokens.

Every timestamp is a :class:`UTCDateTime`: stored in UTC, read back timezone-aware on SQLite as
on PostgreSQL. Households' ``phone`` and ``id_number`` are :class:`EncryptedString` columns and
a master data change's ``contact`` an :class:`EncryptedJSON` one: encrypted at rest with the
data key (:mod:`api.crypto`), plain values in Python.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from api.crypto import cipher_of

__all__ = [
    "ApiToken",
    "Base",
    "BatchRow",
    "CaregiverRow",
    "CheckIn",
    "DatedRequestRow",
    "EncryptedJSON",
    "EncryptedString",
    "HotlineCall",
    "HouseholdRow",
    "MasterChangeRow",
    "PlanRow",
    "RedispatchOffer",
    "RequestRow",
    "ScenarioSettings",
    "StationRow",
    "UTCDateTime",
    "WeekPlan",
    "WorkOrder",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware (UTC) on every backend.

    SQLite keeps no offset and gives naive values back; they were written in UTC, so UTC is
    put back on. A naive value written is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedString(TypeDecorator[str]):
    """Text encrypted at rest with the database's data key (Fernet tokens in a TEXT column);
    plain ``str`` to Python. Only equality with ``None`` can be queried."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else cipher_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else cipher_of(dialect).decrypt(value)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object encrypted at rest like :class:`EncryptedString` (a household's contact
    data in a master data change); cannot be queried."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_of(dialect).encrypt(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        found: dict[str, Any] = json.loads(cipher_of(dialect).decrypt(value))
        return found


class Base(DeclarativeBase):
    """Declarative base of every table; ``Base.metadata`` is what migrations describe."""


class ScenarioSettings(Base):
    """The stored scenario's frame (one row, ``id = 1``): name, week, days, travel model."""

    __tablename__ = "scenario_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    week_start: Mapped[str | None] = mapped_column(String(10))
    days: Mapped[list[Any]] = mapped_column(JSON)
    travel: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StationRow(Base):
    """A service station (服务站)."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class CaregiverRow(Base):
    """A caregiver (护理员) of a station."""

    __tablename__ = "caregivers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    gender: Mapped[str | None] = mapped_column(String(1))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class HouseholdRow(Base):
    """A household (服务对象) with its contact data and standing requests."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    id_number: Mapped[str | None] = mapped_column(EncryptedString())
    notes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    requests: Mapped[list[RequestRow]] = relationship(
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="RequestRow.position",
        passive_deletes=True,
    )


class RequestRow(Base):
    """A standing service request (服务需求) of a household."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    household: Mapped[HouseholdRow] = relationship(back_populates="requests")


class PlanRow(Base):
    """One version of a plan (排班计划) and its state.

    ``status``: draft, running, done, failed, cancelled or published (in force in at least one
    ISO week, see :class:`WeekPlan`; a published plan that no week uses any more is done).
    ``document`` is the plan in contract format 1 once there is one (for a running job, the
    best plan so far); ``progress`` 0–1; ``heartbeat_at`` when the worker owning a queued or
    running job last said it is alive.
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    scenario_name: Mapped[str] = mapped_column(String(200), default="")
    week_start: Mapped[str | None] = mapped_column(String(10))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kpis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The batch whose ``variant`` this plan solves (``None`` for other plans).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    variant: Mapped[str | None] = mapped_column(String(200))


class BatchRow(Base):
    """A batch (方案对比): many what-if variants of one scenario solved in parallel.

    ``status``: draft (queued), running, done, failed or cancelled. ``parameters`` record how it
    was asked for (time limit, seed, solver, engine, the variants document, the staff cost);
    each variant is a plan row with ``batch_id`` and its ``variant`` name; ``rows`` is the
    comparison table (of the variants ended so far while it runs); ``heartbeat_at`` when the
    runner owning a queued or running batch last said it is alive.
    """

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    scenario_name: Mapped[str] = mapped_column(String(200), default="")
    week_start: Mapped[str | None] = mapped_column(String(10))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkOrder(Base):
    """A work order (工单): one visit by one caregiver, with its lifecycle ``status``.

    Address, window and notes are copied when the order is created so a later scenario
    change does not alter what was dispatched. Times are minutes from midnight.
    ``review_rating`` (1–5) and ``review_comment`` are the follow-up call's (回访);
    ``replaces_id`` is the order this one was dispatched again from (改派). Every update of a row
    stamps ``updated_at`` (``onupdate``): the day board's cache key relies on it.
    """

    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_caregiver_date", "caregiver_id", "visit_date"),
        # The day's stamp (api.services.live.day_stamp: count, last id, last change of a plan's
        # orders of a date) is read by every hotline call: answered from this index alone.
        Index("ix_work_orders_plan_day", "plan_id", "visit_date", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16), default="plan")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    caregiver_id: Mapped[str | None] = mapped_column(String(64))
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(64))
    day: Mapped[str | None] = mapped_column(String(3))
    visit_date: Mapped[date | None] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    arrival: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    planned_minutes: Mapped[int] = mapped_column(Integer, default=0)
    window_from: Mapped[int | None] = mapped_column(Integer)
    window_to: Mapped[int | None] = mapped_column(Integer)
    household_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    refuse_reason: Mapped[str] = mapped_column(Text, default="")
    review_rating: Mapped[int | None] = mapped_column(Integer)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    replaces_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CheckIn(Base):
    """A check-in or check-out (签到/签退) with its position, flags and first answer.

    ``at`` is the server's time of the record, ``phone_time`` the time the phone gave (if
    any); ``lat``/``lon`` are WGS-84, ``raw_lat``/``raw_lon`` the position as sent in
    ``coord_system``. An idempotency key is unique within its work order: caregivers' phones
    make their keys independently.
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        UniqueConstraint(
            "work_order_id", "idempotency_key", name="uq_check_ins_work_order_idempotency_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    phone_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    coord_system: Mapped[str] = mapped_column(String(8), default="wgs84")
    raw_lat: Mapped[float | None] = mapped_column(Float)
    raw_lon: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """A bearer token's SHA-256 hash, role and (for caregivers) the caregiver it speaks for."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    caregiver_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HotlineCall(Base):
    """A hotline request (热线工单) beside its work order: urgency, the time it was asked at
    and the options offered, each with the fingerprint of the caregiver's route it was
    computed on (a confirm on a changed route is refused)."""

    __tablename__ = "hotline_calls"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    urgency: Mapped[str] = mapped_column(String(16))
    now: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RedispatchOffer(Base):
    """The options offered for dispatching an order again (改派): the plan version and
    ``now`` they were computed at, the caregivers left out, how they were ranked and, per
    option, the chosen caregiver's day as it was (a confirm on a changed day is refused)."""

    __tablename__ = "redispatch_offers"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    now: Mapped[int] = mapped_column(Integer)
    ranked_by: Mapped[str] = mapped_column(String(16))
    excluded: Mapped[list[Any]] = mapped_column(JSON, default=list)
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MasterChangeRow(Base):
    """A change of master data from ``effective_from`` on: ``data`` is the entity's whole
    format-1 object from that date (a household with its requests), ``None`` when the entity
    ends (a caregiver leaves, a household moves away); ``contact`` a household's contact data
    that the format does not carry."""

    __tablename__ = "master_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    contact: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DatedRequestRow(Base):
    """A one-off order on one date (a hotline call's visit), or of one week (``whole_week``,
    ``visit_date`` its Monday): ``request`` is its format-1 request object, ``caller`` the
    caller's household object when the caller is not a registered household; the work order
    it was booked for."""

    __tablename__ = "dated_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    caller: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    work_order_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: A request of the whole week of ``visit_date`` (its Monday): a published job's programme
    #: visit, with its own days inside the week.
    whole_week: Mapped[bool] = mapped_column(Boolean, default=False)


class WeekPlan(Base):
    """The plan in force in one ISO week (its Monday): publishing a plan of N weeks sets N rows;
    a change of the live day (hotline, absence, re-dispatch) moves its week to a new version."""

    __tablename__ = "week_plans"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LocalityRow(Base):
    """The locality's programme tables (:mod:`dispatch.programmes.rules`): one row, its
    document as the planner last stored it; none stored means the bundled defaults."""

    __tablename__ = "locality"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PhoneVisitRow(Base):
    """A visiting call made by a station's desk (电话探访): the household, the day, the desk
    and what was said; counted by the visiting ledger when the locality's rule allows."""

    __tablename__ = "phone_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    desk: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
