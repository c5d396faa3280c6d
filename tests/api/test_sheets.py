"""Household and caregiver sheets: CSV and Excel, row-numbered errors, nothing stored on error."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN
from tests.conftest import fixture_data

HEADER = "id,name,lat,lon,phone,request_id,service,minutes,windows\n"


def upload(client: TestClient, kind: str, content: bytes, name: str = "sheet.csv") -> dict:
    response = client.post(
        f"/api/v1/import/{kind}", files={"file": (name, content, "text/csv")}, headers=ADMIN
    )
    return {"status": response.status_code, "body": response.json()}


def stored(client: TestClient) -> dict:
    return client.get("/api/v1/scenario", headers=ADMIN).json()


def test_households_csv_adds_and_replaces_by_id(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    csv = (
        HEADER
        + "H9,马奶奶,38.49,106.23,13900001111,H9-visit,welfare_visit,30,09:00-12:00\n"
        + "H9,,,,,H9-meal,meal_delivery,10,10:30-12:00\n"
        + "H1,刘奶奶,38.4901,106.2288,,H1-bath,bathing,60,10:00-11:30\n"
    )
    result = upload(client, "households", csv.encode("utf-8"))
    assert result["status"] == 200, result
    assert result["body"] == {
        "rows": 3,
        "created": ["H9"],
        "updated": ["H1"],
        "geocoded": [],
        "flagged": [],
    }
    households = {h["id"]: h for h in stored(client)["households"]}
    assert [r["id"] for r in households["H9"]["requests"]] == ["H9-visit", "H9-meal"]
    assert [r["id"] for r in households["H1"]["requests"]] == ["H1-bath"]
    assert len(households) == 6


def test_sheet_with_errors_reports_rows_and_stores_nothing(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    before = stored(client)
    csv = (
        HEADER
        + "H9,马奶奶,38.49,106.23,,H9-visit,welfare_visit,30,09:00-12:00\n"
        + "H10,王爷爷,abc,106.23,,H10-visit,welfare_visit,thirty,09:00-12:00\n"
    )
    result = upload(client, "households", csv.encode("utf-8"))
    assert result["status"] == 422
    error = result["body"]["error"]
    messages = [f["message"] for f in error["fields"]]
    assert any(m.startswith("第3行 / row 3: lat: not a number") for m in messages), messages
    assert any(m.startswith("第3行 / row 3: minutes:") for m in messages), messages
    assert [f["path"] for f in error["fields"]] == ["file.rows[3].lat", "file.rows[3].minutes"]
    assert "nothing was imported" in error["message"]
    assert stored(client) == before


def test_errors_found_by_the_scenario_validator_point_at_the_row(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    before = stored(client)
    csv = HEADER + "H9,马奶奶,38.49,106.23,,H9-x,welfare_visit,30,09:00-25:00\n"
    result = upload(client, "households", csv.encode("utf-8"))
    assert result["status"] == 422
    fields = result["body"]["error"]["fields"]
    assert fields[0]["path"] == "file.rows[2].windows"
    assert fields[0]["message"].startswith("第2行 / row 2: windows:")
    assert stored(client) == before


def test_wrong_columns_and_unreadable_files_are_422(client: TestClient) -> None:
    missing = upload(client, "households", b"id,name\nH1,x\n")
    assert missing["status"] == 422
    paths = [f["path"] for f in missing["body"]["error"]["fields"]]
    assert paths == ["file.columns.lat", "file.columns.lon"]
    unknown = upload(client, "households", b"id,lat,lon,colour\nH1,1,2,red\n")
    assert [f["path"] for f in unknown["body"]["error"]["fields"]] == ["file.columns.colour"]
    empty = upload(client, "households", b"")
    assert empty["status"] == 422
    broken = upload(client, "caregivers", b"PK\x03\x04garbage", "c.xlsx")
    assert broken["status"] == 422
    assert broken["body"]["error"]["fields"][0]["path"] == "file"


def test_caregivers_from_excel(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    frame = pd.DataFrame(
        [
            {
                "id": "C4",
                "name": "何静",
                "station": "S1",
                "gender": "F",
                "mode": "ebike",
                "skills": "cleaning、bathing",
                "mon": "08:00-17:00",
                "break_window": "11:30-13:30",
                "break_minutes": 60,
            }
        ]
    )
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    result = upload(client, "caregivers", buffer.getvalue(), "caregivers.xlsx")
    assert result["status"] == 200, result
    c4 = {c["id"]: c for c in stored(client)["caregivers"]}["C4"]
    assert c4["skills"] == ["bathing", "cleaning"] or set(c4["skills"]) == {"bathing", "cleaning"}
    assert c4["shifts"] == {"mon": ["08:00", "17:00"]}
    assert c4["break"] == {"window": ["11:30", "13:30"], "minutes": 60}


def test_caregiver_of_an_unknown_station_stores_nothing(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    before = stored(client)
    csv = "id,name,station,mon\nC4,何静,S1,08:00-17:00\nC5,吴刚,S7,08:00-12:00\n"
    result = upload(client, "caregivers", csv.encode("gb18030"))
    assert result["status"] == 422
    fields = result["body"]["error"]["fields"]
    assert [f["path"] for f in fields] == ["file.rows[3].station"]
    assert stored(client) == before


def test_chinese_excel_csv_in_gb18030_is_read(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    csv = "id,name,station,mon\nC4,何静,S1,8:00-17:00\n"
    result = upload(client, "caregivers", csv.encode("gb18030"))
    assert result["status"] == 200, result
    c4 = {c["id"]: c for c in stored(client)["caregivers"]}["C4"]
    assert c4["name"] == "何静"
    assert c4["shifts"] == {"mon": ["08:00", "17:00"]}
