"""Storage: one port (port.Store), two adapters (SQLite embedded default, Redis)."""

from __future__ import annotations

from bot.config import Config
from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable", "open_store"]

SQLITE_FILE = "bot.sqlite3"


def open_store(config: Config) -> Store:
    """The Redis adapter when REDIS_URL is set, else SQLite under DATA_DIR."""
    crypto = Crypto(config.data_keys)
    if config.redis_url:
        from bot.store.redis_store import RedisStore

        return RedisStore(config.redis_url, crypto)
    from bot.store.sqlite import SQLiteStore

    return SQLiteStore(config.data_dir / SQLITE_FILE, crypto)
