"""Password rules and hashing (bcrypt), the same for the app and the command line.

This module must never log, store or return a plain password except the
one-time password it generates for the caller to show once.
"""

from __future__ import annotations

import functools
import os
import secrets

import bcrypt

MIN_LENGTH = 12
MAX_BYTES = 72  # bcrypt's hard limit; bcrypt 5 raises beyond it
# 12 rounds is about 0.27 s a hash here; tests lower it through the environment.
BCRYPT_ROUNDS = max(4, int(os.environ.get("ESCALATION_DESK_BCRYPT_ROUNDS", "12")))


class PasswordRuleError(ValueError):
    """A password that breaks a rule; the message says which and how to fix it."""


def check_password_rules(password: str) -> None:
    """Raise PasswordRuleError when `password` is too short, too long or padded with spaces."""
    if password != password.strip():
        raise PasswordRuleError("The password must not start or end with a space.")
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError(
            f"The password is {len(password)} characters long; use at least {MIN_LENGTH}."
        )
    size = len(password.encode("utf-8"))
    if size > MAX_BYTES:
        raise PasswordRuleError(
            f"The password is {size} bytes long in UTF-8; use at most {MAX_BYTES} bytes "
            "(accented letters and emoji count as 2 to 4 bytes each)."
        )


def hash_password(password: str) -> str:
    """A bcrypt hash of `password` (which must already pass the rules)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when `password` matches `password_hash`; False for any malformed input."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


@functools.cache
def _decoy_hash() -> str:
    return hash_password("decoy-password-never-used")


def burn_verification_time(password: str) -> None:
    """Spend one bcrypt check so an unknown username answers as slowly as a known one."""
    verify_password(password, _decoy_hash())


def generate_one_time_password() -> str:
    """A random 16-character password to hand over once; it must be changed at first sign-in."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))
