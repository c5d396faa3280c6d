"""The service catalogue: the bundled defaults, the editable copy, overrides and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispatch.catalogue import (
    Catalogue,
    CatalogueError,
    ServiceType,
    catalogue_to_dict,
    default_catalogue,
    load_catalogue,
    parse_catalogue,
)

REPO = Path(__file__).resolve().parents[2]


def test_default_has_every_service_of_the_domain_table() -> None:
    assert list(default_catalogue()) == [
        "meal_delivery",
        "meal_cook",
        "cleaning",
        "bathing",
        "bed_bath",
        "walking",
        "medical_escort",
        "personal_care",
        "nursing",
        "rehab",
        "welfare_visit",
        "emergency",
    ]


@pytest.mark.parametrize(
    ("code", "minutes", "staff", "windows"),
    [
        ("meal_delivery", 10, 1, ((630, 750), (990, 1080))),
        ("bed_bath", 90, 2, ((600, 690), (840, 960))),
        ("medical_escort", 240, 1, ((450, 720),)),
        ("nursing", 45, 1, ((510, 990),)),
        ("emergency", 30, 1, ((0, 1439),)),
    ],
)
def test_default_values(
    code: str, minutes: int, staff: int, windows: tuple[tuple[int, int], ...]
) -> None:
    s = default_catalogue()[code]
    assert (s.minutes, s.staff, s.windows) == (minutes, staff, windows)
    assert s.skill == code


def test_names_and_texts() -> None:
    bath = default_catalogue()["bathing"]
    assert (bath.name_zh, bath.name_en, bath.frequency) == ("助浴", "Bathing", "1 / week")
    assert "四级" in bath.qualification


def test_editable_copy_matches_the_bundled_file() -> None:
    # data/catalogue.json is what users edit; it ships equal to the package's default.
    editable = load_catalogue(REPO / "data" / "catalogue.json")
    assert editable == default_catalogue()
    assert load_catalogue() is default_catalogue()


def test_dict_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "cat.json"
    out.write_text(json.dumps(catalogue_to_dict(default_catalogue()), ensure_ascii=False), "utf-8")
    assert load_catalogue(out) == default_catalogue()


def test_override_replaces_given_fields_only() -> None:
    cat = load_catalogue(overrides={"cleaning": {"minutes": 120, "staff": 2}})
    cleaning = cat["cleaning"]
    assert (cleaning.minutes, cleaning.staff) == (120, 2)
    assert cleaning.windows == default_catalogue()["cleaning"].windows
    assert cat["bathing"] == default_catalogue()["bathing"]


def test_override_adds_and_removes_entries() -> None:
    cat = load_catalogue(
        overrides={
            "respite": {
                "name_zh": "喘息服务",
                "name_en": "Respite care",
                "minutes": 240,
                "windows": [["08:00", "09:00"], ["13:00", "14:00"]],
            },
            "emergency": None,
        }
    )
    assert cat["respite"] == ServiceType(
        code="respite",
        name_zh="喘息服务",
        name_en="Respite care",
        minutes=240,
        windows=((480, 540), (780, 840)),
        staff=1,
        skill="respite",
    )
    assert "emergency" not in cat
    assert "emergency" in default_catalogue()  # the cached default is untouched


def test_overrides_on_a_file(tmp_path: Path) -> None:
    out = tmp_path / "cat.json"
    out.write_text(json.dumps(catalogue_to_dict(default_catalogue())), "utf-8")
    assert load_catalogue(out, overrides={"rehab": {"minutes": 30}})["rehab"].minutes == 30


def test_bad_overrides_name_every_field() -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(
            overrides={
                "cleaning": {"minutes": 0, "windowz": []},
                "bathing": {"windows": [["14:00", "10:00"]]},
                "gardening": {"name_zh": "园艺"},
            }
        )
    assert [str(i) for i in info.value.issues] == [
        "overrides.cleaning.windowz: unknown field, did you mean windows?",
        "overrides.cleaning.minutes: must be at least 1, got 0",
        "overrides.bathing.windows[0]: ends 10:00 before it starts 14:00",
        "overrides.gardening.name_en: missing required field",
        "overrides.gardening.minutes: missing required field",
        "overrides.gardening.windows: missing required field",
    ]


def test_bad_file_entries() -> None:
    doc = catalogue_to_dict(default_catalogue())
    doc["services"]["bed_bath"]["staff"] = 3
    doc["services"]["nursing"]["skill"] = ""
    doc["format"] = 2
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(doc)
    assert [str(i) for i in info.value.issues] == [
        "format: unsupported format 2; this version reads format 1",
        "services.bed_bath.staff: must be between 1 and 2, got 3",
        "services.nursing.skill: must not be empty",
    ]


def test_bad_json_file(tmp_path: Path) -> None:
    bad = tmp_path / "cat.json"
    bad.write_text('{"format": 1, "services": {,}}', "utf-8")
    with pytest.raises(CatalogueError, match="invalid JSON at line 1, column 28"):
        load_catalogue(bad)


def test_catalogue_is_a_read_only_mapping() -> None:
    cat = default_catalogue()
    assert isinstance(cat, Catalogue)
    assert len(cat) == 12 and cat.get("nothing") is None
    with pytest.raises(TypeError):
        cat["x"] = cat["cleaning"]  # type: ignore[index]
    with pytest.raises(ValueError, match="duplicate service code 'a'"):
        Catalogue([ServiceType("a", "甲", "A", 10, ((0, 10),))] * 2)
