"""The SQLite adapter's files on disk: private to the account that runs the bot."""

from __future__ import annotations


def test_the_sqlite_files_are_the_owners_alone(tmp_path) -> None:
    """The review: bot.sqlite3 and its -wal were 0644 (operators' password hashes and
    the audit trail readable by any local user), DATA_DIR 0755."""
    import os
    import stat

    from bot.config import new_data_key
    from bot.store.crypto import Crypto
    from bot.store.sqlite import SQLiteStore

    old = os.umask(0o022)  # the usual default, which made them world-readable
    try:
        store = SQLiteStore(tmp_path / "data" / "bot.sqlite3", Crypto([new_data_key()]))
        store.put_contact("u1", "telegram", "1", 0.0)
        files = sorted((tmp_path / "data").iterdir())
        assert {f.name for f in files} >= {"bot.sqlite3", "bot.sqlite3-wal"}
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        store.close()
    finally:
        os.umask(old)
