"""Refresh tokens at rest: Fernet ciphertext, keys from settings, rotatable with MultiFernet."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from amazon_settings.exceptions import TokenDecryptionFailed


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def current_fernet() -> MultiFernet:
    """Encrypts with the first key of TOKEN_ENCRYPTION_KEYS, decrypts with any of them."""
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_secret(plaintext: str) -> str:
    return current_fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return current_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionFailed(
            "The stored Amazon token cannot be decrypted with the configured "
            "TOKEN_ENCRYPTION_KEYS. Was a key removed before tokens were re-encrypted?"
        ) from exc


def reencrypt_secret(ciphertext: str) -> str:
    """The same secret under the newest key (for key rotation)."""
    return current_fernet().rotate(ciphertext.encode()).decode()
