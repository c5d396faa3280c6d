"""Reading, validating and writing scenarios of the public format 1 (``docs/SCENARIO.md``).

The one import path for scenario documents; the work is done in three modules:

- :mod:`dispatch.document`: the field-checking toolkit (:class:`DocumentReader`) shared by the
  scenario, plan and catalogue readers, its errors, and JSON files;
- :mod:`dispatch.scenario_parse`: :func:`parse_scenario` and :func:`load_scenario`, the field
  tables of every object of the format;
- :mod:`dispatch.scenario_write`: :func:`scenario_to_dict` and :func:`save_scenario`.
"""

from __future__ import annotations

from dispatch.document import (
    FORMAT_VERSION,
    DocumentError,
    DocumentReader,
    ValidationIssue,
    load_json,
    max_visits_in_week,
    merge_windows,
    write_json,
)
from dispatch.scenario_parse import (
    AFTER_FIELDS,
    BREAK_FIELDS,
    CAREGIVER_FIELDS,
    HOUSEHOLD_FIELDS,
    REQUEST_FIELDS,
    SCENARIO_FIELDS,
    STATION_FIELDS,
    TRAVEL_FIELDS,
    ParsedScenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from dispatch.scenario_write import save_scenario, scenario_to_dict

__all__ = [
    "AFTER_FIELDS",
    "BREAK_FIELDS",
    "CAREGIVER_FIELDS",
    "FORMAT_VERSION",
    "HOUSEHOLD_FIELDS",
    "REQUEST_FIELDS",
    "SCENARIO_FIELDS",
    "STATION_FIELDS",
    "TRAVEL_FIELDS",
    "DocumentError",
    "DocumentReader",
    "ParsedScenario",
    "ScenarioError",
    "ValidationIssue",
    "load_json",
    "load_scenario",
    "max_visits_in_week",
    "merge_windows",
    "parse_scenario",
    "save_scenario",
    "scenario_to_dict",
    "write_json",
]
