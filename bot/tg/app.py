"""Wiring: the store, the bot's HTTP client, the sender, and polling or the webhook.

The order is the guarantee. The store opens first (a database that cannot be written
stops the start with one line); the sender first sends whatever a previous run
committed but never sent; updates are then received by `bot.tg.poller` or
`bot.tg.webhook`, both of which acknowledge an update only once `bot.tg.receiver` has
recorded it. On SIGTERM or SIGINT the update in hand is finished and acknowledged, the
calls in flight are finished, unsent replies stay in the outbox, and the process exits 0
(a second signal during that is logged, not fatal). Dialogue state is never in
python-telegram-bot's persistence, and its Application and Updater are not used: an
`ExtBot` is all the bot needs from it. Not its rate limiter either: that charges every
call alike (a press's answer, the "✓" edit, "typing…") against one queue; the sender
paces new messages itself, where Telegram applies its limits (`bot.tg.pacing`), with
replies to people who are talking to the bot before background sends.

Hooks for other modules: `Runtime` holds every running part (`runtime.sender.alive`,
`await runtime.sender.backlog()`, `runtime.poller.last_ok`, `runtime.receiver.dead`);
`WebhookServer(extra_routes=...)` and `bot.tg.webhook.listen` serve more HTTP handlers
(`/healthz` is one: `bot.tg.health`). Beside the updates run the retention jobs
(`bot.privacy.retention.Upkeep`), the reminders (`bot.tg.reminders`), the command menu's
background retry (`bot.tg.menu`) and, with `relbot run --reload`, the dialogue watcher
(`bot.reload`). `/metrics` (`bot.tg.metrics_http`) is served beside `/healthz` unless
METRICS=0. On PostgreSQL the sender claims outbox rows with a lease, so replicas share one
outbox (`bot.tg.sender`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
from telegram import Bot
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.clock import FileClock
from bot.config import Settings
from bot.conversation import Conversation
from bot.core.compile import CompiledBundle
from bot.metrics import Metrics
from bot.privacy.keysource import key_source
from bot.privacy.retention import Upkeep
from bot.reload import DialogueReloader
from bot.safety import Screen
from bot.storage import StorageRefused, Store, open_store
from bot.tg.handlers import ALLOWED_UPDATES, Router
from bot.tg.health import health_route, serve_health
from bot.tg.menu import CommandMenu, register_commands
from bot.tg.metrics_http import MeteredRequest, metrics_route, watch_outbox
from bot.tg.outage import Outage, backoff
from bot.tg.pacing import BULK_RATE, SendBudget
from bot.tg.poller import Poller, PollingConflict, TokenRejected
from bot.tg.preflight import telegram_line
from bot.tg.receiver import Receiver
from bot.tg.reminders import ReminderJob
from bot.tg.render import render
from bot.tg.sender import LEASE, MIN_LEASE, STORE_MAX_ATTEMPTS, RetryPolicy, Sender
from bot.tg.webhook import WebhookServer

__all__ = ["Runtime", "run"]

log = logging.getLogger(__name__)

SEND_READ_TIMEOUT = 60.0  # seconds: a slow answer is waited for, never sent again
POLL_TIMEOUT = 50  # seconds of one getUpdates long poll
SHUTDOWN_GRACE = 20.0  # seconds for the update in hand on the way out


@dataclass
class Runtime:
    """What the running bot holds; everything is None until started."""

    settings: Settings
    compiled: CompiledBundle
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    store: Store | None = None
    bot: ExtBot[None] | None = None
    sender: Sender | None = None
    router: Router | None = None
    receiver: Receiver | None = None
    poller: Poller | None = None
    webhook: WebhookServer | None = None
    upkeep: Upkeep | None = None  # retention jobs (bot.privacy.retention)
    reminders: ReminderJob | None = None  # due reminders from the database (bot.tg.reminders)
    menu: CommandMenu | None = None  # the command menu, retried in the background
    health_server: tornado.httpserver.HTTPServer | None = None  # /healthz on HEALTH_PORT
    reloader: DialogueReloader | None = None  # relbot run --reload (development only)
    metrics: Metrics | None = None  # /metrics (bot.metrics), unless METRICS=0
    exit_message: str | None = None  # why it could not serve: one line, printed last

    def refuse(self, message: str, code: int) -> int:
        """Stop with one line for a person to act on; returns the exit status."""
        self.exit_message = message
        return code


def run(settings: Settings, compiled: CompiledBundle,
        reloader: DialogueReloader | None = None) -> None:
    """Run until SIGINT/SIGTERM; exits with status 2 or 3 (one line) if it cannot serve."""
    runtime = Runtime(settings, compiled, reloader=reloader)
    try:
        code = asyncio.run(serve(runtime))
    finally:
        # From here on a signal can only interrupt the exit itself: ignore it (Python puts
        # the default, fatal, handlers back while it shuts down, but leaves ignored ones).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    if runtime.exit_message:
        print(f"relbot: {runtime.exit_message}", file=sys.stderr)  # the last line of the log
    if code:
        raise SystemExit(code)


async def serve(runtime: Runtime) -> int:
    """Serve until `runtime.stop` is set; returns the process exit status."""
    _stop_on_signals(runtime.stop)
    settings = runtime.settings
    keys = key_source(settings.database_url, settings.data_key)
    clock = FileClock(settings.clock_file) if settings.clock_file else None  # tests only
    store = open_store(settings.database_url, max_attempts=STORE_MAX_ATTEMPTS, keys=keys,
                       upgrade=settings.upgrade, clock=clock)
    try:
        await store.open()
    except StorageRefused as error:
        return runtime.refuse(str(error), 2)
    runtime.store = store
    try:
        return await _serve_with_store(runtime, store)
    finally:
        await store.close()
        log.info("relbot stopped")


async def _serve_with_store(runtime: Runtime, store: Store) -> int:
    settings = runtime.settings
    metrics = runtime.metrics = Metrics() if settings.metrics else None
    if metrics is not None:
        watch_outbox(metrics, store)
    poll_request = _request(metrics, connection_pool_size=2, read_timeout=POLL_TIMEOUT + 10.0,
                            connect_timeout=10.0, pool_timeout=5.0)
    bot = runtime.bot = _build_bot(settings, poll_request, metrics)
    try:
        try:
            if not await _until_telegram_answers(bot, runtime.stop):
                return 0
        except TokenRejected as error:
            return runtime.refuse(str(error), 2)
        runtime.menu = await register_commands(bot, runtime.compiled)  # optional: never fails
        policy = RetryPolicy(give_up_after=settings.send_retry_hours * 3600.0,
                             scale=settings.time_scale)
        # Several replicas share one PostgreSQL outbox: drains claim rows (see Sender).
        lease = (max(MIN_LEASE, LEASE * settings.time_scale) if store.concurrent_writers
                 else None)
        sender = runtime.sender = Sender(bot, store, policy=policy, lease=lease,
                                         budget=_budget(settings))
        conversation = Conversation(store, runtime.compiled, Screen.load(), render,
                                    on_flag=metrics.flagged if metrics is not None else None)
        runtime.router = Router(conversation, sender, retention_days=settings.retention_days,
                                admin_ids=settings.admin_ids)
        if runtime.reloader is not None:  # the hot-reload hook: swaps conversation.compiled
            runtime.reloader.attach(conversation)
        runtime.receiver = Receiver(runtime.router, bot, stopping=runtime.stop,
                                    time_scale=settings.time_scale, metrics=metrics)
        upkeep = runtime.upkeep = Upkeep(store, settings.retention_days)
        reminders = runtime.reminders = ReminderJob(store, sender, runtime.router.homework)
        await sender.start()
        upkeep.start()
        reminders.start()
        runtime.health_server = serve_health(runtime, _metrics_routes(runtime))
        log.info("relbot started (%s mode)", "webhook" if settings.webhook else "polling")
        try:
            if settings.webhook:
                await _run_webhook(runtime)
            else:
                runtime.poller = Poller(poll_request, bot.base_url, runtime.receiver,
                                        allowed_updates=ALLOWED_UPDATES,
                                        poll_timeout=POLL_TIMEOUT, time_scale=settings.time_scale)
                await _run_polling(runtime.poller, runtime.stop)
        except (TokenRejected, WebhookRefused) as error:
            return runtime.refuse(str(error), 2)
        except PollingConflict as error:
            return runtime.refuse(str(error), 3)
        finally:
            await _stop_around_updates(runtime)
        return 0
    finally:
        if runtime.menu is not None:
            await runtime.menu.close()
        await bot.shutdown()


def _request(metrics: Metrics | None, **options: Any) -> HTTPXRequest:
    """python-telegram-bot's HTTP client; with metrics, one that counts its calls."""
    if metrics is None:
        return HTTPXRequest(**options)
    return MeteredRequest(metrics, **options)


