"""Worker and sender: the two loops between the durable inbox and the platforms.

Each loop walks the partitions, takes a partition's lease, and processes it in order,
so one person's messages and replies keep their order with any number of processes.
A process that dies loses its leases when they expire; the next holder picks up the
pending items. The worker's commit (session + replies + inbox ack) is atomic, so a
replayed item cannot act twice. The sender delivers at least once: a sender killed
between the platform call and its acknowledgement may send one message twice, the
only duplicate allowed (counted in `stats["possible_duplicates"]`).
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from bot.channels.delivery import ChannelSender, PermanentError, TransientError
from bot.conversation import ConversationService
from bot.spool import Spool
from bot.store.port import LeaseLost, Store, StoreUnavailable
from bot.store.records import PARTITIONS, URGENT_PRIORITY, InboxItem, OutboxItem

log = logging.getLogger(__name__)

LEASE_TTL = 3.0  # renewed every second while held: a killed holder's work resumes in seconds
HEARTBEAT = 1.0
WINDOW = 16  # inbox items looked at to keep one person's messages in the platform's order
MAX_ATTEMPTS = 8
MAX_ITEM_FAILURES = 3  # an inbox item that raises this often is set aside
BATCH = 50


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: 2, 4, 8 ... seconds, at most 5 minutes."""
    return min(300.0, 2.0 ** (attempts + 1)) * (0.75 + random.random() / 2)  # noqa: S311


def next_in_arrival_order(window: list[InboxItem]) -> InboxItem:
    """The next message to process: the oldest recorded, unless the same person has a
    message the platform gave earlier (a smaller `seq`: Telegram's update_id, or the
    time Twilio's request was received) that was recorded later, as happens when the
    platform delivers one person's messages concurrently."""
    head = window[0]
    seq = head.inbound.get("seq")
    if not isinstance(seq, (int, float)):
        return head
    earlier = [
        i for i in window[1:]
        if i.address == head.address and i.channel == head.channel
        and isinstance(i.inbound.get("seq"), (int, float)) and i.inbound["seq"] < seq
    ]  # fmt: skip
    return min(earlier, key=lambda i: i.inbound["seq"]) if earlier else head


def urgent_first(items: list[OutboxItem]) -> list[OutboxItem]:
    """People with an urgent reply (emergency numbers, the on-call alert) go first; each
    person's own messages keep their order (a stable sort on a per-person key)."""
    urgent = {i.address for i in items if i.message.get("priority") == URGENT_PRIORITY}
    return sorted(items, key=lambda i: i.address not in urgent)


