"""Console accounts: argon2 hashes, revocable sessions, a rate-limited login.

A session carries the operator's name and account `version`; logout and a password
change bump the version, so every cookie issued before stops working at once (Flask's
signed cookie alone cannot be revoked).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time

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


def client_block(address: str) -> str:
    """The unit a failed login counts against: the IPv4 address, or the IPv6 /64 (one
    household or phone gets a whole /64: counting single IPv6 addresses gave unlimited
    guesses from one network, the outside review found)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LoginLimiter:
    """Failed logins, counted in the store (every process and worker sees the same
    counts, on SQLite and Redis), keyed by account *and* client address, and by address
    alone. Five failures lock that account for that address only, so a stranger cannot
    lock a colleague out; twenty from one address lock the address (password spraying).
    Keys are keyed hashes: the store never holds a name or an address in clear."""

    def __init__(self, store: Store, secret: str, per_account: int = 5, per_address: int = 20,
                 window: float = 900.0) -> None:  # fmt: skip
        self.store, self.window = store, window
        self.per_account, self.per_address = per_account, per_address
        self._secret = secret.encode()

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        def key(*parts: str) -> str:
            return hmac.new(self._secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()

        source = client_block(address)
        return key("login", username.lower(), source), key("login-from", source)

    def blocked(self, username: str, address: str) -> bool:
        pair, source = self._keys(username, address)
        now = time.time()
        return (self.store.count(pair, self.window, now, add=False) >= self.per_account
                or self.store.count(source, self.window, now, add=False) >= self.per_address)  # fmt: skip

    def failed(self, username: str, address: str) -> bool:
        """Count one failure; True when it has just locked the account or the address."""
        pair, source = self._keys(username, address)
        now = time.time()
        locked_pair = self.store.count(pair, self.window, now) == self.per_account
        locked_source = self.store.count(source, self.window, now) == self.per_address
        return locked_pair or locked_source
