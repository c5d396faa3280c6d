"""A locality's programme tables in one document: defaults per section, and every bad field
of every section named at once by its path in the document."""

from __future__ import annotations

import pytest

from dispatch.document import DocumentError
from dispatch.programmes.rules import default_document, default_locality, parse_locality


def test_the_bundled_tables_are_a_locality() -> None:
    locality = default_locality()
    assert [c.id for c in locality.visiting.classes] == ["high_risk", "key", "other"]
    assert locality.money.price("cleaning").per == "hour"
    assert (locality.circle_minutes, dict(locality.streets)) == (15, {})


def test_a_section_left_out_is_the_default_and_a_given_one_replaces_it() -> None:
    doc = {"format": 1, "name": "兴庆区", "circle": {"minutes": 20, "streets": {"S1": "富宁街道"}}}
    locality = parse_locality(doc, stations=["S1", "S2"])
    assert (locality.name, locality.circle_minutes) == ("兴庆区", 20)
    assert dict(locality.streets) == {"S1": "富宁街道"}
    assert locality.visiting == default_locality().visiting
    doc = default_document() | {"prices": {"cleaning": {"per": "visit", "yuan": 40}}}
    # Packages name services that need a price: those left without one are named.
    with pytest.raises(DocumentError) as caught:
        parse_locality(doc)
    assert any(i.path.startswith("packages.") for i in caught.value.issues)


def test_every_bad_field_of_every_section_is_named() -> None:
    doc = default_document()
    doc["visiting"]["classes"][0]["tags_any"][1] = "livng_alone"
    doc["prices"]["cleaning"]["yuan"] = -5
    doc["circle"] = {"minutes": 0, "streets": {"S9": "某街道"}}
    doc["colour"] = "red"
    with pytest.raises(DocumentError) as caught:
        parse_locality(doc, stations=["S1"])
    paths = {i.path: i.message for i in caught.value.issues}
    assert "did you mean 'living_alone'" in paths["visiting.classes[0].tags_any[1]"]
    assert "prices.cleaning.yuan" in paths
    assert "circle.minutes" in paths
    assert "unknown station 'S9'" in paths["circle.streets.S9"]
    assert "colour" in paths
