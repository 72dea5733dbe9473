"""The local spool: where inbound messages wait while the store is unreachable.

Guarantee 6 of DESIGN.md: the webhook still answers (inline, with the emergency
message) and appends the message, encrypted, to this file; the worker replays it into
the inbox, in order, once the store is back. Only if even this file cannot be written
is a message lost; that is counted and logged without personal data.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, crypto: Crypto) -> None:
        self.path = directory / "spool.log"
        self.crypto = crypto
        self._lock = threading.Lock()
        self.lost = 0

    def append(self, record: dict[str, Any]) -> bool:
        line = self.crypto.encrypt_json(record) + b"\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
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

    def replay(self, store: Store, now: float) -> int:
        """Move spooled messages into the inbox in order; the file shrinks as it goes.

        Deduplication keys make a replay after a crash mid-way harmless.
        """
        if not self.pending():
            return 0
        with self._lock:
            lines = self.path.read_bytes().splitlines()
            done = 0
            try:
                for line in lines:
                    if line.strip():
                        record = self.crypto.decrypt_json(line)
                        store.inbox_put(
                            record["partition"], record["channel"], record["address"],
                            record["inbound"], record.get("dedup_key"), now,
                        )  # fmt: skip
                    done += 1
            except StoreUnavailable:
                pass
            rest = lines[done:]
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(line + b"\n" for line in rest))
            os.replace(tmp, self.path)
            if not rest:
                self.path.unlink(missing_ok=True)
            return done

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
        return f"Spool({self.path.name}, lost={self.lost})"
