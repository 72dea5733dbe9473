"""Delivery that survives bad items, lost streams, torn files, slow stores and many
processes (issue 10): one regression test per fault found, on both adapters where the
fault applies, with the real stores."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import REDIS_URL

from bot.channels.delivery import PermanentError, RateLimiter
from bot.channels.telegram import chat_id
from bot.config import ConfigError, load_config, new_data_key
from bot.runtime import Runtime
from bot.spool import Spool
from bot.store.crypto import Crypto
from bot.store.port import LeaseLost, StoreUnavailable
from bot.store.records import PARTITIONS, URGENT_PRIORITY, Commit, OutboxItem
from bot.worker import Sender, urgent_first


class Recorder:
    """A channel that records what it sends; some addresses make it raise."""

    name = "telegram"

    def __init__(self, raises: dict[str, Exception] | None = None, delay: float = 0.0,
                 limiter: RateLimiter | None = None) -> None:  # fmt: skip
        self.sent: list[tuple[str, str]] = []
        self.raises = raises or {}
        self.delay = delay
        self.limiter = limiter or RateLimiter(per_second=100_000, per_recipient_per_second=100_000)
        self.lock = threading.Lock()

    def send(self, address: str, message: dict[str, Any]) -> None:
        if address in self.raises:
            raise self.raises[address]
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.sent.append((address, message["text"]))


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, make_store):
    return make_store(request.param, Crypto([new_data_key()]))


def queue(store, address: str, text: str, partition: int | None = None, **extra: Any) -> None:
    part = partition if partition is not None else hash(address) % PARTITIONS
    message = {"text": text, "buttons": [], **extra}
    store.commit(Commit(address, outbox=[OutboxItem("", part, "telegram", address, message,
                                                    time.time())]), time.time())  # fmt: skip


def drain(*senders: Sender, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not sum(s.run_once() for s in senders):
            return


# 1 -------------------------------------------------------------- one bad item alone
def test_an_item_that_raises_is_set_aside_and_everyone_else_is_served(store) -> None:
    channel = Recorder(raises={"bad": ValueError("invalid literal for int()")})
    for partition in range(PARTITIONS):
        queue(store, "bad", "x", partition)
        queue(store, f"p{partition}", "hola", partition)
    sender = Sender(store, {"telegram": channel})
    drain(sender)
    assert sorted(a for a, _ in channel.sent) == sorted(f"p{p}" for p in range(PARTITIONS))
    assert sender.stats["item_errors"] == PARTITIONS
    dead = store.dead_letters(time.time())
    assert len(dead) == PARTITIONS and all("ValueError" in d.reason for d in dead)
    queue(store, "new-person", "hola", 0)  # after a restart, new people are served
    drain(Sender(store, {"telegram": channel}))
    assert ("new-person", "hola") in channel.sent


def test_telegram_addresses_are_validated_where_they_enter() -> None:
    assert chat_id("12345") == 12345 and chat_id("-100123") == -100123
    assert chat_id("@oncall_channel") == "@oncall_channel"
    with pytest.raises(PermanentError):
        chat_id("not a chat")
    base = {
        "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
        "DATA_KEY": new_data_key(),
        "DATA_DIR": "/tmp/faults",
    }
    assert load_config({**base, "OPERATOR_ALERT_TELEGRAM_CHAT": "@oncall_channel"})
    with pytest.raises(ConfigError, match="OPERATOR_ALERT_TELEGRAM_CHAT"):
        load_config({**base, "OPERATOR_ALERT_TELEGRAM_CHAT": "on call people"})


# 2 ------------------------------------------------------ streams that vanish heal
def test_a_vanished_redis_stream_and_group_are_recreated(make_store) -> None:
    store = make_store("redis", Crypto([new_data_key()]))
    client = redis.Redis.from_url(REDIS_URL)
    store.inbox_put(3, "telegram", "555", {"text": "hola"}, "tg:1", time.time())
    assert client.ttl(store.keys.inbox(3)) == -1  # never expires while it holds entries
    item = store.inbox_next(3, time.time(), consumer="w1")
    assert item is not None
    store.commit(Commit("u", inbox_done=item), time.time())
    client.delete(store.keys.inbox(3))  # a Redis restart without persistence, or a TTL
    store.inbox_put(3, "telegram", "555", {"text": "otra vez"}, "tg:2", time.time())
    again = store.inbox_next(3, time.time(), consumer="w1")
    assert again is not None and again.inbound == {"text": "otra vez"}
    assert store.stats["groups_recreated"] == 1
    client.delete(store.keys.outbox(0))
    queue(store, "555", "respuesta", 0)
    assert [i.message["text"] for i in store.outbox_batch(0, time.time())] == ["respuesta"]


def test_a_new_holder_claims_what_a_dead_process_left_pending(make_store) -> None:
    store = make_store("redis", Crypto([new_data_key()]))
    store.inbox_put(1, "telegram", "1", {"text": "a"}, None, time.time())
    first = store.inbox_next(1, time.time(), consumer="inbox-dead")  # read, never acked
    claimed = store.inbox_next(1, time.time(), consumer="inbox-new")
    assert first is not None and claimed is not None and claimed.id == first.id


# 3 ----------------------------------------------------------- a torn spool line
def test_a_torn_spool_line_is_set_aside_and_the_rest_replayed(store, tmp_path: Path) -> None:
    spool = Spool(tmp_path, store.crypto)
    for n in (1, 2, 3):
        assert spool.append(spool.record(n, "telegram", f"{n}", {"text": f"m{n}"}, f"tg:{n}"))
    lines = spool.path.read_bytes().splitlines()
    spool.path.write_bytes(lines[0] + b"\n" + lines[1][:20] + b"\n" + lines[2] + b"\n")
    assert spool.replay(store, time.time()) == 2
    assert spool.rejected == 1 and not spool.pending()
    assert spool.rejected_path.exists()
    texts = [store.inbox_next(p, time.time()) for p in (1, 3)]
    assert [t.inbound["text"] for t in texts if t] == ["m1", "m3"]


# 4 ------------------------------------------------- two senders, each reply once
def test_two_senders_send_each_reply_once(store) -> None:
    channel = Recorder(delay=0.002)
    expected = Counter()
    for person in range(20):
        for n in range(4):
            queue(store, f"person{person}", f"{person}-{n}")
            expected[(f"person{person}", f"{person}-{n}")] += 1
    senders = [Sender(store, {"telegram": channel}) for _ in range(2)]
    threads = [threading.Thread(target=drain, args=(s,), kwargs={"rounds": 200}) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(channel.sent) == expected
    for person in range(20):  # and in order
        mine = [t for a, t in channel.sent if a == f"person{person}"]
        assert mine == [f"{person}-{n}" for n in range(4)]


def test_a_process_that_lost_its_lease_cannot_acknowledge(store) -> None:
    queue(store, "555", "hola", 2)
    [item] = store.outbox_batch(2, time.time())
    assert store.lease("outbox:2", "sender-a", 0.3, time.time())
    time.sleep(0.4)  # sender-a stalls past its lease; sender-b takes the partition
    now = time.time()
    assert store.lease("outbox:2", "sender-b", 10, now)
    with pytest.raises(LeaseLost):
        store.outbox_done(item, now, fence=("outbox:2", "sender-a"))
    assert [i.id for i in store.outbox_batch(2, now)] == [item.id]  # still there
    with pytest.raises(LeaseLost):
        store.commit(Commit("u", outbox=[item], fence=("outbox:2", "sender-a")), now)
    store.outbox_done(item, now, fence=("outbox:2", "sender-b"))
    assert store.outbox_batch(2, now) == []


# 5 ----------------------------------------------------- no head-of-line blocking
def test_a_busy_person_does_not_delay_anyone_else(store) -> None:
    limiter = RateLimiter(per_second=1000, per_recipient_per_second=1)
    channel = Recorder(limiter=limiter)
    for n in range(30):
        queue(store, "busy", f"busy-{n}", 0)
    for person in range(5):
        queue(store, f"other{person}", "emergencia", 0)
    Sender(store, {"telegram": channel}).run_once()  # one pass, no sleeping
    others = [a for a, _ in channel.sent if a != "busy"]
    assert sorted(others) == [f"other{p}" for p in range(5)]  # nobody waited behind busy
    busy = [t for a, t in channel.sent if a == "busy"]
    assert busy == [f"busy-{n}" for n in range(limiter.burst)]  # busy: its burst, in order


class SlowPlatform(Recorder):
    """A platform round trip of 50 ms; records how many sends were in flight at once."""

    def __init__(self) -> None:
        super().__init__(delay=0.05)
        self.in_flight = self.most = 0

    def send(self, address: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            super().send(address, message)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_people_are_sent_to_in_parallel_and_each_keeps_their_order(store) -> None:
    """A slow platform must not make everyone wait in one line: many people's replies
    are in flight at once, while one person's replies never overtake each other."""
    channel = SlowPlatform()
    for person in range(24):
        for n in range(3):
            queue(store, f"p{person}", f"p{person}-{n}", person % PARTITIONS)
    drain(Sender(store, {"telegram": channel}))
    assert channel.most > 4, channel.most
    assert len(channel.sent) == 72 and len(set(channel.sent)) == 72  # each once
    for person in range(24):
        mine = [t for a, t in channel.sent if a == f"p{person}"]
        assert mine == [f"p{person}-{n}" for n in range(3)]


