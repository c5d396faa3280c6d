"""Household sheets with addresses and no lat/lon: geocoded on import (fake geocoders only).

A row with an ``address`` and empty ``lat``/``lon`` gets the geocoder's point in WGS-84; an
address not found is a row error; a doubtful answer (low confidence, only a district or road,
several places) refuses the sheet until it is accepted; nothing is stored otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings, SettingsError
from dispatch.coords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from dispatch.geocode import CachingGeocoder, FakeGeocoder, GeocodingError, GeoPoint
from tests.api.conftest import ADMIN, make_settings
from tests.conftest import fixture_data

HEADER = "id,name,address,request_id,service,minutes,windows\n"
DOOR_9 = "银川市兴庆区丽景街道9号楼"
DOOR_10 = "银川市兴庆区丽景街道10号楼"
DOOR_11 = "银川市兴庆区丽景街道11号楼"
UNSET = object()


def sheet(*rows: tuple[str, str]) -> bytes:
    """A households sheet: one welfare visit for each (id, address)."""
    lines = [f"{hid},住户{hid},{address},{hid}-v,welfare_visit,30,09:00-12:00\n" for hid, address
             in rows]  # fmt: skip
    return (HEADER + "".join(lines)).encode("utf-8")


@contextmanager
def app_client(url: str, fake: Any = UNSET, **settings: Any) -> Iterator[TestClient]:
    """The real app on ``url`` with the tiny scenario stored; ``fake`` replaces the geocoder of
    the settings when given."""
    app = create_app(make_settings(url, **settings))
    if fake is not UNSET:
        app.state.geocoder = fake
    with TestClient(app) as client:
        if client.get("/api/v1/scenario", headers=ADMIN).status_code == 404:
            stored = client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"),
                                 headers=ADMIN)  # fmt: skip
            assert stored.status_code == 200, stored.text
        yield client


def upload(client: TestClient, content: bytes, *, accept_flagged: bool | None = None) -> Any:
    params = {} if accept_flagged is None else {"accept_flagged": str(accept_flagged).lower()}
    return client.post(
        "/api/v1/import/households",
        files={"file": ("households.csv", content, "text/csv")},
        params=params,
        headers=ADMIN,
    )


def stored(client: TestClient) -> dict[str, Any]:
    return client.get("/api/v1/scenario", headers=ADMIN).json()


def households(client: TestClient) -> dict[str, dict[str, Any]]:
    return {h["id"]: h for h in stored(client)["households"]}


class Counting:
    """Answers from ``mapping`` and records the addresses asked; fails when ``down``."""

    def __init__(self, mapping: dict[str, GeoPoint], *, down: bool = False) -> None:
        self.mapping = mapping
        self.down = down
        self.calls: list[str] = []

    def geocode(self, address: str) -> GeoPoint | None:
        self.calls.append(address)
        if self.down:
            raise GeocodingError(f"geocoding {address!r} failed: HTTP Error 503")
        return self.mapping.get(address)


# --- found points ------------------------------------------------------------------------------


def test_a_bd09_answer_is_stored_in_wgs84(backend_url: str) -> None:
    bd = wgs84_to_bd09(38.4950, 106.2350)
    fake = FakeGeocoder({DOOR_9: GeoPoint(*bd, "bd09", 90, "门址")})
    with app_client(backend_url, fake=fake) as client:
        # no lat/lon columns at all; H1 keeps its own point and is not geocoded
        content = sheet(("H9", DOOR_9)) + b"H1,,,H1-v,welfare_visit,30,09:00-12:00\n"
        response = upload(client, content)
        assert response.status_code == 422  # H1's row has no point and no address
        assert [f["path"] for f in response.json()["error"]["fields"]] == [
            "file.rows[3].lat",
            "file.rows[3].lon",
        ]
        response = upload(client, sheet(("H9", DOOR_9)))
        assert response.status_code == 200, response.text
        h9 = households(client)["H9"]
    expected = bd09_to_wgs84(*bd)
    assert (h9["lat"], h9["lon"]) == pytest.approx(expected, abs=1e-6)
    assert h9["address"] == DOOR_9
    body = response.json()
    assert body["flagged"] == []
    [row] = body["geocoded"]
    assert (row["row"], row["household"], row["address"]) == (2, "H9", DOOR_9)
    assert (row["lat"], row["lon"]) == pytest.approx(expected, abs=1e-9)
    assert (row["confidence"], row["level"], row["candidates"], row["flags"]) == (
        90, "门址", 1, []
    )  # fmt: skip
    assert row["message"].startswith(f"第2行 / row 2: address: '{DOOR_9}' → ")
    assert fake.calls == [DOOR_9, DOOR_9]  # both imports asked (this fake has no cache)


def test_rows_with_their_own_point_are_not_geocoded(backend_url: str) -> None:
    fake = FakeGeocoder({})
    with app_client(backend_url, fake=fake) as client:
        content = (
            "id,name,address,lat,lon,request_id,service,minutes,windows\n"
            f"H9,马奶奶,{DOOR_9},38.49,106.23,H9-v,welfare_visit,30,09:00-12:00\n"
        ).encode()
        response = upload(client, content)
        assert response.status_code == 200, response.text
        assert response.json()["geocoded"] == []
        assert households(client)["H9"]["lat"] == 38.49
    assert fake.calls == []


# --- flagged points ----------------------------------------------------------------------------


FLAGGED = {
    DOOR_9: GeoPoint(38.4950, 106.2350, "wgs84", 40, "门址"),  # low confidence
    DOOR_10: GeoPoint(38.4700, 106.2500, "wgs84", 90, "区县", 2),  # a district, two places
    DOOR_11: GeoPoint(38.4890, 106.2300, "wgs84", 95, "门址"),  # fine
}


def test_flagged_rows_refuse_the_sheet_until_accepted(backend_url: str) -> None:
    content = sheet(("H9", DOOR_9), ("H10", DOOR_10), ("H11", DOOR_11))
    with app_client(backend_url, fake=FakeGeocoder(FLAGGED)) as client:
        before = stored(client)
        refused = upload(client, content)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "geocode_review"
        assert "accept_flagged=true" in error["message"]
        assert [f["path"] for f in error["fields"]] == [
            "file.rows[2].address",
            "file.rows[3].address",
        ]
        low, district = (f["message"] for f in error["fields"])
        assert low.startswith(f"第2行 / row 2: address: '{DOOR_9}' → 38.495000, 106.235000")
        assert "confidence 40" in low and "可信度 40 低于 60" in low
        assert "level 区县" in district and "2 candidates" in district
        assert [r["row"] for r in error["flagged"]] == [2, 3]
        assert [f["code"] for f in error["flagged"][1]["flags"]] == ["coarse_level", "ambiguous"]
        assert [r["row"] for r in error["geocoded"]] == [4]
        assert stored(client) == before  # nothing stored, not even the fine row

        accepted = upload(client, content, accept_flagged=True)
        assert accepted.status_code == 200, accepted.text
        assert [r["household"] for r in accepted.json()["flagged"]] == ["H9", "H10"]
        assert [r["household"] for r in accepted.json()["geocoded"]] == ["H11"]
        after = households(client)
    for hid, address in (("H9", DOOR_9), ("H10", DOOR_10), ("H11", DOOR_11)):
        assert (after[hid]["lat"], after[hid]["lon"]) == pytest.approx(
            (FLAGGED[address].lat, FLAGGED[address].lon), abs=1e-9
        )


# --- errors ------------------------------------------------------------------------------------


def test_an_address_not_found_is_a_row_error_and_a_flag_is_listed(backend_url: str) -> None:
    content = sheet(("H11", DOOR_11), ("H12", "无此地址"), ("H9", DOOR_9))
    with app_client(backend_url, fake=FakeGeocoder(FLAGGED)) as client:
        before = stored(client)
        for accept in (False, True):
            response = upload(client, content, accept_flagged=accept)
            assert response.status_code == 422
            error = response.json()["error"]
            assert error["code"] == "invalid_input"
            assert "nothing was imported" in error["message"]
            messages = {f["path"]: f["message"] for f in error["fields"]}
            assert messages["file.rows[3].address"] == (
                "第3行 / row 3: address: '无此地址': 未找到该地址 / address not found; "
                "请填写 lat/lon / enter lat/lon"
            )
            # an accepted flag is no longer an error to fix, but still listed
            assert ("file.rows[4].address" in messages) is not accept
            assert [r["row"] for r in error["flagged"]] == [4]
            assert [r["row"] for r in error["geocoded"]] == [2]
        assert stored(client) == before


def test_a_service_failure_is_a_row_error(backend_url: str) -> None:
    down = Counting({}, down=True)
    with app_client(backend_url, fake=down) as client:
        before = stored(client)
        response = upload(client, sheet(("H9", DOOR_9), ("H10", DOOR_10)))
        assert response.status_code == 422
        fields = response.json()["error"]["fields"]
        assert [f["path"] for f in fields] == ["file.rows[2].address", "file.rows[3].address"]
        assert "地址解析服务出错" in fields[0]["message"]
        assert "HTTP Error 503" in fields[0]["message"]
        assert "the service failed on an earlier address" in fields[1]["message"]
        assert stored(client) == before
    assert down.calls == [DOOR_9]  # a service that is down is not asked again and again


def test_without_a_geocoder_one_error_says_how_to_configure_one(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    before = stored(client)
    response = upload(client, sheet(("H9", DOOR_9), ("H10", DOOR_10)))
    assert response.status_code == 422
    [field] = response.json()["error"]["fields"]
    assert field["path"] == "geocoder"
    assert field["message"].startswith("第2、3行 / rows 2, 3: 只有地址没有坐标")
    assert "DISPATCH_GEOCODER=baidu|nominatim|amap|file:PATH" in field["message"]
    assert "DISPATCH_GEOCODER_KEY" in field["message"]
    assert stored(client) == before


# --- the cache ---------------------------------------------------------------------------------


def test_a_second_import_is_answered_from_the_cache_file(backend_url: str, tmp_path: Path) -> None:
    cache = tmp_path / "geocode.sqlite3"
    content = sheet(("H9", DOOR_9), ("H11", DOOR_11))
    first = Counting(FLAGGED)
    with app_client(backend_url, fake=CachingGeocoder(first, cache)) as client:
        assert upload(client, content, accept_flagged=True).status_code == 200
        points = {h: (households(client)[h]["lat"], households(client)[h]["lon"]) for h in
                  ("H9", "H11")}  # fmt: skip
    assert first.calls == [DOOR_9, DOOR_11]

    # A restarted service: a new app and a new geocoder whose service knows nothing.
    second = Counting({})
    with app_client(backend_url, fake=CachingGeocoder(second, cache)) as client:
        refused = upload(client, content)  # the cached answer of H9 is still flagged
        assert refused.json()["error"]["code"] == "geocode_review"
        response = upload(client, content, accept_flagged=True)
        assert response.status_code == 200, response.text
        again = {h: (households(client)[h]["lat"], households(client)[h]["lon"]) for h in
                 ("H9", "H11")}  # fmt: skip
    assert second.calls == []
    assert again == points


# --- the file geocoder, configured by the settings ---------------------------------------------


def test_file_geocoder_end_to_end(backend_url: str, tmp_path: Path) -> None:
    gcj = wgs84_to_gcj02(38.4950, 106.2350)
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {
                DOOR_9: {"lat": gcj[0], "lon": gcj[1], "coord_system": "gcj02",
                         "confidence": 88, "level": "门址"},
                DOOR_10: {"lat": 38.47, "lon": 106.25, "level": "区县"},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )  # fmt: skip
    settings = {"geocoder": f"file:{answers}", "geocode_cache": str(tmp_path / "cache.sqlite3")}
    content = sheet(("H9", DOOR_9), ("H10", DOOR_10))
    with app_client(backend_url, **settings) as client:
        refused = upload(client, content)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "geocode_review"
        assert [r["row"] for r in refused.json()["error"]["flagged"]] == [3]
        response = upload(client, content, accept_flagged=True)
        assert response.status_code == 200, response.text
        h9 = households(client)["H9"]
    assert (h9["lat"], h9["lon"]) == pytest.approx(gcj02_to_wgs84(*gcj), abs=1e-6)

    with app_client(backend_url, **settings) as client:  # restarted: the cache file answers
        assert upload(client, content, accept_flagged=True).status_code == 200
        geocoder = client.app.state.geocoder  # type: ignore[attr-defined]
        assert isinstance(geocoder, CachingGeocoder)
        assert (geocoder.lookups, geocoder.hits) == (0, 2)


def test_a_geocoder_that_cannot_be_built_fails_the_rows_that_need_it(
    backend_url: str, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    with app_client(backend_url, geocoder=f"file:{answers}") as client:
        before = stored(client)
        response = upload(client, sheet(("H9", DOOR_9)))
        assert response.status_code == 422
        [field] = response.json()["error"]["fields"]
        assert field["path"] == "file.rows[2].address"
        assert "cannot be used" in field["message"] and "answers.json" in field["message"]
        assert stored(client) == before
        own_point = (
            "id,name,lat,lon,request_id,service,minutes,windows\n"
            "H9,马奶奶,38.49,106.23,H9-v,welfare_visit,30,09:00-12:00\n"
        )
        assert upload(client, own_point.encode()).status_code == 200
        # once the file is there, the next import builds the geocoder
        answers.write_text(json.dumps({DOOR_9: {"lat": 38.5, "lon": 106.2}}), encoding="utf-8")
        response = upload(client, sheet(("H9", DOOR_9)))
        assert response.status_code == 200, response.text
        assert households(client)["H9"]["lat"] == 38.5


# --- settings ----------------------------------------------------------------------------------


def test_geocoding_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DISPATCH_GEOCODER": " Baidu ",
            "DISPATCH_GEOCODER_KEY": "baidu-ak-secret",
            "DISPATCH_GEOCODE_CACHE": "/tmp/g.sqlite3",
            "DISPATCH_TRAVEL_CACHE": "/tmp/travel",
        }
    )
    assert settings.geocoder == "baidu"
    assert settings.geocoder_key is not None
    assert settings.geocoder_key.get_secret_value() == "baidu-ak-secret"
    assert "baidu-ak-secret" not in repr(settings)
    assert (settings.geocode_cache, settings.travel_cache) == ("/tmp/g.sqlite3", "/tmp/travel")
    defaults = Settings.from_env({})
    assert (defaults.geocoder, defaults.geocoder_key) == (None, None)
    assert defaults.geocode_cache == "var/geocode-cache.sqlite3"
    assert defaults.travel_cache == "var/travel-cache"
    assert Settings.from_env({"DISPATCH_GEOCODER": "file:Demo/Answers.json"}).geocoder == (
        "file:Demo/Answers.json"
    )
    assert Settings.from_env({"DISPATCH_GEOCODER": "none"}).geocoder is None
    assert "travel-time" in Settings.model_fields["travel_cache"].description  # type: ignore[operator]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISPATCH_GEOCODER": "google"}, "DISPATCH_GEOCODER: .*baidu, nominatim, amap or file"),
        ({"DISPATCH_GEOCODER": "amap"}, "DISPATCH_GEOCODER=amap needs DISPATCH_GEOCODER_KEY"),
        ({"DISPATCH_GEOCODER": "file:"}, "DISPATCH_GEOCODER: .*needs a path"),
    ],
)
def test_wrong_geocoding_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
