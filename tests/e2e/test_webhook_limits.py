"""The webhook endpoint on the open internet: what strangers and broken clients get.

The secret is checked on the headers, before a byte of the body is read; bodies over
1 MB get 413; valid JSON that is not an update object gets 400 (a 500 would make
Telegram retry it for ever); slow-drip and idle connections are closed; and the number
of connections is bounded. Raw sockets, so that the test controls every byte.

relbot run in webhook mode, the example dialogues, SQLite.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import BotProcess, Person, running

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    with running(BotProcess(fake, tmp_path_factory.mktemp("limits"), webhook=True)) as process:
        yield process


def connect(bot: BotProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", bot.webhook_port or 0), timeout=5)
    return sock


def head(bot: BotProcess, secret: str, length: int, extra: str = "") -> bytes:
    return (f"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{SECRET_HEADER}: {secret}\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def status_of(sock: socket.socket, timeout: float = 5) -> int | None:
    """The HTTP status the server answered, or None if it closed without answering."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(200)
    except (ConnectionResetError, TimeoutError):
        return None
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else None


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection, or None if it stayed open."""
    began = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - began < seconds:
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - began
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - began
    return None


def rss_mb(bot: BotProcess) -> float:
    assert bot.proc is not None
    with open(f"/proc/{bot.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize(
    "body",
    [b"[]", b"null", b"5", b'"an update"', b"[" * 100_000 + b"]" * 100_000, b"{}",
     b'{"update_id": "1"}', b'{"update_id": 1.5}', b"{", b"\xff\xfe", b""],
    ids=["array", "null", "number", "string", "100k-brackets", "empty-object",
         "string-id", "float-id", "broken-json", "not-utf8", "no-body"],
)
def test_json_that_is_not_an_update_is_400(bot: BotProcess, body: bytes) -> None:
    response = httpx.post(bot.webhook_url, content=body,
                          headers={SECRET_HEADER: bot.webhook_secret or ""})
    assert response.status_code == 400
    assert "Traceback" not in bot.output


def test_the_secret_is_checked_before_the_body_is_read(bot: BotProcess) -> None:
    with connect(bot) as sock:
        sock.sendall(head(bot, "wrong", 10_000_000))  # and not one byte of the body
        assert status_of(sock) == 403  # answered on the headers alone
        assert closed_within(sock, 2) is not None  # then the connection is closed


def test_unauthenticated_10mb_bodies_do_not_take_memory(bot: BotProcess) -> None:
    before = rss_mb(bot)
    body = b"x" * 10_000_000

    def post() -> None:
        with connect(bot) as sock:
            sock.sendall(head(bot, "wrong", len(body)))
            with contextlib.suppress(OSError):  # the server closed after its 403: it never
                sock.sendall(body)  # read this
            status_of(sock)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert rss_mb(bot) - before < 30  # it grew by 273 MB when bodies were read first


def test_a_body_over_1mb_is_413(bot: BotProcess) -> None:
    with connect(bot) as sock:  # declared too big: refused on the headers
        sock.sendall(head(bot, bot.webhook_secret or "", 2_000_000))
        assert status_of(sock) == 413
    with connect(bot) as sock:  # chunked, so undeclared: refused once it passes 1 MB
        sock.sendall((f"POST /telegram HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: "
                      f"{bot.webhook_secret}\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
        chunk = b"x" * 65_536
        try:
            for _ in range(40):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except OSError:
            pass
        assert status_of(sock) == 413


def test_slow_and_idle_connections_are_closed(bot: BotProcess) -> None:
    idle = connect(bot)
    drip_head = connect(bot)
    drip_body = connect(bot)
    drip_body.sendall(head(bot, bot.webhook_secret or "", 1000))
    request = head(bot, bot.webhook_secret or "", 10)
    stop = threading.Event()

    def drip() -> None:  # one byte every 0.5 s: each arrives well within any read timeout
        for i in range(60):
            if stop.wait(0.5):
                return
            try:
                drip_head.send(request[i : i + 1])
                drip_body.send(b"{")
            except OSError:
                pass

    dripper = threading.Thread(target=drip)
    dripper.start()
    try:
        closed = [closed_within(s, 20) for s in (idle, drip_head, drip_body)]
    finally:
        stop.set()
        dripper.join()
        for sock in (idle, drip_head, drip_body):
            sock.close()
    assert all(c is not None and c < 15 for c in closed), closed  # 10 s limits; tornado: 1 h


def test_connections_are_bounded_and_service_resumes(
    fake: FakeTelegram, bot: BotProcess
) -> None:
    held = []
    for _ in range(130):
        held.append(connect(bot))
    time.sleep(0.5)
    refused = sum(closed_within(sock, 0.05) is not None for sock in held)
    assert refused >= 30  # at most 100 are kept
    for sock in held:
        sock.close()
    ana = Person(fake, next_user_id())  # Telegram gets through again at once
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
