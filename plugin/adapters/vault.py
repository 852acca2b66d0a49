"""Encryption of stored secrets (store API keys, webhook secrets) with a key from SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from plugin.errors import PermanentError

# Fixed salt and purpose label: the derived key must stay the same for one SECRET_KEY, and a
# different `info` keeps this key apart from any other key derived from SECRET_KEY later.
_SALT = b"backorders"
_INFO = b"backorders/vault/fernet/v1"
_CACHE_SIZE = 1024


class DecryptionFailed(PermanentError):
    """The value was not made by this SECRET_KEY (key rotated, or the value was altered)."""

    reason = "decryption_failed"


class Vault:
    """Encrypts and decrypts short strings; Fernet (AES-CBC + HMAC) keyed by HKDF-SHA256."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("Vault needs a non-empty secret key")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
            secret_key.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._recent: dict[str, str] = {}

    def __repr__(self) -> str:
        return "Vault(<hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """Encrypt `plaintext`; the result is ASCII text and differs on every call."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a value made by `encrypt` with the same SECRET_KEY."""
        # A token always decrypts to the same text: remember recent ones, since every webhook
        # delivery needs its store's secret.
        cached = self._recent.get(token)
        if cached is not None:
            return cached
        plaintext = self._decrypt(token)
        if len(self._recent) >= _CACHE_SIZE:
            self._recent.clear()
        self._recent[token] = plaintext
        return plaintext

    def _decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise DecryptionFailed(
                "stored secret cannot be decrypted with this SECRET_KEY"
            ) from None
