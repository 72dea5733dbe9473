"""The Redis adapter's round trips on the hot paths, and what they must not lose.

- The webhooks record their messages with a Lua script, many in one pipeline. redis-py
  asks SCRIPT EXISTS before a pipeline holding its `Script` objects, a second round
  trip per batch; the adapter sends EVALSHA itself, and loads the script again when
  the server answers NOSCRIPT (after a restart, or SCRIPT FLUSH).
- A fenced write (the worker's commit, the sender's acknowledgement) is one script
  that checks the lease and applies the commands: WATCH, GET and MULTI/EXEC were three
  round trips. Its refusals and its failures are the transaction's.
- The worker reads a window of the inbox for every message it processes: the claim of
  an earlier holder's entries and the reads go in one pipeline (they were three round
  trips), and each entry is decrypted once however many windows it appears in.
"""

from __future__ import annotations

import time

import pytest
import redis
from conftest import REDIS_URL

from bot.store.crypto import Crypto
from bot.store.port import LeaseLost, StoreUnavailable
from bot.store.records import Commit, OutboxItem


def _script_exists_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_script|exists", {}).get("calls", 0))


def _puts(n: int, start: int = 0) -> list:
    return [(0, "telegram", str(i), {"text": "hola"}, f"d:{i}") for i in range(start, start + n)]


def test_a_batch_of_inbox_puts_asks_no_script_exists(make_store, crypto) -> None:
    store = make_store("redis", crypto)
    client = redis.Redis.from_url(REDIS_URL)
    store.inbox_put_many(_puts(1), time.time())  # the script is loaded from here on
    before = _script_exists_calls(client)
    assert store.inbox_put_many(_puts(8, 1), time.time()) == [True] * 8
    assert _script_exists_calls(client) == before
    assert len(store.inbox_window(0, time.time(), limit=20)) == 9


def test_inbox_puts_survive_a_server_that_forgot_the_script(make_store, crypto) -> None:
    store = make_store("redis", crypto)
    client = redis.Redis.from_url(REDIS_URL)
    assert store.inbox_put_many(_puts(2), time.time()) == [True, True]
    client.script_flush()
    # New messages are recorded, redeliveries still recognised, in one call.
    assert store.inbox_put_many(_puts(3, 1), time.time()) == [False, True, True]
    assert [i.address for i in store.inbox_window(0, time.time(), limit=20)] == ["0", "1", "2", "3"]


class CountingCrypto(Crypto):
    def __init__(self, key: str) -> None:
        super().__init__((key,))
        self.decrypted = 0

    def decrypt_json(self, blob: bytes):  # type: ignore[override]
        self.decrypted += 1
        return super().decrypt_json(blob)


def _calls(client: redis.Redis, command: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_each_inbox_entry_is_decrypted_once_across_windows(make_store, data_key) -> None:
    crypto = CountingCrypto(data_key)
    store = make_store("redis", crypto)
    store.inbox_put_many(_puts(5), time.time())
    first = store.inbox_window(0, time.time(), 16, "w")
    assert crypto.decrypted == 5
    again = store.inbox_window(0, time.time(), 16, "w")
    assert crypto.decrypted == 5
    assert [(i.id, i.address, i.inbound) for i in again] == [
        (i.id, i.address, i.inbound) for i in first
    ]


def test_a_window_still_claims_what_another_worker_left(make_store, crypto) -> None:
    store = make_store("redis", crypto)
    client = redis.Redis.from_url(REDIS_URL)
    store.inbox_put_many(_puts(6), time.time())
    assert len(store.inbox_window(0, time.time(), 4, "dead-worker")) == 4  # then it dies
    before = {c: _calls(client, c) for c in ("xautoclaim", "xreadgroup")}
    window = store.inbox_window(0, time.time(), 16, "next-worker")
    # All six, in the order they were recorded: four taken over, two never read.
    assert [i.address for i in window] == ["0", "1", "2", "3", "4", "5"]
    # One claim and one read each of the pending and of the new entries.
    assert _calls(client, "xautoclaim") == before["xautoclaim"] + 1
    assert _calls(client, "xreadgroup") == before["xreadgroup"] + 2


def test_a_window_over_the_limit_keeps_the_rest_for_the_next(make_store, crypto) -> None:
    store = make_store("redis", crypto)
    store.inbox_put_many(_puts(10), time.time())
    assert [i.address for i in store.inbox_window(0, time.time(), 3, "w")] == ["0", "1", "2"]
    # The next window of the same size starts from the same oldest entries.
    assert [i.address for i in store.inbox_window(0, time.time(), 3, "w")] == ["0", "1", "2"]
    assert len(store.inbox_window(0, time.time(), 16, "w")) == 10


def _reply(partition: int = 1) -> OutboxItem:
    return OutboxItem("", partition, "telegram", "42", {"text": "hola", "buttons": []}, time.time())


def test_a_fenced_commit_is_one_script_call(make_store, crypto) -> None:
    store = make_store("redis", crypto)
    client = redis.Redis.from_url(REDIS_URL)
    user = store.resolve_user(["h-fenced"], time.time())
    assert store.lease("inbox:1", "me", 30.0, time.time())
    fence = ("inbox:1", "me")
    store.commit(Commit(user, session={"n": 0}, fence=fence), time.time())  # script loaded
    before = {c: _calls(client, c) for c in ("evalsha", "watch", "multi", "exec")}
    store.commit(Commit(user, session={"n": 1}, outbox=[_reply()], fence=fence), time.time())
    after = {c: _calls(client, c) for c in before}
    assert after == {**before, "evalsha": before["evalsha"] + 1}
    assert store.load_session(user, time.time()) == {"n": 1}
    [item] = store.outbox_batch(1, time.time())
    assert item.message["text"] == "hola"
    store.outbox_done(item, time.time(), fence=("inbox:1", "me"))
    assert store.outbox_batch(1, time.time()) == []


def test_a_fenced_write_that_fails_says_so_and_its_lease_check_still_holds(
    make_store, crypto
) -> None:
    store = make_store("redis", crypto)
    client = redis.Redis.from_url(REDIS_URL)
    user = store.resolve_user(["h-broken"], time.time())
    assert store.lease("inbox:1", "me", 30.0, time.time())
    client.set(store.keys.outbox(1), "not a stream")  # XADD answers WRONGTYPE
    with pytest.raises(StoreUnavailable):
        store.commit(Commit(user, outbox=[_reply()], fence=("inbox:1", "me")), time.time())
    client.delete(store.keys.outbox(1))
    with pytest.raises(LeaseLost):  # nothing written for a fence that is not ours
        store.commit(Commit(user, session={"n": 2}, fence=("inbox:1", "them")), time.time())
    assert store.load_session(user, time.time()) is None
