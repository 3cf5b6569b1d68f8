"""``FakeTelegram``: a real HTTP server speaking the Telegram Bot API, for end-to-end tests.

Why this module exists: relbot must be tested exactly as it runs in production, as an
unmodified process talking HTTP to Telegram (``TELEGRAM_API_URL`` -> python-telegram-bot's
``base_url``). No real Telegram exists in the test environment, so this server stands in
for it on 127.0.0.1 with an ephemeral port. It runs in background threads
(``ThreadingHTTPServer`` + a webhook delivery thread), so sync and async tests can use it
alike and the bot under test may live in the same process, the same event loop, or a
separate process.

This module holds the HTTP front (URL routing ``/bot<token>/<method>``, token check,
request decoding, answering in the exact Bot API envelope) and the request pipeline that
applies the fault knobs. The Bot API behaviour lives in ``methods``, the test helpers in
the ``updates`` / ``readback`` / ``faults`` mixins.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from .faults import Drop, Failure, FaultMixin, Hold, Outage
from .methods import CANONICAL, Methods
from .polling import Gone, Ok
from .readback import ReadMixin
from .records import ApiCall, ApiError, JSONDict, StallRecord, UploadedFile
from .state import State
from .updates import InjectMixin
from .webhook import WebhookDeliverer
from .wire import Decoded, Params, client_connected, decode_request, normalise

Answer = tuple[int, JSONDict] | None
"""(HTTP status, JSON body), or None to close the connection without answering."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that died mid-request (a bot killed with SIGKILL) is part of the tests,
        not an error to print."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)

    def __init__(self, fake: FakeTelegram):
        self.fake = fake
        self.tracking = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.threads: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx (PTB) expects
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes; without NODELAY, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.tracking:
            self.server.connections.add(self.connection)
            self.server.threads.add(threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.tracking:
                self.server.connections.discard(self.connection)
                self.server.threads.discard(threading.current_thread())

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        answer = self.server.fake._handle_http(
            self.path, self.headers.get("Content-Type", ""), body, self.connection
        )
        if answer is None:
            self.close_connection = True
            return
        status, payload = answer
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class FakeTelegram(InjectMixin, ReadMixin, FaultMixin):
    """A fake Telegram Bot API server for one bot. Thread-safe; see the package docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "relbot_test_bot",
        *,
        bot_first_name: str = "Relbot Test",
        callback_timeout: float = 15.0,
        first_update_id: int = 100_001,
        webhook_backoff: float = 0.2,
        webhook_max_attempts: int = 50,
        webhook_timeout: float = 10.0,
        webhook_workers: int = 1,
    ):
        self._state = State(
            token,
            bot_username,
            bot_first_name,
            callback_timeout=callback_timeout,
            first_update_id=first_update_id,
        )
        self._methods = Methods(self._state)
        self._stop_event = threading.Event()
        self._failures: list[Failure] = []
        self._holds: list[Hold] = []
        self._drops: list[Drop] = []
        self._outages: list[Outage] = []
        self._slow: dict[str, float] = {}
        self._webhook_timeout = webhook_timeout
        self._deliverer = WebhookDeliverer(
            self._state,
            backoff=webhook_backoff,
            max_attempts=webhook_max_attempts,
            timeout=webhook_timeout,
            workers=webhook_workers,
        )
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._stopped = False

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        if self._server is not None or self._stopped:
            raise RuntimeError("a FakeTelegram can be started once")
        self._server = _Server(self)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fakegram-http",
            daemon=True,
        )
        self._serve_thread.start()
        self._deliverer.start()
        return self

    def stop(self) -> None:
        """Stop serving: pending long polls end, open connections are closed, threads joined."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopped = True
        with self._state.cond:
            self._state.stopping = True
            self._state.cond.notify_all()
        self._stop_event.set()
        server.shutdown()
        with server.tracking:
            connections, threads = list(server.connections), list(server.threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)
        server.server_close()
        if self._serve_thread is not None:
            self._serve_thread.join(5)
        self._deliverer.join(self._webhook_timeout + 1)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- addresses and identity --------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)`` / ``TELEGRAM_API_URL``: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        return self._state.token

    @property
    def bot_id(self) -> int:
        return self._state.bot_id

    @property
    def bot_username(self) -> str:
        return self._state.bot_username

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<FakeTelegram {self.bot_username} {where}>"

    # ---- request pipeline --------------------------------------------------------------------
    def _handle_http(
        self, path: str, content_type: str, body: bytes, sock: socket.socket
    ) -> Answer:
        raw_path, _, query = path.partition("?")
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)/?", raw_path)
        name = match.group(2) if match else raw_path
        try:
            decoded = decode_request(content_type, body, query)
        except ApiError as exc:
            decoded, error = Decoded(params={}), exc
        else:
            error = None
        files = {
            key: UploadedFile(key, filename, content, mime, file_id="")
            for key, (filename, content, mime) in decoded.files.items()
        }
        call = ApiCall(
            method=CANONICAL.get(name.lower(), name),
            params=normalise(decoded.params),
            raw_params=dict(decoded.params),
            files=files,
            encoding=decoded.encoding,
            started=time.time(),
        )
        with self._state.cond:
            self._state.records.calls.append(call)
        try:
            if match is None:
                raise ApiError(404, "Not Found")
            if unquote(match.group(1)) != self.token:
                raise ApiError(401, "Unauthorized")
            method = CANONICAL.get(name.lower())
            if method is None:
                raise ApiError(404, "Not Found")
            if error is not None:
                raise error
            answer = self._run(method, Params(decoded.params), decoded, sock, call)
        except ApiError as exc:
            answer = (exc.status, exc.payload())
        with self._state.cond:
            call.finished = time.time()
            if answer is not None:
                call.status, call.response = answer
            self._state.cond.notify_all()
        return answer

    def _run(
        self, method: str, params: Params, decoded: Decoded, sock: socket.socket, call: ApiCall
    ) -> Answer:
        delay = self._delay(method)
        if delay and self._stop_event.wait(delay):
            return None
        failure = self._take_failure(method, params.get_str("chat_id"))
        if failure is not None:
            raise ApiError(failure.status, failure.description, retry_after=failure.retry_after)
        outage = self._take_outage(method)
        if outage is not None:
            raise ApiError(outage.status, outage.description)
        hold = self._take_hold(method)
        drop = self._take_drop(method)
        if drop is not None and not drop.after_apply:
            call.outcome = "dropped"
            return None
        answer = self._apply(method, params, decoded, sock, call)
        if hold is not None:
            # Telegram applies a call when it receives it; only the answer is late. If the
            # client gave up or died meanwhile, the call still took effect: the bot will
            # not know, and may make it again (the doubled send the tests must see).
            self._stop_event.wait(hold.seconds)
            answered = client_connected(sock) and not self._stop_event.is_set()
            with self._state.cond:
                self._state.records.stalls.append(
                    StallRecord(method, call.params, True, time.time(), answered)
                )
            if not answered:
                call.outcome = "unanswered"
                return None
        if drop is not None:
            call.outcome = "dropped"
            return None
        return answer

    def _apply(
        self, method: str, params: Params, decoded: Decoded, sock: socket.socket, call: ApiCall
    ) -> Answer:
        if method == "getUpdates":
            with self._state.cond:
                try:
                    ok = Ok(self._methods.get_updates(params, lambda: client_connected(sock)))
                except Gone:
                    call.outcome = "gone"
                    return None
        else:
            with self._state.cond:
                try:
                    ok = self._methods.call(method, params, decoded.files)
                finally:
                    self._state.cond.notify_all()
        body: JSONDict = {"ok": True, "result": ok.result}
        if ok.description:
            body["description"] = ok.description
        return 200, body
