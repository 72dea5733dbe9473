"""Console accounts: argon2 hashes, revocable sessions, a rate-limited login.

A session carries the operator's name and account `version`; logout and a password
change bump the version, so every cookie issued before stops working at once (Flask's
signed cookie alone cannot be revoked).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from bot.store.port import Store
from bot.store.records import Operator

ROLES = ("operator", "supervisor")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown name the same.
_DUMMY_HASH = _hasher.hash("not a real password, only for constant time")


class User(UserMixin):
    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    def get_id(self) -> str:
        return f"{self.operator.username}|{self.operator.version}"

    @property
    def username(self) -> str:
        return self.operator.username

    @property
    def supervisor(self) -> bool:
        return self.operator.role == "supervisor"


def load_user(store: Store, user_id: str) -> User | None:
    username, _, version = user_id.rpartition("|")
    operator = store.get_operator(username, time.time())
    if operator is None or str(operator.version) != version:
        return None  # logged out or password changed since this cookie was issued
    return User(operator)


def verify(store: Store, username: str, password: str) -> Operator | None:
    operator = store.get_operator(username, time.time())
    try:
        _hasher.verify(operator.password_hash if operator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return operator


def create_operator(store: Store, username: str, password: str, role: str) -> Operator:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not username.isidentifier() or len(username) > 40:
        raise ValueError("the username must be letters, digits or _ (max 40)")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    existing = store.get_operator(username, time.time())
    version = existing.version + 1 if existing else 1
    operator = Operator(username, role, _hasher.hash(password), version)
    store.put_operator(operator, time.time())
    return operator


def revoke(store: Store, operator: Operator) -> None:
    operator.version += 1
    store.put_operator(operator, time.time())


class LoginLimiter:
    """At most `attempts` failed logins per window, per client address and per name."""

    def __init__(self, attempts: int = 5, window: float = 900.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        now = time.time()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.time()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
