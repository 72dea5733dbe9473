"""The storage port: one interface, two adapters (SQLite embedded, Redis scale-out).

Both adapters pass the same contract suite (tests/store/test_contract.py). Channel
addresses arrive already hashed for lookup; the adapters encrypt everything personal
(session blobs, addresses, case triggers and messages, consent details) with the
`Crypto` they are given, and give every row or key an expiry.

The inbox and outbox make delivery durable: a webhook answers only after `inbox_put`,
a worker commits the session, the replies (outbox) and the inbox acknowledgement in
one `commit`, and a sender delivers the outbox at least once. Both are partitioned by
user; whoever holds a partition's lease processes it in order.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.store.records import (
    AuditEntry,
    Case,
    CaseMessage,
    CaseStats,
    Commit,
    Consent,
    DeadLetter,
    Deletion,
    InboxItem,
    Operator,
    OutboxItem,
)
from bot.store.rotation import Progress, RotationReport

# The dead-letter reason of a queued item that no configured DATA_KEY decrypts.
UNREADABLE = "cannot be decrypted with the configured DATA_KEY (a key removed too early?)"


# One inbound message to record: (partition, channel, address, inbound, dedup_key).
InboxPut = tuple[int, str, str, dict[str, Any], str | None]


class StoreUnavailable(RuntimeError):
    """The store cannot be reached. Callers answer with the static emergency reply."""


class LeaseLost(RuntimeError):
    """A fenced write found the partition's lease held by someone else: nothing was
    written, and the caller must stop working that partition."""


class Store(Protocol):
    # How many partitions one worker process may process at once with profit: 1 for
    # a store with one writer at a time (SQLite); more where the writes of several
    # partitions proceed together and each waits for its round trips (Redis).
    partition_threads: int

    # identity and contact --------------------------------------------------
    def resolve_user(self, hashes: list[str], now: float, create: bool = True) -> str | None:
        """The opaque user id linked to any of the keyed hashes (newest first)."""

    def put_contact(self, user: str, channel: str, address: str, now: float) -> None: ...
    def get_contact(self, user: str, now: float) -> tuple[str, str] | None: ...
    def last_inbound(self, user: str, now: float) -> float | None:
        """When the person last wrote (put_contact is called on every inbound message):
        WhatsApp allows free-form replies only within 24 hours of it."""

    # conversation ------------------------------------------------------------
    def load_session(self, user: str, now: float) -> dict[str, Any] | None: ...
    def mark_seen(self, key: str, now: float) -> bool:
        """Record a platform message id; False when it was already seen."""

    def commit(self, change: Commit, now: float) -> None:
        """Session, cases, case messages, consents and audit: all or nothing."""

    # cases -------------------------------------------------------------------
    def get_case(self, case_id: str, now: float) -> Case | None: ...
    def open_case_of(self, user: str, now: float) -> Case | None: ...
    def list_cases(
        self,
        now: float,
        *,
        state: str | None = "open",
        level: str | None = None,
        owner: str | None = None,
        unassigned: bool = False,
        opened_before: float | None = None,
        limit: int = 200,
    ) -> list[Case]:
        """Urgent first, then oldest first."""

    def case_messages(self, case_id: str, now: float) -> list[CaseMessage]: ...
    def claim_case(self, case_id: str, operator: str, now: float, expected: str | None) -> bool:
        """Set the owner only if it is still `expected`: two operators, one winner."""

    def consents(self, user: str, now: float) -> list[Consent]: ...
    def case_stats(self, now: float) -> list[CaseStats]:
        """The anonymous counts of closed cases (Commit.stats), oldest first, a year."""

    def audit_log(
        self, now: float, case_id: str | None = None, limit: int = 500
    ) -> list[AuditEntry]: ...

    # durable delivery --------------------------------------------------------
    def inbox_put(
        self,
        partition: int,
        channel: str,
        address: str,
        inbound: dict[str, Any],
        dedup_key: str | None,
        now: float,
    ) -> bool:
        """Record an inbound message; False (and nothing stored) for a redelivery."""

    def inbox_put_many(self, puts: list[InboxPut], now: float) -> list[bool]:
        """`inbox_put` for several messages at once (the webhooks' single writer);
        each message is recorded or recognised as a redelivery on its own."""

    def inbox_next(
        self, partition: int, now: float, consumer: str | None = None
    ) -> InboxItem | None:
        """The oldest unprocessed message of a partition (a crashed worker's included)."""

    def inbox_window(
        self, partition: int, now: float, limit: int = 16, consumer: str | None = None
    ) -> list[InboxItem]:
        """The oldest unprocessed messages of a partition, in the order they were
        recorded (which, under concurrent delivery, may differ from the platform's)."""

    def outbox_batch(
        self,
        partition: int,
        now: float,
        limit: int = 50,
        consumer: str | None = None,
        per_person: int | None = None,
    ) -> list[OutboxItem]:
        """The oldest unsent replies of a partition, in order, including those waiting
        for a retry (`not_before`): the sender keeps each person's order by skipping
        only that person's later replies. With `per_person`, at most that many of each
        person (their oldest), so that one person's backlog leaves room for everyone."""

    def busy_partitions(self, kind: str, now: float) -> list[int]:
        """The partitions of "inbox" or "outbox" that hold items to process now, by a
        read only: an idle worker or sender writes nothing (no lease without work)."""

    def outbox_done(
        self, item: OutboxItem, now: float, fence: tuple[str, str] | None = None
    ) -> None: ...
    def outbox_retry(self, item: OutboxItem, not_before: float, now: float) -> None: ...
    def outbox_dead(self, item: OutboxItem, reason: str, now: float) -> None: ...
    def record_dead_letter(
        self, channel: str, partition: int, attempts: int, reason: str, now: float
    ) -> None:
        """A metadata-only record of an item set aside (never its text or address)."""

    def dead_letters(self, now: float) -> list[DeadLetter]: ...
    def lease(self, name: str, owner: str, ttl: float, now: float) -> bool:
        """Take or renew a named lease (e.g. "inbox:3"); False while another holds it."""

    def release(self, name: str, owner: str) -> None: ...

    def count(self, key: str, window: float, now: float, add: bool = True) -> int:
        """A counter shared by every process (failed logins): with `add`, one more;
        the count since the key's first event, which expires `window` seconds after it."""

    # console accounts ----------------------------------------------------------
    def put_operator(self, operator: Operator, now: float) -> None: ...
    def get_operator(self, username: str, now: float) -> Operator | None: ...
    def list_operators(self, now: float) -> list[Operator]: ...

    # lifecycle ---------------------------------------------------------------
    def delete_user(self, user: str, now: float) -> Deletion: ...
    def purge_expired(self, now: float) -> int: ...
    def rotate_keys(
        self, now: float, batch: int = 200, progress: Progress | None = None
    ) -> RotationReport:
        """Re-encrypt every item with the newest key and re-link every person under its
        newest lookup hash; resumable (bot/store/rotation.py)."""

    def ping(self) -> bool: ...
    def close(self) -> None: ...
