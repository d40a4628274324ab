"""Secrets kept encrypted at rest (webhook signing secrets), with keys from the settings.

Fernet (AES-128-CBC with HMAC-SHA256) under the keys of ``WEBHOOK_SECRET_KEYS``: the first
encrypts, every one decrypts, so a new key goes first and the old ones stay listed until
the services have re-encrypted with the new one (``SecretBox.is_current``).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.infra.settings import Settings


class SecretKeyError(Exception):
    """A key is not a Fernet key, or none of the keys opens a stored secret."""


def derived_key(ops_token: str) -> bytes:
    """The key used when WEBHOOK_SECRET_KEYS is empty (a developer machine): derived from
    the ops token, so it is stable across restarts without any setting."""
    digest = hashlib.sha256(b"regwatch webhook secrets\0" + ops_token.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class SecretBox:
    """Seals and opens secrets with the first key; opens with any."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("WEBHOOK_SECRET_KEYS names no key.")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except ValueError:
                raise SecretKeyError(
                    f"WEBHOOK_SECRET_KEYS: key {number} is not a Fernet key (32 bytes in "
                    "url-safe base64: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())')."
                ) from None
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box of WEBHOOK_SECRET_KEYS (comma-separated), else of the derived key."""
        listed = [k.strip() for k in settings.webhook_secret_keys.split(",") if k.strip()]
        keys = [k.encode() for k in listed] or [derived_key(settings.regwatch_ops_token)]
        return cls(keys)

    def seal(self, secret: str) -> str:
        """``secret`` encrypted with the first key."""
        token: bytes = self._all.encrypt(secret.encode())
        return token.decode()

    def open(self, sealed: str) -> str:
        """The secret ``sealed`` holds; SecretKeyError when no key opens it."""
        try:
            secret: bytes = self._all.decrypt(sealed.encode())
        except InvalidToken:
            raise SecretKeyError(
                "No key of WEBHOOK_SECRET_KEYS opens a stored secret: keep the key it was "
                "sealed with listed."
            ) from None
        return secret.decode()

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` is encrypted with the first key."""
        try:
            self._primary.decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True
