"""Local HTTP servers that speak just enough of the Telegram Bot API and of Twilio's
Messages API for the real client libraries to talk to them (the real servers are
unreachable from here). They record what they receive and can be told to fail."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class _Base(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.headers.get("Content-Type", "")
        if "json" in kind:
            return json.loads(raw or b"{}")
        return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}

    def _bytes(self, data: bytes | None, mime: str = "application/octet-stream") -> None:
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[_Base]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.received: list[dict[str, Any]] = []
        self.failures: deque[int] = deque()  # status codes to answer next, in order
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def next_failure(self) -> int | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _TelegramHandler(_Base):
    def do_POST(self) -> None:
        # /bot<token>/<method>
        _, _, rest = self.path.partition("/bot")
        token, _, method = rest.partition("/")
        params = self._body()
        failure = self.server.next_failure()
        if failure:
            extra = {"parameters": {"retry_after": 1}} if failure == 429 else {}
            self._send(
                failure, {"ok": False, "error_code": failure, "description": "injected", **extra}
            )
            return
        with self.server.lock:
            self.server.received.append({"method": method, "token": token, **params})
        if method == "getMe":
            result: Any = {
                "id": 1,
                "is_bot": True,
                "first_name": "Orientación",
                "username": "orienta_bot",
            }
        elif method == "sendMessage":
            result = {
                "message_id": len(self.server.received),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        elif method == "getFile":  # a voice note or photo the test put in `files`
            file_id = params.get("file_id", "")
            data = self.server.files.get(file_id)  # type: ignore[attr-defined]
            if data is None:
                self._send(400, {"ok": False, "error_code": 400, "description": "file not found"})
                return
            result = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                      "file_size": len(data), "file_path": f"media/{file_id}"}  # fmt: skip
        elif method == "getUpdates":
            if not self.server.updates:  # type: ignore[attr-defined]
                time.sleep(0.2)  # a short long-poll, so pollers do not spin
            with self.server.lock:
                result = list(self.server.updates)  # type: ignore[attr-defined]
                self.server.updates.clear()  # type: ignore[attr-defined]
        else:
            result = True
        self._send(200, {"ok": True, "result": result})


class _TelegramFiles(_TelegramHandler):
    def do_GET(self) -> None:
        # /file/bot<token>/media/<file_id>: the download URL getFile pointed to
        _, _, rest = self.path.partition("/file/bot")
        _, _, path = rest.partition("/")
        data = self.server.files.get(path.removeprefix("media/"))  # type: ignore[attr-defined]
        self._bytes(data)


class _TwilioHandler(_Base):
    def do_GET(self) -> None:
        """A media URL: only with the account's credentials, as Twilio requires."""
        expected = "Basic " + base64.b64encode(self.server.auth.encode()).decode()  # type: ignore[attr-defined]
        if self.headers.get("Authorization") != expected:
            self._bytes(None)
            return
        self._bytes(self.server.media.get(self.path))  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        params = self._body()
        if self.path.startswith("/v1/Content"):  # content.twilio.com: interactive menus
            self._content(params)
            return
        failure = self.server.next_failure()
        if failure:
            self._send(failure, {"code": 20429 if failure == 429 else 20500, "message": "injected",
                                 "status": failure})  # fmt: skip
            return
        with self.server.lock:
            content = self.server.contents.get(params.get("ContentSid", ""))  # type: ignore[attr-defined]
            if content is not None:  # what a reader sees: the text version, and the menu
                params = {**params, "Body": content["types"]["twilio/text"]["body"],
                          "content": content["types"]}  # fmt: skip
            self.server.received.append(
                {"path": self.path, **params, "authorization": self.headers.get("Authorization")}
            )
            sid = f"SM{len(self.server.received):032d}"
        self._send(201, {"sid": sid, "status": "queued", "to": params.get("To"),
                         "from": params.get("From"), "body": params.get("Body")})  # fmt: skip

    def _content(self, params: dict[str, Any]) -> None:
        with self.server.lock:
            if self.server.content_failures:  # type: ignore[attr-defined]
                status = self.server.content_failures.pop(0)  # type: ignore[attr-defined]
                self._send(status, {"code": 20500, "message": "injected", "status": status})
                return
            sid = f"HX{len(self.server.contents) + 1:032d}"  # type: ignore[attr-defined]
            self.server.contents[sid] = params  # type: ignore[attr-defined]
        self._send(201, {"sid": sid, "friendly_name": params.get("friendly_name"),
                         "language": params.get("language"), "types": params.get("types")})  # fmt: skip


def fake_telegram() -> FakeServer:
    server = FakeServer(_TelegramFiles)
    server.updates = []  # type: ignore[attr-defined]
    server.files = {}  # type: ignore[attr-defined]  # file_id -> bytes, for getFile
    return server


def fake_twilio() -> FakeServer:
    server = FakeServer(_TwilioHandler)
    server.contents = {}  # type: ignore[attr-defined]
    server.media = {}  # type: ignore[attr-defined]  # URL path -> bytes
    server.auth = ""  # type: ignore[attr-defined]  # "AccountSid:AuthToken" a media GET needs
    server.content_failures = []  # type: ignore[attr-defined]
    return server


def messages(server: FakeServer, method: str = "sendMessage") -> list[dict[str, Any]]:
    with server.lock:
        return [r for r in server.received if r.get("method", method) == method]
