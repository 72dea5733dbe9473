"""SQLite's writers across processes (bot/store/writer_lock.py): a writer in another
process makes this one wait, not fail; one that dies (kill -9) lets it in at once; one
that never lets go turns into StoreUnavailable after the timeout, as SQLite's own busy
timeout did."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.config import new_data_key
from bot.store import writer_lock
from bot.store.crypto import Crypto
from bot.store.port import StoreUnavailable
from bot.store.sqlite import SQLiteStore

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes the pipe
"""


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "bot.sqlite3", Crypto([new_data_key()]))


def _holder(store: SQLiteStore) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(store._writer.path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _write_in_thread(store: SQLiteStore) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def write() -> None:
        try:
            store.put_contact("u1", "telegram", "1", 0.0)
            result.append("written")
        except StoreUnavailable as exc:
            result.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    return thread, result


def test_a_writer_in_another_process_makes_this_one_wait(store: SQLiteStore) -> None:
    holder = _holder(store)
    thread, result = _write_in_thread(store)
    thread.join(0.3)
    assert thread.is_alive() and result == []  # waiting, not failed
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(10)
    thread.join(10)
    assert result == ["written"]
    assert store.get_contact("u1", 0.0) == ("telegram", "1")


def test_a_killed_writer_lets_the_next_one_in(store: SQLiteStore) -> None:
    holder = _holder(store)
    thread, result = _write_in_thread(store)
    thread.join(0.3)
    assert result == []
    holder.send_signal(signal.SIGKILL)  # the kernel drops its lock with it
    holder.wait(10)
    thread.join(10)
    assert result == ["written"]


def test_a_writer_that_never_lets_go_is_store_unavailable(store: SQLiteStore, monkeypatch) -> None:
    monkeypatch.setattr(writer_lock, "TIMEOUT", 0.3)
    holder = _holder(store)
    try:
        with pytest.raises(StoreUnavailable):
            store.put_contact("u1", "telegram", "1", 0.0)
    finally:
        holder.kill()
        holder.wait(10)
    store.put_contact("u1", "telegram", "1", 0.0)  # and the store works again after
