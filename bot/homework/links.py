"""Deep-link payloads: what `/start <payload>` may carry, and how it is checked.

Why it looks like this: Telegram allows at most 64 characters of ``A-Za-z0-9_-`` in a
``start`` parameter.  A payload is a one-letter kind, an underscore and 32 characters of
``secrets.token_urlsafe`` (192 bits of randomness); only the SHA-256 of the token is
stored, so a database leak hands out no working link.  Every failure (unknown, reused,
expired, tampered, wrong kind) reads the same to the person: "this link is not valid".
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["LINK_TTL", "LinkKind", "NewLink", "hash_token", "new_link", "parse_payload"]

#: How long an unopened link stays valid.
LINK_TTL = timedelta(days=14)
_TOKEN_BYTES = 24  # 192 bits -> 32 characters of A-Za-z0-9_-
_PAYLOAD = re.compile(r"([ta])_([A-Za-z0-9_-]{32})")


class LinkKind(StrEnum):
    """What opening the link grants: a therapist account, or an offered assignment."""

    THERAPIST = "t"
    ASSIGNMENT = "a"


@dataclass(frozen=True, slots=True)
class NewLink:
    kind: LinkKind
    payload: str  # the `start` parameter, shown once and never stored
    token_hash: str  # what the database keeps
    expires_at: datetime

    def url(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.payload}"

    @property
    def command(self) -> str:
        return f"/start {self.payload}"


def hash_token(payload: str) -> str:
    """The stored form of a payload (hex SHA-256); tokens have enough entropy for no salt."""
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def new_link(kind: LinkKind, now: datetime, ttl: timedelta = LINK_TTL) -> NewLink:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if ttl <= timedelta(0):
        raise ValueError("a link's lifetime must be positive")
    payload = f"{kind.value}_{secrets.token_urlsafe(_TOKEN_BYTES)}"
    return NewLink(kind, payload, hash_token(payload), now + ttl)


def parse_payload(payload: str) -> tuple[LinkKind, str] | None:
    """(kind, token hash) of a well-formed payload, else None (treat as "not valid")."""
    match = _PAYLOAD.fullmatch(payload or "")
    if match is None:
        return None
    return LinkKind(match.group(1)), hash_token(payload)
