"""Hot reload of the dialogues while developing: watch the files, re-check, swap.

`FileWatch` notices that a set of files changed (by modification time and size: no new
dependency, and it works with every editor, including those that save by renaming).
`DialogueReloader` is `relbot run --reload`: on a change it loads and checks the whole
folder again and, only if there is no error, compiles it and hands the new bundle to
`swap`; with errors the old dialogues keep running and the diagnostics are logged (codes
and places in the dialogue files, never anything a person wrote). Sessions are plain
data keyed by module and state names, so they carry over: a person whose state still
exists goes on from it, and the engine starts a person whose state is gone afresh.

The hook into the running bot is one attribute, `Conversation.compiled`, which
`Conversation.handle` reads once at the start of each update (so one update never mixes
two versions). `bot.tg.app` calls `reloader.attach(conversation)` once the conversation
exists (only with `relbot run --reload`), and `reloader.stop()` on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.core.bundle import load_bundle
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import Severity, fold, has_errors

__all__ = ["POLL_SECONDS", "DialogueReloader", "FileWatch", "yaml_files"]

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often the files are looked at: an edit shows within a second


def yaml_files(folder: Path) -> list[Path]:
    """A dialogues folder's files: `_global.yaml` and the modules."""
    return sorted(folder.glob("*.yaml"))


class FileWatch:
    """Tells whether any of a set of files changed (or appeared, or went) since last asked."""

    def __init__(self, files: Callable[[], Iterable[Path]]) -> None:
        self.files = files
        self.seen = self._stamp()

    def _stamp(self) -> dict[str, tuple[int, int]]:
        stamp: dict[str, tuple[int, int]] = {}
        for path in self.files():
            try:
                info = path.stat()
            except OSError:  # removed between listing and looking
                continue
            stamp[str(path)] = (info.st_mtime_ns, info.st_size)
        return stamp

    def changed(self) -> bool:
        now = self._stamp()
        if now == self.seen:
            return False
        self.seen = now
        return True


class DialogueReloader:
    """Re-checks and recompiles a dialogues folder when its files change (`relbot run
    --reload`, development only), calling `swap` with each bundle that has no error."""

    def __init__(self, folder: Path,
                 swap: Callable[[CompiledBundle], None] = lambda compiled: None) -> None:
        self.folder = folder
        self.swap = swap
        self.watch = FileWatch(lambda: yaml_files(folder))
        self.reloads = 0

    def check(self) -> bool:
        """Look once; returns True if new dialogues were swapped in."""
        if not self.watch.changed():
            return False
        sources = {str(p): p.read_bytes().decode("utf-8", errors="replace")
                   for p in yaml_files(self.folder)}
        bundle, diagnostics = load_bundle(sources)
        if has_errors(diagnostics):
            for cause, follows in fold(diagnostics):
                if cause.severity is Severity.ERROR:
                    log.error("dialogues not reloaded: %s:%d:%d %s %s%s", cause.file,
                              cause.line, cause.column, cause.code, cause.message,
                              f" (and {len(follows)} that follow from it)" if follows else "")
            log.error("dialogues not reloaded: fix the errors above; the previous dialogues "
                      "keep running")
            return False
        self.swap(compile_bundle(bundle))
        self.reloads += 1
        log.info("dialogues reloaded (%d modules)", len(bundle.dialogues))
        return True

    def attach(self, conversation: Any) -> None:
        """Swap `conversation.compiled` on every good reload, polling in the running loop
        (the hook `relbot run --reload` uses; call `stop` on shutdown)."""
        self.swap = lambda compiled: setattr(conversation, "compiled", compiled)
        self.task = asyncio.get_running_loop().create_task(self.run())

    def stop(self) -> None:
        task = getattr(self, "task", None)
        if task is not None:
            task.cancel()

    async def run(self, interval: float = POLL_SECONDS) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # a reload must never take the running bot down
                log.exception("dialogues not reloaded: unexpected error")
