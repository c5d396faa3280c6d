"""Monthly settlement (结算): what each delivered visit earns against the subsidy.

Each line is one work order of the month (:class:`DeliveredVisit`). Its amounts, in integer
fen (分), never floats:

- ``planned``: the visit's price for its planned minutes
  (:func:`dispatch.programmes.entitlements.visit_fen`);
- when the visit has an exception it is **withheld in full** until a reviewer clears it, the
  first that applies named: ``not_delivered`` (no check-in), ``missing_check_out`` (no
  check-out, or the flag), ``outside_geofence`` (either check outside it), ``short_visit``;
- otherwise a per-visit price is payable in full, and a per-hour price pro rata of the
  delivered minutes capped at the planned ones (the rest withheld, exception ``None``);
- the payable amount is then set against the household's monthly entitlement, lines in date
  order: what fits is ``subsidy``, the part beyond it is the ``family``'s when its scheme allows
  a top-up, else withheld as ``over_entitlement``. A minutes scheme counts the billed minutes
  (delivered minutes capped at planned; planned minutes for a per-visit price). A household
  without a scheme pays everything itself (``family``).

So every line has ``planned = subsidy + family + withheld``, and every total is the sum of its
lines. :func:`settlement_workbook` writes the month as an Excel workbook.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from dispatch.evidence import (
    FLAG_CHECK_IN_OUTSIDE,
    FLAG_CHECK_OUT_OUTSIDE,
    FLAG_MISSING_CHECK_OUT,
    FLAG_SHORT_VISIT,
)
from dispatch.model import Household
from dispatch.programmes.entitlements import Tables, month_of, scheme_of, visit_fen

__all__ = [
    "EXCEPTIONS",
    "DeliveredVisit",
    "SettledLine",
    "Settlement",
    "Totals",
    "escape_cell",
    "settle",
    "settlement_workbook",
]

#: Why a line's amount is withheld, in the order they are looked for, with zh/en labels.
EXCEPTIONS: Mapping[str, tuple[str, str]] = {
    "not_delivered": ("未上门", "not delivered (no check-in)"),
    "missing_check_out": ("未签退", "missing check-out"),
    "outside_geofence": ("签到/签退位置超出范围", "check-in or check-out outside the geofence"),
    "short_visit": ("服务时长不足", "short visit"),
    "over_entitlement": ("超出月度补贴额度", "beyond the monthly entitlement, no top-up"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DeliveredVisit:
    """One work order of the month as evidence: planned minutes, the check-in and check-out
    instants (``None`` when missing) and the evidence flags (:mod:`dispatch.evidence`)."""

    order: int
    household: str
    station: str
    caregiver: str
    service: str
    date: dt.date
    planned_minutes: int
    checked_in: dt.datetime | None = None
    checked_out: dt.datetime | None = None
    flags: tuple[str, ...] = ()

    @property
    def delivered_minutes(self) -> int:
        """Whole minutes between check-in and check-out (0 when either is missing)."""
        if self.checked_in is None or self.checked_out is None:
            return 0
        return max(0, int((self.checked_out - self.checked_in).total_seconds()) // 60)


@dataclass(frozen=True)
class SettledLine:
    """A settled visit: its amounts in fen (``planned = subsidy + family + withheld``)."""

    visit: DeliveredVisit
    delivered_minutes: int
    planned: int
    subsidy: int
    family: int
    withheld: int
    exception: str | None

    @property
    def payable(self) -> int:
        """What is paid for the visit: the subsidy and the family's share."""
        return self.subsidy + self.family


@dataclass(frozen=True)
class Totals:
    """Sums of lines (of a household, a station or the month), in fen."""

    key: str
    lines: int
    planned: int
    subsidy: int
    family: int
    withheld: int

    @property
    def payable(self) -> int:
        """The subsidy and the family's share."""
        return self.subsidy + self.family


@dataclass(frozen=True)
class Settlement:
    """A month's settlement: its lines, totals per household and per station, and in all;
    ``schemes`` names each household's funding scheme ("" for none)."""

    month: str
    lines: tuple[SettledLine, ...]
    households: tuple[Totals, ...]
    stations: tuple[Totals, ...]
    total: Totals
    schemes: Mapping[str, str]


def _exception(visit: DeliveredVisit) -> str | None:
    flags = set(visit.flags)
    if visit.checked_in is None:
        return "not_delivered"
    if visit.checked_out is None or FLAG_MISSING_CHECK_OUT in flags:
        return "missing_check_out"
    if flags & {FLAG_CHECK_IN_OUTSIDE, FLAG_CHECK_OUT_OUTSIDE}:
        return "outside_geofence"
    if FLAG_SHORT_VISIT in flags:
        return "short_visit"
    return None


def _sum(key: str, lines: Iterable[SettledLine]) -> Totals:
    items = list(lines)
    return Totals(
        key,
        len(items),
        sum(x.planned for x in items),
        sum(x.subsidy for x in items),
        sum(x.family for x in items),
        sum(x.withheld for x in items),
    )


