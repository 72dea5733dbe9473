"""SQLite adapter: the embedded default, everything under DATA_DIR in one file.

A real single-host deployment mode: WAL journal, a busy timeout for several threads,
one transaction per commit. Every row has `expires_at`; reads ignore expired rows and
`purge_expired` deletes them (the worker calls it periodically).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from bot.store.crypto import Crypto, CryptoError
from bot.store.port import UNREADABLE, InboxPut, LeaseLost, StoreUnavailable
from bot.store.records import (
    AUDIT_TTL,
    CLOSED_CASE_TTL,
    CONSENT_TTL,
    DEAD_LETTER_TTL,
    DEDUP_TTL,
    IDENTITY_TTL,
    OPERATOR_TTL,
    QUEUE_TTL,
    SESSION_TTL,
    STATS_TTL,
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
    case_expiry,
    new_id,
    queue_order,
    recipient_key,
)
from bot.store.rotation import Progress, RotationReport, count_batch, fresh
from bot.store.writer_lock import WriterLock

SCHEMA = """
CREATE TABLE IF NOT EXISTS identities (hash TEXT PRIMARY KEY, user TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS identities_user ON identities(user);
CREATE TABLE IF NOT EXISTS contacts (user TEXT PRIMARY KEY, channel TEXT NOT NULL, address BLOB NOT NULL, last_in REAL NOT NULL DEFAULT 0, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (user TEXT PRIMARY KEY, blob BLOB NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, level TEXT NOT NULL, state TEXT NOT NULL,
    owner TEXT, opened_at REAL NOT NULL, public TEXT NOT NULL, private BLOB NOT NULL,
    expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS cases_user ON cases(user, state);
CREATE INDEX IF NOT EXISTS cases_queue ON cases(state, level, opened_at);
CREATE TABLE IF NOT EXISTS case_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, at REAL NOT NULL,
    blob BLOB NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS case_messages_case ON case_messages(case_id, seq);
CREATE TABLE IF NOT EXISTS consents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, case_id TEXT,
    blob BLOB NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS consents_user ON consents(user, seq);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, case_id TEXT, detail TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS audit_case ON audit(case_id, seq);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, part INTEGER NOT NULL, channel TEXT NOT NULL,
    blob BLOB NOT NULL, received_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_part ON inbox(part, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, part INTEGER NOT NULL, channel TEXT NOT NULL,
    blob BLOB NOT NULL, created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0, expires_at REAL NOT NULL, who TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_part ON outbox(part, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, channel TEXT NOT NULL,
    part INTEGER NOT NULL, attempts INTEGER NOT NULL, reason TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS operators (username TEXT PRIMARY KEY, blob BLOB NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS case_stats (seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL, expires_at REAL NOT NULL);
"""
# (table, key column, encrypted column): everything `keys rotate` re-encrypts.
ENCRYPTED_COLUMNS = (
    ("contacts", "user", "address"), ("sessions", "user", "blob"), ("cases", "id", "private"),
    ("case_messages", "seq", "blob"), ("consents", "seq", "blob"), ("inbox", "seq", "blob"),
    ("outbox", "seq", "blob"), ("operators", "username", "blob"),
)  # fmt: skip
EXPIRING_TABLES = (
    "identities", "contacts", "sessions", "seen", "cases", "case_messages", "consents", "audit",
    "inbox", "outbox", "dead_letters", "leases", "operators", "counters", "case_stats",
)  # fmt: skip


MMAP_BYTES = 256 * 1024 * 1024


class SQLiteStore:
    partition_threads = 1  # one writer at a time: a worker's partitions one after another

    def __init__(
        self, path: Path, crypto: Crypto, closed_case_ttl: float = CLOSED_CASE_TTL
    ) -> None:
        self.path = path
        self.crypto = crypto
        self.closed_case_ttl = closed_case_ttl
        self._local = threading.local()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Owner-only: the contents are encrypted, but operators' password hashes, case
        # ids, times and the audit trail are not for other local users. SQLite gives its
        # -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self._writer = WriterLock(path)
        try:
            self._db().executescript(SCHEMA)  # executescript manages its own transaction
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _migrate(self) -> None:
        """Columns added after a database was created (CREATE IF NOT EXISTS skips them)."""
        columns = {row[1] for row in self._db().execute("PRAGMA table_info(contacts)")}
        if "last_in" not in columns:
            self._db().execute("ALTER TABLE contacts ADD COLUMN last_in REAL NOT NULL DEFAULT 0")
        columns = {row[1] for row in self._db().execute("PRAGMA table_info(outbox)")}
        if "who" not in columns:
            self._db().execute("ALTER TABLE outbox ADD COLUMN who TEXT NOT NULL DEFAULT ''")

    # connection handling -----------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
                # Pages read through a shared memory map, not a 2 MB cache per connection:
                # with 100,000 people stored, lookups stay as fast as with 1,000.
                db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            self._local.db = db
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection, lock: WriterLock) -> None:
            self.db, self.lock = db, lock

        def __enter__(self) -> sqlite3.Connection:
            self.lock.__enter__()
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.lock.__exit__()
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            return self.db

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            try:
                if exc_type is None:
                    try:
                        self.db.execute("COMMIT")
                    except sqlite3.Error as error:
                        self.db.execute("ROLLBACK")
                        raise StoreUnavailable(f"sqlite: {error}") from error
                else:
                    self.db.execute("ROLLBACK")
                    if isinstance(exc, sqlite3.Error):
                        raise StoreUnavailable(f"sqlite: {exc}") from exc
            finally:
                self.lock.__exit__()

    def _tx(self) -> _Tx:
        return self._Tx(self._db(), self._writer)

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    # identity and contact ----------------------------------------------------
    def resolve_user(self, hashes: list[str], now: float, create: bool = True) -> str | None:
        with self._tx() as db:
            user = None
            for h in hashes:
                row = db.execute(
                    "SELECT user FROM identities WHERE hash=? AND expires_at>?", (h, now)
                ).fetchone()
                if row:
                    user = row[0]
                    break
            if user is None and not create:
                return None
            user = user or new_id("u")
            # Link the newest hash (a key rotation re-links here) and extend the link.
            db.execute(
                "INSERT OR REPLACE INTO identities(hash, user, expires_at) VALUES (?,?,?)",
                (hashes[0], user, now + IDENTITY_TTL),
            )
            return user

    def put_contact(self, user: str, channel: str, address: str, now: float) -> None:
        with self._tx() as db:
            self._put_contact(db, user, channel, address, now)

    def _put_contact(
        self, db: sqlite3.Connection, user: str, channel: str, address: str, now: float
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO contacts(user, channel, address, last_in, expires_at)"
            " VALUES (?,?,?,?,?)",
            (user, channel, self.crypto.encrypt(address), now, now + IDENTITY_TTL),
        )

    def get_contact(self, user: str, now: float) -> tuple[str, str] | None:
        rows = self._read(
            "SELECT channel, address FROM contacts WHERE user=? AND expires_at>?", (user, now)
        )
        if not rows:
            return None
        return rows[0][0], self.crypto.decrypt(rows[0][1]).decode()

    def last_inbound(self, user: str, now: float) -> float | None:
        rows = self._read("SELECT last_in FROM contacts WHERE user=? AND expires_at>?", (user, now))
        return rows[0][0] if rows and rows[0][0] else None

    # conversation ------------------------------------------------------------
    def load_session(self, user: str, now: float) -> dict[str, Any] | None:
        rows = self._read("SELECT blob FROM sessions WHERE user=? AND expires_at>?", (user, now))
        return self.crypto.decrypt_json(rows[0][0]) if rows else None

    def mark_seen(self, key: str, now: float) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT expires_at FROM seen WHERE key=?", (key,)).fetchone()
            if row and row[0] > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO seen(key, expires_at) VALUES (?,?)", (key, now + DEDUP_TTL)
            )
            return True

    def count(self, key: str, window: float, now: float, add: bool = True) -> int:
        with self._tx() as db:
            row = db.execute("SELECT n, expires_at FROM counters WHERE key=?", (key,)).fetchone()
            n, expires = (row[0], row[1]) if row and row[1] > now else (0, now + window)
            if add:
                n += 1
                db.execute(
                    "INSERT OR REPLACE INTO counters(key, n, expires_at) VALUES (?,?,?)",
                    (key, n, expires),
                )
            return n

    def commit(self, change: Commit, now: float) -> None:
        with self._tx() as db:
            self._fenced(db, change.fence, now)
            if change.contact is not None:
                self._put_contact(db, change.user, *change.contact, now)
            if change.delete_session:
                db.execute("DELETE FROM sessions WHERE user=?", (change.user,))
            elif change.session is not None:
                db.execute(
                    "INSERT OR REPLACE INTO sessions(user, blob, expires_at) VALUES (?,?,?)",
                    (change.user, self.crypto.encrypt_json(change.session), now + SESSION_TTL),
                )
            for case in change.cases:
                self._write_case(db, case, now)
            for message in change.case_messages:
                expires = self._case_expiry(db, message.case_id, now)
                db.execute(
                    "INSERT INTO case_messages(case_id, at, blob, expires_at) VALUES (?,?,?,?)",
                    (
                        message.case_id,
                        message.at,
                        self.crypto.encrypt_json(message.__dict__),
                        expires,
                    ),
                )
            for consent in change.consents:
                expires = max(now + CONSENT_TTL, self._case_expiry(db, consent.case_id, now))
                db.execute(
                    "INSERT INTO consents(user, case_id, blob, expires_at) VALUES (?,?,?,?)",
                    (
                        consent.user,
                        consent.case_id,
                        self.crypto.encrypt_json(consent.__dict__),
                        expires,
                    ),
                )
            for entry in change.audit:
                db.execute(
                    "INSERT INTO audit(at, actor, action, case_id, detail, expires_at) VALUES (?,?,?,?,?,?)",
                    (
                        entry.at,
                        entry.actor,
                        entry.action,
                        entry.case_id,
                        entry.detail,
                        entry.at + AUDIT_TTL,
                    ),
                )
            for stats in change.stats:  # codes and counts only: kept in clear
                db.execute(
                    "INSERT INTO case_stats(record, expires_at) VALUES (?,?)",
                    (json.dumps(stats.__dict__), now + STATS_TTL),
                )
            for item in change.outbox:
                db.execute(
                    "INSERT INTO outbox(part, channel, blob, created_at, expires_at, who)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        item.partition,
                        item.channel,
                        self.crypto.encrypt_json(
                            {"address": item.address, "message": item.message}
                        ),
                        now,
                        now + QUEUE_TTL,
                        self._who(item),
                    ),
                )
            if change.inbox_done is not None:
                db.execute("DELETE FROM inbox WHERE seq=?", (int(change.inbox_done.id),))

    def _case_expiry(self, db: sqlite3.Connection, case_id: str | None, now: float) -> float:
        if case_id is None:
            return now + CONSENT_TTL
        row = db.execute("SELECT expires_at FROM cases WHERE id=?", (case_id,)).fetchone()
        return row[0] if row else now + CONSENT_TTL

    def _write_case(self, db: sqlite3.Connection, case: Case, now: float) -> None:
        case.expires_at = case_expiry(case, now, self.closed_case_ttl)
        row = (
            case.id, case.user, case.level, case.state, case.owner, case.opened_at,
            json.dumps(case.public()), self.crypto.encrypt_json(case.private()), case.expires_at,
        )  # fmt: skip
        db.execute(
            "INSERT OR REPLACE INTO cases(id, user, level, state, owner, opened_at, public, private, expires_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            row,
        )
        # Messages and consents live as long as their case.
        db.execute(
            "UPDATE case_messages SET expires_at=? WHERE case_id=?", (case.expires_at, case.id)
        )
        db.execute(
            "UPDATE consents SET expires_at=max(expires_at, ?) WHERE case_id=?",
            (case.expires_at, case.id),
        )
        if case.state == "open" or case.deleted_by_request:
            db.execute(
                "UPDATE identities SET expires_at=max(expires_at, ?) WHERE user=?",
                (case.expires_at, case.user),
            )
            db.execute(
                "UPDATE contacts SET expires_at=max(expires_at, ?) WHERE user=?",
                (case.expires_at, case.user),
            )

    # cases -------------------------------------------------------------------
    def _case(self, row: tuple[Any, ...]) -> Case:
        return Case.from_parts(json.loads(row[0]), self.crypto.decrypt_json(row[1]))

    def get_case(self, case_id: str, now: float) -> Case | None:
        rows = self._read(
            "SELECT public, private FROM cases WHERE id=? AND expires_at>?", (case_id, now)
        )
        return self._case(rows[0]) if rows else None

    def open_case_of(self, user: str, now: float) -> Case | None:
        rows = self._read(
            "SELECT public, private FROM cases WHERE user=? AND state='open' AND expires_at>?"
            " ORDER BY opened_at DESC LIMIT 1",
            (user, now),
        )
        return self._case(rows[0]) if rows else None

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
        sql = "SELECT public, private FROM cases WHERE expires_at>?"
        args: list[Any] = [now]
        for column, value in (("state", state), ("level", level), ("owner", owner)):
            if value is not None:
                sql += f" AND {column}=?"
                args.append(value)
        if unassigned:
            sql += " AND owner IS NULL"
        if opened_before is not None:
            sql += " AND opened_at<?"
            args.append(opened_before)
        cases = [self._case(r) for r in self._read(sql, tuple(args))]
        return sorted(cases, key=queue_order)[:limit]

    def case_messages(self, case_id: str, now: float) -> list[CaseMessage]:
        rows = self._read(
            "SELECT blob FROM case_messages WHERE case_id=? AND expires_at>? ORDER BY seq",
            (case_id, now),
        )
        return [CaseMessage(**self.crypto.decrypt_json(r[0])) for r in rows]

    def claim_case(self, case_id: str, operator: str, now: float, expected: str | None) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT public, private FROM cases WHERE id=? AND expires_at>?", (case_id, now)
            ).fetchone()
            if not row:
                return False
            case = self._case(row)
            if case.owner != expected or case.state != "open":  # closed: read-only
                return False
            case.owner, case.updated_at = operator, now
            self._write_case(db, case, now)
            return True

    def consents(self, user: str, now: float) -> list[Consent]:
        rows = self._read(
            "SELECT blob FROM consents WHERE user=? AND expires_at>? ORDER BY seq", (user, now)
        )
        return [Consent(**self.crypto.decrypt_json(r[0])) for r in rows]

    def audit_log(
        self, now: float, case_id: str | None = None, limit: int = 500
    ) -> list[AuditEntry]:
        sql = "SELECT at, actor, action, case_id, detail FROM audit WHERE expires_at>?"
        args: list[Any] = [now]
        if case_id is not None:
            sql += " AND case_id=?"
            args.append(case_id)
        rows = self._read(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit))
        return [AuditEntry(*r) for r in rows]

    def case_stats(self, now: float) -> list[CaseStats]:
        rows = self._read("SELECT record FROM case_stats WHERE expires_at>? ORDER BY seq", (now,))
        return [CaseStats(**json.loads(r[0])) for r in rows]

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
        return self.inbox_put_many([(partition, channel, address, inbound, dedup_key)], now)[0]

    def inbox_put_many(self, puts: list[InboxPut], now: float) -> list[bool]:
        """Several webhooks' messages in one transaction (one fsync for all of them)."""
        blobs = [self.crypto.encrypt_json({"address": p[2], "inbound": p[3]}) for p in puts]
        added = []
        with self._tx() as db:
            for (partition, channel, _, _, dedup_key), blob in zip(puts, blobs, strict=True):
                if dedup_key is not None:
                    row = db.execute(
                        "SELECT expires_at FROM seen WHERE key=?", (dedup_key,)
                    ).fetchone()
                    if row and row[0] > now:
                        added.append(False)
                        continue
                    db.execute(
                        "INSERT OR REPLACE INTO seen(key, expires_at) VALUES (?,?)",
                        (dedup_key, now + DEDUP_TTL),
                    )
                db.execute(
                    "INSERT INTO inbox(part, channel, blob, received_at, expires_at)"
                    " VALUES (?,?,?,?,?)",
                    (partition, channel, blob, now, now + QUEUE_TTL),
                )
                added.append(True)
        return added

    def inbox_next(
        self, partition: int, now: float, consumer: str | None = None
    ) -> InboxItem | None:
        window = self.inbox_window(partition, now, 1, consumer)
        return window[0] if window else None

    def inbox_window(
        self, partition: int, now: float, limit: int = 16, consumer: str | None = None
    ) -> list[InboxItem]:
        rows = self._read(
            "SELECT seq, channel, blob, received_at FROM inbox WHERE part=? AND expires_at>?"
            " ORDER BY seq LIMIT ?",
            (partition, now, limit),
        )
        items = []
        for seq, channel, blob, received in rows:
            data = self._readable("inbox", seq, channel, partition, blob, now)
            if data is None:
                continue
            items.append(
                InboxItem(str(seq), partition, channel, data["address"], data["inbound"], received)
            )
        return items

    def _who(self, item: OutboxItem) -> str:
        return recipient_key(self.crypto.lookup_hashes(f"{item.channel}:{item.address}"))

    def outbox_batch(
        self,
        partition: int,
        now: float,
        limit: int = 50,
        consumer: str | None = None,
        per_person: int | None = None,
    ) -> list[OutboxItem]:
        if per_person is None:
            rows = self._read(
                "SELECT seq, channel, blob, created_at, attempts, not_before, who FROM outbox"
                " WHERE part=? AND expires_at>? ORDER BY seq LIMIT ?",
                (partition, now, limit),
            )
        else:  # each person's oldest few: one person's backlog cannot fill the batch
            rows = self._read(
                "SELECT seq, channel, blob, created_at, attempts, not_before, who FROM ("
                " SELECT *, row_number() OVER (PARTITION BY CASE WHEN who='' THEN seq"
                " ELSE who END ORDER BY seq) AS k FROM outbox WHERE part=? AND expires_at>?)"
                " WHERE k<=? ORDER BY seq LIMIT ?",
                (partition, now, per_person, limit),
            )
        items = []
        for seq, channel, blob, created, attempts, not_before, who in rows:
            data = self._readable("outbox", seq, channel, partition, blob, now)
            if data is None:
                continue
            items.append(
                OutboxItem(
                    str(seq),
                    partition,
                    channel,
                    data["address"],
                    data["message"],
                    created,
                    attempts,
                    not_before,
                    who,
                )
            )
        return items

    def _readable(
        self, table: str, seq: int, channel: str, partition: int, blob: bytes, now: float
    ) -> dict[str, Any] | None:
        """A queued item no configured key reads (an old key removed before `keys rotate`
        finished) is set aside as a dead letter, so the rest of its partition goes on."""
        try:
            return self.crypto.decrypt_json(blob)
        except CryptoError:
            with self._tx() as db:
                db.execute(f"DELETE FROM {table} WHERE seq=?", (seq,))  # noqa: S608
                self._dead(db, channel, partition, 0, UNREADABLE, now)
            return None

    def busy_partitions(self, kind: str, now: float) -> list[int]:
        if kind == "inbox":
            sql, args = "SELECT DISTINCT part FROM inbox WHERE expires_at>?", (now,)
        else:  # replies waiting for a retry do not keep a partition busy
            sql = "SELECT DISTINCT part FROM outbox WHERE expires_at>? AND not_before<=?"
            args = (now, now)
        return sorted(row[0] for row in self._read(sql, args))

    def outbox_done(
        self, item: OutboxItem, now: float, fence: tuple[str, str] | None = None
    ) -> None:
        with self._tx() as db:
            self._fenced(db, fence, now)
            db.execute("DELETE FROM outbox WHERE seq=?", (int(item.id),))

    @staticmethod
    def _fenced(db: Any, fence: tuple[str, str] | None, now: float) -> None:
        """Inside the write's transaction: the lease must still be the writer's."""
        if fence is None:
            return
        row = db.execute(
            "SELECT owner FROM leases WHERE name=? AND expires_at>?", (fence[0], now)
        ).fetchone()
        if row is None or row[0] != fence[1]:
            raise LeaseLost(fence[0])

    def outbox_retry(self, item: OutboxItem, not_before: float, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, not_before=? WHERE seq=?",
                (not_before, int(item.id)),
            )

    def outbox_dead(self, item: OutboxItem, reason: str, now: float) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE seq=?", (int(item.id),))
            self._dead(db, item.channel, item.partition, item.attempts, reason, now)

    def record_dead_letter(
        self, channel: str, partition: int, attempts: int, reason: str, now: float
    ) -> None:
        with self._tx() as db:
            self._dead(db, channel, partition, attempts, reason, now)

    @staticmethod
    def _dead(
        db: Any, channel: str, partition: int, attempts: int, reason: str, now: float
    ) -> None:
        db.execute(
            "INSERT INTO dead_letters(at, channel, part, attempts, reason, expires_at)"
            " VALUES (?,?,?,?,?,?)",
            (now, channel, partition, attempts, reason[:200], now + DEAD_LETTER_TTL),
        )

    def dead_letters(self, now: float) -> list[DeadLetter]:
        rows = self._read(
            "SELECT at, channel, part, attempts, reason FROM dead_letters WHERE expires_at>?"
            " ORDER BY seq DESC",
            (now,),
        )
        return [DeadLetter(*r) for r in rows]

    def lease(self, name: str, owner: str, ttl: float, now: float) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT owner, expires_at FROM leases WHERE name=?", (name,)
            ).fetchone()
            if row and row[0] != owner and row[1] > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO leases(name, owner, expires_at) VALUES (?,?,?)",
                (name, owner, now + ttl),
            )
            return True

    def release(self, name: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE name=? AND owner=?", (name, owner))

    # console accounts ----------------------------------------------------------
    def put_operator(self, operator: Operator, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO operators(username, blob, expires_at) VALUES (?,?,?)",
                (
                    operator.username,
                    self.crypto.encrypt_json(operator.__dict__),
                    now + OPERATOR_TTL,
                ),
            )

    def get_operator(self, username: str, now: float) -> Operator | None:
        rows = self._read(
            "SELECT blob FROM operators WHERE username=? AND expires_at>?", (username, now)
        )
        return Operator(**self.crypto.decrypt_json(rows[0][0])) if rows else None

    def list_operators(self, now: float) -> list[Operator]:
        rows = self._read("SELECT blob FROM operators WHERE expires_at>? ORDER BY username", (now,))
        return [Operator(**self.crypto.decrypt_json(r[0])) for r in rows]

    # lifecycle ---------------------------------------------------------------
    def delete_user(self, user: str, now: float) -> Deletion:
        with self._tx() as db:
            kept: str | None = None
            rows = db.execute(
                "SELECT public, private FROM cases WHERE user=? AND expires_at>?", (user, now)
            ).fetchall()
            for row in rows:
                case = self._case(row)
                db.execute("DELETE FROM case_messages WHERE case_id=?", (case.id,))
                if case.state == "open" and case.level in ("urgent", "high"):
                    case.triggers, case.choices, case.deleted_by_request = {}, [], True
                    case.updated_at = now
                    self._write_case(db, case, now)
                    # The means to reach them lasts as the safety record, not longer.
                    db.execute(
                        "UPDATE contacts SET expires_at=? WHERE user=?", (case.expires_at, user)
                    )
                    kept = case.id
                else:
                    db.execute("DELETE FROM cases WHERE id=?", (case.id,))
            db.execute("DELETE FROM sessions WHERE user=?", (user,))
            db.execute("DELETE FROM consents WHERE user=?", (user,))
            db.execute("DELETE FROM identities WHERE user=?", (user,))
            if kept is None:
                db.execute("DELETE FROM contacts WHERE user=?", (user,))
            return Deletion(kept_safety_record=kept is not None, case_id=kept)

    def rotate_keys(
        self, now: float, batch: int = 200, progress: Progress | None = None
    ) -> RotationReport:
        """Re-encrypt with the newest key and re-link people (bot/store/rotation.py)."""
        report = RotationReport()
        for table, key, column in ENCRYPTED_COLUMNS:
            self._rotate_table(report, table, key, column, batch, progress)
        self._relink(report, batch)
        if report.done:
            # Old ciphertext must not linger in free pages or the WAL.
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db().execute("VACUUM")
        return report

    def _rotate_table(
        self,
        report: RotationReport,
        table: str,
        key: str,
        column: str,
        batch: int,
        progress: Progress | None,
    ) -> None:
        after: Any = "" if key != "seq" else -1
        select = f"SELECT {key}, {column} FROM {table} WHERE {key}>? ORDER BY {key} LIMIT ?"  # noqa: S608
        update = f"UPDATE {table} SET {column}=? WHERE {key}=? AND {column}=?"  # noqa: S608
        while True:
            rows = self._read(select, (after, batch))
            if not rows:
                return
            rotated = 0
            with self._tx() as db:
                for pk, token in rows:
                    new = fresh(self.crypto, token, report, table)
                    if new is not None:
                        rotated += db.execute(update, (new, pk, token)).rowcount
            count_batch(report, table, len(rows), rotated, progress)
            after = rows[-1][0]

    def _relink(self, report: RotationReport, batch: int) -> None:
        """Give each person with a contact the newest key's lookup hash, drop the rest."""
        after = ""
        while True:
            rows = self._read(
                "SELECT user, channel, address FROM contacts WHERE user>? ORDER BY user LIMIT ?",
                (after, batch),
            )
            if not rows:
                break
            with self._tx() as db:
                for user, channel, token in rows:
                    try:
                        address = self.crypto.decrypt(token).decode()
                    except CryptoError:
                        continue
                    newest = self.crypto.lookup_hashes(f"{channel}:{address}")[0]
                    links = db.execute(
                        "SELECT hash, expires_at FROM identities WHERE user=?", (user,)
                    ).fetchall()
                    if not links or [h for h, _ in links] == [newest]:
                        continue
                    expires = max(e for _, e in links)
                    db.execute("DELETE FROM identities WHERE user=?", (user,))
                    db.execute(
                        "INSERT OR REPLACE INTO identities(hash, user, expires_at) VALUES (?,?,?)",
                        (newest, user, expires),
                    )
                    report.relinked += 1
            after = rows[-1][0]
        report.unlinked = self._read(
            "SELECT count(*) FROM identities WHERE user NOT IN (SELECT user FROM contacts)"
        )[0][0]

    def purge_expired(self, now: float) -> int:
        removed = 0
        with self._tx() as db:
            for table in EXPIRING_TABLES:
                removed += db.execute(f"DELETE FROM {table} WHERE expires_at<=?", (now,)).rowcount  # noqa: S608
        return removed

    def ping(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
            return True
        except (sqlite3.Error, StoreUnavailable):
            return False

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
