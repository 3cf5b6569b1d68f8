"""The webhook's HTTP server: Telegram POSTs updates here; answered 200 only once applied.

Why our own small tornado server rather than python-telegram-bot's: the secret header is
compared in constant time *before* the body is read; an update is acknowledged (200)
only once `Receiver` has recorded it durably, and a busy database gets 503 so that
Telegram delivers it again; and the server is hardened for the open internet:

- 403 without the right `X-Telegram-Bot-Api-Secret-Token`, decided on the headers;
- 413 for a body over `MAX_BODY` (declared, or counted while it streams in);
- 400 for a body that is not JSON, or JSON that is not an update object (an array, a
  number, 100k nested brackets...): Telegram would retry a 500 for ever;
- headers and body must arrive within `HEADER_TIMEOUT`/`BODY_TIMEOUT`, and an idle
  connection is closed after `HEADER_TIMEOUT` (tornado's defaults are an hour);
- at most `MAX_CONNECTIONS` connections at once; more are closed on arrival.

Hooks for other modules: `listen(routes, port, address)` serves any tornado routes with
the same limits (e.g. a /healthz in polling mode), and `WebhookServer(extra_routes=...)`
mounts more handlers next to the webhook (matched before the built-in /healthz).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.web

from bot.tg.outage import Outage
from bot.tg.receiver import NotAnUpdate, Receiver, Verdict, update_id_of

__all__ = [
    "BODY_TIMEOUT", "HEADER_TIMEOUT", "MAX_BODY", "MAX_CONNECTIONS", "BoundedHTTPServer",
    "WebhookServer", "listen",
]

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; real updates are a few KB
HEADER_TIMEOUT = 10.0  # seconds for a request's headers, and the keep-alive idle limit
BODY_TIMEOUT = 10.0  # seconds for a request's body
MAX_CONNECTIONS = 100  # Telegram opens at most `max_connections` (40) itself
STORAGE_WAIT = 20.0  # seconds an update waits for a busy database before a 503
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Routes = Sequence[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]


class BoundedHTTPServer(tornado.httpserver.HTTPServer):
    """tornado's HTTPServer that closes connections beyond `max_connections` at once."""

    max_connections = MAX_CONNECTIONS

    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple[Any, ...]) -> None:
        if len(self._connections) >= self.max_connections:
            _refusals.failed("too many connections")
            stream.close()
            return
        _refusals.recovered()
        super().handle_stream(stream, address)


_refusals = Outage(log, "accepting webhook connections")


def listen(routes: Routes, port: int, address: str) -> BoundedHTTPServer:
    """Serve `routes` on `address:port` with the limits above; `stop()` it when done.
    (tornado's own body limit is a backstop above `MAX_BODY`, so that the webhook handler
    answers 413 itself rather than tornado a bare 400.)"""
    logging.getLogger("tornado.general").setLevel(logging.WARNING)  # client addresses
    app = tornado.web.Application(list(routes), log_function=lambda handler: None)
    server = BoundedHTTPServer(app, idle_connection_timeout=HEADER_TIMEOUT,
                               body_timeout=BODY_TIMEOUT, max_body_size=2 * MAX_BODY,
                               max_header_size=16_384)
    server.listen(port, address=address)
    return server


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST /<webhook path>: one update per request."""

    def initialize(self, webhook: WebhookServer) -> None:
        self.webhook = webhook
        self.chunks: list[bytes] = []
        self.size = 0

    def prepare(self) -> None:
        """Runs on the headers alone: a wrong secret or a declared oversize body is
        refused before a byte of the body is read (the connection is then closed)."""
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.webhook.secret.encode()):
            self.refuse(403)
            return
        declared = self.request.headers.get("Content-Length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            self.refuse(413)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self.size += len(chunk)
        if self.size > MAX_BODY:
            self.refuse(413)
            return
        self.chunks.append(chunk)

    def refuse(self, status: int) -> None:
        self.set_status(status)
        self.finish()

    async def post(self) -> None:
        if self._finished:
            return
        try:
            update = json.loads(b"".join(self.chunks))
            update_id_of(update)
        except (ValueError, RecursionError, NotAnUpdate):  # not an update: never retry it
            self.refuse(400)
            return
        receiver = self.webhook.receiver
        if receiver is None or receiver.stopping.is_set():
            self.refuse(503)
            return
        wait = STORAGE_WAIT * receiver.time_scale
        verdict = await self.webhook.track(receiver.receive(update, storage_wait=wait))
        self.set_status(503 if verdict is Verdict.LATER else 200)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        log.warning("webhook request failed (%s)", getattr(typ, "__name__", typ))


class WebhookServer:
    """The webhook endpoint at `path` (and `extra_routes`, e.g. `/healthz`), started by
    `start`."""

    def __init__(self, path: str, secret: str, *,
                 extra_routes: Routes = ()) -> None:
        self.path = path or "/"
        self.secret = secret
        self.receiver: Receiver | None = None  # set once the store is open
        self.extra_routes = list(extra_routes)
        self.server: BoundedHTTPServer | None = None
        self._in_flight: set[asyncio.Future[Verdict]] = set()

    def routes(self) -> Routes:
        return [*self.extra_routes, (self.path, UpdateHandler, {"webhook": self})]

    def start(self, port: int, address: str) -> None:
        self.server = listen(self.routes(), port, address)

    async def track(self, work: Any) -> Verdict:
        future: asyncio.Future[Verdict] = asyncio.ensure_future(work)
        self._in_flight.add(future)
        try:
            return await future
        finally:
            self._in_flight.discard(future)

    async def stop(self, grace: float = 20.0,
                   before_close: Callable[[], None] | None = None) -> None:
        """Stop accepting; let updates in flight finish (bounded); close connections."""
        if self.server is None:
            return
        self.server.stop()
        if before_close is not None:
            before_close()
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace)
        await self.server.close_all_connections()
