"""Architecture rules for `bot.core`: no Telegram, no database, one `transitions` importer.

The core is pure (texts in, steps out) so the terminal, the transcript runner and the
Telegram adapter share it; these checks keep adapters' dependencies from leaking in.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT

CORE = ROOT / "bot" / "core"
CORE_MODULES = sorted(
    "bot.core" if p.name == "__init__.py" else f"bot.core.{p.stem}" for p in CORE.glob("*.py")
)
FORBIDDEN = (
    "telegram",
    "sqlite3",
    "_sqlite3",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "aiosqlite",
    "sqlalchemy",
    "pymysql",
    "MySQLdb",
    "redis",
    "bot.tg",
    "bot.storage",
    "bot.cli",
)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imports(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_importing_all_of_bot_core_loads_no_telegram_or_database_module() -> None:
    code = (
        f"import sys\nimport {', '.join(CORE_MODULES)}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr


#: The Telegram-free turn and its shell: every adapter (Telegram, the terminal, the
#: transcript runner, the browser preview) goes through them, so none may know Telegram.
TELEGRAM_FREE = ("bot.turn", "bot.safety", "bot.conversation", "bot.outbox")


@pytest.mark.parametrize("module", TELEGRAM_FREE)
def test_the_turn_and_the_conversation_load_no_telegram(module: str) -> None:
    code = (
        f"import sys\nimport {module}\n"
        "bad = sorted(m for m in sys.modules if m == 'telegram' or m.startswith('telegram.')"
        " or m == 'bot.tg' or m.startswith('bot.tg.'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_the_import_check_would_notice_a_leak() -> None:
    code = "import sys, sqlite3\nassert 'sqlite3' not in sys.modules\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode != 0


def test_only_compile_imports_transitions() -> None:
    importers = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if any(name.split(".")[0] == "transitions" for name in _imports(p))
    )
    assert importers == ["bot/core/compile.py"]


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_the_stdlib_yaml_transitions_and_itself(path: Path) -> None:
    allowed = {"yaml", "transitions", *sys.stdlib_module_names}
    for name in _imports(path):
        assert name.startswith("bot.core") or name.split(".")[0] in allowed, name


@pytest.mark.parametrize("module", CORE_MODULES)
def test_every_core_module_has_a_docstring_and_all(module: str) -> None:
    path = CORE / ("__init__.py" if module == "bot.core" else f"{module.rsplit('.', 1)[1]}.py")
    tree = _tree(path)
    docstring = ast.get_docstring(tree)
    assert docstring and len(docstring.split()) >= 5, f"{module}: say why the module exists"
    names = {
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    assert "__all__" in names, f"{module} has no __all__"
    loaded = importlib.import_module(module)
    missing = [name for name in loaded.__all__ if not hasattr(loaded, name)]
    assert not missing, f"{module}.__all__ names what it does not define: {missing}"
