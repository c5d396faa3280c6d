"""Import of households and caregivers from Excel (.xlsx) or CSV sheets.

One header row, then one row per item. Row numbers in messages are the sheet's own (the header
is row 1), in Chinese and English: ``第3行 / row 3: lat: not a number ('abc')``. Rows are
merged into the stored scenario by id (a sheet's household or caregiver replaces the stored one
with the same id, others stay) and the whole result is validated like a scenario document;
when any row has an error nothing is stored.

Households sheet, one row per request (household columns repeat, or stay empty on the
following rows of the same ``id``)::

    id, name, address, lat, lon, coord_system, phone, id_number, notes, tags,
    assessment_level, gender_preference, preferred_caregivers, forbidden_caregivers,
    request_id, service, minutes, visits_per_week, min_gap_days, days, windows, staff,
    skill, priority, load

Caregivers sheet::

    id, name, station, gender, mode, skills, mon, tue, wed, thu, fri, sat, sun,
    break_window, break_minutes, max_minutes_per_week, max_visits_per_day, capacity

Lists (``tags``, ``skills``, ``days``, caregivers) are separated by ``,`` ``;`` ``、`` or
spaces; a shift or break window is ``08:00-17:00``; ``windows`` is ``08:30-11:00;14:00-16:00``.
CSV may be UTF-8 (with or without BOM) or GB18030 (what Chinese Excel writes).

Addresses (地址解析): a household row with an ``address`` and empty ``lat`` and ``lon`` is
geocoded by the configured geocoder (:func:`dispatch.geocode.geocoder_from_config`, cached) and
stored in WGS-84; the ``lat``/``lon`` columns may then be left out. An address that is not
found, or a service failure, is a row error. An answer that :func:`dispatch.geocode.flags_of`
flags (low confidence, only a district or road, several places) is listed for a person to
check, and the sheet is stored only when the import accepts flagged points. Every answer after
the rows are read (:class:`ImportReport` or :class:`SheetRefused`) lists the geocoded and the
flagged rows. See docs/geocoding.md.

Hostile files: an .xlsx (a zip archive) whose members would expand beyond
:data:`MAX_EXPANDED_BYTES` is refused with 413 from its directory, before anything is
decompressed. A cell that a spreadsheet program would run as a formula when the data is opened
again (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; ``+``/``-``
only when the rest is not a plain number or phone number such as ``-12.5`` or ``+86 138…``) is
refused with 422 naming its row and column: the service stores what the sheet says or nothing,
it does not rewrite a cell behind the user's back.
"""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from api.services.errors import FieldProblem, InputError, TooLarge
from api.services.scenario import Contact, current_document, empty_document, store_scenario
from dispatch.geocode import (
    GEOCODER_HOWTO,
    Geocoder,
    GeocodingError,
    GeoPoint,
    Lookup,
    geocoder_from_config,
    locate_all,
)
from dispatch.model import DAYS
from dispatch.programmes.entitlements import Tables
from dispatch.scenario_io import DocumentError

__all__ = [
    "CAREGIVER_COLUMNS",
    "HOUSEHOLD_COLUMNS",
    "MAX_EXPANDED_BYTES",
    "GeocodedRow",
    "GeocoderUnavailable",
    "ImportReport",
    "SheetRefused",
    "UnusableGeocoder",
    "configured_geocoder",
    "import_caregivers",
    "import_households",
    "is_formula",
    "read_sheet",
]

HOUSEHOLD_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "address",
    "lat",
    "lon",
    "coord_system",
    "phone",
    "id_number",
    "notes",
    "tags",
    "assessment_level",
    "gender_preference",
    "preferred_caregivers",
    "forbidden_caregivers",
    "request_id",
    "service",
    "minutes",
    "visits_per_week",
    "min_gap_days",
    "days",
    "windows",
    "staff",
    "skill",
    "priority",
    "load",
)
CAREGIVER_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "station",
    "gender",
    "mode",
    "skills",
    *DAYS,
    "break_window",
    "break_minutes",
    "max_minutes_per_week",
    "max_visits_per_day",
    "capacity",
)
_HOUSEHOLD_REQUIRED = ("id", "lat", "lon")
# With an address column, rows may leave lat/lon to the geocoder.
_HOUSEHOLD_REQUIRED_WITH_ADDRESS = ("id",)
_CAREGIVER_REQUIRED = ("id", "station")
# Request fields of the document -> sheet column (only ``id`` differs).
_REQUEST_COLUMN = {"id": "request_id"}
_SEPARATORS = re.compile(r"[,;，；、\s]+")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
#: Largest total size the members of an .xlsx may expand to, in bytes (413 beyond).
MAX_EXPANDED_BYTES = 64 * 1024 * 1024
# What spreadsheet programs run as a formula (OWASP "CSV injection"), and the harmless
# exceptions: a signed number or a phone number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-][\d\s().-]*\d[\d\s().-]*$")