def _metrics_routes(runtime: Runtime) -> list[Any]:
    return [metrics_route(runtime.metrics)] if runtime.metrics is not None else []


def _budget(settings: Settings) -> SendBudget:
    """This replica's share of the bot's new messages a second (REPLY_RATE in all, of which
    background sends at most Telegram's bulk figure): split evenly, no coordination."""
    return SendBudget(settings.reply_rate / settings.replicas, BULK_RATE / settings.replicas)


def _build_bot(settings: Settings, poll_request: HTTPXRequest,
               metrics: Metrics | None = None) -> ExtBot[None]:
    api = settings.api_url.rstrip("/")
    file_api = api[: -len("/bot")] + "/file/bot" if api.endswith("/bot") else api + "/file"
    request = _request(metrics, connection_pool_size=256, read_timeout=SEND_READ_TIMEOUT,
                       write_timeout=30.0, connect_timeout=10.0, pool_timeout=10.0,
                       media_write_timeout=60.0)
    return ExtBot(settings.token, base_url=settings.api_url, base_file_url=file_api,
                  request=request, get_updates_request=poll_request)


async def _until_telegram_answers(bot: ExtBot[None], stop: asyncio.Event) -> bool:
    """getMe until it works (one warning per outage); False if stopped meanwhile."""
    outage = Outage(log, "reaching Telegram (getMe)")
    while not stop.is_set():
        try:
            await bot.initialize()
        except InvalidToken:
            raise TokenRejected("Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN "
                                "(from @BotFather) and TELEGRAM_API_URL") from None
        except TelegramError as error:
            await _after_failure(stop, outage, error, cap=30.0)
            continue
        outage.recovered()
        return True
    return False


