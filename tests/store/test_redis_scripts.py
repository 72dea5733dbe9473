"""The Redis adapter's scripts: one round trip per batch, and a server that lost them.

The webhooks record their messages with a Lua script, many in one pipeline. redis-py
asks SCRIPT EXISTS before a pipeline holding its `Script` objects, a second round trip
per batch; the adapter sends EVALSHA itself, and loads the script again when the server
answers NOSCRIPT (after a restart without persistence of scripts, or SCRIPT FLUSH).
"""

from __future__ import annotations

import time

import redis

from conftest import REDIS_URL


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
