"""The local spool: where inbound messages wait while the store is unreachable.

Guarantee 6 of DESIGN.md: the webhook still answers (inline, with the emergency
message) and appends the message, encrypted, to this file; the worker replays it into
the inbox, in order, once the store is back. Only if even this file cannot be written
is a message lost; that is counted and logged without personal data.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.store.crypto import Crypto, CryptoError
from bot.store.port import Store, StoreUnavailable

REJECTED_TTL = 30 * 86400.0  # unreadable lines set aside are kept this long, then removed

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, crypto: Crypto) -> None:
        self.path = directory / "spool.log"
        self.rejected_path = directory / "spool.rejected"
        self.crypto = crypto
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self.lost = 0
        self.rejected = 0

    @contextlib.contextmanager
    def _locked(self, suffix: str = ".lock", wait: bool = True) -> Iterator[bool]:
        """A lock across threads and processes (gunicorn workers share the file).

        ".lock" guards the file itself and is held only for a read or an append, never
        during a store call: a webhook appending behind a replay blocked by a locked
        store would miss its deadline. ".replay" lets one replayer run at a time; with
        `wait=False` it yields False when another one already is."""
        thread_lock = self._lock if suffix == ".lock" else self._replay_lock
        if not thread_lock.acquire(blocking=wait):
            yield False
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_suffix(suffix), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    yield False
                    return
                yield True
            finally:
                os.close(fd)  # closing releases the lock
        finally:
            thread_lock.release()

    def append(self, record: dict[str, Any]) -> bool:
        line = self.crypto.encrypt_json(record) + b"\n"
        try:
            with self._locked():
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            return True
        except OSError as exc:
            self.lost += 1
            log.error("spool write failed (%s); one inbound message lost", exc.__class__.__name__)
            return False

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def needing_old_key(self) -> int:
        """Lines the newest key cannot read (`keys rotate`: the worker replays them
        into the store, where they are re-encrypted, once the store is reachable)."""
        if not self.pending():
            return 0
        with self._locked():
            lines = self.path.read_bytes().splitlines() if self.path.exists() else []
        return sum(1 for line in lines if line.strip() and not self.crypto.is_current(line))

    def replay(self, store: Store, now: float) -> int:
        """Move spooled messages into the inbox in order; the file shrinks as it goes.

        Deduplication keys make a replay after a crash mid-way harmless. A line that
        cannot be read (a write cut short by a full disk, a key no longer configured) is
        set aside in `spool.rejected`, counted and logged without content, and the
        replay goes on: one damaged line never holds up everyone else.
        """
        if not self.pending():
            return 0
        with self._locked(".replay", wait=False) as mine:
            if not mine:
                return 0  # another thread or process is replaying: it keeps the order
            with self._locked():
                lines = self.path.read_bytes().splitlines() if self.path.exists() else []
            done = 0
            rejected: list[bytes] = []
            try:
                for line in lines:
                    if line.strip():
                        record = self._read(line)
                        if record is None:
                            rejected.append(line)
                        else:
                            store.inbox_put(
                                record["partition"], record["channel"], record["address"],
                                record["inbound"], record.get("dedup_key"), now,
                            )  # fmt: skip
                    done += 1
            except StoreUnavailable:
                pass
            self._set_aside(rejected)
            with self._locked():  # lines appended meanwhile stay, after the rest
                current = self.path.read_bytes().splitlines() if self.path.exists() else []
                rest = current[done:]
                if rest:
                    tmp = self.path.with_suffix(".tmp")
                    tmp.write_bytes(b"".join(line + b"\n" for line in rest))
                    os.replace(tmp, self.path)
                else:
                    self.path.unlink(missing_ok=True)
            return done - len(rejected)

    def _read(self, line: bytes) -> dict[str, Any] | None:
        try:
            record = self.crypto.decrypt_json(line)
            if not isinstance(record, dict) or not {"partition", "channel", "address",
                                                     "inbound"} <= set(record):  # fmt: skip
                raise ValueError("incomplete record")
            int(record["partition"])
            return record
        except (CryptoError, ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
            self.rejected += 1
            log.error(
                "spool: an unreadable line (%d bytes, %s) was set aside",
                len(line), exc.__class__.__name__,
            )  # fmt: skip
            return None

    def _set_aside(self, lines: list[bytes]) -> None:
        """Keep unreadable lines apart (still encrypted), for 30 days at most."""
        path = self.rejected_path
        if path.exists() and time.time() - path.stat().st_mtime > REJECTED_TTL:
            path.unlink(missing_ok=True)
        if lines:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, b"".join(line + b"\n" for line in lines))
            finally:
                os.close(fd)

    @staticmethod
    def record(
        partition: int, channel: str, address: str, inbound: dict[str, Any], dedup_key: str | None
    ) -> dict[str, Any]:
        return {
            "partition": partition,
            "channel": channel,
            "address": address,
            "inbound": inbound,
            "dedup_key": dedup_key,
        }

    def __repr__(self) -> str:  # never show what is inside
        return f"Spool({self.path.name}, lost={self.lost}, rejected={self.rejected})"
