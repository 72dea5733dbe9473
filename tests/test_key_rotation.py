"""Key rotation that finishes (issue 14): `DATA_KEY=K2,K1`, `keys rotate`, then `K2`.

The review's reproduction: after the old key left DATA_KEY the console queue answered
500, the sender stuck on old outbox items and a person who had not written meanwhile
became a stranger. Here, on both adapters, the whole stack runs under K1, the keys
rotate, and the stack restarts with K2 alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from conftest import redis_or_skip

from bot.config import new_data_key
from bot.console.auth import create_operator
from bot.store.crypto import Crypto
from bot.web import create_app
from bot.worker import Sender, Worker

from channel_stack import running_stack, text_update

PASSWORD = "una clave larga de prueba"
HTTPS = "https://bot.example.org"
CHAT = 7_100_001


def _telegram_texts(stack) -> list[str]:
    return [r.get("text", "") for r in stack.telegram.received if r.get("text")]


def _console(runtime):
    """A browser on the console of this runtime (https: the cookies are Secure)."""
    client = create_app(runtime=runtime).test_client()
    get = lambda path: client.get(path, base_url=HTTPS)  # noqa: E731
    html = get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    client.post(
        "/console/login",
        base_url=HTTPS,
        headers={"Referer": f"{HTTPS}/console/login"},  # checked on https (CSRF)
        data={"username": "sara", "password": PASSWORD, "csrf_token": token},
    )
    return get


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_rotation_to_a_single_new_key_keeps_console_senders_and_people(
    kind: str, tmp_path: Path, make_store
) -> None:
    k1, k2 = new_data_key(), new_data_key()
    old = running_stack(kind, tmp_path, make_store, data_key=k1)
    stack = next(old)
    store, t = stack.runtime.store, stack.runtime.service.clock()
    create_operator(store, "sara", PASSWORD, "supervisor")
    for n, text in enumerate(["hola", "1", "me quitaron el pasaporte y no me dejan salir", "sí"]):
        assert stack.tg(text_update(n + 1, CHAT, text)).status_code == 200
    worker = Worker(store, stack.runtime.service, stack.runtime.spool)
    while worker.run_once():
        pass  # replies are queued under K1 and not sent yet
    user = stack.runtime.service.user_for("telegram", str(CHAT), create=False)
    case = store.open_case_of(user, t)
    assert user and case is not None
    replies = sum(len(store.outbox_batch(p, t)) for p in range(8))
    sent_before = len(_telegram_texts(stack))
    assert replies > 0 and sent_before == 0
    next(old, None)  # the K1 processes stop

    # 1. Every process restarts with DATA_KEY=K2,K1; `keys rotate` runs.
    store.crypto = Crypto([k2, k1])
    report = store.rotate_keys(t, batch=2)
    assert report.relinked == 1 and report.unreadable == 0
    if kind == "redis":
        # Queued stream entries cannot be rewritten in place: not done until sent.
        assert not report.done and report.waiting > 0
        rotating = running_stack(kind, tmp_path, make_store, data_key=f"{k2},{k1}", store=store)
        middle = next(rotating)
        while Sender(store, middle.runtime.senders).run_once():
            pass
        sent_before += len(_telegram_texts(middle))
        next(rotating, None)
        report = store.rotate_keys(t)
    assert report.done, report.lines()

    # 2. K1 leaves DATA_KEY: nothing needs it.
    store.crypto = Crypto([k2])
    new = running_stack(kind, tmp_path, make_store, data_key=k2, store=store)
    stack = next(new)
    try:
        while Sender(store, stack.runtime.senders).run_once():
            pass
        # Every reply queued under K1 was delivered, before or after K1 left.
        assert len(_telegram_texts(stack)) + sent_before == replies
        assert store.dead_letters(t) == []
        assert stack.runtime.service.user_for("telegram", str(CHAT), create=False) == user
        assert store.open_case_of(user, t).id == case.id
        get = _console(stack.runtime)
        queue = get("/console/")
        assert queue.status_code == 200 and case.id in queue.get_data(as_text=True)
        page = get(f"/console/cases/{case.id}")
        assert page.status_code == 200 and "pasaporte" in page.get_data(as_text=True)
        # The person writes again: the same case, not a stranger's new one.
        stack.tg(text_update(9, CHAT, "sigo aquí"))
        stack.drain()
        assert store.open_case_of(user, t).id == case.id
        again = store.rotate_keys(t)
        assert again.done and again.relinked == 0
        assert all(k.rotated == 0 for k in again.kinds.values())
    finally:
        next(new, None)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_rotation_stopped_halfway_resumes_where_it_was(kind: str, make_store) -> None:
    """A rotation killed after its first batch leaves every item readable with K2,K1;
    the next run re-encrypts only what is left."""
    k1, k2 = new_data_key(), new_data_key()
    store = make_store(kind, Crypto([k1]))
    t = time.time()
    for n in range(5):
        user = store.resolve_user(Crypto([k1]).lookup_hashes(f"telegram:{n}"), t)
        store.put_contact(user, "telegram", str(n), t)
    store.crypto = Crypto([k2, k1])

    class Killed(Exception):
        pass

    def kill(kind: str, checked: int, rotated: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        store.rotate_keys(t, batch=2, progress=kill)
    report = store.rotate_keys(t, batch=2)
    assert report.kinds["contacts"].rotated == 3 and report.done
    store.crypto = Crypto([k2])
    for n in range(5):
        user = store.resolve_user(Crypto([k2]).lookup_hashes(f"telegram:{n}"), t, create=False)
        assert user is not None and store.get_contact(user, t) == ("telegram", str(n))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_queued_item_no_key_reads_is_set_aside_and_the_rest_goes_on(
    kind: str, make_store
) -> None:
    """A key removed too early must not silence a partition: the unreadable item
    becomes a dead letter and the next one is served."""
    k1, k2 = new_data_key(), new_data_key()
    store = make_store(kind, Crypto([k1]))
    t = time.time()
    store.inbox_put(3, "telegram", "telegram:1", {"kind": "text", "text": "viejo"}, None, t)
    store.crypto = Crypto([k2])
    store.inbox_put(3, "telegram", "telegram:2", {"kind": "text", "text": "nuevo"}, None, t)
    [item] = store.inbox_window(3, t)
    assert item.inbound["text"] == "nuevo"
    [dead] = store.dead_letters(t)
    assert "DATA_KEY" in dead.reason and "viejo" not in dead.reason


def test_keys_rotate_command_says_when_the_old_key_can_go(tmp_path: Path) -> None:
    k1, k2 = new_data_key(), new_data_key()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
    }
    env.pop("REDIS_URL", None)
    add = subprocess.run(
        [sys.executable, "-m", "bot", "operators", "add", "ana"],
        input=PASSWORD + "\n", env={**env, "DATA_KEY": k1}, capture_output=True, text=True,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    run = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "rotate"],
        env={**env, "DATA_KEY": f"{k2},{k1}"}, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "operators: 1 checked, 1 re-encrypted" in run.stdout
    assert "DONE" in run.stdout and "remove the old key" in run.stdout
    assert "operators" in run.stderr  # progress
    check = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "rotate"],
        env={**env, "DATA_KEY": k2}, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0 and "operators: 1 checked, 0 re-encrypted" in check.stdout


def test_keys_rotate_is_not_done_while_the_spool_holds_old_lines(tmp_path: Path) -> None:
    """A message spooled under K1 (the store was down) still needs K1 until replayed."""
    from bot.spool import Spool

    k1, k2 = new_data_key(), new_data_key()
    Spool(tmp_path, Crypto([k1])).append({"partition": 1, "channel": "telegram"})
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATA_KEY": f"{k2},{k1}",
           "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU"}  # fmt: skip
    env.pop("REDIS_URL", None)
    run = subprocess.run([sys.executable, "-m", "bot", "keys", "rotate"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 1 and "NOT DONE" in run.stdout and "spool" in run.stdout


KILL_DB = "redis://127.0.0.1:6379/12"  # this test's own database: the CLI uses no prefix
PEOPLE = 1000  # 5 batches of 200: the kill lands with most of the work left


def _cli_env(kind: str, tmp_path: Path, data_key: str) -> dict[str, str]:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATA_KEY": data_key,
           "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU"}  # fmt: skip
    env.pop("REDIS_URL", None)
    if kind == "redis":
        env["REDIS_URL"] = KILL_DB
    return env


def _cli_store(kind: str, tmp_path: Path, crypto: Crypto):
    from bot.store import SQLITE_FILE
    from bot.store.redis_store import RedisStore
    from bot.store.sqlite import SQLiteStore

    if kind == "redis":
        return RedisStore(KILL_DB, crypto)
    return SQLiteStore(tmp_path / SQLITE_FILE, crypto)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_keys_rotate_killed_mid_run_finishes_on_the_next_run(kind: str, tmp_path: Path) -> None:
    """SIGKILL after the first re-encrypted batch (no cleanup, no exception handler),
    then the command again: DONE, the second run re-encrypts only what was left, and
    every person is found and read with the new key alone."""
    if kind == "redis":
        redis_or_skip()
        redis.Redis.from_url(KILL_DB).flushdb()
    k1, k2 = new_data_key(), new_data_key()
    store = _cli_store(kind, tmp_path, Crypto([k1]))
    t = time.time()
    for n in range(PEOPLE):
        user = store.resolve_user(Crypto([k1]).lookup_hashes(f"whatsapp:+51{n:09d}"), t)
        store.put_contact(user, "whatsapp", f"+51{n:09d}", t)
    store.close()
    try:
        command = [sys.executable, "-m", "bot", "keys", "rotate"]
        first = subprocess.Popen(command, env=_cli_env(kind, tmp_path, f"{k2},{k1}"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for line in first.stderr:
            if "contacts:" in line and " 0 re-encrypted" not in line:
                first.send_signal(signal.SIGKILL)
                break
        assert first.wait(timeout=60) == -signal.SIGKILL, "the run finished before the kill"
        second = subprocess.run(command, env=_cli_env(kind, tmp_path, f"{k2},{k1}"),
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 0 and "DONE" in second.stdout, second.stdout
        rotated = int(re.search(r"contacts: \d+ checked, (\d+) re-encrypted", second.stdout)[1])
        assert 0 < rotated < PEOPLE  # resumed: the killed run's batches were kept
        after = subprocess.run(command, env=_cli_env(kind, tmp_path, k2),
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert after.returncode == 0, after.stdout
        assert re.search(r"contacts: \d+ checked, 0 re-encrypted", after.stdout), after.stdout
        store = _cli_store(kind, tmp_path, Crypto([k2]))
        for n in range(PEOPLE):
            contact = f"+51{n:09d}"
            user = store.resolve_user(Crypto([k2]).lookup_hashes(f"whatsapp:{contact}"), t,
                                      create=False)  # fmt: skip
            assert user is not None and store.get_contact(user, t) == ("whatsapp", contact)
        store.close()
    finally:
        if kind == "redis":
            redis.Redis.from_url(KILL_DB).flushdb()
