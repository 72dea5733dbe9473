"""Fake Telegram and Twilio servers for the benchmarks: they answer after a real
platform's round trip and enforce the platforms' published limits with 429s.

- Telegram (Bot API FAQ): about 30 messages/s for a bot, and about one per second in
  one chat, "short bursts" allowed: here a token bucket of 3 per chat, refilled 1/s.
- Twilio (WhatsApp best practices): a sender's throughput is 10 messages/s by default,
  50 at most on request; Twilio queues what exceeds it. Here 80/s, as the issue that
  asked for this benchmark sets, answered 429 beyond.

Every accepted message is recorded with its arrival time and recipient.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class Platform(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, rtt: float, global_per_s: float, chat_burst: int | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rtt, self.global_per_s, self.chat_burst = rtt, global_per_s, chat_burst
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str, str]] = []  # (time, recipient, text)
        self.rejected = 0
        self._window: deque[float] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}
        self.in_flight = self.max_in_flight = 0
        self.by_recipient: dict[str, list[float]] = defaultdict(list)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def admit(self, recipient: str, now: float) -> bool:
        with self.lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.global_per_s:
                self.rejected += 1
                return False
            if self.chat_burst is not None:
                tokens, at = self._buckets.get(recipient, (float(self.chat_burst), now))
                tokens = min(float(self.chat_burst), tokens + (now - at))
                if tokens < 1.0:
                    self.rejected += 1
                    return False
                self._buckets[recipient] = (tokens - 1.0, now)
            self._window.append(now)
            return True

    def record(self, recipient: str, text: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.arrivals.append((now, recipient, text))
            self.by_recipient[recipient].append(now)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Platform
    protocol_version = "HTTP/1.1"  # keep-alive, as the real platforms

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "json" in self.headers.get("Content-Type", ""):
            params = json.loads(raw or b"{}")
        else:
            params = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            time.sleep(self.server.rtt)
            self._answer(params)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _answer(self, params: dict[str, Any]) -> None:
        telegram = "/bot" in self.path
        if telegram and not self.path.endswith("/sendMessage"):
            return self._send(200, {"ok": True, "result": True})
        if not telegram and not self.path.endswith("/Messages.json"):
            return self._send(200, {})  # not a message (the client's other calls): not counted
        recipient = str(params.get("chat_id") if telegram else params.get("To"))
        if not self.server.admit(recipient, time.monotonic()):
            if telegram:
                return self._send(429, {"ok": False, "error_code": 429,
                                        "description": "Too Many Requests",
                                        "parameters": {"retry_after": 1}})  # fmt: skip
            return self._send(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
        self.server.record(recipient, str(params.get("text") or params.get("Body") or ""))
        if telegram:
            chat = {"id": int(recipient), "type": "private"}
            return self._send(200, {"ok": True, "result": {"message_id": 1, "date": 0,
                                                           "chat": chat, "text": "x"}})  # fmt: skip
        return self._send(201, {"sid": "SM" + "0" * 32, "status": "queued"})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def telegram(rtt: float = 0.1) -> Platform:
    return Platform(rtt, global_per_s=30, chat_burst=3)


def twilio(rtt: float = 0.1) -> Platform:
    return Platform(rtt, global_per_s=80, chat_burst=None)
