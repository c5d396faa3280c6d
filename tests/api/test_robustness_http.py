"""Hostile input over HTTP: ids beyond the store's integers, dates that are not ISO dates, big
bodies and sheets, zip bombs, formula text, and the security headers of every answer."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.app import (
    BODY_LIMIT,
    DOCUMENT_BODY_LIMIT,
    UPLOAD_BODY_LIMIT,
    GuardMiddleware,
    body_limit,
)
from api.routers.scenario import MAX_UPLOAD_BYTES
from api.services import sheets
from api.services.sheets import MAX_EXPANDED_BYTES
from tests.api.conftest import ADMIN, new_token
from tests.conftest import fixture_data

TOO_BIG = 2**63

ID_ROUTES = [
    ("GET", "/api/v1/work-orders/{id}", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/accept", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/check-in", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/settle", "path.order_id"),
    ("GET", "/api/v1/work-orders/{id}/options", "path.order_id"),
    ("POST", "/api/v1/work-orders/{id}/confirm", "path.order_id"),
    ("GET", "/api/v1/plans/{id}", "path.plan_id"),
    ("DELETE", "/api/v1/plans/{id}", "path.plan_id"),
    ("POST", "/api/v1/plans/{id}/publish", "path.plan_id"),
    ("DELETE", "/api/v1/tokens/{id}", "path.token_id"),
    ("DELETE", "/api/v1/master/changes/{id}", "path.change_id"),
    ("GET", "/api/v1/plans/compare?a={id}&b=1", "query.a"),
    ("GET", "/api/v1/plans/compare?a=1&b={id}", "query.b"),
]


def _paths(response_json: dict) -> list[str]:
    return [f["path"] for f in response_json["error"]["fields"]]


def test_an_id_outside_the_databases_integers_answers_422_naming_it(client: TestClient) -> None:
    for method, template, field in ID_ROUTES:
        for value in (TOO_BIG, 2**31, 10**30, 0, -1):
            response = client.request(method, template.format(id=value), headers=ADMIN)
            assert response.status_code == 422, (method, template, value, response.text)
            assert field in _paths(response.json())


def test_the_largest_id_is_looked_up(client: TestClient) -> None:
    response = client.get(f"/api/v1/plans/{2**31 - 1}", headers=ADMIN)
    assert response.status_code == 404, response.text


DATE_QUERIES = [
    ("/api/v1/work-orders?date={d}", "query.date"),
    ("/api/v1/work-orders?date_from={d}&date_to=2026-01-06", "query.date_from"),
    ("/api/v1/work-orders?date_from=2026-01-05&date_to={d}", "query.date_to"),
    ("/api/v1/caregivers/C1/assignments?date={d}", "query.date"),
    ("/api/v1/caregivers/C1/assignments?from={d}&to=2026-01-06", "query.from"),
    ("/api/v1/work-orders/summary?date={d}", "query.date"),
    ("/api/v1/work-orders/flags?date={d}", "query.date"),
    ("/api/v1/routes?date={d}", "query.date"),
    ("/api/v1/master?on={d}", "query.on"),
    ("/api/v1/master/changes?from={d}", "query.from"),
    ("/api/v1/plans/in-force?from={d}", "query.from"),
]


def test_a_date_in_the_query_must_be_an_iso_date(client: TestClient) -> None:
    for template, field in DATE_QUERIES:
        for bad in ("0", "1700000000", "2026-01-05T00:00:00", "20260105", "5.1.2026"):
            response = client.get(template.format(d=bad), headers=ADMIN)
            assert response.status_code == 422, (template, bad, response.text)
            assert field in _paths(response.json())


BODY_DATES = [
    ("POST", "/api/v1/caregivers/C1/absence", {}, "date", "body.date"),
    (
        "POST",
        "/api/v1/work-orders",
        {"household": "H1", "service": "cleaning"},
        "date",
        "body.date",
    ),
    (
        "POST",
        "/api/v1/master/changes",
        {"kind": "caregiver", "id": "C1", "data": None},
        "effective_from",
        "body.effective_from",
    ),
    (
        "POST",
        "/api/v1/households",
        {"household": {"id": "H9", "lat": 38.5, "lon": 106.2, "requests": []}},
        "effective_from",
        "body.effective_from",
    ),
    ("POST", "/api/v1/plans", {"solver": "greedy"}, "week_start", "body.week_start"),
]


def test_a_date_in_a_body_must_be_an_iso_date(client: TestClient) -> None:
    for method, path, body, key, field in BODY_DATES:
        for bad in (0, 1700000000, "0", "2026-01-05T00:00:00", 20260105):
            response = client.request(method, path, json={**body, key: bad}, headers=ADMIN)
            assert response.status_code == 422, (path, bad, response.text)
            assert field in _paths(response.json())


def test_plan_query_week_start_must_be_an_iso_date(client: TestClient) -> None:
    response = client.post("/api/v1/plans/check?week_start=0", json={"routes": []}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "query.week_start" in _paths(response.json())


# --- sheet imports: off the event loop, bounded, no formulas ----------------------------------


def _upload(client: TestClient, kind: str, content: bytes, name: str) -> Any:
    files = {"file": (name, content, "application/octet-stream")}
    return client.post(f"/api/v1/import/{kind}", files=files, headers=ADMIN)


def test_health_answers_while_a_sheet_import_runs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, released = threading.Event(), threading.Event()

    def slow_import(
        session: Any,
        content: bytes,
        filename: str = "",
        *,
        packages: Any = None,
        geocoder: Any = None,
        accept_flagged: bool = False,
    ) -> sheets.ImportReport:
        entered.set()
        released.wait(timeout=60)
        return sheets.ImportReport(rows=0, created=(), updated=())

    monkeypatch.setattr(sheets, "import_households", slow_import)
    answers: dict[str, Any] = {}
    importer = threading.Thread(
        target=lambda: answers.update(imp=_upload(client, "households", b"id\n", "h.csv"))
    )
    importer.start()
    try:
        assert entered.wait(timeout=30), "the import never started"
        health_done = threading.Event()

        def ask_health() -> None:
            answers["health"] = client.get("/api/v1/health")
            health_done.set()

        threading.Thread(target=ask_health).start()
        # The import is still inside pandas (it waits for `released`): health must not wait.
        assert health_done.wait(timeout=30), "health waited for the import"
        assert answers["health"].status_code == 200
        assert importer.is_alive()
    finally:
        released.set()
        importer.join(timeout=60)
    assert answers["imp"].status_code == 200, answers["imp"].text


def test_a_sheet_over_the_upload_limit_answers_413(client: TestClient) -> None:
    row = "H1,刘奶奶,38.49,106.22\n".encode()
    big = b"id,name,lat,lon\n" + row * (MAX_UPLOAD_BYTES // len(row) + 1)
    assert MAX_UPLOAD_BYTES < len(big) < UPLOAD_BODY_LIMIT - 1024
    response = _upload(client, "households", big, "big.csv")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert client.get("/api/v1/scenario", headers=ADMIN).status_code == 404


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            zeros = b"\0" * (1024 * 1024)
            for _ in range(MAX_EXPANDED_BYTES // len(zeros) + 2):
                member.write(zeros)
    return buffer.getvalue()


def test_an_xlsx_that_expands_beyond_its_limit_answers_413_before_it_is_read(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _zip_bomb()
    assert len(bomb) < MAX_UPLOAD_BYTES

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pandas read a zip bomb")

    monkeypatch.setattr(pd, "read_excel", never)
    response = _upload(client, "caregivers", bomb, "bomb.xlsx")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["fields"][0]["path"] == "file"


@pytest.mark.parametrize(
    "cell", ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|x", "-2+3+cmd|' /C x'"]
)
def test_sheet_cells_that_run_as_formulas_are_refused_naming_row_and_column(
    client: TestClient, cell: str
) -> None:
    csv = (
        "id,name,address,lat,lon,phone,notes\n"
        "H8,王奶奶,丽景街道,38.49,-106.22,+86 138 1234 5678,-\n"
        f'H9,马奶奶,丽景街道,38.49,106.22,13800001111,"{cell}"\n'
    )
    response = _upload(client, "households", csv.encode(), "h.csv")
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["path"] for f in fields] == ["file.rows[3].notes"]
    assert "第3行 / row 3" in fields[0]["message"]
    assert client.get("/api/v1/scenario", headers=ADMIN).status_code == 404


def test_signed_numbers_and_phone_numbers_are_not_formulas() -> None:
    for text in ("-106.22", "+86 138 1234 5678", "+86-951-1234567", "-", "(0951) 123"):
        assert not sheets.is_formula(text), text
    for text in ("=1+1", "@x", "+A1", "-A1+1", "\tx", "\r=1"):
        assert sheets.is_formula(text), text


# --- request size limit and security headers ---------------------------------------------------


def test_a_json_body_over_the_limit_answers_413_before_it_is_read(client: TestClient) -> None:
    client.post("/api/v1/scenario", json=fixture_data("tiny_scenario.json"), headers=ADMIN)
    caregiver = new_token(client, "caregiver", "C1")
    body = b'{"lat": 38.5, "lon": 106.2, "notes": "' + b"x" * (BODY_LIMIT + 1) + b'"}'
    response = client.post(
        "/api/v1/work-orders/1/check-in",
        content=body,
        headers={**caregiver, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_without_content_length_is_counted_against_the_limit(client: TestClient) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'{"household": "H1", "service": "cleaning", "notes": "'
        for _ in range(BODY_LIMIT // 65536 + 50):
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/work-orders",
        content=chunks(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit() -> None:
    chunk = b"x" * 65536
    pulled: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        pulled.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": True}  # never ends

    async def send(message: Message) -> None:
        sent.append(message)

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    scope: Scope = {"type": "http", "method": "POST", "path": "/api/v1/work-orders", "headers": []}
    asyncio.run(GuardMiddleware(reader)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"payload_too_large" in sent[1]["body"]
    assert sum(pulled) == (BODY_LIMIT // len(chunk) + 1) * len(chunk)  # no chunk more


def test_documents_and_uploads_have_their_own_limits() -> None:
    assert body_limit("/api/v1/work-orders") == BODY_LIMIT
    assert body_limit("/api/v1/scenario") == DOCUMENT_BODY_LIMIT
    assert body_limit("/api/v1/import/households") == UPLOAD_BODY_LIMIT > MAX_UPLOAD_BYTES


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/v1/health", {}, 200),
        ("/api/v1/plans", ADMIN, 200),
        ("/api/v1/plans", {}, 401),
        ("/api/v1/plans/99", ADMIN, 404),
        ("/api/v1/plans/x", ADMIN, 422),
        ("/api/v1/nowhere", {}, 404),
        ("/openapi.json", {}, 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_docs_page_may_load_swagger_ui(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in policy
    assert response.headers["x-frame-options"] == "DENY"


# --- the OpenAPI document -----------------------------------------------------------------------


def test_the_openapi_document_lists_every_status_an_operation_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    error = "#/components/schemas/ErrorResponse"

    def statuses(method: str, path: str) -> dict[str, Any]:
        return paths[f"/api/v1{path}"][method]["responses"]

    for method, path, expected in (
        ("get", "/plans/{plan_id}", {"200", "401", "403", "404", "422"}),
        ("post", "/plans/{plan_id}/publish", {"200", "401", "403", "404", "409", "422"}),
        ("delete", "/tokens/{token_id}", {"200", "401", "403", "404", "409", "422"}),
        ("post", "/work-orders/{order_id}/check-in", {"200", "401", "403", "404", "409", "413"}),
        ("post", "/import/households", {"200", "401", "403", "409", "413", "422"}),
        ("get", "/plans", {"200", "401", "403"}),
    ):
        answers = statuses(method, path)
        assert expected <= set(answers), (method, path, sorted(answers))
        for status in ("401", "403", "404", "409", "413"):
            if status in answers:
                schema = answers[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": error}, (method, path, status)
    assert set(statuses("get", "/health")) == {"200"}
    assert "422" not in statuses("get", "/plans")
    # a status a route describes itself keeps its own model
    own = statuses("post", "/plans")["422"]["content"]["application/json"]["schema"]
    assert own == {"$ref": "#/components/schemas/PlanViolationsResponse"}


# --- what the schemathesis run found -------------------------------------------------------------


def test_a_method_a_path_does_not_take_answers_405_with_every_allowed_method(
    client: TestClient,
) -> None:
    for method, path, allowed in (
        ("OPTIONS", "/api/v1/tokens", "GET, POST"),
        ("GET", "/api/v1/plans/check", "POST"),
        ("DELETE", "/api/v1/plans/compare", "GET"),
        ("PUT", "/api/v1/plans/7", "DELETE, GET"),
    ):
        response = client.request(method, path, headers=ADMIN)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_body_says_what_it_means_false_is_not_zero(client: TestClient) -> None:
    for body, field in (
        ({"solver": "greedy", "seed": False}, "body.seed"),
        ({"solver": "greedy", "weeks": True}, "body.weeks"),
        ({"solver": "greedy", "time_limit": "5"}, "body.time_limit"),
    ):
        response = client.post("/api/v1/plans", json=body, headers=ADMIN)
        assert response.status_code == 422, (body, response.text)
        assert field in _paths(response.json())


def test_an_instant_in_the_query_must_be_iso_8601(client: TestClient) -> None:
    response = client.get("/api/v1/work-orders/summary?now=0.5", headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "query.now" in _paths(response.json())


def test_instants_in_answers_carry_their_offset(client: TestClient) -> None:
    tokens = client.get("/api/v1/tokens", headers=ADMIN).json()
    assert tokens
    for token in tokens:
        assert datetime.fromisoformat(token["created_at"]).tzinfo is not None, token
