"""The closed list of reasons a required visit is left unassigned (未排原因).

Every entry of a plan's ``unassigned`` carries one of these codes and a human ``detail``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["REASON_TEXT", "Reason"]


class Reason(StrEnum):
    """Why a visit was not planned. The order is the order of diagnosis: first that applies
    (``over_entitlement`` is no diagnosis: the budget check after planning gives it)."""

    #: nobody has the skill (and works on an allowed day at all)
    NO_QUALIFIED_CAREGIVER = "no_qualified_caregiver"
    #: qualified caregivers exist, but none of the household's preferred gender
    GENDER_PREFERENCE = "gender_preference"
    #: every qualified caregiver of the right gender is on the household's forbidden list
    FORBIDDEN_CAREGIVERS = "forbidden_caregivers"
    #: no qualified caregiver works on any day the request allows
    NO_SHIFT_ON_ALLOWED_DAYS = "no_shift_on_allowed_days"
    #: a two-person visit: fewer than two different qualified caregivers work that day
    NO_STAFF_PAIR = "no_staff_pair"
    #: no qualified caregiver can reach the household, serve and return inside a window and shift
    NO_TIME_WINDOW_FITS = "no_time_window_fits"
    #: a linked visit (``after``): its first visit is not planned that day, or the delay fails
    LINKED_VISIT = "linked_visit"
    #: the visits per week cannot be spread over the allowed days with the required spacing
    FREQUENCY_SPACING = "frequency_spacing"
    #: feasible alone, but the caregivers' time, visit caps or load were used by higher priorities
    CAPACITY = "capacity"
    #: the solver stopped (time or iteration limit) before it could place the visit
    SOLVER_LIMIT = "solver_limit"
    #: planned, then taken out: it would cost beyond the household's monthly entitlement and
    #: the family may not top up (:mod:`dispatch.programmes.entitlements`)
    OVER_ENTITLEMENT = "over_entitlement"


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.NO_QUALIFIED_CAREGIVER: ("无具备该技能的护理员", "no caregiver has the required skill"),
    Reason.GENDER_PREFERENCE: (
        "无符合性别要求的护理员",
        "no qualified caregiver of the preferred gender",
    ),
    Reason.FORBIDDEN_CAREGIVERS: (
        "可选护理员均被服务对象拒绝",
        "every qualified caregiver is forbidden",
    ),
    Reason.NO_SHIFT_ON_ALLOWED_DAYS: (
        "允许日期内无护理员排班",
        "no qualified caregiver works on the allowed days",
    ),
    Reason.NO_STAFF_PAIR: (
        "无法安排两名护理员同时上门",
        "fewer than two qualified caregivers work that day",
    ),
    Reason.NO_TIME_WINDOW_FITS: (
        "时间窗与班次无法匹配",
        "no time window fits a qualified caregiver's shift",
    ),
    Reason.LINKED_VISIT: (
        "关联服务无法衔接",
        "the visit it follows is not planned that day, or the delay does not fit",
    ),
    Reason.FREQUENCY_SPACING: (
        "频次与间隔要求无法满足",
        "visits per week and spacing cannot be met",
    ),
    Reason.CAPACITY: ("护理员工时或容量不足", "caregivers' time, visit caps or load are used up"),
    Reason.SOLVER_LIMIT: ("求解时间不足", "the solver stopped before placing the visit"),
    Reason.OVER_ENTITLEMENT: (
        "超出月度补贴额度",
        "the visit would cost beyond the household's monthly entitlement",
    ),
}
