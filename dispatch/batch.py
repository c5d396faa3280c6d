"""What-if batches (批量假设分析): many variants of one scenario, solved in parallel, compared.

A variants document (JSON, ``docs/batches.md``) lists named variants, each a set of the what-if
modifications of :mod:`dispatch.whatif` under the same keys as a planner job's
``modifications`` (``add_caregivers``, ``remove_caregivers``, ``scale_demand``,
``move_station``, ``add_station``), and/or a ``grid`` whose axes are lists of alternatives;
the grid expands into every combination ("count: 0..5 × scale_demand: 1.0, 1.2" is 12
variants). ``add_caregivers`` may name ``"station": "each"`` (that many at every station, the
template defaulting to the station's first caregiver) and a grid may give its ``count`` as a
list or a range ``"0..5"``. The scenario as it is comes first as ``baseline`` unless
``"baseline": false``.

:func:`parse_variants` reads the document (a :class:`BatchError` names the field of a
mistake), :func:`variant_scenarios` applies each variant to a scenario, :func:`solve_variant`
is the engine task (plain data in, a plan document out; it builds its models in the worker),
:func:`comparison_row` makes a variant's line of the comparison table from the checker's
recomputed KPIs, and :func:`run_batch` does it all on an engine (:mod:`dispatch.engines`);
:func:`write_batch` writes a batch's files (the table as CSV and Excel, each plan, a summary).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dispatch.checker import check_plan
from dispatch.engines import STARTED, EngineSettings, Reporter, TaskResult, open_engine
from dispatch.model import Plan, Scenario, Station
from dispatch.plan_io import parse_plan, plan_to_dict, save_plan
from dispatch.reasons import Reason
from dispatch.whatif import AddCaregivers, Modifications, MoveStation, apply_modifications
from solver.problem import SolveParams

__all__ = [
    "BASELINE",
    "COLUMNS",
    "MAX_VARIANTS",
    "BatchError",
    "StaffCost",
    "Variant",
    "VariantOutcome",
    "VariantSpec",
    "comparison_row",
    "failed_row",
    "modifications_of",
    "parse_variants",
    "run_batch",
    "solve_variant",
    "variant_scenarios",
    "variant_slugs",
    "write_batch",
    "write_csv",
    "write_xlsx",
]

BASELINE = "baseline"
#: The planners a batch may run: the weekly planner, or the by-hand greedy baseline.
SOLVERS = ("ours", "greedy")
#: More variants than this is a mistake in a grid, not a batch anyone reads.
MAX_VARIANTS = 64
_KEYS = ("add_caregivers", "remove_caregivers", "scale_demand", "move_station", "add_station")
EACH = "each"


class BatchError(ValueError):
    """A mistake in a variants document: ``path`` names the field (``variants[2].scale_demand``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class StaffCost:
    """What staff cost: a caregiver's monthly pay (default 4,000 yuan, a community care
    worker's wage in a Ningxia city; set it in the variants document) over ``hours_per_month``
    (21.75 days of 8 hours), and overtime paid at ``overtime_factor`` times the hourly rate."""

    yuan_per_month: float = 4000.0
    hours_per_month: float = 174.0
    overtime_factor: float = 1.5

    def week(self, caregivers: int, overtime_minutes: float, weeks: int = 1) -> float:
        """Yuan for ``caregivers`` over ``weeks`` weeks with that overtime."""
        hourly = self.yuan_per_month / self.hours_per_month
        pay = caregivers * self.yuan_per_month * 12 / 52 * weeks
        return round(pay + overtime_minutes / 60 * hourly * self.overtime_factor, 2)


@dataclass(frozen=True)
class VariantSpec:
    """A named variant as the document says it: the modification keys with their values
    (``each`` not yet resolved against a scenario)."""

    name: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """A variant resolved against a scenario: its name, what it asked (``changes``) and the
    :class:`Modifications` applied."""

    name: str
    changes: Mapping[str, Any]
    modifications: Modifications


# --- the document ---------------------------------------------------------------------------


def _count_values(value: Any, path: str) -> list[int]:
    if isinstance(value, bool):
        raise BatchError(path, "must be a whole number, a list of them or a range 'a..b'")
    if isinstance(value, int):
        values = [value]
    elif isinstance(value, str) and ".." in value:
        a, _, b = value.partition("..")
        try:
            lo, hi = int(a), int(b)
        except ValueError:
            raise BatchError(path, f"not a range 'a..b' of whole numbers: {value!r}") from None
        if hi < lo:
            raise BatchError(path, f"empty range {value!r}")
        values = list(range(lo, hi + 1))
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        values = list(value)
    else:
        raise BatchError(path, "must be a whole number, a list of them or a range 'a..b'")
    for v in values:
        if not 0 <= v <= 500:
            raise BatchError(path, f"counts must be between 0 and 500, got {v}")
    return values


def _add_caregivers(value: Any, path: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if not isinstance(item, dict):
            raise BatchError(where, "must be an object with station, count and template")
        unknown = set(item) - {"station", "count", "template"}
        if unknown:
            raise BatchError(where, f"unknown field(s) {sorted(unknown)}")
        station = item.get("station")
        if not isinstance(station, str) or not station:
            raise BatchError(f"{where}.station", "must be a station id or 'each'")
        template = item.get("template")
        if template is not None and (not isinstance(template, str) or not template):
            raise BatchError(f"{where}.template", "must be a caregiver id")
        if template is None and station != EACH:
            raise BatchError(f"{where}.template", "is required unless station is 'each'")
        counts = _count_values(item.get("count"), f"{where}.count")
        if len(counts) != 1:
            raise BatchError(f"{where}.count", "a variant adds one number; ranges go in a grid")
        out.append({"station": station, "count": counts[0], "template": template})
    return out


def _stations(value: Any, path: str, *, new: bool) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BatchError(path, "must be a list of stations")
    out = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise BatchError(where, "must be an object with id, lat and lon")
        allowed = {"id", "lat", "lon"} | ({"name", "address"} if new else set())
        unknown = set(item) - allowed
        if unknown:
            raise BatchError(where, f"unknown field(s) {sorted(unknown)}")
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise BatchError(f"{where}.id", "must be a station id")
        for key in ("name", "address"):
            if key in item and not isinstance(item[key], str):
                raise BatchError(f"{where}.{key}", "must be text")
        for key, bound in (("lat", 90), ("lon", 180)):
            v = item.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not -bound <= v <= bound:
                raise BatchError(f"{where}.{key}", f"must be a number between ±{bound}")
        out.append(dict(item))
    return out


def _change(key: str, value: Any, where: str) -> Any:
    """One modification's value, checked (``where`` names it in errors)."""
    if key == "add_caregivers":
        return _add_caregivers(value, where)
    if key == "remove_caregivers":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BatchError(where, "must be a list of caregiver ids")
        return list(value)
    if key == "scale_demand":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10:
            raise BatchError(where, "must be a number above 0 and at most 10")
        return float(value)
    return _stations(value, where, new=key == "add_station")


def _changes(item: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The modification keys of ``item``, checked."""
    return {
        key: _change(key, item[key], f"{path}.{key}") for key in _KEYS if item.get(key) is not None
    }


def _axis(key: str, value: Any, path: str) -> list[Any]:
    """The alternatives of one grid axis (``None``: that modification left out)."""
    if key == "add_caregivers" and isinstance(value, dict):
        counts = _count_values(value.get("count"), f"{path}.count")
        base = _add_caregivers({**value, "count": 0}, path)[0]
        return [[{**base, "count": n}] if n else None for n in counts]
    if not isinstance(value, list) or not value:
        raise BatchError(path, "must be a non-empty list of alternatives")
    out: list[Any] = []
    for i, alternative in enumerate(value):
        if alternative is None:
            out.append(None)
            continue
        out.append(_change(key, alternative, f"{path}[{i}]"))
    return out


def _label(key: str, value: Any) -> str:
    if key == "add_caregivers":
        return " ".join(f"+{a['count']}@{a['station']}" for a in value)
    if key == "scale_demand":
        return f"demand×{value:g}"
    if key == "remove_caregivers":
        return f"-{','.join(value)}"
    return ("new " if key == "add_station" else "move ") + ",".join(s["id"] for s in value)


def _effective(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` without those that change nothing (demand ×1, no caregivers added)."""
    out = dict(changes)
    if out.get("scale_demand") == 1.0:
        del out["scale_demand"]
    adds = [a for a in out.get("add_caregivers", ()) if a["count"] > 0]
    if adds:
        out["add_caregivers"] = adds
    else:
        out.pop("add_caregivers", None)
    return out


def parse_variants(doc: Any) -> tuple[list[VariantSpec], StaffCost]:
    """The variants of a document (baseline first unless turned off, then the listed ones,
    then the grid's) and its staff cost. Raises :class:`BatchError` naming the field of a
    mistake, duplicate names, none at all or more than :data:`MAX_VARIANTS`."""
    if not isinstance(doc, dict):
        raise BatchError("$", "a variants document is a JSON object")
    unknown = set(doc) - {"format", "baseline", "variants", "grid", "staff_cost"}
    if unknown:
        raise BatchError("$", f"unknown field(s) {sorted(unknown)}")
    if doc.get("format", 1) != 1:
        raise BatchError("format", f"only format 1 is known, got {doc.get('format')!r}")
    baseline = doc.get("baseline", True)
    if not isinstance(baseline, bool):
        raise BatchError("baseline", "must be true or false")
    specs: list[VariantSpec] = [VariantSpec(BASELINE)] if baseline else []
    listed = doc.get("variants", [])
    if not isinstance(listed, list):
        raise BatchError("variants", "must be a list")
    for i, item in enumerate(listed):
        path = f"variants[{i}]"
        if not isinstance(item, dict):
            raise BatchError(path, "must be an object with a name and modifications")
        unknown = set(item) - {"name", *_KEYS}
        if unknown:
            raise BatchError(path, f"unknown field(s) {sorted(unknown)}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise BatchError(f"{path}.name", "must be a name of 1 to 120 characters")
        specs.append(VariantSpec(name.strip(), _changes(item, path)))
    grid = doc.get("grid")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            raise BatchError("grid", "must be an object of axes")
        unknown = set(grid) - set(_KEYS)
        if unknown:
            raise BatchError("grid", f"unknown axis(es) {sorted(unknown)}; known: {list(_KEYS)}")
        axes = [(key, _axis(key, grid[key], f"grid.{key}")) for key in _KEYS if key in grid]
        size = math.prod(len(values) for _, values in axes)
        if size + len(specs) > MAX_VARIANTS:
            raise BatchError("grid", f"{size} combinations; a batch has at most {MAX_VARIANTS}")
        for combo in itertools.product(*(values for _, values in axes)):
            changes = _effective(
                {key: v for (key, _), v in zip(axes, combo, strict=True) if v is not None}
            )
            if not changes and baseline:
                continue  # the baseline is there already
            name = " · ".join(_label(k, changes[k]) for k in _KEYS if k in changes)
            specs.append(VariantSpec(name or BASELINE, changes))
    if not specs:
        raise BatchError("variants", "the batch has no variant")
    if len(specs) > MAX_VARIANTS:
        raise BatchError("variants", f"{len(specs)} variants; a batch has at most {MAX_VARIANTS}")
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise BatchError("variants", f"two variants are named {spec.name!r}")
        seen.add(spec.name)
    return specs, _staff_cost(doc.get("staff_cost"))


def _staff_cost(value: Any) -> StaffCost:
    if value is None:
        return StaffCost()
    if not isinstance(value, dict):
        raise BatchError("staff_cost", "must be an object")
    unknown = set(value) - {"yuan_per_month", "hours_per_month", "overtime_factor"}
    if unknown:
        raise BatchError("staff_cost", f"unknown field(s) {sorted(unknown)}")
    for key, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise BatchError(f"staff_cost.{key}", "must be a positive number")
    return StaffCost(**{k: float(v) for k, v in value.items()})


def modifications_of(spec: VariantSpec, scenario: Scenario) -> Modifications:
    """``spec``'s changes as :class:`Modifications` of ``scenario``: ``each`` becomes every
    station (template: the one given, else the station's first caregiver); counts of 0 are
    left out. Raises :class:`BatchError` for a station without caregivers to copy."""
    adds: list[AddCaregivers] = []
    for i, a in enumerate(spec.changes.get("add_caregivers", ())):
        if a["count"] < 1:
            continue
        stations = [s.id for s in scenario.stations] if a["station"] == EACH else [a["station"]]
        for sid in stations:
            template = a["template"] or next(
                (c.id for c in scenario.caregivers if c.station == sid), None
            )
            if template is None:
                raise BatchError(
                    f"{spec.name}.add_caregivers[{i}]",
                    f"station {sid!r} has no caregiver to copy; name a template",
                )
            adds.append(AddCaregivers(sid, a["count"], template))
    return Modifications(
        add_stations=tuple(
            Station(
                s["id"], float(s["lat"]), float(s["lon"]), s.get("name", ""), s.get("address", "")
            )
            for s in spec.changes.get("add_station", ())
        ),
        move_stations=tuple(
            MoveStation(s["id"], float(s["lat"]), float(s["lon"]))
            for s in spec.changes.get("move_station", ())
        ),
        add_caregivers=tuple(adds),
        remove_caregivers=tuple(spec.changes.get("remove_caregivers", ())),
        scale_demand=spec.changes.get("scale_demand"),
    )


def variant_scenarios(
    scenario: Scenario, specs: Sequence[VariantSpec]
) -> list[tuple[Variant, Scenario]]:
    """Each variant resolved and applied to ``scenario``. Raises :class:`BatchError` naming the
    variant whose modification does not apply (an unknown station or caregiver)."""
    out = []
    for spec in specs:
        mods = modifications_of(spec, scenario)
        try:
            changed = apply_modifications(scenario, mods)
        except ValueError as exc:
            raise BatchError(spec.name, str(exc)) from None
        out.append((Variant(spec.name, dict(spec.changes), mods), changed))
    return out


# --- solving --------------------------------------------------------------------------------


def solve_variant(item: Mapping[str, Any], report: Reporter) -> dict[str, Any]:
    """The engine task of one variant: ``item`` holds the variant's ``scenario`` (a format-1
    document), ``time_limit``, ``seed``, ``solver`` (``ours`` or ``greedy``) and
    ``report_plans`` (default true). Reports ``{"fraction", "message", "plan"}`` as the planner
    goes (``plan``: the best plan so far as a document at the end of each phase, ``None`` in
    between or without ``report_plans``) and returns the final plan document."""
    from dispatch.scenario_io import parse_scenario

    scenario = parse_scenario(item["scenario"]).scenario
    if item.get("solver", "ours") == "greedy":
        from dispatch.greedy import plan_greedy

        return plan_to_dict(plan_greedy(scenario))
    from dispatch.weekly import Progress, plan_week

    def progress(p: Progress) -> None:
        plan = None
        if p.plan is not None and item.get("report_plans", True):
            plan = plan_to_dict(replace(p.plan, kpis=p.kpis))
        report({"fraction": p.fraction, "message": p.message, "plan": plan})

    params = SolveParams(time_limit=float(item["time_limit"]), seed=int(item.get("seed", 0)))
    return plan_to_dict(plan_week(scenario, params=params, progress=progress))


#: The comparison table's columns, in order (``unassigned_<reason>`` columns follow
#: ``planned_share`` for every reason of :class:`dispatch.reasons.Reason`).
COLUMNS: tuple[str, ...] = (
    "variant",
    "status",
    "caregivers",
    "required_visits",
    "planned_visits",
    "planned_share",
    *(f"unassigned_{r.value}" for r in Reason),
    "travel_minutes",
    "overtime_minutes",
    "distinct_caregivers_per_request",
    "utilisation_mean",
    "households_outside_15min",
    "staff_cost_yuan",
    "violations",
)


def comparison_row(
    name: str,
    scenario: Scenario,
    plan: Plan,
    cost: StaffCost,
    *,
    kpis: Mapping[str, float] | None = None,
    violations: int = 0,
) -> dict[str, Any]:
    """A variant's line of the comparison table: the checker's recomputed KPIs of ``plan``
    for ``scenario`` (``kpis`` and ``violations`` when the caller has them already from the
    checker), its unassigned visits by reason, caregivers and the week's staff cost."""
    if kpis is None:
        from dispatch.travel_tables import travel_of_plan

        report = check_plan(travel_of_plan(scenario, plan), plan)
        kpis, violations = report.kpis, len(report.violations)
    by_reason = dict.fromkeys((r.value for r in Reason), 0)
    for u in plan.unassigned:
        by_reason[u.reason] = by_reason.get(u.reason, 0) + u.missing_visits
    required = float(kpis.get("required_visits", 0.0))
    planned = float(kpis.get("planned_visits", 0.0))
    overtime = float(kpis.get("overtime_minutes", 0.0))
    row: dict[str, Any] = {
        "variant": name,
        "status": "done",
        "caregivers": len(scenario.caregivers),
        "required_visits": int(required),
        "planned_visits": int(planned),
        "planned_share": round(planned / required, 4) if required else 1.0,
        **{f"unassigned_{k}": v for k, v in by_reason.items()},
        "travel_minutes": int(kpis.get("travel_minutes", 0.0)),
        "overtime_minutes": int(overtime),
        "distinct_caregivers_per_request": round(
            float(kpis.get("distinct_caregivers_per_request", 0.0)), 3
        ),
        "utilisation_mean": round(float(kpis.get("utilisation_mean", 0.0)), 4),
        "households_outside_15min": int(kpis.get("households_outside_15min", 0.0)),
        "staff_cost_yuan": cost.week(len(scenario.caregivers), overtime, max(1, plan.weeks)),
        "violations": violations,
    }
    return row


def failed_row(name: str, status: str, error: str = "") -> dict[str, Any]:
    """The line of a variant without a plan (``failed`` or ``cancelled``)."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(variant=name, status=status)
    if error:
        row["error"] = error
    return row


@dataclass(frozen=True)
class VariantOutcome:
    """A variant's end: its plan (``None`` when it failed or was cancelled), the comparison
    ``row``, the ``error`` line of a failure, runs and seconds."""

    variant: Variant
    scenario: Scenario
    plan: Plan | None
    row: Mapping[str, Any]
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0


def run_batch(
    scenario: Scenario,
    specs: Sequence[VariantSpec],
    *,
    engine: EngineSettings | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
    cost: StaffCost | None = None,
    on_report: Callable[[str, Mapping[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    solver: str = "ours",
    report_plans: bool = True,
    on_outcome: Callable[[VariantOutcome], None] | None = None,
) -> list[VariantOutcome]:
    """Every variant of ``scenario`` solved for ``time_limit`` seconds each by ``solver``
    (``ours`` or ``greedy``), in parallel on ``engine`` (default: the local pool); each plan
    is checked as it arrives, while the others still solve. Returns the outcomes in the order
    of ``specs``.

    ``on_report(variant, report)`` gets each variant's progress reports (see
    :func:`solve_variant`; ``{"started": True}`` when a run starts; without ``report_plans``
    they carry no plan) and ``on_outcome(outcome)`` each variant's end as it comes, both in
    the caller's thread. A variant that fails twice is an outcome with its ``error``; with
    ``cancel`` set the variants not finished are ``cancelled``. Raises :class:`BatchError`
    for a variant that does not apply or a bad ``solver`` or ``time_limit``, and
    :class:`dispatch.engines.EngineUnavailable` for an engine that cannot run here."""
    from dispatch.scenario_io import scenario_to_dict

    if solver not in SOLVERS:
        raise BatchError("solver", f"must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if not time_limit > 0:
        raise BatchError("time_limit", f"must be positive, got {time_limit}")
    cost = cost or StaffCost()
    resolved = variant_scenarios(scenario, specs)
    by_name = {v.name: (v, s) for v, s in resolved}
    items = {
        v.name: {
            "scenario": scenario_to_dict(s),
            "time_limit": time_limit,
            "seed": seed,
            "solver": solver,
            "report_plans": report_plans,
        }
        for v, s in resolved
    }

    def report(key: str, value: Any) -> None:
        if on_report is not None:
            on_report(key, {"started": True} if value == STARTED else value)

    outcomes: dict[str, VariantOutcome] = {}
    with open_engine(engine) as running:
        for result in running.run(solve_variant, items, on_report=report, cancel=cancel):
            variant, changed = by_name[result.key]
            outcome = _outcome(variant, changed, result, cost)
            outcomes[result.key] = outcome
            if on_outcome is not None:
                on_outcome(outcome)
    return [
        outcomes.get(v.name) or VariantOutcome(v, s, None, failed_row(v.name, "cancelled"))
        for v, s in resolved
    ]


def _outcome(
    variant: Variant, scenario: Scenario, result: TaskResult, cost: StaffCost
) -> VariantOutcome:
    """A variant's outcome from its task's result: the plan read back and checked."""
    error = result.error
    if error is None:
        try:
            plan = parse_plan(result.value)
        except ValueError as exc:  # a plan document the contract refuses: that variant failed
            error = f"its plan does not read back: {str(exc).splitlines()[0]}"
        else:
            row = comparison_row(variant.name, scenario, plan, cost)
            return VariantOutcome(
                variant, scenario, plan, row, None, result.attempts, result.seconds
            )
    row = failed_row(variant.name, "failed", error)
    return VariantOutcome(variant, scenario, None, row, error, result.attempts, result.seconds)


# --- the table's files ----------------------------------------------------------------------


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    extra = [k for row in rows for k in row if k not in COLUMNS]
    return [*COLUMNS, *dict.fromkeys(extra)]


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """The comparison table as CSV (UTF-8 with a byte-order mark, which Excel needs to read
    Chinese names)."""
    columns = _columns(rows)
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})


def write_xlsx(rows: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """The comparison table as an Excel workbook (one sheet, ``comparison``)."""
    import pandas as pd

    frame = pd.DataFrame([dict(r) for r in rows], columns=_columns(rows))
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="comparison", index=False)


def variant_slugs(names: Sequence[str]) -> dict[str, str]:
    """A file name (without extension) for each variant name: letters, digits, ``.`` and
    ``-`` (``+2@each · demand×1.2`` → ``plus2-at-each-demand-x1.2``), unique among ``names``
    (a ``-2``, ``-3`` … suffix when two come out the same)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        text = name.replace("+", "plus").replace("×", "-x").replace("@", "-at-")
        base = re.sub(r"[^\w.]+", "-", text).strip("-.").lower()[:80] or "variant"
        slug, k = base, 1
        while slug in taken:
            k += 1
            slug = f"{base}-{k}"
        taken.add(slug)
        out[name] = slug
    return out


def write_batch(
    outcomes: Sequence[VariantOutcome],
    directory: str | Path,
    *,
    about: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """A batch's files in ``directory`` (created): ``comparison.csv`` and ``comparison.xlsx``
    (one row per variant), ``plans/<slug>.json`` (the format-1 plan of each variant that has
    one) and ``variants.json`` (``about``, e.g. the scenario and time limit, then per variant
    its name, changes, status, plan file, error, runs and seconds). Returns the paths by
    name: ``csv``, ``xlsx``, ``variants`` and ``plan:<variant>`` for each plan."""
    root = Path(directory)
    (root / "plans").mkdir(parents=True, exist_ok=True)
    slugs = variant_slugs([o.variant.name for o in outcomes])
    paths: dict[str, Path] = {}
    listed = []
    for o in outcomes:
        file = None
        if o.plan is not None:
            file = f"plans/{slugs[o.variant.name]}.json"
            save_plan(o.plan, root / file)
            paths[f"plan:{o.variant.name}"] = root / file
        listed.append(
            {
                "name": o.variant.name,
                "changes": dict(o.variant.changes),
                "status": o.row.get("status"),
                "file": file,
                "error": o.error,
                "attempts": o.attempts,
                "seconds": round(o.seconds, 1),
            }
        )
    rows = [o.row for o in outcomes]
    paths["csv"] = root / "comparison.csv"
    write_csv(rows, paths["csv"])
    paths["xlsx"] = root / "comparison.xlsx"
    write_xlsx(rows, paths["xlsx"])
    paths["variants"] = root / "variants.json"
    doc = {"format": 1, **(about or {}), "variants": listed}
    paths["variants"].write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return paths