def test_urgent_replies_go_first_and_each_person_keeps_order() -> None:
    def item(address: str, text: str, urgent: bool = False) -> OutboxItem:
        message = {"text": text, **({"priority": URGENT_PRIORITY} if urgent else {})}
        return OutboxItem(text, 0, "telegram", address, message, 0.0)

    items = [item("a", "a1"), item("b", "b1"), item("a", "a2"), item("c", "c1", urgent=True),
             item("c", "c2")]  # fmt: skip
    assert [i.id for i in urgent_first(items)] == ["c1", "c2", "a1", "b1", "a2"]


# 6 ----------------------------------------------- a slow store, a webhook deadline
class SlowStore:
    """A store whose writes hang (SQLite locked, Redis frozen) and whose ping counts."""

    def __init__(self, inner) -> None:
        self.inner, self.pings, self.release = inner, 0, threading.Event()

    def inbox_put(self, *args: Any) -> bool:
        self.release.wait(10)
        raise StoreUnavailable("locked")

    def inbox_put_many(self, *args: Any) -> list[bool]:
        self.release.wait(10)
        raise StoreUnavailable("locked")

    def ping(self) -> bool:
        self.pings += 1
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_hung_store_still_gets_the_webhook_its_answer_and_the_spool(
    tmp_path: Path, store
) -> None:
    config = load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
                          "DATA_KEY": new_data_key()})  # fmt: skip
    slow = SlowStore(store)
    runtime = Runtime(config, store_override=slow, store_deadline=0.2)
    try:
        assert runtime.accept_inbound("telegram", "555", {"text": "auxilio"}, "tg:9") is False
        assert runtime.spool.pending() and runtime.store_ok is False
        from bot.web import create_app

        client = create_app(runtime=runtime).test_client()
        assert client.get("/healthz").json == {"status": "ok", "store": "unreachable"}
        assert slow.pings == 0  # liveness never waits for the store
    finally:
        slow.release.set()


