"""Where the data key ring comes from: `DATA_KEY`, or a key file beside the SQLite database.

Why this module exists: the key must never be in the database it protects, must survive
restarts, and must be replaceable while the bot runs.

- `DATA_KEY` set: `id:key[,id:key...]`; the first seals, all open (see `KeyRing.parse`).
  Required with PostgreSQL, where the database usually lives on another host.
- unset, SQLite file: `<database>.key` beside it (mode 0600). Generated on first start,
  and the log says so once. `relbot keys rotate` rewrites it; a running bot notices
  (it checks the file's modification time at most once a second) and seals with the new
  key from then on, while still opening what the old one sealed.
- unset, `sqlite:///:memory:`: a key for this process only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from bot.privacy.keyring import KeyConfigError, KeyRing, new_key_entry
from bot.storage.url import sqlite_path

__all__ = ["FileKeys", "KeyConfigError", "check_keys", "key_file_for", "key_source",
           "write_key_file"]

log = logging.getLogger(__name__)

_RECHECK = 1.0  # seconds between looks at the key file


def key_file_for(database_url: str) -> Path | None:
    """The key file beside a SQLite database (None for PostgreSQL and :memory:)."""
    if not database_url.startswith("sqlite:///"):
        return None
    path = sqlite_path(database_url)
    if path == ":memory:":
        return None
    database = Path(path)
    return database.with_name(database.stem + ".key")


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Replace the key file atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (ring.entries() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class FileKeys:
    """A key ring kept in a file; reloaded when the file changes (after a rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ring = self._load_or_create()
        self._mtime = self._stat()
        self._checked = time.monotonic()

    def _stat(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def _load_or_create(self) -> KeyRing:
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            ring = KeyRing.parse(new_key_entry())
            try:
                self._create(ring)
            except FileExistsError:  # another process made it first: use theirs
                return KeyRing.parse(self.path.read_text(encoding="ascii"), str(self.path))
            log.warning("generated a new data key in %s (mode 0600): keep it with the database "
                        "and back it up, or set DATA_KEY; without it saved answers cannot "
                        "be read", self.path)
            return ring
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyConfigError(f"cannot read the data key file {self.path} "
                                 f"({type(exc).__name__}); fix its permissions or set DATA_KEY"
                                 ) from None
        return KeyRing.parse(text, str(self.path))

    def _create(self, ring: KeyRing) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (ring.entries() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def ring(self) -> KeyRing:
        now = time.monotonic()
        if now - self._checked < _RECHECK:
            return self._ring
        with self._lock:
            self._checked = now
            mtime = self._stat()
            if mtime and mtime != self._mtime:
                try:
                    self._ring = KeyRing.parse(self.path.read_text(encoding="ascii"),
                                               str(self.path))
                    self._mtime = mtime
                    log.info("data key file changed: now sealing with key %s",
                             self._ring.current)
                except (OSError, UnicodeDecodeError, KeyConfigError) as exc:
                    log.error("data key file changed but cannot be read (%s); "
                              "keeping the keys loaded before", type(exc).__name__)
            return self._ring


def check_keys(database_url: str, data_key: str | None) -> None:
    """The same checks as `key_source`, without making anything: run before start-up's
    network checks, so a key mistake is one line and no key file is written for a run that
    then stops on another mistake (the file is made by `key_source`, once all is well)."""
    if data_key:
        KeyRing.parse(data_key)
        return
    path = key_file_for(database_url)
    if path is not None and (path.exists() or path.is_symlink()):
        FileKeys(path)  # reads it, never creates it: it exists


def key_source(database_url: str, data_key: str | None) -> KeyRing | FileKeys:
    """The keys for a database (what `open_store(keys=...)` takes); raises
    `KeyConfigError` with one line to act on."""
    if data_key:
        return KeyRing.parse(data_key)
    path = key_file_for(database_url)
    if path is not None:
        return FileKeys(path)
    if database_url.startswith("sqlite:///"):
        return KeyRing.parse(new_key_entry("mem"))
    raise KeyConfigError("DATA_KEY is required with PostgreSQL: set it to the output of "
                         "`relbot keys new` (the same value on every replica)")
