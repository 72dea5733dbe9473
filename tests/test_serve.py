"""Run modes as real processes: `python -m bot run` (embedded default, long polling)
and the guarantees that need processes to die: a SIGKILLed worker, a stopped Redis."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from bot import paths
from bot.config import load_config, new_data_key
from bot.runtime import Runtime
from bot.store.crypto import Crypto
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore
from bot.web import create_app
from bot.worker import Sender, Worker

from channel_stack import TG_SECRET, TG_TOKEN, expected_replies, text_update
from fakes.servers import fake_telegram, messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except (httpx.HTTPError, redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_run_starts_web_worker_sender_and_long_polling(tmp_path: Path) -> None:
    telegram = fake_telegram()
    telegram.updates.append(text_update(1, 4321, "hola"))
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port),
           "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_BASE_URL": telegram.url}  # fmt: skip
    env.pop("PUBLIC_BASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=paths.ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").json()["store"] == "ok")
        wait_for(lambda: len(messages(telegram)) >= 2)  # welcome + safety check, via polling
        assert messages(telegram)[0]["text"].startswith("Hola, gracias por escribir")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        telegram.stop()
    assert "/webhooks/telegram" in out and "/webhooks/whatsapp" in out and "long polling" in out
    assert proc.returncode == 0


def _children(pid: int) -> list[int]:
    """Every thread's children (the supervisor thread starts the replacements)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _run_polling(
    tmp_path: Path, telegram, redis_url: str | None = None
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port),
           "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_BASE_URL": telegram.url}  # fmt: skip
    env.pop("PUBLIC_BASE_URL", None)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=paths.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200)
    return proc, port


