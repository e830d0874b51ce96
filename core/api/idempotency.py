"""Idempotency-Key: a request repeated with the same key gets the first answer again and changes nothing.

The answer is stored per token and key in the same unit of work as the change it answers, so either
both are saved or neither. Two identical requests at once: one saves, the other's unit of work fails
on the unique (token, key) and, retried, finds the saved answer (`ui.api_routes` retries once).
The same key with a different request is refused: keys are for retries, not for new requests.
Never reads the clock, never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ApiIdempotency


class KeyReused(ValueError):
    """The Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class StoredAnswer:
    """The status code and body given to the first request with the key."""

    status_code: int
    body: dict[str, Any]


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies a request for its key: method, path and body."""
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + body).hexdigest()


def find(session: Session, *, token_id: int, key: str, request_hash: str) -> StoredAnswer | None:
    """The answer stored for this token and key, or None; KeyReused when the key came with another request."""
    row = session.scalar(select(ApiIdempotency).where(ApiIdempotency.token_id == token_id,
                                                      ApiIdempotency.key == key))
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise KeyReused(f"The Idempotency-Key {key!r} was already used with another request on "
                        f"{row.created_at:%Y-%m-%d %H:%M} UTC: use a new key for a new request.")
    return StoredAnswer(row.status_code, dict(row.response))


def remember(session: Session, *, token_id: int, key: str, request_hash: str, answer: StoredAnswer,
             now: dt.datetime) -> None:
    """Store the answer in the caller's unit of work (IntegrityError at flush when a twin stored it first)."""
    session.add(ApiIdempotency(token_id=token_id, key=key, request_hash=request_hash, status_code=answer.status_code,
                               response=answer.body, created_at=now))
    session.flush()
