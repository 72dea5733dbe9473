"""One contract, two adapters: SQLite (embedded default) and Redis (scale-out)."""

from __future__ import annotations

import threading
import time

import pytest

from bot.store.crypto import Crypto
from bot.store.records import (
    DAY,
    SAFETY_RECORD_TTL,
    AuditEntry,
    Case,
    CaseMessage,
    Commit,
    Consent,
    OutboxItem,
    new_id,
)
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore


def now() -> float:
    return time.time()


def make_case(user: str, level: str = "high", opened: float | None = None, **kw) -> Case:
    at = opened if opened is not None else now()
    return Case(
        id=new_id("c"), user=user, level=level, indicators=["documents_withheld"],
        triggers={"documents_withheld": ["me quitaron el pasaporte"]}, lang="es",
        channel="terminal", region="Tumbes", opened_at=at, updated_at=at, expires_at=at, **kw,
    )  # fmt: skip


def raw_bytes(store) -> bytes:
    """Everything the adapter holds, as bytes, to check what is stored in clear."""
    if isinstance(store, SQLiteStore):
        store.close()
        data = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
        return data
    client = store.r
    out = b""
    for key in client.scan_iter(match=store.keys.prefix + "*"):
        kind = client.type(key)
        if kind == b"string":
            out += client.get(key) or b""
        elif kind == b"hash":
            out += b"".join(client.hvals(key))
        elif kind == b"list":
            out += b"".join(client.lrange(key, 0, -1))
        elif kind in (b"set",):
            out += b"".join(client.smembers(key))
        elif kind == b"zset":
            out += b"".join(m for m, _ in client.zrange(key, 0, -1, withscores=True))
        out += key
    return out


def test_identity_is_stable_and_survives_key_rotation(store) -> None:
    user = store.resolve_user(["h-old"], now())
    assert store.resolve_user(["h-old"], now()) == user
    assert store.resolve_user(["h-other"], now()) != user
    # After a rotation the newest hash comes first; the old one still finds the person.
    assert store.resolve_user(["h-new", "h-old"], now()) == user
    assert store.resolve_user(["h-new"], now(), create=False) == user
    assert store.resolve_user(["unknown"], now(), create=False) is None


def test_contacts_and_sessions_are_encrypted_at_rest(store) -> None:
    user = store.resolve_user(["h1"], now())
    store.put_contact(user, "whatsapp", "whatsapp:+51999888777", now())
    store.commit(Commit(user, session={"lang": "es", "note": "SECRETO-SESION"}), now())
    assert store.get_contact(user, now()) == ("whatsapp", "whatsapp:+51999888777")
    assert store.load_session(user, now())["note"] == "SECRETO-SESION"
    blob = raw_bytes(store)
    assert b"+51999888777" not in blob and b"SECRETO-SESION" not in blob


def test_a_commit_keeps_the_contact_with_the_session_or_not_at_all(store) -> None:
    """The address a person wrote from is written in the turn's own commit: a commit
    refused by its fence (the worker lost its partition) keeps no contact either."""
    from bot.store.port import LeaseLost

    user = store.resolve_user(["h-contact"], now())
    store.commit(Commit(user, session={"n": 1}, contact=("telegram", "4242")), now())
    assert store.get_contact(user, now()) == ("telegram", "4242")
    assert store.last_inbound(user, now()) is not None
    assert store.lease("inbox:3", "someone-else", 30.0, now())
    with pytest.raises(LeaseLost):
        store.commit(Commit(user, session={"n": 2}, contact=("whatsapp", "whatsapp:+51911"),
                            fence=("inbox:3", "me")), now())  # fmt: skip
    assert store.get_contact(user, now()) == ("telegram", "4242")
    assert store.load_session(user, now()) == {"n": 1}


def test_deduplication(store) -> None:
    assert store.mark_seen("telegram:update:1", now()) is True
    assert store.mark_seen("telegram:update:1", now()) is False
    assert store.mark_seen("telegram:update:2", now()) is True


def test_case_round_trip_and_messages_encrypted(store) -> None:
    user = store.resolve_user(["h2"], now())
    case = make_case(user, consent_scope="in_service", consent_at=now())
    message = CaseMessage(case.id, now(), "in", "me tienen encerrada TEXTO-PRIVADO")
    store.commit(Commit(user, cases=[case], case_messages=[message]), now())
    loaded = store.get_case(case.id, now())
    assert loaded is not None and loaded.level == "high" and loaded.triggers == case.triggers
    assert store.open_case_of(user, now()).id == case.id
    assert store.case_messages(case.id, now()) == [message]
    blob = raw_bytes(store)
    assert b"TEXTO-PRIVADO" not in blob and b"me quitaron el pasaporte" not in blob