def _role(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline") as f:
        args = f.read().split("\0")
    return args[args.index("--role") + 1]


@pytest.mark.parametrize(("store", "role"), [("sqlite", "both"), ("redis", "worker"),
                                             ("redis", "sender")])  # fmt: skip
def test_run_a_killed_child_process_is_started_again(
    tmp_path: Path, request, store: str, role: str
) -> None:
    """`bot run` keeps its worker and its sender in one child on SQLite and in a child
    each on Redis (bot/worker_process.py says why): any child, killed, is started
    again, and the next message is answered."""
    telegram = fake_telegram()
    telegram.updates.append(text_update(1, 4321, "hola"))
    redis_url = request.getfixturevalue("private_redis").url if store == "redis" else None
    proc, _ = _run_polling(tmp_path, telegram, redis_url)
    try:
        wait_for(lambda: len(messages(telegram)) >= 2)
        children = {_role(c): c for c in _children(proc.pid)}
        assert set(children) == ({"both"} if store == "sqlite" else {"worker", "sender"})
        os.kill(children[role], signal.SIGKILL)
        wait_for(lambda: [c for c in _children(proc.pid)
                          if c != children[role] and _alive(c) and _role(c) == role])  # fmt: skip
        before = len(messages(telegram))
        telegram.updates.append(text_update(2, 4321, "menú"))
        wait_for(lambda: len(messages(telegram)) > before)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        telegram.stop()
    assert proc.returncode == 0


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_run_a_sigkilled_parent_takes_its_children_with_it(
    tmp_path: Path, request, store: str
) -> None:
    """No orphan writing to the store after `bot run` was killed: the pipes close with
    the parent and every child stops."""
    telegram = fake_telegram()
    redis_url = request.getfixturevalue("private_redis").url if store == "redis" else None
    proc, _ = _run_polling(tmp_path, telegram, redis_url)
    try:
        wait_for(lambda: len(_children(proc.pid)) == (1 if store == "sqlite" else 2))
        children = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for(lambda: not any(_alive(c) for c in children), timeout=15)
    finally:
        telegram.stop()


def test_sigkilled_worker_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    """Kill the worker process in the middle of a burst, restart it: every message is
    answered exactly once and the escalation it should open exists once."""
    key = new_data_key()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
        "DATA_KEY": key,
    }
    config = load_config(env)
    store = SQLiteStore(tmp_path / "bot.sqlite3", Crypto([key]))
    runtime = Runtime(config, store_override=store, senders_override={})
    people = {
        f"{1000 + i}": ["hola", "1", "mis derechos", "líneas de ayuda", "menú"] for i in range(40)
    }
    people["2000"] = ["hola", "1", "tengo 15 años y me obligan a trabajar", "menú", "mis derechos"]
    for turn in range(5):
        for chat, texts in people.items():
            partition = runtime.service.partition("telegram", chat)
            inbound = {"text": texts[turn], "lang_hint": "es"}
            assert store.inbox_put(
                partition, "telegram", chat, inbound, f"tg:{chat}:{turn}", time.time()
            )
    total = sum(len(t) for t in people.values())
    db = store._db()

    def remaining() -> int:
        return db.execute("SELECT count(*) FROM inbox").fetchone()[0]

    command = [sys.executable, "-m", "bot", "worker", "--role", "worker"]
    proc = subprocess.Popen(
        command, cwd=paths.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 30
    while remaining() == total and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # mid-burst, no chance to clean up
    proc.wait()
    left = remaining()
    assert 0 < left < total, f"the kill did not land mid-burst ({left}/{total} left)"
    # A restarted worker waits for the dead one's leases to expire, then finishes.
    restarted = subprocess.Popen(command, cwd=paths.ROOT, env={**env}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: remaining() == 0, timeout=60)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
    # Replies: exactly what the engine says for each person's messages, once, in order.
    sent: dict[str, list[str]] = {}
    for partition in range(8):
        for item in store.outbox_batch(partition, time.time(), limit=10_000):
            sent.setdefault(item.address, []).append(item.message["text"])
    for chat, texts in people.items():
        assert sent[chat] == expected_replies(runtime.engine, texts), chat
    cases = store.list_cases(time.time(), state=None)
    assert len(cases) == 1 and cases[0].level == "urgent"


@pytest.fixture
def private_redis(tmp_path: Path):
    """A Redis server of this test's own, so the test can stop and restart it."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (REQUIRE_REDIS=1)")
        pytest.skip("redis-server not installed")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]  # fmt: skip

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        proc: subprocess.Popen | None = None

        def start(self) -> None:
            self.proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            wait_for(lambda: redis.Redis.from_url(self.url).ping())

        def stop(self) -> None:
            assert self.proc is not None
            self.proc.terminate()
            self.proc.wait(timeout=10)

    server = Server()
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.stop()


def test_store_down_answers_inline_then_replays_in_order(tmp_path: Path, private_redis) -> None:
    from werkzeug.serving import make_server

    telegram = fake_telegram()
    key = new_data_key()
    config = load_config({
        "DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU", "DATA_KEY": key,
        "PUBLIC_BASE_URL": "https://bot.example.org", "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "TELEGRAM_API_BASE_URL": telegram.url,
        "REDIS_URL": private_redis.url,
    })  # fmt: skip
    store = RedisStore(private_redis.url, Crypto([key]))
    runtime = Runtime(config, store_override=store)
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    import threading

    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    try:
        private_redis.stop()
        assert httpx.get(f"{base}/readyz").status_code == 503
        assert httpx.get(f"{base}/healthz").status_code == 200
        texts = ["hola", "1", "mis derechos", "quiero denunciar"]
        for i, text in enumerate(texts):
            reply = httpx.post(
                f"{base}/webhooks/telegram", json=text_update(i + 1, 6060, text), headers=headers
            )
            assert reply.status_code == 200
            body = reply.json()
            assert body["method"] == "sendMessage" and body["chat_id"] == 6060
            assert all(n in body["text"] for n in ("105", "113", "100", "1810"))
        assert runtime.spool.pending()
        assert b"derechos" not in runtime.spool.path.read_bytes()  # encrypted at rest
        private_redis.start()
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        worker, sender = (
            Worker(store, runtime.service, runtime.spool),
            Sender(store, runtime.senders),
        )
        expected = expected_replies(runtime.engine, texts)
        deadline = time.monotonic() + 30  # the production limiter: 1 message/s per chat
        while len(messages(telegram)) < len(expected) and time.monotonic() < deadline:
            if not (worker.run_once() + sender.run_once()):
                time.sleep(0.1)
        assert not runtime.spool.pending()
        assert [m["text"] for m in messages(telegram)] == expected
    finally:
        server.shutdown()
        telegram.stop()


def _procfile_web(port: int) -> list[str]:
    """The Procfile's web command as the platform runs it, on this port."""
    line = next(
        line for line in (paths.ROOT / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )  # fmt: skip
    args = shlex.split(line.removeprefix("web:").replace("$PORT", str(port)))
    return [str(Path(sys.executable).parent / args[0]), *args[1:]]


@pytest.mark.parametrize("mode", ["bot run", "Procfile web"])
def test_run_refuses_a_huge_body_before_buffering_it(tmp_path: Path, mode: str) -> None:
    """An unauthenticated 200 MB POST is answered 413 from its headers and nothing is
    written to disk: by waitress itself under `bot run` (its default would buffer up to
    1 GB beside the data); under gunicorn, which streams bodies to the app and buffers
    none, by Flask's MAX_CONTENT_LENGTH before a byte of the body is read."""
    port, scratch = free_port(), tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port), "TMPDIR": str(scratch)}
    for name in ("PUBLIC_BASE_URL", "TELEGRAM_BOT_TOKEN"):
        env.pop(name, None)
    command = [sys.executable, "-m", "bot", "run"] if mode == "bot run" else _procfile_web(port)
    proc = subprocess.Popen(command, cwd=paths.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200)
        with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
            conn.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")  # fmt: skip
            sent = 0
            try:
                while sent < 8 * 1024 * 1024:  # as much as it takes before it refuses
                    conn.sendall(b"x" * 65536)
                    sent += 65536
            except OSError:
                pass  # the server closed the connection: good
            answer = conn.recv(4096)
        assert b" 413 " in answer.split(b"\r\n", 1)[0], answer[:200]
        written = sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
        assert written < 1024 * 1024, written
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def _login(base: str, username: str, password: str, forwarded_for: str) -> int:
    with httpx.Client(base_url=base, headers={"X-Forwarded-For": forwarded_for}) as browser:
        page = browser.get("/console/login").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        data = {"username": username, "password": password, "csrf_token": token}
        return browser.post("/console/login", data=data).status_code


