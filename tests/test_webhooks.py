"""The webhook layer in front of Flask (bot/webhooks.py `Webhooks`): it answers what
Flask used to answer on those paths, and nothing else changes for other paths."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest

from bot.config import new_data_key
from bot.runtime import Runtime
from bot.web import MAX_BODY, create_app

from channel_stack import TG_SECRET, stack_config, text_update


@pytest.fixture
def app(tmp_path: Path):
    config = stack_config(new_data_key(), tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")
    return create_app(runtime=Runtime(config, senders_override={}))


def _environ(path: str, body: bytes, **extra: object) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "bot.example.org",
            "SERVER_PORT": "443", "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body),
            "CONTENT_TYPE": "application/json", **extra}  # fmt: skip


def _call(app, environ: dict) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app.wsgi_app(environ, start_response))
    return str(seen["status"]), seen["headers"], body  # type: ignore[return-value]


@pytest.mark.parametrize("path", ["/webhooks/telegram", "/webhooks/whatsapp",
                                  "/webhooks/whatsapp/status"])  # fmt: skip
def test_other_methods_get_405_with_allow(app, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.get_json() == {"error": "Method Not Allowed", "status": 405}


def test_other_paths_go_on_to_flask(app) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    missing = client.post("/webhooks/nothing-here", json={})
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
    assert client.post("/webhooks/telegram/", json={}).status_code == 404  # no such route


def test_a_body_over_the_limit_without_a_length_is_refused(app) -> None:
    """Chunked: no Content-Length to refuse it by, so the read itself stops at the limit."""
    environ = _environ("/webhooks/telegram", b"{" + b" " * (MAX_BODY + 10) + b"}",
                       HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=TG_SECRET,
                       **{"wsgi.input_terminated": True})  # fmt: skip
    status, headers, body = _call(app, environ)
    assert status.startswith("413") and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == 413


def test_a_declared_length_over_the_limit_is_refused_before_the_signature(app) -> None:
    environ = _environ("/webhooks/whatsapp", b"", CONTENT_LENGTH=str(MAX_BODY + 1),
                       CONTENT_TYPE="application/x-www-form-urlencoded")  # fmt: skip
    status, _, _ = _call(app, environ)
    assert status.startswith("413")  # not 403: nothing was read or checked


def test_an_unexpected_failure_is_a_json_500_that_logs_no_text(app, monkeypatch, caplog) -> None:
    runtime = app.extensions["bot"]

    def broken(*args: object) -> bool:
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime, "accept_inbound", broken)
    caplog.set_level(logging.INFO)
    response = app.test_client().post(
        "/webhooks/telegram", json=text_update(7, 4242, "me tienen encerrada en un cuarto"),
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
    )  # fmt: skip
    assert response.status_code == 500 and response.get_json() == {"error": "internal error"}
    assert "unexpected error in a webhook" in caplog.text
    assert "encerrada" not in caplog.text and "4242" not in caplog.text


def test_a_recorded_update_is_answered_ok_and_queued(app) -> None:
    runtime = app.extensions["bot"]
    response = app.test_client().post("/webhooks/telegram", json=text_update(8, 4343, "hola"),
                                      headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert response.headers["Content-Type"] == "application/json"
    item = runtime.store.inbox_next(runtime.service.partition("telegram", "4343"), time.time())
    assert item is not None and item.inbound["text"] == "hola"


def test_a_chunked_update_under_the_limit_is_read_whole(app) -> None:
    body = json.dumps(text_update(9, 4444, "hola " + "a" * 1000)).encode()
    environ = _environ("/webhooks/telegram", body, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=TG_SECRET,
                       **{"wsgi.input_terminated": True})  # fmt: skip
    status, _, answer = _call(app, environ)
    assert status.startswith("200") and json.loads(answer) == {"ok": True}
    runtime = app.extensions["bot"]
    item = runtime.store.inbox_next(runtime.service.partition("telegram", "4444"), time.time())
    assert item is not None and item.inbound["text"].endswith("a" * 1000)
