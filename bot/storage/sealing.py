"""Encryption at rest for the columns that carry what people write.

Why this module exists: sessions (`users.session`), unsent replies (`outbox.params`) and
saved answers (`records.data`) hold free text. Both backends store them through one
`Codec`, so neither can forget to seal a column: the codec seals on the way in and
opens on the way out, binding each value to its table, column and person.

A store without keys (`keys=None`, only for tools and old tests) writes plain JSON. Any
store reads plain JSON too: rows written before encryption existed stay readable, and
the maintenance job re-seals them (`Store.reseal`).
"""

from __future__ import annotations

from typing import Protocol

from bot.privacy.keyring import KeyRing, Unreadable, is_sealed

__all__ = ["SEALED_COLUMNS", "Codec", "KeyProvider", "Unreadable"]

#: (table, column) pairs that are sealed when the store has keys.
SEALED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("users", "session"),
    ("outbox", "params"),
    ("records", "data"),
    ("assignments", "note"),  # a therapist's note, sealed for the therapist (its user_id)
)


class KeyProvider(Protocol):
    """Where the store gets its key ring (a file source reloads it after a rotation)."""

    def ring(self) -> KeyRing: ...


class _Fixed:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def ring(self) -> KeyRing:
        return self._ring


class Codec:
    """Seal and open the free-text columns of one store."""

    def __init__(self, keys: KeyRing | KeyProvider | None) -> None:
        self._keys: KeyProvider | None = _Fixed(keys) if isinstance(keys, KeyRing) else keys

    @property
    def enabled(self) -> bool:
        return self._keys is not None

    def ring(self) -> KeyRing | None:
        return self._keys.ring() if self._keys is not None else None

    @staticmethod
    def context(table: str, column: str, user_id: int) -> str:
        return f"{table}.{column}:{user_id}"

    def seal(self, text: str, table: str, column: str, user_id: int) -> str:
        ring = self.ring()
        if ring is None:
            return text
        return ring.seal(text, self.context(table, column, user_id))

    def open(self, stored: str, table: str, column: str, user_id: int) -> str:
        """The plaintext; raises `Unreadable` if sealed with a key we do not have."""
        if not is_sealed(stored):
            return stored  # written before encryption (re-sealed by the maintenance job)
        ring = self.ring()
        if ring is None:
            raise Unreadable("the store has no data key")
        return ring.open(stored, self.context(table, column, user_id))

    def needs_reseal(self, stored: str) -> bool:
        """Plain text, or sealed with a key other than the current one."""
        ring = self.ring()
        if ring is None:
            return False
        if not is_sealed(stored):
            return stored not in ("", "{}")
        try:
            return KeyRing.key_id(stored) != ring.current
        except Unreadable:
            return False
