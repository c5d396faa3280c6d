"""A visit in the field as evidence (上门服务凭证): late, skewed, back-filled and unfinished visits.

The server's clock is the record's time; the phone's time is kept beside it. The rules, each
a small function of instants (timezone-aware ``datetime``) and minutes:

- :func:`is_late`: no check-in :data:`LATE_MINUTES` after the planned start (迟到);
- :func:`clock_skew`: the phone's time differs from the server's by more than a limit;
- :func:`back_filled`: a check-in recorded after the visit's planned end, or a check-out
  recorded later than the planned end plus the check-out margin (补录);
- :func:`missing_check_out`: checked in, and the planned end plus the margin has passed
  without a check-out (未签退);
- :func:`outside_geofence` and :func:`short_visit`: where and how long the visit was;
- :func:`off_date`: a check recorded on another local day than the visit's date (a check-in
  then is refused, a check-out flagged :data:`FLAG_OFF_DATE`).

Flags kept on a work order are the ``FLAG_*`` strings; :data:`REVIEW_FLAGS` are those a
dispatcher reviews (a hotline order's urgency and pairing are kept in the same list, and are
not among them).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

__all__ = [
    "FLAG_BACK_FILLED",
    "FLAG_CHECK_IN_OUTSIDE",
    "FLAG_CHECK_OUT_OUTSIDE",
    "FLAG_CLOCK_SKEW",
    "FLAG_MISSING_CHECK_OUT",
    "FLAG_OFF_DATE",
    "FLAG_SHORT_VISIT",
    "LATE_MINUTES",
    "NOT_STARTED_STATES",
    "REVIEW_FLAGS",
    "back_filled",
    "clock_skew",
    "is_late",
    "missing_check_out",
    "off_date",
    "outside_geofence",
    "planned_instant",
    "review_flags",
    "short_visit",
]

FLAG_CHECK_IN_OUTSIDE = "check_in_outside_geofence"
FLAG_CHECK_OUT_OUTSIDE = "check_out_outside_geofence"
FLAG_SHORT_VISIT = "short_visit"
FLAG_CLOCK_SKEW = "clock_skew"
FLAG_BACK_FILLED = "back_filled"
FLAG_MISSING_CHECK_OUT = "missing_check_out"
FLAG_OFF_DATE = "off_date"
#: Flags a dispatcher reviews, in the order they are listed.
REVIEW_FLAGS: tuple[str, ...] = (
    FLAG_CHECK_IN_OUTSIDE,
    FLAG_CHECK_OUT_OUTSIDE,
    FLAG_SHORT_VISIT,
    FLAG_CLOCK_SKEW,
    FLAG_BACK_FILLED,
    FLAG_MISSING_CHECK_OUT,
    FLAG_OFF_DATE,
)
#: A visit without a check-in this many minutes after its planned start is late.
LATE_MINUTES = 15
#: Work-order states of a visit that should start but has not (no check-in yet).
NOT_STARTED_STATES: tuple[str, ...] = ("dispatched", "accepted", "refused")


def planned_instant(visit_date: date, minutes: int, zone: tzinfo) -> datetime:
    """The instant of ``minutes`` from midnight of ``visit_date`` in local ``zone`` (minutes
    past 24:00 fall on the next day)."""
    return datetime.combine(visit_date, time(0), tzinfo=zone) + timedelta(minutes=minutes)


def is_late(
    status: str, planned_start: datetime | None, now: datetime, *, grace: int = LATE_MINUTES
) -> bool:
    """Whether a visit in ``status`` with no check-in is late at ``now``: its planned start
    plus ``grace`` minutes has passed (``None``: not yet planned, never late)."""
    if planned_start is None or status not in NOT_STARTED_STATES:
        return False
    return now > planned_start + timedelta(minutes=grace)


def clock_skew(server: datetime, phone: datetime | None, *, limit: float) -> bool:
    """Whether the phone's time differs from the server's by more than ``limit`` minutes
    (no phone time: no skew)."""
    if phone is None:
        return False
    return abs((phone - server).total_seconds()) > limit * 60.0


def back_filled(kind: str, recorded: datetime, planned_end: datetime, *, margin: int) -> bool:
    """Whether a check (``"check_in"`` or ``"check_out"``) recorded at ``recorded`` (server
    time) was entered after the fact: a check-in after the planned end, a check-out more than
    ``margin`` minutes after it."""
    allowed = 0 if kind == "check_in" else margin
    return recorded > planned_end + timedelta(minutes=allowed)


def missing_check_out(
    status: str, planned_end: datetime | None, now: datetime, *, margin: int
) -> bool:
    """Whether a checked-in visit is past its planned end plus ``margin`` minutes at ``now``
    without a check-out."""
    if planned_end is None or status != "checked_in":
        return False
    return now > planned_end + timedelta(minutes=margin)


def off_date(recorded: datetime, visit_date: date, zone: tzinfo) -> bool:
    """Whether ``recorded`` (server time, timezone-aware) falls on another day than
    ``visit_date`` in the visits' local ``zone``."""
    return recorded.astimezone(zone).date() != visit_date


def outside_geofence(distance_m: float, *, radius_m: float) -> bool:
    """Whether a position ``distance_m`` metres from the home is outside the geofence."""
    return distance_m > radius_m


def short_visit(minutes: float, planned_minutes: int, *, min_share: float) -> bool:
    """Whether a visit of ``minutes`` is shorter than ``min_share`` of its planned minutes."""
    return minutes < min_share * planned_minutes


def review_flags(flags: list[str] | tuple[str, ...]) -> list[str]:
    """The flags among ``flags`` that a dispatcher reviews, in :data:`REVIEW_FLAGS` order."""
    return [f for f in REVIEW_FLAGS if f in flags]
