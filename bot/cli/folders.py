"""Finding and reading dialogue folders: the CLI's only file I/O for dialogues.

The core takes texts; this module reads them. A dialogue folder holds `_global.yaml`,
one `*.yaml` per module, and transcript tests in `tests/`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from bot.core.bundle import GLOBAL_FILE, load_bundle
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import Diagnostic, format_human, has_errors
from bot.core.model import Bundle

__all__ = [
    "compiled_or_exit", "default_dir", "is_module_file", "load_file", "load_folder",
    "module_or_exit", "read_folder", "read_text", "transcript_files",
]

_DIALOGUE_ID = re.compile(r"^dialogue:\s*['\"]?([A-Za-z0-9_]+)", re.M)

_PACKAGE = Path(__file__).resolve().parents[1]


def _shipped() -> Path:
    """The shipped dialogues: inside the installed package (the wheel maps the top-level
    `dialogues/` there, see pyproject.toml), else the checkout's (an editable install, or
    `python -m bot` from a clone)."""
    installed = _PACKAGE / "dialogues"
    return installed if installed.is_dir() else _PACKAGE.parent / "dialogues"


SHIPPED = _shipped()


def default_dir() -> Path:
    """`DIALOGUES_DIR` if set, else the dialogues shipped with relbot."""
    configured = os.environ.get("DIALOGUES_DIR")
    return Path(configured) if configured else SHIPPED


def read_text(path: Path) -> str:
    """A file's text; bytes that are not UTF-8 become U+FFFD instead of a traceback."""
    return path.read_bytes().decode("utf-8", errors="replace")


def read_folder(folder: Path) -> dict[str, str]:
    """Texts of the module files (and `_global.yaml`) directly inside `folder`."""
    return {str(p): read_text(p) for p in sorted(folder.glob("*.yaml"))}


def load_folder(folder: Path) -> tuple[Bundle, list[Diagnostic]]:
    return load_bundle(read_folder(folder))


def is_module_file(path: Path) -> bool:
    """A module's YAML file (not a folder, not `_global.yaml`, not a transcript)."""
    return path.suffix in (".yaml", ".yml") and path.is_file() and path.name != GLOBAL_FILE \
        and path.parent.name != "tests"


def context_sources(path: Path) -> dict[str, str]:
    """The texts to load one module file with: its own folder when that has a
    `_global.yaml`; otherwise (a copy being edited elsewhere) the file with the dialogues
    of `default_dir()`, less the module it replaces (same file name or same id)."""
    if (path.parent / GLOBAL_FILE).is_file():
        return read_folder(path.parent)
    text = read_text(path)
    named = _DIALOGUE_ID.search(text)
    replaced = {path.stem, named.group(1) if named else path.stem}
    sources = {name: words for name, words in read_folder(default_dir()).items()
               if Path(name).stem not in replaced and not _names(words, replaced)}
    sources[str(path)] = text
    return sources


def _names(text: str, ids: set[str]) -> bool:
    named = _DIALOGUE_ID.search(text)
    return bool(named and named.group(1) in ids)


def load_file(path: Path) -> tuple[Bundle, list[Diagnostic]]:
    """A module file in its context; the diagnostics are that file's own."""
    bundle, diagnostics = load_bundle(context_sources(path))
    return bundle, [d for d in diagnostics if d.file == str(path)]


def module_or_exit(path: Path) -> tuple[CompiledBundle, str]:
    """Compile one module file in its context and return it with the module's id; on any
    error in the file print its diagnostics (with positions) and exit with status 1."""
    bundle, diagnostics = load_file(path)
    found = next((d.id for d in bundle.dialogues.values() if d.file == str(path)), None)
    if has_errors(diagnostics) or found is None:
        print(format_human(diagnostics), file=sys.stderr)
        print(f"relbot: {path} has errors; fix them and try again", file=sys.stderr)
        raise SystemExit(1)
    return compile_bundle(bundle), found


def transcript_files(folder: Path) -> list[Path]:
    return sorted((folder / "tests").glob("*.yaml"))


def compiled_or_exit(folder: Path) -> CompiledBundle:
    """Compile a folder; on any error print every diagnostic and exit with status 1."""
    if not folder.is_dir():
        print(f"relbot: no dialogues folder at {folder}", file=sys.stderr)
        raise SystemExit(2)
    bundle, diagnostics = load_folder(folder)
    if has_errors(diagnostics):
        print(format_human(diagnostics), file=sys.stderr)
        print("relbot: the dialogues have errors; fix them and try again", file=sys.stderr)
        raise SystemExit(1)
    return compile_bundle(bundle)
