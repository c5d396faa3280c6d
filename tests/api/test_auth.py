"""Tokens and roles: 401 without a token, 403 for the wrong role, the bootstrap admin."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.privacy import RedactingFilter, mask_id_number, mask_phone, redact
from tests.api.conftest import ADMIN, bearer, make_settings, new_token
from tests.conftest import fixture_data


def test_requests_without_a_valid_token_are_401(client: TestClient) -> None:
    missing = client.get("/api/v1/plans")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/plans", headers=bearer("not-a-token")).status_code == 401


def test_only_admins_manage_tokens(client: TestClient) -> None:
    dispatcher = new_token(client, "dispatcher")
    response = client.post("/api/v1/tokens", json={"role": "admin"}, headers=dispatcher)
    assert response.status_code == 403
    assert "dispatcher" in response.json()["error"]["message"]


def test_revoked_tokens_stop_working(client: TestClient) -> None:
    planner = new_token(client, "planner")
    assert client.get("/api/v1/plans", headers=planner).status_code == 200
    listed = client.get("/api/v1/tokens", headers=ADMIN).json()
    token_id = next(t["id"] for t in listed if t["role"] == "planner")
    assert "token" not in listed[0]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/plans", headers=planner).status_code == 401


def test_caregiver_token_needs_a_stored_caregiver(client: TestClient) -> None:
    missing = client.post("/api/v1/tokens", json={"role": "caregiver"}, headers=ADMIN)
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["path"] == "body.caregiver_id"
    unknown = client.post(
        "/api/v1/tokens", json={"role": "caregiver", "caregiver_id": "C1"}, headers=ADMIN
    )
    assert unknown.status_code == 422  # no scenario stored yet
    wrong_role = client.post(
        "/api/v1/tokens", json={"role": "planner", "caregiver_id": "C1"}, headers=ADMIN
    )
    assert wrong_role.status_code == 422
    bad_role = client.post("/api/v1/tokens", json={"role": "boss"}, headers=ADMIN)
    assert bad_role.status_code == 422
    assert bad_role.json()["error"]["fields"][0]["path"] == "body.role"


def test_bootstrap_admin_token_is_generated_and_printed_once(
    backend_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(backend_url, admin_token=None)
    with TestClient(create_app(settings)) as first:
        printed = capsys.readouterr().err
        assert "admin token" in printed
        token = printed.strip().split()[-1]
        assert first.get("/api/v1/tokens", headers=bearer(token)).status_code == 200
    with TestClient(create_app(settings)) as second:
        assert "admin token" not in capsys.readouterr().err
        assert second.get("/api/v1/tokens", headers=bearer(token)).status_code == 200


def test_planners_see_elders_contact_data_masked(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    csv = "id,lat,lon,phone,id_number\nH9,38.49,106.23,13812345678,110105194912310021\n"
    files = {"file": ("h.csv", csv.encode(), "text/csv")}
    assert client.post("/api/v1/import/households", files=files, headers=ADMIN).status_code == 200
    full = client.get("/api/v1/households/H9", headers=new_token(client, "dispatcher")).json()
    assert (full["phone"], full["id_number"]) == ("13812345678", "110105194912310021")
    masked = client.get("/api/v1/households/H9", headers=new_token(client, "planner")).json()
    assert (masked["phone"], masked["id_number"]) == ("138****5678", "110***********0021")
    # Contact data is not part of the scenario format, so the export never carries it.
    assert "13812345678" not in client.get("/api/v1/scenario", headers=ADMIN).text


def test_masking_and_log_redaction() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) is None
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert redact("call 13812345678 now") == "call 138****5678 now"
    record = logging.LogRecord("api", logging.INFO, __file__, 1, "phone %s", ("13812345678",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "phone 138****5678"
