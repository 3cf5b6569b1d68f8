"""Finding and reading dialogue folders: the CLI's only file I/O for dialogues.

The core takes texts; this module reads them. A dialogue folder holds `_global.yaml`,
one `*.yaml` per module, and transcript tests in `tests/`.

Maintainers' folders are trusted, but reading them must never hang or crash: only
regular files are read (opened without blocking, so a FIFO named `x.yaml` cannot stall
`validate` or `run`), at most `MAX_FILE_BYTES` of each, and they must be UTF-8. Anything
else (a directory, a dangling link, a link loop, an unreadable or oversized file, bytes
that are not UTF-8) becomes a diagnostic with the file's name, never a traceback and
never U+FFFD characters in front of a person.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from pathlib import Path

from bot.core.bundle import GLOBAL_FILE, load_bundle
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import CODES, Diagnostic, format_human, has_errors, sort_key
from bot.core.loader import Loaded, load_yaml
from bot.core.model import Bundle

__all__ = [
    "MAX_FILE_BYTES", "compiled_or_exit", "context_sources", "default_dir", "is_module_file",
    "load_file", "load_folder", "load_yaml_file", "module_or_exit", "read_folder",
    "read_source", "read_text", "transcript_files",
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
MAX_FILE_BYTES = 1_000_000  # the largest shipped module is under 30 KB

_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a pipe (FIFO)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


def default_dir() -> Path:
    """`DIALOGUES_DIR` if set, else the dialogues shipped with relbot."""
    configured = os.environ.get("DIALOGUES_DIR")
    return Path(configured) if configured else SHIPPED


def _unreadable(path: Path, reason: str) -> Diagnostic:
    return CODES["D061"].at(str(path), (1, 1, 1, 2), reason=reason)


def _open_error(path: Path, error: OSError) -> Diagnostic:
    if error.errno == errno.ELOOP:
        reason = "it is a symbolic link that loops back on itself"
    elif error.errno == errno.ENOENT:
        reason = ("it is a symbolic link to something that does not exist"
                  if path.is_symlink() else "it disappeared while being read")
    elif error.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    else:
        reason = error.strerror or type(error).__name__
    return _unreadable(path, reason)


def read_source(path: Path) -> str | Diagnostic:
    """The text of one dialogue file, or the diagnostic that says why it cannot be used."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        return _open_error(path, error)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        return _unreadable(path, f"it is {kind}")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            return _open_error(path, error)
    if len(data) > MAX_FILE_BYTES:
        return _unreadable(path, f"it is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[start:error.start].decode("utf-8", "replace")) + 1
        return CODES["D060"].at(str(path), (line, column, line, column + 1),
                                byte=f"{data[error.start]:02x}")


def read_text(path: Path) -> str:
    """The text of a file the tools write themselves (transcripts): `read_source`, with a
    file that cannot be read as one line on stderr and exit status 2."""
    text = read_source(path)
    if isinstance(text, Diagnostic):
        print(f"relbot: {text.file}: {text.message}", file=sys.stderr)
        raise SystemExit(2)
    return text


def load_yaml_file(path: Path) -> Loaded:
    """Read and parse one YAML file; a file that cannot be read is a `Loaded` with no data
    and its diagnostic."""
    text = read_source(path)
    if isinstance(text, Diagnostic):
        return Loaded(str(path), None, diagnostics=[text])
    return load_yaml(text, str(path))


def read_folder(folder: Path) -> tuple[dict[str, str], list[Diagnostic]]:
    """Texts of the module files (and `_global.yaml`) directly inside `folder`, and a
    diagnostic for each that cannot be read (its text is then empty)."""
    texts: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in sorted(folder.glob("*.yaml")):
        text = read_source(path)
        if isinstance(text, Diagnostic):
            problems.append(text)
            text = ""
        texts[str(path)] = text
    return texts, problems


def load_folder(folder: Path) -> tuple[Bundle, list[Diagnostic]]:
    texts, problems = read_folder(folder)
    bundle, diagnostics = load_bundle(texts)
    unread = {d.file for d in problems}  # their own empty-text complaints add nothing
    found = problems + [d for d in diagnostics if d.file not in unread]
    found.sort(key=sort_key)
    return bundle, found


def is_module_file(path: Path) -> bool:
    """A module's YAML file (not a folder, not `_global.yaml`, not a transcript)."""
    return path.suffix in (".yaml", ".yml") and path.is_file() and path.name != GLOBAL_FILE \
        and path.parent.name != "tests"


def context_sources(path: Path) -> tuple[dict[str, str], list[Diagnostic]]:
    """The texts to load one module file with: its own folder when that has a
    `_global.yaml`; otherwise (a copy being edited elsewhere) the file with the dialogues
    of `default_dir()`, less the module it replaces (same file name or same id). Also the
    diagnostics of files that could not be read."""
    if (path.parent / GLOBAL_FILE).is_file():
        return read_folder(path.parent)
    text = read_source(path)
    if isinstance(text, Diagnostic):
        return {str(path): ""}, [text]
    named = _DIALOGUE_ID.search(text)
    replaced = {path.stem, named.group(1) if named else path.stem}
    shipped, problems = read_folder(default_dir())
    sources = {name: words for name, words in shipped.items()
               if Path(name).stem not in replaced and not _names(words, replaced)}
    sources[str(path)] = text
    return sources, problems


def _names(text: str, ids: set[str]) -> bool:
    named = _DIALOGUE_ID.search(text)
    return bool(named and named.group(1) in ids)


def load_file(path: Path) -> tuple[Bundle, list[Diagnostic]]:
    """A module file in its context; the diagnostics are that file's own."""
    sources, problems = context_sources(path)
    bundle, diagnostics = load_bundle(sources)
    unread = {d.file for d in problems}
    own = [d for d in problems if d.file == str(path)]
    return bundle, own + [d for d in diagnostics if d.file == str(path) and d.file not in unread]


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
