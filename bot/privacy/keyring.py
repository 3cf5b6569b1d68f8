"""Authenticated encryption of what people write, with a ring of named keys.

Why this module exists: free text (sessions, unsent replies, saved answers) must not sit
in the database in clear, and the key must be replaceable without downtime. A `KeyRing`
holds one key for writing and any number of older ones for reading, each with a short
id; every sealed value names the key that sealed it, so rows sealed before a rotation
stay readable until `relbot keys rotate` has re-sealed them.

The cipher is AES-256-GCM from `cryptography` (a 96-bit random nonce per value). The
associated data binds a value to where it belongs (table, column, person), so a sealed
session copied into another person's row does not open. A sealed value is ASCII text::

    rb1.<key id>.<base64url(nonce + ciphertext + tag)>

Nothing here reads the environment or files: see `bot.privacy.keysource`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["PREFIX", "KeyConfigError", "KeyRing", "Unreadable", "is_sealed", "new_key_entry"]

PREFIX = "rb1."
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_NONCE = 12


class Unreadable(Exception):
    """A sealed value that cannot be opened: its key is not in the ring, or it was altered.

    The message never contains the value, only why (safe to log)."""


class KeyConfigError(ValueError):
    """A key entry is malformed; the message says how to fix it (never shows the key)."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def new_key_entry(key_id: str | None = None) -> str:
    """A fresh `id:base64key` entry (256 random bits) for DATA_KEY or the key file."""
    kid = key_id or secrets.token_hex(3)
    key = base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")
    return f"{kid}:{key}"


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyRing:
    """`current` seals; every key in `keys` opens. Build with `KeyRing.parse`."""

    current: str
    keys: Mapping[str, bytes]
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyConfigError("the current key is not in the key ring")
        for kid, key in self.keys.items():
            self._ciphers[kid] = AESGCM(key)

    def __repr__(self) -> str:  # never the key bytes
        return f"KeyRing(current={self.current!r}, ids={sorted(self.keys)!r})"

    @property
    def ids(self) -> tuple[str, ...]:
        """Key ids, the current one first."""
        return (self.current, *sorted(k for k in self.keys if k != self.current))

    @classmethod
    def parse(cls, text: str, source: str = "DATA_KEY") -> KeyRing:
        """`id:key[,id:key...]`; the first entry seals, all of them open.

        A bare key without `id:` gets the id `k0`. Errors name `source`, never the key.
        """
        entries = [e.strip() for e in text.replace("\n", ",").split(",") if e.strip()]
        if not entries:
            raise KeyConfigError(f"{source} is empty: set it to the output of `relbot keys new`")
        keys: dict[str, bytes] = {}
        first = ""
        for number, entry in enumerate(entries, start=1):
            kid, sep, encoded = entry.partition(":")
            if not sep:
                kid, encoded = "k0", entry
            if not _KEY_ID.match(kid):
                raise KeyConfigError(f"{source}: key {number} has a bad id (use 1-16 letters, "
                                "digits, - or _ before the colon)")
            try:
                key = _b64decode(encoded)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise KeyConfigError(f"{source}: key {number} ({kid}) is not 32 bytes of base64; "
                                "make one with `relbot keys new`")
            if kid in keys and keys[kid] != key:
                raise KeyConfigError(f"{source}: the id {kid} is used for two different keys")
            keys[kid] = key
            first = first or kid
        return cls(first, keys)

    def entries(self) -> str:
        """The ring in `parse` format, current key first (for the key file)."""
        return "\n".join(
            f"{kid}:{base64.urlsafe_b64encode(self.keys[kid]).decode().rstrip('=')}"
            for kid in self.ids
        )

    def with_new_current(self, entry: str) -> KeyRing:
        """This ring plus a new key that seals from now on (the old ones still open)."""
        added = KeyRing.parse(entry, "the new key")
        return KeyRing(added.current, {**self.keys, **added.keys})

    def only_current(self) -> KeyRing:
        return KeyRing(self.current, {self.current: self.keys[self.current]})

    # --- sealing -----------------------------------------------------------------------
    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt `plaintext`, bound to `context` (e.g. "users.session:42")."""
        nonce = os.urandom(_NONCE)
        body = self._ciphers[self.current].encrypt(nonce, plaintext.encode(), context.encode())
        token = base64.urlsafe_b64encode(nonce + body).decode().rstrip("=")
        return f"{PREFIX}{self.current}.{token}"

    def open(self, sealed: str, context: str) -> str:
        """The plaintext of a sealed value; raises `Unreadable` (never with the value)."""
        kid = self.key_id(sealed)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Unreadable(f"sealed with key {kid!r}, which is not in the key ring")
        try:
            raw = _b64decode(sealed[len(PREFIX) + len(kid) + 1:])
            plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise Unreadable(f"a value sealed with key {kid!r} failed authentication") from None
        return plain.decode()

    @staticmethod
    def key_id(sealed: str) -> str:
        if not is_sealed(sealed):
            raise Unreadable("not a sealed value")
        kid, sep, _ = sealed[len(PREFIX):].partition(".")
        if not sep or not _KEY_ID.match(kid):
            raise Unreadable("a sealed value has no valid key id")
        return kid