def settle(
    lines: Sequence[DeliveredVisit],
    tables: Tables,
    month: str,
    *,
    households: Sequence[Household] = (),
    used_before: Mapping[str, int] | None = None,
) -> Settlement:
    """Settle ``month`` (``"YYYY-MM"``) from its visits (see the module's rules).

    ``households`` give the assessment levels and tags that pick each household's scheme (a
    household not among them has none); ``used_before`` what each household's entitlement has
    already paid this month (fen, or minutes for a minutes scheme; e.g. a settlement done in
    parts). Raises ``ValueError`` for a visit of another month or a service without a price.
    """
    by_id = {h.id: h for h in households}
    used: dict[str, int] = defaultdict(int, used_before or {})
    schemes: dict[str, str] = {}
    settled: list[SettledLine] = []
    for visit in sorted(lines, key=lambda v: (v.date, v.order)):
        if month_of(visit.date) != month:
            raise ValueError(f"work order {visit.order} is dated {visit.date}, not in {month}")
        price = tables.price(visit.service)
        planned = visit_fen(price, visit.planned_minutes)
        delivered = visit.delivered_minutes
        exception = _exception(visit)
        if exception is not None:
            billed, payable = 0, 0
        elif price.per == "visit":
            billed, payable = visit.planned_minutes, planned
        else:
            billed = min(delivered, visit.planned_minutes)
            payable = visit_fen(price, billed)
        household = by_id.get(visit.household)
        scheme = None if household is None else scheme_of(household, tables)
        schemes[visit.household] = "" if scheme is None else scheme.code
        subsidy, family, beyond = 0, payable, 0
        if scheme is not None and household is not None and payable > 0:
            by_money = scheme.fen_per_month is not None
            cost = payable if by_money else billed
            left = max(0, scheme.budget(household.assessment_level) - used[visit.household])
            covered = min(cost, left)
            used[visit.household] += covered
            subsidy = covered if by_money else payable * covered // cost
            family = payable - subsidy if scheme.top_up else 0
            beyond = 0 if scheme.top_up else payable - subsidy
            if beyond and exception is None:
                exception = "over_entitlement"
        settled.append(
            SettledLine(
                visit,
                delivered,
                planned,
                subsidy,
                family,
                planned - payable + beyond,
                exception,
            )
        )
    per_household: dict[str, list[SettledLine]] = defaultdict(list)
    per_station: dict[str, list[SettledLine]] = defaultdict(list)
    for line in settled:
        per_household[line.visit.household].append(line)
        per_station[line.visit.station].append(line)
    return Settlement(
        month,
        tuple(settled),
        tuple(_sum(k, v) for k, v in sorted(per_household.items())),
        tuple(_sum(k, v) for k, v in sorted(per_station.items())),
        _sum(month, settled),
        schemes,
    )


# --------------------------------------------------------------------------------------------
# The workbook


def escape_cell(value: Any) -> Any:
    """Text a spreadsheet program would run as a formula (starting ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return) behind a leading apostrophe, shown as text; other values as
    they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _money(totals: Totals) -> dict[str, Any]:
    return {
        "单数 lines": totals.lines,
        "计划金额 planned (yuan)": _yuan(totals.planned),
        "补贴支付 subsidy (yuan)": _yuan(totals.subsidy),
        "家庭自付 family (yuan)": _yuan(totals.family),
        "应付合计 payable (yuan)": _yuan(totals.payable),
        "扣减 withheld (yuan)": _yuan(totals.withheld),
    }


def _line_row(line: SettledLine) -> dict[str, Any]:
    v = line.visit
    zh, en = EXCEPTIONS.get(line.exception or "", ("", ""))
    return {
        "工单 order": v.order,
        "日期 date": v.date.isoformat(),
        "家庭 household": v.household,
        "站点 station": v.station,
        "护理员 caregiver": v.caregiver,
        "服务 service": v.service,
        "计划分钟 planned minutes": v.planned_minutes,
        "实际分钟 delivered minutes": line.delivered_minutes,
        "计划金额 planned (yuan)": _yuan(line.planned),
        "补贴支付 subsidy (yuan)": _yuan(line.subsidy),
        "家庭自付 family (yuan)": _yuan(line.family),
        "应付合计 payable (yuan)": _yuan(line.payable),
        "扣减 withheld (yuan)": _yuan(line.withheld),
        "扣减原因 exception": f"{zh} / {en}" if line.exception else "",
        "标记 flags": ", ".join(v.flags),
    }


def settlement_workbook(settlement: Settlement) -> bytes:
    """The settlement as an .xlsx workbook: sheets 明细 (lines), 按家庭 (per household),
    按站点 (per station) and 汇总 (the month), headers in Chinese and English, amounts in yuan;
    every text cell that would run as a formula is escaped (:func:`escape_cell`)."""
    sheets = {
        "明细": [_line_row(line) for line in settlement.lines],
        "按家庭": [
            {
                "家庭 household": t.key,
                "补贴项目 scheme": settlement.schemes.get(t.key, ""),
                **_money(t),
            }
            for t in settlement.households
        ],
        "按站点": [{"站点 station": t.key, **_money(t)} for t in settlement.stations],
        "汇总": [{"月份 month": settlement.month, **_money(settlement.total)}],
    }
    headers = {
        "明细": list(_line_row(_EMPTY_LINE)),
        "按家庭": ["家庭 household", "补贴项目 scheme", *_money(settlement.total)],
        "按站点": ["站点 station", *_money(settlement.total)],
        "汇总": ["月份 month", *_money(settlement.total)],
    }
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, rows in sheets.items():
            frame = pd.DataFrame(rows, columns=headers[name])
            frame = frame.map(escape_cell)
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


_EMPTY_LINE = SettledLine(
    DeliveredVisit(0, "", "", "", "", dt.date(2000, 1, 1), 0), 0, 0, 0, 0, 0, None
)
