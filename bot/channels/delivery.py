"""What channel senders share: the error split that drives retries, and rate limits."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Protocol


class TransientError(RuntimeError):
    """Worth retrying (429, 5xx, timeouts). `retry_after` when the platform says."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(RuntimeError):
    """Retrying will not help (the person blocked the bot, a malformed request)."""


class ChannelSender(Protocol):
    """Sends one message. Its `limiter` is applied by the sender loop (bot.worker), which
    defers a person who must wait instead of sleeping with everyone else behind them."""

    name: str
    limiter: RateLimiter

    def send(self, address: str, message: dict[str, Any]) -> None: ...


class RateLimiter:
    """Sliding-window limits, global and per recipient (Telegram: about 30/s overall
    and 1/s per chat; Twilio: one message per second per sender by default)."""

    def __init__(
        self,
        per_second: float,
        per_recipient_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.global_gap = 1.0 / per_second
        self.recipient_gap = 1.0 / per_recipient_per_second
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._last_global = 0.0
        self._last: dict[str, float] = defaultdict(float)
        self._recent: deque[str] = deque(maxlen=10_000)

    def acquire(self, recipient: str) -> float:
        """Take a slot and return 0, or, when this person must wait, return how long
        (nothing taken): the sender defers only that person, nobody else waits. The
        global gap is a few milliseconds shared by everyone: it is simply waited out."""
        with self._lock:
            now = self.clock()
            own = self._last[recipient] + self.recipient_gap if recipient in self._last else 0.0
            if own > now:
                return own - now
            shared = self._last_global + self.global_gap
            if shared > now:
                self.sleep(shared - now)
                now = shared
            self._take(recipient, now)
            return 0.0

    def wait(self, recipient: str) -> None:
        """Block until a slot is free (for callers outside the sender loop)."""
        while (delay := self.acquire(recipient)) > 0:
            self.sleep(delay)

    def _take(self, recipient: str, now: float) -> None:
        self._last_global = now
        if recipient not in self._last:
            self._recent.append(recipient)
            if len(self._recent) == self._recent.maxlen:
                self._last.pop(self._recent[0], None)
        self._last[recipient] = now