class Loop:
    """A partition loop with leases; subclasses process one partition."""

    kind = "loop"

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.owner = f"{self.kind}-{secrets.token_hex(4)}"  # also its Redis consumer name
        self.stats: Counter[str] = Counter()
        self.fence: tuple[str, str] | None = None  # (lease, owner) while a pass runs

    def run_once(self) -> int:
        """One pass over every partition this process can lease; returns items handled."""
        done = 0
        for partition in range(PARTITIONS):
            name = f"{self.kind}:{partition}"
            if not self.store.lease(name, self.owner, LEASE_TTL, self.clock()):
                continue  # another process is on it
            self.fence = (name, self.owner)
            beat = self._heartbeat(name)
            try:
                done += self.partition(partition)
            except LeaseLost:
                # It expired under us and someone else holds it now: they carry on
                # where we stopped; nothing we had not committed was written.
                self.stats["lease_lost"] += 1
                log.warning("%s lease lost mid-pass; partition left to its new holder", name)
                continue
            finally:
                self.fence = None
                beat.set()
            # Released after each pass, so a restarted process does not wait; a killed
            # one keeps it only until it expires (LEASE_TTL).
            self.store.release(name, self.owner)
        return done

    def renew(self) -> None:
        """Keep the lease while working: LeaseLost if it went to someone else."""
        if self.fence and not self.store.lease(self.fence[0], self.owner, LEASE_TTL, self.clock()):
            raise LeaseLost(self.fence[0])

    def _heartbeat(self, name: str) -> threading.Event:
        """Renew the lease every second while a pass runs, even during a slow send, so
        the lease can be short: a killed process stops renewing and loses it at once."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT):
                try:
                    if not self.store.lease(name, self.owner, LEASE_TTL, self.clock()):
                        return  # lost: the next fenced write finds out and stops
                except StoreUnavailable:
                    continue

        threading.Thread(target=beat, name=f"lease-{name}", daemon=True).start()
        return done

    def partition(self, partition: int) -> int:
        raise NotImplementedError

    def run_forever(self, stop: threading.Event, idle: float = 0.2) -> None:
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(idle)
            except StoreUnavailable:
                self.stats["store_unavailable"] += 1
                stop.wait(1.0)
            except Exception:
                log.exception("%s loop failed; retrying", self.kind)
                stop.wait(1.0)


class Worker(Loop):
    """Inbox -> engine -> (session, outbox, inbox ack) in one commit."""

    kind = "inbox"

    def __init__(
        self,
        store: Store,
        service: ConversationService,
        spool: Spool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, clock)
        self.service = service
        self.spool = spool
        self.failures: Counter[str] = Counter()  # inbox item id -> failed attempts

    def run_once(self) -> int:
        replayed = self.spool.replay(self.store, self.clock()) if self.spool else 0
        self.stats["replayed"] += replayed
        return replayed + super().run_once()

    def partition(self, partition: int) -> int:
        done = 0
        while done < BATCH:
            self.renew()
            window = self.store.inbox_window(partition, self.clock(), WINDOW, self.owner)
            if not window:
                break
            item = next_in_arrival_order(window)
            try:
                self.service.process(item, fence=self.fence)
            except (StoreUnavailable, LeaseLost):
                raise
            except Exception as exc:  # one bad item must not silence the partition
                self.stats["item_errors"] += 1
                self.failures[item.id] += 1
                log.error("inbox item raised %s (attempt %d)", exc.__class__.__name__,
                          self.failures[item.id])  # fmt: skip
                if self.failures[item.id] < MAX_ITEM_FAILURES:
                    break  # retried on the next pass; later items of this partition wait
                self.service.set_aside(item, f"unexpected {exc.__class__.__name__}")
                self.failures.pop(item.id, None)
                self.stats["dead"] += 1
            else:
                self.stats["processed"] += 1
            done += 1
        return done


class Sender(Loop):
    """Outbox -> platform, in order per partition, with retries and dead letters."""

    kind = "outbox"

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, ChannelSender],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, clock)
        self.channels = dict(channels)
        self.urgent_only = False  # the first sweep of each pass: people with urgent replies

    def run_once(self) -> int:
        """Urgent replies first, across every partition; then everything else."""
        self.urgent_only = True
        try:
            done = super().run_once()
        finally:
            self.urgent_only = False
        return done + super().run_once()

    def partition(self, partition: int) -> int:
        done = 0
        now = self.clock()
        blocked: set[str] = set()  # people whose earlier reply waits: theirs wait too
        batch = self.store.outbox_batch(partition, now, BATCH, consumer=self.owner)
        if self.urgent_only:
            urgent = {i.address for i in batch if i.message.get("priority") == URGENT_PRIORITY}
            batch = [i for i in batch if i.address in urgent]
        for item in urgent_first(batch):
            if item.address in blocked:
                continue
            if item.not_before > now:
                blocked.add(item.address)
                continue
            channel = self.channels.get(item.channel)
            limiter = getattr(channel, "limiter", None)
            if limiter is not None and limiter.acquire(item.address) > 0:
                # This person must wait a moment (platform limits): only they wait.
                blocked.add(item.address)
                self.stats["rate_deferred"] += 1
                continue
            if channel is not None:
                self.renew()
            if channel is None:
                if item.channel == "terminal":
                    self.store.outbox_done(item, now)  # printed already; nothing to send
                    continue
                self.store.outbox_dead(item, f"no sender for channel {item.channel}", now)
                self.stats["dead"] += 1
                continue
            try:
                channel.send(item.address, item.message)
            except TransientError as exc:
                if item.attempts + 1 >= MAX_ATTEMPTS:
                    self.store.outbox_dead(item, str(exc), now)
                    self.stats["dead"] += 1
                    continue
                delay = exc.retry_after if exc.retry_after is not None else backoff(item.attempts)
                self.store.outbox_retry(item, now + delay, now)
                self.stats["retried"] += 1
                blocked.add(item.address)
                log.warning("%s delivery will be retried in %.0fs", item.channel, delay)
                continue
            except PermanentError as exc:
                self.store.outbox_dead(item, str(exc), now)
                self.stats["dead"] += 1
                log.warning("%s delivery failed for good: %s", item.channel, exc)
                continue
            except (StoreUnavailable, LeaseLost):
                raise
            except Exception as exc:  # a bug or a bad item: it alone is set aside
                reason = f"{item.channel}: unexpected {exc.__class__.__name__}"
                self.store.outbox_dead(item, reason, now)
                self.stats["dead"] += 1
                self.stats["item_errors"] += 1
                log.error("%s delivery raised %s; item set aside", item.channel,
                          exc.__class__.__name__)  # fmt: skip
                continue
            if item.attempts:
                # It failed before; if the failure came after the platform accepted it,
                # the person may see it twice. The one duplicate DESIGN.md allows.
                self.stats["possible_duplicates"] += 1
            self.store.outbox_done(item, now, fence=self.fence)
            self.stats["sent"] += 1
            done += 1
        return done