class LateStore(SlowStore):
    """Writes wait until released, then succeed (a lock that is let go)."""

    def inbox_put(self, *args: Any) -> bool:
        self.release.wait(10)
        return self.inner.inbox_put(*args)


def test_a_replay_stuck_on_a_locked_store_does_not_hold_up_the_webhooks(
    tmp_path: Path, store
) -> None:
    """The chaos run's SQLite lock: the replayer waits in the store; a webhook that must
    spool meanwhile appends at once, and its line is replayed after the stuck ones."""
    slow = LateStore(store)
    spool = Spool(tmp_path, Crypto([new_data_key()]))
    spool.append(spool.record(3, "telegram", "1", {"text": "a", "seq": 1}, "tg:a"))
    replayer = threading.Thread(target=spool.replay, args=(slow, time.time()))
    replayer.start()
    time.sleep(0.2)  # the replayer now waits inside the store
    assert spool.append(spool.record(3, "telegram", "1", {"text": "b", "seq": 2}, "tg:b"))
    assert replayer.is_alive()  # the append did not wait for it
    assert spool.replay(slow, time.time()) == 0  # one replayer at a time
    slow.release.set()
    replayer.join(10)
    spool.replay(store, time.time())
    assert not spool.pending()
    seen = []
    while (item := store.inbox_next(3, time.time())) is not None:
        seen.append(item.inbound["text"])
        store.commit(Commit("u", inbox_done=item), time.time())
    assert seen == ["a", "b"]


# 7 ----------------------------------------------- spooled messages keep their place
def test_a_message_after_an_outage_waits_behind_the_spooled_ones(tmp_path: Path, store) -> None:
    config = load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
                          "DATA_KEY": new_data_key()})  # fmt: skip
    runtime = Runtime(config, store_override=store)
    partition = runtime.service.partition("telegram", "777")
    runtime.spool.append(runtime.spool.record(partition, "telegram", "777", {"text": "1"}, "tg:1"))
    runtime.store_ok = False  # the outage the spooled message came from
    runtime.accept_inbound("telegram", "777", {"text": "2"}, "tg:2")  # the store is back
    deadline = time.monotonic() + 10
    while runtime.spool.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = []
    while (item := store.inbox_next(partition, time.time())) is not None:
        seen.append(item.inbound["text"])
        store.commit(Commit("u", inbox_done=item), time.time())
    assert seen == ["1", "2"]


# 8 --------------------------------------------------------- Redis must persist
def test_start_up_warns_when_redis_does_not_persist(make_store) -> None:
    store = make_store("redis", Crypto([new_data_key()]))
    client = redis.Redis.from_url(REDIS_URL)
    before = {k: client.config_get(k)[k] for k in ("appendonly", "save")}
    try:
        client.config_set("appendonly", "no")
        client.config_set("save", "")
        assert "appendonly yes" in (store.persistence_warning() or "")
        client.config_set("appendonly", "yes")
        assert store.persistence_warning() is None
    finally:
        client.config_set("appendonly", before["appendonly"])
        client.config_set("save", before["save"])


# order under concurrent delivery ----------------------------------------------
def test_one_persons_messages_are_processed_in_the_platforms_order(store) -> None:
    """Telegram delivered update 11 and 12 concurrently and 12 committed first: the
    worker still answers 11 first (its update_id), others keep their recorded order."""
    from bot.worker import next_in_arrival_order

    store.inbox_put(0, "telegram", "55", {"text": "2", "seq": 12}, "tg:12", time.time())
    store.inbox_put(0, "telegram", "66", {"text": "x", "seq": 13}, "tg:13", time.time())
    store.inbox_put(0, "telegram", "55", {"text": "1", "seq": 11}, "tg:11", time.time())
    order = []
    while window := store.inbox_window(0, time.time(), 16, "w"):
        item = next_in_arrival_order(window)
        order.append(item.inbound["text"])
        store.commit(Commit("u", inbox_done=item), time.time())
    assert order == ["1", "2", "x"]