async def _after_failure(stop: asyncio.Event, outage: Outage, error: Exception, *,
                         cap: float) -> None:
    """Note a failed start-up call and wait (growing, at most `cap` seconds) before the
    next try, or until shutdown is asked for."""
    outage.failed(type(error).__name__)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), backoff(outage.failures - 1, base=1.0, cap=cap))


async def _stop_around_updates(runtime: Runtime) -> None:
    """Once no update is being received: the watcher, health, retention, then the sends."""
    if runtime.reloader is not None:
        runtime.reloader.stop()
    if runtime.health_server is not None:
        runtime.health_server.stop()
    if runtime.upkeep is not None:
        await runtime.upkeep.close()
    if runtime.reminders is not None:
        await runtime.reminders.close()
    if runtime.sender is not None:
        await runtime.sender.close()


async def _run_polling(poller: Poller, stop: asyncio.Event) -> None:
    task = asyncio.create_task(poller.run(stop), name="poller")
    await asyncio.wait({task, asyncio.ensure_future(stop.wait())},
                       return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        log.info("stopping: finishing the updates in hand")
        done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_GRACE)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
    task.result()  # PollingConflict or TokenRejected propagate


async def _run_webhook(runtime: Runtime) -> None:
    settings, bot = runtime.settings, runtime.bot
    assert bot is not None
    webhook = runtime.webhook = WebhookServer(urlsplit(settings.webhook_url or "").path,
                                              settings.webhook_secret or "",
                                              extra_routes=[health_route(runtime),
                                                            *_metrics_routes(runtime)])
    webhook.receiver = runtime.receiver
    webhook.start(settings.port, settings.listen)
    registering = asyncio.create_task(_set_webhook(bot, settings, runtime.stop))
    log.info("webhook listening on port %d", settings.port)
    stopping = asyncio.ensure_future(runtime.stop.wait())
    await asyncio.wait({registering, stopping}, return_when=asyncio.FIRST_COMPLETED)
    refused = registering.result() if registering.done() else None
    if refused is None:
        await stopping
    stopping.cancel()
    log.info("stopping: finishing the updates in hand")
    registering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await registering
    await webhook.stop(SHUTDOWN_GRACE)
    if refused is not None:
        raise WebhookRefused(refused)


class WebhookRefused(RuntimeError):
    """Telegram refused the webhook itself (a 400: a URL it will not call): one line."""


async def _set_webhook(bot: Bot, settings: Settings, stop: asyncio.Event) -> str | None:
    """Register the webhook; while Telegram fails, one warning, and keep trying. A refusal
    that trying again cannot fix (400, e.g. not HTTPS) is returned as the line to stop with."""
    outage = Outage(log, "setWebhook")
    while not stop.is_set():
        try:
            await bot.set_webhook(settings.webhook_url or "", secret_token=settings.webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES, max_connections=40)
        except BadRequest as error:
            return telegram_line(error, settings)
        except TelegramError as error:
            await _after_failure(stop, outage, error, cap=60.0)
            continue
        outage.recovered()
        return None
    return None


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT set `stop`; a second one is logged; one arriving while the process
    exits is ignored (it must not turn a clean exit into a kill).

    Plain `signal.signal` handlers rather than the loop's: they stay installed after the
    loop has closed, which is exactly when a second signal used to kill the process."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            log.info("already stopping; the update and sends in hand finish first")
            return
        log.info("stop requested")
        stop.set()

    def handler(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing left to stop
            loop.call_soon_threadsafe(on_signal)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
