"""The senders' pooled client (bot/channels/poster.py): the environment read once, as
requests reads it, and every answer returned as it came."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.channels.delivery import TransientError
from bot.channels.poster import Poster

from fakes.servers import fake_twilio


def test_no_proxy_names_the_hosts_reached_directly(monkeypatch) -> None:
    server, proxy = fake_twilio(), fake_twilio()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        Poster("twilio", server.url, 2).post("/2010-04-01/Accounts/AC1/Messages.json",
                                             {"To": "whatsapp:+51900000003", "Body": "hola"})  # fmt: skip
        assert [r["Body"] for r in server.received] == ["hola"] and proxy.received == []
    finally:
        server.stop()
        proxy.stop()


class _HtmlPage(BaseHTTPRequestHandler):
    """What a proxy or a load balancer answers when the platform does not."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html>502 Bad Gateway</html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_answer_that_is_not_json_comes_back_without_a_body() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        poster = Poster("telegram", f"http://127.0.0.1:{server.server_port}", 2)
        answer = poster.post("/sendMessage", {"chat_id": "1", "text": "x"})
        assert (answer.status, answer.body) == (502, None)
        poster.close()
    finally:
        server.shutdown()
        server.server_close()


def test_no_answer_is_a_transient_error_named_for_the_platform() -> None:
    with pytest.raises(TransientError, match=r"^telegram: "):
        Poster("telegram", "http://127.0.0.1:9", 1).post("/sendMessage", {"chat_id": "1"})
