"""The service's first endpoint, its error shape, and settings from the environment."""

from __future__ import annotations

import time
from datetime import datetime
from importlib import metadata

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from api.app import VERSION, create_app
from api.deps import SettingsDep
from api.settings import Settings, SettingsError
from dispatch.scenario_io import DocumentError, ValidationIssue


class Item(BaseModel):
    lat: float
    lon: float


class Probe(BaseModel):
    name: str
    items: list[Item]


def probe_app(settings: Settings | None = None) -> FastAPI:
    """The real app plus a few routes that exercise validation, errors and dependencies."""
    app = create_app(settings or Settings())

    @app.post("/api/v1/_probe")
    def probe(body: Probe, day: int = 0) -> dict[str, int]:
        return {"items": len(body.items), "day": day}

    @app.get("/api/v1/_settings")
    def show_settings(settings: SettingsDep) -> dict[str, str]:
        return {"database_url": settings.database_url}

    @app.get("/api/v1/_document")
    def bad_document() -> None:
        raise DocumentError(
            [ValidationIssue("households[0].lat", "expected a number"), ValidationIssue("", "x")]
        )

    @app.get("/api/v1/_conflict")
    def conflict() -> None:
        raise HTTPException(409, "plan is being solved / 排班计算中")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(probe_app())


# --- health ----------------------------------------------------------------------------------


def test_health_reports_status_versions_and_time(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "solver", "time", "warm"}
    assert body["status"] == "ok"
    assert body["version"] == VERSION
    assert body["version"][0].isdigit()
    assert body["solver"] == {"ortools": metadata.version("ortools")}
    stamp = datetime.fromisoformat(body["time"])
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_health_says_when_the_routing_engine_is_compiled() -> None:
    with TestClient(probe_app()) as started:
        deadline = time.monotonic() + 120
        while not started.get("/api/v1/health").json()["warm"]:
            assert time.monotonic() < deadline, "the engine never finished compiling"
            time.sleep(0.2)


def test_module_level_app_serves_health() -> None:
    from api.app import app

    assert TestClient(app).get("/api/v1/health").json()["status"] == "ok"


def test_openapi_docs_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    spec = client.get("/openapi.json").json()
    assert "/api/v1/health" in spec["paths"]
    assert "HealthPublic" in spec["components"]["schemas"]


# --- errors ----------------------------------------------------------------------------------


def test_validation_errors_name_each_field(client: TestClient) -> None:
    response = client.post(
        "/api/v1/_probe?day=monday", json={"items": [{"lat": 38.5, "lon": "east"}, {"lat": 1}]}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    paths = [f["path"] for f in error["fields"]]
    assert sorted(paths) == sorted(
        ["body.name", "body.items[0].lon", "body.items[1].lon", "query.day"]
    )
    assert all(f["message"] for f in error["fields"])
    assert "body.name" in error["message"]


def test_valid_request_passes(client: TestClient) -> None:
    response = client.post(
        "/api/v1/_probe?day=2", json={"name": "S1", "items": [{"lat": 38.5, "lon": 106.2}]}
    )
    assert response.status_code == 200
    assert response.json() == {"items": 1, "day": 2}


def test_malformed_json_points_at_the_body(client: TestClient) -> None:
    response = client.post(
        "/api/v1/_probe", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body"]


def test_document_errors_keep_their_field_paths(client: TestClient) -> None:
    response = client.get("/api/v1/_document")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_document"
    assert error["fields"] == [
        {"path": "body.households[0].lat", "message": "expected a number"},
        {"path": "body", "message": "x"},
    ]


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found", "fields": []}}


def test_wrong_method_keeps_allow_header(client: TestClient) -> None:
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET"


def test_http_exceptions_use_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/_conflict")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "plan is being solved / 排班计算中",
        "fields": [],
    }


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_with_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///./var/dispatch.sqlite3"
    assert settings.demo_scenario == "data/demo/district.json"
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "info")


def test_settings_read_prefixed_variables() -> None:
    settings = Settings.from_env(
        {
            "DISPATCH_HOST": "0.0.0.0",
            "DISPATCH_PORT": "9000",
            "DISPATCH_LOG_LEVEL": "DEBUG",
            "DISPATCH_DEMO_SCENARIO": "data/demo/tiny.json",
            "PORT": "1",  # not ours
        }
    )
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "debug")
    assert settings.demo_scenario == "data/demo/tiny.json"


def test_database_url_from_either_variable() -> None:
    plain = {"DATABASE_URL": "postgresql://db/dispatch"}
    assert Settings.from_env(plain).database_url == "postgresql://db/dispatch"
    both = {**plain, "DISPATCH_DATABASE_URL": "sqlite:///tmp/x.sqlite3"}
    assert Settings.from_env(both).database_url == "sqlite:///tmp/x.sqlite3"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DISPATCH_PORT": "eighty"}, "DISPATCH_PORT"),
        ({"DISPATCH_PORT": "70000"}, "DISPATCH_PORT"),
        ({"DISPATCH_LOG_LEVEL": "loud"}, "DISPATCH_LOG_LEVEL"),
    ],
)
def test_invalid_environment_names_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 1


def test_settings_dependency_gives_the_apps_settings() -> None:
    client = TestClient(probe_app(Settings(database_url="sqlite:///:memory:")))
    assert client.get("/api/v1/_settings").json() == {"database_url": "sqlite:///:memory:"}


def test_create_app_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_DATABASE_URL", "sqlite:///env.sqlite3")
    assert create_app().state.settings.database_url == "sqlite:///env.sqlite3"
    monkeypatch.setenv("DISPATCH_PORT", "0")
    with pytest.raises(SettingsError, match="DISPATCH_PORT"):
        create_app()
