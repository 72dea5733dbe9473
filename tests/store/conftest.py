"""Store fixtures: every contract test runs on SQLite and on the real Redis server.

The Redis run uses its own key prefix and deletes its keys afterwards. Without a
server it is skipped, unless REQUIRE_REDIS=1 (as in .ci/run), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.config import new_data_key
from bot.store.crypto import Crypto
from bot.store.redis_store import RedisStore
from bot.store.sqlite import SQLiteStore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def data_key() -> str:
    return new_data_key()


@pytest.fixture
def crypto(data_key: str) -> Crypto:
    return Crypto([data_key])


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, crypto: Crypto) -> Iterator[object]:
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "store.sqlite3", crypto)
        yield s
        s.close()
        return
    client = _redis_or_skip()
    prefix = f"test:{uuid.uuid4().hex}:"
    s = RedisStore(REDIS_URL, crypto, prefix=prefix)
    yield s
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    s.close()
    client.close()
