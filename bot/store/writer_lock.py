"""One SQLite writer at a time across the processes of this host, handed over at once.

SQLite lets one writer in at a time and makes the others wait in its busy handler,
which sleeps 1, 2, 5, 10, 15… ms between tries: with the web server and the worker of
`bot run` in two processes (bot/worker_process.py), the webhooks' inbox writer slept
through most of its turns while the worker committed, and each webhook waited behind
it (issue 15: the web process had work for 0.56 of a core and sat idle the rest). Here
writers queue on a lock of this process (woken at once when it is free) and then on
an advisory lock file beside the database, tried every half millisecond, so that a
waiter gets in within a fraction of a millisecond of the last commit. SQLite's own busy
timeout stays behind it for writers that do not take this lock (the sqlite3 shell).

A writer waits at most TIMEOUT: after that the call fails as StoreUnavailable, as
SQLite's busy timeout would have, and the caller's own fallbacks apply (the spool and
the inline emergency answer for a webhook).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from pathlib import Path

from bot.store.port import StoreUnavailable

TIMEOUT = 10.0  # as the connections' busy timeout
RETRY = 0.0005


class WriterLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + "-writer")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        weakref.finalize(self, os.close, self._fd)  # a store dropped closes its file
        self._threads = threading.Lock()

    def __enter__(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        if not self._threads.acquire(timeout=TIMEOUT):
            raise StoreUnavailable("sqlite: another writer of this process held on")
        try:
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreUnavailable(
                            "sqlite: another process held the writer lock"
                        ) from None
                    time.sleep(RETRY)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