def test_queue_is_urgent_first_then_oldest_with_filters(store) -> None:
    t = now()
    a = make_case("u_a", "normal", opened=t - 300)
    b = make_case("u_b", "urgent", opened=t - 10)
    c = make_case("u_c", "high", opened=t - 200)
    d = make_case("u_d", "urgent", opened=t - 100, owner="ana")
    e = make_case("u_e", "high", opened=t - 50, state="closed", closed_at=t)
    store.commit(Commit("x", cases=[a, b, c, d, e]), t)
    assert [x.id for x in store.list_cases(t)] == [d.id, b.id, c.id, a.id]
    assert [x.id for x in store.list_cases(t, unassigned=True)] == [b.id, c.id, a.id]
    assert [x.id for x in store.list_cases(t, owner="ana")] == [d.id]
    assert [x.id for x in store.list_cases(t, level="high")] == [c.id]
    assert [x.id for x in store.list_cases(t, state="closed")] == [e.id]
    assert [x.id for x in store.list_cases(t, opened_before=t - 150)] == [c.id, a.id]
    assert len(store.list_cases(t, state=None)) == 5


def test_claim_is_atomic_one_winner(store) -> None:
    case = make_case("u_claim", "urgent")
    store.commit(Commit("u_claim", cases=[case]), now())
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        results.append(store.claim_case(case.id, name, now(), expected=None))

    threads = [threading.Thread(target=claim, args=(f"op{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    owner = store.get_case(case.id, now()).owner
    assert owner and owner.startswith("op")
    # A transfer names the current owner; a stale one loses.
    assert store.claim_case(case.id, "maria", now(), expected=owner) is True
    assert store.claim_case(case.id, "pedro", now(), expected=owner) is False


def test_consents_and_audit(store) -> None:
    user = store.resolve_user(["h3"], now())
    case = make_case(user)
    t = now()
    store.commit(
        Commit(
            user,
            cases=[case],
            consents=[Consent(user, case.id, "in_service", True, t, "asked"),
                      Consent(user, case.id, "external", False, t + 1, "operator")],
            audit=[AuditEntry(t, "ana", "case.view", case.id), AuditEntry(t + 1, "ana", "case.claim", case.id),
                   AuditEntry(t + 2, "bob", "login")],
        ),
        t,
    )  # fmt: skip
    assert [(c.scope, c.granted) for c in store.consents(user, t)] == [
        ("in_service", True),
        ("external", False),
    ]
    assert [e.action for e in store.audit_log(t + 3)] == ["login", "case.claim", "case.view"]
    assert [e.action for e in store.audit_log(t + 3, case_id=case.id)] == [
        "case.claim",
        "case.view",
    ]


def test_delete_keeps_only_a_minimal_safety_record_for_open_urgent_cases(store) -> None:
    t = now()
    user = store.resolve_user(["h4"], t)
    store.put_contact(user, "telegram", "telegram:4242", t)
    urgent = make_case(user, "urgent", consent_scope="in_service", consent_at=t)
    old = make_case(user, "normal", opened=t - 1000, state="closed", closed_at=t - 500)
    store.commit(
        Commit(user, session={"lang": "es"}, cases=[urgent, old],
               case_messages=[CaseMessage(urgent.id, t, "in", "ayuda")],
               consents=[Consent(user, urgent.id, "in_service", True, t, "notice")]),
        t,
    )  # fmt: skip
    report = store.delete_user(user, t + 1)
    assert report.kept_safety_record and report.case_id == urgent.id
    kept = store.get_case(urgent.id, t + 1)
    assert kept.deleted_by_request and kept.triggers == {} and kept.indicators == urgent.indicators
    assert kept.expires_at <= t + 1 + SAFETY_RECORD_TTL
    assert store.get_case(old.id, t + 1) is None
    assert store.case_messages(urgent.id, t + 1) == []
    assert store.load_session(user, t + 1) is None
    assert store.consents(user, t + 1) == []
    assert store.resolve_user(["h4"], t + 1, create=False) is None
    assert store.get_contact(user, t + 1) == ("telegram", "telegram:4242")  # to reach them


def test_delete_without_open_case_removes_everything(store) -> None:
    t = now()
    user = store.resolve_user(["h5"], t)
    store.put_contact(user, "telegram", "telegram:5", t)
    case = make_case(user, "normal")
    store.commit(Commit(user, session={"lang": "fr"}, cases=[case]), t)
    report = store.delete_user(user, t)
    assert not report.kept_safety_record
    assert store.get_case(case.id, t) is None and store.get_contact(user, t) is None
    assert store.list_cases(t, state=None) == []


def test_every_record_expires(store) -> None:
    t = now()
    user = store.resolve_user(["h6"], t)
    store.put_contact(user, "telegram", "telegram:6", t)
    store.mark_seen("k6", t)
    case = make_case(user, "urgent")
    store.commit(
        Commit(user, session={"lang": "es"}, cases=[case], case_messages=[CaseMessage(case.id, t, "in", "x")],
               consents=[Consent(user, case.id, "in_service", True, t, "notice")],
               audit=[AuditEntry(t, "ana", "case.view", case.id)]),
        t,
    )  # fmt: skip
    if isinstance(store, RedisStore):
        # Redis forgets by itself: every key carries a TTL, none longer than a year.
        keys = list(store.r.scan_iter(match=store.keys.prefix + "*"))
        assert keys
        for key in keys:
            ttl = store.r.pttl(key)
            assert 0 < ttl <= 366 * DAY * 1000, key
    else:
        later = t + 400 * DAY
        assert store.purge_expired(later) > 0
        assert raw_counts(store) == 0
    assert store.purge_expired(t) >= 0


def raw_counts(store: SQLiteStore) -> int:
    from bot.store.sqlite import EXPIRING_TABLES

    db = store._db()
    return sum(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in EXPIRING_TABLES)


def test_unreadable_with_a_foreign_key(store, data_key: str) -> None:
    """Data encrypted under one DATA_KEY is unreadable without it; a rotated list reads it."""
    from bot.config import new_data_key

    user = store.resolve_user(["h7"], now())
    store.commit(Commit(user, session={"lang": "pt"}), now())
    rotated = Crypto([new_data_key(), data_key])
    store.crypto = rotated
    assert store.load_session(user, now()) == {"lang": "pt"}
    store.crypto = Crypto([new_data_key()])
    with pytest.raises(ValueError, match="cannot be decrypted"):
        store.load_session(user, now())


def test_ping(store) -> None:
    assert store.ping() is True


# durable delivery ------------------------------------------------------------
def put(store, n: int, partition: int = 3, dedup: str | None = None) -> bool:
    inbound = {"kind": "text", "text": f"mensaje {n}"}
    return store.inbox_put(partition, "telegram", "telegram:77", inbound, dedup, now())


def test_inbox_keeps_order_and_deduplicates(store) -> None:
    assert put(store, 1, dedup="telegram:1") is True
    assert put(store, 1, dedup="telegram:1") is False  # redelivery: nothing recorded
    assert put(store, 2, dedup="telegram:2") is True
    assert put(store, 3) is True
    seen = []
    while (item := store.inbox_next(3, now())) is not None:
        seen.append(item.inbound["text"])
        store.commit(Commit("u", inbox_done=item), now())
    assert seen == ["mensaje 1", "mensaje 2", "mensaje 3"]
    assert store.inbox_next(3, now()) is None
    assert b"mensaje" not in raw_bytes(store) and b"telegram:77" not in raw_bytes(store)


def test_unacknowledged_inbox_item_comes_back(store) -> None:
    """A worker that dies before committing leaves the item for the next lease holder."""
    put(store, 1)
    first = store.inbox_next(3, now())
    again = store.inbox_next(3, now())  # no commit happened: same item again
    assert first is not None and again is not None and again.id == first.id


def test_commit_writes_outbox_and_acks_inbox_together(store) -> None:
    put(store, 1)
    item = store.inbox_next(3, now())
    reply = OutboxItem("", 3, "telegram", "telegram:77", {"text": "hola 1"}, now())
    reply2 = OutboxItem("", 3, "telegram", "telegram:77", {"text": "hola 2"}, now())
    store.commit(
        Commit("u", session={"lang": "es"}, outbox=[reply, reply2], inbox_done=item), now()
    )
    assert store.inbox_next(3, now()) is None
    first, _second = store.outbox_batch(3, now())
    assert first.message == {"text": "hola 1"} and first.address == "telegram:77"
    store.outbox_done(first, now())
    assert [i.message for i in store.outbox_batch(3, now())] == [{"text": "hola 2"}]


def test_outbox_retry_is_remembered_and_dead_letters_keep_metadata_only(store) -> None:
    t = now()
    store.commit(
        Commit("u", outbox=[OutboxItem("", 5, "whatsapp", "whatsapp:+51", {"text": f"r{i}"}, t)
                            for i in range(2)]),
        t,
    )  # fmt: skip
    head, _ = store.outbox_batch(5, t)
    store.outbox_retry(head, t + 30, t)
    waiting, later = store.outbox_batch(5, t + 1)  # order kept; the head says it waits
    assert waiting.message == {"text": "r0"} and waiting.not_before == t + 30
    assert waiting.attempts == 1 and later.message == {"text": "r1"}
    store.outbox_dead(waiting, "HTTP 400 from platform", t + 31)
    assert [i.message for i in store.outbox_batch(5, t + 31)] == [{"text": "r1"}]
    [dead] = store.dead_letters(t + 32)
    assert dead.channel == "whatsapp" and dead.attempts == 1 and "r0" not in dead.reason


def test_leases_exclude_others_until_released_or_expired(store) -> None:
    t = now()
    assert store.lease("inbox:1", "w1", 30, t) is True
    assert store.lease("inbox:1", "w2", 30, t) is False
    assert store.lease("inbox:1", "w1", 30, t) is True  # renewal
    store.release("inbox:1", "w1")
    assert store.lease("inbox:1", "w2", 0.2, t) is True
    if isinstance(store, RedisStore):
        time.sleep(0.3)
        assert store.lease("inbox:1", "w3", 30, now()) is True
    else:
        assert store.lease("inbox:1", "w3", 30, t + 1) is True


def test_last_inbound_is_remembered_for_the_whatsapp_window(store) -> None:
    from bot.channels.whatsapp import within_window

    t = now()
    user = store.resolve_user(["h-wa"], t)
    assert store.last_inbound(user, t) is None
    store.put_contact(user, "whatsapp", "whatsapp:+51977777777", t - 3600)
    last = store.last_inbound(user, t)
    assert last == pytest.approx(t - 3600)
    assert within_window(last, t) and not within_window(last, t + 24 * 3600)


def test_operators(store) -> None:
    from bot.store.records import Operator

    t = now()
    store.put_operator(Operator("ana", "supervisor", "$argon2id$hash"), t)
    store.put_operator(Operator("bob", "operator", "$argon2id$other", version=3), t)
    assert store.get_operator("ana", t).role == "supervisor"
    assert [o.username for o in store.list_operators(t)] == ["ana", "bob"]
    assert store.get_operator("nadie", t) is None
    assert b"$argon2id$hash" not in raw_bytes(store)


def test_counters_add_up_and_are_independent(store) -> None:
    """The login limiter's counts (Redis expires them by its own clock, SQLite by `now`)."""
    t = now()
    assert store.count("k1", 60, t, add=False) == 0
    assert [store.count("k1", 60, t + i) for i in range(3)] == [1, 2, 3]
    assert store.count("k1", 60, t + 3, add=False) == 3
    assert store.count("k2", 60, t) == 1  # keys are independent
    if isinstance(store, SQLiteStore):
        assert store.count("k1", 60, t + 61) == 1  # a new window


def test_a_batch_capped_per_person_leaves_room_for_everyone(store) -> None:
    """One person's 60 queued replies must not fill the sender's batch: with
    per_person, each person's oldest few come, everyone's in order."""
    t = now()
    busy = [OutboxItem("", 6, "telegram", "111", {"text": f"b{n}"}, t) for n in range(60)]
    others = [OutboxItem("", 6, "telegram", str(200 + n), {"text": f"o{n}"}, t) for n in range(4)]
    store.commit(Commit("u", outbox=busy), t)
    store.commit(Commit("u", outbox=others), t)
    assert [i.message["text"] for i in store.outbox_batch(6, t, 50)][-1] == "b49"  # uncapped
    batch = store.outbox_batch(6, t, 50, per_person=3)
    assert [i.message["text"] for i in batch] == ["b0", "b1", "b2", "o0", "o1", "o2", "o3"]
    assert len({i.who for i in batch}) == 5 and all(i.who for i in batch)
