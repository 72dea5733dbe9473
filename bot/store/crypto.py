"""Encryption of personal data at rest, and keyed hashes for looking people up.

DATA_KEY is a comma-separated list of keys, newest first. New data is encrypted with
the newest key; any listed key decrypts (MultiFernet), so keys rotate without a
migration stop. A phone number or chat id is never stored in clear and never used as
a key: it is looked up by an HMAC under each configured key, newest first, so a
rotation does not lose anyone (the store re-links the newest hash on first contact).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CryptoError(ValueError):
    """A DATA_KEY is malformed, or data cannot be decrypted with any configured key."""


def _fernet_key(raw: str) -> bytes:
    """Accept a Fernet key, or any 32-byte url-safe base64 secret."""
    try:
        decoded = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4))
    except (ValueError, TypeError) as exc:
        raise CryptoError("DATA_KEY entries must be url-safe base64") from exc
    if len(decoded) != 32:
        raise CryptoError("each DATA_KEY entry must decode to 32 bytes")
    return base64.urlsafe_b64encode(decoded)


class Crypto:
    def __init__(self, data_keys: tuple[str, ...] | list[str]) -> None:
        if not data_keys:
            raise CryptoError("no DATA_KEY configured")
        keys = [_fernet_key(k) for k in data_keys]
        self._newest = Fernet(keys[0])
        self._fernet = MultiFernet([self._newest, *(Fernet(k) for k in keys[1:])])
        self.rotating = len(keys) > 1
        # Hash keys are derived, so the encryption key itself never touches an HMAC.
        self._hash_keys = [
            hmac.new(base64.urlsafe_b64decode(k), b"lookup-v1", hashlib.sha256).digest()
            for k in keys
        ]

    def encrypt(self, value: str | bytes) -> bytes:
        # A lone surrogate ("\ud800" in a JSON update) cannot be UTF-8: it becomes "?"
        # rather than losing the whole message (adapters already replace them).
        data = value.encode("utf-8", "replace") if isinstance(value, str) else value
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes | str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode() if isinstance(token, str) else token)
        except InvalidToken as exc:
            raise CryptoError("data cannot be decrypted with the configured DATA_KEY") from exc

    def is_current(self, token: bytes | str) -> bool:
        """Whether the newest key alone reads this token (it needs no older key)."""
        try:
            self._newest.decrypt(token.encode() if isinstance(token, str) else token)
            return True
        except InvalidToken:
            return False

    def rotate(self, token: bytes | str) -> bytes:
        """The same data encrypted with the newest key (`keys rotate`)."""
        try:
            return self._fernet.rotate(token.encode() if isinstance(token, str) else token)
        except InvalidToken as exc:
            raise CryptoError("data cannot be decrypted with the configured DATA_KEY") from exc

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: bytes | str) -> Any:
        return json.loads(self.decrypt(token))

    def lookup_hashes(self, address: str) -> list[str]:
        """The keyed hashes of an address, newest key first."""
        return [
            hmac.new(key, address.encode(), hashlib.sha256).hexdigest() for key in self._hash_keys
        ]
