"""Shared fixtures. The engine is the production engine on the repository's data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bot.bootstrap import default_engine
from bot.channels.terminal import TerminalChat
from bot.engine.engine import Engine
from bot.engine.types import LANGS


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()


@pytest.fixture
def chat(engine: Engine) -> Callable[..., TerminalChat]:
    """A fresh terminal conversation, already past the language menu and welcome."""

    def make(lang: str = "es", welcomed: bool = True) -> TerminalChat:
        conversation = TerminalChat(engine, lang=lang)
        if welcomed:
            conversation.say("hola")
            conversation.say("1")  # "yes, I can write now" -> main menu
        return conversation

    return make


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


# The Redis tests use database 15 (their own, never 0) and a key prefix per test.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip() -> redis.Redis:
    """The real Redis server; skipped without one, unless REQUIRE_REDIS=1 (CI), where
    a missing server fails the run."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Factory for a store of either kind; Redis ones use their own key prefix and
    are cleaned up afterwards."""
    from bot.store.redis_store import RedisStore
    from bot.store.sqlite import SQLiteStore

    made: list[tuple[object, str | None]] = []

    def make(kind: str, crypto):
        if kind == "sqlite":
            store = SQLiteStore(tmp_path / f"store{len(made)}.sqlite3", crypto)
            made.append((store, None))
            return store
        redis_or_skip()
        prefix = f"test:{uuid.uuid4().hex}:"
        store = RedisStore(REDIS_URL, crypto, prefix=prefix)
        made.append((store, prefix))
        return store

    yield make
    for store, prefix in made:
        if prefix:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
        store.close()


@pytest.fixture(params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, make_store) -> Iterator[object]:
    """The app, worker and sender with fake platform servers, on each storage adapter."""
    from channel_stack import running_stack

    yield from running_stack(request.param, tmp_path, make_store)
