"""Webhook and end-to-end throughput of `python -m bot run`, as ratios against an empty
Flask endpoint served the same way, measured in the same run by the same load client
(16 keep-alive connections; benchmarks/empty_app.py), on SQLite and on Redis.

- `baseline_rps`: the empty endpoint.
- `webhook_rps`, `webhook_ratio`: signed Telegram and WhatsApp webhooks (alternating),
  each from a different person, while `bot run`'s worker and sender process them.
- `e2e_msgs_per_s`, `e2e_ratio`: first messages of many people, from the webhook to the
  last reply received by the fake platforms (no round-trip delay; the rate limits set
  high, so the software is measured, not the platforms' limits).
- `e2e_p50_ms`, `e2e_p99_ms`: webhook to first reply, at half that rate.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import redis
from twilio.request_validator import RequestValidator

from benchmarks.chaos import free_port
from benchmarks.platforms import Platform
from benchmarks.timing import cli, each_adapter
from bot import paths
from bot.config import new_data_key

TG_TOKEN, TG_SECRET = "123456:BENCH", "bench-webhook-secret"
TW_SID, TW_TOKEN, TW_NUMBER = "AC" + "2" * 32, "bench-auth-token", "+14155238886"
REDIS_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' own database, flushed after
CONNECTIONS = 16
Request = tuple[str, bytes, dict[str, str]]


def wait_up(port: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def process(args: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(args, cwd=paths.ROOT, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_up(port)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class People:
    """Signed webhooks, each from a new person ("hola"): a Telegram update or a Twilio
    form, alternating, as the platforms send them."""

    def __init__(self, base: str, start: int = 1) -> None:
        self.base, self.counter = base, itertools.count(start)
        self.validator = RequestValidator(TW_TOKEN)

    def telegram(self, n: int) -> Request:
        update = {"update_id": n, "message": {
            "message_id": n, "date": int(time.time()), "text": "hola",
            "chat": {"id": n, "type": "private"},
            "from": {"id": n, "is_bot": False, "first_name": "X", "language_code": "es"}}}  # fmt: skip
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}  # fmt: skip
        return "/webhooks/telegram", json.dumps(update).encode(), headers

    def whatsapp(self, n: int) -> Request:
        form = {"MessageSid": f"SM{n:032d}", "From": f"whatsapp:+519{n:08d}",
                "To": f"whatsapp:{TW_NUMBER}", "Body": "hola", "NumMedia": "0"}  # fmt: skip
        signature = self.validator.compute_signature(f"{self.base}/webhooks/whatsapp", form)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": signature}  # fmt: skip
        return "/webhooks/whatsapp", urlencode(form).encode(), headers

    def next(self) -> tuple[str, Request]:
        n = next(self.counter)
        if n % 2:
            return str(n), self.telegram(n)
        return f"whatsapp:+519{n:08d}", self.whatsapp(n)


def load(port: int, make: Callable[[], Request], seconds: float) -> float:
    """Requests per second answered 2xx, over `CONNECTIONS` keep-alive connections."""
    stop, counts, lock = time.monotonic() + seconds, [0], threading.Lock()
    pending = [make() for _ in range(int(seconds * 4000))]  # built before the clock runs
    source, source_lock = iter(pending), threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = 0
        while time.monotonic() < stop:
            with source_lock:
                request = next(source, None)
            if request is None:
                break
            path, body, headers = request
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            ok += 200 <= response.status < 300
        conn.close()
        with lock:
            counts[0] += ok

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts[0] / (time.monotonic() - start)


def bot_env(kind: str, port: int, data_dir: str, tg: Platform, tw: Platform) -> dict[str, str]:
    env = {**os.environ, "PORT": str(port), "DATA_DIR": data_dir,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "SECRET_KEY": "bench-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU", "DATA_KEY": new_data_key(),
           "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
           "TELEGRAM_API_BASE_URL": tg.url, "TWILIO_ACCOUNT_SID": TW_SID,
           "TWILIO_AUTH_TOKEN": TW_TOKEN, "TWILIO_WHATSAPP_NUMBER": TW_NUMBER,
           "TWILIO_API_BASE_URL": tw.url, "OPERATOR_HOURS": "mon-sun 00:00-23:59",
           "TELEGRAM_MESSAGES_PER_SECOND": "100000",
           "TWILIO_MESSAGES_PER_SECOND": "100000"}  # fmt: skip
    env.pop("REDIS_URL", None)
    if kind == "redis":
        env["REDIS_URL"] = REDIS_URL
    return env


def flush_redis() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()


def unlimited() -> Platform:
    return Platform(0.0, global_per_s=10**9, chat_burst=None)


@contextmanager
def bot(kind: str) -> Iterator[tuple[int, Platform, Platform, People]]:
    tg, tw = unlimited(), unlimited()
    port = free_port()
    if kind == "redis":
        flush_redis()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(kind, port, tmp, tg, tw)
            with process([sys.executable, "-m", "bot", "run"], env, port):
                yield port, tg, tw, People(f"http://127.0.0.1:{port}")
    finally:
        tg.stop()
        tw.stop()
        if kind == "redis":
            flush_redis()


def replies(tg: Platform, tw: Platform) -> int:
    return len(tg.arrivals) + len(tw.arrivals)


def e2e(port: int, tg: Platform, tw: Platform, people: People, count: int) -> float:
    """Messages per second, from the first webhook to the last reply of `count` people."""
    requests = [people.next()[1] for _ in range(count)]
    before = replies(tg, tw)
    start = time.monotonic()
    source, lock = iter(requests), threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                request = next(source, None)
            if request is None:
                break
            conn.request("POST", request[0], body=request[1], headers=request[2])
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    settled(tg, tw, before + count)  # at least one reply each, then nothing new for 1 s
    last = max(t for t, _, _ in tg.arrivals + tw.arrivals)
    return count / (last - start)


def settled(tg: Platform, tw: Platform, at_least: int, quiet: float = 1.0) -> None:
    deadline, seen, still = time.monotonic() + 120, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = replies(tg, tw)
        if n != seen:
            seen, still = n, time.monotonic()
        elif n >= at_least and time.monotonic() - still >= quiet:
            return
        time.sleep(0.02)


def latency(port: int, tg: Platform, tw: Platform, people: People, rate: float,
            seconds: float) -> tuple[float, float]:  # fmt: skip
    """Webhook to first reply, one new person every 1/rate seconds."""
    sent: dict[str, float] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    gap, start = 1.0 / rate, time.monotonic()
    for n in range(int(seconds * rate)):
        target = start + n * gap
        if target > time.monotonic():
            time.sleep(target - time.monotonic())
        address, request = people.next()
        sent[address] = time.monotonic()
        conn.request("POST", request[0], body=request[1], headers=request[2])
        conn.getresponse().read()
    conn.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tg.lock, tw.lock:
            arrived = {**tg.by_recipient, **tw.by_recipient}
        if all(a in arrived for a in sent):
            break
        time.sleep(0.05)
    waits = sorted((arrived[a][0] - t) * 1000 if a in arrived else 30_000.0
                   for a, t in sent.items())  # fmt: skip
    return statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]


def baseline(seconds: float) -> float:
    port = free_port()
    people = People(f"http://127.0.0.1:{port}")
    with process([sys.executable, "-m", "benchmarks.empty_app", str(port)], dict(os.environ),
                 port):  # fmt: skip
        load(port, lambda: people.next()[1], 1.0)  # warm
        return load(port, lambda: people.next()[1], seconds)


def measure(kind: str, base_rps: float, seconds: float, e2e_count: int) -> dict[str, Any]:
    with bot(kind) as (port, tg, tw, people):
        load(port, lambda: people.next()[1], 1.0)  # warm
        webhook_rps = load(port, lambda: people.next()[1], seconds)
    with bot(kind) as (port, tg, tw, people):
        e2e(port, tg, tw, people, 50)  # warm
        rate = e2e(port, tg, tw, people, e2e_count)
        p50, p99 = latency(port, tg, tw, people, max(1.0, rate / 2), seconds)
    return {
        "webhook_rps": round(webhook_rps, 1),
        "webhook_ratio": round(webhook_rps / base_rps, 3),
        "e2e_msgs_per_s": round(rate, 1),
        "e2e_ratio": round(rate / base_rps, 3),
        "e2e_p50_ms": round(p50, 1),
        "e2e_p99_ms": round(p99, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    seconds, count = (3.0, 200) if quick else (6.0, 600)
    base = baseline(seconds)
    out: dict[str, Any] = {"baseline_rps": round(base, 1)}
    out.update(each_adapter(lambda kind: measure(kind, base, seconds, count)))
    print(f"baseline (empty Flask endpoint, same server): {base:.0f} requests/s", file=sys.stderr)
    return out


if __name__ == "__main__":
    sys.exit(cli(run))
