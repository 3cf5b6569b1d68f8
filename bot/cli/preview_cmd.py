"""`relbot preview [PATH]`: a local web page to play and check dialogues while editing them.

PATH is a dialogues folder (default: `DIALOGUES_DIR` or the shipped ones) or one module
file. The page is served on 127.0.0.1 (`--host` to change it, for a container) and the
address is printed; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preview", help="play and check dialogues in the browser while editing")
    p.add_argument("path", nargs="?", type=Path, default=None,
                   help="a dialogues folder or a module's .yaml file (default: the dialogues)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="port (default 8700; 0: any free)")
    p.set_defaults(func=run)


async def _serve(path: Path, host: str, port: int) -> None:
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil

    from bot.preview import Preview, Workspace, make_app
    from bot.preview.server import poll_interval_ms

    preview = Preview(Workspace(path))
    server = tornado.httpserver.HTTPServer(make_app(preview, host))
    sockets = tornado.netutil.bind_sockets(port, address=host)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"relbot preview: http://{shown}:{bound}/  (watching {path}; Ctrl-C stops)",
          flush=True)
    tornado.ioloop.PeriodicCallback(preview.poll, poll_interval_ms()).start()
    await asyncio.Event().wait()


def run(args: argparse.Namespace) -> int:
    from bot.cli.folders import default_dir

    path = args.path or default_dir()
    if not path.exists():
        print(f"relbot preview: no such file or folder: {path}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(path, args.host, args.port))
    except OSError as exc:
        print(f"relbot preview: cannot listen on {args.host}:{args.port} ({exc.strerror})",
              file=sys.stderr)
        return 2
    return 0
