"""Request and response bodies of the service (``XCreate`` in, ``XPublic`` out).

Times of day are ``"HH:MM"`` strings, dates ISO ``YYYY-MM-DD``, instants ISO 8601 with offset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    computed_field,
)

from dispatch.geocode import FlagCode
from dispatch.hotline import RANKED_BY_TEXT, RankedBy, Urgency, ranked_by

__all__ = [
    "PLAN_BODY_TAGS",
    "AbsenceCreate",
    "AbsencePublic",
    "AddCaregiversIn",
    "AddStationIn",
    "BatchCreate",
    "BatchPublic",
    "BatchSummary",
    "BatchVariantPublic",
    "CallerIn",
    "CheckCreate",
    "CheckPublic",
    "CheckRecordPublic",
    "ConfirmCreate",
    "ConfirmPublic",
    "FlaggedOrderPublic",
    "FlagsPublic",
    "GeocodeFlagPublic",
    "GeocodedRowPublic",
    "HotlineCreate",
    "HotlineOptionPublic",
    "HotlinePublic",
    "HouseholdImportPublic",
    "HouseholdPublic",
    "ImportReportPublic",
    "IsoDate",
    "IsoDateTime",
    "KpiDifference",
    "ModificationsIn",
    "MoveStationIn",
    "MovedVisitPublic",
    "NotKeptPublic",
    "PlanCheckPublic",
    "PlanComparison",
    "PlanCreate",
    "PlanDocumentCreate",
    "PlanJobCreate",
    "PlanPublic",
    "PlanSummary",
    "PlanViolationPublic",
    "PlanViolationsBody",
    "PlanViolationsResponse",
    "ReassignedPublic",
    "RedispatchCreate",
    "RedispatchPublic",
    "RefuseCreate",
    "ReviewCreate",
    "Role",
    "ScenarioImportPublic",
    "SheetRefusedBody",
    "SheetRefusedResponse",
    "TokenCreate",
    "TokenCreated",
    "TokenPublic",
    "UtcDateTime",
    "WindowIn",
    "WindowPublic",
    "WorkOrderPage",
    "WorkOrderPublic",
    "WorkOrderSummary",
]

Role = Literal["dispatcher", "planner", "caregiver", "admin"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The largest row id the store holds (its id columns are 32-bit on PostgreSQL).
_MAX_ID = 2**31 - 1


def _iso_date(value: Any) -> Any:
    """Let only ``YYYY-MM-DD`` text (or a :class:`date`) through: pydantic alone reads ``0`` or
    ``"0"`` as 1970-01-01 and ``"2026-01-05T00:00"`` as a date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected an ISO date YYYY-MM-DD / 日期格式应为 YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date given over HTTP (query or body): only ISO ``YYYY-MM-DD`` text, else 422 naming it."""

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_datetime(value: Any) -> Any:
    """Let only ISO 8601 text (or a :class:`datetime`) through: pydantic alone reads ``0.5`` as
    an instant of 1970."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected an ISO 8601 date and time / 时间格式应为 ISO 8601")


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
"""An instant given over HTTP: only ISO 8601 text (``2026-11-23T09:30:00+08:00``)."""


def _as_utc(value: datetime) -> datetime:
    """A stored instant without an offset is UTC: say so, as the schema's date-time asks."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""An instant in an answer, always with its offset (stored ones without are UTC)."""


class _In(BaseModel):
    # Strict: a JSON ``false`` is not the number 0, nor ``1`` a true; a body says what it means.
    model_config = ConfigDict(extra="forbid", strict=True)


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


class GeocodeFlagPublic(BaseModel):
    """Why a geocoded point needs a person's check."""

    code: FlagCode
    message: str


class GeocodedRowPublic(BaseModel):
    """A sheet row whose household's point the geocoder found (地址解析结果), in WGS-84.

    ``confidence`` is the service's 0–100 score (``null``: it gives none), ``level`` what the
    point stands for in the service's words (门址 a door, 区县 a district's centre),
    ``candidates`` how many distinct places matched; ``flags`` say why to check it.
    """

    row: int
    household: str
    address: str
    lat: float
    lon: float
    confidence: int | None
    level: str
    candidates: int
    flags: list[GeocodeFlagPublic]
    message: str


class HouseholdImportPublic(ImportReportPublic):
    """A household sheet's import: besides what was stored, the rows whose points were
    geocoded without doubt (``geocoded``) and the flagged ones that were accepted."""

    geocoded: list[GeocodedRowPublic] = []
    flagged: list[GeocodedRowPublic] = []


