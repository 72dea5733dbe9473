"""What the store keeps, and for how long.

Every record has an expiry; nothing is kept forever. Retention (DESIGN.md "Privacy"):

| record | kept | why |
|---|---|---|
| identity link (keyed hash -> opaque user id) | 30 days after the last message, longer while a case is open | recognise a returning person without knowing who they are |
| contact (encrypted channel address) | as the identity link | reply to the person; operators write through it |
| session (encrypted) | 30 days after the last message | language and place in the conversation; Telegram message numbers of the last 48 hours, to clear the chat |
| deduplication record | 7 days | platforms redeliver within hours |
| case (level, codes, encrypted triggers) | open: 90 days after the last activity; closed: `CLOSED_CASE_DAYS` (30) after closing | follow-up by caseworkers |
| case messages (encrypted; in-service consent only; voice notes and photos up to 5 MB) | as the case | the conversation the caseworker reads, hears or sees |
| closed-case counts (month, level, codes, channel, language, messages by direction, days open; no id, no words) | 365 days | how many people the service reached, after the cases themselves are gone |
| consent records | as the case, at least 90 days | proof of what the person agreed to (Ley 29733) |
| audit log (operators' actions, no personal data) | 365 days | accountability |
| safety record after "delete my data" on an open urgent/high case | until closed, 30 days at most | a person in danger is not dropped |
| inbox item (encrypted inbound message) | until processed, 7 days at most | durable delivery from webhook to worker |
| outbox item (encrypted reply) | until sent, 7 days at most | durable delivery from worker to platform |
| dead letter (metadata only: channel, attempts, reason) | 30 days | operators see what could not be delivered |
| operator account (name, role, argon2 hash) | 365 days after the last login | an unused account disappears by itself |
| failed-login counter (keyed hash of account and address) | 15 minutes | the login limiter, shared by every process |
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400.0
SESSION_TTL = 30 * DAY
IDENTITY_TTL = 30 * DAY
DEDUP_TTL = 7 * DAY
OPEN_CASE_TTL = 90 * DAY
CLOSED_CASE_TTL = 30 * DAY  # the default of CLOSED_CASE_DAYS
STATS_TTL = 365 * DAY
CONSENT_TTL = 90 * DAY
AUDIT_TTL = 365 * DAY
SAFETY_RECORD_TTL = 30 * DAY
QUEUE_TTL = 7 * DAY
DEAD_LETTER_TTL = 30 * DAY
OPERATOR_TTL = 365 * DAY
# Inbox and outbox are split into partitions by user: one lease holder per partition
# processes it in order, which keeps each person's messages in arrival order even
# with several workers, and lets a crashed worker's partition be taken over.
PARTITIONS = 8

LEVEL_ORDER = {"urgent": 0, "high": 1, "normal": 2}
IN_SERVICE = "in_service"
EXTERNAL = "external"


def new_id(prefix: str) -> str:
    """Opaque ids: random, carrying nothing about the person or the time."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


@dataclass
class Case:
    """A person a caseworker should reach. Text lives only in CaseMessage, and only
    within the in-service consent scope."""

    id: str
    user: str
    level: str
    indicators: list[str]
    triggers: dict[str, list[str]]
    lang: str
    channel: str
    region: str | None
    opened_at: float
    updated_at: float
    expires_at: float
    state: str = "open"  # open | closed
    owner: str | None = None
    consent_scope: str | None = None  # in_service once the person agreed (or urgent notice)
    consent_at: float | None = None
    choices: list[dict[str, Any]] = field(default_factory=list)  # refusals, no complaint...
    closed_at: float | None = None
    outcome: str | None = None
    deleted_by_request: bool = False
    requested_human: bool = False
    counted: bool = False  # its anonymous counts were recorded when it was first closed

    def private(self) -> dict[str, Any]:
        """The part stored encrypted: the person's own words and choices."""
        return {"triggers": self.triggers, "choices": self.choices, "outcome": self.outcome}

    def public(self) -> dict[str, Any]:
        """The part stored in clear for queue queries: codes, times, no words."""
        return {
            "id": self.id,
            "user": self.user,
            "level": self.level,
            "indicators": self.indicators,
            "lang": self.lang,
            "channel": self.channel,
            "region": self.region,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
            "state": self.state,
            "owner": self.owner,
            "consent_scope": self.consent_scope,
            "consent_at": self.consent_at,
            "closed_at": self.closed_at,
            "deleted_by_request": self.deleted_by_request,
            "requested_human": self.requested_human,
            "counted": self.counted,
        }

    @classmethod
    def from_parts(cls, public: dict[str, Any], private: dict[str, Any]) -> Case:
        return cls(**public, **private)