@dataclass(frozen=True)
class GeocodedRow:
    """A sheet row whose household's point came from the geocoder (``lookup.point``, WGS-84)."""

    row: int
    household: str
    lookup: Lookup

    @property
    def message(self) -> str:
        """``第3行 / row 3: address: '…' → lat, lon (WGS-84; confidence …)``, with the reasons
        to check it when it is flagged."""
        return f"{_row_label(self.row)}: address: {self.lookup.explain()}"


@dataclass(frozen=True)
class ImportReport:
    """What a sheet import stored: ids created and replaced, data rows read; the rows whose
    points were geocoded without doubt and the flagged ones that were accepted."""

    rows: int
    created: tuple[str, ...]
    updated: tuple[str, ...]
    geocoded: tuple[GeocodedRow, ...] = ()
    flagged: tuple[GeocodedRow, ...] = ()


class SheetRefused(InputError):
    """A sheet that was read and geocoded but not stored (HTTP 422): ``fields`` names the row
    errors and the flagged rows not accepted; ``geocoded`` and ``flagged`` list the rows the
    geocoder answered. ``code`` is ``geocode_review`` when flagged rows are the only reason."""

    def __init__(
        self,
        message: str,
        fields: Iterable[FieldProblem],
        *,
        geocoded: Iterable[GeocodedRow] = (),
        flagged: Iterable[GeocodedRow] = (),
        review_only: bool = False,
    ) -> None:
        super().__init__(message, tuple(fields))
        self.geocoded = tuple(geocoded)
        self.flagged = tuple(flagged)
        if review_only:
            self.code = "geocode_review"


class GeocoderUnavailable(RuntimeError):
    """The configured geocoder cannot be built, e.g. its answers file is missing or wrong; the
    message (Chinese / English) says why."""


class UnusableGeocoder:
    """Stands in for a configured geocoder that cannot be built: every lookup fails with
    ``reason``, so the rows that need it are errors saying why, and sheets that give their own
    points still import."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def geocode(self, address: str) -> GeoPoint | None:
        """Raises :class:`dispatch.geocode.GeocodingError` with the reason."""
        raise GeocodingError(self.reason)


def configured_geocoder(name: str | None, key: str | None, cache_path: str) -> Geocoder | None:
    """The geocoder ``name`` (``DISPATCH_GEOCODER``) with its persistent cache, ``None`` when
    none is configured. Raises :class:`GeocoderUnavailable` saying why it cannot be built."""
    if name is None:
        return None
    try:
        return geocoder_from_config(name, key, cache_path)
    except (OSError, ValueError, sqlite3.Error) as exc:
        raise GeocoderUnavailable(
            f"地址解析服务无法使用 / the geocoder DISPATCH_GEOCODER={name} cannot be used: {exc}"
        ) from None


def _row_label(row: int) -> str:
    return f"第{row}行 / row {row}"


class _Rows:
    """Collects row problems while cells are converted."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def error(self, row: int, column: str, message: str) -> None:
        self.problems.append(
            FieldProblem(f"file.rows[{row}].{column}", f"{_row_label(row)}: {column}: {message}")
        )

    def number(self, row: int, column: str, text: str, *, integer: bool) -> Any:
        try:
            value = float(text)
        except ValueError:
            self.error(row, column, f"not a number ({text!r}) / 不是数字")
            return None
        if integer:
            if not value.is_integer():
                self.error(row, column, f"not a whole number ({text!r}) / 不是整数")
                return None
            return int(value)
        return value

    def interval(self, row: int, column: str, text: str) -> list[str] | None:
        parts = [p.strip() for p in re.split(r"[-–~～至]", text)]
        times = [_time_text(p) for p in parts]
        if len(parts) != 2 or None in times:
            self.error(row, column, f"expected HH:MM-HH:MM, got {text!r} / 应为 时:分-时:分")
            return None
        return [str(t) for t in times]


