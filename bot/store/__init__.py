"""Storage: one port (port.Store), two adapters (SQLite embedded default, Redis)."""

from __future__ import annotations

import logging

from bot.config import Config
from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable
from bot.store.records import DAY

__all__ = ["Store", "StoreUnavailable", "open_store"]

SQLITE_FILE = "bot.sqlite3"
log = logging.getLogger(__name__)


def open_store(config: Config) -> Store:
    """The Redis adapter when REDIS_URL is set, else SQLite under DATA_DIR."""
    crypto = Crypto(config.data_keys)
    closed_ttl = config.closed_case_days * DAY
    if config.redis_url:
        from bot.store.redis_store import RedisStore

        store = RedisStore(config.redis_url, crypto, closed_case_ttl=closed_ttl)
        warning = store.persistence_warning()
        if warning:
            log.warning("!!! %s", warning)  # loud: acknowledged messages are at stake
        return store
    from bot.store.sqlite import SQLiteStore

    return SQLiteStore(config.data_dir / SQLITE_FILE, crypto, closed_case_ttl=closed_ttl)
