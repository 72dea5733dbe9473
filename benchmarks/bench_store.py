"""Does the store stay fast and small as people accumulate? And what does the engine cost?

- `scale_ratio`: messages per second through the conversation service (identify the
  person, load the session and the open case, run the engine, one commit) with 100,000
  people stored, over the same with 1,000. 1.0 means size does not matter.
- `bytes_per_session`: what one idle person costs the store (identity link, contact,
  session), from the SQLite file's growth or Redis' `used_memory` growth.
- `engine_msgs_per_s`: the pure engine (no store) on the same messages, the ceiling
  the rest is measured against (`service_ratio` = service / engine).

People are seeded through the store's own methods (threads on Redis, whose cost is the
round trip), with the sessions a real first message leaves. Run: make bench
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis

from bot.config import load_config, new_data_key
from bot.engine.types import Inbound, Session
from bot.runtime import Runtime
from bot.store.crypto import Crypto
from bot.store.records import Commit
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


def _seed(runtime: Runtime, start: int, stop: int, session: dict, threads: int) -> None:
    store, crypto, now = runtime.store, runtime.crypto, time.time()

    def one(n: int) -> None:
        address = str(10_000_000 + n)
        user = store.resolve_user(crypto.lookup_hashes(f"telegram:{address}"), now)
        store.put_contact(user, "telegram", address, now)
        store.commit(Commit(user=user, session=session), now)

    if threads <= 1:
        for n in range(start, stop):
            one(n)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(start, stop), chunksize=256))


def _service_rate(runtime: Runtime, people: int, count: int) -> float:
    """Messages per second from people picked at random among those stored."""
    pick = random.Random(7)
    service = runtime.service
    start = time.perf_counter()
    for n in range(count):
        address = str(10_000_000 + pick.randrange(people))
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


def measure(kind: str, small: int, large: int, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        runtime, store = _runtime(kind, tmp)
        try:
            runtime.service.handle("telegram", "1", Inbound(text="hola"))  # a real session
            user = runtime.service.user_for("telegram", "1")
            session = store.load_session(user, time.time())
            threads = 16 if kind == "redis" else 1
            _seed(runtime, 0, small, session, threads)
            _service_rate(runtime, small, count // 5)  # warm
            small_rate = _service_rate(runtime, small, count)
            before = _size(kind, store, tmp)
            _seed(runtime, small, large, session, threads)
            after = _size(kind, store, tmp)
            large_rate = _service_rate(runtime, large, count)
            engine = engine_rate(runtime, count)
        finally:
            if kind == "redis":
                keys = list(store.r.scan_iter(match=store.keys.prefix + "*", count=5000))
                for n in range(0, len(keys), 5000):
                    store.r.delete(*keys[n : n + 5000])
            store.close()
    return {
        "scale_ratio": round(large_rate / small_rate, 3),
        "bytes_per_session": round((after - before) / (large - small)),
        "service_msgs_per_s": round(large_rate, 1),
        "engine_msgs_per_s": round(engine, 1),
        "service_ratio": round(large_rate / engine, 3),
    }


def run(quick: bool) -> dict[str, Any]:
    small, large, count = (1_000, 20_000, 1_000) if quick else (1_000, 100_000, 3_000)
    out: dict[str, Any] = {}
    for kind in ("sqlite", "redis"):
        out[kind] = measure(kind, small, large, count)
        print(f"{kind:7} " + "  ".join(f"{k} {v}" for k, v in out[kind].items()), file=sys.stderr)
    redis.Redis.from_url(REDIS_URL).flushdb()
    return out


def main() -> int:
    print(json.dumps(run("--quick" in sys.argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