def _time_text(text: str) -> str | None:
    match = _TIME.match(text.strip())
    return None if match is None else f"{int(match.group(1)):02d}:{match.group(2)}"


def _split(text: str) -> list[str]:
    return [p for p in _SEPARATORS.split(text) if p]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN: an empty cell
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none") else text


def read_sheet(content: bytes, filename: str = "") -> list[dict[str, str]]:
    """The data rows of an .xlsx/.xls or CSV file as text cells keyed by lower-case header.

    Raises :class:`InputError` naming ``file`` when the file cannot be read.
    """
    if not content:
        raise InputError("文件为空 / the file is empty", [FieldProblem("file", "empty file")])
    is_excel = content[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xls"))
    if content[:4] == b"PK\x03\x04":
        _check_expansion(content)
    try:
        if is_excel:
            frame = pd.read_excel(io.BytesIO(content), dtype=object)
        else:
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = content.decode("gb18030")
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas/openpyxl raise many kinds for a broken file
        raise InputError(
            "无法读取表格 / the sheet cannot be read",
            [FieldProblem("file", f"{type(exc).__name__}: {exc}"[:300])],
        ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({str(k): _cell(v) for k, v in record.items()})
    _refuse_formulas(rows)
    return rows


def _check_expansion(content: bytes) -> None:
    """Raise :class:`TooLarge` when the zip archive's members would expand beyond
    :data:`MAX_EXPANDED_BYTES` (read from its directory; nothing is decompressed). The sizes
    the directory declares bound what is read later: :mod:`zipfile` stops at them."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise InputError(
            "无法读取表格 / the sheet cannot be read",
            [FieldProblem("file", f"not a valid .xlsx (zip) file: {exc}"[:300])],
        ) from None
    if expanded > MAX_EXPANDED_BYTES:
        raise TooLarge(
            f"表格解压后过大 / the sheet expands to {expanded} bytes, "
            f"more than {MAX_EXPANDED_BYTES}",
            path="file",
        )


def is_formula(text: str) -> bool:
    """True for cell text that a spreadsheet program would run as a formula."""
    # A lone sign is a common placeholder for "none" and runs nothing.
    return len(text) > 1 and text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text)


def _refuse_formulas(rows: list[dict[str, str]]) -> None:
    """Raise :class:`InputError` naming each cell (row and column) that holds formula text."""
    problems = [
        FieldProblem(
            f"file.rows[{index + 2}].{column}",
            f"{_row_label(index + 2)}: {column}: starts like a spreadsheet formula "
            f"({text[:20]!r}) / 以公式字符开头，请去掉开头的 = + - @",
        )
        for index, cells in enumerate(rows)
        for column, text in cells.items()
        if is_formula(text)
    ]
    if problems:
        raise _fail(problems)


def _check_columns(
    rows: list[dict[str, str]], known: Iterable[str], required: Iterable[str]
) -> None:
    columns = set(rows[0]) if rows else set()
    problems = [
        FieldProblem(f"file.columns.{c}", f"缺少列 / missing column {c}")
        for c in required
        if c not in columns
    ]
    problems += [
        FieldProblem(f"file.columns.{c}", f"未知列 / unknown column {c}")
        for c in sorted(columns - set(known))
    ]
    if not rows:
        problems.append(FieldProblem("file", "没有数据行 / no data rows"))
    if problems:
        raise InputError(f"表格列不正确 / the sheet's columns are wrong: {len(problems)}", problems)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        target[key] = value


@dataclass
class _HouseholdSheet:
    """Household documents, contacts, first row per household, row per (household, request),
    and the rows (row, household, address) whose point the geocoder is to find."""

    households: list[dict[str, Any]]
    contacts: dict[str, Contact]
    first_row: dict[str, int]
    request_row: dict[tuple[str, int], int]
    unlocated: list[tuple[int, str, str]]


def _household_point(row: int, cells: dict[str, str], doc: dict[str, Any], check: _Rows) -> bool:
    """Puts the row's ``lat``/``lon`` into ``doc``; ``False`` when both are empty and the row
    has an address for the geocoder instead."""
    if not cells.get("lat") and not cells.get("lon") and cells.get("address"):
        return False
    for column in ("lat", "lon"):
        if not cells.get(column):
            check.error(row, column, "required (or only an address) / 必填（或只填地址）")
        else:
            _put(doc, column, check.number(row, column, cells[column], integer=False))
    return True


def _household_rows(rows: list[dict[str, str]], check: _Rows) -> _HouseholdSheet:
    """The households of the sheet's rows (problems go to ``check``)."""
    households: dict[str, dict[str, Any]] = {}
    contacts: dict[str, Contact] = {}
    first_row: dict[str, int] = {}
    request_row: dict[tuple[str, int], int] = {}
    unlocated: list[tuple[int, str, str]] = []
    for index, cells in enumerate(rows):
        row = index + 2
        hid = cells.get("id", "")
        if not hid:
            check.error(row, "id", "required / 必填")
            continue
        if hid not in households:
            doc: dict[str, Any] = {"id": hid}
            if not _household_point(row, cells, doc, check):
                unlocated.append((row, hid, cells["address"]))
            for column in ("name", "address", "coord_system", "gender_preference"):
                _put(doc, column, cells.get(column, ""))
            if cells.get("assessment_level"):
                _put(
                    doc,
                    "assessment_level",
                    check.number(row, "assessment_level", cells["assessment_level"], integer=True),
                )
            for column in ("tags", "preferred_caregivers", "forbidden_caregivers"):
                if cells.get(column):
                    doc[column] = _split(cells[column])
            doc["requests"] = []
            households[hid] = doc
            first_row[hid] = row
            for column in ("phone", "id_number"):
                if len(cells.get(column, "")) > 40:
                    check.error(row, column, "longer than 40 characters / 超过40个字符")
            contacts[hid] = Contact(
                phone=cells.get("phone") or None,
                id_number=cells.get("id_number") or None,
                notes=cells.get("notes", ""),
            )
        if not cells.get("request_id"):
            continue
        request: dict[str, Any] = {"id": cells["request_id"]}
        if not cells.get("service"):
            check.error(row, "service", "required with request_id / 有 request_id 时必填")
        _put(request, "service", cells.get("service", ""))
        _put(request, "skill", cells.get("skill", ""))
        for column in ("minutes", "visits_per_week", "min_gap_days", "staff", "priority", "load"):
            if cells.get(column):
                _put(request, column, check.number(row, column, cells[column], integer=True))
        if cells.get("days"):
            request["days"] = _split(cells["days"].lower())
        if cells.get("windows"):
            windows = [
                check.interval(row, "windows", w) for w in re.split(r"[;；]", cells["windows"])
            ]
            if None not in windows:
                request["windows"] = windows
        request_row[(hid, len(households[hid]["requests"]))] = row
        households[hid]["requests"].append(request)
    return _HouseholdSheet(list(households.values()), contacts, first_row, request_row, unlocated)


def _no_geocoder(rows: list[int]) -> FieldProblem:
    """The one error of rows that need a geocoder when none is configured."""
    more = "…" if len(rows) > 10 else ""
    zh, en = "、".join(map(str, rows[:10])), ", ".join(map(str, rows[:10]))
    return FieldProblem(
        "geocoder",
        f"第{zh}{more}行 / rows {en}{more}: 只有地址没有坐标，且未配置地址解析服务 / an address "
        f"but no lat/lon, and no geocoder is configured: set {GEOCODER_HOWTO}, or enter lat/lon",
    )


def _geocode_rows(
    unlocated: list[tuple[int, str, str]], geocoder: Geocoder | None, check: _Rows
) -> list[GeocodedRow]:
    """The rows whose address the geocoder found; the others become row errors in ``check``
    (one error for them all when no geocoder is configured)."""
    if not unlocated:
        return []
    if geocoder is None:
        check.problems.append(_no_geocoder([row for row, _, _ in unlocated]))
        return []
    lookups = locate_all(geocoder, [address for _, _, address in unlocated])
    found = []
    for (row, hid, _), lookup in zip(unlocated, lookups, strict=True):
        if lookup.point is None:
            check.error(row, "address", f"{lookup.explain()}; 请填写 lat/lon / enter lat/lon")
        else:
            found.append(GeocodedRow(row, hid, lookup))
    return found


def _place(households: list[dict[str, Any]], rows: list[GeocodedRow]) -> None:
    """Gives each geocoded row's household its WGS-84 point."""
    by_id = {doc["id"]: doc for doc in households}
    for found in rows:
        point = found.lookup.point
        assert point is not None
        by_id[found.household].update(lat=point.lat, lon=point.lon, coord_system="wgs84")


def _refusal(
    errors: list[FieldProblem], found: list[GeocodedRow], *, accept_flagged: bool
) -> SheetRefused:
    """Nothing stored: the row errors, and the flagged rows unless they are accepted."""
    geocoded = [f for f in found if not f.lookup.flagged]
    flagged = [f for f in found if f.lookup.flagged]
    review = (
        []
        if accept_flagged
        else [FieldProblem(f"file.rows[{f.row}].address", f.message) for f in flagged]
    )
    if errors:
        message = _fail(errors).message
        if review:
            message += f" ({len(review)} 行地址待确认 / {len(review)} flagged address(es))"
    else:
        message = (
            f"表格有 {len(review)} 行地址解析结果需人工确认，未导入任何数据 / {len(review)} "
            "geocoded address(es) need a person's check; nothing was imported: correct lat/lon "
            "or the address, or send the sheet again accepting them (accept_flagged=true)"
        )
    return SheetRefused(
        message,
        [*errors, *review],
        geocoded=geocoded,
        flagged=flagged,
        review_only=not errors,
    )


def _caregiver_rows(
    rows: list[dict[str, str]], check: _Rows
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    caregivers: list[dict[str, Any]] = []
    row_of: dict[str, int] = {}
    for index, cells in enumerate(rows):
        row = index + 2
        cid = cells.get("id", "")
        if not cid:
            check.error(row, "id", "required / 必填")
            continue
        if cid in row_of:
            check.error(row, "id", f"duplicate of row {row_of[cid]} / 与第{row_of[cid]}行重复")
            continue
        doc: dict[str, Any] = {"id": cid}
        if not cells.get("station"):
            check.error(row, "station", "required / 必填")
        for column in ("name", "station", "gender", "mode"):
            _put(doc, column, cells.get(column, ""))
        if cells.get("skills"):
            doc["skills"] = _split(cells["skills"])
        shifts = {}
        for day in DAYS:
            if cells.get(day):
                shifts[day] = check.interval(row, day, cells[day])
        doc["shifts"] = shifts
        if cells.get("break_window") or cells.get("break_minutes"):
            window = check.interval(row, "break_window", cells.get("break_window", ""))
            minutes = check.number(
                row, "break_minutes", cells.get("break_minutes", ""), integer=True
            )
            doc["break"] = {"window": window, "minutes": minutes}
        for column in ("max_minutes_per_week", "max_visits_per_day", "capacity"):
            if cells.get(column):
                _put(doc, column, check.number(row, column, cells[column], integer=True))
        row_of[cid] = row
        caregivers.append(doc)
    return caregivers, row_of


_INDEXED = re.compile(r"^(households|caregivers)\[(\d+)\](?:\.(.*))?$")
_REQUEST = re.compile(r"^requests\[(\d+)\](?:\.(.*))?$")


def _merge(
    stored: list[dict[str, Any]], incoming: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str], list[str], dict[int, str]]:
    """``stored`` with ``incoming`` replacing by id or appended; index → incoming id."""
    by_id = {item["id"]: i for i, item in enumerate(stored)}
    merged = list(stored)
    created, updated = [], []
    index_of: dict[int, str] = {}
    for item in incoming:
        if item["id"] in by_id:
            merged[by_id[item["id"]]] = item
            updated.append(item["id"])
            index_of[by_id[item["id"]]] = item["id"]
        else:
            by_id[item["id"]] = len(merged)
            index_of[len(merged)] = item["id"]
            merged.append(item)
            created.append(item["id"])
    return merged, created, updated, index_of


def _row_problems(
    error: DocumentError,
    section: str,
    index_of: Mapping[int, str],
    row_for: Callable[[str, str], tuple[int, str]],
) -> list[FieldProblem]:
    problems = []
    for issue in error.issues:
        match = _INDEXED.match(issue.path)
        if match and match.group(1) == section and int(match.group(2)) in index_of:
            row, column = row_for(index_of[int(match.group(2))], match.group(3) or "")
            problems.append(
                FieldProblem(
                    f"file.rows[{row}].{column}", f"{_row_label(row)}: {column}: {issue.message}"
                )
            )
        else:
            # A problem outside the sheet's rows (e.g. stored data the sheet now contradicts).
            problems.append(FieldProblem(f"scenario.{issue.path}", issue.message))
    return problems


def _fail(problems: list[FieldProblem]) -> InputError:
    return InputError(
        f"表格有 {len(problems)} 处错误，未导入任何数据 / "
        f"the sheet has {len(problems)} error(s); nothing was imported",
        problems,
    )


def import_households(
    session: Session,
    content: bytes,
    filename: str = "",
    *,
    packages: Tables | None = None,
    geocoder: Geocoder | None = None,
    accept_flagged: bool = False,
) -> ImportReport:
    """Import households (with requests and contact data) from a sheet; commits. With
    ``packages`` (the locality's tables) a household with a level and no requests gets its
    level's default package (:func:`api.services.scenario.store_scenario`). Rows with an
    address and no lat/lon are located by ``geocoder``; its flagged answers are stored only
    with ``accept_flagged``.

    Raises :class:`InputError` when the file or its columns are wrong, and
    :class:`SheetRefused` listing every row problem and the flagged rows not accepted; then
    nothing is stored.
    """
    rows = read_sheet(content, filename)
    has_address = bool(rows) and "address" in rows[0]
    required = _HOUSEHOLD_REQUIRED_WITH_ADDRESS if has_address else _HOUSEHOLD_REQUIRED
    _check_columns(rows, HOUSEHOLD_COLUMNS, required)
    check = _Rows()
    sheet = _household_rows(rows, check)
    if sheet.unlocated:
        # A geocoder may take a second per address: hold no database transaction meanwhile
        # (only reads happened so far).
        session.rollback()
    found = _geocode_rows(sheet.unlocated, geocoder, check)
    flagged = any(f.lookup.flagged for f in found)
    if check.problems or (flagged and not accept_flagged):
        raise _refusal(check.problems, found, accept_flagged=accept_flagged)
    _place(sheet.households, found)
    first_row, request_row = sheet.first_row, sheet.request_row
    document = current_document(session) or empty_document()
    merged, created, updated, index_of = _merge(document["households"], sheet.households)
    document["households"] = merged

    def row_for(hid: str, rest: str) -> tuple[int, str]:
        match = _REQUEST.match(rest)
        if match is None:
            return first_row[hid], rest.split(".")[0].split("[")[0] or "id"
        row = request_row.get((hid, int(match.group(1))), first_row[hid])
        field = (match.group(2) or "id").split(".")[0].split("[")[0]
        return row, _REQUEST_COLUMN.get(field, field)

    try:
        store_scenario(
            session, document, contacts=sheet.contacts, keep_changes=True, packages=packages
        )
    except DocumentError as exc:
        problems = _row_problems(exc, "households", index_of, row_for)
        raise _refusal(problems, found, accept_flagged=accept_flagged) from None
    return ImportReport(
        rows=len(rows),
        created=tuple(created),
        updated=tuple(updated),
        geocoded=tuple(f for f in found if not f.lookup.flagged),
        flagged=tuple(f for f in found if f.lookup.flagged),
    )


def import_caregivers(session: Session, content: bytes, filename: str = "") -> ImportReport:
    """Import caregivers from a sheet into the stored scenario; commits.

    Raises :class:`InputError` listing every row problem; then nothing is stored.
    """
    rows = read_sheet(content, filename)
    _check_columns(rows, CAREGIVER_COLUMNS, _CAREGIVER_REQUIRED)
    check = _Rows()
    caregivers, row_of = _caregiver_rows(rows, check)
    if check.problems:
        raise _fail(check.problems)
    document = current_document(session) or empty_document()
    merged, created, updated, index_of = _merge(document["caregivers"], caregivers)
    document["caregivers"] = merged

    def row_for(cid: str, rest: str) -> tuple[int, str]:
        head = rest.split(".")[0].split("[")[0] or "id"
        if head == "shifts" and "." in rest:
            head = rest.split(".")[1].split("[")[0]
        elif head == "break":
            head = "break_minutes" if rest.endswith("minutes") else "break_window"
        return row_of[cid], head

    try:
        store_scenario(session, document, keep_changes=True)
    except DocumentError as exc:
        raise _fail(_row_problems(exc, "caregivers", index_of, row_for)) from None
    return ImportReport(rows=len(rows), created=tuple(created), updated=tuple(updated))
