"""`make chaos`: the delivery guarantees under real faults, on both configurations.

Scale-out: gunicorn web (2 workers), two workers and two senders (`python -m bot
worker --role ...`), on a Redis server started here on a private port with append-only
persistence. Synthetic people write through the real Telegram webhook while the run
SIGKILLs a worker twice and a sender once, restarts Redis, deletes a stream, injects
an item that cannot be sent and a torn spool line. Embedded default: `python -m bot
run` on SQLite, SIGKILLed twice, with the database held locked for a while.

Afterwards every person's received replies are compared with what the same engine and
conversation service answer to the same messages (a reference run on a fresh store):
lost, duplicated, out of order; every expected escalation must exist exactly once.
The last line is one JSON object {"redis": R, "sqlite": S}; the exit status is non-zero
on any broken guarantee. `--short` is the version `make test` runs.

Everything runs on 127.0.0.1: a fake Bot API records what is sent (no network).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis

from bot import paths
from bot.bootstrap import build_engine
from bot.config import new_data_key
from bot.conversation import ConversationService
from bot.engine.types import Inbound
from bot.store.crypto import Crypto
from bot.store.records import Commit, OutboxItem
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore

TOKEN, SECRET = "123456:CHAOS", "chaos-secret"
HOURS = "mon-sun 00:00-23:59"
PACE = 1.5  # seconds between one person's messages (set by --short / the full run)
PY = sys.executable
NORMAL = ["hola", "1", "mis derechos", "líneas de ayuda", "periodo de reflexión",
          "quiero denunciar", "menú", "no quiero denunciar", "gracias", "ayuda"]  # fmt: skip
RISK = ["hola", "1", "me quitaron el pasaporte", "sí", "no me dejan salir", "menú",
        "tengo miedo", "gracias", "mis derechos", "ayuda"]  # fmt: skip
URGENT = ["hola", "1", "me quiero morir", "estoy en mi cuarto", "gracias", "menú",
          "líneas de ayuda", "mis derechos", "quiero denunciar", "ayuda"]  # fmt: skip


# ------------------------------------------------------------------ the fake Bot API
class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        method = self.path.rsplit("/", 1)[-1]
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            from urllib.parse import parse_qs

            params = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if method == "sendMessage":
            with self.server.lock:  # type: ignore[attr-defined]
                self.server.sent.append(  # type: ignore[attr-defined]
                    (str(params.get("chat_id")), params.get("text", ""), time.monotonic())
                )
        body = {"ok": True, "result": {"message_id": 1, "date": 0,
                                       "chat": {"id": 1, "type": "private"}}}  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def fake_bot_api() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.sent = []  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ------------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: S110 - polling a process that is starting
            pass
        time.sleep(0.1)
    return False


@dataclass
class Person:
    chat: int
    script: list[str]
    urgent_at: int | None = None  # index of the message that must open an urgent case
    risky: bool = False
    sent_at: dict[int, float] = field(default_factory=dict)


def people(count: int, risky: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        chat = 7_000_000 + n
        if n < risky // 2:
            out.append(Person(chat, list(URGENT), urgent_at=2, risky=True))
        elif n < risky:
            out.append(Person(chat, list(RISK), risky=True))
        else:
            script = list(NORMAL)
            rng.shuffle(script[2:])
            out.append(Person(chat, script))
    return out


def reference(persons: list[Person], tmp: Path) -> dict[str, list[str]]:
    """What the production engine and conversation service answer, on a fresh store."""
    crypto = Crypto([new_data_key()])
    store = SQLiteStore(tmp / "reference.sqlite3", crypto)
    service = ConversationService(build_engine(operator_hours=HOURS, on_call=False), store, crypto)
    expected = {}
    for p in persons:
        replies: list[str] = []
        for text in p.script:
            replies += [m.text for m in service.handle("ref", str(p.chat),
                                                       Inbound(text=text, lang_hint="es"))]  # fmt: skip
        expected[str(p.chat)] = [r for r in replies]
    store.close()
    return expected


def compare(
    expected: dict[str, list[str]],
    sent: list[tuple[str, str, float]],
    inline: list[tuple[str, str, float]] | None = None,
    duplicates: list[tuple[str, float, float]] | None = None,
) -> dict[str, int]:
    """Walk each person's received replies against the expected ones, in order. A reply
    given inline in the webhook's answer (the urgent numbers) is delivered by design
    ahead of what the worker still owes: it counts once, outside the order, and only for
    an expected reply the worker did not send itself. (The emergency message a spooled
    webhook answers with during a store outage has the same text as the reply to
    "ayuda" after a risk, which the worker still sends: that one is not excused.)"""
    expected = {chat: list(want) for chat, want in expected.items()}
    got: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for chat, text, at in sent:
        got[chat].append((text, at))
    for chat, text, _ in inline or []:
        want = expected.get(chat, [])
        if want.count(text) > sum(t == text for t, _ in got.get(chat, [])):
            want.remove(text)
    lost = dups = disorder = 0
    for chat, want in expected.items():
        i = 0
        first: dict[str, float] = {}  # when each text first arrived
        for text, at in got.get(chat, []):
            if i < len(want) and text == want[i]:
                first.setdefault(text, at)
                i += 1
            elif text in want[:i]:
                dups += 1
                if duplicates is not None:  # who, and when the first and this copy came
                    duplicates.append((chat, first.get(text, at), at))
            elif text in want[i:]:
                disorder += 1
                j = want.index(text, i)
                lost += j - i  # skipped ones count as lost unless they come later
                first.setdefault(text, at)
                i = j + 1
            else:
                disorder += 1
        lost += len(want) - i
    return {"lost": lost, "duplicated": dups, "out_of_order": disorder}


class Driver:
    """Synthetic people writing through the real webhook, as Telegram redelivers: a
    message is retried until the webhook answers 2xx."""

    def __init__(self, base: str, persons: list[Person], pace: float) -> None:
        self.base, self.persons, self.pace = base, persons, pace
        self.update_id = 0
        self.lock = threading.Lock()
        self.inline: list[tuple[str, str, float]] = []  # emergency replies in the webhook answer

    def _post(self, client: httpx.Client, p: Person, i: int) -> None:
        with self.lock:
            self.update_id += 1
            update_id = self.update_id
        update = {"update_id": update_id, "message": {
            "message_id": i + 1, "date": int(time.time()), "text": p.script[i],
            "chat": {"id": p.chat, "type": "private"},
            "from": {"id": p.chat, "is_bot": False, "first_name": "P", "language_code": "es"},
        }}  # fmt: skip
        for _ in range(600):
            try:
                r = client.post(f"{self.base()}/webhooks/telegram", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})  # fmt: skip
                if r.status_code == 200:
                    # Urgency is timed from the moment the platform's delivery succeeds.
                    p.sent_at[i] = time.monotonic() - r.elapsed.total_seconds()
                    body = r.json()
                    if body.get("method") == "sendMessage":
                        with self.lock:
                            self.inline.append(
                                (str(p.chat), body.get("text", ""), time.monotonic())
                            )
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError("a message could not be delivered to the webhook for 150 s")

    def run(self) -> None:
        """Everyone at once, each person typing at their own pace (one message every
        `pace` seconds, with jitter), so that the faults fall in the middle of traffic."""
        rng = random.Random(3)

        def person_loop(p: Person, start: float) -> None:
            time.sleep(start)
            with httpx.Client(timeout=20) as client:
                for i in range(len(p.script)):
                    self._post(client, p, i)
                    time.sleep(self.pace * rng.uniform(0.5, 1.5))

        threads = [threading.Thread(target=person_loop, args=(p, rng.uniform(0, self.pace)))
                   for p in self.persons]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()


class Proc:
    """A child process that can be SIGKILLed and started again."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.p: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        out = self.log.open("ab")
        self.p = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            self.args, env=self.env, cwd=paths.ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=10)

    def stop(self) -> None:
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def settle(api: ThreadingHTTPServer, expected: dict[str, list[str]], timeout: float) -> None:
    total = sum(len(v) for v in expected.values())
    deadline = time.monotonic() + timeout
    last, still = -1, time.monotonic()
    while time.monotonic() < deadline:
        with api.lock:  # type: ignore[attr-defined]
            n = len(api.sent)  # type: ignore[attr-defined]
        if n >= total:
            time.sleep(2.0)  # let a late duplicate show itself
            return
        if n != last:
            last, still = n, time.monotonic()
        elif time.monotonic() - still > 30:
            return  # nothing moved for 30 s: what is missing is lost
        time.sleep(0.2)


