"""fakegram: a fake Telegram Bot API server for relbot's end-to-end tests.

Why this package exists: relbot is tested as it runs in production, an unmodified
python-telegram-bot process pointed at ``TELEGRAM_API_URL``; this is the Telegram it
talks to. Start one per test::

    with FakeTelegram() as fake:
        bot = Bot(fake.token, base_url=fake.base_url)
        fake.send_command(42, "/start")
        ...
        fake.wait_for_messages(42, 1)

See ``server.FakeTelegram`` for the lifecycle, ``updates`` for injecting user actions,
``readback`` for assertions and waits, and ``faults`` for misbehaviour on demand.
"""

from .records import (
    ApiCall,
    ApiError,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    MessageState,
    StallRecord,
    UploadedFile,
    WebhookAttempt,
)
from .server import FakeTelegram

__all__ = [
    "ApiCall",
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "ChatAction",
    "FakeTelegram",
    "MessageState",
    "StallRecord",
    "UploadedFile",
    "WebhookAttempt",
]
