"""Request and response bodies of the service (``XCreate`` in, ``XPublic`` out).

Times of day are ``"HH:MM"`` strings, dates ISO ``YYYY-MM-DD``, instants ISO 8601 with offset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CheckCreate",
    "CheckPublic",
    "HouseholdPublic",
    "ImportReportPublic",
    "PlanPublic",
    "PlanSummary",
    "RefuseCreate",
    "Role",
    "ScenarioImportPublic",
    "TokenCreate",
    "TokenCreated",
    "TokenPublic",
    "WindowPublic",
    "WorkOrderPublic",
]

Role = Literal["dispatcher", "planner", "caregiver", "admin"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioImportPublic(BaseModel):
    """What a scenario import stored, with the validator's warnings."""

    name: str
    stations: int
    caregivers: int
    households: int
    requests: int
    warnings: list[str] = []


class ImportReportPublic(BaseModel):
    """What a sheet import stored: data rows read, ids created and replaced."""

    rows: int
    created: list[str]
    updated: list[str]


class TokenCreate(_In):
    """A new API token; ``caregiver_id`` is required for, and only for, role ``caregiver``."""

    name: str = Field(default="", max_length=200)
    role: Role
    caregiver_id: str | None = Field(default=None, min_length=1, max_length=64)


class TokenPublic(BaseModel):
    """A token as listed (its secret is never shown again)."""

    id: int
    name: str
    role: str
    caregiver_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A token just created: ``token`` is the bearer secret, shown this once."""

    token: str


class PlanSummary(BaseModel):
    """One plan version without its document. ``status``: draft/running/done/failed/published."""

    id: int
    version: int
    name: str
    status: str
    scenario_name: str
    week_start: str | None
    kpis: dict[str, Any]
    progress: float
    message: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class PlanPublic(PlanSummary):
    """One plan version with its format-1 document (``None`` until solved)."""

    document: dict[str, Any] | None


class HouseholdPublic(BaseModel):
    """A household's contact card; phone and ID number masked for roles that need not see
    them (``138****5678``)."""

    id: str
    name: str
    address: str
    lat: float
    lon: float
    phone: str | None
    id_number: str | None = None
    notes: str = ""


class WindowPublic(BaseModel):
    """The request's time window the visit starts in (``"HH:MM"``)."""

    from_: str = Field(serialization_alias="from", validation_alias="from")
    to: str

    model_config = ConfigDict(populate_by_name=True)


class WorkOrderPublic(BaseModel):
    """A work order (工单) as a caregiver's assignment or a dispatcher's record."""

    id: int
    status: str
    source: str
    plan_id: int | None
    caregiver: str | None
    date: date | None
    day: str | None
    sequence: int
    service: str
    request: str | None
    household: HouseholdPublic
    window: WindowPublic | None
    arrival: str | None
    start: str | None
    end: str | None
    minutes: int
    notes: str
    flags: list[str]
    refuse_reason: str = ""
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None


class RefuseCreate(_In):
    """Why a caregiver refuses an order (拒单原因)."""

    reason: str = Field(min_length=1, max_length=500)


class CheckCreate(_In):
    """A check-in or check-out: WGS-84 position, optional time (default: now; without an
    offset it is local time), and a client-chosen key that makes retries safe."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    time: datetime | None = None
    idempotency_key: str = Field(min_length=1, max_length=200)


class CheckPublic(BaseModel):
    """The answer to a check-in/out; a retry with the same key gets this same answer."""

    work_order: int
    kind: Literal["check_in", "check_out"]
    status: str
    time: datetime
    distance_m: float
    flags: list[str]
    order_flags: list[str]
    review_needed: bool
