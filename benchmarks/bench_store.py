"""Does the store stay fast and small as people accumulate? And what does the engine cost?

- `scale_ratio`: messages per second through the conversation service (identify the
  person, load the session and the open case, run the engine, one commit) with 100,000
  people stored, over the same with 1,000. 1.0 means size does not matter.
- `bytes_per_session`: what one idle person costs the store (identity link, contact,
  session), from the SQLite file's growth or Redis' `used_memory` growth.
- `engine_msgs_per_s`: the pure engine (no store) on the same messages, the ceiling
  the rest is measured against (`service_ratio` = service / engine).

People are seeded with the session a real first message leaves (see `_seed`). The
smaller and the larger store are measured side by side in the same process, on
the same randomly chosen people's messages, in alternating rounds. Run: make bench
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from benchmarks.timing import cli, each_adapter
from bot.config import load_config, new_data_key
from bot.engine.types import Inbound, Session
from bot.runtime import Runtime
from bot.store.crypto import Crypto
from bot.store.records import IDENTITY_TTL, SESSION_TTL, Commit, new_id
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore

REDIS_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' own database, flushed after
MESSAGES = ("hola", "1", "no quiero denunciar", "2", "menu", "tengo miedo")


def _runtime(kind: str, tmp: str) -> tuple[Runtime, Any]:
    key = new_data_key()
    config = load_config({"DATA_DIR": tmp, "DATA_KEY": key,
                          "SECRET_KEY": "bench-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU"})  # fmt: skip
    if kind == "redis":
        store: Any = RedisStore(REDIS_URL, Crypto([key]), prefix=f"bench:{uuid.uuid4().hex}:")
    else:
        store = SQLiteStore(Path(tmp) / "bot.sqlite3", Crypto([key]))
    return Runtime(config, store_override=store), store


def _address(n: int) -> str:
    return str(10_000_000 + n)


def _seed(runtime: Runtime, start: int, stop: int, session: dict) -> None:
    """Store people as a first message leaves them. SQLite through the store's own
    methods; Redis, whose cost is the round trip, in pipelines of 1,000 that write what
    `resolve_user`, `put_contact` and a session commit write (checked afterwards by
    reading a sample back through the store: a drift in the layout fails the run)."""
    store, crypto, now = runtime.store, runtime.crypto, time.time()
    if not isinstance(store, RedisStore):
        for n in range(start, stop):
            address = _address(n)
            user = store.resolve_user(crypto.lookup_hashes(f"telegram:{address}"), now)
            store.put_contact(user, "telegram", address, now)
            store.commit(Commit(user=user, session=session), now)
        return
    k, ttl = store.keys, int(IDENTITY_TTL * 1000)
    for first in range(start, stop, 1000):
        pipe = store.r.pipeline(transaction=False)
        for n in range(first, min(stop, first + 1000)):
            address, user = _address(n), new_id("u")
            lookup = crypto.lookup_hashes(f"telegram:{address}")[0]
            pipe.set(k.identity(lookup), user, px=ttl)
            pipe.sadd(k.identities_of(user), lookup)
            pipe.pexpire(k.identities_of(user), ttl)
            contact = {"channel": "telegram", "address": address, "at": now}
            pipe.set(k.contact(user), crypto.encrypt_json(contact), px=ttl)
            pipe.set(k.session(user), crypto.encrypt_json(session), px=int(SESSION_TTL * 1000))
        pipe.execute()
    for n in random.Random(3).sample(range(start, stop), min(50, stop - start)):
        user = store.resolve_user(
            crypto.lookup_hashes(f"telegram:{_address(n)}"), now, create=False
        )
        assert user and store.get_contact(user, now) == ("telegram", _address(n)), n
        assert store.load_session(user, now) == session, n


def _service_rate(runtime: Runtime, people: int, count: int) -> float:
    """Messages per second from people picked at random among those stored."""
    pick = random.Random(7)
    service = runtime.service
    start = time.perf_counter()
    for n in range(count):
        address = _address(pick.randrange(people))
        service.handle("telegram", address, Inbound(text=MESSAGES[n % len(MESSAGES)]))
    return count / (time.perf_counter() - start)


def _size(kind: str, store: Any, tmp: str) -> int:
    if kind == "redis":
        return int(store.r.info("memory")["used_memory"])
    store._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the pages, not the log
    return sum(p.stat().st_size for p in Path(tmp).glob("bot.sqlite3*"))


def engine_rate(runtime: Runtime, count: int) -> float:
    engine = runtime.engine
    session = Session.from_dict(None)
    start = time.perf_counter()
    for n in range(count):
        session = engine.handle(session, Inbound(text=MESSAGES[n % len(MESSAGES)])).session
    return count / (time.perf_counter() - start)


def _drop(kind: str, store: Any) -> None:
    if kind == "redis":
        keys = list(store.r.scan_iter(match=store.keys.prefix + "*", count=5000))
        for n in range(0, len(keys), 5000):
            store.r.delete(*keys[n : n + 5000])
    store.close()


def measure(kind: str, small: int, large: int, count: int, rounds: int = 5) -> dict[str, Any]:
    """Two stores side by side, `small` and `large` people; their rates are measured in
    alternating rounds and compared by their medians, so that a noisy moment on the
    machine falls on both."""
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        (little, little_store), (big, big_store) = _runtime(kind, a), _runtime(kind, b)
        try:
            little.service.handle("telegram", "1", Inbound(text="hola"))  # a real session
            user = little.service.user_for("telegram", "1")
            session = little_store.load_session(user, time.time())
            _seed(little, 0, small, session)
            _seed(big, 0, small, session)
            before = _size(kind, big_store, b)
            _seed(big, small, large, session)
            after = _size(kind, big_store, b)
            _service_rate(little, small, count // 5)  # warm both
            _service_rate(big, large, count // 5)
            rates: dict[str, list[float]] = {"small": [], "large": []}
            for _ in range(rounds):
                rates["small"].append(_service_rate(little, small, count // rounds))
                rates["large"].append(_service_rate(big, large, count // rounds))
            engine = engine_rate(big, count)
        finally:
            _drop(kind, little_store)
            _drop(kind, big_store)
    small_rate, large_rate = (statistics.median(rates[k]) for k in ("small", "large"))
    return {
        "scale_ratio": round(large_rate / small_rate, 3),
        "bytes_per_session": round((after - before) / (large - small)),
        "service_msgs_per_s": round(large_rate, 1),
        "engine_msgs_per_s": round(engine, 1),
        "service_ratio": round(large_rate / engine, 3),
    }


def run(quick: bool) -> dict[str, Any]:
    small, large, count = (1_000, 20_000, 1_000) if quick else (1_000, 100_000, 2_000)
    out = each_adapter(lambda kind: measure(kind, small, large, count))
    redis.Redis.from_url(REDIS_URL).flushdb()
    return out


if __name__ == "__main__":
    sys.exit(cli(run))
