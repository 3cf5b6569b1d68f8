"""Finding and reading dialogue folders: the CLI's only file I/O for dialogues.

The core takes texts; this module reads them. A dialogue folder holds `_global.yaml`,
one `*.yaml` per module, and transcript tests in `tests/`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot.core.bundle import load_bundle
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import Diagnostic, format_human, has_errors
from bot.core.model import Bundle

__all__ = [
    "compiled_or_exit", "default_dir", "load_folder", "read_folder", "read_text",
    "transcript_files",
]

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