class SheetRefusedBody(BaseModel):
    """The error of a household sheet: the one error shape (``fields`` names each row error and
    each flagged row not accepted) with the geocoded and flagged rows beside it. ``code``
    ``geocode_review``: flagged rows are the only reason; sending the sheet again with
    ``accept_flagged=true`` stores their points."""

    code: str
    message: str
    fields: list[dict[str, str]] = []
    geocoded: list[GeocodedRowPublic] = []
    flagged: list[GeocodedRowPublic] = []


class SheetRefusedResponse(BaseModel):
    """What ``POST /import/households`` answers (422) for a sheet it does not store."""

    error: SheetRefusedBody


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
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


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
    created_at: UtcDateTime
    updated_at: UtcDateTime
    published_at: UtcDateTime | None


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
    """A work order (工单) as a caregiver's assignment or a dispatcher's record. ``flags``
    holds the stored flags and ``missing_check_out`` while it applies; ``late``: no check-in
    15 minutes (``DISPATCH_LATE_MINUTES``) after the planned start; ``replaces``: the order
    this one was dispatched again from."""

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
    checked_in_at: UtcDateTime | None = None
    checked_out_at: UtcDateTime | None = None
    late: bool = False
    review_rating: int | None = None
    review_comment: str = ""
    replaces: int | None = None


class RefuseCreate(_In):
    """Why a caregiver refuses an order (拒单原因)."""

    reason: str = Field(min_length=1, max_length=500)


class CheckCreate(_In):
    """A check-in or check-out: position in ``coord_system`` (GCJ-02 from Amap or Tencent,
    BD-09 from Baidu), the phone's time if it gives one (kept beside the server's time, which
    is the record's; without an offset it is local time), and a client-chosen key that makes
    retries safe."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    time: IsoDateTime | None = None
    idempotency_key: str = Field(min_length=1, max_length=200)


class CheckPublic(BaseModel):
    """The answer to a check-in/out; a retry with the same key gets this same answer.
    ``time`` is the server's, ``phone_time`` the phone's; ``distance_m`` from the home after
    converting the position to WGS-84."""

    work_order: int
    kind: Literal["check_in", "check_out"]
    status: str
    time: UtcDateTime
    phone_time: UtcDateTime | None = None
    distance_m: float
    flags: list[str]
    order_flags: list[str]
    review_needed: bool


# --- planner jobs ----------------------------------------------------------------------------


class AddCaregiversIn(_In):
    """``count`` new caregivers at ``station`` copying ``template``'s skills and shifts."""

    station: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=1, le=500)
    template: str = Field(min_length=1, max_length=64)


class MoveStationIn(_In):
    """Move station ``id`` to a WGS-84 position."""

    id: str = Field(min_length=1, max_length=64)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class AddStationIn(MoveStationIn):
    """A new station at a WGS-84 position."""

    name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=400)


class ModificationsIn(_In):
    """What-if changes of the scenario (applied in the order add_station, move_station,
    add_caregivers, remove_caregivers, scale_demand)."""

    add_caregivers: list[AddCaregiversIn] = []
    remove_caregivers: list[str] = []
    scale_demand: float | None = Field(default=None, gt=0, le=10)
    move_station: list[MoveStationIn] = []
    add_station: list[AddStationIn] = []


