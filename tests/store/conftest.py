"""Every contract test runs on SQLite and on the real Redis server (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from bot.config import new_data_key
from bot.store.crypto import Crypto


@pytest.fixture(scope="session")
def data_key() -> str:
    return new_data_key()


@pytest.fixture
def crypto(data_key: str) -> Crypto:
    return Crypto([data_key])


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, make_store, crypto: Crypto):
    return make_store(request.param, crypto)
