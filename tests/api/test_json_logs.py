"""``DISPATCH_LOG_FORMAT=json``: one JSON object per log line, with the request id the answer
carries, and no bearer token, phone or ID number in full."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import configure_logging, create_app
from api.metrics import JsonFormatter, request_id
from api.settings import Settings
from tests.api.conftest import ADMIN, ADMIN_TOKEN, make_settings

PHONE = "13812345678"
MASKED = "138****5678"


@pytest.fixture
def client(backend_url: str) -> Iterator[TestClient]:
    """The app with JSON logs; the loggers are set back to text afterwards."""
    app = create_app(make_settings(backend_url, log_format="json"))
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        configure_logging(Settings(load_demo=False))


@pytest.fixture
def lines(client: TestClient) -> Iterator[io.StringIO]:
    """What the JSON handler of the ``api`` logger writes."""
    handlers = [h for h in logging.getLogger("api").handlers if type(h).__name__ == "_JsonHandler"]
    assert len(handlers) == 1
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_hotline_call_is_one_json_line_with_the_request_id(
    client: TestClient, published: dict[str, Any], lines: io.StringIO
) -> None:
    body = {"household": "H1", "service": "welfare_visit", "now": "08:00"}
    response = client.post("/api/v1/work-orders", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    rid = response.headers["X-Request-ID"]
    assert len(rid) == 32 and all(c in "0123456789abcdef" for c in rid)

    calls = [r for r in records(lines) if r["message"] == "hotline call"]
    assert len(calls) == 1
    call = calls[0]
    assert call["request_id"] == rid
    assert call["level"] == "INFO" and call["logger"] == "api.hotline"
    assert call["time"].endswith("+00:00")
    answer = response.json()
    assert call["work_order"] == answer["work_order"]
    assert call["household"] == "H1"
    assert call["service"] == "welfare_visit" and call["urgency"] == "normal"
    assert call["options"] == len(answer["options"])
    if answer["options"]:
        assert call["best_caregiver"] == answer["options"][0]["caregiver"]
        assert call["best_eta"] == answer["options"][0]["eta"]
    assert isinstance(call["ms"], float) and call["ms"] >= 0
    text = lines.getvalue()
    assert ADMIN_TOKEN not in text and PHONE not in text


def test_the_client_request_id_is_kept_and_a_new_callers_phone_masked(
    client: TestClient, published: dict[str, Any], lines: io.StringIO
) -> None:
    caller = {"name": "王大爷", "lat": 38.49, "lon": 106.23, "phone": PHONE}
    body = {"caller": caller, "service": "welfare_visit", "now": "08:00"}
    sent = "call-2026.12.06_A"
    response = client.post(
        "/api/v1/work-orders", json=body, headers={**ADMIN, "X-Request-ID": sent}
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == sent
    call = next(r for r in records(lines) if r["message"] == "hotline call")
    assert call["request_id"] == sent
    assert call["caller_phone"] == MASKED and call["caller_name"] == "王**"
    text = lines.getvalue()
    assert PHONE not in text and "王大爷" not in text and ADMIN_TOKEN not in text

    # An id that is not a sane token is replaced, never echoed.
    odd = client.get("/api/v1/health", headers={"X-Request-ID": "x" * 65})
    assert odd.headers["X-Request-ID"] != "x" * 65 and len(odd.headers["X-Request-ID"]) == 32
    bad = client.get("/api/v1/health", headers={"X-Request-ID": 'a b"}'})
    assert bad.headers["X-Request-ID"] != 'a b"}'


def test_formatter_masks_messages_extras_and_tokens() -> None:
    logger = logging.getLogger("api.test_json_logs")
    record = logger.makeRecord(
        logger.name,
        logging.WARNING,
        __file__,
        1,
        "caller %s id %s sent Authorization: Bearer %s",
        (PHONE, "110105194912310021", ADMIN_TOKEN),
        None,
        extra={"phone": PHONE, "nested": {"ids": ["110105194912310021"]}, "count": 3},
    )
    token = request_id.set("rid-1")
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert entry["request_id"] == "rid-1"
    assert entry["message"] == (
        f"caller {MASKED} id 110***********0021 sent Authorization: Bearer ***"
    )
    assert entry["phone"] == MASKED
    assert entry["nested"] == {"ids": ["110***********0021"]}
    assert entry["count"] == 3
    assert entry["level"] == "WARNING" and entry["logger"] == "api.test_json_logs"


def test_text_format_leaves_no_json_handler(backend_url: str) -> None:
    create_app(make_settings(backend_url, log_format="json"))
    assert logging.getLogger("api").propagate is False
    create_app(make_settings(backend_url))
    for name in ("api", "dispatch", "solver", "uvicorn.access"):
        logger = logging.getLogger(name)
        assert not [h for h in logger.handlers if type(h).__name__ == "_JsonHandler"]
    assert logging.getLogger("api").propagate is True
    assert Settings.from_env({"DISPATCH_LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"DISPATCH_METRICS_PUBLIC": "true"}).metrics_public is True
