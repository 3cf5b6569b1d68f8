"""A reverse proxy in front of several webhook replicas, as a deployment has one.

Why this module exists: Telegram calls one webhook URL; several replicas sit behind a
proxy that picks one for each request. This one picks at random, answers 502 when the
replica it picked is down (Telegram then delivers the update again, maybe to another
replica), and, with probability `duplicates`, also posts the same update to a second
replica at the same moment: the redelivery a deployment sees when a replica is slow to
answer. Only the first replica's answer goes back to Telegram.
"""

from __future__ import annotations

import http.client
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .harness import free_port

FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 502
    finally:
        connection.close()


class Balancer:
    def __init__(self, *, duplicates: float = 0.0, seed: int = 0, timeout: float = 30.0) -> None:
        self.targets: list[str] = []
        self.duplicates = duplicates
        self.timeout = timeout
        self.chance = random.Random(seed)
        self.lock = threading.Lock()
        self.forwarded = 0
        self.doubled = 0  # updates posted to two replicas at once
        self.refused = 0  # answered 502: the picked replica was down
        self.port = free_port()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k in FORWARDED if (v := self.headers.get(k)) is not None}
                status = balancer.forward(body, headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    def forward(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            first, second = self.chance.sample(self.targets, 2)
            double = self.chance.random() < self.duplicates
            self.forwarded += 1
            self.doubled += double
        if double:
            threading.Thread(target=_post, args=(second, body, headers, self.timeout),
                             daemon=True).start()
        status = _post(first, body, headers, self.timeout)
        if status == 502:
            with self.lock:
                self.refused += 1
        return status

    def __enter__(self) -> Balancer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
