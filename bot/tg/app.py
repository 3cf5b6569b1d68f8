"""Wiring: the python-telegram-bot Application, the store, the sender; polling or webhook.

`post_init` opens the store and starts the sender (which first sends whatever a previous
run committed but never sent); `post_shutdown` lets in-flight sends finish and closes
the store. Dialogue state is never in python-telegram-bot's persistence.

Webhook mode runs our own small tornado server rather than python-telegram-bot's,
because the secret header must be compared in constant time (`hmac.compare_digest`),
and because an update is acknowledged only after it was applied and committed: if
applying fails, Telegram gets a 500 and delivers it again (the inbox makes that safe).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import AIORateLimiter, Application, TypeHandler

from bot.config import Settings
from bot.conversation import Conversation
from bot.core.compile import CompiledBundle
from bot.privacy.keysource import key_source
from bot.privacy.retention import Upkeep
from bot.reload import DialogueReloader
from bot.safety import Screen
from bot.storage import Store, open_store
from bot.tg.handlers import ALLOWED_UPDATES, Router
from bot.tg.health import health_route, serve_health
from bot.tg.menu import CommandMenu, register_commands
from bot.tg.render import render
from bot.tg.sender import Sender

__all__ = ["Runtime", "build_application", "run"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the running bot holds; created in post_init, closed in post_shutdown."""

    settings: Settings
    compiled: CompiledBundle
    store: Store | None = None
    sender: Sender | None = None
    router: Router | None = None
    upkeep: Upkeep | None = None
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    menu: CommandMenu | None = None
    health_server: tornado.httpserver.HTTPServer | None = None  # on HEALTH_PORT
    reloader: DialogueReloader | None = None  # relbot run --reload (development only)


def build_application(settings: Settings, compiled: CompiledBundle,
                      reloader: DialogueReloader | None = None) -> tuple[Application, Runtime]:
    runtime = Runtime(settings, compiled, reloader=reloader)
    api = settings.api_url.rstrip("/")
    file_api = api[: -len("/bot")] + "/file/bot" if api.endswith("/bot") else api + "/file"
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.api_url)
        .base_file_url(file_api)
        .concurrent_updates(256)  # per-person order comes from the store's per-user lock
        .rate_limiter(AIORateLimiter(max_retries=2))
        .post_init(lambda app: _start(app, runtime))
        .post_stop(lambda app: _finish_sending(runtime))
        .post_shutdown(lambda app: _stop(runtime))
    )
    if settings.webhook:
        builder = builder.updater(None)
    app = builder.build()

    async def dispatch(update: Update, context: object) -> None:
        assert runtime.router is not None
        await runtime.router.handle_or_apologise(update, app.bot)

    app.add_handler(TypeHandler(Update, dispatch))
    app.add_error_handler(_on_error)
    return app, runtime


async def _start(app: Application, runtime: Runtime) -> None:
    settings = runtime.settings
    keys = key_source(settings.database_url, settings.data_key)
    runtime.store = open_store(settings.database_url, keys=keys)
    await runtime.store.open()
    runtime.upkeep = Upkeep(runtime.store, settings.retention_days)
    runtime.sender = Sender(app.bot, runtime.store)
    conversation = Conversation(runtime.store, runtime.compiled, Screen.load(), render)
    runtime.router = Router(conversation, runtime.sender,
                            retention_days=settings.retention_days)
    if runtime.reloader is not None:  # the hot-reload hook: swaps conversation.compiled
        runtime.reloader.attach(conversation)
    runtime.menu = await register_commands(app.bot, runtime.compiled)  # optional: never fails
    await runtime.sender.start()
    runtime.upkeep.start()
    runtime.health_server = serve_health(runtime)
    log.info("relbot started (%s mode)", "webhook" if runtime.settings.webhook else "polling")


async def _finish_sending(runtime: Runtime) -> None:
    """Let in-flight sends finish. In polling mode this runs as post_stop: post_shutdown
    comes only after python-telegram-bot has closed the bot's HTTP client, which would
    abort a send half-way (and it may still reach Telegram: sent again on the next start)."""
    if runtime.menu is not None:
        await runtime.menu.close()
    if runtime.sender is not None:
        await runtime.sender.close()


async def _stop(runtime: Runtime) -> None:
    if runtime.reloader is not None:
        runtime.reloader.stop()
    if runtime.health_server is not None:
        runtime.health_server.stop()
    await _finish_sending(runtime)  # already done in polling mode; webhook mode: here
    if runtime.upkeep is not None:
        await runtime.upkeep.close()
    if runtime.store is not None:
        await runtime.store.close()
    log.info("relbot stopped")


async def _on_error(update: object, context: object) -> None:
    error = getattr(context, "error", None)
    log.error("error while handling an update: %s", type(error).__name__,
              exc_info=(type(error), error, error.__traceback__) if error else None)


class _WebhookHandler(tornado.web.RequestHandler):
    """POST updates: 403 without the right secret; 200 only once the update is applied."""

    def initialize(self, app: Application, runtime: Runtime) -> None:
        self.app, self.runtime = app, runtime

    async def post(self) -> None:
        expected = (self.runtime.settings.webhook_secret or "").encode()
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not hmac.compare_digest(given, expected):
            self.set_status(403)
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.app.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            return
        router = self.runtime.router
        if router is None:
            self.set_status(503)
            return
        task = asyncio.current_task()
        if task is not None:
            self.runtime.in_flight.add(task)  # type: ignore[arg-type]
        try:
            await router.handle(update, self.app.bot)
        except Exception:
            log.exception("update failed; Telegram will deliver it again")
            self.set_status(500)
        finally:
            if task is not None:
                self.runtime.in_flight.discard(task)  # type: ignore[arg-type]

    def log_exception(self, *args: object) -> None:  # tornado would log request details
        pass


async def _run_webhook(app: Application, runtime: Runtime) -> None:
    settings = runtime.settings
    path = urlsplit(settings.webhook_url or "").path or "/"
    web = tornado.web.Application([
        (path, _WebhookHandler, {"app": app, "runtime": runtime}),
        health_route(runtime),
    ], log_function=lambda handler: None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app:
        await app.post_init(app)  # type: ignore[misc]
        await app.start()
        server = tornado.httpserver.HTTPServer(web)
        server.listen(settings.port, address=settings.listen)
        await app.bot.set_webhook(settings.webhook_url or "", secret_token=settings.webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES, max_connections=40)
        log.info("webhook listening on port %d", settings.port)
        await stop.wait()
        log.info("stopping: finishing in-flight updates")
        server.stop()
        if runtime.in_flight:
            await asyncio.wait(list(runtime.in_flight), timeout=20)
        await server.close_all_connections()
        await app.stop()
        await app.post_shutdown(app)  # type: ignore[misc]


def run(settings: Settings, compiled: CompiledBundle,
        reloader: DialogueReloader | None = None) -> None:
    """Run until SIGINT/SIGTERM; in-flight updates and sends finish first."""
    app, runtime = build_application(settings, compiled, reloader)
    if settings.webhook:
        asyncio.run(_run_webhook(app, runtime))
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
                        stop_signals=(signal.SIGINT, signal.SIGTERM))
