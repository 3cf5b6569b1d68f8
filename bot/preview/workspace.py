"""What the preview shows: the dialogues at PATH, re-checked whenever a file is saved.

PATH is a dialogues folder, or one module file (checked in its context, like `relbot
validate FILE`). A reload that finds errors keeps the last good compiled bundle, so the
chat goes on while the author fixes the file; the diagnostics are shown either way, each
with the line it points at and the range to underline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli.folders import context_sources, default_dir, read_folder
from bot.core.bundle import GLOBAL_FILE, load_bundle
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import Diagnostic, fold, has_errors
from bot.core.model import Bundle
from bot.reload import FileWatch, yaml_files

__all__ = ["Workspace"]


@dataclass
class Workspace:
    path: Path
    version: int = 0
    bundle: Bundle | None = None
    compiled: CompiledBundle | None = None
    focus: str | None = None  # the module of a single file
    diagnostics: tuple[Diagnostic, ...] = ()
    texts: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.watch = FileWatch(self.files)
        self.load()

    @property
    def single(self) -> bool:
        return self.path.is_file()

    def files(self) -> list[Path]:
        if not self.single:
            return yaml_files(self.path)
        context = self.path.parent if (self.path.parent / GLOBAL_FILE).is_file() \
            else default_dir()
        return sorted({self.path, *yaml_files(context)})

    def load(self) -> None:
        """Read, check and (if there is no error) compile; bumps `version`."""
        if self.single:
            self.texts, unread = context_sources(self.path)
            bundle, found = load_bundle(self.texts)
            found = [*(d for d in unread if d.file == str(self.path)),
                     *(d for d in found if d.file == str(self.path))]
            self.focus = next((d.id for d in bundle.dialogues.values()
                               if d.file == str(self.path)), self.focus)
        else:
            self.texts, unread = read_folder(self.path)
            bundle, found = load_bundle(self.texts)
            found = [*unread, *(d for d in found if d.file not in {u.file for u in unread})]
        self.diagnostics = tuple(found)
        if not has_errors(found):
            self.bundle, self.compiled = bundle, compile_bundle(bundle)
        self.version += 1

    def poll(self) -> bool:
        """Reload if a file changed since the last look; True if it did."""
        if not self.watch.changed():
            return False
        self.load()
        return True

    def modules(self) -> list[dict[str, str]]:
        if self.compiled is None:
            return []
        order = sorted(self.compiled.dialogues, key=lambda m: (m != self.focus, m))
        return [{"id": m, "title": self.compiled.dialogues[m].model.title.get("en")}
                for m in order]

    def diagnostics_view(self) -> list[dict[str, Any]]:
        """Each root cause, with the line it is on and what follows from it."""
        out = []
        for d, follows in fold(list(self.diagnostics)):
            lines = (self.texts or {}).get(d.file, "").splitlines()
            source = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
            end = d.end_column if d.end_line == d.line and d.end_column > d.column \
                else len(source) + 1
            out.append({
                "file": self._short(d.file), "line": d.line, "column": d.column,
                "end_line": d.end_line, "end_column": end, "code": d.code,
                "severity": str(d.severity), "message": d.message, "hint": d.hint,
                "source": source, "follows": len(follows),
            })
        return out

    def _short(self, file: str) -> str:
        path = Path(file)
        base = self.path if not self.single else self.path.parent
        return str(path.relative_to(base)) if path.is_relative_to(base) else path.name