class PlanJobCreate(_In):
    """A planner job: the ``scenario`` given (format 1) or else the stored master data (each
    week its own, with its one-off orders), with ``modifications``; ``time_limit`` in
    seconds; ``solver`` ours (weekly planner) or greedy; ``weeks`` consecutive ISO weeks from
    ``week_start`` (default: the scenario's; several weeks need the weekly planner: the greedy
    baseline plans one week); ``visiting`` adds the visiting programme's visits due in each
    week (the locality's rules, the visits of the plans published before; ``docs/programmes/``)
    — published, they are kept as requests of their weeks in the master data;
    ``entitlements`` plans no visit beyond a household's monthly entitlement unsaid (the
    locality's prices and schemes: those beyond are unassigned ``over_entitlement``, or kept
    where the family may top up)."""

    name: str = Field(default="", max_length=200)
    scenario: dict[str, Any] | None = None
    modifications: ModificationsIn = ModificationsIn()
    time_limit: float = Field(default=10.0, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    solver: Literal["ours", "greedy"] = "ours"
    weeks: int = Field(default=1, ge=1, le=8)
    week_start: IsoDate | None = None
    visiting: bool = False
    entitlements: bool = False


class PlanDocumentCreate(BaseModel):
    """A finished plan document (format 1, ``docs/SCENARIO.md``) to store as a new version: a
    body with ``routes``. :func:`dispatch.plan_io.parse_plan` validates its content, the one
    reader of the format (its problems answer 422 ``invalid_document``)."""

    model_config = ConfigDict(extra="allow")

    routes: Any


def _plan_body_kind(value: Any) -> str:
    """A body with ``routes`` is a plan document, anything else a planner job."""
    return "document" if isinstance(value, dict) and "routes" in value else "job"


#: The kinds of a ``POST /plans`` body; a validation error's field path leaves them out.
PLAN_BODY_TAGS: tuple[str, ...] = ("document", "job")

#: The body of ``POST /plans``: a plan document to store or a planner job.
PlanCreate = Annotated[
    Annotated[PlanDocumentCreate, Tag("document")] | Annotated[PlanJobCreate, Tag("job")],
    Discriminator(_plan_body_kind),
]


class KpiDifference(BaseModel):
    """One KPI of two plans side by side; ``difference`` is ``b - a`` when both are numbers."""

    name: str
    a: float | None
    b: float | None
    difference: float | None


class PlanComparison(BaseModel):
    """Two plan versions and their KPIs side by side."""

    a: PlanSummary
    b: PlanSummary
    kpis: list[KpiDifference]


# --- batches -----------------------------------------------------------------------------------


class BatchCreate(_In):
    """A batch (方案对比): what-if variants of the ``scenario`` given (format 1) or else of the
    stored master data of the week of ``week_start`` (default the stored scenario's), solved
    in parallel for ``time_limit`` seconds each with ``solver`` and ``seed``. The variants are
    a variants document's fields (``docs/batches.md``): ``variants`` (named sets of the
    modifications of a planner job), a ``grid`` of alternatives that expands into every
    combination, ``baseline`` (the scenario as it is, first; default true) and ``staff_cost``
    (a caregiver's monthly pay, hours and overtime factor). A mistake answers 422 naming its
    field under ``body.``."""

    name: str = Field(default="", max_length=200)
    scenario: dict[str, Any] | None = None
    variants: list[Any] = Field(default_factory=list, max_length=64)
    grid: dict[str, Any] | None = None
    baseline: bool = True
    staff_cost: dict[str, Any] | None = None
    time_limit: float = Field(default=10.0, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    solver: Literal["ours", "greedy"] = "ours"
    week_start: IsoDate | None = None


class BatchVariantPublic(BaseModel):
    """One variant of a batch: its plan row (``plan_id``; compare or publish it as any plan),
    its state, ``progress`` (0–1), message and KPIs (the best so far while it runs)."""

    variant: str
    plan_id: int
    status: str
    progress: float
    message: str
    kpis: dict[str, Any]


class BatchSummary(BaseModel):
    """A batch without its variants. ``status``: draft/running/done/failed/cancelled."""

    id: int
    name: str
    status: str
    scenario_name: str
    week_start: str | None
    parameters: dict[str, Any]
    message: str
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class BatchPublic(BatchSummary):
    """A batch with each variant's state and the comparison table: one line per variant that
    ended (all of them once the batch has), baseline first, columns as in
    ``dispatch.batch.COLUMNS``."""

    variants: list[BatchVariantPublic]
    rows: list[dict[str, Any]]


# --- hotline -----------------------------------------------------------------------------------


class CallerIn(_In):
    """A caller not yet registered: name, address and position (``coord_system`` of lat/lon)."""

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=400)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    phone: str | None = Field(default=None, max_length=40)


class WindowIn(_In):
    """A start window, ``"HH:MM"`` to ``"HH:MM"``."""

    from_: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    to: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class HotlineCreate(_In):
    """A hotline request (12349): a registered ``household`` or a new ``caller``, the service,
    urgency, optional window (default: the catalogue's, or now to now + 2 h when urgent) and
    minutes (default: the catalogue's). ``date`` and ``now`` (``"HH:MM"``) default to the
    local date and time; ``options`` is how many caregivers to propose."""

    household: str | None = Field(default=None, max_length=64)
    caller: CallerIn | None = None
    service: str = Field(min_length=1, max_length=64)
    urgency: Literal["normal", "urgent", "emergency"] = "normal"
    window: WindowIn | None = None
    minutes: int | None = Field(default=None, ge=1, le=600)
    visit_date: IsoDate | None = Field(default=None, alias="date")
    now: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    options: int = Field(default=3, ge=1, le=20)
    notes: str = Field(default="", max_length=1000)

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class MovedVisitPublic(BaseModel):
    """A later visit of the caregiver that would start later (minutes of ``delay``)."""

    work_order: int
    request: str | None
    household: str
    start_before: str
    start_after: str
    delay: int


class PartnerPublic(BaseModel):
    """The second caregiver of a two-person option (双人服务): their own ETA, the added
    travel of their route and their later visits that move; the start is the option's."""

    caregiver: str
    caregiver_name: str
    position: int
    eta: str
    minutes_to_arrive: int
    added_travel: int
    moved: list[MovedVisitPublic]


class HotlineOptionPublic(BaseModel):
    """One caregiver who can take the call: ``eta`` at the home, service ``start``–``end``,
    the route's ``added_travel`` minutes and the later visits that move. A two-person service
    names the ``partner`` who starts it together with them (``null`` otherwise)."""

    option: int
    caregiver: str
    caregiver_name: str
    position: int
    eta: str
    minutes_to_arrive: int
    start: str
    end: str
    added_travel: int
    moved: list[MovedVisitPublic]
    partner: PartnerPublic | None = None


class HotlinePublic(BaseModel):
    """The answer to a hotline request: the work order opened (status ``created``), the
    options best first by the rule ``ranked_by`` names and, for an emergency, whether someone
    is there within 15 minutes."""

    work_order: int
    household: str
    service: str
    urgency: str
    date: date
    now: str
    window: WindowPublic
    minutes: int
    options: list[HotlineOptionPublic]
    within_emergency_minutes: bool | None
    message: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ranked_by(self) -> RankedBy:
        """How the options are ranked: ``arrival`` first (urgent and emergency calls) or
        ``added_travel`` first (normal calls), :func:`dispatch.hotline.ranked_by`."""
        return ranked_by(cast(Urgency, self.urgency))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ranked_by_text(self) -> str:
        """The ranking rule in words (中文 / English)."""
        return RANKED_BY_TEXT[self.ranked_by]


class ConfirmCreate(_In):
    """The dispatcher's choice among the options of a hotline request."""

    caregiver: str = Field(min_length=1, max_length=64)
    option: int = Field(ge=0, le=1000)


class ConfirmPublic(BaseModel):
    """The confirmed order and the new published plan version; for a two-person service
    also the partner's work order."""

    work_order: WorkOrderPublic
    plan_id: int
    plan_version: int
    moved: list[MovedVisitPublic]
    partner_work_order: WorkOrderPublic | None = None


class AbsenceCreate(_In):
    """A caregiver is absent (请假/病假) on ``date`` from ``now`` (``"HH:MM"``; default the
    server clock's local time today, the whole day for a later date; a past date needs it).
    ``allow_moving_accepted`` lets colleagues' accepted orders move or change hands."""

    date: IsoDate
    now: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    allow_moving_accepted: bool = False


class ReassignedPublic(BaseModel):
    """A visit of the absent caregiver and who takes it now."""

    work_order: int
    request: str | None
    household: str
    caregiver: str
    start: str


class NotKeptPublic(BaseModel):
    """A visit of the day that could not be kept, with a reason code and detail."""

    request: str | None
    household: str
    work_order: int | None
    reason: str
    detail: str


class AbsencePublic(BaseModel):
    """What an absence changed: the new plan version, the reassigned visits, what was lost."""

    caregiver: str
    date: date
    now: str
    plan_id: int
    plan_version: int
    reassigned: list[ReassignedPublic]
    not_kept: list[NotKeptPublic]


# --- the dispatcher's queue, evidence, re-dispatch ---------------------------------------------


class WorkOrderPage(BaseModel):
    """One page of the work-order queue: ``total`` orders match, ``items`` from ``offset``."""

    total: int
    limit: int
    offset: int
    items: list[WorkOrderPublic]


class WorkOrderSummary(BaseModel):
    """A day at a glance: orders by status, late and flagged ones, and what is not assigned:
    ``unassigned`` visits of the published plan that could fall on the day, ``waiting``
    orders of the day without a caregiver (hotline calls not yet dispatched)."""

    date: date
    total: int
    by_status: dict[str, int]
    late: int
    flagged: int
    unassigned: int
    waiting: int


class CheckRecordPublic(BaseModel):
    """A stored check-in or check-out as evidence: the server's ``time`` and the phone's,
    the position as sent (``raw_lat``/``raw_lon`` in ``coord_system``) and its flags."""

    kind: str
    time: UtcDateTime
    phone_time: UtcDateTime | None
    coord_system: str
    raw_lat: float | None
    raw_lon: float | None
    distance_m: float
    flags: list[str]


class FlaggedOrderPublic(BaseModel):
    """A work order with flags to review and the checks behind them."""

    work_order: int
    status: str
    caregiver: str | None
    household: str
    household_name: str
    service: str
    start: str | None
    end: str | None
    flags: list[str]
    checks: list[CheckRecordPublic]


class FlagsPublic(BaseModel):
    """The day's work orders with flags to review (outside the geofence, short visit, clock
    skew, missing check-out, back-filled)."""

    date: date
    orders: list[FlaggedOrderPublic]


class ReviewCreate(_In):
    """The follow-up call (回访): the elder's rating 1–5 and a comment."""

    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class RedispatchCreate(_In):
    """Ask for options to dispatch an order again (改派): ``now`` (``"HH:MM"``, default the
    server's local time) and how many options."""

    now: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    options: int = Field(default=3, ge=1, le=20)


class RedispatchPublic(BaseModel):
    """Ranked options to dispatch an order again: its caregiver is left out; ``ranked_by``
    ``arrival`` (soonest first, for a late order or an urgent call) or ``added_travel``."""

    work_order: int
    status: str
    late: bool
    date: date
    now: str
    excluded: list[str]
    ranked_by: str
    window: WindowPublic
    options: list[HotlineOptionPublic]
    message: str


# --- plan integrity ----------------------------------------------------------------------------


class PlanViolationPublic(BaseModel):
    """One rule a plan breaks, from the checker's closed list (``docs/SCENARIO.md``): where
    it happened when known (caregiver, day, request)."""

    rule: str
    message: str
    caregiver: str | None = None
    day: str | None = None
    request: str | None = None


class PlanCheckPublic(BaseModel):
    """A plan document checked against the stored master data, not stored: ``ok`` when it
    breaks no rule, the ``violations`` and the KPIs the checker recomputes."""

    ok: bool
    violations: list[PlanViolationPublic]
    kpis: dict[str, float]


class PlanViolationsBody(BaseModel):
    """The error of an uploaded plan: ``plan_violations`` (it breaks rules, the violations
    listed) or the usual 422 of an invalid body or document (no violations)."""

    code: str
    message: str
    fields: list[dict[str, str]] = []
    violations: list[PlanViolationPublic] = []


class PlanViolationsResponse(BaseModel):
    """What ``POST /plans`` answers (422) for a plan that breaks rules: nothing is stored."""

    error: PlanViolationsBody


class ContactIn(_In):
    """A household's contact data that the scenario format does not carry."""

    phone: str | None = Field(default=None, max_length=40)
    id_number: str | None = Field(default=None, max_length=40)
    notes: str = Field(default="", max_length=2000)


class MasterChangeCreate(_In):
    """A change of master data from ``effective_from`` on (主数据变更): ``data`` is the entity's
    whole format-1 object from that date (a household with its requests), ``null`` when it ends
    then (a caregiver leaves, a household moves away, a station closes). ``contact``: a
    household's phone, ID number and notes, which the format does not carry."""

    kind: Literal["station", "caregiver", "household"]
    id: str = Field(min_length=1, max_length=64)
    effective_from: IsoDate
    data: dict[str, Any] | None
    contact: ContactIn | None = None
    reason: str = Field(default="", max_length=2000)


class MasterChangePublic(BaseModel):
    """A stored change of master data."""

    id: int
    kind: str
    entity: str
    effective_from: date
    data: dict[str, Any] | None
    reason: str
    created_by: str
    created_at: UtcDateTime


class HouseholdRegister(_In):
    """Register a household (登记服务对象) from ``effective_from`` (default today): a caller of
    the hotline becomes a household only this way. ``household`` is a format-1 household
    (requests may be empty); with ``from_order`` (the caller's hotline work order) its name,
    address and position default to the caller's."""

    household: dict[str, Any]
    effective_from: IsoDate | None = None
    from_order: int | None = Field(default=None, ge=1, le=_MAX_ID)
    contact: ContactIn | None = None


class WeekInForce(BaseModel):
    """The plan in force in one ISO week (its Monday)."""

    week_start: date
    plan_id: int
    version: int
