"""SMTP passwords at rest: Fernet tokens under MultiFernet over FERNET_KEYS (newest first).
The keys are checked at start-up (yaypay_mail.settings); here they never reach a
traceback's local variables."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables


class SecretUnreadable(Exception):
    """No configured key opens the token (a key was dropped from FERNET_KEYS too soon)."""


@lru_cache(maxsize=4)
@sensitive_variables("keys", "key")
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _multi_fernet(tuple(settings.FERNET_KEYS))


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored SMTP password cannot be decrypted with FERNET_KEYS; enter it again."
        ) from None


def readable(token: str) -> bool:
    """Whether the configured keys open this token."""
    try:
        decrypt(token)
    except SecretUnreadable:
        return False
    return True


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("A stored secret cannot be decrypted with FERNET_KEYS.") from None