@pytest.mark.parametrize("mode", ["bot run", "Procfile web"])
def test_behind_a_proxy_a_stranger_cannot_lock_an_operator_out(tmp_path: Path, mode: str) -> None:
    """TRUSTED_PROXIES=1: the login limiter counts the client the proxy names, on both
    servers. (Under `bot run`, waitress used to drop the header, so all clients were the
    proxy and five wrong passwords from anyone locked the operator out.)"""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": str(port), "TRUSTED_PROXIES": "1"}
    for name in ("PUBLIC_BASE_URL", "TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        env.pop(name, None)
    password = "una clave larga de carla"
    add = subprocess.run([sys.executable, "-m", "bot", "operators", "add", "carla"], cwd=paths.ROOT,
                         env=env, input=password + "\n", capture_output=True, text=True)  # fmt: skip
    assert add.returncode == 0, add.stderr
    command = [sys.executable, "-m", "bot", "run"] if mode == "bot run" else _procfile_web(port)
    proc = subprocess.Popen(command, cwd=paths.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        for n in range(6):
            assert _login(base, "carla", f"wrong guess {n}", "203.0.113.66") == 401
        assert _login(base, "carla", password, "203.0.113.66") == 401  # locked for the stranger
        assert _login(base, "carla", password, "198.51.100.10") == 302  # carla gets in
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_a_childs_notify_pipe_reaches_the_parent_and_survives_a_restart() -> None:
    """The worker child's "replies are waiting" reaches the parent, which wakes the
    sender child; a restarted child gets a pipe of its own."""
    from bot.worker_process import WorkerProcess

    woken = threading.Semaphore(0)
    writes = "import os, sys; fd = int(sys.argv[-1]); os.write(fd, b'x'); sys.stdin.read()"
    stop = threading.Event()
    child = WorkerProcess(stop, [sys.executable, "-c", writes], notify=woken.release)
    child.start()
    try:
        assert woken.acquire(timeout=10)
        first = child.proc
        first.kill()
        first.wait(10)
        child.start()  # as `supervise` does
        assert woken.acquire(timeout=10)
    finally:
        stop.set()
        child.close()
