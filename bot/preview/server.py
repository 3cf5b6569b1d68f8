"""The preview's small web server (tornado, which relbot already has for webhooks).

It serves one page and a JSON API on 127.0.0.1 by default: `GET /api/view` (modules,
languages, diagnostics and this tab's chat), `POST /api/act` (start, press, type, intent,
restart, back) and `GET /graph.svg` (the module's diagram). A periodic callback looks at
the files every `POLL_SECONDS`; after a reload every open chat is kept where it was when
its state still exists, or restarted with a note. Requests for another host name are
refused, so a web page elsewhere cannot drive a local preview (DNS rebinding).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.web

from bot.core.format import INTENT_NAMES
from bot.core.graph_svg import diagram_svg
from bot.core.types import IntentInvoked, Typed
from bot.preview.chat import PreviewChat
from bot.preview.workspace import Workspace
from bot.reload import POLL_SECONDS
from bot.safety import Screen

__all__ = ["Preview", "make_app"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_TABS = 50  # chats kept; the oldest goes first


@dataclass
class Preview:
    """Everything the server holds: the workspace, the screen, and each tab's chat."""

    workspace: Workspace
    screen: Screen = field(default_factory=Screen.load)
    chats: dict[str, PreviewChat] = field(default_factory=dict)

    def poll(self) -> None:
        try:
            changed = self.workspace.poll()
        except Exception:  # the preview must survive any file an author saves
            log.exception("preview: could not reload")
            return
        compiled = self.workspace.compiled
        if not changed or compiled is None:
            return
        errors = sum(d.severity.value == "error" for d in self.workspace.diagnostics)
        for chat in self.chats.values():
            if errors:
                chat.note(f"not reloaded: the file has {errors} error(s) (see Diagnostics); "
                          "the chat goes on with the last version without errors")
            else:
                chat.reloaded(compiled, self.screen)

    def view(self, sid: str) -> dict[str, Any]:
        ws = self.workspace
        compiled = ws.compiled
        chat = self.chats.get(sid)
        return {
            "version": ws.version, "path": str(ws.path), "focus": ws.focus,
            "modules": ws.modules(),
            "languages": list(compiled.config.languages) if compiled else [],
            "diagnostics": ws.diagnostics_view(),
            "errors": sum(d.severity.value == "error" for d in ws.diagnostics),
            "warnings": sum(d.severity.value == "warning" for d in ws.diagnostics),
            "chat": chat.view() if chat else None,
        }

    def act(self, sid: str, request: dict[str, Any]) -> str | None:
        """Apply one action from the page; returns a problem to show, or None."""
        compiled = self.workspace.compiled
        if compiled is None:
            return "the dialogues have errors; fix them to start a chat"
        action = request.get("action")
        chat = self.chats.get(sid)
        if action == "start":
            module, lang = str(request.get("module")), str(request.get("lang") or "en")
            if module not in compiled.dialogues:
                return f"no module '{module}'"
            if lang not in compiled.config.languages:
                return f"no language '{lang}'"
            self.chats.pop(sid, None)
            while len(self.chats) >= MAX_TABS:
                self.chats.pop(next(iter(self.chats)))
            chat = self.chats[sid] = PreviewChat(module, lang)
            chat.start(compiled, self.screen)
            return None
        if chat is None:
            return "pick a module and a language first"
        if action == "restart":
            chat.start(compiled, self.screen)
        elif action == "press":
            chat.press(compiled, self.screen, int(request.get("step", -1)),
                       str(request.get("id", "")))
        elif action == "type":
            text = str(request.get("text", ""))
            command = text.strip()[1:].lower() if text.strip().startswith("/") else ""
            if command in INTENT_NAMES:  # /back, /help... as the Telegram menu sends them
                chat.turn(compiled, self.screen, IntentInvoked(command))
            elif command == "start":
                chat.start(compiled, self.screen)
            else:
                chat.turn(compiled, self.screen, Typed(text))
        elif action in ("back", "intent"):
            name = "back" if action == "back" else str(request.get("name", ""))
            if name not in INTENT_NAMES:
                return f"no intent '{name}'"
            chat.turn(compiled, self.screen, IntentInvoked(name))
        else:
            return f"unknown action '{action}'"
        return None


class _Base(tornado.web.RequestHandler):
    def initialize(self, preview: Preview) -> None:
        self.preview = preview

    def prepare(self) -> None:
        host = self.request.host_name
        if host not in LOCAL_HOSTS and host != self.settings.get("bound_host"):
            raise tornado.web.HTTPError(403)

    def send_json(self, data: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(data, ensure_ascii=False))

    def log_exception(self, *args: Any) -> None:  # tornado would log request bodies
        log.error("preview: request failed (%s)", self.request.path)


class _Page(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write((STATIC / "index.html").read_bytes())


class _View(_Base):
    def get(self) -> None:
        self.send_json(self.preview.view(self.get_query_argument("sid", "")))


class _Act(_Base):
    def post(self) -> None:
        try:
            request = json.loads(self.request.body or b"{}")
        except ValueError:
            request = {}
        if not isinstance(request, dict):
            request = {}
        sid = str(request.get("sid", ""))
        problem = self.preview.act(sid, request)
        view = self.preview.view(sid)
        view["problem"] = problem
        self.send_json(view)


class _Graph(_Base):
    def get(self) -> None:
        compiled = self.preview.workspace.compiled
        module = self.get_query_argument("module", "")
        lang = self.get_query_argument("lang", "en")
        if compiled is None or module not in compiled.dialogues:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "image/svg+xml; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(diagram_svg(compiled.dialogues[module], lang))


def make_app(preview: Preview, host: str) -> tornado.web.Application:
    args = {"preview": preview}
    return tornado.web.Application([
        (r"/", _Page, args),
        (r"/api/view", _View, args),
        (r"/api/act", _Act, args),
        (r"/graph.svg", _Graph, args),
        (r"/static/(app\.js|style\.css)", tornado.web.StaticFileHandler, {"path": STATIC}),
    ], bound_host=host, log_function=lambda handler: None)


def poll_interval_ms() -> float:
    return POLL_SECONDS * 1000 / 2  # twice per POLL_SECONDS: a save shows well within 1 s
