"""`python -m bot`: the same as the `relbot` command.

Run from a checkout with a Python that lacks relbot's dependencies (the system
`python3`, say), it hands over to the checkout's `.venv` when there is one, and
otherwise says in one line how to install, instead of a traceback.
"""

import os
import sys
from pathlib import Path


def _dependencies_missing() -> str | None:
    for name in ("yaml", "transitions", "telegram"):
        try:
            __import__(name)
        except ModuleNotFoundError:
            return name
    return None


missing = _dependencies_missing()
if missing is not None:
    venv = Path(__file__).resolve().parents[1] / ".venv"
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(venv_python), [str(venv_python), "-m", "bot", *sys.argv[1:]])
    print(f"relbot: this Python has no '{missing}' module: install relbot first, e.g. "
          "python3 -m venv .venv && .venv/bin/pip install -e . (see README.md)",
          file=sys.stderr)
    raise SystemExit(2)

from bot.cli import main  # noqa: E402  (after the dependency check, on purpose)

raise SystemExit(main())
