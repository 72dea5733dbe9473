"""Retention (issue 14): every record type of bot/store/records.py is gone after its
period, on both adapters.

SQLite takes the clock from its callers, so each record is written at `t` and read
just before and just after `t + period`, then `purge_expired` must leave no row of it
in the file. Redis forgets by its own clock: each record's key must expire at
`t + period` (PEXPIRETIME), and what lives in a sorted set or a stream must go when
`purge_expired` is given a clock past its period.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.cases.closing import closing_stats
from bot.store.records import (
    AUDIT_TTL,
    CONSENT_TTL,
    DAY,
    DEAD_LETTER_TTL,
    DEDUP_TTL,
    IDENTITY_TTL,
    OPEN_CASE_TTL,
    OPERATOR_TTL,
    QUEUE_TTL,
    SAFETY_RECORD_TTL,
    SESSION_TTL,
    STATS_TTL,
    AuditEntry,
    Case,
    CaseMessage,
    Commit,
    Consent,
    Operator,
    OutboxItem,
    new_id,
)
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore

CLOSED_TTL = 5 * DAY  # a configured CLOSED_CASE_DAYS shorter than the default
MARGIN = 60.0


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, make_store, crypto):
    made = make_store(request.param, crypto)
    made.closed_case_ttl = CLOSED_TTL
    return made


def a_case(user: str, t: float, **kw) -> Case:
    return Case(
        id=new_id("c"), user=user, level=kw.pop("level", "high"), indicators=["debt_bondage"],
        triggers={"debt_bondage": ["la deuda"]}, lang="es", channel="telegram", region=None,
        opened_at=t, updated_at=t, expires_at=t, **kw,
    )  # fmt: skip


@dataclass
class Record:
    """One record type: how to write it at `t`, how to see it, where it lives."""

    name: str
    period: float
    write: Callable[[object, float], dict]  # returns what `seen` and `where` need
    seen: Callable[[object, float, dict], bool]
    table: str  # SQLite
    redis_keys: Callable[[RedisStore, dict], list[str]]  # keys that must expire at t+period


def _live(store, at: float, table: str, key: str) -> bool:
    """Whether a record is still there, without the side effects of the port's calls
    that also write (resolve_user extends a link, mark_seen and lease take one)."""
    if isinstance(store, SQLiteStore):
        db = store._db()
        sql = f"SELECT count(*) FROM {table} WHERE expires_at>?"
        return db.execute(sql, (at,)).fetchone()[0] > 0
    return bool(store.r.exists(key))


def _identity(store, t):
    return {"user": store.resolve_user(["ret-h1"], t)}


def _contact(store, t):
    user = new_id("u")
    store.put_contact(user, "telegram", "telegram:91", t)
    return {"user": user}


def _session(store, t):
    user = new_id("u")
    store.commit(Commit(user, session={"lang": "pt"}), t)
    return {"user": user}


def _dedup(store, t):
    store.mark_seen("ret-seen", t)
    return {}


def _open_case(store, t):
    case = a_case(new_id("u"), t)
    store.commit(
        Commit(case.user, cases=[case], case_messages=[CaseMessage(case.id, t, "in", "hola")]),
        t,
    )
    return {"case": case}


def _closed_case(store, t):
    case = a_case(new_id("u"), t - 3 * DAY)
    store.commit(
        Commit(case.user, cases=[case], case_messages=[CaseMessage(case.id, t, "in", "hola")]),
        t - 3 * DAY,
    )
    case.state, case.closed_at, case.updated_at = "closed", t, t
    store.commit(Commit("console", cases=[case]), t)
    return {"case": case}


def _consent(store, t):
    user = new_id("u")
    store.commit(Commit(user, consents=[Consent(user, None, "in_service", True, t, "asked")]), t)
    return {"user": user}


def _audit(store, t):
    store.commit(Commit("console", audit=[AuditEntry(t, "ana", "ret.audit")]), t)
    return {}


def _safety_record(store, t):
    user = store.resolve_user(["ret-h2"], t)
    store.put_contact(user, "telegram", "telegram:94", t)
    case = a_case(user, t, level="urgent")
    store.commit(Commit(user, cases=[case]), t)
    store.delete_user(user, t)
    return {"case": case, "user": user}


def _inbox(store, t):
    store.inbox_put(2, "telegram", "telegram:92", {"kind": "text", "text": "x"}, None, t)
    return {}


def _outbox(store, t):
    item = OutboxItem("", 4, "telegram", "telegram:93", {"text": "y"}, t)
    store.commit(Commit(new_id("u"), outbox=[item]), t)
    return {}


def _dead_letter(store, t):
    store.record_dead_letter("telegram", 1, 3, "retention test", t)
    return {}


def _operator(store, t):
    store.put_operator(Operator("ret-ana", "operator", "hash"), t)
    return {}


def _counter(store, t):
    store.count("ret-count", 900, t)
    return {}


def _stats(store, t):
    case = a_case(new_id("u"), t - 2 * DAY, state="closed", closed_at=t)
    store.commit(Commit("console", stats=[closing_stats(case, [], t)]), t)
    return {}


def _lease(store, t):
    store.lease("ret-lease", "me", 30, t)
    return {}


RECORDS = [
    Record("identity link", IDENTITY_TTL, _identity,
           lambda s, at, d: _live(s, at, "identities", s.keys.identity("ret-h1")) if isinstance(s, RedisStore) else _live(s, at, "identities", ""),
           "identities", lambda s, d: [s.keys.identity("ret-h1"), s.keys.identities_of(d["user"])]),
    Record("contact", IDENTITY_TTL, _contact,
           lambda s, at, d: s.get_contact(d["user"], at) is not None,
           "contacts", lambda s, d: [s.keys.contact(d["user"])]),
    Record("session", SESSION_TTL, _session,
           lambda s, at, d: s.load_session(d["user"], at) is not None,
           "sessions", lambda s, d: [s.keys.session(d["user"])]),
    Record("deduplication record", DEDUP_TTL, _dedup,
           lambda s, at, d: _live(s, at, "seen", getattr(s, "keys", None) and s.keys.seen("ret-seen")), "seen",
           lambda s, d: [s.keys.seen("ret-seen")]),
    Record("open case and its messages", OPEN_CASE_TTL, _open_case,
           lambda s, at, d: s.get_case(d["case"].id, at) is not None
           and bool(s.case_messages(d["case"].id, at)),
           "cases", lambda s, d: [s.keys.case(d["case"].id), s.keys.case_messages(d["case"].id),
                                  s.keys.user_cases(d["case"].user)]),
    Record("closed case and its messages (CLOSED_CASE_DAYS)", CLOSED_TTL, _closed_case,
           lambda s, at, d: s.get_case(d["case"].id, at) is not None
           and bool(s.case_messages(d["case"].id, at)),
           "case_messages", lambda s, d: [s.keys.case(d["case"].id),
                                          s.keys.case_messages(d["case"].id)]),
    Record("consent record", CONSENT_TTL, _consent,
           lambda s, at, d: bool(s.consents(d["user"], at)),
           "consents", lambda s, d: [s.keys.consents(d["user"])]),
    Record("audit entry", AUDIT_TTL, _audit,
           lambda s, at, d: any(e.action == "ret.audit" for e in s.audit_log(at)), "audit",
           lambda s, d: []),
    Record("safety record after deletion", SAFETY_RECORD_TTL, _safety_record,
           lambda s, at, d: s.get_case(d["case"].id, at) is not None, "cases",
           lambda s, d: [s.keys.case(d["case"].id), s.keys.contact(d["user"])]),
    Record("inbox item", QUEUE_TTL, _inbox,
           lambda s, at, d: bool(s.inbox_window(2, at)), "inbox", lambda s, d: []),
    Record("outbox item", QUEUE_TTL, _outbox,
           lambda s, at, d: bool(s.outbox_batch(4, at)), "outbox", lambda s, d: []),
    Record("dead letter", DEAD_LETTER_TTL, _dead_letter,
           lambda s, at, d: bool(s.dead_letters(at)), "dead_letters", lambda s, d: []),
    Record("operator account", OPERATOR_TTL, _operator,
           lambda s, at, d: s.get_operator("ret-ana", at) is not None, "operators",
           lambda s, d: [s.keys.operator("ret-ana")]),
    Record("failed-login counter", 900, _counter,
           lambda s, at, d: s.count("ret-count", 900, at, add=False) > 0, "counters",
           lambda s, d: [s.keys.counter("ret-count")]),
    Record("closed-case counts", STATS_TTL, _stats,
           lambda s, at, d: bool(s.case_stats(at)), "case_stats", lambda s, d: []),
    Record("lease", 30, _lease,
           lambda s, at, d: _live(s, at, "leases", getattr(s, "keys", None) and s.keys.lease("ret-lease")), "leases",
           lambda s, d: [s.keys.lease("ret-lease")]),
]  # fmt: skip


def test_every_record_type_is_listed() -> None:
    """A table of SQLite that holds records is covered here (a new one must be added)."""
    from bot.store.sqlite import EXPIRING_TABLES

    covered = {r.table for r in RECORDS} | {"cases", "case_messages"}
    assert set(EXPIRING_TABLES) <= covered


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_a_record_is_gone_after_its_period(store, record: Record) -> None:
    t = time.time()
    data = record.write(store, t)
    assert record.seen(store, t + 1, data), "the record was not written"
    if isinstance(store, SQLiteStore):
        assert record.seen(store, t + record.period - MARGIN, data), "gone too early"
        after = t + record.period + MARGIN
        assert not record.seen(store, after, data), "still readable after its period"
        store.purge_expired(after)
        db = store._db()
        assert db.execute(f"SELECT count(*) FROM {record.table}").fetchone()[0] == 0
        return
    for key in record.redis_keys(store, data):
        expires_ms = store.r.pexpiretime(key)
        assert expires_ms > 0, f"{key} has no expiry"
        assert abs(expires_ms / 1000 - (t + record.period)) < MARGIN, key
    if not record.redis_keys(store, data):  # a sorted-set member or a stream entry
        assert record.seen(store, t + record.period - MARGIN, data), "gone too early"
        store.purge_expired(t + record.period + MARGIN)
        assert not record.seen(store, t + record.period + MARGIN, data)


def test_a_closed_case_keeps_only_anonymous_counts(store) -> None:
    """After CLOSED_CASE_DAYS the case and its words are gone; the counts stay a year
    and name no one."""
    t = time.time()
    data = _closed_case(store, t)
    case = data["case"]
    messages = store.case_messages(case.id, t)
    store.commit(Commit("console", stats=[closing_stats(case, messages, t)]), t)
    later = t + CLOSED_TTL + MARGIN
    if isinstance(store, SQLiteStore):
        store.purge_expired(later)
        assert store.get_case(case.id, later) is None
        assert store.case_messages(case.id, later) == []
    else:
        assert store.r.pexpiretime(store.keys.case_messages(case.id)) / 1000 < later
    [stats] = store.case_stats(later)
    assert stats.level == "high" and stats.messages == {"in": 1} and stats.days_open == 3
    assert case.id not in repr(stats) and case.user not in repr(stats)
    assert "hola" not in repr(stats) and "la deuda" not in repr(stats)