@dataclass(frozen=True)
class CaseMessage:
    case_id: str
    at: float
    direction: str  # in (from the person) | out (bot) | operator
    text: str
    kind: str = "text"


@dataclass(frozen=True)
class Consent:
    user: str
    case_id: str | None
    scope: str  # in_service | external
    granted: bool
    at: float
    how: str  # asked | notice (urgent) | request (asked for a person) | operator
    detail: str = ""


@dataclass(frozen=True)
class CaseStats:
    """What is left of a closed case once it is gone: counts, never an id or a word."""

    month: str  # "2026-12", Lima time of closing
    level: str
    indicators: list[str]
    channel: str
    lang: str
    messages: dict[str, int]  # direction -> number of messages
    days_open: int


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str
    case_id: str | None = None
    detail: str = ""


def partition_of(lookup_hash: str) -> int:
    return int(lookup_hash[:8], 16) % PARTITIONS


@dataclass
class InboxItem:
    """A platform message, durably recorded before the webhook answers 2xx."""

    id: str
    partition: int
    channel: str
    address: str
    inbound: dict[str, Any]
    received_at: float


URGENT_PRIORITY = "urgent"  # message["priority"]: sent before ordinary replies


@dataclass
class OutboxItem:
    """A reply waiting for the sender; committed with the session change it belongs to."""

    id: str
    partition: int
    channel: str
    address: str
    message: dict[str, Any]
    created_at: float
    attempts: int = 0
    not_before: float = 0.0
    who: str = ""  # set by the store: a keyed hash of the recipient, to cap each person


def recipient_key(hashes: list[str]) -> str:
    """The outbox's name for a recipient (from the newest lookup hash): lets a store
    hand the sender a few replies of each person without decrypting everyone's."""
    return hashes[0][:16]


@dataclass(frozen=True)
class DeadLetter:
    """What could not be delivered: metadata only, never message text."""

    at: float
    channel: str
    partition: int
    attempts: int
    reason: str


@dataclass
class Operator:
    """A console account. `version` changes on logout and password change, which
    revokes every session issued before."""

    username: str
    role: str  # operator | supervisor
    password_hash: str
    version: int = 1


@dataclass
class Commit:
    """Everything one inbound message causes, committed together or not at all."""

    user: str
    session: dict[str, Any] | None = None
    delete_session: bool = False
    cases: list[Case] = field(default_factory=list)
    case_messages: list[CaseMessage] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    stats: list[CaseStats] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    inbox_done: InboxItem | None = None  # acknowledged in the same transaction
    # (channel, address) the person wrote from, kept for the console's replies: in the
    # same transaction, not a write of its own before it (one store round trip less)
    contact: tuple[str, str] | None = None
    # (lease name, owner): the commit happens only while that lease is still ours, so a
    # process that lost its partition cannot acknowledge or queue anything for it.
    fence: tuple[str, str] | None = None


@dataclass(frozen=True)
class Deletion:
    """What "delete my data" did."""

    kept_safety_record: bool
    case_id: str | None = None


def case_expiry(case: Case, now: float, closed_ttl: float = CLOSED_CASE_TTL) -> float:
    """When a case (and its messages and consents) may be forgotten; a closed one
    `closed_ttl` (CLOSED_CASE_DAYS) after closing."""
    if case.deleted_by_request:
        return min(case.expires_at, now + SAFETY_RECORD_TTL)
    if case.state == "closed":
        return (case.closed_at or now) + closed_ttl
    return max(case.updated_at, now) + OPEN_CASE_TTL


def queue_order(case: Case) -> tuple[int, float]:
    return (LEVEL_ORDER.get(case.level, 9), case.opened_at)