def urgent_seconds(persons: list[Person], sent: list[tuple[str, str, float]]) -> float:
    """Worst time from an urgent message's accepted delivery to the first reply with
    113 (self-harm scripts), through the platform or inline in the webhook answer."""
    worst = 0.0
    for p in persons:
        if p.urgent_at is None or p.urgent_at not in p.sent_at:
            continue
        t0 = p.sent_at[p.urgent_at]
        first = next((t for chat, text, t in sorted(sent, key=lambda s: s[2])
                      if chat == str(p.chat) and t >= t0 and "113" in text), None)  # fmt: skip
        took = (first - t0) if first else 999.0
        if took > 5:
            print(f"slow urgent reply: person {p.chat}, {took:.2f} s", file=sys.stderr)
        worst = max(worst, took)
    return round(worst, 2)


def base_env(data_dir: Path, api: ThreadingHTTPServer, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "TELEGRAM_"))}
    env.update({
        "DATA_DIR": str(data_dir), "PORT": str(port), "OPERATOR_HOURS": HOURS,
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.server_port}",
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    return env


SEND_WINDOW = 2.0  # seconds: a platform call in flight when its sender was killed


def window_duplicates(
    duplicates: list[tuple[str, float, float]], kills_at: list[float]
) -> list[tuple[str, float]]:
    """The duplicates guarantee 7 allows: a reply the platform accepted just before its
    sender was killed (so never acknowledged), sent again by the next one. The sender
    has many people's replies in flight at once, so a kill may repeat one reply per
    person in flight, never two of one person's."""
    allowed, seen = [], set()
    for chat, at, _ in duplicates:
        kill = next((k for k in kills_at if at <= k <= at + SEND_WINDOW), None)
        if kill is not None and (chat, kill) not in seen:
            seen.add((chat, kill))
            allowed.append((chat, at))
    return allowed


def figures(expected, api, persons, store, kills, user_of, inline) -> dict[str, Any]:
    with api.lock:
        sent = list(api.sent)
    duplicates: list[tuple[str, float, float]] = []
    result = compare(expected, sent, inline, duplicates)
    window = len(window_duplicates(duplicates, kills["sender_at"]))
    risky = [p for p in persons if p.risky]
    now = time.time()
    found = 0
    for p in risky:
        user = user_of(str(p.chat))
        cases = [c for c in store.list_cases(now, state=None) if c.user == user] if user else []
        found += len(cases) == 1
    cases_total = len(store.list_cases(now, state=None))
    return {
        "messages": sum(len(p.script) for p in persons),
        "lost": result["lost"],
        "duplicated": result["duplicated"] - window,
        "sender_window_duplicates": window,
        "sender_kills": kills["sender"],
        "out_of_order": result["out_of_order"],
        "escalations_expected": len(risky),
        "escalations_found": found if cases_total == len(risky) else cases_total,
        "dead_letters": len(store.dead_letters(now)),
        "max_urgent_reply_s": urgent_seconds(persons, sent + inline),
        "inline_emergency_replies": len(inline),
        # When each repeated reply's first and second copy arrived and when each fault
        # struck (seconds, one clock): a broken guarantee says which fault it follows.
        "repeats_at": [(round(a, 2), round(b, 2)) for _, a, b in duplicates],
        "faults_at": [(name, round(at, 2)) for name, at in kills.get("marks", [])],
        "broken": broken_timelines(expected, sent, inline, persons),
    }


def broken_timelines(expected, sent, inline, persons) -> list[dict[str, Any]]:
    """For each person whose replies broke a guarantee: when each of their messages was
    accepted, and which expected reply (by its index; -1 for none) arrived when, through
    the platform or inline. Synthetic scripts only: no one's words are printed."""
    out = []
    for p in persons:
        chat = str(p.chat)
        mine = [s for s in sent if s[0] == chat]
        told = [s for s in inline if s[0] == chat]
        if not any(compare({chat: expected[chat]}, mine, told).values()):
            continue
        index = {text: i for i, text in reversed(list(enumerate(expected[chat])))}
        out.append({
            "chat": chat,
            "accepted": [(i, round(t, 2)) for i, t in sorted(p.sent_at.items())],
            "got": [(index.get(text, -1), round(at, 2)) for _, text, at in mine],
            "inline": [(index.get(text, -1), round(at, 2)) for _, text, at in told],
            "expected": len(expected[chat]),
        })  # fmt: skip
    return out


# -------------------------------------------------------------------- scale-out
def run_redis(n_people: int, risky: int, tmp: Path) -> dict[str, Any]:
    api = fake_bot_api()
    rport, wport = free_port(), free_port()
    rdir = tmp / "redis"
    rdir.mkdir()
    redis_cmd = [shutil.which("redis-server") or "redis-server", "--port", str(rport), "--bind",
                 "127.0.0.1", "--appendonly", "yes", "--save", "", "--dir", str(rdir)]  # fmt: skip
    redis_proc = Proc(redis_cmd, dict(os.environ), tmp / "redis.log")
    url = f"redis://127.0.0.1:{rport}/0"
    assert wait_until(lambda: redis.Redis.from_url(url).ping())
    key = new_data_key()
    data = tmp / "data-redis"
    data.mkdir(parents=True)
    env = base_env(data, api, wport) | {"REDIS_URL": url, "DATA_KEY": key, "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
                                         "PUBLIC_BASE_URL": "https://chaos.example.org"}  # fmt: skip
    gunicorn = str(Path(PY).with_name("gunicorn"))
    web = Proc([gunicorn, "--bind", f"127.0.0.1:{wport}", "--workers", "2", "--threads", "8",
                "--timeout", "30", "bot.web:create_app()"], env, tmp / "web.log")  # fmt: skip
    workers = [Proc([PY, "-m", "bot", "worker", "--role", "worker"], env, tmp / f"w{i}.log")
               for i in range(2)]  # fmt: skip
    senders = [Proc([PY, "-m", "bot", "worker", "--role", "sender"], env, tmp / f"s{i}.log")
               for i in range(2)]  # fmt: skip
    base = f"http://127.0.0.1:{wport}"
    assert wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
    persons = people(n_people, risky)
    expected = reference(persons, tmp)
    crypto = Crypto([key])
    store = RedisStore(url, crypto)
    service = ConversationService(build_engine(operator_hours=HOURS), store, crypto)
    kills: dict[str, Any] = {"worker": 0, "sender": 0, "sender_at": []}
    driver = Driver(lambda: base, persons, pace=PACE)
    drive = threading.Thread(target=driver.run)
    drive.start()

    marks = kills.setdefault("marks", [])

    def faults() -> None:
        time.sleep(2)
        marks.append(("worker killed", time.monotonic()))
        workers[0].kill()
        kills["worker"] += 1
        workers[0].start()
        time.sleep(2)
        senders[0].kill()
        kills["sender"] += 1
        kills["sender_at"].append(time.monotonic())
        marks.append(("sender killed", time.monotonic()))
        senders[0].start()
        time.sleep(1)
        # an item that cannot be sent: set aside alone, everyone else served
        store.commit(Commit("chaos", outbox=[OutboxItem("", 5, "telegram", "not a chat",
                     {"text": "x", "buttons": []}, time.time())]), time.time())  # fmt: skip
        time.sleep(1)
        marks.append(("redis stopped", time.monotonic()))
        redis_proc.stop()  # a clean restart (append-only file flushed)
        time.sleep(2)
        redis_proc.start()
        wait_until(lambda: redis.Redis.from_url(url).ping())
        marks.append(("redis back", time.monotonic()))
        time.sleep(1)
        marks.append(("worker killed", time.monotonic()))
        workers[1].kill()
        kills["worker"] += 1
        workers[1].start()
        # a stream that vanishes (emptied and then expired, or lost by a restart)
        client = redis.Redis.from_url(url)
        for partition in range(8):
            if client.eval("if redis.call('XLEN', KEYS[1]) == 0 then "
                           "return redis.call('DEL', KEYS[1]) end return -1", 1,
                           f"bot:outbox:{partition}") == 1:  # fmt: skip
                break
        # a torn spool line (a write cut short by a full disk)
        with (data / "spool.log").open("ab") as fh:
            fh.write(b"gAAAAAB-torn-line\n")

    chaos = threading.Thread(target=faults)
    chaos.start()
    drive.join()
    chaos.join()
    settle(api, expected, timeout=240)
    result = figures(expected, api, persons, store, kills,
                     lambda chat: service.user_for("telegram", chat, create=False), driver.inline)  # fmt: skip
    result["spool_rejected"] = int((data / "spool.rejected").exists())
    for proc in (web, *workers, *senders, redis_proc):
        proc.stop()
    api.shutdown()
    return result


# ------------------------------------------------------------------- embedded
def run_sqlite(n_people: int, risky: int, tmp: Path, lock_seconds: float) -> dict[str, Any]:
    api = fake_bot_api()
    wport = free_port()
    key = new_data_key()
    data = tmp / "data-sqlite"
    data.mkdir(parents=True)
    env = base_env(data, api, wport) | {"DATA_KEY": key, "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
                                         "PUBLIC_BASE_URL": "https://chaos.example.org"}  # fmt: skip
    bot = Proc([PY, "-m", "bot", "run"], env, tmp / "run.log")
    base = f"http://127.0.0.1:{wport}"
    assert wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
    persons = people(n_people, risky, seed=11)
    expected = reference(persons, tmp)
    crypto = Crypto([key])
    kills: dict[str, Any] = {"worker": 0, "sender": 0, "sender_at": []}
    driver = Driver(lambda: base, persons, pace=PACE)
    drive = threading.Thread(target=driver.run)
    drive.start()

    def faults() -> None:
        for _ in range(2):
            time.sleep(3)
            bot.kill()  # web, worker and sender together: `bot run`'s process group
            kills["worker"] += 1
            kills["sender"] += 1
            kills["sender_at"].append(time.monotonic())
            bot.start()
            wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        time.sleep(1)
        db = sqlite3.connect(data / "bot.sqlite3", timeout=30, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")  # another process holds the store
        time.sleep(lock_seconds)
        db.execute("ROLLBACK")
        db.close()

    chaos = threading.Thread(target=faults)
    chaos.start()
    drive.join()
    chaos.join()
    settle(api, expected, timeout=240)
    store = SQLiteStore(data / "bot.sqlite3", crypto)
    service = ConversationService(build_engine(operator_hours=HOURS), store, crypto)
    result = figures(expected, api, persons, store, kills,
                     lambda chat: service.user_for("telegram", chat, create=False), driver.inline)  # fmt: skip
    bot.stop()
    store.close()
    api.shutdown()
    return result


def broken(r: dict[str, Any]) -> list[str]:
    problems = [k for k in ("lost", "duplicated", "out_of_order") if r[k]]
    if r["escalations_found"] != r["escalations_expected"]:
        problems.append("escalations")
    if r["max_urgent_reply_s"] > 5:
        problems.append("max_urgent_reply_s")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="fewer people (make test)")
    args = parser.parse_args(argv)
    global PACE
    n, risky, lock, PACE = (20, 6, 6.0, 1.5) if args.short else (200, 40, 20.0, 12.0)
    with tempfile.TemporaryDirectory(prefix="chaos-") as name:
        tmp = Path(name)
        (tmp / "r").mkdir()
        (tmp / "s").mkdir()
        results = {"redis": run_redis(n, risky, tmp / "r"),
                   "sqlite": run_sqlite(n, risky, tmp / "s", lock)}  # fmt: skip
        print(f"{'':10}{'redis':>12}{'sqlite':>12}")
        for k in results["redis"]:
            print(
                f"{k:26}{results['redis'].get(k, '-')!s:>12}{results['sqlite'].get(k, '-')!s:>12}"
            )
        failures = {name: broken(r) for name, r in results.items()}
        for name, problems in failures.items():
            if problems:
                print(f"BROKEN on {name}: {', '.join(problems)} (logs kept in {tmp})")
                keep = Path(tempfile.mkdtemp(prefix="chaos-logs-"))
                for log in tmp.rglob("*.log"):
                    shutil.copy(log, keep / f"{log.parent.name}-{log.name}")
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "spool_rejected"}
                          for k, v in results.items()}))  # fmt: skip
        return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
