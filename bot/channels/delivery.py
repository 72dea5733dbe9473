"""What channel senders share: the error split that drives retries, and rate limits."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

# An outbox message of this kind asks the channel to delete the chat's messages whose
# platform numbers are in its "refs" (a quick exit on Telegram). A channel that cannot
# delete messages (WhatsApp) never receives one: only channels with refs produce it.
CLEAR = "clear"
# Platform calls a sender process keeps in flight at once (bot.worker.Sender), and so
# the connections each channel's HTTP client pools.
CONCURRENCY = 32


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
    """Limits, global and per recipient (Telegram: about 30/s overall and 1/s per chat;
    a Twilio WhatsApp sender: 80 messages/s). Per recipient a short burst is
    allowed (`burst` messages, then one per second on average), so that the numbers
    and the notice of an urgent reply arrive together."""

    def __init__(
        self,
        per_second: float,
        per_recipient_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        burst: int = 3,
    ) -> None:
        self.global_gap = 1.0 / per_second
        self.recipient_gap = 1.0 / per_recipient_per_second
        self.burst = max(1, burst)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._last_global = 0.0
        self._sent: dict[str, deque[float]] = {}  # per recipient: their last `burst` sends
        self._recent: deque[str] = deque(maxlen=10_000)

    def acquire(self, recipient: str) -> float:
        """Take a slot and return 0, or, when this person must wait, return how long
        (nothing taken): the sender defers only that person, nobody else waits.

        The global limit is a schedule: each caller reserves the next free slot under
        the lock and waits for it outside, so concurrent senders are spaced by the gap
        without queuing behind one another's sleeps."""
        with self._lock:
            now = self.clock()
            times = self._sent.get(recipient)
            if times is not None and len(times) >= self.burst:
                own = times[0] + self.recipient_gap * self.burst
                if own > now:
                    return own - now
            slot = max(now, self._last_global + self.global_gap)
            self._take(recipient, slot)
        if slot > now:
            self.sleep(slot - now)
        return 0.0

    def wait(self, recipient: str) -> None:
        """Block until a slot is free (for callers outside the sender loop)."""
        while (delay := self.acquire(recipient)) > 0:
            self.sleep(delay)

    def _take(self, recipient: str, now: float) -> None:
        self._last_global = now
        times = self._sent.get(recipient)
        if times is None:
            times = self._sent[recipient] = deque(maxlen=self.burst)
            self._recent.append(recipient)
            if len(self._recent) == self._recent.maxlen:
                self._sent.pop(self._recent[0], None)
        times.append(now)
