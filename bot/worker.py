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
from concurrent.futures import ThreadPoolExecutor, wait

from bot.channels.delivery import CONCURRENCY, ChannelSender, PermanentError, TransientError
from bot.conversation import ConversationService
from bot.spool import Spool
from bot.store.port import LeaseLost, Store, StoreUnavailable
from bot.store.records import URGENT_PRIORITY, InboxItem, OutboxItem

log = logging.getLogger(__name__)

LEASE_TTL = 3.0  # renewed every second while held: a killed holder's work resumes in seconds
HEARTBEAT = 1.0
FRESH = LEASE_TTL - HEARTBEAT  # work goes on while the last renewal is younger than this
ACK_RETRY = 0.1  # seconds between attempts to record a sent message while the store is away
ACK_PATIENCE = 30.0  # and for how long
WINDOW = 16  # inbox items looked at to keep one person's messages in the platform's order
MAX_ATTEMPTS = 8
MAX_ITEM_FAILURES = 3  # an inbox item that raises this often is set aside
BATCH = 50
PER_PERSON = 5  # replies of one person per batch: more than a per-chat burst can send
SENT, WAIT, SKIPPED = "sent", "wait", "skipped"  # what one delivery attempt did


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
        self._count_lock = threading.Lock()
        self.lost: set[str] = set()  # leases the heartbeat could not renew
        # When each held lease was last renewed (before the call, monotonic): work goes
        # on only while the lease is certainly still ours (see `held`).
        self.renewed: dict[str, float] = {}
        self.wake = threading.Event()  # set when work arrives in this process
        self.on_work: Callable[[], None] | None = None  # called when a pass produced work

    def candidates(self) -> list[int]:
        """Partitions with work, found by a read: an idle loop writes nothing (a lease
        is a write, and leasing every partition five times a second was 160 writes)."""
        return self.store.busy_partitions(self.kind, self.clock())

    def run_once(self) -> int:
        """One pass over every partition this process can lease; returns items handled."""
        return self.over(self.candidates())

    def over(self, partitions: list[int]) -> int:
        """Pass over these partitions, one after another."""
        return sum(self.pass_over(partition) for partition in partitions)

    def pass_over(self, partition: int) -> int:
        """Lease a partition, process it, release it; 0 when another process holds it."""
        name = f"{self.kind}:{partition}"
        if not self.take(name):
            return 0
        beat = self._heartbeat(name)
        try:
            done = self.partition(partition, (name, self.owner))
        except LeaseLost:
            # It expired under us and someone else holds it now: they carry on
            # where we stopped; nothing we had not committed was written.
            self.count("lease_lost")
            log.warning("%s lease lost mid-pass; partition left to its new holder", name)
            return 0
        finally:
            beat.set()
        # Released after each pass, so a restarted process does not wait; a killed
        # one keeps it only until it expires (LEASE_TTL).
        self.store.release(name, self.owner)
        return done

    def count(self, key: str, n: int = 1) -> None:
        """Add to a statistic: a loop's partitions may run in threads of its own."""
        with self._count_lock:
            self.stats[key] += n

    def take(self, name: str) -> bool:
        """Take a partition's lease for a pass."""
        asked = time.monotonic()
        if not self.store.lease(name, self.owner, LEASE_TTL, self.clock()):
            return False  # another process is on it
        self.lost.discard(name)
        self.renewed[name] = asked
        return True

    def held(self, name: str) -> None:
        """LeaseLost unless the lease is certainly still ours, without a store call: it
        was renewed less than LEASE_TTL - HEARTBEAT ago (the heartbeat renews it every
        HEARTBEAT; a store that stops answering stops the work before the lease can
        expire and another process take the partition)."""
        if name in self.lost or time.monotonic() - self.renewed.get(name, 0.0) > FRESH:
            raise LeaseLost(name)

    def _heartbeat(self, name: str) -> threading.Event:
        """Renew the lease every second while a pass runs, even during a slow send, so
        the lease can be short: a killed process stops renewing and loses it at once."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT):
                asked = time.monotonic()
                try:
                    if self.store.lease(name, self.owner, LEASE_TTL, self.clock()):
                        self.renewed[name] = asked
                    else:
                        self.lost.add(name)  # the next send or fenced write stops
                        return
                except StoreUnavailable:
                    continue

        threading.Thread(target=beat, name=f"lease-{name}", daemon=True).start()
        return done

    def partition(self, partition: int, fence: tuple[str, str]) -> int:
        """Process one leased partition; `fence` is (lease, owner) for fenced writes."""
        raise NotImplementedError

    def run_forever(self, stop: threading.Event, idle: float = 0.2) -> None:
        """Pass after pass; when a pass found nothing, wait `idle` seconds or until
        `wake` is set (work recorded in this process: no polling delay)."""
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    self.wake.wait(idle)
                    self.wake.clear()
            except StoreUnavailable:
                self.stats["store_unavailable"] += 1
                stop.wait(1.0)
            except Exception:
                log.exception("%s loop failed; retrying", self.kind)
                stop.wait(1.0)


class Worker(Loop):
    """Inbox -> engine -> (session, outbox, inbox ack) in one commit.

    Partitions are independent (each person lives in one), so a store that serves
    several writers at once (`Store.partition_threads`: Redis) has a pass work on
    several partitions in threads: per message the worker makes about seven store
    round trips, time in which another partition's message can be processed. One
    partition stays one thread: its messages are processed one at a time, in order.
    """

    kind = "inbox"

    def __init__(
        self,
        store: Store,
        service: ConversationService,
        spool: Spool | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: int | None = None,
    ) -> None:
        super().__init__(store, clock)
        self.service = service
        self.spool = spool
        self.failures: Counter[str] = Counter()  # inbox item id -> failed attempts
        threads = concurrency or store.partition_threads
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inbox")
            if threads > 1
            else None
        )

    def run_once(self) -> int:
        replayed = self.spool.replay(self.store, self.clock()) if self.spool else 0
        self.count("replayed", replayed)
        return replayed + super().run_once()

    def over(self, partitions: list[int]) -> int:
        """In the pool's threads when there is one, a partition each."""
        if self._pool is None or len(partitions) < 2:
            return super().over(partitions)
        futures = [self._pool.submit(self.pass_over, p) for p in partitions]
        wait(futures)
        return sum(f.result() for f in futures)  # the first failure raises

    def partition(self, partition: int, fence: tuple[str, str]) -> int:
        done = 0
        while done < BATCH:
            self.held(fence[0])
            window = self.store.inbox_window(partition, self.clock(), WINDOW, self.owner)
            if not window:
                break
            item = next_in_arrival_order(window)
            try:
                self.service.process(item, fence=fence)
            except (StoreUnavailable, LeaseLost):
                raise
            except Exception as exc:  # one bad item must not silence the partition
                self.count("item_errors")
                self.failures[item.id] += 1
                log.error("inbox item raised %s (attempt %d)", exc.__class__.__name__,
                          self.failures[item.id])  # fmt: skip
                if self.failures[item.id] < MAX_ITEM_FAILURES:
                    break  # retried on the next pass; later items of this partition wait
                self.service.set_aside(item, f"unexpected {exc.__class__.__name__}")
                self.failures.pop(item.id, None)
                self.count("dead")
            else:
                self.count("processed")
                if self.on_work is not None:
                    self.on_work()  # replies committed: the sender wakes (here, or through the parent)
            done += 1
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class Sender(Loop):
    """Outbox -> platform: people in parallel, each person's replies in order.

    A pass leases every partition it can, splits each partition's batch into one chain
    per person, and runs the chains concurrently on a pool of `concurrency` threads
    (a platform round trip is 100-300 ms: one message at a time would cap the service
    at a few per second, and one busy person would stall everyone). Within a chain a
    person's replies go one after the other; a reply that must wait (a retry, the
    platform's per-chat limit) holds back only that person's later ones. The global
    limits of each platform are schedules in the channel's RateLimiter.
    """

    kind = "outbox"

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, ChannelSender],
        clock: Callable[[], float] = time.time,
        concurrency: int = CONCURRENCY,
    ) -> None:
        super().__init__(store, clock)
        self.channels = dict(channels)
        self.urgent_only = False  # the first sweep of each pass: people with urgent replies
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="send")

    def run_once(self) -> int:
        """Urgent replies first, across every partition; then everything else."""
        self.urgent_only = True
        try:
            done = self._pass()
        finally:
            self.urgent_only = False
        return done + self._pass()

    def _pass(self) -> int:
        held: list[tuple[str, threading.Event]] = []
        try:
            chains: list[tuple[tuple[str, str], list[OutboxItem]]] = []
            for partition in self.candidates():
                name = f"{self.kind}:{partition}"
                if not self.take(name):
                    continue
                held.append((name, self._heartbeat(name)))
                chains += self._chains(partition, (name, self.owner))
            futures = [self._pool.submit(self._chain, fence, items) for fence, items in chains]
            wait(futures)
        finally:
            for name, beat in held:
                beat.set()
                # Released after each pass, so a restarted process does not wait.
                self.store.release(name, self.owner)
        done, failure = 0, None
        for future in futures:
            try:
                done += future.result()
            except LeaseLost as exc:
                self.count("lease_lost")
                log.warning("%s lease lost mid-pass; partition left to its new holder", exc)
            except StoreUnavailable as exc:
                failure = exc
        if failure is not None:
            raise failure
        return done

    def _chains(
        self, partition: int, fence: tuple[str, str]
    ) -> list[tuple[tuple[str, str], list[OutboxItem]]]:
        """One chain per person, urgent people first, each in the person's order."""
        batch = self.store.outbox_batch(
            partition, self.clock(), BATCH, consumer=self.owner, per_person=PER_PERSON
        )
        if self.urgent_only:
            urgent = {i.address for i in batch if i.message.get("priority") == URGENT_PRIORITY}
            batch = [i for i in batch if i.address in urgent]
        people: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in urgent_first(batch):
            people.setdefault((item.channel, item.address), []).append(item)
        return [(fence, items) for items in people.values()]

    def _chain(self, fence: tuple[str, str], items: list[OutboxItem]) -> int:
        """One person's replies, in order; stops at the first that must wait."""
        done = 0
        for item in items:
            self.held(fence[0])  # never send for a partition that may be someone else's
            now = self.clock()
            if item.not_before > now:
                return done
            outcome = self._deliver(item, now, fence)
            if outcome == WAIT:
                return done
            done += outcome == SENT
        return done

    def _deliver(self, item: OutboxItem, now: float, fence: tuple[str, str]) -> str:
        channel = self.channels.get(item.channel)
        if channel is None:
            if item.channel == "terminal":
                self.store.outbox_done(item, now)  # printed already; nothing to send
                return SKIPPED
            self.store.outbox_dead(item, f"no sender for channel {item.channel}", now)
            self.count("dead")
            return SKIPPED
        limiter = getattr(channel, "limiter", None)
        if limiter is not None and limiter.acquire(item.address) > 0:
            # This person must wait a moment (platform limits): only they wait.
            self.count("rate_deferred")
            return WAIT
        try:
            channel.send(item.address, item.message)
        except TransientError as exc:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                self.store.outbox_dead(item, str(exc), now)
                self.count("dead")
                return SKIPPED
            delay = exc.retry_after if exc.retry_after is not None else backoff(item.attempts)
            self.store.outbox_retry(item, now + delay, now)
            self.count("retried")
            log.warning("%s delivery will be retried in %.0fs", item.channel, delay)
            return WAIT
        except PermanentError as exc:
            self.store.outbox_dead(item, str(exc), now)
            self.count("dead")
            log.warning("%s delivery failed for good: %s", item.channel, exc)
            return SKIPPED
        except (StoreUnavailable, LeaseLost):
            raise
        except Exception as exc:  # a bug or a bad item: it alone is set aside
            self.store.outbox_dead(
                item, f"{item.channel}: unexpected {exc.__class__.__name__}", now
            )
            self.count("dead")
            self.count("item_errors")
            log.error("%s delivery raised %s; item set aside", item.channel,
                      exc.__class__.__name__)  # fmt: skip
            return SKIPPED
        if item.attempts:
            # It failed before; if the failure came after the platform accepted it,
            # the person may see it twice. The one duplicate DESIGN.md allows.
            self.count("possible_duplicates")
        self._acknowledge(item, fence)
        self.count("sent")
        return SENT

    def _acknowledge(self, item: OutboxItem, fence: tuple[str, str]) -> None:
        """The platform has the message: record it as sent. If the store does not answer
        (a Redis restart, a locked file) or the lease has gone meanwhile, the record is
        still written, unfenced, as soon as the store answers (for ACK_PATIENCE): it is
        true whoever holds the partition now, and giving up would send it again."""
        try:
            self.store.outbox_done(item, self.clock(), fence=fence)
            return
        except (StoreUnavailable, LeaseLost):
            pass
        deadline = time.monotonic() + ACK_PATIENCE
        while True:
            try:
                self.store.outbox_done(item, self.clock())
                self.count("late_acks")
                return
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    self.count("possible_duplicates")  # sent, but never recorded as sent
                    raise
                time.sleep(ACK_RETRY)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
